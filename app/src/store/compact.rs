//! Tombstone compaction. Deleted visits, rows and facilities stay as tombstones
//! for a retention period (default 180 days) so every phone hears of the delete;
//! then this job removes them with their change-log entries. A phone whose cursor
//! is older than the newest removed entry might have missed a delete, so pull
//! answers it 410 and the phone resyncs from zero (keeping its outbox).

use super::{col, Db, Tx};
use crate::error::AppError;

pub const DEFAULT_RETENTION_DAYS: i64 = 180;

/// The change sequence below which a cursor is too old (0: nothing compacted).
pub async fn horizon(db: &Db) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT value FROM sync_state WHERE key = 'compacted_through'")
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => col(&r, "value")?,
        None => 0,
    })
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub visits: usize,
    pub rows: usize,
    pub facilities: usize,
    pub horizon: i64,
}

async fn ids(tx: &mut Tx, sql: &str, cutoff: i64) -> Result<Vec<String>, AppError> {
    sqlx::query(sql)
        .bind(cutoff)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| col(r, "id"))
        .collect()
}

async fn exec(tx: &mut Tx, sql: &str, id: &str) -> Result<(), AppError> {
    sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Field values, history and conflicts of one record.
async fn drop_fields(tx: &mut Tx, entity: &str, id: &str) -> Result<(), AppError> {
    for table in ["field_values", "field_history", "conflicts"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE entity = $1 AND record_id = $2"
        ))
        .bind(entity)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Removes the change-log entries of a record and returns the highest one.
async fn drop_log(tx: &mut Tx, entity: &str, id: &str) -> Result<i64, AppError> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) AS seq FROM change_log WHERE entity = $1 AND record_id = $2",
    )
    .bind(entity)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM change_log WHERE entity = $1 AND record_id = $2")
        .bind(entity)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    col(&row, "seq")
}

/// Removes tombstones deleted before `cutoff_ms` (server time, ms).
pub async fn compact(db: &Db, cutoff_ms: i64) -> Result<Report, AppError> {
    let mut tx = db.begin_write().await?;
    let mut report = Report {
        horizon: {
            let row = sqlx::query("SELECT value FROM sync_state WHERE key = 'compacted_through'")
                .fetch_one(&mut *tx)
                .await?;
            col(&row, "value")?
        },
        ..Report::default()
    };
    // Rows of live visits first; a deleted visit takes all its rows along.
    let rows = ids(
        &mut tx,
        "SELECT id FROM visit_rows WHERE deleted_at IS NOT NULL AND deleted_at < $1",
        cutoff_ms,
    )
    .await?;
    for id in &rows {
        drop_fields(&mut tx, "visit_row", id).await?;
        exec(&mut tx, "DELETE FROM visit_rows WHERE id = $1", id).await?;
    }
    report.rows = rows.len();
    let visits = ids(
        &mut tx,
        "SELECT id FROM visits WHERE deleted_at IS NOT NULL AND deleted_at < $1",
        cutoff_ms,
    )
    .await?;
    for id in &visits {
        let children: Vec<String> = sqlx::query("SELECT id FROM visit_rows WHERE visit_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| col(r, "id"))
            .collect::<Result<_, _>>()?;
        for child in &children {
            drop_fields(&mut tx, "visit_row", child).await?;
        }
        exec(&mut tx, "DELETE FROM visit_rows WHERE visit_id = $1", id).await?;
        exec(&mut tx, "DELETE FROM review_events WHERE visit_id = $1", id).await?;
        exec(
            &mut tx,
            "DELETE FROM uploads WHERE photo_id IN (SELECT id FROM photos WHERE visit_id = $1)",
            id,
        )
        .await?;
        exec(&mut tx, "DELETE FROM photos WHERE visit_id = $1", id).await?;
        drop_fields(&mut tx, "visit", id).await?;
        let seq = drop_log(&mut tx, "visit", id).await?;
        report.horizon = report.horizon.max(seq);
        exec(&mut tx, "DELETE FROM visits WHERE id = $1", id).await?;
    }
    report.visits = visits.len();
    // A deleted facility goes once no visit row (even a tombstone) points at it.
    let facilities = ids(
        &mut tx,
        "SELECT id FROM facilities f WHERE deleted_at IS NOT NULL AND deleted_at < $1
           AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.facility_id = f.id)
           AND NOT EXISTS (SELECT 1 FROM proposals p WHERE p.facility_id = f.id)",
        cutoff_ms,
    )
    .await?;
    for id in &facilities {
        drop_fields(&mut tx, "facility", id).await?;
        let seq = drop_log(&mut tx, "facility", id).await?;
        report.horizon = report.horizon.max(seq);
        exec(&mut tx, "DELETE FROM facilities WHERE id = $1", id).await?;
    }
    report.facilities = facilities.len();
    sqlx::query("UPDATE sync_state SET value = $1 WHERE key = 'compacted_through'")
        .bind(report.horizon)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(report)
}
