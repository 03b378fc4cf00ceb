//! `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/auth/me`.

use crate::routes::parse_json;
use app::auth::session;
use app::error::AppError;
use app::state::AppState;
use app::sync::{LoginRequest, LoginResponse};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Json;

/// Largest login body read; anything bigger is not a login.
const LOGIN_BODY_LIMIT: usize = 4 * 1024;

pub async fn login(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    if body.len() > LOGIN_BODY_LIMIT {
        return Err(AppError::TooLarge {
            what: "login body",
            limit: LOGIN_BODY_LIMIT,
        });
    }
    let request: LoginRequest = parse_json(&body)?;
    let user =
        app::store::users::authenticate(&state.db, &request.username, &request.password).await?;
    let device_id = request.device_id.map(|d| d.to_string());
    if let Some(device) = &device_id {
        app::store::users::bind_device(&state.db, &user.id, device).await?;
    }
    let token = app::store::users::open_session(&state.db, &user.id, device_id.as_deref()).await?;
    let cookie = session::set_cookie(&token, state.secure_cookies);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoginResponse {
            user,
            device_id: request.device_id,
        }),
    ))
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    if let Some(token) = session::token(&headers) {
        app::store::users::close_session(&state.db, &token).await?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            session::clear_cookie(state.secure_cookies),
        )],
        Json(serde_json::json!({"status": "ok"})),
    ))
}

pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let user = session::user_from_headers(&state, &headers).await?;
    Ok(Json(user))
}
