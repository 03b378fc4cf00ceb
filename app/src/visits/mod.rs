//! Visits on the phone: the survey form screen (autosaved draft, explicit save
//! into the outbox) and the list of the inspector's own visits.
//!
//! One file (730 lines): the visit page and its editor state; issue 16 splits it into an editor hook and views.

/// Rendering one form field and reading its input back.
mod field;
/// The inspector's visits on this phone: state, facility, district, age, search.
mod list;
/// The phone's copy of a visit and the save/absorb logic (plain Rust).
pub mod local;
/// Starting a visit for a facility found on site (not in the register).
mod on_site;

use crate::client::use_client;
use crate::error::ErrorBody;
use crate::forms::{expr::is_relevant, FormDefinition};
use crate::i18n::{error_text, use_locale, use_t};
use crate::root::Loading;
use field::FieldInput;
use leptos::prelude::*;
pub use list::{visit_rows, VisitList, VisitListRow};
use local::LocalVisit;
pub use on_site::OnSiteVisit;

/// The form every new visit uses (its newest version on the phone).
pub const DEFAULT_FORM_ID: &str = "khuyen-cong";
/// The draft is written this long after the last change: typing does not
/// write on every keystroke, and a change is on the phone within a second.
const AUTOSAVE_DELAY_MS: u64 = 600;

/// Creates a local draft visit for a proposal and returns its id.
#[cfg(feature = "hydrate")]
pub async fn start_visit(
    state: crate::client::ClientState,
    proposal_id: String,
    facility_id: String,
) -> Option<String> {
    let user = state.user.get_untracked()?;
    let db = crate::offline::db().await.ok()?;
    // The proposal's year names the form version its visits start on; a phone
    // that does not hold it (yet) uses the newest it has.
    let year_form = match db.proposal(&user.id, &proposal_id).await.ok().flatten() {
        Some(p) => match (p.form_id, p.form_version) {
            (Some(id), Some(version)) => db.form(&id, version).await.ok().flatten(),
            _ => None,
        },
        None => None,
    };
    let form = match year_form {
        Some(form) => form,
        None => db.current_form(DEFAULT_FORM_ID).await.ok()??,
    };
    let now = crate::client::browser::now_ms();
    let id = local::new_uuid_v7(now).to_string();
    let visit = LocalVisit::new(
        id.clone(),
        form.id,
        form.version,
        Some(proposal_id),
        Some(facility_id),
        user.username,
        now,
    );
    db.put_draft(&user.id, &visit).await.ok()?;
    state.bump();
    Some(id)
}

#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum SaveState {
    Idle,
    Saving,
    Saved,
    Error,
}

impl SaveState {
    fn as_str(self) -> &'static str {
        match self {
            SaveState::Idle => "idle",
            SaveState::Saving => "saving",
            SaveState::Saved => "saved",
            SaveState::Error => "error",
        }
    }
}

/// The phone's clock (0 on the server, where these screens only render).
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        crate::client::browser::now_ms()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// Every required answer still missing at finalize: the same check the server
/// makes on the submit command, run first on the phone so the inspector sees
/// the whole list at once instead of one refusal per sync.
pub fn missing_for_finalize(form: &FormDefinition, visit: &LocalVisit) -> Vec<String> {
    let rows: Vec<crate::forms::rules::RowAnswers> = visit
        .rows
        .iter()
        .filter(|r| !r.deleted)
        .map(|r| crate::forms::rules::RowAnswers {
            group: &r.group,
            answers: &r.answers,
        })
        .collect();
    crate::forms::rules::missing_required(form, &visit.answers, &rows)
}

/// Answers on screen that break a rule (the same check the server makes on save).
fn has_invalid_answers(form: &FormDefinition, visit: &LocalVisit) -> bool {
    let bad = |field: &crate::forms::Field,
               answers: &std::collections::BTreeMap<String, serde_json::Value>| {
        is_relevant(field.relevant.as_deref(), answers)
            && answers
                .get(&field.key)
                .is_some_and(|v| crate::forms::rules::check_value(field, v).is_err())
    };
    form.fields().any(|f| bad(f, &visit.answers))
        || form
            .fields()
            .filter(|f| f.kind == crate::forms::FieldType::Repeat)
            .any(|group| {
                visit
                    .rows
                    .iter()
                    .filter(|r| r.group == group.key && !r.deleted)
                    .any(|row| group.fields.iter().any(|c| bad(c, &row.answers)))
            })
}

/// The label of a missing key (`field` or `group/field`) in the current language.
fn missing_label(form: &FormDefinition, key: &str, lang: crate::i18n::Lang) -> String {
    let (group, child) = key.split_once('/').unwrap_or((key, ""));
    let Some(field) = form.field(group) else {
        return key.to_string();
    };
    match field.fields.iter().find(|c| c.key == child) {
        Some(c) => format!("{} › {}", field.label.get(lang), c.label.get(lang)),
        None => field.label.get(lang).to_string(),
    }
}

#[component]
pub fn VisitPage() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let params = leptos_router::hooks::use_params_map();
    let visit_id = move || params.read().get("id").unwrap_or_default();
    let visit = RwSignal::new(None::<LocalVisit>);
    let form = RwSignal::new(None::<FormDefinition>);
    let missing = RwSignal::new(false);
    let save_state = RwSignal::new(SaveState::Idle);
    let save_error = RwSignal::new(None::<ErrorBody>);
    let incomplete = RwSignal::new(Vec::<String>::new());
    let autosave_generation = StoredValue::new(0u64);
    // What the form shows as `data-draft-pending` and `data-draft-saved-at`: a
    // change not yet in IndexedDB, and the `updated_at_ms` of the last draft
    // written there (set only once the write has completed).
    let draft_pending = RwSignal::new(false);
    let draft_saved_at = RwSignal::new(None::<i64>);

    // Load, and after every sync take in the new sync state without touching
    // answers the inspector is typing.
    Effect::new(move |_| {
        let _ = state.data_version.get();
        let id = visit_id();
        let Some(user) = state.user.get() else { return };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Ok(db) = crate::offline::db().await else {
                return;
            };
            match db.visit(&user.id, &id).await {
                Ok(Some(stored)) => {
                    if form.get_untracked().is_none() {
                        form.set(
                            db.form(&stored.form_id, stored.form_version)
                                .await
                                .ok()
                                .flatten(),
                        );
                    }
                    visit.update(|current| match current {
                        Some(v) if v.id == stored.id && v.has_unsaved_changes() => {
                            v.sync_state = stored.sync_state;
                            v.refusal = stored.refusal.clone();
                            v.versions = stored.versions.clone();
                            v.review_state = stored.review_state;
                            v.review = stored.review.clone();
                            v.submit_queued = stored.submit_queued;
                            v.lost_fields = stored.lost_fields.clone();
                        }
                        _ => *current = Some(stored),
                    });
                }
                _ => missing.set(true),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (id, user);
    });

    // Autosave: the draft only, within a second of the last change.
    let schedule_autosave = move || {
        save_state.set(SaveState::Idle);
        draft_pending.set(true);
        autosave_generation.update_value(|g| *g += 1);
        let generation = autosave_generation.get_value();
        set_timeout(
            move || {
                #[cfg(feature = "hydrate")]
                if autosave_generation.try_get_value() == Some(generation) {
                    leptos::task::spawn_local(async move {
                        let saved_at = autosave(state, visit).await;
                        if let Some(at) = saved_at {
                            draft_saved_at.set(Some(at));
                        }
                        // A change made during the write has its own autosave coming.
                        if autosave_generation.try_get_value() == Some(generation) {
                            draft_pending.set(false);
                        }
                    });
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = (state, visit, generation, draft_saved_at);
            },
            std::time::Duration::from_millis(AUTOSAVE_DELAY_MS),
        );
    };

    let set_answer = move |(key, value): (String, Option<serde_json::Value>)| {
        visit.update(|v| {
            if let Some(v) = v {
                match value {
                    Some(value) => v.answers.insert(key.clone(), value),
                    None => v.answers.remove(&key),
                };
                v.focus = Some(key.clone());
            }
        });
        schedule_autosave();
    };
    let set_row_answer =
        move |(row_id, key, value): (String, String, Option<serde_json::Value>)| {
            visit.update(|v| {
                if let Some(v) = v {
                    if let Some(row) = v.rows.iter_mut().find(|r| r.id == row_id) {
                        match value {
                            Some(value) => row.answers.insert(key.clone(), value),
                            None => row.answers.remove(&key),
                        };
                    }
                    v.focus = Some(format!("{row_id}/{key}"));
                }
            });
            schedule_autosave();
        };
    let add_row = move |group: String| {
        let now = now_ms();
        let id = local::new_uuid_v7(now).to_string();
        visit.update(|v| {
            if let Some(v) = v {
                v.rows.push(local::LocalRow::new(id.clone(), group, now));
                v.focus = Some(format!("{id}/"));
            }
        });
        schedule_autosave();
    };
    let remove_row = move |row_id: String| {
        visit.update(|v| {
            if let Some(row) = v
                .as_mut()
                .and_then(|v| v.rows.iter_mut().find(|r| r.id == row_id))
            {
                row.deleted = true;
            }
        });
        schedule_autosave();
    };

    let run_save = move |submit: bool| {
        let Some(current) = visit.get_untracked() else {
            return;
        };
        let Some(def) = form.get_untracked() else {
            return;
        };
        if has_invalid_answers(&def, &current) {
            save_state.set(SaveState::Error);
            save_error.set(Some(ErrorBody::new(
                "form.fix_errors",
                "fix the marked fields first",
            )));
            return;
        }
        if submit {
            let gaps = missing_for_finalize(&def, &current);
            incomplete.set(gaps.clone());
            if !gaps.is_empty() {
                save_state.set(SaveState::Error);
                save_error.set(Some(ErrorBody::new(
                    "visit.incomplete_local",
                    "required answers are missing",
                )));
                return;
            }
        }
        save_state.set(SaveState::Saving);
        save_error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match save_visit(state, current, submit).await {
                Ok(saved) => {
                    visit.set(Some(saved));
                    save_state.set(SaveState::Saved);
                    state.bump();
                    crate::client::request_sync(state);
                }
                Err(body) => {
                    save_state.set(SaveState::Error);
                    save_error.set(Some(body));
                }
            }
        });
    };

    let editable = Memo::new(move |_| visit.with(|v| v.as_ref().is_some_and(LocalVisit::editable)));
    // The form is built once per visit: fields keep their own input state, so a
    // keystroke never re-renders the form (and never steals focus).
    let loaded_id = Memo::new(move |_| visit.with(|v| v.as_ref().map(|v| v.id.clone())));
    let status = move || {
        visit.get().map(|v| {
            let refusal = v.refusal.clone().map(|b| error_text(lang.get(), &b));
            let send_back = v.send_back().cloned();
            let def = form.get();
            view! {
                <p class="muted">
                    <span
                        class=format!("badge badge-{}", v.sync_state.as_str())
                        data-testid="visit-sync-state"
                        data-state=v.sync_state.as_str()
                    >
                        {tr(&format!("sync_state.{}", v.sync_state.as_str()))}
                    </span>
                    " "
                    <span
                        class=format!("badge badge-{}", v.review_state.as_str().replace('_', "-"))
                        data-testid="visit-review-state"
                        data-state=v.review_state.as_str()
                    >
                        {tr(&format!("review_state.{}", v.review_state.as_str()))}
                    </span>
                </p>
                {v.submit_queued.then(|| view! { <p class="notice" data-testid="visit-submit-queued">{tr("visit.submit_queued")}</p> })}
                {v.year_closed.then(|| view! { <p class="notice" data-testid="visit-year-closed">{tr("visit.year_closed")}</p> })}
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
                                    {tr("visit.send_back_field")} ": "
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
                {refusal.map(|text| view! { <p class="error-banner" data-testid="visit-refusal">{text}</p> })}
                {(!v.lost_fields.is_empty()).then(|| {
                    let text = tr("visit.conflict").replace("{fields}", &v.lost_fields.join(", "));
                    view! { <p class="warning-banner" data-testid="visit-conflict">{text}</p> }
                })}
            }
        })
    };
    let body = move || {
        let (Some(_), Some(def)) = (loaded_id.get(), form.get()) else {
            return if missing.get() {
                view! { <p class="error-banner" data-testid="visit-missing">{tr("visit.missing")}</p> }.into_any()
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
                            view! { <crate::photos::view::PhotoField field=field visit=visit editable=editable/> }.into_any()
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
        #[cfg(feature = "hydrate")]
        restore_focus(visit.with_untracked(|v| v.as_ref().and_then(|v| v.focus.clone())));
        view! {
            <h1>{move || title.get(lang.get()).to_string()}</h1>
            {status}
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
                    <p>{tr("visit.incomplete")}</p>
                    <ul>{items}</ul>
                </div>
            }
        })
    };

    view! {
        {body}
        {incomplete_view}
        <div class="form-actions">
            <span class="save-status" data-testid="save-status" data-state=move || save_state.get().as_str()>
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

/// One repeat group: its rows (child records, each with its own ID) and the
/// buttons to add and remove rows. Rows re-render only when added or removed.
#[component]
fn RepeatGroup(
    field: crate::forms::Field,
    visit: RwSignal<Option<LocalVisit>>,
    #[prop(into)] on_change: Callback<(String, String, Option<serde_json::Value>)>,
    #[prop(into)] on_add: Callback<String>,
    #[prop(into)] on_remove: Callback<String>,
) -> impl IntoView {
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let group = field.key.clone();
    let ids = {
        let group = group.clone();
        Memo::new(move |_| {
            visit.with(|v| {
                v.as_ref()
                    .map(|v| {
                        v.rows
                            .iter()
                            .filter(|r| r.group == group && !r.deleted)
                            .map(|r| r.id.clone())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let label = field.label.clone();
    let hint = field.hint.clone();
    let children = field.fields.clone();
    let add_group = group.clone();
    let limit = field.row_limit();
    let full = move || ids.with(|all| all.len() >= limit);
    let full_id = format!("repeat-{group}-full");
    view! {
        <fieldset class="repeat" data-testid=format!("repeat-{group}") data-field=group.clone()>
            <legend>{move || label.get(lang.get()).to_string()}</legend>
            {hint.map(|h| view! { <p class="hint">{move || h.get(lang.get()).to_string()}</p> })}
            <For each=move || ids.get() key=|id| id.clone() let:id>
                {
                    let answers = visit.with_untracked(|v| {
                        v.as_ref()
                            .and_then(|v| v.rows.iter().find(|r| r.id == id))
                            .map(|r| r.answers.clone())
                            .unwrap_or_default()
                    });
                    let fields = children
                        .iter()
                        .map(|child| {
                            let row_id = id.clone();
                            view! {
                                <FieldInput
                                    field=child.clone()
                                    value=answers.get(&child.key).cloned()
                                    scope=format!("{id}/")
                                    on_change=move |(k, v): (String, Option<serde_json::Value>)| on_change.run((row_id.clone(), k, v))
                                />
                            }
                        })
                        .collect_view();
                    let number = {
                        let id = id.clone();
                        move || ids.with(|all| all.iter().position(|x| *x == id).map(|p| p + 1).unwrap_or(0))
                    };
                    let confirming = RwSignal::new(false);
                    let remove_id = id.clone();
                    view! {
                        <div class="repeat-row" data-testid="repeat-row" data-row-id=id.clone()>
                            <div class="repeat-row-head">
                                <strong>{move || tr("repeat.row").replace("{n}", &number().to_string())}</strong>
                                <button type="button" class="btn btn-small" data-testid="repeat-row-remove"
                                    on:click=move |_| {
                                        if confirming.get_untracked() {
                                            on_remove.run(remove_id.clone());
                                        } else {
                                            confirming.set(true);
                                        }
                                    }>
                                    {move || if confirming.get() { tr("repeat.remove_confirm") } else { tr("repeat.remove") }}
                                </button>
                            </div>
                            {fields}
                        </div>
                    }
                }
            </For>
            <button type="button" class="btn" data-testid=format!("repeat-{group}-add")
                prop:disabled=full
                on:click=move |_| if !full() { on_add.run(add_group.clone()) }>
                {move || tr("repeat.add")}
            </button>
            <Show when=full>
                <p class="hint" data-testid=full_id.clone()>
                    {move || tr("repeat.full").replace("{max}", &limit.to_string())}
                </p>
            </Show>
        </fieldset>
    }
}

/// The `data-field` of the field holding the focused input (`row id/key` in rows).
#[cfg(feature = "hydrate")]
fn focused_field(ev: &leptos::ev::FocusEvent) -> Option<String> {
    use wasm_bindgen::JsCast;
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    target
        .closest("[data-field]")
        .ok()??
        .get_attribute("data-field")
}

#[cfg(not(feature = "hydrate"))]
fn focused_field(_ev: &leptos::ev::FocusEvent) -> Option<String> {
    None
}

#[cfg(feature = "hydrate")]
fn scroll_to(selector: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
    {
        el.scroll_into_view();
        if let Ok(Some(input)) = el.query_selector("input, textarea, select") {
            use wasm_bindgen::JsCast;
            if let Ok(input) = input.dyn_into::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        }
    }
}

/// Reopens a draft where the inspector left it: the field last in view, once the
/// form is in the page.
#[cfg(feature = "hydrate")]
fn restore_focus(focus: Option<String>) {
    let Some(focus) = focus else { return };
    request_animation_frame(move || {
        let selector = if let Some(row) = focus.strip_suffix('/') {
            format!("[data-row-id=\"{row}\"]")
        } else {
            format!("[data-field=\"{focus}\"]")
        };
        scroll_to(&selector);
    });
}

/// Writes the draft as the screen has it; the draft's `updated_at_ms` once
/// IndexedDB has it, `None` when nothing was written.
#[cfg(feature = "hydrate")]
async fn autosave(
    state: crate::client::ClientState,
    visit: RwSignal<Option<LocalVisit>>,
) -> Option<i64> {
    let user = state.user.get_untracked()?;
    let current = visit.try_get_untracked().flatten()?;
    let db = crate::offline::db().await.ok()?;
    // Read-modify-write: only what the inspector edits comes from the screen;
    // sync state and versions stay as the sync engine left them.
    let stored = db
        .visit(&user.id, &current.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| current.clone());
    let mut draft = local::take_draft(stored, &current);
    draft.updated_at_ms = crate::client::browser::now_ms();
    db.put_draft(&user.id, &draft).await.ok()?;
    Some(draft.updated_at_ms)
}

/// Explicit save (and with `submit`, finalize): mutations for every field and row
/// changed since the last save, written with the draft and the seq counter in one
/// strict transaction.
#[cfg(feature = "hydrate")]
pub(crate) async fn save_visit(
    state: crate::client::ClientState,
    current: LocalVisit,
    submit: bool,
) -> Result<LocalVisit, ErrorBody> {
    let storage = |e: crate::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let user = state
        .user
        .get_untracked()
        .ok_or_else(|| ErrorBody::new("auth.required", "log in"))?;
    let device = state
        .device_id
        .get_untracked()
        .ok_or_else(|| ErrorBody::new("auth.required", "log in"))?;
    let db = crate::offline::db().await.map_err(storage)?;
    let stored = db
        .visit(&user.id, &current.id)
        .await
        .map_err(storage)?
        .unwrap_or_else(|| current.clone());
    let base = local::take_draft(stored, &current);
    let next_seq = db.last_seq(&device).await.map_err(storage)? + 1;
    let mut clock = db.hlc().await.map_err(storage)?;
    let now = crate::client::browser::now_ms();
    let (saved, entries) = local::save_with(&base, &device, next_seq, &mut clock, now, submit);
    db.save_visit(&user.id, &saved, &entries, &device, clock)
        .await
        .map_err(storage)?;
    Ok(saved)
}
