//! Refused visits back into the outbox. The answers of a visit the server
//! refused stay on the phone as unsent changes, outside the outbox; the
//! backup file and the logout's count of unsent work read the outbox only, so
//! both put such visits back into it first (saved again, finalized if the
//! inspector had finalized them).

use crate::error::ErrorBody;

/// `refused` for the account logging out on this phone, before the
/// logout counts what is unsent: the logout clears the session that ties the
/// visits to the account, and a backup made after it (from the login page of
/// an account since deactivated) would lack them. A chunk of its own in a
/// `--split` build (`field_requeue_refused`, precached), outside `/login`'s.
/// Answers what of the account is then still on this device (read here, in
/// the chunk, so the photo records' code stays out of `/login`'s module).
#[cfg_attr(feature = "split", leptos::lazy(field_requeue_refused))]
pub async fn before_logout(user_id: String, device: String) -> Result<Held, ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let db = crate::field::offline::db().await.map_err(storage)?;
    refused(&db, &user_id, &device).await?;
    let locked: std::collections::BTreeSet<String> = db
        .visits(&user_id)
        .await
        .map_err(storage)?
        .into_iter()
        .filter(super::refused::discardable)
        .map(|v| v.id)
        .collect();
    let outbox = db.outbox(&device, u32::MAX).await.map_err(storage)?;
    let live = || outbox.iter().filter(|e| !super::refused::withdrawn(e));
    let photos = db.photos(&user_id, None).await.map_err(storage)?;
    Ok(Held {
        queued: live().count() as u32,
        kept: live().filter(|e| locked.contains(&e.visit_id)).count() as u32,
        // A locked visit's photos wait for a send-back with its changes
        // (`kept`): a logout must not promise them for the next login.
        photos: photos
            .iter()
            .any(|p| p.needs_upload() && !locked.contains(&p.visit_id)),
    })
}

/// What of an account is on this device and not yet on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Changes in the outbox (withdrawn ones aside: `refused::withdraw`).
    pub queued: u32,
    /// Of `queued`, the changes to visits no longer the inspector's to
    /// change (`refused::discardable`): the server refuses them until a
    /// supervisor sends the visit back, so "sent at the next login" would
    /// be untrue of them.
    pub kept: u32,
    /// Whether a photo's bytes still wait to be uploaded (a locked visit's
    /// aside: they wait with its `kept` changes).
    pub photos: bool,
}

/// Saves again, into the outbox, every refused visit that still holds what
/// was refused and is the inspector's to change, or was refused only because
/// another phone finalized it (queued with the visit left as it is, and once
/// until its push is refused again: `writes::queue_kept_as`), or kept
/// against a restored server's finalized copy.
pub async fn refused(
    db: &crate::field::offline::OfflineDb,
    user_id: &str,
    device: &str,
) -> Result<(), ErrorBody> {
    use super::local::SyncState;
    use crate::model::ReviewState;
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    // Kept visits with changes in the outbox already (queued by an earlier
    // logout or backup, not yet refused again): queued once.
    let queued: std::collections::BTreeSet<String> = db
        .outbox(device, u32::MAX)
        .await
        .map_err(storage)?
        .into_iter()
        .map(|e| e.visit_id)
        .collect();
    for visit in db.visits(user_id).await.map_err(storage)? {
        let open = matches!(
            visit.review_state,
            ReviewState::InProgress | ReviewState::NeedsChanges
        );
        // Kept against a visit finalized elsewhere (or held finalized by a
        // restored server): pushed, it is refused and kept again, but the
        // backup file carries it meanwhile.
        let kept = super::refused::locked_out(&visit);
        let kept = kept && !queued.contains(&visit.id);
        if visit.sync_state == SyncState::Refused && visit.has_unsaved_changes() && (open || kept) {
            // Finalized when it was refused: it goes finalized, or an import
            // would leave it in progress, which only its inspector can submit.
            let submit = visit.finalize_refused;
            if open {
                super::writes::save_visit_as(user_id, device, visit, submit).await?;
            } else {
                super::writes::queue_kept_as(user_id, device, visit, submit).await?;
            }
        }
    }
    Ok(())
}

/// Saves, into the outbox, every open visit of `user_id` whose draft holds
/// answers no save has captured (typed and autosaved, "Lưu" never pressed),
/// so that a backup file carries them: the phone's notice counts them as
/// not sent, and the file is how they survive a lost or wiped phone. The
/// save is the one the button makes: a broken answer the form hides goes
/// back to its saved value. A visit with a broken answer on screen cannot
/// be saved as it stands (the server would refuse it whole); it stays as a
/// draft and is counted, for the inspector to fix and back up again.
///
/// A draft the page kept in localStorage as it went away (the last answers
/// typed, not yet in IndexedDB) is taken in first: saved without it, the
/// visit's newer stamp would have thrown it away at its next opening. A
/// visit started and never touched is not sent: it would reach the
/// supervisor's list empty.
pub async fn unsaved(
    db: &crate::field::offline::OfflineDb,
    user_id: &str,
    device: &str,
) -> Result<u32, ErrorBody> {
    use super::local::SyncState;
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let mut left = 0;
    for stored in db.visits(user_id).await.map_err(storage)? {
        let kept = crate::field::unloaded::peek_draft(user_id, &stored.id)
            .filter(|k| stored.lacks_kept_draft(k));
        let visit = match &kept {
            Some(k) => super::local::take_draft(stored, k),
            None => stored,
        };
        let untouched = !visit.header_sent
            && visit.answers.is_empty()
            && visit.rows.iter().all(|r| r.deleted)
            && visit.new_facility.is_empty();
        // Refused visits are `refused`'s: saved again with their refusal's rules.
        if !visit.editable()
            || visit.sync_state == SyncState::Refused
            || !visit.has_unsaved_changes()
            || untouched
        {
            continue;
        }
        let Some(form) = db
            .form(&visit.form_id, visit.form_version)
            .await
            .map_err(storage)?
        else {
            left += 1;
            continue;
        };
        let visit = super::without_hidden_broken(&form, &visit);
        if super::has_invalid_answers(&form, &visit) {
            left += 1;
            continue;
        }
        let id = visit.id.clone();
        super::writes::save_visit_as(user_id, device, visit, false).await?;
        if kept.is_some() {
            crate::field::unloaded::forget_draft(user_id, &id);
        }
    }
    Ok(left)
}
