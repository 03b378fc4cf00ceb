//! A visit whose changes the server refused, taken in from the server's copy.
//! The refused changes are rebased on it, so the save that follows (after a
//! closed year reopens, after a send-back of a visit another phone
//! finalized) sends only what this phone changed and clears nothing another
//! phone wrote meanwhile. Pure logic, tested natively (`locked_tests.rs`).

use super::local::{given, row_from_server, LocalVisit};
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

#[cfg(test)]
#[path = "locked_tests.rs"]
mod locked_tests;
