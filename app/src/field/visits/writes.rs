//! A visit's two writes to IndexedDB, each one transaction that reads what it
//! builds on: the autosave (the draft only) and the explicit save (the draft
//! with its mutations). A pull landing during either is built on, never
//! written over.

use super::local::{self, LocalVisit};
use crate::error::ErrorBody;
use leptos::prelude::*;

/// Writes the draft as the screen has it: the draft's `updated_at_ms` once
/// IndexedDB has it, `None` when there is nothing to write (nobody logged in,
/// the visit gone), and the reason when the write failed (the phone's storage
/// full), so the screen keeps the change as unwritten.
pub(crate) async fn autosave(
    state: crate::field::client::ClientState,
    current: LocalVisit,
) -> Result<Option<i64>, ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let Some(user) = state.user.get_untracked() else {
        return Ok(None);
    };
    let db = crate::field::offline::db().await.map_err(storage)?;
    // Read-modify-write in one transaction: only what the inspector edits
    // comes from the screen; sync state, review state and versions stay as
    // the sync engine left them, even when a pull lands during the write.
    let now = crate::field::client::browser::now_ms();
    let draft = db
        .update_visit(&user.id, &current.id, |stored| {
            let stored = stored.unwrap_or_else(|| current.clone());
            // Each write later than the last, whatever the clock did since.
            let after = stored.updated_at_ms + 1;
            let mut draft = local::take_draft(stored, &current);
            draft.updated_at_ms = now.max(after);
            Some(draft)
        })
        .await
        .map_err(storage)?;
    Ok(draft.map(|d| d.updated_at_ms))
}

/// Explicit save (and with `submit`, finalize): mutations for every field and row
/// changed since the last save, written with the draft and the seq counter in one
/// strict transaction.
pub(crate) async fn save_visit(
    state: crate::field::client::ClientState,
    current: LocalVisit,
    submit: bool,
) -> Result<LocalVisit, ErrorBody> {
    let (user_id, device) = state.who()?;
    save_visit_as(&user_id, &device, current, submit).await
}

/// `save_visit` for a user and device named outright: the backup re-queues
/// refused visits from the login page, where no one is logged in.
pub(crate) async fn save_visit_as(
    user_id: &str,
    device: &str,
    current: LocalVisit,
    submit: bool,
) -> Result<LocalVisit, ErrorBody> {
    write_save(user_id, device, current, submit, false).await
}

/// The mutations `save_visit_as` would queue for a visit whose changes
/// another phone's finalize (or a decision) keeps out, queued with the visit
/// left as it is: refused and discardable, its `saved` still the server's
/// copy. A logout or a backup queues them so the backup file carries them;
/// a save would make them the visit's base, so that a discard after the push
/// is refused again would bring this phone's values back, and would stamp
/// them as written now.
pub(crate) async fn queue_kept_as(
    user_id: &str,
    device: &str,
    current: LocalVisit,
    submit: bool,
) -> Result<LocalVisit, ErrorBody> {
    write_save(user_id, device, current, submit, true).await
}

async fn write_save(
    user_id: &str,
    device: &str,
    current: LocalVisit,
    submit: bool,
    keep_visit: bool,
) -> Result<LocalVisit, ErrorBody> {
    let storage = |e: crate::field::offline::OfflineError| ErrorBody::new(e.code(), e.to_string());
    let (user_id, device) = (user_id.to_string(), device.to_string());
    let db = crate::field::offline::db().await.map_err(storage)?;
    let now = crate::field::client::browser::now_ms();
    // A visit whose creation the server refused (no pull has shown it there)
    // sends its header again at this save; the photos attached to it were
    // refused with it ("visit.unknown"), so they are attached again after it.
    // A visit the server holds, refused later (finalized on another phone
    // until a send-back, a closed year until it reopened), attaches again the
    // photos taken here that the server never took, and removes again those
    // it still holds.
    let refused = current.sync_state == local::SyncState::Refused;
    let held_there = !current.versions.is_empty();
    let photos = if refused {
        let mut photos = db
            .photos(&user_id, Some(&current.id))
            .await
            .map_err(storage)?;
        if held_there {
            photos.retain(|p| p.has_blob && p.server_status.is_none() && !p.upload.done);
        }
        photos
    } else {
        Vec::new()
    };
    // Read and written in one transaction: a pull landing meanwhile is built
    // on, never written over.
    let saved = db
        .save_visit_over(
            &user_id,
            &current.id,
            &device,
            |stored, last_seq, mut clock| {
                let base = local::take_draft(stored.unwrap_or_else(|| current.clone()), &current);
                // What the transaction reads decides, not the screen's copy,
                // which may predate the pull that brought the send-back.
                let again =
                    base.sync_state == local::SyncState::Refused && !base.versions.is_empty();
                let resending = !base.header_sent || again;
                let removals = if again {
                    base.removals_not_taken.clone()
                } else {
                    Vec::new()
                };
                let (saved, mut entries) =
                    local::save_with(&base, &device, last_seq + 1, &mut clock, now, submit);
                // Before a finalize, which locks the visit against them.
                let finalize =
                    entries.pop_if(|e| e.mutation.kind == crate::sync::MutationKind::Submit);
                if resending {
                    for photo in &photos {
                        let seq = last_seq + 1 + entries.len() as i64;
                        entries.push(crate::field::photos::local::attach_entry(
                            photo,
                            &device,
                            seq,
                            clock.tick(now),
                            crate::sync::new_uuid_v7(now),
                        ));
                    }
                }
                for photo_id in &removals {
                    let seq = last_seq + 1 + entries.len() as i64;
                    entries.push(crate::field::photos::local::removal_entry(
                        &current.id,
                        photo_id,
                        &device,
                        seq,
                        clock.tick(now),
                        crate::sync::new_uuid_v7(now),
                    ));
                }
                if let Some(mut submit) = finalize {
                    submit.mutation.seq = last_seq + 1 + entries.len() as i64;
                    entries.push(submit);
                }
                Some((if keep_visit { base } else { saved }, entries, clock))
            },
        )
        .await
        .map_err(storage)?;
    // Their bytes were refused too while the server had no record of them
    // ("refused for good" on this phone): with the record sent again, the
    // upload starts over.
    for photo in photos
        .iter()
        .filter(|p| p.upload.refused || p.upload.error.is_some())
    {
        if !photo.upload.done {
            let fresh = crate::field::photos::local::UploadState::default();
            db.save_upload(&user_id, &photo.id, &fresh)
                .await
                .map_err(storage)?;
        }
    }
    saved.ok_or_else(|| ErrorBody::new("visit.missing", "no visit"))
}
