//! An explicit save writes the visit as it was when the inspector pressed the
//! button, and takes a moment on a slow phone. Whatever they typed, added or
//! removed in that moment must stay on screen: the save's result replacing
//! the screen would take it away, and the next autosave would then write the
//! screen without it.

use super::local::LocalVisit;
use serde_json::Value;
use std::collections::BTreeMap;

/// Puts a finished save on screen (see `after_save`); whether the screen
/// still holds edits the save did not carry. Leaves a screen that has moved
/// on to another visit alone.
#[cfg(feature = "hydrate")]
pub(crate) fn show_saved(
    visit: leptos::prelude::RwSignal<Option<LocalVisit>>,
    saved: LocalVisit,
    began: &LocalVisit,
) -> bool {
    use leptos::prelude::Update;
    let mut edited = false;
    visit.update(|screen| {
        if let Some(s) = screen.as_mut().filter(|s| s.id == saved.id) {
            *s = after_save(saved, began, s);
            edited = s.has_unsaved_changes();
        }
    });
    edited
}

/// The visit the screen shows once a save has written `saved`: the save's
/// state (what was saved, sync state, versions, rows sent) with every edit
/// made on `screen` since the save `began` put back on top, as a draft the
/// next save will carry. `began` is the screen when the save started, which
/// is not always what it saved (the photo field saves a new photo list).
pub fn after_save(saved: LocalVisit, began: &LocalVisit, screen: &LocalVisit) -> LocalVisit {
    let mut out = saved;
    put_back(&mut out.answers, &began.answers, &screen.answers);
    out.focus = screen.focus.clone();
    for row in &screen.rows {
        let before = began.rows.iter().find(|r| r.id == row.id);
        let kept = out.rows.iter_mut().find(|r| r.id == row.id);
        match (before, kept) {
            (Some(before), Some(kept)) => {
                put_back(&mut kept.answers, &before.answers, &row.answers);
                kept.deleted |= row.deleted && !before.deleted;
            }
            // Added while the save ran.
            (None, None) => out.rows.push(row.clone()),
            // Removed before the save, which dropped it (or already taken in).
            _ => {}
        }
    }
    out
}

/// Puts into `into` every answer that changed from `before` to `now`.
fn put_back(
    into: &mut BTreeMap<String, Value>,
    before: &BTreeMap<String, Value>,
    now: &BTreeMap<String, Value>,
) {
    for (key, value) in now {
        if before.get(key) != Some(value) {
            into.insert(key.clone(), value.clone());
        }
    }
    for key in before.keys() {
        if !now.contains_key(key) {
            into.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::visits::local::{save_with, LocalRow, SyncState};
    use crate::sync::Hlc;
    use serde_json::json;

    fn visit() -> LocalVisit {
        let mut v = LocalVisit::new(
            "01900000-0000-7000-8000-000000000001".into(),
            "khuyen-cong".into(),
            1,
            Some("p1".into()),
            None,
            "ksv1".into(),
            1_000,
        );
        v.answers.insert("workforce".into(), json!(25));
        v.answers.insert("main_products".into(), json!("Nồi hơi"));
        v
    }

    fn saved_from(sent: &LocalVisit) -> LocalVisit {
        save_with(sent, "dev", 1, &mut Hlc::default(), 2_000, false).0
    }

    #[test]
    fn with_no_edit_during_the_save_the_screen_shows_what_was_saved() {
        let sent = visit();
        let saved = saved_from(&sent);
        assert_eq!(after_save(saved.clone(), &sent, &sent), saved);
    }

    #[test]
    fn answers_typed_or_cleared_during_the_save_stay_as_a_draft() {
        let sent = visit();
        let saved = saved_from(&sent);
        let mut screen = sent.clone();
        screen.answers.insert("workforce".into(), json!(250));
        screen.answers.insert("owner".into(), json!("Nguyễn Văn A"));
        screen.answers.remove("main_products");
        screen.focus = Some("owner".into());

        let shown = after_save(saved.clone(), &sent, &screen);
        assert_eq!(shown.answers, screen.answers);
        assert_eq!(shown.focus.as_deref(), Some("owner"));
        // What the save wrote stays its base: the next save sends the edits.
        assert_eq!(shown.saved, sent.answers);
        assert_eq!(shown.sync_state, SyncState::Queued);
        assert!(shown.header_sent);
        assert!(shown.has_unsaved_changes());
        let (_, next) = save_with(&shown, "dev", 3, &mut Hlc::default(), 3_000, false);
        let sent_keys: Vec<_> = next
            .iter()
            .flat_map(|e| e.mutation.fields.keys().cloned())
            .collect();
        assert_eq!(sent_keys, ["owner", "workforce", "main_products"]);
    }

    #[test]
    fn what_the_save_changed_itself_is_not_undone_by_the_screen() {
        // The photo field saves the screen with a new photo list; the screen
        // still has the old list, and that is no edit of the inspector's.
        let began = visit();
        let mut sent = began.clone();
        sent.answers.insert("photos".into(), json!(["ph-1"]));
        let saved = saved_from(&sent);
        let mut screen = began.clone();
        screen.answers.insert("workforce".into(), json!(26));

        let shown = after_save(saved, &began, &screen);
        assert_eq!(shown.answers["photos"], json!(["ph-1"]));
        assert_eq!(shown.answers["workforce"], json!(26));
        assert_eq!(shown.saved["workforce"], json!(25));
    }

    #[test]
    fn rows_added_or_removed_during_the_save_stay_and_a_row_removed_before_does_not_come_back() {
        let mut sent = visit();
        let mut kept = LocalRow::new("r-kept".into(), "machines".into(), 1_000);
        kept.answers.insert("name".into(), json!("Máy dệt"));
        let mut removing = LocalRow::new("r-removing".into(), "machines".into(), 1_000);
        removing.answers.insert("name".into(), json!("Máy cưa"));
        let mut gone = LocalRow::new("r-gone".into(), "machines".into(), 1_000);
        gone.deleted = true;
        sent.rows = vec![kept, removing, gone];
        let saved = saved_from(&sent);

        let mut screen = sent.clone();
        screen.rows[0]
            .answers
            .insert("name".into(), json!("Máy dệt kim"));
        screen.rows[1].deleted = true;
        screen
            .rows
            .push(LocalRow::new("r-new".into(), "machines".into(), 2_500));

        let shown = after_save(saved, &sent, &screen);
        let ids: Vec<_> = shown.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r-kept", "r-removing", "r-new"]);
        assert_eq!(shown.rows[0].answers["name"], json!("Máy dệt kim"));
        assert_eq!(shown.rows[0].saved["name"], json!("Máy dệt"));
        assert!(shown.rows[0].header_sent);
        // Sent with its header by the save, so the next save deletes it.
        assert!(shown.rows[1].deleted && shown.rows[1].header_sent);
        assert!(!shown.rows[2].header_sent);
    }
}
