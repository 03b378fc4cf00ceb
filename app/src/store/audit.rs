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

/// The actor's username and the record's name beside each entry.
const ENTRY_SELECT: &str =
    "SELECT a.at, u.username, a.action, a.entity, a.record_id, a.detail, a.ip,
        COALESCE(f.name, p.title, ru.display_name, vf.name) AS record_name
 FROM audit_log a
 LEFT JOIN users u ON u.id = a.user_id
 LEFT JOIN facilities f ON a.entity = 'facility' AND f.id = a.record_id
 LEFT JOIN proposals p ON a.entity = 'proposal' AND p.id = a.record_id
 LEFT JOIN users ru ON a.entity = 'user' AND ru.id = a.record_id
 LEFT JOIN visits v ON a.entity = 'visit' AND v.id = a.record_id
 LEFT JOIN facilities vf ON vf.id = v.facility_id";

/// The newest `limit` entries that pass `filter`, newest first.
pub async fn recent(
    db: &Db,
    limit: u32,
    filter: &crate::office::admin::contract::AuditFilter,
) -> Result<Vec<AuditEntry>, AppError> {
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let day = |v: &Option<String>, what: &str| -> Result<Option<i64>, AppError> {
        match blank(v) {
            None => Ok(None),
            Some(iso) => crate::format::vietnam_day_start_ms(&iso)
                .map(Some)
                .ok_or_else(|| {
                    AppError::BadRequest(format!("{what} must be a YYYY-MM-DD date, not {iso:?}"))
                }),
        }
    };
    let mut conditions = Vec::new();
    enum Arg {
        Text(String),
        Int(i64),
    }
    let mut params: Vec<Arg> = Vec::new();
    if let Some(user) = blank(&filter.user) {
        params.push(Arg::Text(user.to_lowercase()));
        conditions.push(format!("u.username = ${}", params.len()));
    }
    if let Some(action) = blank(&filter.action) {
        params.push(Arg::Text(action.clone()));
        let exact = params.len();
        params.push(Arg::Text(format!("{action}.%")));
        conditions.push(format!(
            "(a.action = ${exact} OR a.action LIKE ${})",
            params.len()
        ));
    }
    if let Some(from) = day(&filter.from, "from")? {
        params.push(Arg::Int(from));
        conditions.push(format!("a.at >= ${}", params.len()));
    }
    if let Some(to) = day(&filter.to, "to")? {
        params.push(Arg::Int(to + 86_400_000));
        conditions.push(format!("a.at < ${}", params.len()));
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    params.push(Arg::Int(i64::from(limit)));
    let sql = format!(
        "{ENTRY_SELECT}{filter_sql} ORDER BY a.id DESC LIMIT ${}",
        params.len()
    );
    let mut query = sqlx::query(&sql);
    for param in params {
        query = match param {
            Arg::Text(s) => query.bind(s),
            Arg::Int(n) => query.bind(n),
        };
    }
    let rows = query.fetch_all(&db.pool).await?;
    entries(&rows)
}

/// Everything recorded about one record (a visit, a proposal), oldest first.
pub async fn for_record(
    db: &Db,
    entity: &str,
    record_id: &str,
) -> Result<Vec<AuditEntry>, AppError> {
    let sql = format!("{ENTRY_SELECT} WHERE a.entity = $1 AND a.record_id = $2 ORDER BY a.id");
    let rows = sqlx::query(&sql)
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
                record_name: col(r, "record_name")?,
            })
        })
        .collect()
}
