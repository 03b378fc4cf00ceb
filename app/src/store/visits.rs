//! Visits as the office reads them: the current state of each visit, assembled
//! from its header and its merged field values.

use super::{col, Db};
use crate::error::AppError;
use crate::model::{ReviewState, VisitRecord, VisitSummary};
use crate::sync::Hlc;
use std::collections::BTreeMap;

/// The visit and whether it is deleted (a tombstone).
pub async fn record<'c, E>(exec: E, id: &str) -> Result<Option<(VisitRecord, bool)>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    let row = sqlx::query(
        "SELECT id, form_id, form_version, proposal_id, facility_id, owner_id, review_state, created_at, received_at, deleted_at,
           (SELECT COUNT(*) FROM proposals p JOIN survey_years y ON y.year = p.year
            WHERE p.id = visits.proposal_id AND y.is_open = 0) AS year_closed
         FROM visits WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(exec)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut answers = BTreeMap::new();
    let mut versions = BTreeMap::new();
    let mut written = BTreeMap::new();
    let fields = sqlx::query(
        "SELECT field, value, version, hlc FROM field_values WHERE entity = 'visit' AND record_id = $1",
    )
    .bind(id)
    .fetch_all(exec)
    .await?;
    for f in fields {
        let key: String = col(&f, "field")?;
        let value: String = col(&f, "value")?;
        answers.insert(
            key.clone(),
            serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
        );
        if let Some(hlc) = Hlc::decode(&col::<String>(&f, "hlc")?) {
            written.insert(key.clone(), hlc);
        }
        versions.insert(key, col::<i64>(&f, "version")?);
    }
    let state: String = col(&row, "review_state")?;
    let visit = VisitRecord {
        id: col(&row, "id")?,
        form_id: col(&row, "form_id")?,
        form_version: col::<i64>(&row, "form_version")? as i32,
        proposal_id: col(&row, "proposal_id")?,
        facility_id: col(&row, "facility_id")?,
        owner_id: col(&row, "owner_id")?,
        review_state: ReviewState::parse(&state).unwrap_or(ReviewState::InProgress),
        answers,
        versions,
        created_at_ms: col(&row, "created_at")?,
        received_at_ms: col(&row, "received_at")?,
        rows: rows(exec, id).await?,
        review: super::review::events(exec, id).await?,
        photos: super::photos::for_visit(exec, id).await?,
        year_closed: col::<i64>(&row, "year_closed")? > 0,
        open_conflicts: open_conflicts(exec, id).await?,
        written,
    };
    Ok(Some((
        visit,
        col::<Option<i64>>(&row, "deleted_at")?.is_some(),
    )))
}

/// The fields of a visit and of its rows with a conflict no supervisor has
/// decided yet, each once, in order.
async fn open_conflicts<'c, E>(exec: E, visit_id: &str) -> Result<Vec<String>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    sqlx::query(
        "SELECT DISTINCT field FROM conflicts
         WHERE resolved_at IS NULL
           AND ((entity = 'visit' AND record_id = $1)
             OR (entity = 'visit_row'
                 AND record_id IN (SELECT id FROM visit_rows WHERE visit_id = $1)))
         ORDER BY field",
    )
    .bind(visit_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| col::<String>(r, "field"))
    .collect()
}

/// The live repeat-group rows of a visit with their values, oldest first.
async fn rows<'c, E>(exec: E, visit_id: &str) -> Result<Vec<crate::model::VisitRow>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    let heads = sqlx::query(
        "SELECT id, group_key, created_at FROM visit_rows WHERE visit_id = $1 AND deleted_at IS NULL ORDER BY created_at, id",
    )
    .bind(visit_id)
    .fetch_all(exec)
    .await?;
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    let values = sqlx::query(
        "SELECT fv.record_id, fv.field, fv.value, fv.version, fv.hlc FROM field_values fv
         JOIN visit_rows r ON r.id = fv.record_id
         WHERE fv.entity = 'visit_row' AND r.visit_id = $1",
    )
    .bind(visit_id)
    .fetch_all(exec)
    .await?;
    let mut out: Vec<crate::model::VisitRow> = heads
        .iter()
        .map(|h| {
            Ok(crate::model::VisitRow {
                id: col(h, "id")?,
                group: col(h, "group_key")?,
                answers: BTreeMap::new(),
                versions: BTreeMap::new(),
                created_at_ms: col(h, "created_at")?,
                written: BTreeMap::new(),
            })
        })
        .collect::<Result<_, AppError>>()?;
    for v in values {
        let record: String = col(&v, "record_id")?;
        if let Some(row) = out.iter_mut().find(|r| r.id == record) {
            let field: String = col(&v, "field")?;
            let value: String = col(&v, "value")?;
            row.answers.insert(
                field.clone(),
                serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
            );
            if let Some(hlc) = Hlc::decode(&col::<String>(&v, "hlc")?) {
                row.written.insert(field.clone(), hlc);
            }
            row.versions.insert(field, col(&v, "version")?);
        }
    }
    Ok(out)
}

/// The newest `limit` visits (the plain list older clients and tests read; the
/// console's filtered list is `console::search`).
pub async fn list_for_review(db: &Db, limit: i64) -> Result<Vec<VisitSummary>, AppError> {
    let ids: Vec<String> = sqlx::query(
        "SELECT id FROM visits WHERE deleted_at IS NULL ORDER BY received_at DESC, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| col(r, "id"))
    .collect::<Result<_, _>>()?;
    super::console::summaries(db, &ids).await
}

pub async fn inspector_name(db: &Db, user_id: &str) -> Result<String, AppError> {
    let row = sqlx::query("SELECT display_name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| col(&r, "display_name"))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Counts for assertions and health: visits, field values, mutations, change log rows.
pub async fn table_counts(db: &Db) -> Result<BTreeMap<&'static str, i64>, AppError> {
    let mut out = BTreeMap::new();
    for table in [
        "visits",
        "field_values",
        "mutations",
        "change_log",
        "conflicts",
    ] {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&db.pool)
            .await?;
        out.insert(table, col(&row, "n")?);
    }
    Ok(out)
}
