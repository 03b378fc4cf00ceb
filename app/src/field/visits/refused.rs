//! A visit whose changes the server refused, taken in from the server's copy.
//! The refused changes are rebased on it, so the save that follows (after a
//! closed year reopens, after a send-back of a visit another phone
//! finalized) sends only what this phone changed and clears nothing another
//! phone wrote meanwhile. Changes no save can send (the visit is no longer
//! the inspector's to change) can be discarded instead. Pure logic, tested
//! natively (`locked_tests.rs`).

use super::local::{
    given, row_from_server, LocalVisit, OutboxEntry, SyncState, LOCKED, RESTORED_LOCKED,
};
use crate::field::photos::local::LocalPhoto;
use crate::model::VisitRecord;
use crate::sync::Hlc;
use serde_json::Value;
use std::collections::BTreeMap;

/// `visit` on the server's copy, which becomes the base of its refused
/// changes. An answer this phone wrote later than the server's, or edited
/// since its last save, stays; any other is the server's. A photo list is the
/// server's less the photos removed here, with this phone's. Rows alike: a
/// row the server holds is rebased, one added there comes in, one added here
/// stays, one deleted here stays deleted (its deletion goes again), and one
/// the server no longer holds that this phone had from it goes.
pub fn rebase(visit: &mut LocalVisit, server: &VisitRecord) {
    let theirs = given(&server.answers);
    let mine = std::mem::take(&mut visit.answers);
    visit.answers = rebased(
        (&mine, &visit.saved, &visit.written),
        (&theirs, &server.written),
    );
    for (key, value) in &theirs {
        let Value::Array(there) = value else {
            continue;
        };
        if !is_photo_list(key, value, Some(server)) {
            continue;
        }
        let removed = |id: &Value| {
            id.as_str()
                .is_some_and(|id| visit.removed_photos.iter().any(|r| r == id))
        };
        let mut list: Vec<Value> = there.iter().filter(|id| !removed(id)).cloned().collect();
        if let Some(Value::Array(here)) = mine.get(key) {
            for id in here {
                if !list.contains(id) {
                    list.push(id.clone());
                }
            }
        }
        if list.is_empty() {
            visit.answers.remove(key);
        } else {
            visit.answers.insert(key.clone(), Value::Array(list));
        }
    }
    let mut rows = Vec::with_capacity(visit.rows.len());
    for mut row in std::mem::take(&mut visit.rows) {
        match server.rows.iter().find(|r| r.id == row.id) {
            Some(there) => {
                let theirs = given(&there.answers);
                if !row.deleted {
                    row.answers = rebased(
                        (&row.answers, &row.saved, &row.written),
                        (&theirs, &there.written),
                    );
                }
                row.saved = theirs;
                row.written = there.written.clone();
                rows.push(row);
            }
            // Added here; one the server had and holds no more was deleted there.
            None if row.versions.is_empty() => rows.push(row),
            None => {}
        }
    }
    for there in &server.rows {
        if !rows.iter().any(|r| r.id == there.id) {
            let mut row = row_from_server(there);
            row.deleted = visit.removed_rows.contains(&there.id);
            rows.push(row);
        }
    }
    visit.rows = rows;
    visit.saved = theirs;
    visit.written = server.written.clone();
}

type Side<'a> = (
    &'a BTreeMap<String, Value>,
    &'a BTreeMap<String, Value>,
    &'a BTreeMap<String, Hlc>,
);

/// Per key, this phone's answer where it wrote it later than the server's
/// (or edited it since its last save), else the server's.
fn rebased(
    (mine, saved, written): Side<'_>,
    (theirs, their_times): (&BTreeMap<String, Value>, &BTreeMap<String, Hlc>),
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for key in mine.keys().chain(theirs.keys()) {
        let edited = mine.get(key) != saved.get(key);
        let value = match (written.get(key), their_times.get(key)) {
            _ if edited => mine.get(key),
            (Some(here), Some(there)) if here > there => mine.get(key),
            (Some(_), None) => mine.get(key),
            // Kept before the times were: this phone's, where it has one.
            (None, None) => mine.get(key).or(theirs.get(key)),
            _ => theirs.get(key),
        };
        if let Some(value) = value {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

/// Whether the phone's copy holds answers or rows the server's lacks. Lists
/// compare as sets: the server keeps a photo field's ids in its own order.
pub fn holds_more_than(visit: &LocalVisit, server: &VisitRecord) -> bool {
    let differ = |mine: &BTreeMap<String, Value>, theirs: &BTreeMap<String, Value>| {
        let settled = |answers: &BTreeMap<String, Value>| {
            let mut kept = given(answers);
            for value in kept.values_mut() {
                if let Value::Array(items) = value {
                    items.sort_by_key(|v| v.to_string());
                }
            }
            kept
        };
        settled(mine) != settled(theirs)
    };
    differ(&visit.answers, &server.answers)
        || visit
            .rows
            .iter()
            .any(|row| match server.rows.iter().find(|s| s.id == row.id) {
                Some(theirs) => row.deleted || differ(&row.answers, &theirs.answers),
                None => !row.deleted,
            })
}

/// Whether `value`, the answer to `key`, is a photo field's list of photo
/// IDs: the server holds a photo of that field, or it is a non-empty list of
/// UUIDs only (photos the server never took). The phone keeps no form beside
/// its copy of a visit to look the field up in.
pub fn is_photo_list(key: &str, value: &Value, server: Option<&VisitRecord>) -> bool {
    let Some(ids) = value.as_array() else {
        return false;
    };
    server.is_some_and(|s| s.photos.iter().any(|p| p.field == key))
        || (!ids.is_empty()
            && ids
                .iter()
                .all(|i| i.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())))
}

/// Notes which photos removed here `server` still holds: their removal was
/// refused with the visit, or is still queued. Their ids go again at the
/// next save after a send-back; their records let a discard show them again.
pub fn hold_removed(visit: &mut LocalVisit, server: &VisitRecord) {
    visit.removed_held = server
        .photos
        .iter()
        .filter(|p| visit.removed_photos.contains(&p.id))
        .map(LocalPhoto::from_server)
        .collect();
    visit.removals_not_taken = visit.removed_held.iter().map(|p| p.id.clone()).collect();
}

/// Whether the inspector may discard what `visit` keeps: changes the server
/// refused because the visit is no longer theirs to change (finalized on
/// another phone, decided, or held finalized by a restored server), so no
/// save sends them until a send-back, and a logout counts them meanwhile.
pub fn discardable(visit: &LocalVisit) -> bool {
    visit.sync_state == SyncState::Refused && locked_out(visit) && !visit.editable()
}

/// Whether `visit` was refused because it is no longer the inspector's to
/// change: finalized on another phone or decided (`visit.locked`), or held
/// finalized by a restored server (`sync.restored_before_send_back`).
pub fn locked_out(visit: &LocalVisit) -> bool {
    visit.refused_for(LOCKED) || visit.refused_for(RESTORED_LOCKED)
}

/// What a discard of `visit`'s kept changes drops, for its confirmation:
/// answers, rows and photo removals, and photos taken here that the server
/// never took (of `photos`, this visit's records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub changes: usize,
    pub photos: usize,
}

pub fn kept(visit: &LocalVisit, photos: &[LocalPhoto]) -> Kept {
    let photo_list = |key: &str| {
        [visit.answers.get(key), visit.saved.get(key)]
            .into_iter()
            .flatten()
            .any(|v| is_photo_list(key, v, None))
    };
    let answers = visit
        .answers
        .keys()
        .chain(
            visit
                .saved
                .keys()
                .filter(|k| !visit.answers.contains_key(*k)),
        )
        .filter(|k| visit.answers.get(*k) != visit.saved.get(*k) && !photo_list(k))
        .count();
    let rows = visit
        .rows
        .iter()
        .filter(|r| match (r.versions.is_empty(), r.deleted) {
            (true, deleted) => !deleted,
            (false, true) => true,
            (false, false) => r.answers != r.saved,
        })
        .count();
    Kept {
        changes: answers + rows + visit.removals_not_taken.len(),
        photos: photos
            .iter()
            .filter(|p| p.visit_id == visit.id && never_taken(p))
            .count(),
    }
}

/// A photo of a refused visit that the server never listed: a discard
/// deletes it with its bytes.
pub fn never_taken(photo: &LocalPhoto) -> bool {
    photo.server_status.is_none()
}

/// `visit` back to the server's copy, its kept changes dropped: answers and
/// rows as last pulled, rows added here gone, deletions and photo removals
/// undone. Answers the records of the server's photos removed here, which
/// the phone shows again.
pub fn discard(visit: &mut LocalVisit) -> Vec<LocalPhoto> {
    visit.answers = visit.saved.clone();
    visit.rows.retain(|r| !r.versions.is_empty());
    // In the server's order (`store::visits`), which a rebase appending the
    // other phone's rows after this phone's does not keep.
    visit
        .rows
        .sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
    for row in &mut visit.rows {
        row.answers = row.saved.clone();
        row.deleted = false;
    }
    visit.removed_rows.clear();
    let not_taken = std::mem::take(&mut visit.removals_not_taken);
    visit.removed_photos.retain(|id| !not_taken.contains(id));
    visit.refusal = None;
    visit.finalize_refused = false;
    visit.submit_queued = false;
    visit.sync_state = if visit.lost_fields.is_empty() {
        SyncState::Synced
    } else {
        SyncState::Conflict
    };
    std::mem::take(&mut visit.removed_held)
        .into_iter()
        .filter(|p| not_taken.contains(&p.id))
        .collect()
}

/// `entry`, of a visit whose kept changes were discarded, made a change of
/// nothing: a visit upsert without fields, under the same seq. The outbox
/// may hold what a logout or a backup queued of it, and taking entries out
/// would leave a gap in the device's seqs, which the server refuses. Sent
/// after a send-back it is applied as nothing (and brings the visit into the
/// next pull); while the visit is locked it is refused, and the refusal is
/// the visit's no more (`discarded_through`).
pub fn withdraw(entry: &mut OutboxEntry) {
    let m = &mut entry.mutation;
    m.kind = crate::sync::MutationKind::Upsert;
    m.entity = crate::sync::Entity::Visit;
    m.fields.clear();
    m.base_version = 0;
    if let Ok(id) = uuid::Uuid::parse_str(&entry.visit_id) {
        m.record_id = id;
    }
}

/// Whether `entry` is a withdrawn change (`withdraw`): nothing of it counts
/// as unsent work.
pub fn withdrawn(entry: &OutboxEntry) -> bool {
    let m = &entry.mutation;
    m.kind == crate::sync::MutationKind::Upsert
        && m.entity == crate::sync::Entity::Visit
        && m.fields.is_empty()
}

#[cfg(test)]
#[path = "locked_tests.rs"]
mod locked_tests;
