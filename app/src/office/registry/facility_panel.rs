//! One facility in the register: its form (new or existing), deactivation,
//! its proposals, and a proposal registered at it for an open year.

use super::contract::{
    create_proposal, get_facility, save_facility, set_facility_active, FacilityDetail,
    FacilityDraft, NewProposal,
};
use super::facility_conflicts::FacilityConflicts;
use super::placing::{communes_or_districts, placeable, trees};
use super::register_screen::Chosen;
use crate::error::{ErrorBody, FnError};
use crate::i18n::{use_locale, use_t, Locale};
use crate::model::AdminUnit;
use crate::office::error_text;
use crate::office::gate::ReviewLink;
use leptos::prelude::*;

type Units = LocalResource<Result<Vec<AdminUnit>, FnError>>;

#[component]
pub fn FacilityPanel(
    chosen: Chosen,
    units: Units,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    on_saved: Callback<String>,
    on_close: Callback<()>,
) -> impl IntoView {
    let tr = use_t();
    let id = match &chosen {
        Chosen::Existing(id) => Some(id.clone()),
        Chosen::New => None,
    };
    let loaded = LocalResource::new({
        let id = id.clone();
        move || {
            version.track();
            let id = id.clone();
            async move {
                match id {
                    Some(id) => get_facility(id).await.map(Some),
                    None => Ok(None),
                }
            }
        }
    });
    let panel_id = id.clone().unwrap_or_default();
    let existing = id.is_some();
    view! {
        <section class="card facility-panel" data-testid="facility-panel"
            data-id=panel_id>
            <div class="toolbar">
                <h3>{move || if existing { tr("registry.facility_title") } else { tr("registry.new_facility") }}</h3>
                <button type="button" class="btn btn-small" data-testid="facility-close"
                    on:click=move |_| on_close.run(())>{move || tr("registry.close")}</button>
            </div>
            {move || match (loaded.get(), units.get()) {
                (Some(Ok(detail)), Some(Ok(units))) => view! {
                    {detail.as_ref().filter(|d| !d.conflicts.is_empty()).map(|d| view! {
                        <FacilityConflicts conflicts=d.conflicts.clone() tree=d.entry.facility.unit_tree.clone()
                            units=units.clone() version=version/>
                    })}
                    <FacilityForm detail=detail.clone() units=units.clone() version=version saved=saved on_saved=on_saved/>
                    {detail.map(|d| view! { <FacilityProposals detail=d units=units version=version/> })}
                }.into_any(),
                (Some(Err(e)), _) | (_, Some(Err(e))) => view! {
                    <p class="error-banner" role="alert">{error_text(use_locale().0.get_untracked(), &e.0)}</p>
                }.into_any(),
                _ => view! { <crate::root::Loading/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FacilityForm(
    detail: Option<FacilityDetail>,
    units: Vec<AdminUnit>,
    version: RwSignal<u32>,
    saved: RwSignal<bool>,
    on_saved: Callback<String>,
) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let entry = detail.map(|d| d.entry);
    let id = entry.as_ref().map(|e| e.facility.id.clone());
    let active = entry.as_ref().is_none_or(|e| e.active);
    let f = entry.as_ref().map(|e| e.facility.clone());
    let text = |v: Option<Option<String>>| RwSignal::new(v.flatten().unwrap_or_default());
    let name = RwSignal::new(f.as_ref().map(|f| f.name.clone()).unwrap_or_default());
    let owner = text(f.as_ref().map(|f| f.owner_name.clone()));
    let address = text(f.as_ref().map(|f| f.address.clone()));
    let phone = text(f.as_ref().map(|f| f.phone.clone()));
    let products = text(f.as_ref().map(|f| f.main_products.clone()));
    let tax = text(entry.as_ref().map(|e| e.tax_code.clone()));
    let industry = RwSignal::new(
        f.as_ref()
            .map(|f| f.industry_group.clone())
            .unwrap_or_else(|| crate::model::INDUSTRIES[0].to_string()),
    );
    let all_trees = trees(&units);
    let tree = RwSignal::new(
        f.as_ref()
            .map(|f| f.unit_tree.clone())
            .or_else(|| all_trees.first().cloned())
            .unwrap_or_default(),
    );
    let recorded_unit = entry.as_ref().map(|e| e.unit.clone()).unwrap_or_default();
    let unit = RwSignal::new(recorded_unit.clone());
    // The form as it opened: only what is changed here is written.
    let shown = f
        .as_ref()
        .map(|f| crate::office::registry::contract::Shown {
            name: name.get_untracked(),
            owner_name: owner.get_untracked(),
            address: address.get_untracked(),
            unit: recorded_unit.clone(),
            industry_group: industry.get_untracked(),
            phone: phone.get_untracked(),
            tax_code: tax.get_untracked(),
            main_products: products.get_untracked(),
            versions: f.versions.clone(),
        });
    let error = RwSignal::new(None::<ErrorBody>);
    let units = StoredValue::new(units);
    let save = Action::new(move |draft: &FacilityDraft| {
        let draft = draft.clone();
        async move {
            match save_facility(draft).await {
                Ok(id) => {
                    saved.set(true);
                    version.update(|v| *v += 1);
                    on_saved.run(id);
                }
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let toggle = Action::new(move |(id, on): &(String, bool)| {
        let (id, on) = (id.clone(), *on);
        async move {
            match set_facility_active(id, on).await {
                Ok(()) => version.update(|v| *v += 1),
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let submit = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            saved.set(false);
            save.dispatch(FacilityDraft {
                id: id.clone(),
                name: name.get_untracked(),
                owner_name: owner.get_untracked(),
                address: address.get_untracked(),
                unit: unit.get_untracked(),
                industry_group: industry.get_untracked(),
                phone: phone.get_untracked(),
                tax_code: tax.get_untracked(),
                main_products: products.get_untracked(),
                shown: shown.clone(),
            });
        }
    };
    let input = move |key: &'static str, label: &'static str, value: RwSignal<String>| {
        let field_id = format!("fac-{key}");
        view! {
            <div class="field">
                <label for=field_id.clone()>{move || tr(label)}</label>
                <input id=field_id.clone() data-testid=field_id prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            </div>
        }
    };
    let existing = id.is_some();
    let on_site = entry.as_ref().is_some_and(|e| e.found_on_site);
    view! {
        <form class="form" on:submit=submit data-testid="facility-form" data-active=active.to_string()>
            {(!active).then(|| view! { <p class="notice" data-testid="facility-inactive">{move || tr("registry.facility_inactive")}</p> })}
            {on_site.then(|| view! { <p class="hint">{move || tr("registry.on_site")}</p> })}
            {input("name", "registry.facility_name", name)}
            {input("owner", "registry.owner_name", owner)}
            {input("address", "registry.address", address)}
            <div class="field">
                <label for="fac-tree">{move || tr("registry.tree")}</label>
                <select id="fac-tree" data-testid="fac-tree" disabled=existing
                    on:change=move |ev| { tree.set(event_target_value(&ev)); unit.set(String::new()); }>
                    {all_trees.iter().map(|t| {
                        let selected = tree.get_untracked() == *t;
                        view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="fac-unit">{move || tr("registry.commune")}</label>
                <select id="fac-unit" data-testid="fac-unit" required
                    on:change=move |ev| unit.set(event_target_value(&ev))>
                    <option value="">{move || tr("registry.choose_unit")}</option>
                    {move || placeable(&units.read_value(), &tree.get(), &recorded_unit, &tr("registry.commune_unknown")).into_iter().map(|(key, label)| {
                        let selected = unit.get_untracked() == key;
                        view! { <option value=key selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="fac-industry">{move || tr("registry.industry")}</label>
                <select id="fac-industry" data-testid="fac-industry" on:change=move |ev| industry.set(event_target_value(&ev))>
                    {crate::model::INDUSTRIES.iter().map(|g| {
                        let selected = industry.get_untracked() == *g;
                        view! { <option value=*g selected=selected>{move || crate::i18n::industry_label(lang.get(), g)}</option> }
                    }).collect_view()}
                </select>
            </div>
            {input("phone", "registry.phone", phone)}
            {input("tax", "registry.tax_code", tax)}
            {input("products", "registry.main_products", products)}
            <Show when=move || error.get().is_some()>
                <p class="error-banner" role="alert" data-testid="facility-error">
                    {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                </p>
            </Show>
            <Show when=move || saved.get()>
                <p class="notice" role="status" data-testid="facility-saved">{move || tr("registry.facility_saved")}</p>
            </Show>
            <div class="admin-actions">
                <button type="submit" class="btn btn-primary" data-testid="fac-save" disabled=!active>
                    {move || tr("registry.save_facility")}
                </button>
                {id.clone().map(|id| view! {
                    <button type="button" class="btn" data-testid="facility-toggle-active"
                        on:click=move |_| { error.set(None); toggle.dispatch((id.clone(), !active)); }>
                        {move || if active { tr("registry.deactivate_facility") } else { tr("registry.reactivate_facility") }}
                    </button>
                })}
            </div>
        </form>
    }
}

#[component]
fn FacilityProposals(
    detail: FacilityDetail,
    units: Vec<AdminUnit>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let years = LocalResource::new(crate::office::years::list_years);
    let facility_id = detail.entry.facility.id.clone();
    let year = RwSignal::new(String::new());
    let unit = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let kind = RwSignal::new(super::SUPPORT_KINDS[0].to_string());
    let amount = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let units = StoredValue::new(units);
    let open_years = move || -> Vec<(i32, String)> {
        years
            .get()
            .and_then(Result::ok)
            .map(|o| {
                o.years
                    .into_iter()
                    .filter(|y| y.open)
                    .map(|y| (y.year, y.unit_tree))
                    .collect()
            })
            .unwrap_or_default()
    };
    Effect::new(move |_| {
        if year.get_untracked().is_empty() {
            if let Some((y, _)) = open_years().first() {
                year.set(y.to_string());
            }
        }
    });
    let year_tree = move || {
        let y = year.get();
        open_years()
            .into_iter()
            .find(|(n, _)| n.to_string() == y)
            .map(|(_, t)| t)
            .unwrap_or_default()
    };
    let create = Action::new(move |p: &NewProposal| {
        let p = p.clone();
        async move {
            match create_proposal(p).await {
                Ok(_) => {
                    title.set(String::new());
                    amount.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(FnError(body)) => error.set(Some(body)),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        create.dispatch(NewProposal {
            facility_id: facility_id.clone(),
            year: year.get_untracked().parse().unwrap_or_default(),
            unit: unit.get_untracked(),
            title: title.get_untracked(),
            support_kind: kind.get_untracked(),
            requested_amount: serde_json::Value::String(amount.get_untracked()),
        });
    };
    let active = detail.entry.active;
    let count = detail.proposals.len().to_string();
    view! {
        <h3>{move || tr("registry.proposals_of_facility")}</h3>
        <ul class="facility-proposals" data-testid="facility-proposals" data-count=count>
            {detail.proposals.into_iter().map(|p| view! {
                <li data-testid="facility-proposal" data-year=p.year.to_string() data-active=p.active.to_string()>
                    <ReviewLink
                        href=Some(format!("/review/proposals/{}", p.id))
                        text=format!("{} — {}", p.year, p.title)
                        link_testid="facility-proposal-link"/>
                    " · " {crate::format::vnd(p.requested_amount)}
                    {(!p.active).then(|| view! { <span class="badge">{move || tr("registry.inactive_badge")}</span> })}
                </li>
            }).collect_view()}
        </ul>
        {active.then(|| view! {
            <form class="form" on:submit=submit data-testid="new-proposal-form">
                <h4>{move || tr("registry.new_proposal")}</h4>
                <div class="field">
                    <label for="np-year">{move || tr("plan.year")}</label>
                    <select id="np-year" data-testid="np-year" on:change=move |ev| { year.set(event_target_value(&ev)); unit.set(String::new()); }>
                        {move || open_years().into_iter().map(|(y, _)| {
                            let selected = year.get_untracked() == y.to_string();
                            view! { <option value=y.to_string() selected=selected>{y}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="np-unit">{move || tr("registry.commune")}</label>
                    <select id="np-unit" data-testid="np-unit" on:change=move |ev| unit.set(event_target_value(&ev))>
                        <option value="">{move || tr("registry.unit_from_facility")}</option>
                        {move || communes_or_districts(&units.read_value(), &year_tree()).into_iter().map(|(key, label)| {
                            view! { <option value=key>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="np-title">{move || tr("registry.edit_proposal_title")}</label>
                    <input id="np-title" data-testid="np-title" required prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="np-kind">{move || tr("plan.support_kind")}</label>
                    <select id="np-kind" data-testid="np-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        {super::SUPPORT_KINDS.iter().map(|k| view! {
                            <option value=*k>{move || tr(&format!("support_kind.{k}"))}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="np-amount">{move || tr("review.requested")}</label>
                    <input id="np-amount" data-testid="np-amount" inputmode="numeric" required prop:value=move || amount.get()
                        on:input=move |ev| amount.set(event_target_value(&ev))/>
                </div>
                <Show when=move || error.get().is_some()>
                    <p class="error-banner" role="alert" data-testid="new-proposal-error">
                        {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                    </p>
                </Show>
                <button type="submit" class="btn btn-primary" data-testid="np-create">{move || tr("registry.create_proposal")}</button>
            </form>
        })}
    }
}
