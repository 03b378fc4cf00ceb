//! After the server was restored from a backup (`sync.server_restored`): what
//! the phone sends again. The restored server lacks every change it acknowledged
//! after the backup, and the phone deleted those from its outbox when they were
//! acknowledged. What the phone still holds is each visit's saved state, so the
//! lost changes are rebuilt from it: the difference between what the phone saved
//! and the server's copy, pulled from cursor 0 just before.
//!
//! The rebuilt changes go first, numbered after the last seq the server holds
//! for this device; the outbox's own entries follow, renumbered. Its upserts of
//! visits and rows are left out, as the difference already holds what they
//! would set. Plain Rust, tested natively; `offline::restored` writes it.
//!
//! One file (about 540 lines): what goes again, how "later" is read (written
//! times, versions where a time is missing), photos and the order are one
//! decision per visit and are read together; the tests are in
//! `resend_tests.rs` and `resend_times_tests.rs`.

use super::local::{save_with, LocalRow, LocalVisit, OutboxEntry};
use crate::field::photos::local::{LocalPhoto, UploadState};
use crate::forms::definition::{RESERVED_KEYS, ROW_HEADER_KEYS};
use crate::model::{ReviewState, VisitRecord};
use crate::photos::PhotoStatus;
use crate::sync::{Entity, Hlc, MutationKind};
use serde_json::Value;
use std::collections::BTreeMap;

fn open(state: ReviewState) -> bool {
    matches!(state, ReviewState::InProgress | ReviewState::NeedsChanges)
}

/// Whether the server's copy still takes the inspector's edits.
pub fn takes_edits(server: &VisitRecord) -> bool {
    open(server.review_state) && !server.year_closed
}

/// Whether `local` is this user's to send again. The server's copy names its
/// owner; a visit the server lacks is the user's on an inspector's phone
/// (it pulls only its own), and on the phone of someone who sees every visit
/// only when it was started there.
pub fn is_mine(
    local: &LocalVisit,
    server: Option<&VisitRecord>,
    user: &crate::model::UserInfo,
) -> bool {
    use crate::model::Role;
    match server {
        Some(s) => s.owner_id == user.id,
        None => {
            let sees_all = user.has(Role::Supervisor) || user.has(Role::Administrator);
            !sees_all || local.made_here == Some(true)
        }
    }
}

/// The changes that give the server what this phone saved of `local` and the
/// server's copy (`None`: the server lacks the visit) does not hold, numbered
/// from `next_seq`. `submit_queued_here`: the outbox already holds its submit.
pub fn visit_changes(
    local: &LocalVisit,
    server: Option<&VisitRecord>,
    submit_queued_here: bool,
    device_id: &str,
    next_seq: i64,
    clock: &mut Hlc,
    now_ms: i64,
) -> Vec<OutboxEntry> {
    // Never saved: nothing of it ever left the phone; its own save sends it.
    if !local.header_sent {
        return Vec::new();
    }
    let mut send = local.clone();
    // What was saved, never the draft typed since: a restore does not save
    // for the inspector.
    send.answers = local.saved.clone();
    send.rows = local
        .rows
        .iter()
        .filter(|r| r.header_sent && !r.deleted)
        .map(|r| LocalRow {
            answers: r.saved.clone(),
            ..r.clone()
        })
        .collect();
    match server {
        None => {
            send.saved = cleared(&send.answers, &local.written);
            send.versions = BTreeMap::new();
            send.header_sent = false;
            send.facility_sent = false;
            for row in &mut send.rows {
                row.saved = cleared(&row.answers, &row.written);
                row.versions = BTreeMap::new();
                row.header_sent = false;
            }
        }
        // A copy the inspector may no longer change (submitted, decided, its
        // year closed): the server refuses edits, and what it holds stands.
        Some(s) if !takes_edits(s) => {
            send.saved = send.answers.clone();
            for row in &mut send.rows {
                row.saved = row.answers.clone();
            }
            // Only a facility the server lacks can still matter; it has the visit.
            send.facility_sent = true;
        }
        Some(s) => {
            send.saved = held(
                (&send.answers, &local.versions, &local.written),
                (&s.answers, &s.versions, &s.written),
                Same::SentWhenLaterHere,
            );
            send.versions = s.versions.clone();
            for key in photo_lists_to_send(local, s) {
                match s.answers.get(&key) {
                    Some(theirs) => send.saved.insert(key.clone(), theirs.clone()),
                    None => send.saved.remove(&key),
                };
                send.versions.remove(&key);
            }
            send.facility_sent = true;
            for row in &mut send.rows {
                match s.rows.iter().find(|r| r.id == row.id) {
                    Some(theirs) => {
                        row.saved = held(
                            (&row.answers, &row.versions, &row.written),
                            (&theirs.answers, &theirs.versions, &theirs.written),
                            Same::SentWhenLaterHere,
                        );
                        row.versions = theirs.versions.clone();
                    }
                    None => {
                        row.saved = cleared(&row.answers, &row.written);
                        row.versions = BTreeMap::new();
                        row.header_sent = false;
                    }
                }
            }
        }
    }
    // Finalized here, open there: the submit was lost too. A visit this phone
    // first heard of from a pull is finalized again by the phone that holds
    // its photos, which would be refused once the visit is locked.
    // A finalize the server acknowledged and no pull has shown yet (the
    // outbox no longer holds it, the visit still reads open) was lost too.
    let finalized_here = !open(local.review_state) || local.submit_queued;
    let submit = finalized_here
        && !submit_queued_here
        && local.made_here != Some(false)
        && server.is_none_or(takes_edits);
    let (_, mut entries) = save_with(&send, device_id, next_seq, clock, now_ms, submit);
    for entry in &mut entries {
        if let Some(at) = first_written(local, entry) {
            entry.mutation.hlc = at;
        }
    }
    entries
}

/// When the value a rebuilt change carries was first written on this phone
/// (or pulled): the change goes with that time, not the restore's. Versions
/// start again from the backup's on a restored server, so a second phone of
/// the same inspector recovering later compares these times (`held`); a
/// resend stamped now would look newer than every answer made before it.
fn first_written(local: &LocalVisit, entry: &OutboxEntry) -> Option<Hlc> {
    let m = &entry.mutation;
    if m.kind != MutationKind::Upsert {
        return None;
    }
    let (times, header): (&BTreeMap<String, Hlc>, &[&str]) = match m.entity {
        Entity::Visit => (&local.written, RESERVED_KEYS),
        Entity::VisitRow => {
            let id = m.record_id.to_string();
            let row = local.rows.iter().find(|r| r.id == id)?;
            (&row.written, ROW_HEADER_KEYS)
        }
        _ => return None,
    };
    // `save_with` puts one answer in each change, with the header at most.
    let mut answers = m.fields.keys().filter(|k| !header.contains(&k.as_str()));
    let key = answers.next()?;
    answers
        .next()
        .is_none()
        .then(|| times.get(key).copied())
        .flatten()
}

/// One side's answers, the versions it knows of them, and when each was written.
type Side<'a> = (
    &'a BTreeMap<String, Value>,
    &'a BTreeMap<String, i64>,
    &'a BTreeMap<String, Hlc>,
);

/// What to take as already on the server, key by key, so that `save_with`
/// sends the rest: the server's value where the phone's is the later one,
/// and the phone's own where the server's is (another phone's answer, which
/// this phone never pulled: left as it is, never erased nor overwritten by
/// an older value).
///
/// Which is later: when both sides know when their value was written, the
/// later time. A restored server numbers versions from the backup's again,
/// so two phones of one inspector that both changed an answer after the
/// backup would otherwise each find the other's resend "not newer" and the
/// last to recover would win. Without both times (a visit stored before
/// they were kept), the versions: the server's is later when it is above the
/// one this phone last saw.
///
/// With `Same::SentWhenLaterHere`, an answer the server holds with the same
/// value but written earlier goes too: set back here to what the backup
/// holds, or cleared where it holds nothing. Left out, the server would keep
/// the backup's earlier time, and a sibling phone's change made between the
/// two would look later and be sent over it.
fn held(mine: Side<'_>, theirs: Side<'_>, same: Same) -> BTreeMap<String, Value> {
    // A null the server holds is a cleared answer, as a pull reads it.
    let given =
        |side: &BTreeMap<String, Value>, k: &str| side.get(k).filter(|v| !v.is_null()).cloned();
    mine.0
        .keys()
        .chain(theirs.0.keys())
        .chain(mine.2.keys())
        .filter_map(|k| {
            if later_there(k, mine, theirs) {
                return given(mine.0, k).map(|v| (k.clone(), v));
            }
            let (here, there) = (given(mine.0, k), given(theirs.0, k));
            if same == Same::SentWhenLaterHere
                && here == there
                && written_later_here(k, mine, theirs)
            {
                // Absent, the answer goes; a null, its clearing goes.
                return here.is_none().then(|| (k.clone(), Value::Null));
            }
            there.map(|v| (k.clone(), v))
        })
        .collect()
}

/// Whether `held` also sends an answer whose value the server holds already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Same {
    SentWhenLaterHere,
    Left,
}

/// Whether this phone wrote its value of `key` after the server's was
/// written, or wrote one where the server holds none (not even a clearing).
fn written_later_here(
    key: &str,
    (_, _, my_times): Side<'_>,
    (theirs, _, their_times): Side<'_>,
) -> bool {
    match (my_times.get(key), their_times.get(key)) {
        (Some(here), Some(there)) => here > there,
        (Some(_), None) => !theirs.contains_key(key),
        (None, _) => false,
    }
}

/// For a visit or a row the server lacks: what to take as on the server so
/// that `save_with` sends the answers cleared here too (as nulls, with the
/// time they were cleared), not only those set. A sibling phone's earlier
/// answer must not come back over a later clearing.
fn cleared(
    answers: &BTreeMap<String, Value>,
    written: &BTreeMap<String, Hlc>,
) -> BTreeMap<String, Value> {
    written
        .keys()
        .filter(|k| !answers.contains_key(*k))
        .map(|k| (k.clone(), Value::Null))
        .collect()
}

/// Whether the server's value of `key` is later than this phone's (`held`).
fn later_there(
    key: &str,
    (_, my_versions, my_times): Side<'_>,
    (_, their_versions, their_times): Side<'_>,
) -> bool {
    match (their_times.get(key), my_times.get(key)) {
        (Some(there), Some(here)) => there > here,
        _ => {
            let version = |m: &BTreeMap<String, i64>| m.get(key).copied().unwrap_or(0);
            version(their_versions) > version(my_versions)
        }
    }
}

/// `local` as the phone keeps it when the restored server holds it finalized
/// (or decided) against answers the phone saved later: the corrections made
/// after a send-back the backup lacks. They stay in view as unsent changes,
/// refused with a reason, until a supervisor sends the visit back again;
/// `None` when the server holds everything the phone saved.
pub fn kept_against_locked(local: &LocalVisit, server: &VisitRecord) -> Option<LocalVisit> {
    if takes_edits(server) {
        return None;
    }
    let base = held(
        (&local.saved, &local.versions, &local.written),
        (&server.answers, &server.versions, &server.written),
        Same::Left,
    );
    if base == local.saved {
        return None;
    }
    let mut kept = local.clone();
    kept.saved = base;
    kept.versions = server.versions.clone();
    kept.review_state = server.review_state;
    kept.sync_state = super::local::SyncState::Refused;
    kept.finalize_refused = !open(local.review_state);
    kept.refusal = Some(crate::error::ErrorBody::new(
        super::local::RESTORED_LOCKED,
        "the restored server holds this visit finalized: what was changed here after the backup stays on this phone until a supervisor sends it back",
    ));
    Some(kept)
}

/// What a photo whose bytes are on this phone needs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoResend {
    /// The server holds it (or the phone cannot help: no bytes here).
    Nothing,
    /// The server has its record but not its bytes: upload them again.
    Bytes,
    /// The server lacks it: attach it again, then upload.
    AttachAndBytes,
}

pub fn photo_needs(photo: &LocalPhoto, server: Option<&VisitRecord>) -> PhotoResend {
    if !photo.has_blob || photo.upload.refused {
        return PhotoResend::Nothing;
    }
    match server.and_then(|v| v.photos.iter().find(|p| p.id == photo.id)) {
        None => PhotoResend::AttachAndBytes,
        Some(p) if p.status == PhotoStatus::Waiting && photo.upload.done => PhotoResend::Bytes,
        Some(_) => PhotoResend::Nothing,
    }
}

/// Whether the server holds another caption for a photo, in a visit that
/// still takes edits, written before this phone's: the caption changed after
/// the backup (on this phone, or on the photo's phone whose caption this one
/// took). Where this phone's caption has no time (an older app), the photo's
/// own phone sends it, as before the times.
pub fn caption_lost(photo: &LocalPhoto, server: Option<&VisitRecord>) -> bool {
    let Some(visit) = server.filter(|v| takes_edits(v)) else {
        return false;
    };
    let Some(there) = visit.photos.iter().find(|p| p.id == photo.id) else {
        return false;
    };
    if there.caption == photo.caption {
        return false;
    }
    match (photo.caption_written, there.caption_written) {
        (Some(mine), Some(theirs)) => mine > theirs,
        (Some(_), None) => true,
        (None, _) => photo.has_blob,
    }
}

/// Photos the server's copy of `local` holds that this phone removed (after
/// the backup): those it keeps as removed here, not held, and not named by
/// its saved answer. A photo's removal is final, so no time decides here; and
/// a photo this phone never knew (another phone's, sent again by that phone's
/// recovery) is never taken for one it removed.
pub fn photos_removed<'a>(
    local: &LocalVisit,
    held: &std::collections::BTreeSet<String>,
    server: &'a VisitRecord,
) -> Vec<&'a crate::photos::PhotoRecord> {
    if !takes_edits(server) {
        return Vec::new();
    }
    server
        .photos
        .iter()
        .filter(|p| {
            let named = local
                .saved
                .get(&p.field)
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(p.id.as_str())));
            local.removed_photos.contains(&p.id) && !held.contains(&p.id) && !named
        })
        .collect()
}

/// `local` with its saved photo lists cut to the photos that can be on the
/// restored server: those it holds, and those this phone holds with their
/// bytes (`with_bytes`: it attaches them again). A photo neither has, named
/// in a list here, was taken after the backup on another phone, which
/// either sends it again itself or removed it; a list sent from here naming
/// it would bring back into the answer a photo no record stands behind.
pub fn recoverable_lists(
    local: &LocalVisit,
    server: Option<&VisitRecord>,
    with_bytes: &std::collections::BTreeSet<String>,
) -> LocalVisit {
    let on_server = |id: &str| server.is_some_and(|s| s.photos.iter().any(|p| p.id == id));
    let mut out = local.clone();
    for (key, value) in out.saved.iter_mut() {
        let Some(ids) = value.as_array() else {
            continue;
        };
        if super::refused::is_photo_list(key, value, server) {
            let kept: Vec<Value> = ids
                .iter()
                .filter(|i| {
                    let id = i.as_str().unwrap_or_default();
                    on_server(id) || with_bytes.contains(id)
                })
                .cloned()
                .collect();
            *value = Value::Array(kept);
        }
    }
    out
}

/// Photo fields whose saved list here names a photo the server's list lacks.
/// The server merges a photo list written without its current version as a
/// set (the union less removed photos), so such a list goes again whichever
/// list is later, on no base version: nothing the server's list holds is
/// dropped, and this phone's photos are not left out of the answer.
fn photo_lists_to_send(local: &LocalVisit, server: &VisitRecord) -> Vec<String> {
    let ids = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    local
        .saved
        .iter()
        .filter(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))
        .filter(|(k, v)| super::refused::is_photo_list(k, v, Some(server)))
        .filter(|(k, v)| {
            let theirs = ids(server.answers.get(*k));
            ids(Some(v)).iter().any(|i| !theirs.contains(i))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// The changes that attach `photo` again to a restored server that lacks it.
/// The record goes stamped when the photo was taken (the server orders a
/// field's photos by it), then the caption, stamped when it was written: the
/// server keeps the later of two phones' captions by stamp, and the attach's
/// own would carry the photo's time. Without a caption, the attach alone,
/// at the photo's time: a sibling's caption written since is later. A caption
/// without a time (an older app) goes inside the attach, stamped now, as
/// before the times.
pub fn attach_again(
    photo: &LocalPhoto,
    device_id: &str,
    clock: &mut Hlc,
    now_ms: i64,
) -> Vec<OutboxEntry> {
    use crate::field::photos::local::{attach_entry, change_entry};
    let id = || crate::sync::new_uuid_v7(now_ms);
    match (photo.caption_written, &photo.caption) {
        (Some(written), _) => vec![
            attach_entry(
                photo,
                device_id,
                0,
                Hlc::new(photo.created_at_ms.min(written.ms), 0),
                id(),
            ),
            change_entry(photo, device_id, 0, written, id(), false),
        ],
        (None, None) => vec![attach_entry(
            photo,
            device_id,
            0,
            Hlc::new(photo.created_at_ms, 0),
            id(),
        )],
        (None, Some(_)) => vec![attach_entry(photo, device_id, 0, clock.tick(now_ms), id())],
    }
}

/// The photo as it waits for its bytes to go again: the old upload's URL
/// belonged to the server before the restore.
pub fn upload_again(mut photo: LocalPhoto) -> LocalPhoto {
    photo.upload = UploadState::default();
    photo.server_status = None;
    photo.problem = None;
    photo.warnings.clear();
    photo
}

/// Whether an outbox entry still goes after the rebuilt changes: every entry
/// but the upserts of visits and rows the rebuild covers.
pub fn keep_queued(entry: &OutboxEntry, rebuilt: &std::collections::BTreeSet<String>) -> bool {
    let covered = matches!(entry.mutation.entity, Entity::Visit | Entity::VisitRow)
        && entry.mutation.kind == MutationKind::Upsert
        && rebuilt.contains(&entry.visit_id);
    !covered
}

/// The rebuilt changes, then the kept ones, numbered from `after_seq + 1`.
/// Each rebuilt finalize goes after every other rebuilt change: a visit's
/// photos are attached again before it is locked.
pub fn renumber(
    rebuilt: Vec<OutboxEntry>,
    kept: Vec<OutboxEntry>,
    after_seq: i64,
) -> Vec<OutboxEntry> {
    let (submits, changes): (Vec<_>, Vec<_>) = rebuilt
        .into_iter()
        .partition(|e| e.mutation.kind == MutationKind::Submit);
    changes
        .into_iter()
        .chain(submits)
        .chain(kept)
        .zip(after_seq + 1..)
        .map(|(mut e, seq)| {
            e.mutation.seq = seq;
            e
        })
        .collect()
}

#[cfg(test)]
#[path = "resend_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "resend_times_tests.rs"]
mod times_tests;
