//! `POST /api/sync/push` and `GET /api/sync/pull`. Order of checks: session
//! (401), body size and parsing (413/400), then the session's own phone and
//! device ownership (403).

use crate::routes::{parse_json, require_content_type};
use crate::security::limits::read_body;
use app::auth::session::Caller;
use app::error::AppError;
use app::model::Role;
use app::state::AppState;
use app::sync::{
    ExportFile, ImportResponse, PullResponse, PushRequest, PushResponse, MAX_PUSH_BYTES, PULL_PAGE,
};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

/// How long a push waits for its share of the bytes in flight.
const PUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Who syncs (the phone asks the same question before it pulls).
const SYNC_ROLES: &[Role] = app::model::FIELD_ROLES;

pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PushResponse>, AppError> {
    // The body's share of the pushes in flight, taken before it is read and
    // held until it is applied; a body of no declared length is charged the
    // most it may be.
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(MAX_PUSH_BYTES)
        .clamp(1, MAX_PUSH_BYTES);
    let runtime = state.runtime.clone();
    let _share = tokio::time::timeout(PUSH_WAIT, runtime.push_bytes.acquire_many(declared as u32))
        .await
        .map_err(|_| AppError::Busy {
            what: "other phones' changes",
            retry_after_s: 5,
        })?
        .map_err(|_| AppError::Internal("the push budget was closed".into()))?;
    let bytes = read_body(body, MAX_PUSH_BYTES, "push body (bytes)").await?;
    let request: PushRequest = parse_json(&headers, &bytes)?;
    caller.require(SYNC_ROLES)?;
    same_phone(&caller, &request.device_id.to_string())?;
    let response = app::store::push::push(&state.db, &state.clock, &caller.user, &request).await?;
    crate::telemetry::pushed(&response.results);
    Ok(Json(response))
}

/// A push comes from the phone its session was opened on, which must still
/// be allowed to sync. The store checks the device the body names (its
/// owner, its revocation); without this, a revoked phone's session could
/// push under another of its user's devices, or one it registered itself.
fn same_phone(caller: &Caller, device_id: &str) -> Result<(), AppError> {
    caller.require_live_device()?;
    match caller.device_id.as_deref() {
        Some(own) if own != device_id => Err(AppError::Forbidden(
            "this session was opened on another phone; log in again on this phone".into(),
        )),
        _ => Ok(()),
    }
}

/// Largest backup file `import` takes: a phone's whole outbox and the photos
/// it never sent after weeks offline (a downscaled photo is about 1 MB). It
/// is spooled to a temporary file, never held in memory: only the manifest,
/// the mutations and one photo at a time are.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024 * 1024;

/// Largest JSON backup (the older outbox file, which holds no photos): it
/// is parsed in memory.
const MAX_JSON_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

/// What an import refused for others in progress is told to wait: about one
/// import's time.
const IMPORT_RETRY_S: u64 = 20;

pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportResponse>, AppError> {
    // Taken before a byte of the body is read, held until the import is done.
    let runtime = state.runtime.clone();
    let _permit = runtime.imports.try_acquire().map_err(|_| AppError::Busy {
        what: "other backup imports",
        retry_after_s: IMPORT_RETRY_S,
    })?;
    require_content_type(
        &headers,
        &[
            "application/zip",
            "application/octet-stream",
            "application/json",
        ],
    )?;
    // A JSON file is parsed in memory: its own, smaller limit holds before a
    // byte is spooled.
    let sent_as_json = require_content_type(&headers, &["application/json"]).is_ok();
    let limit = if sent_as_json {
        MAX_JSON_IMPORT_BYTES as usize
    } else {
        MAX_IMPORT_BYTES
    };
    let (file, size) = spool(body, limit, "backup file (bytes)").await?;
    let file = std::sync::Arc::new(file);
    let head = read_at(&file, 0, size.min(4) as usize).await?;
    let zipped = app::sync::archive::looks_like_zip(&head);
    if !zipped && !sent_as_json {
        let why = "the file is not a ZIP archive: not a backup the app wrote";
        return Err(AppError::Invalid(
            app::error::ErrorBody::new("import.bad_archive", why)
                .with("detail", why)
                .with("reason", app::sync::archive::NOT_ZIP),
        ));
    }
    if !zipped && size > MAX_JSON_IMPORT_BYTES {
        // Sent as a ZIP, it is none: as JSON, the older outbox file.
        return Err(AppError::TooLarge {
            what: "JSON backup file (bytes)",
            limit: MAX_JSON_IMPORT_BYTES as usize,
        });
    }
    // Reading an archive (CRCs, JSON, an index of its entries) is CPU and
    // disk work: it runs on the blocking pool, within a time budget that
    // grows with the file, never on the async workers that answer everyone else.
    let parsing = file.clone();
    let json_headers = headers.clone();
    let budget = IMPORT_PARSE_BUDGET + std::time::Duration::from_secs(size / (50 << 20));
    let parsed = tokio::time::timeout(
        budget,
        tokio::task::spawn_blocking(move || -> Result<ParsedImport, AppError> {
            if !zipped {
                use app::sync::archive::Source;
                let bytes = parsing
                    .read_at(0, size as usize)
                    .ok_or_else(|| AppError::Internal("reading a spooled backup failed".into()))?;
                // A file saved by an editor that writes a byte-order mark.
                let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
                let file: ExportFile = parse_json(&json_headers, text)?;
                return Ok((file, Vec::new()));
            }
            let archive = app::sync::archive::Archive::open(&*parsing).map_err(bad_archive)?;
            let file = archive.export().map_err(bad_archive)?;
            let photos = archive.photos().map_err(bad_archive)?;
            Ok((file, photos))
        }),
    )
    .await
    .map_err(|_| {
        AppError::Invalid(app::error::ErrorBody::new(
            "import.too_slow",
            format!(
                "reading this backup took longer than {} seconds; it is not a phone's backup",
                budget.as_secs()
            ),
        ))
    })?
    .map_err(|e| AppError::Internal(format!("reading a backup stopped: {e}")))??;
    let (export, photos) = parsed;
    let mut response =
        app::store::push::import(&state.db, &state.clock, &caller.user, &export).await?;
    crate::telemetry::pushed(&response.results);
    // The archive's photo bytes, for photos its changes attached and that still
    // wait for them (the owner is the device's user, whoever imports). One
    // query finds which hashes wait; only those are read, one at a time, hashed
    // and stored.
    if !photos.is_empty() {
        let owner = app::store::users::device(&state.db, &export.device_id.to_string())
            .await?
            .map(|d| d.user_id);
        if let Some(owner) = owner {
            let waiting = app::store::photos::waiting_hashes(&state.db, &owner).await?;
            for (entry, range) in photos {
                if !waiting.contains(&entry.sha256) {
                    continue;
                }
                // No phone writes a photo past the store's limit; one that
                // claims to is not read into memory.
                if entry.size > state.photos.max_bytes {
                    tracing::warn!(
                        size = entry.size,
                        "a backup's photo is past the photo limit; skipped"
                    );
                    continue;
                }
                let bytes = read_at(&file, range.start, (range.end - range.start) as usize).await?;
                response.photos += crate::photo_bytes::receive_whole(
                    &state,
                    &owner,
                    &entry.sha256,
                    axum::body::Bytes::from(bytes),
                )
                .await? as u64;
            }
        }
    }
    Ok(Json(response))
}

/// The import format and, for an archive, where each listed photo's bytes are.
type ParsedImport = (
    ExportFile,
    Vec<(app::sync::archive::PhotoEntry, std::ops::Range<u64>)>,
);

/// How long reading one backup may take at least: a real 64 MB archive takes
/// about a second; a second more is allowed per 50 MB.
const IMPORT_PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Writes a body into an unnamed temporary file (gone when closed), up to
/// `limit` bytes: the size holds as it arrives, like `read_body`'s.
async fn spool(
    body: Body,
    limit: usize,
    what: &'static str,
) -> Result<(std::fs::File, u64), AppError> {
    use http_body_util::BodyExt;
    use tokio::io::AsyncWriteExt;
    let spool_error = |e: std::io::Error| {
        match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => AppError::Protocol {
            status: 507,
            body: app::error::ErrorBody::new(
                "storage.full",
                "the server has no room for this backup file now; keep the file and send it again later",
            ),
        },
        _ => AppError::Internal(format!("spooling a backup failed: {e}")),
    }
    };
    let file = tempfile::tempfile().map_err(spool_error)?;
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(
        file.try_clone().map_err(spool_error)?,
    ));
    let mut body = http_body_util::Limited::new(body, limit);
    let mut size = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| crate::security::limits::body_error(&*e, limit, what))?;
        if let Ok(data) = frame.into_data() {
            out.write_all(&data).await.map_err(spool_error)?;
            size += data.len() as u64;
        }
    }
    out.flush().await.map_err(spool_error)?;
    Ok((file, size))
}

/// `len` bytes of the spooled file from `at`, read off the async workers.
async fn read_at(
    file: &std::sync::Arc<std::fs::File>,
    at: u64,
    len: usize,
) -> Result<Vec<u8>, AppError> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || {
        use app::sync::archive::Source;
        file.read_at(at, len)
            .map(|b| b.into_owned())
            .ok_or_else(|| AppError::Internal("reading a spooled backup failed".into()))
    })
    .await
    .map_err(|e| AppError::Internal(format!("reading a backup stopped: {e}")))?
}

fn bad_archive(e: app::sync::archive::ArchiveError) -> AppError {
    let mut body = app::error::ErrorBody::new("import.bad_archive", e.to_string())
        .with("detail", e.to_string())
        .with("reason", e.reason());
    if let app::sync::archive::ArchiveError::TooNew(version) = e {
        body = body.with("version", version);
    }
    AppError::Invalid(body)
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    cursor: i64,
    limit: Option<usize>,
    /// The log epoch the phone last synced with (`sync.server_restored`).
    epoch: Option<String>,
}

pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PullResponse>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(format!("bad query: {e}")))?;
    caller.require(SYNC_ROLES)?;
    caller.require_live_device()?;
    if query.cursor < 0 {
        return Err(AppError::BadRequest("cursor cannot be negative".into()));
    }
    let limit = match query.limit {
        None => PULL_PAGE,
        Some(n) if (1..=PULL_PAGE).contains(&n) => n,
        Some(n) => {
            return Err(AppError::BadRequest(format!(
                "limit must be between 1 and {PULL_PAGE}, not {n}"
            )))
        }
    };
    let response = app::store::pull::pull(
        &state.db,
        &caller.user,
        query.cursor,
        limit,
        state.clock.now(),
        query.epoch.as_deref(),
    )
    .await?;
    crate::telemetry::pulled(response.changes.len());
    Ok(Json(response))
}
