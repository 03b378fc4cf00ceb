//! What a page had not yet written to IndexedDB when it went away: a visit's
//! draft, a photo's caption. Both wait 600 ms after the last keystroke; a
//! reload or a closed tab in that time starts an IndexedDB write in `pagehide`
//! that the browser drops with the page, and the last answer or caption was
//! lost. localStorage writes at once, so the page also keeps the text there as
//! it is hidden or unloaded. The next time the visit (or the photo) shows, it
//! is written to IndexedDB as its own write would have been, and a completed
//! write forgets it: what is kept never outlives its change, and never goes
//! before IndexedDB has it.

use crate::field::client::browser;
use crate::field::visits::local::LocalVisit;

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
    // Later than what the screen last wrote even when the clock went back
    // since (a network time correction): compared by stamp, a kept draft
    // stamped before that write was thrown away on the next open.
    kept.updated_at_ms = browser::now_ms().max(visit.updated_at_ms + 1);
    if let Ok(json) = serde_json::to_string(&kept) {
        browser::local_storage_set(&key(user_id, &kept.id), &json);
    }
}

thread_local! {
    /// Kept drafts a `recover_draft` of this page is writing: one writer each,
    /// and reads of a visit wait until none is left (`recovering`).
    /// A second write of the same copy, queued behind a pull that changed the
    /// visit, would find it missing again and put the old screen back.
    static RECOVERING: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The draft kept for this visit, if any and not already being written by
/// this page, with its text as kept; `recover_draft` must follow. It stays in
/// localStorage until written: taken out before the write, it was lost to a
/// reload or a closed tab while the write ran (a full phone's write fails,
/// and a reload then is what an inspector tries).
pub(crate) fn kept_draft(user_id: &str, visit_id: &str) -> Option<(LocalVisit, String)> {
    let key = key(user_id, visit_id);
    let json = browser::local_storage_get(&key)?;
    let Ok(visit) = serde_json::from_str(&json) else {
        // Not a draft this app can read: nothing to recover.
        browser::local_storage_remove(&key);
        return None;
    };
    let first = RECOVERING.with(|r| {
        let mut writing = r.borrow_mut();
        let first = !writing.contains(&key);
        if first {
            writing.push(key);
        }
        first
    });
    first.then_some((visit, json))
}

/// The draft kept for this visit, read only: for a backup, which saves it
/// (and then `forget_draft`s it) without the editor open.
pub(crate) fn peek_draft(user_id: &str, visit_id: &str) -> Option<LocalVisit> {
    serde_json::from_str(&browser::local_storage_get(&key(user_id, visit_id))?).ok()
}

/// A kept draft is being written back: a read now would miss it.
pub(crate) fn recovering() -> bool {
    RECOVERING.with(|r| !r.borrow().is_empty())
}

/// IndexedDB has the screen's draft: nothing kept is needed any more.
pub(crate) fn forget_draft(user_id: &str, visit_id: &str) {
    browser::local_storage_remove(&key(user_id, visit_id));
}

/// A kept draft (`kept_draft`), written to IndexedDB as its autosave would
/// have been. Not into a visit that has left the inspector's hands since
/// (submitted, its year closed). Forgotten once written, unless the page kept
/// a newer one meanwhile.
pub(crate) async fn recover_draft(
    state: crate::field::client::ClientState,
    user_id: &str,
    kept: LocalVisit,
    kept_text: String,
) {
    write_kept(state, user_id, &kept, &kept_text).await;
    let done = key(user_id, &kept.id);
    RECOVERING.with(|r| r.borrow_mut().retain(|k| *k != done));
}

async fn write_kept(
    state: crate::field::client::ClientState,
    user_id: &str,
    kept: &LocalVisit,
    kept_text: &str,
) {
    let Ok(db) = crate::field::offline::db().await else {
        return;
    };
    let now = crate::field::client::browser::now_ms();
    let written = db.update_visit(user_id, &kept.id, |stored| {
        let stored = stored.filter(|s| s.lacks_kept_draft(kept))?;
        let after = stored.updated_at_ms.max(kept.updated_at_ms) + 1;
        let mut draft = crate::field::visits::local::take_draft(stored, kept);
        draft.updated_at_ms = now.max(after);
        Some(draft)
    });
    let forget = || browser::local_storage_remove_if(&key(user_id, &kept.id), kept_text);
    match written.await {
        // A read started meanwhile may have missed it.
        Ok(Some(_)) => {
            forget();
            state.bump();
        }
        // Written already, or the visit takes no draft any more.
        Ok(None) => forget(),
        // Not written (the phone still full): still kept for the next try.
        Err(_) => {}
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
