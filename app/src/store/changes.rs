//! The change log: every write appends `(entity, record_id)` with its scope, and
//! pull pages through it by `seq`.
//!
//! PostgreSQL hands out sequence values at insert time but makes them visible at
//! commit, so a pager could see seq 11 before seq 10 commits and skip 10 forever.
//! Appenders therefore serialise on a transaction-scoped advisory lock taken
//! before the insert: the next writer can only draw its seq after the previous
//! one committed, so visibility follows seq order. SQLite has a single writer.

use super::{Engine, Tx};
use crate::error::AppError;

/// A change-log entry a batch owes, written at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub entity: String,
    pub record_id: String,
    pub unit_path: Option<String>,
    pub owner_id: Option<String>,
}

const CHANGE_LOG_LOCK: i64 = 0x006b_6861_6f73_6174; // "khaosat"

pub async fn append(
    tx: &mut Tx,
    entity: &str,
    record_id: &str,
    unit_path: Option<&str>,
    owner_id: Option<&str>,
) -> Result<(), AppError> {
    lock(tx).await?;
    let mut paths = vec![unit_path.map(str::to_string)];
    if let (Some(path), "facility") = (unit_path, entity) {
        // A phone may hold a facility through one of its proposals only (the
        // proposal's own unit lies outside the facility's place: a facility
        // known by an abolished district, a 2026 proposal in a 2025 commune);
        // its changes are announced there too.
        paths.extend(
            proposal_places_outside(tx, record_id, path)
                .await?
                .into_iter()
                .map(Some),
        );
    }
    for path in paths {
        sqlx::query(
            "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entity)
        .bind(record_id)
        .bind(path)
        .bind(owner_id.map(str::to_string))
        .bind(super::now_ms())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The own units of a facility's proposals that phones hold (open year,
/// active) that do not hold the facility's place `path`.
async fn proposal_places_outside(
    tx: &mut Tx,
    facility_id: &str,
    path: &str,
) -> Result<Vec<String>, AppError> {
    let places = sqlx::query(
        "SELECT DISTINCT a.path FROM proposals p
         JOIN survey_years y ON y.year = p.year AND y.is_open = 1
         JOIN admin_units a ON a.tree = p.unit_tree
           AND a.code = COALESCE(p.commune_code, p.district_code)
         WHERE p.facility_id = $1 AND p.active = 1",
    )
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::new();
    for row in &places {
        let place: String = super::col(row, "path")?;
        if !path.starts_with(&place) {
            out.push(place);
        }
    }
    Ok(out)
}

/// Appends many entries with multi-row INSERTs, in their order, under one
/// take of the appenders' lock: a batch's writes hold the lock only for this.
pub async fn append_many(tx: &mut Tx, entries: &[Entry]) -> Result<(), AppError> {
    if entries.is_empty() {
        return Ok(());
    }
    lock(tx).await?;
    let now = super::now_ms();
    // 5 binds a row: well under both engines' limits.
    for chunk in entries.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let b = r * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.entity.clone())
                .bind(e.record_id.clone())
                .bind(e.unit_path.clone())
                .bind(e.owner_id.clone())
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Takes the appenders' lock (PostgreSQL; SQLite has a single writer). Call it
/// before any INSERT INTO change_log.
pub(super) async fn lock(tx: &mut Tx) -> Result<(), AppError> {
    if engine_of(tx) == Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHANGE_LOG_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) fn engine_of(tx: &Tx) -> Engine {
    let conn: &sqlx::AnyConnection = tx;
    if conn.backend_name().eq_ignore_ascii_case("postgresql")
        || conn.backend_name().eq_ignore_ascii_case("postgres")
    {
        Engine::Postgres
    } else {
        Engine::Sqlite
    }
}

/// The newest change sequence (0 on an empty log): where a client that needs
/// nothing older starts.
pub async fn head(db: &super::Db) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM change_log")
        .fetch_one(&db.pool)
        .await?;
    super::col(&row, "seq")
}
