//! Resumable uploads: the tus state (offset, length, expiry, end) that every
//! server process shares, so an upload resumes on any of them.

use super::{col, now_ms, Db};
use crate::error::AppError;
use sqlx::any::AnyRow;

/// One tus upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: String,
    pub photo_id: String,
    pub user_id: String,
    pub length: i64,
    pub offset: i64,
    /// The client's `Upload-Metadata` header, as sent (echoed by HEAD).
    pub metadata: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    /// Terminated, expired or refused: answers 410 from then on.
    pub ended_at: Option<i64>,
}

fn upload_of(r: &AnyRow) -> Result<Upload, AppError> {
    Ok(Upload {
        id: col(r, "id")?,
        photo_id: col(r, "photo_id")?,
        user_id: col(r, "user_id")?,
        length: col(r, "length")?,
        offset: col(r, "upload_offset")?,
        metadata: col(r, "metadata")?,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
        completed_at: col(r, "completed_at")?,
        ended_at: col(r, "ended_at")?,
    })
}

pub async fn create_upload(db: &Db, u: &Upload) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO uploads (id, photo_id, user_id, length, upload_offset, metadata, created_at, expires_at, completed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&u.id)
    .bind(&u.photo_id)
    .bind(&u.user_id)
    .bind(u.length)
    .bind(u.offset)
    .bind(&u.metadata)
    .bind(u.created_at)
    .bind(u.expires_at)
    .bind(u.completed_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Ends the unfinished uploads of a photo but its newest `keep`, returning
/// their ids (for their partial bytes to be dropped): a phone that lost an
/// upload's URL makes a new one, and a client that makes one after another
/// must not leave a photo-sized file behind each time for a week.
pub async fn end_all_but_newest(
    db: &Db,
    photo_id: &str,
    keep: usize,
) -> Result<Vec<String>, AppError> {
    let live: Vec<String> = sqlx::query(
        "SELECT id FROM uploads WHERE photo_id = $1 AND completed_at IS NULL AND ended_at IS NULL
         ORDER BY created_at DESC, id DESC",
    )
    .bind(photo_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| col::<String>(r, "id"))
    .collect::<Result<_, _>>()?;
    let ended: Vec<String> = live.into_iter().skip(keep).collect();
    for id in &ended {
        end_upload(db, id).await?;
    }
    Ok(ended)
}

pub async fn upload(db: &Db, id: &str) -> Result<Option<Upload>, AppError> {
    sqlx::query("SELECT * FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(upload_of)
        .transpose()
}

/// Moves the acknowledged offset from `from` to `to`; false when another
/// request moved it first (the caller answers 409).
pub async fn advance(db: &Db, id: &str, from: i64, to: i64) -> Result<bool, AppError> {
    let done = sqlx::query(
        "UPDATE uploads SET upload_offset = $1 WHERE id = $2 AND upload_offset = $3 AND ended_at IS NULL",
    )
    .bind(to)
    .bind(id)
    .bind(from)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every completed upload of a photo whose bytes were never stored, so
/// the phone's next HEAD is a 410 and it sends the file again.
pub async fn end_completed_of_photo(db: &Db, photo_id: &str) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE uploads SET ended_at = $1 WHERE photo_id = $2 AND completed_at IS NOT NULL AND ended_at IS NULL",
    )
    .bind(now_ms())
    .bind(photo_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Ends an upload (terminated, or refused because the whole file's hash did
/// not match): it answers 410 from now on.
pub async fn end_upload(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE uploads SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Unfinished uploads past their expiry, to end and whose partial bytes to drop.
pub async fn expired_uploads(db: &Db, now: i64) -> Result<Vec<String>, AppError> {
    sqlx::query(
        "SELECT id FROM uploads WHERE expires_at < $1 AND completed_at IS NULL AND ended_at IS NULL",
    )
    .bind(now)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| col(r, "id"))
    .collect()
}

/// Uploads with every byte acknowledged that never finished (the server
/// stopped between the last byte and the verdict).
pub async fn stalled_uploads(db: &Db) -> Result<Vec<Upload>, AppError> {
    sqlx::query(
        "SELECT * FROM uploads WHERE upload_offset = length AND completed_at IS NULL AND ended_at IS NULL",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(upload_of)
    .collect()
}
