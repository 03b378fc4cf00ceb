//! Form definitions: immutable versions, one marked current per form.

use super::{changes, col, now_ms, Db};
use crate::error::{AppError, ErrorBody};
use crate::forms::FormDefinition;

/// Stores a new version and makes it current. A version that exists already is
/// accepted only if identical (loading the default form twice is harmless);
/// changing a published version is refused, because visits were filled in with it.
pub async fn publish(db: &Db, form: &FormDefinition) -> Result<bool, AppError> {
    publish_as(db, None, form).await
}

/// `publish`, recorded in the audit trail when an administrator does it.
pub async fn publish_as(
    db: &Db,
    actor: Option<&super::audit::Actor>,
    form: &FormDefinition,
) -> Result<bool, AppError> {
    form.check().map_err(|e| AppError::Invalid(e.body()))?;
    let json = serde_json::to_string(form).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = db.begin_write().await?;
    let existing = sqlx::query("SELECT definition FROM forms WHERE form_id = $1 AND version = $2")
        .bind(&form.id)
        .bind(form.version as i64)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = existing {
        let stored: String = col(&row, "definition")?;
        let stored: FormDefinition =
            serde_json::from_str(&stored).map_err(|e| AppError::Internal(e.to_string()))?;
        if &stored != form {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "form.version_exists",
                    format!(
                        "form {} version {} exists with other content; publish a new version",
                        form.id, form.version
                    ),
                )
                .with("version", form.version),
            ));
        }
        return Ok(false);
    }
    let newest = sqlx::query("SELECT MAX(version) AS v FROM forms WHERE form_id = $1")
        .bind(&form.id)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(newest) = col::<Option<i64>>(&newest, "v")? {
        if newest > form.version as i64 {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "form.version_older",
                    format!(
                        "form {} is at version {newest}; a new version must be higher",
                        form.id
                    ),
                )
                .with("version", form.version)
                .with("current", newest),
            ));
        }
    }
    sqlx::query("UPDATE forms SET is_current = 0 WHERE form_id = $1")
        .bind(&form.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO forms (form_id, version, definition, is_current, created_at) VALUES ($1, $2, $3, 1, $4)")
        .bind(&form.id)
        .bind(form.version as i64)
        .bind(&json)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    changes::append(
        &mut tx,
        "form",
        &format!("{}@{}", form.id, form.version),
        None,
        None,
    )
    .await?;
    if let Some(actor) = actor {
        super::audit::record(
            &mut *tx,
            actor,
            "form.publish",
            "form",
            &format!("{}@{}", form.id, form.version),
            serde_json::json!({"fields": form.fields().count()}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Whether any version of the form is stored.
pub async fn exists(db: &Db, form_id: &str) -> Result<bool, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM forms WHERE form_id = $1")
        .bind(form_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(col::<i64>(&row, "n")? > 0)
}

/// Every stored version, newest first within a form.
/// The version a new upload of `form_id` gets when it names none: the newest
/// published one plus one (1 for a new form).
pub fn next_version(published: &[crate::forms::FormVersion], form_id: &str) -> i32 {
    published
        .iter()
        .filter(|f| f.id == form_id)
        .map(|f| f.version.saturating_add(1))
        .max()
        .unwrap_or(1)
}

pub async fn list(db: &Db) -> Result<Vec<crate::forms::FormVersion>, AppError> {
    let rows = sqlx::query(
        "SELECT form_id, version, definition, is_current, created_at FROM forms ORDER BY form_id, version DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let definition: String = col(&row, "definition")?;
        let form: FormDefinition =
            serde_json::from_str(&definition).map_err(|e| AppError::Internal(e.to_string()))?;
        out.push(crate::forms::FormVersion {
            id: col(&row, "form_id")?,
            version: col::<i64>(&row, "version")? as i32,
            title: form.title.clone(),
            fields: form.fields().count() as i64,
            current: col::<i64>(&row, "is_current")? != 0,
            created_at_ms: col(&row, "created_at")?,
        });
    }
    Ok(out)
}

pub async fn get<'c, E>(
    exec: E,
    form_id: &str,
    version: i64,
) -> Result<Option<FormDefinition>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT definition FROM forms WHERE form_id = $1 AND version = $2")
        .bind(form_id)
        .bind(version)
        .fetch_optional(exec)
        .await?;
    row.map(|r| {
        let s: String = col(&r, "definition")?;
        serde_json::from_str(&s)
            .map_err(|e| AppError::Internal(format!("stored form is not valid: {e}")))
    })
    .transpose()
}

/// Loads a form by its change-log id `form@version`.
pub async fn get_by_key<'c, E>(exec: E, key: &str) -> Result<Option<FormDefinition>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    match key.rsplit_once('@').map(|(id, v)| (id, v.parse::<i64>())) {
        Some((id, Ok(version))) => get(exec, id, version).await,
        _ => Ok(None),
    }
}

/// Whether a phone of this user should hold the form version `form@version`: the
/// current version, one an open year starts its visits on, or one a visit it
/// can see was made with (DESIGN.md, "Pull").
/// `owner` is None for supervisors, who see every visit.
pub async fn wanted(db: &super::Db, key: &str, owner: Option<&str>) -> Result<bool, AppError> {
    let Some((id, Ok(version))) = key.rsplit_once('@').map(|(id, v)| (id, v.parse::<i64>())) else {
        return Ok(false);
    };
    let row = sqlx::query(
        "SELECT 1 AS one FROM forms f WHERE f.form_id = $1 AND f.version = $2 AND (f.is_current = 1 OR EXISTS (
           SELECT 1 FROM visits v WHERE v.form_id = f.form_id AND v.form_version = f.version
             AND v.deleted_at IS NULL AND ($3 = '' OR v.owner_id = $3)) OR EXISTS (
           SELECT 1 FROM survey_years y WHERE y.is_open = 1 AND y.form_id = f.form_id AND y.form_version = f.version))",
    )
    .bind(id)
    .bind(version)
    .bind(owner.unwrap_or(""))
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.is_some())
}

/// Whether `form@version` is the current version of its form.
pub async fn is_current(tx: &mut super::Tx, form_id: &str, version: i64) -> Result<bool, AppError> {
    let row = sqlx::query("SELECT is_current FROM forms WHERE form_id = $1 AND version = $2")
        .bind(form_id)
        .bind(version)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => col::<i64>(&r, "is_current")? == 1,
        None => false,
    })
}
