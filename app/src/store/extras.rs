//! The extra facts the review shows beside one visit: conflicts side by side,
//! what changed since the last send-back, the audit trail.

use super::{col, Db};
use crate::error::AppError;
use crate::model::{ReviewState, UserInfo};
use crate::office::review::contract::{ChangedField, VisitReviewExtras};
use std::collections::BTreeMap;

/// Conflicts, changes since the last send-back, distance and audit of a visit.
pub async fn extras(
    db: &Db,
    _user: &UserInfo,
    visit_id: &str,
) -> Result<VisitReviewExtras, AppError> {
    let (visit, deleted) = super::visits::record(&db.pool, visit_id)
        .await?
        .ok_or_else(|| AppError::NotFound("visit".into()))?;
    if deleted {
        return Err(AppError::NotFound("visit".into()));
    }
    let sent_back = visit
        .review
        .iter()
        .rev()
        .find(|e| e.to == ReviewState::NeedsChanges)
        .map(|e| e.at_ms);
    let (changed, new_photos) = match sent_back {
        Some(at) => (
            changed_since(db, visit_id, at).await?,
            visit
                .photos
                .iter()
                .filter(|p| p.created_at_ms > at)
                .map(|p| p.id.clone())
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let facility = match &visit.facility_id {
        Some(id) => super::catalog::facility_by_id(&db.pool, id).await?,
        None => None,
    };
    let distance_m = visit
        .answers
        .get("location")
        .and_then(crate::office::review::contract::geopoint)
        .zip(facility.and_then(|f| f.lat.zip(f.lon)))
        .map(|((a, b), (c, d))| crate::office::review::contract::distance_m(a, b, c, d));
    Ok(VisitReviewExtras {
        conflicts: super::conflicts::open_for_visit(db, visit_id).await?,
        changed,
        new_photos,
        distance_m,
        audit: without_addresses(super::audit::for_record(db, "visit", visit_id).await?),
    })
}

/// Answers whose value now differs from what it was when the visit was sent back
/// at `at`: the last version received before then is "before".
async fn changed_since(db: &Db, visit_id: &str, at: i64) -> Result<Vec<ChangedField>, AppError> {
    let rows = sqlx::query(
        "SELECT h.field, h.version, h.value, h.hlc, m.received_at
         FROM field_history h LEFT JOIN mutations m ON m.mutation_id = h.mutation_id
         WHERE h.entity = 'visit' AND h.record_id = $1
         ORDER BY h.field, h.version",
    )
    .bind(visit_id)
    .fetch_all(&db.pool)
    .await?;
    // Per field: (value at the send-back, latest value, changed after it?).
    let mut fields: BTreeMap<String, (Option<String>, String, bool)> = BTreeMap::new();
    for r in rows {
        let field: String = col(&r, "field")?;
        let value: String = col(&r, "value")?;
        // Office writes (conflict resolutions) have no mutation row; their HLC
        // is the server's own clock.
        let received: Option<i64> = col(&r, "received_at")?;
        let hlc: String = col(&r, "hlc")?;
        let when = received.or_else(|| crate::sync::Hlc::decode(&hlc).map(|h| h.ms));
        let after = when.is_none_or(|t| t > at);
        let entry = fields.entry(field).or_insert((None, String::new(), false));
        if after {
            entry.2 = true;
        } else {
            entry.0 = Some(value.clone());
        }
        entry.1 = value;
    }
    let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    Ok(fields
        .into_iter()
        .filter(|(_, (before, after, changed))| {
            *changed && before.as_deref() != Some(after.as_str())
        })
        .map(|(field, (before, after, _))| ChangedField {
            field,
            before: before.as_deref().map(json),
            after: json(&after),
        })
        .collect())
}

/// Audit entries as a supervisor sees them: client addresses stay with the
/// administrators' audit trail.
pub fn without_addresses(
    entries: Vec<crate::office::admin::contract::AuditEntry>,
) -> Vec<crate::office::admin::contract::AuditEntry> {
    entries
        .into_iter()
        .map(|e| crate::office::admin::contract::AuditEntry { ip: None, ..e })
        .collect()
}
