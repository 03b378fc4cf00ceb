//! Validation and application of one mutation, per entity. A refusal is
//! `Ok(Err(body))`: stored with its reason, and the device's queue moves on. An
//! `Err` is a failure of ours and aborts the whole batch.
//!
//! Per mutation the server checks types, ranges, lengths and ownership; required
//! and conditional rules wait for `submit` (an inspector may save half a form).

use super::merge::{merge_field, Outcome, Write};
use super::{catalog, changes, col, forms, now_ms, review, units, Tx};
use crate::error::{AppError, ErrorBody};
use crate::forms::{definition::RESERVED_KEYS, rules, FieldType, FormDefinition};
use crate::model::{ReviewState, Role, UserInfo};
use crate::sync::{Entity, Hlc, Mutation, MutationKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// The columns of a buffered mutation-log row.
pub const MUTATION_COLUMNS: &[&str] = &[
    "mutation_id",
    "device_id",
    "seq",
    "entity",
    "record_id",
    "kind",
    "fields",
    "hlc",
    "original_hlc",
    "base_version",
    "status",
    "error",
    "received_at",
];

pub use crate::forms::definition::ROW_HEADER_KEYS;

/// What a phone needs to hear about an applied mutation.
pub struct Applied {
    /// Fields where a concurrent value from another phone won.
    pub lost: Vec<String>,
}

pub type Verdict = Result<Applied, ErrorBody>;

/// The author of a mutation: the device's owner (also during an import made by a
/// supervisor) and the device that made it; and the change-log entries the batch
/// owes, written once per record when the batch ends (a phone pulls a record's
/// current state, so one entry per record and batch is enough).
pub struct Author<'a> {
    pub user: &'a UserInfo,
    pub device_id: &'a str,
    pub changes: std::sync::Mutex<Vec<changes::Entry>>,
    /// Form versions are immutable: parse each once per batch, not per mutation.
    forms: std::sync::Mutex<BTreeMap<(String, i64), std::sync::Arc<FormDefinition>>>,
    /// Field-history and mutation-log rows, written together before commit.
    pub history: super::rows::Buffer,
    pub log: super::rows::Buffer,
    heads: std::sync::Mutex<std::collections::HashMap<String, VisitHead>>,
}

impl<'a> Author<'a> {
    pub fn new(user: &'a UserInfo, device_id: &'a str) -> Self {
        Author {
            user,
            device_id,
            changes: Default::default(),
            forms: Default::default(),
            history: super::rows::Buffer::new("field_history", super::merge::HISTORY_COLUMNS),
            log: super::rows::Buffer::new("mutations", MUTATION_COLUMNS),
            heads: Default::default(),
        }
    }

    fn change(&self, entity: &str, id: &str, path: Option<&str>, owner: Option<&str>) {
        let entry = changes::Entry {
            entity: entity.to_string(),
            record_id: id.to_string(),
            unit_path: path.map(str::to_string),
            owner_id: owner.map(str::to_string),
        };
        let mut pending = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = pending.iter().position(|e| *e == entry) {
            pending.remove(i);
        }
        pending.push(entry);
    }

    /// Writes the buffered history and mutation rows and the deferred change-log
    /// entries (call before commit).
    pub async fn flush(&self, tx: &mut Tx) -> Result<(), AppError> {
        self.history.flush(tx).await?;
        self.log.flush(tx).await?;
        self.flush_changes(tx).await
    }

    async fn flush_changes(&self, tx: &mut Tx) -> Result<(), AppError> {
        let pending = std::mem::take(&mut *self.changes.lock().unwrap_or_else(|p| p.into_inner()));
        changes::append_many(tx, &pending).await
    }
}

fn refuse(code: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(code, message)
}

pub async fn apply(
    tx: &mut Tx,
    who: &Author<'_>,
    m: &Mutation,
    hlc: Hlc,
) -> Result<Verdict, AppError> {
    if let Some(field) = nul_in(&m.fields) {
        // PostgreSQL cannot store U+0000 in text; SQLite could, but a record
        // that only one engine holds would break a move or a restore.
        return Ok(Err(refuse(
            "text.nul",
            format!("\"{field}\" contains the NUL character (U+0000), which text may not hold"),
        )
        .with("field", field)));
    }
    match m.entity {
        Entity::Visit => visit(tx, who, m, hlc).await,
        Entity::VisitRow => visit_row(tx, who, m, hlc).await,
        Entity::Facility => facility(tx, who, m, hlc).await,
        Entity::Photo => photo(tx, who, m, hlc).await,
    }
}

/// The first field whose key or text (at any depth) holds a NUL character.
fn nul_in(fields: &BTreeMap<String, Value>) -> Option<String> {
    fn holds(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(holds),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds(v)),
            _ => false,
        }
    }
    fields
        .iter()
        .find(|(k, v)| k.contains('\0') || holds(v))
        .map(|(k, _)| k.replace('\0', "\\0"))
}

/// Whether a unit path lies under one of the user's scope paths (their units
/// and those mapped to them in other trees); supervisors and administrators
/// see the whole province.
pub async fn in_scope(tx: &mut Tx, user: &UserInfo, path: &str) -> Result<bool, AppError> {
    if user.has(Role::Supervisor) || user.has(Role::Administrator) {
        return Ok(true);
    }
    let paths = super::units::scope_paths(&mut **tx, &user.id).await?;
    Ok(paths.iter().any(|p| path.starts_with(p.as_str())))
}

/// Merges answer fields and returns those this phone lost. `photo_fields`
/// names the keys that hold photo sets (`merge::merge_photo_sets`).
#[allow(clippy::too_many_arguments)]
async fn merge_all(
    tx: &mut Tx,
    who: &Author<'_>,
    entity: &str,
    record_id: &str,
    answers: &[(&String, &Value)],
    photo_fields: &[&str],
    m: &Mutation,
    hlc: Hlc,
) -> Result<Vec<String>, AppError> {
    let mutation_id = m.mutation_id.to_string();
    let device_id = who.device_id;
    let mut lost = Vec::new();
    for (field, value) in answers {
        let outcome = merge_field(
            tx,
            &Write {
                entity,
                record_id,
                field,
                value,
                base_version: m.base_version,
                hlc,
                device_id,
                mutation_id: &mutation_id,
                seq: m.seq,
                history: &who.history,
                photo_set: photo_fields.contains(&field.as_str()),
            },
        )
        .await?;
        if outcome == Outcome::Lost {
            lost.push((*field).clone());
        }
    }
    Ok(lost)
}

macro_rules! refused {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(body) => return Ok(Err(body)),
        }
    };
}

/// A facility found on site: fields checked, placed in scope, merged.
mod facility;
/// A photo's record: attach, caption, metadata, removal.
mod photo;
/// A visit: header, answers, submit.
mod visit;
/// A repeat-group row of a visit.
mod visit_row;

use facility::facility;
use photo::photo;
use visit::visit;
use visit::visit_head;
pub use visit::VisitHead;
use visit_row::visit_row;

/// Appends a change for a record so the phones that see it pull it again. Used
/// when a push turns out to be a retry (duplicates): the phone may have pulled
/// the record while its own change was still queued, kept its local answers,
/// and would otherwise never receive the merged state.
pub async fn touch(
    tx: &mut Tx,
    who: &Author<'_>,
    entity: crate::sync::Entity,
    record_id: &str,
) -> Result<(), AppError> {
    match entity {
        Entity::Visit | Entity::VisitRow => {
            let visit_id = if entity == Entity::VisitRow {
                let row = sqlx::query("SELECT visit_id FROM visit_rows WHERE id = $1")
                    .bind(record_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                match row {
                    Some(r) => col::<String>(&r, "visit_id")?,
                    None => return Ok(()),
                }
            } else {
                record_id.to_string()
            };
            if let Some(head) = visit_head(tx, who, &visit_id).await? {
                who.change(
                    "visit",
                    &visit_id,
                    head.unit_path.as_deref(),
                    Some(&head.owner_id),
                );
            }
        }
        Entity::Photo => {
            if let Some(photo) = super::photos::head(tx, record_id).await? {
                if let Some(head) = visit_head(tx, who, &photo.visit_id).await? {
                    who.change(
                        "visit",
                        &photo.visit_id,
                        head.unit_path.as_deref(),
                        Some(&head.owner_id),
                    );
                }
            }
        }
        Entity::Facility => {
            let exists = sqlx::query("SELECT 1 AS one FROM facilities WHERE id = $1")
                .bind(record_id)
                .fetch_optional(&mut **tx)
                .await?;
            if exists.is_some() {
                let path = catalog::facility_path(tx, record_id).await?;
                who.change("facility", record_id, Some(&path), None);
            }
        }
    }
    Ok(())
}
