//! Pull: the changes after a cursor that the user may see, a bounded page at a
//! time. Each change carries the record's current state, so a record changed
//! twice inside one page is sent once.

use super::{catalog, col, forms, units, visits, Db};
use crate::error::AppError;
use crate::model::{Role, UserInfo};
use crate::sync::{Change, DeletedRecord, Hlc, PullResponse, PulledRecord};

pub async fn pull(
    db: &Db,
    user: &UserInfo,
    cursor: i64,
    limit: usize,
    server_hlc: Hlc,
) -> Result<PullResponse, AppError> {
    let sees_all = user.has(Role::Supervisor) || user.has(Role::Administrator);
    // Unit-scoped rows match when the record's path lies under one of the user's
    // units; own visits match by owner; rows with neither (units, forms) go to all.
    let sql = if sees_all {
        "SELECT seq, entity, record_id FROM change_log WHERE seq > $1 AND ($2 = $2) ORDER BY seq LIMIT $3"
    } else {
        "SELECT c.seq, c.entity, c.record_id FROM change_log c
         WHERE c.seq > $1 AND (
           c.owner_id = $2
           OR (c.owner_id IS NULL AND (c.unit_path IS NULL OR EXISTS (
                SELECT 1 FROM user_units uu JOIN admin_units a ON a.code = uu.unit_code
                WHERE uu.user_id = $2 AND c.unit_path LIKE a.path || '%'))))
         ORDER BY c.seq LIMIT $3"
    };
    let rows = sqlx::query(sql)
        .bind(cursor)
        .bind(&user.id)
        .bind(limit as i64 + 1)
        .fetch_all(&db.pool)
        .await?;
    let has_more = rows.len() > limit;
    let mut page: Vec<(i64, String, String)> = Vec::with_capacity(rows.len().min(limit));
    for row in rows.iter().take(limit) {
        page.push((
            col(row, "seq")?,
            col(row, "entity")?,
            col(row, "record_id")?,
        ));
    }
    let next_cursor = page.last().map(|(seq, _, _)| *seq).unwrap_or(cursor);
    // Keep only the last mention of each record in this page.
    let mut seen = std::collections::HashSet::new();
    let mut latest: Vec<&(i64, String, String)> = page
        .iter()
        .rev()
        .filter(|(_, e, id)| seen.insert((e.clone(), id.clone())))
        .collect();
    latest.reverse();

    let mut changes = Vec::with_capacity(latest.len());
    for (seq, entity, id) in latest {
        let record = match entity.as_str() {
            "unit" => units::get(&db.pool, id).await?.map(PulledRecord::Unit),
            "form" => forms::get_by_key(&db.pool, id)
                .await?
                .map(PulledRecord::Form),
            "facility" => catalog::facility_by_id(&db.pool, id)
                .await?
                .map(PulledRecord::Facility),
            "proposal" => catalog::proposal_by_id(&db.pool, id)
                .await?
                .map(PulledRecord::Proposal),
            "visit" => match visits::record(&db.pool, id).await? {
                Some((_, true)) | None => Some(PulledRecord::Deleted(DeletedRecord {
                    entity: entity.clone(),
                    id: id.clone(),
                })),
                Some((v, false)) => Some(PulledRecord::Visit(v)),
            },
            _ => None,
        };
        if let Some(record) = record {
            changes.push(Change { seq: *seq, record });
        }
    }
    Ok(PullResponse {
        changes,
        cursor: next_cursor,
        has_more,
        server_hlc,
    })
}
