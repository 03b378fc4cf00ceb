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

/// Largest backup file `import` reads: a phone's whole outbox after weeks offline.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

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
    let bytes = read_body(body, MAX_IMPORT_BYTES, "backup file (bytes)").await?;
    // Reading a 64 MB archive (CRCs, JSON, an index of its entries) is CPU
    // work: it runs on the blocking pool, within a time budget, never on the
    // async workers that answer everyone else.
    let zipped = app::sync::archive::looks_like_zip(&bytes);
    let sent_as_json = require_content_type(&headers, &["application/json"]).is_ok();
    if !zipped && !sent_as_json {
        let why = "the file is not a ZIP archive: not a backup the app wrote";
        return Err(AppError::Invalid(
            app::error::ErrorBody::new("import.bad_archive", why)
                .with("detail", why)
                .with("reason", app::sync::archive::NOT_ZIP),
        ));
    }
    let parsing = bytes.clone();
    let json_headers = headers.clone();
    let parsed = tokio::time::timeout(
        IMPORT_PARSE_BUDGET,
        tokio::task::spawn_blocking(move || -> Result<ParsedImport, AppError> {
            if !zipped {
                // A file saved by an editor that writes a byte-order mark.
                let text = parsing.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&parsing);
                let file: ExportFile = parse_json(&json_headers, text)?;
                return Ok((file, Vec::new()));
            }
            let archive = app::sync::archive::Archive::open(&parsing).map_err(bad_archive)?;
            let file = archive.export().map_err(bad_archive)?;
            let base = parsing.as_ptr() as usize;
            let photos = archive
                .photos()
                .map_err(bad_archive)?
                .into_iter()
                .map(|(entry, data)| {
                    let at = data.as_ptr() as usize - base;
                    (entry, at..at + data.len())
                })
                .collect();
            Ok((file, photos))
        }),
    )
    .await
    .map_err(|_| {
        AppError::Invalid(app::error::ErrorBody::new(
            "import.too_slow",
            format!(
                "reading this backup took longer than {} seconds; it is not a phone's backup",
                IMPORT_PARSE_BUDGET.as_secs()
            ),
        ))
    })?
    .map_err(|e| AppError::Internal(format!("reading a backup stopped: {e}")))??;
    let (file, photos) = parsed;
    let mut response =
        app::store::push::import(&state.db, &state.clock, &caller.user, &file).await?;
    crate::telemetry::pushed(&response.results);
    // The archive's photo bytes, for photos its changes attached and that still
    // wait for them (the owner is the device's user, whoever imports). One
    // query finds which hashes wait; only those are hashed and stored.
    if !photos.is_empty() {
        let owner = app::store::users::device(&state.db, &file.device_id.to_string())
            .await?
            .map(|d| d.user_id);
        if let Some(owner) = owner {
            let waiting = app::store::photos::waiting_hashes(&state.db, &owner).await?;
            for (entry, range) in photos {
                if !waiting.contains(&entry.sha256) {
                    continue;
                }
                response.photos += crate::photo_bytes::receive_whole(
                    &state,
                    &owner,
                    &entry.sha256,
                    bytes.slice(range),
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
    Vec<(app::sync::archive::PhotoEntry, std::ops::Range<usize>)>,
);

/// How long reading one backup may take: a real 64 MB archive takes about a second.
const IMPORT_PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

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
