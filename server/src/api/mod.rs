//! `/api/*`: thin handlers that parse, authorize and call the store.

/// Login and logout.
pub mod auth;
/// The OpenAPI document of the sync API.
pub mod openapi;
/// Review decisions on visits.
pub mod review;
/// Push, pull and import.
pub mod sync;

use app::state::AppState;
use app::store::Engine;
use app::sync::Health;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/sync/push", post(sync::push))
        .route("/sync/pull", get(sync::pull))
        .route("/sync/import", post(sync::import))
        .route("/visits/{id}/review", post(review::decide))
        .route("/openapi.json", get(openapi::serve))
        .fallback(|| async { app::error::AppError::NotFound("API endpoint".into()) })
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, app::error::AppError> {
    state.db.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        engine: match state.db.engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        }
        .into(),
    }))
}
