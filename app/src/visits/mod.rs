//! Visits on the phone: the survey form screen (autosaved draft, explicit save
//! into the outbox) and the list of the inspector's own visits.

/// Rendering one form field and reading its input back.
mod field;
/// The phone's copy of a visit and the save/absorb logic (plain Rust).
pub mod local;

use crate::client::use_client;
use crate::error::ErrorBody;
use crate::forms::{expr::is_relevant, FormDefinition};
use crate::i18n::{error_text, use_locale, use_t};
use crate::root::Loading;
use field::FieldInput;
use leptos::prelude::*;
use local::LocalVisit;

/// The form every new visit uses (its newest version on the phone).
pub const DEFAULT_FORM_ID: &str = "khuyen-cong";

/// Creates a local draft visit for a proposal and returns its id.
#[cfg(feature = "hydrate")]
pub async fn start_visit(
    state: crate::client::ClientState,
    proposal_id: String,
    facility_id: String,
) -> Option<String> {
    let user = state.user.get_untracked()?;
    let db = crate::offline::db().await.ok()?;
    let form = db.current_form(DEFAULT_FORM_ID).await.ok()??;
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
    let autosave_generation = StoredValue::new(0u64);

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
                        Some(v) if v.id == stored.id && v.answers != stored.answers => {
                            v.sync_state = stored.sync_state;
                            v.refusal = stored.refusal.clone();
                            v.versions = stored.versions.clone();
                            v.review_state = stored.review_state;
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
        save_state.set(SaveState::Idle);
        // Autosave: the draft only, within a second of the last keystroke.
        autosave_generation.update_value(|g| *g += 1);
        let generation = autosave_generation.get_value();
        set_timeout(
            move || {
                if autosave_generation.get_value() == generation {
                    autosave(state, visit);
                }
            },
            std::time::Duration::from_millis(600),
        );
    };

    let save = move |_| {
        let Some(current) = visit.get_untracked() else {
            return;
        };
        let Some(def) = form.get_untracked() else {
            return;
        };
        let invalid = def.fields().any(|f| {
            is_relevant(f.relevant.as_deref(), &current.answers)
                && current
                    .answers
                    .get(&f.key)
                    .is_some_and(|v| crate::forms::rules::check_value(f, v).is_err())
        });
        if invalid {
            save_state.set(SaveState::Error);
            save_error.set(Some(ErrorBody::new(
                "form.fix_errors",
                "fix the marked fields first",
            )));
            return;
        }
        save_state.set(SaveState::Saving);
        save_error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match save_visit(state, current).await {
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

    // The form is built once per visit: fields keep their own input state, so a
    // keystroke never re-renders the form (and never steals focus).
    let loaded_id = Memo::new(move |_| visit.with(|v| v.as_ref().map(|v| v.id.clone())));
    let status = move || {
        visit.get().map(|v| {
            let refusal = v.refusal.clone().map(|b| error_text(lang.get(), &b));
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
                    <span class=format!("badge badge-{}", v.review_state.as_str().replace('_', "-"))>
                        {tr(&format!("review_state.{}", v.review_state.as_str()))}
                    </span>
                </p>
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
                        let value = initial.get(&f.key).cloned();
                        let relevant = f.relevant.clone();
                        let shown = Memo::new(move |_| {
                            visit.with(|v| v.as_ref().map(|v| is_relevant(relevant.as_deref(), &v.answers)).unwrap_or(true))
                        });
                        view! {
                            <Show when=move || shown.get()>
                                <FieldInput field=field.clone() value=value.clone() on_change=set_answer/>
                            </Show>
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
        view! {
            <h1>{move || title.get(lang.get()).to_string()}</h1>
            {status}
            <form class="form" data-testid="visit-form" on:submit=|ev| ev.prevent_default()>
                {sections}
            </form>
        }
        .into_any()
    };

    view! {
        {body}
        <div class="form-actions">
            <span class="save-status" data-testid="save-status" data-state=move || save_state.get().as_str()>
                {move || match save_state.get() {
                    SaveState::Idle => String::new(),
                    SaveState::Saving => tr("visit.saving"),
                    SaveState::Saved => tr("visit.saved"),
                    SaveState::Error => save_error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default(),
                }}
            </span>
            <button class="btn btn-primary" data-testid="save-button" on:click=save disabled=move || visit.get().is_none()>
                {move || tr("visit.save")}
            </button>
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn autosave(state: crate::client::ClientState, visit: RwSignal<Option<LocalVisit>>) {
    let Some(user) = state.user.get_untracked() else {
        return;
    };
    let Some(current) = visit.get_untracked() else {
        return;
    };
    leptos::task::spawn_local(async move {
        if let Ok(db) = crate::offline::db().await {
            // Read-modify-write: only the draft's answers and focus come from the
            // screen; sync state and versions stay as the sync engine left them.
            let mut stored = db
                .visit(&user.id, &current.id)
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| current.clone());
            stored.answers = current.answers.clone();
            stored.focus = current.focus.clone();
            stored.updated_at_ms = crate::client::browser::now_ms();
            let _ = db.put_draft(&user.id, &stored).await;
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn autosave(_state: crate::client::ClientState, _visit: RwSignal<Option<LocalVisit>>) {}

/// Explicit save: mutations for every field changed since the last save, written
/// with the draft and the seq counter in one strict transaction.
#[cfg(feature = "hydrate")]
async fn save_visit(
    state: crate::client::ClientState,
    current: LocalVisit,
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
    let mut base = db
        .visit(&user.id, &current.id)
        .await
        .map_err(storage)?
        .unwrap_or_else(|| current.clone());
    base.answers = current.answers.clone();
    base.focus = current.focus.clone();
    let next_seq = db.last_seq(&device).await.map_err(storage)? + 1;
    let mut clock = db.hlc().await.map_err(storage)?;
    let now = crate::client::browser::now_ms();
    let (saved, entries) = local::save(&base, &device, next_seq, &mut clock, now);
    db.save_visit(&user.id, &saved, &entries, &device, clock)
        .await
        .map_err(storage)?;
    Ok(saved)
}

/// The inspector's own visits on this phone, with their sync state.
#[component]
pub fn VisitList() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let visits = LocalResource::new(move || {
        let _ = state.data_version.get();
        let user = state.user.get();
        async move {
            let Some(user) = user else { return Vec::new() };
            load_visits(&user.id).await
        }
    });
    let list = move || {
        let mut v = visits.get().unwrap_or_default();
        v.sort_by_key(|v| std::cmp::Reverse(v.updated_at_ms));
        v
    };
    view! {
        <Show
            when=move || !list().is_empty()
            fallback=move || view! { <p class="empty-state">{move || tr("home.no_visits")}</p> }
        >
            <ul class="list" data-testid="visit-list">
                <For each=list key=|v| (v.id.clone(), v.sync_state.as_str(), v.updated_at_ms) let:v>
                    <li class="list-item" data-testid="visit-item" data-visit-id=v.id.clone() data-sync-state=v.sync_state.as_str()>
                        <a href=format!("/visits/{}", v.id)>
                            <div class="item-title">{crate::format::datetime_vn(v.created_at_ms)}</div>
                            <div class="item-meta">{format!("{} {}", v.answers.len(), tr("home.answers"))}</div>
                        </a>
                        <div class="item-badges">
                            <span class=format!("badge badge-{}", v.sync_state.as_str())>
                                {tr(&format!("sync_state.{}", v.sync_state.as_str()))}
                            </span>
                        </div>
                    </li>
                </For>
            </ul>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
async fn load_visits(user_id: &str) -> Vec<LocalVisit> {
    match crate::offline::db().await {
        Ok(db) => db.visits(user_id).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

#[cfg(not(feature = "hydrate"))]
async fn load_visits(_user_id: &str) -> Vec<LocalVisit> {
    Vec::new()
}
