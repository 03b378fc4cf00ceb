//! What a page had not yet written to IndexedDB when it went away: a visit's
//! draft, a photo's caption. Both wait 600 ms after the last keystroke; a
//! reload or a closed tab in that time starts an IndexedDB write in `pagehide`
//! that the browser drops with the page, and the last answer or caption was
//! lost. localStorage writes at once, so the page also keeps the text there as
//! it is hidden or unloaded. The next time the visit (or the photo) shows, it
//! is written to IndexedDB as its own write would have been, and a completed
//! write forgets it: what is kept never outlives its change.

use crate::field::client::browser;
use crate::field::visits::local::LocalVisit;
use leptos::prelude::*;

fn key(user_id: &str, visit_id: &str) -> String {
    format!("khaosat.unloaded-draft.{user_id}.{visit_id}")
}

fn caption_key(photo_id: &str) -> String {
    format!("khaosat.unloaded-caption.{photo_id}")
}

/// Keeps the screen's draft of `visit` until IndexedDB has it, stamped with
/// the time it was kept.
pub(crate) fn keep_draft(user_id: &str, visit: &LocalVisit) {
    let mut kept = visit.clone();
    kept.updated_at_ms = browser::now_ms();
    if let Ok(json) = serde_json::to_string(&kept) {
        browser::local_storage_set(&key(user_id, &kept.id), &json);
    }
}

/// The draft kept for this visit, if any; it is forgotten as it is taken, so
/// only one reader writes it.
pub(crate) fn take_draft(user_id: &str, visit_id: &str) -> Option<LocalVisit> {
    let json = browser::local_storage_take(&key(user_id, visit_id))?;
    serde_json::from_str(&json).ok()
}

/// IndexedDB has the screen's draft: nothing kept is needed any more.
pub(crate) fn forget_draft(user_id: &str, visit_id: &str) {
    browser::local_storage_remove(&key(user_id, visit_id));
}

/// A kept draft, written to IndexedDB as its autosave would have been. Not
/// into a visit that has left the inspector's hands since (submitted, its
/// year closed).
pub(crate) async fn recover_draft(state: crate::field::client::ClientState, kept: LocalVisit) {
    let Some(user) = state.user.get_untracked() else {
        return;
    };
    let Ok(db) = crate::field::offline::db().await else {
        keep_draft(&user.id, &kept);
        return;
    };
    let now = crate::field::client::browser::now_ms();
    let written = db.update_visit(&user.id, &kept.id, |stored| {
        let stored = stored.filter(|s| s.lacks_kept_draft(&kept))?;
        let mut draft = crate::field::visits::local::take_draft(stored, &kept);
        draft.updated_at_ms = now;
        Some(draft)
    });
    match written.await {
        // A read started meanwhile may have missed it.
        Ok(Some(_)) => state.bump(),
        Ok(None) => {}
        // Not written (the phone still full): kept again for the next try,
        // rather than lost with the copy taken out of localStorage.
        Err(_) => keep_draft(&user.id, &kept),
    }
}

/// Keeps a caption's text (as typed) until IndexedDB has it, with the caption
/// it replaces (`from`, as last written): it is written later only over that
/// one, so it never undoes a caption written after it was kept.
pub(crate) fn keep_caption(photo_id: &str, from: Option<&str>, text: &str) {
    // A text input holds no line break, so the first one separates the two.
    let value = format!("{}\n{text}", from.unwrap_or_default());
    browser::local_storage_set(&caption_key(photo_id), &value);
}

/// The caption kept for this photo, `(from, text)`, forgotten as it is taken.
pub(crate) fn take_caption(photo_id: &str) -> Option<(String, String)> {
    let value = browser::local_storage_take(&caption_key(photo_id))?;
    let (from, text) = value.split_once('\n')?;
    Some((from.to_string(), text.to_string()))
}

/// IndexedDB has the caption (or the photo is gone).
pub(crate) fn forget_caption(photo_id: &str) {
    browser::local_storage_remove(&caption_key(photo_id));
}
