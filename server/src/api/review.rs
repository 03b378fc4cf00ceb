//! `POST /api/visits/{id}/review`: a supervisor sends a submitted visit back
//! (with a comment), approves or rejects it. A command checked against the
//! visit's current state, never a field a phone could overwrite.

use crate::routes::parse_json;
use app::auth::session::Caller;
use app::error::AppError;
use app::model::{ReviewState, VisitRecord};
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub to: ReviewState,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    /// How many review events the deciding page showed: with more now (the
    /// visit was sent back and submitted again meanwhile), 409 review.changed.
    #[serde(default)]
    pub seen_events: Option<usize>,
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Json<VisitRecord>, AppError> {
    let bytes =
        crate::security::limits::read_body(body, super::REVIEW_BODY, "review body (bytes)").await?;
    let decision: Decision = parse_json(&headers, &bytes)?;
    app::store::review::decide(
        &state.db,
        &caller.user,
        &id,
        decision.to,
        decision.comment.as_deref(),
        decision.field.as_deref(),
        decision.seen_events,
        caller.ip.map(|ip| ip.to_string()).as_deref(),
    )
    .await?;
    let (visit, _) = app::store::visits::record(&state.db.pool, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("visit".into()))?;
    Ok(Json(visit))
}
