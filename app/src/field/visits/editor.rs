//! The visit editor: the state of one visit being filled (the visit, its
//! form, the draft's autosave and the explicit save) as a `Copy` handle the
//! page's views share. No markup here.
//!
//! One file (about 465 lines): the autosave, its retry after a failed write
//! and the explicit save share the same generation counter and pending
//! state; apart, each would have to hand the others those signals.

use super::local::{self, LocalVisit};
use super::{has_invalid_answers, missing_for_finalize, now_ms, without_hidden_broken};
use crate::error::ErrorBody;
use crate::field::client::ClientState;
use crate::forms::FormDefinition;
use leptos::prelude::*;

/// The draft is written this long after the last change: typing does not
/// write on every keystroke, and a change is on the phone within a second.
const AUTOSAVE_DELAY_MS: u64 = 600;

/// The longest a change waits while the inspector keeps typing: a quick
/// run through twenty-five fields otherwise wrote nothing until the last
/// pause, and a tab the phone killed meanwhile lost all of them.
const AUTOSAVE_MAX_WAIT_MS: i64 = 3_000;

/// How soon a draft the phone could not store (its storage full) is tried
/// again, until it lands or the inspector frees space and saves.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const AUTOSAVE_RETRY_MS: u64 = 5_000;

#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(super) enum SaveState {
    Idle,
    Saving,
    Saved,
    Error,
}

impl SaveState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            SaveState::Idle => "idle",
            SaveState::Saving => "saving",
            SaveState::Saved => "saved",
            SaveState::Error => "error",
        }
    }
}

/// One visit being edited. Every field is a signal, so the handle is `Copy`
/// and each view reads only what it shows.
#[derive(Clone, Copy)]
pub(super) struct VisitEditor {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    state: ClientState,
    pub visit: RwSignal<Option<LocalVisit>>,
    pub form: RwSignal<Option<FormDefinition>>,
    /// The visit is not on this phone.
    pub missing: RwSignal<bool>,
    pub save_state: RwSignal<SaveState>,
    pub save_error: RwSignal<Option<ErrorBody>>,
    /// Required answers still missing at the last finalize attempt.
    pub incomplete: RwSignal<Vec<String>>,
    /// What the form shows as `data-draft-pending` and `data-draft-saved-at`:
    /// a change not yet in IndexedDB, and the `updated_at_ms` of the last
    /// draft written there (set only once the write has completed).
    pub draft_pending: RwSignal<bool>,
    pub draft_saved_at: RwSignal<Option<i64>>,
    /// Counts the answers that came from elsewhere while the page was open
    /// (another phone's value, a supervisor's decision): the form's inputs
    /// are built once, so the page builds them again to show such a value.
    pub outside_values: RwSignal<u32>,
    autosave_generation: StoredValue<u64>,
    /// When the oldest change not yet written was made (ms), if there is one.
    unsaved_since: StoredValue<Option<i64>>,
    /// The error shown is the draft's failed write (cleared when a retry
    /// lands), not an explicit save's (which stays until the next save).
    draft_failed: StoredValue<bool>,
    pub editable: Memo<bool>,
}

/// The answers an open form shows, of the visit and of its rows.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
type Shown = (
    std::collections::BTreeMap<String, serde_json::Value>,
    Vec<(
        String,
        std::collections::BTreeMap<String, serde_json::Value>,
    )>,
);

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn shown(v: &LocalVisit) -> Shown {
    (
        v.answers.clone(),
        v.rows
            .iter()
            .map(|r| (r.id.clone(), r.answers.clone()))
            .collect(),
    )
}

impl VisitEditor {
    /// Loads the visit named by `visit_id`, and after every sync takes in the
    /// new sync state without touching answers the inspector is typing.
    pub fn new(state: ClientState, visit_id: impl Fn() -> String + Send + Sync + 'static) -> Self {
        let visit = RwSignal::new(None::<LocalVisit>);
        let form = RwSignal::new(None::<FormDefinition>);
        let missing = RwSignal::new(false);
        let outside_values = RwSignal::new(0u32);
        // A sync bumps `data_version` after its push and again after its pull;
        // the read started by the first may finish last.
        let reads = crate::newest::Reads::default();
        Effect::new(move |_| {
            let _ = state.data_version.get();
            let id = visit_id();
            let Some(user) = state.user.get() else { return };
            let read = reads.start();
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                // What the page kept as it went away last time goes first, so
                // the read below shows it. A read started meanwhile (a sync's
                // bump as the page opens) finds the copy being written
                // (`kept_draft` names one writer): it waits for the recovery
                // too, or it would show, and the next autosave write, the
                // visit without it.
                if let Some((kept, text)) = crate::field::unloaded::kept_draft(&user.id, &id) {
                    crate::field::unloaded::recover_draft(state, &user.id, kept, text).await;
                }
                while crate::field::unloaded::recovering() {
                    crate::field::client::browser::sleep_ms(20).await;
                }
                let Ok(db) = crate::field::offline::db().await else {
                    return;
                };
                let found = read.newest(async {
                    let stored = db.visit(&user.id, &id).await.ok().flatten()?;
                    // A read can outlive the page: the form is then gone too.
                    let new_form = match form.try_get_untracked() {
                        Some(None) => db
                            .form(&stored.form_id, stored.form_version)
                            .await
                            .ok()
                            .flatten(),
                        _ => None,
                    };
                    Some((stored, new_form))
                });
                match found.await {
                    None => {}
                    Some(None) => missing.set(true),
                    Some(Some((stored, new_form))) => {
                        if new_form.is_some() {
                            form.set(new_form);
                        }
                        // Answers being typed stay; the rest is the stored copy's.
                        let mut moved = false;
                        visit.update(|current| {
                            let before = current.as_ref().filter(|v| v.id == stored.id).map(shown);
                            match current {
                                Some(v) if v.id == stored.id && v.has_unsaved_changes() => {
                                    *v = local::take_draft(stored, v);
                                }
                                _ => *current = Some(stored),
                            }
                            moved = before.is_some_and(|b| current.as_ref().map(shown) != Some(b));
                        });
                        if moved {
                            super::keep_focus_through_rebuild();
                            outside_values.update(|n| *n += 1);
                        }
                    }
                }
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = (id, user, read);
        });
        let editor = VisitEditor {
            state,
            visit,
            form,
            missing,
            save_state: RwSignal::new(SaveState::Idle),
            save_error: RwSignal::new(None),
            incomplete: RwSignal::new(Vec::new()),
            draft_pending: RwSignal::new(false),
            draft_saved_at: RwSignal::new(None),
            outside_values,
            autosave_generation: StoredValue::new(0),
            unsaved_since: StoredValue::new(None),
            draft_failed: StoredValue::new(false),
            editable: Memo::new(move |_| {
                visit.with(|v| v.as_ref().is_some_and(LocalVisit::editable))
            }),
        };
        editor.flush_when_leaving();
        editor
    }

    /// The last change reaches IndexedDB when the page goes away, or the app
    /// is hidden (the camera, a call, the home screen), or the tab is closed.
    fn flush_when_leaving(self) {
        on_cleanup(move || self.flush_draft());
        // The write may go with the page (a reload, a closed tab); what it
        // writes is kept in localStorage too until it has landed.
        #[cfg(feature = "hydrate")]
        crate::field::client::browser::on_leaving(move || {
            self.keep_unwritten();
            self.flush_draft();
        });
    }

    #[cfg(feature = "hydrate")]
    fn keep_unwritten(self) {
        if self.draft_pending.try_get_untracked() != Some(true) {
            return;
        }
        if let (Some(user), Some(Some(current))) = (
            self.state.user.get_untracked(),
            self.visit.try_get_untracked(),
        ) {
            crate::field::unloaded::keep_draft(&user.id, &current);
        }
    }

    /// Autosave: the draft only, within a second of the last change.
    fn schedule_autosave(self) {
        self.save_state.set(SaveState::Idle);
        self.draft_failed.set_value(false);
        // The wait starts at the first change since the last write: a
        // stale start (a save that wrote without the timer) would write at
        // once.
        if !self.draft_pending.get_untracked() {
            self.unsaved_since.set_value(None);
        }
        self.draft_pending.set(true);
        self.autosave_generation.update_value(|g| *g += 1);
        let generation = self.autosave_generation.get_value();
        let now = now_ms();
        let since = *self.unsaved_since.get_value().get_or_insert(now);
        if now - since >= AUTOSAVE_MAX_WAIT_MS {
            self.write_draft(generation);
            return;
        }
        self.unsaved_since.set_value(Some(since));
        set_timeout(
            move || {
                if self.autosave_generation.try_get_value() == Some(generation) {
                    self.write_draft(generation);
                }
            },
            std::time::Duration::from_millis(AUTOSAVE_DELAY_MS),
        );
    }

    /// Writes a change still waiting for its autosave at once, because the
    /// page is going: to another page (its timer would find the page gone), or
    /// behind the camera or the home screen, where the phone may freeze the
    /// timer or close the tab.
    fn flush_draft(self) {
        if self.draft_pending.try_get_untracked() != Some(true) {
            return;
        }
        // The timer's write is no longer needed.
        self.autosave_generation.try_update_value(|g| *g += 1);
        if let Some(generation) = self.autosave_generation.try_get_value() {
            self.write_draft(generation);
        }
    }

    /// Writes the draft as the screen has it now; `generation` is the change
    /// it covers, so a later change keeps the form marked pending.
    fn write_draft(self, generation: u64) {
        let Some(Some(current)) = self.visit.try_get_untracked() else {
            return;
        };
        // The next change starts the wait anew.
        self.unsaved_since.try_set_value(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let visit_id = current.id.clone();
            let kept = current.clone();
            let saved_at = match super::writes::autosave(self.state, current).await {
                Ok(at) => at,
                Err(body) => {
                    // Not written (the phone's storage full): the change stays
                    // pending, is kept in localStorage so a reload or a killed
                    // tab still has it, the inspector is told, and the write is
                    // tried again.
                    if let Some(user) = self.state.user.get_untracked() {
                        crate::field::unloaded::keep_draft(&user.id, &kept);
                    }
                    // An explicit save's own error stays as it is: it is what
                    // the inspector must act on, and this write landing later
                    // does not make that save happen.
                    if self.save_state.try_get_untracked() != Some(SaveState::Error) {
                        self.save_error.try_set(Some(body));
                        self.save_state.try_set(SaveState::Error);
                        self.draft_failed.try_set_value(true);
                    }
                    set_timeout(
                        move || {
                            if self.autosave_generation.try_get_value() == Some(generation) {
                                self.write_draft(generation);
                            }
                        },
                        std::time::Duration::from_millis(AUTOSAVE_RETRY_MS),
                    );
                    return;
                }
            };
            if let Some(at) = saved_at {
                self.draft_saved_at.try_set(Some(at));
                // The draft write that failed before has now landed.
                if self.draft_failed.try_get_value() == Some(true) {
                    self.draft_failed.try_set_value(false);
                    self.save_state.try_set(SaveState::Idle);
                    self.save_error.try_set(None);
                }
            }
            // A change made during the write has its own autosave coming.
            if self.autosave_generation.try_get_value() == Some(generation) {
                self.draft_pending.try_set(false);
                if let (Some(_), Some(user)) = (saved_at, self.state.user.get_untracked()) {
                    crate::field::unloaded::forget_draft(&user.id, &visit_id);
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (current, generation);
    }

    pub fn set_answer(self, (key, value): (String, Option<serde_json::Value>)) {
        self.visit.update(|v| {
            if let Some(v) = v {
                match value {
                    Some(value) => v.answers.insert(key.clone(), value),
                    None => v.answers.remove(&key),
                };
                v.focus = Some(key.clone());
            }
        });
        self.schedule_autosave();
    }

    pub fn set_row_answer(self, (row_id, key, value): (String, String, Option<serde_json::Value>)) {
        self.visit.update(|v| {
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
        self.schedule_autosave();
    }

    pub fn add_row(self, group: String) {
        let now = now_ms();
        let id = local::new_uuid_v7(now).to_string();
        self.visit.update(|v| {
            if let Some(v) = v {
                v.rows.push(local::LocalRow::new(id.clone(), group, now));
                v.focus = Some(format!("{id}/"));
            }
        });
        self.schedule_autosave();
    }

    pub fn remove_row(self, row_id: String) {
        self.visit.update(|v| {
            if let Some(row) = v
                .as_mut()
                .and_then(|v| v.rows.iter_mut().find(|r| r.id == row_id))
            {
                row.deleted = true;
            }
        });
        self.schedule_autosave();
    }

    /// Explicit save, and with `submit` finalize: refused on the phone while an
    /// answer breaks a rule or (finalizing) a required answer is missing.
    pub fn save(self, submit: bool) {
        // A double tap: the first tap's save is under way (a second submit
        // would reach the server as a refused transition).
        if self.save_state.get_untracked() == SaveState::Saving {
            return;
        }
        let Some(current) = self.visit.get_untracked() else {
            return;
        };
        let Some(def) = self.form.get_untracked() else {
            return;
        };
        let current = without_hidden_broken(&def, &current);
        if self.visit.with_untracked(|v| v.as_ref() != Some(&current)) {
            self.visit.set(Some(current.clone()));
        }
        if has_invalid_answers(&def, &current) {
            self.save_state.set(SaveState::Error);
            self.save_error.set(Some(ErrorBody::new(
                "form.fix_errors",
                "fix the marked fields first",
            )));
            return;
        }
        if submit {
            let gaps = missing_for_finalize(&def, &current);
            self.incomplete.set(gaps.clone());
            if !gaps.is_empty() {
                self.save_state.set(SaveState::Error);
                self.save_error.set(Some(ErrorBody::new(
                    "visit.incomplete_local",
                    "required answers are missing",
                )));
                return;
            }
        }
        self.save_state.set(SaveState::Saving);
        self.draft_failed.set_value(false);
        self.save_error.set(None);
        // The save writes everything the screen holds now: an autosave still
        // waiting for its timer would only write it again, later, possibly
        // after the sync this save starts has pulled the visit back.
        self.autosave_generation.update_value(|g| *g += 1);
        self.unsaved_since.set_value(None);
        let generation = self.autosave_generation.get_value();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let state = self.state;
            match super::writes::save_visit(state, current.clone(), submit).await {
                Ok(saved) => {
                    let edited = super::during_save::show_saved(self.visit, saved, &current);
                    if self.autosave_generation.try_get_value() == Some(generation) {
                        self.draft_pending.set(false);
                        if let Some(user) = state.user.get_untracked() {
                            crate::field::unloaded::forget_draft(&user.id, &current.id);
                        }
                    }
                    // An edit made during the save has its autosave coming.
                    self.save_state.set(if edited {
                        SaveState::Idle
                    } else {
                        SaveState::Saved
                    });
                    state.bump();
                    crate::field::client::request_sync(state);
                }
                Err(body) => {
                    self.save_state.set(SaveState::Error);
                    self.save_error.set(Some(body));
                    // The autosave this save replaced still owes the draft.
                    if self.autosave_generation.try_get_value() == Some(generation) {
                        self.write_draft(generation);
                    }
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = generation;
    }
}
