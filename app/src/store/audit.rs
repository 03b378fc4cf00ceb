//! The audit trail: who did what, when and from where. Logins, failed logins,
//! account and role changes, device revocations and review decisions.

use super::{col, now_ms, Db};
use crate::error::AppError;
use crate::office::admin::contract::AuditEntry;
use sqlx::Any;

/// Who is acting and from which address; `user_id` is None for a failed login
/// of an unknown account.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<String>,
    pub ip: Option<String>,
}

/// Appends one entry. `detail` is JSON; it never holds a password.
pub async fn record<'c, E>(
    executor: E,
    actor: &Actor,
    action: &str,
    entity: &str,
    record_id: &str,
    detail: serde_json::Value,
) -> Result<(), AppError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, entity, record_id, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(actor.user_id.clone())
    .bind(action)
    .bind(entity)
    .bind(record_id)
    .bind(detail.to_string())
    .bind(actor.ip.clone())
    .execute(executor)
    .await?;
    Ok(())
}

/// The newest `limit` entries, newest first, with the actor's username.
pub async fn recent(db: &Db, limit: u32) -> Result<Vec<AuditEntry>, AppError> {
    let rows = sqlx::query(
        "SELECT a.at, u.username, a.action, a.entity, a.record_id, a.detail, a.ip
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
         ORDER BY a.id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    entries(&rows)
}

/// Everything recorded about one record (a visit, a proposal), oldest first.
pub async fn for_record(
    db: &Db,
    entity: &str,
    record_id: &str,
) -> Result<Vec<AuditEntry>, AppError> {
    let rows = sqlx::query(
        "SELECT a.at, u.username, a.action, a.entity, a.record_id, a.detail, a.ip
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.entity = $1 AND a.record_id = $2 ORDER BY a.id",
    )
    .bind(entity)
    .bind(record_id)
    .fetch_all(&db.pool)
    .await?;
    entries(&rows)
}

fn entries(rows: &[sqlx::any::AnyRow]) -> Result<Vec<AuditEntry>, AppError> {
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at_ms: col(r, "at")?,
                actor: col(r, "username")?,
                action: col(r, "action")?,
                entity: col(r, "entity")?,
                record_id: col(r, "record_id")?,
                detail: col(r, "detail")?,
                ip: col(r, "ip")?,
            })
        })
        .collect()
}
