//! The visit page: status badges and notices, the form built once per visit,
//! the list of missing answers and the save bar. The state is the editor's.

use super::editor::{SaveState, VisitEditor};
use super::field::FieldInput;
use super::repeat::RepeatGroup;
use super::{field_label, focused_field, missing_label};
#[cfg(feature = "hydrate")]
use super::{restore_focus, scroll_to};
use crate::field::client::use_client;
use crate::i18n::{error_text, use_locale, use_t};
use crate::model::ReviewState;
use crate::root::Loading;
use leptos::prelude::*;

#[component]
pub fn VisitPage() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let params = leptos_router::hooks::use_params_map();
    let editor = VisitEditor::new(state, move || params.read().get("id").unwrap_or_default());
    // Nobody logged in on this phone (a visit's link after a logout): the
    // login page, as the home page does, not a page loading for ever.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if state.loaded.get() && state.user.get().is_none() {
            navigate("/login", Default::default());
        }
    });
    let VisitEditor {
        visit,
        form,
        missing,
        save_state,
        save_error,
        incomplete,
        draft_pending,
        draft_saved_at,
        editable,
        outside_values,
        ..
    } = editor;
    let set_answer = move |change| editor.set_answer(change);
    let set_row_answer = move |change| editor.set_row_answer(change);
    let add_row = move |group| editor.add_row(group);
    let remove_row = move |row_id| editor.remove_row(row_id);
    let run_save = move |submit| editor.save(submit);

    // The form is built once per visit: fields keep their own input state, so a
    // keystroke never re-renders the form (and never steals focus). It is made
    // anew only when a value from elsewhere lands (a pull of another phone's
    // value or a supervisor's decision).
    let loaded_id = Memo::new(move |_| visit.with(|v| v.as_ref().map(|v| v.id.clone())));
    // A send-back that lands while the discard is offered (or asked) makes
    // the kept changes sendable: the offer goes, and the page says why
    // rather than let it vanish. Not after a discard: the server's copy is
    // then not editable.
    let kept_sendable = RwSignal::new(false);
    Effect::new(move |was: Option<(Option<String>, bool)>| {
        let (id, now, editable) = visit.with(|v| match v {
            Some(v) => (
                Some(v.id.clone()),
                super::refused::discardable(v),
                v.editable(),
            ),
            None => (None, false, false),
        });
        let lifted = was
            .as_ref()
            .is_some_and(|(before, offered)| *before == id && *offered);
        if now || was.as_ref().is_some_and(|(before, _)| *before != id) {
            kept_sendable.set(false);
        } else if lifted && editable {
            kept_sendable.set(true);
        }
        (id, now)
    });
    #[cfg(feature = "hydrate")]
    let focused_for = StoredValue::new(None::<String>);
    let status = move || {
        visit.get().map(|v| {
            let refusal = v.refusal.clone().map(|b| error_text(lang.get(), &b));
            let refusal_code = v.refusal.as_ref().map(|r| r.code.clone());
            // Finalized elsewhere: saving is no use until a send-back.
            let kept = match v.review_state {
                _ if !v.refused_for(super::local::LOCKED) || v.editable() => "visit.refused_kept",
                ReviewState::Submitted => "visit.locked_kept",
                _ => "visit.decided_kept",
            };
            let send_back = v.send_back().cloned();
            let def = form.get();
            view! {
                <p class="muted">
                    <span
                        class=format!("badge badge-sync badge-{}", v.sync_state.as_str())
                        data-testid="visit-sync-state"
                        data-state=v.sync_state.as_str()
                    >
                        {let key = format!("sync_state.{}", v.sync_state.as_str()); move || tr(&key)}
                    </span>
                    " "
                    <span
                        class=format!("badge badge-{}", v.review_state.as_str().replace('_', "-"))
                        data-testid="visit-review-state"
                        data-state=v.review_state.as_str()
                    >
                        {let key = format!("review_state.{}", v.review_state.as_str()); move || tr(&key)}
                    </span>
                </p>
                {v.submit_queued.then(|| view! { <p class="notice" data-testid="visit-submit-queued">{move || tr("visit.submit_queued")}</p> })}
                {v.year_closed.then(|| view! { <p class="notice" data-testid="visit-year-closed">{move || tr("visit.year_closed")}</p> })}
                {send_back.map(|event| {
                    let about = event.field.as_deref().and_then(|k| match k.strip_prefix("photo:") {
                        // A comment pinned to one photo: the link shows that photo.
                        Some(photo) => Some((tr("visit.send_back_photo"), format!("[data-photo-id=\"{photo}\"]"))),
                        None => def.as_ref().map(|d| (missing_label(d, k, lang.get()), format!("[data-field=\"{k}\"]"))),
                    });
                    view! {
                        <div class="warning-banner" data-testid="visit-send-back" role="status">
                            <strong>{tr("visit.send_back").replace("{who}", &event.by)}</strong>
                            {about.map(|(label, target)| view! {
                                <p>
                                    {move || tr("visit.send_back_field")} ": "
                                    <a href="#" data-testid="visit-send-back-field" on:click=move |ev| {
                                        ev.prevent_default();
                                        #[cfg(feature = "hydrate")]
                                        scroll_to(&target);
                                        #[cfg(not(feature = "hydrate"))]
                                        let _ = &target;
                                    }>{label}</a>
                                </p>
                            })}
                            <p data-testid="visit-send-back-comment">{event.comment.clone().unwrap_or_default()}</p>
                        </div>
                    }
                })}
                {refusal.map(|text| view! {
                    <p class="error-banner" role="alert" data-testid="visit-refusal" data-code=refusal_code.clone()>{text}" "{move || tr(kept)}</p>
                })}
                {(!v.lost_fields.is_empty()).then(|| {
                    let names: Vec<String> = v
                        .lost_fields
                        .iter()
                        .map(|k| def.as_ref().map_or_else(|| k.clone(), |d| field_label(d, k, lang.get())))
                        .collect();
                    let text = tr("visit.conflict").replace("{fields}", &names.join(", "));
                    view! { <p class="warning-banner" data-testid="visit-conflict">{text}</p> }
                })}
            }
        })
    };
    let body = move || {
        let (Some(_), Some(def)) = (loaded_id.get(), form.get()) else {
            return if missing.get() {
                view! { <p class="error-banner" data-testid="visit-missing">{move || tr("visit.missing")}</p> }.into_any()
            } else {
                view! { <Loading/> }.into_any()
            };
        };
        let initial =
            visit.with_untracked(|v| v.as_ref().map(|v| v.answers.clone()).unwrap_or_default());
        let sections = def
            .sections
            .iter()
            .map(|section| {
                let fields = section
                    .fields
                    .iter()
                    .map(|f| {
                        let field = f.clone();
                        let input = if f.kind == crate::forms::FieldType::Repeat {
                            view! {
                                <RepeatGroup field=field visit=visit on_change=set_row_answer on_add=add_row on_remove=remove_row/>
                            }
                            .into_any()
                        } else if f.kind == crate::forms::FieldType::Photo {
                            view! { <crate::field::photos::field::PhotoField field=field visit=visit editable=editable/> }.into_any()
                        } else {
                            view! { <FieldInput field=field value=initial.get(&f.key).cloned() on_change=set_answer/> }.into_any()
                        };
                        match crate::forms::expr::compile(f.relevant.as_deref()) {
                            None => input,
                            Some(expr) => {
                                let shown = Memo::new(move |_| {
                                    visit.with(|v| v.as_ref().map(|v| crate::forms::expr::shown(Some(&expr), &v.answers)).unwrap_or(true))
                                });
                                // Hidden, not removed: the input keeps its text if the
                                // answer that hid it is changed back.
                                view! { <div class:hidden=move || !shown.get()>{input}</div> }.into_any()
                            }
                        }
                    })
                    .collect_view();
                let title = section.title.clone();
                view! {
                    <section class="form-section">
                        <h2>{move || title.get(lang.get()).to_string()}</h2>
                        {fields}
                    </section>
                }
            })
            .collect_view();
        let title = def.title.clone();
        // Once per visit: a form made anew for a value from elsewhere leaves
        // the page where the inspector has scrolled it.
        #[cfg(feature = "hydrate")]
        if focused_for.get_value() != loaded_id.get_untracked() {
            focused_for.set_value(loaded_id.get_untracked());
            restore_focus(visit.with_untracked(|v| v.as_ref().and_then(|v| v.focus.clone())));
        }
        view! {
            <h1>{move || title.get(lang.get()).to_string()}</h1>
            {status}
            // Outside `status`, which a sync draws anew: an open question stays.
            <Show when=move || visit.with(|v| v.as_ref().is_some_and(super::refused::discardable))>
                <super::discard::DiscardKept visit=visit outside_values=outside_values/>
            </Show>
            <Show when=move || kept_sendable.get()>
                <p class="notice" role="status" data-testid="visit-kept-sendable">{move || tr("visit.kept_sendable")}</p>
            </Show>
            <form class="form" data-testid="visit-form" on:submit=|ev| ev.prevent_default()
                data-draft-pending=move || draft_pending.get().to_string()
                data-draft-saved-at=move || draft_saved_at.get().map(|at| at.to_string())
                on:focusin=move |ev| {
                    if let Some(key) = focused_field(&ev) {
                        visit.update(|v| if let Some(v) = v { v.focus = Some(key) });
                    }
                }>
                <fieldset class="form-body" disabled=move || !editable.get()>
                    {sections}
                </fieldset>
            </form>
        }
        .into_any()
    };

    let incomplete_view = move || {
        let gaps = incomplete.get();
        let def = form.get()?;
        (!gaps.is_empty()).then(|| {
            let items = gaps
                .iter()
                .map(|k| {
                    let target = format!("[data-field=\"{}\"]", k.split('/').next().unwrap_or(k));
                    view! {
                        <li><a href="#" data-target=target.clone() on:click=move |ev| {
                            ev.prevent_default();
                            #[cfg(feature = "hydrate")]
                            scroll_to(&target);
                        }>{missing_label(&def, k, lang.get())}</a></li>
                    }
                })
                .collect_view();
            view! {
                <div class="error-banner" data-testid="visit-incomplete" role="alert">
                    <p>{move || tr("visit.incomplete")}</p>
                    <ul>{items}</ul>
                </div>
            }
        })
    };

    view! {
        // A value from elsewhere switches sides, which makes new inputs: built
        // again in place, an input the inspector has typed in keeps showing
        // its old text whatever its value attribute says. (A keyed list would
        // do the same for 3.6 KB more on the phone.)
        {move || if outside_values.get() % 2 == 0 {
            leptos::either::Either::Left(body)
        } else {
            leptos::either::Either::Right(body)
        }}
        {incomplete_view}
        <div class="form-actions">
            <span class="save-status" role="status" data-testid="save-status" data-state=move || save_state.get().as_str()>
                {move || match save_state.get() {
                    SaveState::Idle => String::new(),
                    SaveState::Saving => tr("visit.saving"),
                    SaveState::Saved => tr("visit.saved"),
                    SaveState::Error => save_error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default(),
                }}
            </span>
            <Show when=move || editable.get()>
                <button class="btn" data-testid="save-button" on:click=move |_| run_save(false)>
                    {move || tr("visit.save")}
                </button>
                <button class="btn btn-primary" data-testid="finalize-button" on:click=move |_| run_save(true)>
                    {move || if visit.with(|v| v.as_ref().is_some_and(|v| v.review_state == crate::model::ReviewState::NeedsChanges)) {
                        tr("visit.resubmit")
                    } else {
                        tr("visit.finalize")
                    }}
                </button>
            </Show>
        </div>
    }
}
