//! The office edits a registered proposal (title, kind of support, requested
//! amount) or deactivates it. Every change is audited with old → new values
//! and reaches the phones in scope through the normal pull; a deactivated
//! proposal arrives there as deleted, and its visits are kept.

use super::contract::{
    set_proposal_active, update_proposal, ProposalEdit, ProposalSeen, SUPPORT_KINDS,
};
use crate::error::FnError;
use leptos::prelude::*;

/// The office's edit panel on a proposal's page.
#[component]
pub fn ProposalEditPanel(
    proposal: crate::model::Proposal,
    active: bool,
    version: RwSignal<u32>,
    /// Where it may go when its facility moved away from it (see
    /// `ProposalDetail::place_choices`); empty otherwise.
    #[prop(optional)]
    place_choices: Vec<(String, String)>,
) -> impl IntoView {
    use crate::error::ErrorBody;
    use crate::i18n::{use_locale, use_t, Locale};
    use crate::office::error_text;
    let tr = use_t();
    let Locale(lang) = use_locale();
    let title = RwSignal::new(proposal.title.clone());
    let kind = RwSignal::new(proposal.support_kind.clone());
    let amount = RwSignal::new(proposal.requested_amount.to_string());
    let error = RwSignal::new(None::<ErrorBody>);
    let place = RwSignal::new(String::new());
    let id = proposal.id.clone();
    let save = Action::new(move |edit: &ProposalEdit| {
        let edit = edit.clone();
        async move {
            match update_proposal(edit).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let toggle = Action::new(move |(id, on): &(String, bool)| {
        let (id, on) = (id.clone(), *on);
        async move {
            match set_proposal_active(id, on).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let seen = ProposalSeen {
        title: proposal.title.clone(),
        support_kind: proposal.support_kind.clone(),
        requested_amount: proposal.requested_amount,
    };
    let submit = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            save.dispatch(ProposalEdit {
                id: id.clone(),
                title: title.get_untracked(),
                support_kind: kind.get_untracked(),
                requested_amount: serde_json::Value::String(amount.get_untracked()),
                unit: Some(place.get_untracked()).filter(|p| !p.is_empty()),
                seen: Some(seen.clone()),
            });
        }
    };
    view! {
        <section class="card proposal-edit" data-testid="proposal-edit" data-active=active.to_string()>
            <h2>{move || tr("registry.edit_title")}</h2>
            {(!active).then(|| view! { <p class="notice" data-testid="proposal-inactive">{move || tr("registry.inactive")}</p> })}
            <form class="form" on:submit=submit>
                <div class="field">
                    <label for="edit-title">{move || tr("registry.edit_proposal_title")}</label>
                    <input id="edit-title" data-testid="edit-title" required prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="edit-kind">{move || tr("plan.support_kind")}</label>
                    <select id="edit-kind" data-testid="edit-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        {SUPPORT_KINDS.iter().map(|k| {
                            let selected = kind.get_untracked() == *k;
                            view! { <option value=*k selected=selected>{move || tr(&format!("support_kind.{k}"))}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {(!place_choices.is_empty()).then(|| view! {
                    <p class="notice" role="status" data-testid="proposal-away">{move || tr("registry.proposal_away")}</p>
                    <div class="field">
                        <label for="edit-place">{move || tr("registry.proposal_place")}</label>
                        <select id="edit-place" data-testid="edit-place" on:change=move |ev| place.set(event_target_value(&ev))>
                            <option value="">{move || tr("registry.proposal_place_keep")}</option>
                            {place_choices.iter().map(|(key, label)| view! {
                                <option value=key.clone()>{label.clone()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                })}
                <div class="field">
                    <label for="edit-amount">{move || tr("review.requested")}</label>
                    <input id="edit-amount" data-testid="edit-amount" inputmode="numeric" prop:value=move || amount.get()
                        on:input=move |ev| amount.set(event_target_value(&ev))/>
                </div>
                <Show when=move || error.get().is_some()>
                    <p class="error-banner" role="alert" data-testid="proposal-edit-error">
                        {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                    </p>
                </Show>
                <div class="admin-actions">
                    <button type="submit" class="btn btn-primary" data-testid="proposal-save">{move || tr("registry.save")}</button>
                    <button type="button" class="btn" data-testid="proposal-toggle-active"
                        on:click=move |_| { toggle.dispatch((id.clone(), !active)); }>
                        {move || if active { tr("registry.deactivate") } else { tr("registry.reactivate") }}
                    </button>
                </div>
            </form>
        </section>
    }
}
