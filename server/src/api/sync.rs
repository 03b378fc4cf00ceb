//! `POST /api/sync/push` and `GET /api/sync/pull`. Order of checks: session
//! (401), body size and parsing (413/400), then device ownership (403) in the store.

use crate::routes::parse_json;
use app::auth::session::Caller;
use app::error::AppError;
use app::model::Role;
use app::state::AppState;
use app::sync::{
    ExportFile, ImportResponse, PullResponse, PushRequest, PushResponse, MAX_PUSH_BYTES, PULL_PAGE,
};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

/// Who syncs: inspectors, and supervisors who also go to the field. An
/// administrator-only account has no field data.
const SYNC_ROLES: &[Role] = &[Role::Inspector, Role::Supervisor];

pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Json<PushResponse>, AppError> {
    let bytes = axum::body::to_bytes(body, MAX_PUSH_BYTES)
        .await
        .map_err(|_| AppError::TooLarge {
            what: "push body (bytes)",
            limit: MAX_PUSH_BYTES,
        })?;
    let request: PushRequest = parse_json(&bytes)?;
    caller.require(SYNC_ROLES)?;
    let response = app::store::push::push(&state.db, &state.clock, &caller.user, &request).await?;
    Ok(Json(response))
}

/// Largest backup file `import` reads: a phone's whole outbox after weeks offline.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Json<ImportResponse>, AppError> {
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| AppError::TooLarge {
            what: "backup file (bytes)",
            limit: MAX_IMPORT_BYTES,
        })?;
    // The phone's backup is a ZIP archive; the earlier JSON file still imports.
    let file: ExportFile = if app::sync::archive::looks_like_zip(&bytes) {
        app::sync::archive::read_export(&bytes).map_err(|e| {
            AppError::Invalid(
                app::error::ErrorBody::new("import.bad_archive", e.to_string())
                    .with("detail", e.to_string()),
            )
        })?
    } else {
        parse_json(&bytes)?
    };
    let mut response =
        app::store::push::import(&state.db, &state.clock, &caller.user, &file).await?;
    // The archive's photo bytes, for photos its changes attached and that still
    // wait for them (the owner is the device's user, whoever imports).
    if app::sync::archive::looks_like_zip(&bytes) {
        let owner = app::store::users::device(&state.db, &file.device_id.to_string())
            .await?
            .map(|d| d.user_id);
        if let (Some(owner), Ok(photos)) = (owner, app::sync::archive::read_photos(&bytes)) {
            for (entry, data) in photos {
                response.photos +=
                    crate::api::uploads::receive_whole(&state, &owner, &entry.sha256, data).await?
                        as u64;
            }
        }
    }
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    cursor: i64,
    limit: Option<usize>,
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
    let limit = query.limit.unwrap_or(PULL_PAGE).clamp(1, PULL_PAGE);
    let response = app::store::pull::pull(
        &state.db,
        &caller.user,
        query.cursor,
        limit,
        state.clock.now(),
    )
    .await?;
    Ok(Json(response))
}
