//! Pull: the changes after a cursor that the user may see, a bounded page at a
//! time. Each change carries the record's current state, so a record changed
//! twice inside one page is sent once. A record that left the user's scope (a
//! facility moved to another district) or was deleted arrives as `Deleted`.

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
    phone_epoch: Option<&str>,
) -> Result<PullResponse, AppError> {
    if cursor < 0 {
        return Err(AppError::BadRequest("cursor must be 0 or more".into()));
    }
    let epoch = super::service::log_epoch(db).await?;
    // A cursor from before a restore points into a log this server no longer
    // has: the phone first sends again what it holds, then pulls from 0.
    if phone_epoch.is_some_and(|e| e != epoch) {
        return Err(AppError::server_restored(&epoch, None));
    }
    let horizon = super::compact::horizon(db).await?;
    if cursor > 0 && cursor < horizon {
        return Err(AppError::CursorExpired { cursor, horizon });
    }
    let sees_all = user.has(Role::Supervisor) || user.has(Role::Administrator);
    // Unit-scoped rows match when the record's path lies under one of the user's
    // scope paths (their units and the units mapped to them in other trees); own
    // visits match by owner; rows with neither (units, forms) go to all.
    let sql = if sees_all {
        "SELECT seq, entity, record_id FROM change_log WHERE seq > $1 AND ($2 = $2) ORDER BY seq LIMIT $3"
    } else {
        "SELECT c.seq, c.entity, c.record_id FROM change_log c
         WHERE c.seq > $1 AND (
           c.owner_id = $2
           OR (c.owner_id IS NULL AND (c.unit_path IS NULL OR EXISTS (
                SELECT 1 FROM user_scope s WHERE s.user_id = $2 AND c.unit_path LIKE s.path || '%'))))
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

    let unit_paths = if sees_all {
        Vec::new()
    } else {
        user_paths(db, &user.id).await?
    };
    let visible = |path: &str| sees_all || unit_paths.iter().any(|p| path.starts_with(p.as_str()));
    let deleted = |entity: &str, id: &str| {
        Some(PulledRecord::Deleted(DeletedRecord {
            entity: entity.to_string(),
            id: id.to_string(),
        }))
    };
    let owner_filter = (!sees_all).then_some(user.id.as_str());

    // Facilities and proposals are most of an initial pull: fetch them per page.
    let ids_of = |entity: &str| -> Vec<&str> {
        latest
            .iter()
            .filter(|(_, e, _)| e == entity)
            .map(|(_, _, id)| id.as_str())
            .collect()
    };
    let facilities = catalog::facilities_for_pull(db, &ids_of("facility")).await?;
    let mut proposals = catalog::proposals_by_ids(db, &ids_of("proposal")).await?;
    // A proposal seen by its own unit alone brings its facility, which the
    // phone could not otherwise hold (its place is outside the scope).
    let brought: Vec<&str> = proposals
        .values()
        .filter(|(_, open, places)| *open && !sees_all && places.seen_by_own_unit_alone(visible))
        .map(|(p, _, _)| p.facility_id.as_str())
        .collect();
    let brought = catalog::facilities_for_pull(db, &brought).await?;

    let mut changes = Vec::with_capacity(latest.len());
    for (seq, entity, id) in latest {
        let record = match entity.as_str() {
            "unit" => units::get(&db.pool, id).await?.map(PulledRecord::Unit),
            "form" => {
                if forms::wanted(db, id, owner_filter).await? {
                    forms::get_by_key(&db.pool, id)
                        .await?
                        .map(PulledRecord::Form)
                } else {
                    None
                }
            }
            "facility" => match facilities.get(id.as_str()) {
                Some((f, false, paths)) if sees_all || paths.iter().any(|p| visible(p)) => {
                    Some(PulledRecord::Facility(f.clone()))
                }
                _ => deleted(entity, id),
            },
            // A closed year's proposals, deactivated ones, and those whose
            // place left the user's scope leave the phones.
            "proposal" => match proposals.remove(id.as_str()) {
                Some((p, true, places)) if sees_all || places.seen(visible) => {
                    if let Some((f, false, _)) = brought.get(p.facility_id.as_str()) {
                        changes.push(Change {
                            seq: *seq,
                            record: PulledRecord::Facility(f.clone()),
                        });
                    }
                    Some(PulledRecord::Proposal(p))
                }
                _ => deleted(entity, id),
            },
            "visit" => match visits::record(&db.pool, id).await? {
                Some((v, false)) if sees_all || v.owner_id == user.id => {
                    Some(PulledRecord::Visit(v))
                }
                _ => deleted(entity, id),
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
        epoch,
    })
}

async fn user_paths(db: &Db, user_id: &str) -> Result<Vec<String>, AppError> {
    units::scope_paths(&db.pool, user_id).await
}
