//! `POST /api/sync/push` and `GET /api/sync/pull`. Order of checks: session
//! (401), body size and parsing (413/400), then device ownership (403) in the store.

use crate::routes::parse_json;
use app::auth::session;
use app::error::AppError;
use app::state::AppState;
use app::sync::{
    ExportFile, ImportResponse, PullResponse, PushRequest, PushResponse, MAX_PUSH_BYTES, PULL_PAGE,
};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

pub async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PushResponse>, AppError> {
    let user = session::user_from_headers(&state, &headers).await?;
    let bytes = axum::body::to_bytes(body, MAX_PUSH_BYTES)
        .await
        .map_err(|_| AppError::TooLarge {
            what: "push body (bytes)",
            limit: MAX_PUSH_BYTES,
        })?;
    let request: PushRequest = parse_json(&bytes)?;
    let response = app::store::push::push(&state.db, &state.clock, &user, &request).await?;
    Ok(Json(response))
}

/// Largest backup file `import` reads: a phone's whole outbox after weeks offline.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

pub async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportResponse>, AppError> {
    let user = session::user_from_headers(&state, &headers).await?;
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| AppError::TooLarge {
            what: "backup file (bytes)",
            limit: MAX_IMPORT_BYTES,
        })?;
    let file: ExportFile = parse_json(&bytes)?;
    let response = app::store::push::import(&state.db, &state.clock, &user, &file).await?;
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
    headers: HeaderMap,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PullResponse>, AppError> {
    let user = session::user_from_headers(&state, &headers).await?;
    let Query(query) = query.map_err(|e| AppError::BadRequest(format!("bad query: {e}")))?;
    if query.cursor < 0 {
        return Err(AppError::BadRequest("cursor cannot be negative".into()));
    }
    let limit = query.limit.unwrap_or(PULL_PAGE).clamp(1, PULL_PAGE);
    let response =
        app::store::pull::pull(&state.db, &user, query.cursor, limit, state.clock.now()).await?;
    Ok(Json(response))
}
