//! `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/auth/me`,
//! `POST /api/auth/password`.

use crate::routes::parse_json;
use crate::security::client_addr::ClientAddr;
use app::auth::session::{self, Caller};
use app::error::AppError;
use app::state::AppState;
use app::store::audit::{self, Actor};
use app::store::login_limits::{self, Scope};
use app::sync::{ChangePasswordRequest, LoginRequest, LoginResponse};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::json;

/// Largest login or password body read; anything bigger is not a login.
const AUTH_BODY_LIMIT: usize = super::AUTH_BODY;

/// Reads a login or password body, never more than `AUTH_BODY_LIMIT` bytes.
async fn read(body: Body, what: &'static str) -> Result<axum::body::Bytes, AppError> {
    crate::security::limits::read_body(body, AUTH_BODY_LIMIT, what).await
}

/// Logs in. Rate limited per account and per client address (see
/// `store::login_limits`); a locked key is refused before the password is
/// checked. Any session the request carried is replaced, never reused.
pub async fn login(
    State(state): State<AppState>,
    Extension(ClientAddr(ip)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, AppError> {
    let body = read(body, "login body").await?;
    let request: LoginRequest = parse_json(&headers, &body)?;
    let typed = app::domain::Username::normalize(&request.username);
    // The failure counter belongs to the account a name resolves to, so its
    // spellings (username, 0912…, +84 912…, 0912.345.678) share five guesses;
    // a name that is no account keeps a counter of its own.
    let found = app::store::users::find_login(&state.db, &request.username).await?;
    let account = found
        .as_ref()
        .map(app::store::users::LoginAccount::limit_key)
        .unwrap_or_else(|| typed.clone());
    let address = ip.map(|ip| ip.to_string());
    let mut keys = vec![(Scope::Account, account.as_str())];
    if let Some(address) = &address {
        keys.push((Scope::Address, address.as_str()));
    }
    let now = app::store::now_ms();
    if let Some(retry_after_s) = login_limits::locked_for(&state.db, &keys, now).await? {
        return Err(AppError::RateLimited { retry_after_s });
    }
    let ok = match app::store::users::check_password_of(&state.db, found, &request.password).await {
        Ok(ok) => ok,
        Err(AppError::BadCredentials) => {
            login_limits::record_failure(&state.db, &keys, now).await?;
            let actor = Actor {
                user_id: None,
                ip: address.clone(),
            };
            // The attempted name, cut short: a password typed into the username
            // box should not sit in the audit trail whole.
            let attempted: String = typed.chars().take(64).collect();
            audit::record(
                &state.db.pool,
                &actor,
                "auth.login_failed",
                "user",
                &attempted,
                json!({"username": attempted}),
            )
            .await?;
            return Err(AppError::BadCredentials);
        }
        Err(e) => return Err(e),
    };
    login_limits::clear(&state.db, Scope::Account, &account).await?;
    let device_id = request.device_id.map(|d| d.to_string());
    if let Some(device) = &device_id {
        app::store::users::bind_device(&state.db, &ok.user.id, device).await?;
    }
    let token = app::store::users::open_session(
        &state.db,
        &ok.user.id,
        device_id.as_deref(),
        state.security.session_ttl_ms,
        session::token(&headers).as_deref(),
    )
    .await?;
    let actor = Actor {
        user_id: Some(ok.user.id.clone()),
        ip: address,
    };
    audit::record(
        &state.db.pool,
        &actor,
        "auth.login",
        "user",
        &ok.user.id,
        json!({"device_id": device_id}),
    )
    .await?;
    let cookie = session::set_cookie(&token, &state.security);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoginResponse {
            user: ok.user,
            device_id: request.device_id,
            must_change_password: ok.must_change_password,
        }),
    ))
}

pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    app::store::users::close_session(&state.db, &caller.token).await?;
    audit::record(
        &state.db.pool,
        &caller.audit(),
        "auth.logout",
        "user",
        &caller.user.id,
        json!({}),
    )
    .await?;
    Ok((
        [(header::SET_COOKIE, session::clear_cookie(&state.security))],
        Json(json!({"status": "ok"})),
    ))
}

pub async fn me(caller: Caller) -> Json<app::sync::MeResponse> {
    Json(app::sync::MeResponse {
        user: caller.user,
        must_change_password: caller.must_change_password,
    })
}

/// Changes the caller's own password; their other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, AppError> {
    let body = read(body, "password body").await?;
    let request: ChangePasswordRequest = parse_json(&headers, &body)?;
    app::store::accounts::change_password(
        &state.db,
        &caller.audit(),
        &caller.user.id,
        &request.current_password,
        &request.new_password,
        &caller.token_hash,
    )
    .await?;
    Ok(Json(json!({"status": "ok"})))
}
