//! Field-level last-writer-wins with kept conflicts (DESIGN.md, "Merge policy").
//!
//! Each stored field keeps (version, hlc, device). An incoming value whose writer
//! had seen the current version (base_version >= version), or that comes from the
//! device that wrote the current value with a lower seq (a device has seen its own
//! edits), simply replaces it. Otherwise the two edits were
//! concurrent: the higher (hlc, device_id) wins and the other value goes to
//! `conflicts`. Every version a field ever had goes to `field_history`.
//!
//! A photo field is a set, not a value: a phone removes a photo by deleting its
//! record, so two concurrent lists merge into their union less the photos
//! deleted on the server, and no captured photo drops out of the answer
//! because another phone saved the field at the same time.

use super::{col, now_ms, Tx};
use crate::error::AppError;
use crate::sync::Hlc;
use serde_json::Value;

/// One incoming field value and who wrote it.
pub struct Write<'a> {
    pub entity: &'a str,
    pub record_id: &'a str,
    pub field: &'a str,
    pub value: &'a Value,
    pub base_version: i64,
    pub hlc: Hlc,
    pub device_id: &'a str,
    pub mutation_id: &'a str,
    /// The writing device's seq for this mutation.
    pub seq: i64,
    /// Where field-history rows wait for the end of the batch.
    pub history: &'a super::rows::Buffer,
    /// The field is a photo field: its value is a set of photo ids.
    pub photo_set: bool,
}

/// What became of an incoming value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It is now the field's value.
    Won,
    /// A concurrent value with a higher (hlc, device) stays; the incoming one is
    /// kept in `conflicts`.
    Lost,
}

pub async fn merge_field(tx: &mut Tx, w: &Write<'_>) -> Result<Outcome, AppError> {
    let live;
    let value = if w.photo_set && w.value.is_array() {
        // A list naming a photo removed meanwhile (by another phone, or by
        // this one before a stale save arrived) would show a hole.
        live = live_photos(tx, w, photo_ids(w.value)).await?;
        &live
    } else {
        w.value
    };
    let w = &Write { value, ..*w };
    let value_json = w.value.to_string();
    let hlc = w.hlc.encode();
    let Some(stored) = stored_field(tx, w).await? else {
        sqlx::query(
            "INSERT INTO field_values (entity, record_id, field, value, version, hlc, device_id, mutation_id, device_seq)
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8)",
        )
        .bind(w.entity)
        .bind(w.record_id)
        .bind(w.field)
        .bind(&value_json)
        .bind(&hlc)
        .bind(w.device_id)
        .bind(w.mutation_id)
        .bind(w.seq)
        .execute(&mut **tx)
        .await?;
        history(tx, w, 1, &value_json).await?;
        return Ok(Outcome::Won);
    };
    let version: i64 = col(&stored, "version")?;
    let stored_hlc: String = col(&stored, "hlc")?;
    let stored_device: String = col(&stored, "device_id")?;
    let stored_value: String = col(&stored, "value")?;
    let stored_mutation: String = col(&stored, "mutation_id")?;
    if w.photo_set && w.base_version < version {
        return merge_photo_sets(tx, w, version, &stored_value, &stored_hlc).await;
    }
    let same_device = stored_device == w.device_id;
    let concurrent = w.base_version < version && !same_device;
    let incoming_wins = if same_device {
        // A device's own edits are ordered by its seq, whatever its clock did; an
        // older one arriving late (a backup imported after a newer push) does not
        // undo the newer one, which its own author made after it.
        let mut stored_seq: i64 = col(&stored, "device_seq")?;
        if stored_seq == 0 {
            // Written before the column existed: ask the mutation log.
            stored_seq = sqlx::query("SELECT seq FROM mutations WHERE mutation_id = $1")
                .bind(&stored_mutation)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| col::<i64>(&r, "seq"))
                .transpose()?
                .unwrap_or(0);
        }
        w.seq > stored_seq
    } else {
        !concurrent || (hlc.as_str(), w.device_id) > (stored_hlc.as_str(), stored_device.as_str())
    };
    if concurrent && stored_value != value_json {
        let incoming = (
            value_json.as_str(),
            hlc.as_str(),
            w.device_id,
            w.mutation_id,
        );
        let kept = (
            stored_value.as_str(),
            stored_hlc.as_str(),
            stored_device.as_str(),
            stored_mutation.as_str(),
        );
        let (winner, loser) = if incoming_wins {
            (incoming, kept)
        } else {
            (kept, incoming)
        };
        sqlx::query(
            "INSERT INTO conflicts (entity, record_id, field, base_version, winner_value, winner_hlc, winner_device,
               loser_value, loser_hlc, loser_device, loser_mutation_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(w.entity)
        .bind(w.record_id)
        .bind(w.field)
        .bind(w.base_version)
        .bind(winner.0)
        .bind(winner.1)
        .bind(winner.2)
        .bind(loser.0)
        .bind(loser.1)
        .bind(loser.2)
        .bind(loser.3)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    if !incoming_wins {
        return Ok(if stored_value == value_json {
            Outcome::Won
        } else {
            Outcome::Lost
        });
    }
    update(tx, w, version, &value_json, &hlc).await?;
    Ok(Outcome::Won)
}

/// A photo field written by a phone that had not seen its current version
/// (another phone's save, or its own earlier one not yet pulled back): the
/// union of both lists, the stored order first, less removed photos. Not a
/// conflict: nothing either phone captured is left out, and a removal is a
/// deleted record, which the union does not bring back. This holds for a
/// phone's own older list too, so the device's seq order is not needed here.
async fn merge_photo_sets(
    tx: &mut Tx,
    w: &Write<'_>,
    version: i64,
    stored_value: &str,
    stored_hlc: &str,
) -> Result<Outcome, AppError> {
    let stored = serde_json::from_str::<Value>(stored_value).unwrap_or_default();
    let mut ids = photo_ids(&stored);
    for id in photo_ids(w.value) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut merged = live_photos(tx, w, ids).await?;
    if merged.as_array().is_some_and(Vec::is_empty) && w.value.is_null() {
        merged = Value::Null;
    }
    let merged_json = merged.to_string();
    if merged_json == stored_value {
        return Ok(Outcome::Won);
    }
    // The merge is this write's doing (its device and mutation), written at
    // the later of the two stamps: a restore's recovery compares stamps, and
    // the set is at least as recent as either list in it.
    write_set(tx, w, version, &merged_json, stored_hlc).await?;
    Ok(Outcome::Won)
}

/// A photo's removal also takes it out of its field's answer, whichever came
/// first: a phone sends the removal before its new list, but a restore's
/// recovery or another phone's stale list may bring the list first, and the
/// union would then keep naming the removed photo. `w` is the removal (its
/// stamp, device and mutation); its value is not read.
pub async fn remove_from_photo_set(
    tx: &mut Tx,
    w: &Write<'_>,
    photo_id: &str,
) -> Result<(), AppError> {
    let Some(stored) = stored_field(tx, w).await? else {
        return Ok(());
    };
    let value: String = col(&stored, "value")?;
    let ids = photo_ids(&serde_json::from_str::<Value>(&value).unwrap_or_default());
    if !ids.iter().any(|i| i == photo_id) {
        return Ok(());
    }
    let rest: Vec<Value> = ids
        .into_iter()
        .filter(|i| i != photo_id)
        .map(Value::String)
        .collect();
    let version: i64 = col(&stored, "version")?;
    let stored_hlc: String = col(&stored, "hlc")?;
    write_set(tx, w, version, &Value::Array(rest).to_string(), &stored_hlc).await
}

/// Stores a photo set as the next version, written by `w` at the later of
/// its stamp and the stored one.
async fn write_set(
    tx: &mut Tx,
    w: &Write<'_>,
    version: i64,
    value_json: &str,
    stored_hlc: &str,
) -> Result<(), AppError> {
    let written = w.hlc.encode().max(stored_hlc.to_string());
    update(tx, w, version, value_json, &written).await
}

/// The field's stored row (value, version, stamp, writer), if it has one.
async fn stored_field(tx: &mut Tx, w: &Write<'_>) -> Result<Option<sqlx::any::AnyRow>, AppError> {
    Ok(sqlx::query(
        "SELECT value, version, hlc, device_id, mutation_id, device_seq FROM field_values
         WHERE entity = $1 AND record_id = $2 AND field = $3",
    )
    .bind(w.entity)
    .bind(w.record_id)
    .bind(w.field)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Stores `value_json` as the field's next version after `version`, written
/// by `w`'s device and mutation at `hlc`, and its history row.
async fn update(
    tx: &mut Tx,
    w: &Write<'_>,
    version: i64,
    value_json: &str,
    hlc: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE field_values SET value = $1, version = $2, hlc = $3, device_id = $4, mutation_id = $5, device_seq = $9
         WHERE entity = $6 AND record_id = $7 AND field = $8",
    )
    .bind(value_json)
    .bind(version + 1)
    .bind(hlc)
    .bind(w.device_id)
    .bind(w.mutation_id)
    .bind(w.entity)
    .bind(w.record_id)
    .bind(w.field)
    .bind(w.seq)
    .execute(&mut **tx)
    .await?;
    history(tx, w, version + 1, value_json).await
}

/// The ids a photo field's value lists (an answer the rules checked is a list
/// of id strings; anything else lists none).
fn photo_ids(value: &Value) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .filter(|id| seen.insert(*id))
        .map(str::to_string)
        .collect()
}

/// The list without the photos it may not name: removed ones, and those
/// attached to another visit or field (a list is the field's own photos). A
/// photo the server does not know yet stays: its record may come later in
/// the batch. But a union of lists never holds more than a field may
/// (`crate::photos::MAX_PER_FIELD`, which the attach also holds): beyond it,
/// the last photos the server does not know go first, so ids nobody attaches
/// cannot pile up merge after merge.
async fn live_photos(tx: &mut Tx, w: &Write<'_>, ids: Vec<String>) -> Result<Value, AppError> {
    let mut live = Vec::with_capacity(ids.len());
    let mut unknown = Vec::new();
    for id in ids {
        let record = sqlx::query("SELECT visit_id, field, deleted_at FROM photos WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut **tx)
            .await?;
        let named = match record {
            None => {
                unknown.push(live.len());
                true
            }
            Some(r) => {
                col::<Option<i64>>(&r, "deleted_at")?.is_none()
                    && col::<String>(&r, "visit_id")? == w.record_id
                    && col::<String>(&r, "field")? == w.field
            }
        };
        if named {
            live.push(Value::String(id));
        }
    }
    let over = live.len().saturating_sub(crate::photos::MAX_PER_FIELD);
    for at in unknown.into_iter().rev().take(over) {
        live.remove(at);
    }
    Ok(Value::Array(live))
}

async fn history(_tx: &mut Tx, w: &Write<'_>, version: i64, value: &str) -> Result<(), AppError> {
    use super::rows::Param::{Int, Text};
    w.history.push(vec![
        Text(w.entity.to_string()),
        Text(w.record_id.to_string()),
        Text(w.field.to_string()),
        Int(version),
        Text(value.to_string()),
        Text(w.hlc.encode()),
        Text(w.device_id.to_string()),
        Text(w.mutation_id.to_string()),
        Int(w.base_version),
    ]);
    Ok(())
}

/// The columns of a buffered field-history row, in `history`'s order.
pub const HISTORY_COLUMNS: &[&str] = &[
    "entity",
    "record_id",
    "field",
    "version",
    "value",
    "hlc",
    "device_id",
    "mutation_id",
    "base_version",
];
