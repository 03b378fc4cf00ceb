//! Photos: the `attach_photo` record, the image verdict, the photos waiting
//! for their bytes, and what the exports list. The tus upload state is in
//! `uploads`.
//!
//! One file (about 595 lines): every query here reads or writes the `photos`
//! table through the one column list and row reader at the top.

use super::{changes, col, now_ms, Db, Tx};
use crate::error::{AppError, ErrorBody};
use crate::photos::{PhotoRecord, PhotoStatus};
use sqlx::any::AnyRow;

const PHOTO_COLUMNS: &str = "id, visit_id, field, sha256, size, content_type, caption, caption_hlc, taken_at, time_source, lat, lon, accuracy_m, location_source, status, status_detail, warnings, width, height, created_at";

fn photo_of(row: &AnyRow) -> Result<PhotoRecord, AppError> {
    let status = PhotoStatus::parse(&col::<String>(row, "status")?);
    let detail: Option<String> = col(row, "status_detail")?;
    Ok(PhotoRecord {
        id: col(row, "id")?,
        visit_id: col(row, "visit_id")?,
        field: col(row, "field")?,
        sha256: col(row, "sha256")?,
        size: col(row, "size")?,
        content_type: col(row, "content_type")?,
        caption: col(row, "caption")?,
        caption_written: col::<Option<String>>(row, "caption_hlc")?
            .and_then(|h| crate::sync::Hlc::decode(&h)),
        taken_at_ms: col(row, "taken_at")?,
        time_source: col(row, "time_source")?,
        lat: col(row, "lat")?,
        lon: col(row, "lon")?,
        accuracy_m: col(row, "accuracy_m")?,
        location_source: col(row, "location_source")?,
        status,
        problem: detail.and_then(|d| serde_json::from_str(&d).ok()),
        warnings: col::<Option<String>>(row, "warnings")?
            .and_then(|w| serde_json::from_str(&w).ok())
            .unwrap_or_default(),
        width: col(row, "width")?,
        height: col(row, "height")?,
        created_at_ms: col(row, "created_at")?,
    })
}

/// A new photo as its first `attach_photo` describes it.
pub struct NewPhoto<'a> {
    pub id: &'a str,
    pub visit_id: &'a str,
    pub owner_id: &'a str,
    pub field: &'a str,
    pub sha256: &'a str,
    pub size: i64,
    pub content_type: &'a str,
    pub created_at: i64,
}

/// The metadata an `attach_photo` may set or change later.
#[derive(Default)]
pub struct PhotoMeta {
    pub caption: Option<Option<String>>,
    pub taken_at_ms: Option<Option<i64>>,
    pub time_source: Option<Option<String>>,
    pub lat: Option<Option<f64>>,
    pub lon: Option<Option<f64>>,
    pub accuracy_m: Option<Option<f64>>,
    pub location_source: Option<Option<String>>,
}

pub async fn insert(tx: &mut Tx, p: &NewPhoto<'_>) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO photos (id, visit_id, owner_id, field, sha256, size, content_type, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', $8, $8)",
    )
    .bind(p.id)
    .bind(p.visit_id)
    .bind(p.owner_id)
    .bind(p.field)
    .bind(p.sha256)
    .bind(p.size)
    .bind(p.content_type)
    .bind(p.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the metadata keys a change stamped `hlc` carried (one statement per
/// key: a change carries only what was edited). The caption is the last
/// writer's by stamp, like an answer: one stamped before the caption held is
/// left out, and its phone takes the held one on its next pull.
pub async fn set_meta(
    tx: &mut Tx,
    id: &str,
    meta: &PhotoMeta,
    hlc: crate::sync::Hlc,
) -> Result<(), AppError> {
    if let Some(caption) = &meta.caption {
        // Encoded stamps sort as the stamps do.
        sqlx::query(
            "UPDATE photos SET caption = $1, caption_hlc = $2, updated_at = $3
             WHERE id = $4 AND (caption_hlc IS NULL OR caption_hlc <= $2)",
        )
        .bind(caption.clone())
        .bind(hlc.encode())
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    macro_rules! set {
        ($value:expr, $column:literal) => {
            if let Some(v) = &$value {
                sqlx::query(concat!(
                    "UPDATE photos SET ",
                    $column,
                    " = $1, updated_at = $2 WHERE id = $3"
                ))
                .bind(v.clone())
                .bind(now_ms())
                .bind(id)
                .execute(&mut **tx)
                .await?;
            }
        };
    }
    set!(meta.taken_at_ms, "taken_at");
    set!(meta.time_source, "time_source");
    set!(meta.lat, "lat");
    set!(meta.lon, "lon");
    set!(meta.accuracy_m, "accuracy_m");
    set!(meta.location_source, "location_source");
    Ok(())
}

pub async fn mark_deleted(tx: &mut Tx, id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE photos SET deleted_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How many photos a visit's field holds, removed ones aside
/// (`crate::photos::MAX_PER_FIELD`).
pub async fn live_in_field(tx: &mut Tx, visit_id: &str, field: &str) -> Result<i64, AppError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM photos WHERE visit_id = $1 AND field = $2 AND deleted_at IS NULL",
    )
    .bind(visit_id)
    .bind(field)
    .fetch_one(&mut **tx)
    .await?;
    col(&row, "n")
}

/// What a change to an existing photo is checked against.
pub struct PhotoHead {
    pub visit_id: String,
    pub field: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub deleted: bool,
}

pub async fn head(tx: &mut Tx, id: &str) -> Result<Option<PhotoHead>, AppError> {
    let row = sqlx::query(
        "SELECT visit_id, field, sha256, size, content_type, deleted_at FROM photos WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(PhotoHead {
            visit_id: col(&r, "visit_id")?,
            field: col(&r, "field")?,
            sha256: col(&r, "sha256")?,
            size: col(&r, "size")?,
            content_type: col(&r, "content_type")?,
            deleted: col::<Option<i64>>(&r, "deleted_at")?.is_some(),
        })
    })
    .transpose()
}

/// The live photos of a visit, oldest first (they travel inside the visit).
pub async fn for_visit<'c, E>(exec: E, visit_id: &str) -> Result<Vec<PhotoRecord>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {PHOTO_COLUMNS} FROM photos WHERE visit_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
    );
    sqlx::query(&sql)
        .bind(visit_id)
        .fetch_all(exec)
        .await?
        .iter()
        .map(photo_of)
        .collect()
}

/// Who may see or send a photo: its visit's owner, scope and state.
#[derive(Debug, Clone)]
pub struct PhotoAccess {
    pub owner_id: String,
    pub unit_path: Option<String>,
    pub deleted: bool,
    /// Where the original is, once bytes and hash matched.
    pub object_key: Option<String>,
}

/// A photo with what its access checks need.
pub async fn get(db: &Db, id: &str) -> Result<Option<(PhotoRecord, PhotoAccess)>, AppError> {
    let sql = format!(
        "SELECT {cols}, p.deleted_at AS photo_deleted, p.object_key, v.owner_id AS visit_owner, v.unit_path, v.deleted_at AS visit_deleted
         FROM photos p JOIN visits v ON v.id = p.visit_id WHERE p.id = $1",
        cols = PHOTO_COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await? else {
        return Ok(None);
    };
    let access = PhotoAccess {
        owner_id: col(&row, "visit_owner")?,
        unit_path: col(&row, "unit_path")?,
        deleted: col::<Option<i64>>(&row, "photo_deleted")?.is_some()
            || col::<Option<i64>>(&row, "visit_deleted")?.is_some(),
        object_key: col(&row, "object_key")?,
    };
    Ok(Some((photo_of(&row)?, access)))
}

/// The image pipeline's answer about one photo.
pub struct Verdict {
    pub status: PhotoStatus,
    pub problem: Option<ErrorBody>,
    /// Things a reviewer should know about a usable photo.
    pub warnings: Vec<ErrorBody>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub exif_taken_at: Option<i64>,
    pub exif_lat: Option<f64>,
    pub exif_lon: Option<f64>,
}

/// Bytes and hash matched: the original is stored under `object_key`; the
/// pipeline runs next (and again after a restart while the status is `received`).
pub async fn set_received(db: &Db, id: &str, object_key: &str) -> Result<(), AppError> {
    set_received_finishing(db, id, object_key, None).await
}

/// `set_received`, and the upload that brought the bytes marked complete in
/// the same transaction: a stop between the two left an upload that said
/// "done" to its phone beside a photo that waited for ever.
pub async fn set_received_finishing(
    db: &Db,
    id: &str,
    object_key: &str,
    upload_id: Option<&str>,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    if let Some(upload) = upload_id {
        sqlx::query("UPDATE uploads SET completed_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(upload)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE photos SET status = 'received', object_key = $1, status_detail = NULL, updated_at = $2 WHERE id = $3",
    )
    .bind(object_key)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    touch_visit_of(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Records the verdict and tells phones to pull the visit again. A photo the
/// record did not date or place takes its time and position from its own EXIF.
pub async fn set_verdict(db: &Db, id: &str, v: &Verdict) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let detail = v
        .problem
        .as_ref()
        .map(|p| serde_json::to_string(p).unwrap_or_default());
    sqlx::query(
        "UPDATE photos SET status = $1, status_detail = $2, width = $3, height = $4,
           exif_taken_at = $5, exif_lat = $6, exif_lon = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(v.status.as_str())
    .bind(detail)
    .bind(v.width)
    .bind(v.height)
    .bind(v.exif_taken_at)
    .bind(v.exif_lat)
    .bind(v.exif_lon)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE photos SET taken_at = exif_taken_at, time_source = 'exif' WHERE id = $1 AND taken_at IS NULL AND exif_taken_at IS NOT NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE photos SET lat = exif_lat, lon = exif_lon, location_source = 'exif' WHERE id = $1 AND lat IS NULL AND exif_lat IS NOT NULL AND exif_lon IS NOT NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let mut warnings = v.warnings.clone();
    if v.status == PhotoStatus::Ok {
        warnings.extend(capture_long_before_visit(&mut tx, id).await?);
    }
    let warnings =
        (!warnings.is_empty()).then(|| serde_json::to_string(&warnings).unwrap_or_default());
    sqlx::query("UPDATE photos SET warnings = $1 WHERE id = $2")
        .bind(warnings)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    touch_visit_of(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// A photo dated by its EXIF (the file's or the phone's reading of it) more
/// than a year before its visit began: perhaps an old picture, not today's.
async fn capture_long_before_visit(tx: &mut Tx, id: &str) -> Result<Option<ErrorBody>, AppError> {
    let row = sqlx::query(
        "SELECT p.taken_at, p.time_source, v.created_at FROM photos p JOIN visits v ON v.id = p.visit_id WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let taken: Option<i64> = col(&r, "taken_at")?;
    let source: Option<String> = col(&r, "time_source")?;
    let visit_started: i64 = col(&r, "created_at")?;
    Ok(taken
        .filter(|t| {
            source.as_deref() == Some("exif")
                && *t < visit_started - crate::photos::OLD_CAPTURE_WARNING_MS
        })
        .map(|t| {
            let days = (visit_started - t) / 86_400_000;
            ErrorBody::new(
                "photo.taken_long_before_visit",
                format!("the photo's EXIF says it was taken {days} days before the visit began"),
            )
            .with("days", days)
        }))
}

/// A change-log entry for the photo's visit: the status travels inside it.
async fn touch_visit_of(tx: &mut Tx, photo_id: &str) -> Result<(), AppError> {
    let row = sqlx::query(
        "SELECT v.id, v.unit_path, v.owner_id FROM photos p JOIN visits v ON v.id = p.visit_id WHERE p.id = $1",
    )
    .bind(photo_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = row {
        let id: String = col(&r, "id")?;
        let path: Option<String> = col(&r, "unit_path")?;
        let owner: String = col(&r, "owner_id")?;
        changes::append(tx, "visit", &id, path.as_deref(), Some(&owner)).await?;
    }
    Ok(())
}

/// Photos whose bytes arrived but whose verdict was never written (the server
/// stopped mid-pipeline): start-up runs the pipeline on them again.
pub async fn awaiting_verdict(
    db: &Db,
    received_before: i64,
) -> Result<Vec<(String, String)>, AppError> {
    sqlx::query(
        "SELECT id, object_key FROM photos WHERE status = 'received' AND object_key IS NOT NULL
           AND (updated_at IS NULL OR updated_at < $1)",
    )
    .bind(received_before)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((col(r, "id")?, col(r, "object_key")?)))
    .collect()
}

/// Photos still waiting whose upload says it completed: left by a stop
/// between the two writes before they shared a transaction. (id, sha256).
pub async fn waiting_after_completed_upload(db: &Db) -> Result<Vec<(String, String)>, AppError> {
    sqlx::query(
        "SELECT p.id, p.sha256 FROM photos p WHERE p.status = 'waiting' AND p.object_key IS NULL
           AND p.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM uploads u WHERE u.photo_id = p.id AND u.completed_at IS NOT NULL)",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((col(r, "id")?, col(r, "sha256")?)))
    .collect()
}

/// Photos of `owner_id` still waiting for these bytes (a backup archive brings
/// them when the phone could not upload).
pub async fn waiting_by_hash(
    db: &Db,
    sha256: &str,
    owner_id: &str,
) -> Result<Vec<String>, AppError> {
    sqlx::query(
        "SELECT id FROM photos WHERE sha256 = $1 AND owner_id = $2 AND status = 'waiting' AND deleted_at IS NULL",
    )
    .bind(sha256)
    .bind(owner_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| col(r, "id"))
    .collect()
}

/// The hashes of an owner's photos still waiting for their bytes.
pub async fn waiting_hashes(
    db: &Db,
    owner_id: &str,
) -> Result<std::collections::HashSet<String>, AppError> {
    sqlx::query(
        "SELECT DISTINCT sha256 FROM photos WHERE owner_id = $1 AND status = 'waiting' AND deleted_at IS NULL",
    )
    .bind(owner_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| col(r, "sha256"))
    .collect()
}

/// A stored photo as an export lists it: where its bytes are and what it shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportPhoto {
    pub photo_id: String,
    pub visit_id: String,
    pub proposal_id: Option<String>,
    pub proposal_title: Option<String>,
    pub facility: Option<String>,
    pub district_code: Option<String>,
    pub district: Option<String>,
    pub caption: Option<String>,
    pub taken_at_ms: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    /// `ok` for a photo in the ZIP; otherwise why it is not there yet.
    pub status: PhotoStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    #[serde(skip)]
    pub object_key: Option<String>,
}

impl ExportPhoto {
    /// A usable image whose original is stored: the ones a ZIP can hold.
    pub fn has_original(&self) -> bool {
        self.status == PhotoStatus::Ok && self.object_key.is_some()
    }
}

/// Which photos an export takes: those of one proposal, or of a district
/// (optionally one year's proposals).
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoScope {
    Proposal(String),
    /// The visits of a review list, in its order.
    Visits(Vec<String>),
    /// A unit's key ("tree/code", or a bare code of the oldest tree).
    District {
        code: String,
        year: Option<i32>,
    },
}

/// What every photo export reads. A tree without districts (2025) files a
/// visit under its commune, as the review list does.
const EXPORT_SELECT: &str =
    "SELECT ph.id, ph.visit_id, v.proposal_id, p.title, f.name AS facility, v.district_code,
            COALESCE(d.kind, c.kind) AS district_kind, COALESCE(d.name, c.name) AS district_name,
            ph.caption, ph.taken_at, ph.lat, ph.lon,
            ph.sha256, ph.size, ph.content_type, ph.status, ph.status_detail, ph.object_key
     FROM photos ph
     JOIN visits v ON v.id = ph.visit_id
     LEFT JOIN proposals p ON p.id = v.proposal_id
     LEFT JOIN facilities f ON f.id = v.facility_id
     LEFT JOIN admin_units d ON d.tree = v.unit_tree AND d.code = v.district_code
     LEFT JOIN admin_units c ON c.tree = v.unit_tree AND c.code = COALESCE(p.commune_code, f.commune_code)
     WHERE ph.deleted_at IS NULL AND v.deleted_at IS NULL";

/// The photos of live visits in scope, by district, proposal, visit and
/// capture order: the usable ones (`has_original`) and, so that an export
/// can say what it lacks, those whose bytes have not arrived, are still being
/// checked, or were not a usable image.
pub async fn for_export(db: &super::Db, scope: &PhotoScope) -> Result<Vec<ExportPhoto>, AppError> {
    let (clause, key, year) = match scope {
        PhotoScope::Visits(ids) => return of_visits(db, ids).await,
        PhotoScope::Proposal(id) => ("v.proposal_id = $1", id.clone(), None),
        PhotoScope::District { code, year } => {
            // Everything under the unit: a 2020 district, or a 2025 commune.
            let path = match super::units::get(&db.pool, code).await? {
                Some(unit) => super::units::path_of_unit(db, &unit.tree, &unit.code).await?,
                None => None,
            };
            let Some(path) = path else {
                return Ok(Vec::new());
            };
            ("v.unit_path LIKE $1 || '%'", path, *year)
        }
    };
    let year_clause = if year.is_some() {
        "AND p.year = $2"
    } else {
        ""
    };
    let sql = format!(
        "{EXPORT_SELECT} AND {clause} {year_clause}
         ORDER BY v.district_code, p.title, v.received_at, ph.taken_at IS NULL, ph.taken_at, ph.created_at, ph.id"
    );
    let mut query = sqlx::query(&sql).bind(key);
    if let Some(y) = year {
        query = query.bind(i64::from(y));
    }
    query
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(export_photo)
        .collect()
}

/// The photos of the given visits, in the visits' order, then capture order.
async fn of_visits(db: &super::Db, ids: &[String]) -> Result<Vec<ExportPhoto>, AppError> {
    let mut photos = Vec::new();
    // A bounded statement per 500 visits (SQLite's limit on parameters).
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "{EXPORT_SELECT} AND v.id IN ({}) ORDER BY ph.taken_at IS NULL, ph.taken_at, ph.created_at, ph.id",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        for r in query.fetch_all(&db.pool).await? {
            photos.push(export_photo(&r)?);
        }
    }
    let place: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    photos.sort_by_key(|p| place.get(p.visit_id.as_str()).copied());
    Ok(photos)
}

fn export_photo(r: &sqlx::any::AnyRow) -> Result<ExportPhoto, AppError> {
    let kind: Option<String> = col(r, "district_kind")?;
    let name: Option<String> = col(r, "district_name")?;
    Ok(ExportPhoto {
        photo_id: col(r, "id")?,
        visit_id: col(r, "visit_id")?,
        proposal_id: col(r, "proposal_id")?,
        proposal_title: col(r, "title")?,
        facility: col(r, "facility")?,
        district_code: col(r, "district_code")?,
        district: name.map(|n| format!("{} {n}", kind.unwrap_or_default())),
        caption: col(r, "caption")?,
        taken_at_ms: col(r, "taken_at")?,
        lat: col(r, "lat")?,
        lon: col(r, "lon")?,
        sha256: col(r, "sha256")?,
        size: col(r, "size")?,
        content_type: col(r, "content_type")?,
        status: PhotoStatus::parse(&col::<String>(r, "status")?),
        status_detail: col(r, "status_detail")?,
        object_key: col(r, "object_key")?,
    })
}
