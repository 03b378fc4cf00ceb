//! `POST /api/auth/login` (JSON from the app, or the login page's own HTML
//! form before the app has loaded), `POST /api/auth/device`,
//! `POST /api/auth/logout`, `GET /api/auth/me`, `POST /api/auth/password`.

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
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

/// Largest login or password body read; anything bigger is not a login.
const AUTH_BODY_LIMIT: usize = super::AUTH_BODY;

/// Reads a login or password body, never more than `AUTH_BODY_LIMIT` bytes.
async fn read(body: Body, what: &'static str) -> Result<axum::body::Bytes, AppError> {
    crate::security::limits::read_body(body, AUTH_BODY_LIMIT, what).await
}

/// The login page's fields, posted by the browser itself when a person taps
/// "Đăng nhập" before the app's code has loaded (a slow link).
#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Logs in, from the app (JSON in, JSON out) or from the plain HTML form
/// (form in, a 303 redirect out). Both go through the same body limit, Origin
/// check, rate limits and password check.
pub async fn login(
    State(state): State<AppState>,
    Extension(ClientAddr(ip)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let body = read(body, "login body").await?;
    if crate::routes::require_content_type(&headers, &[FORM]).is_err() {
        let request: LoginRequest = parse_json(&headers, &body)?;
        return login_with(&state, ip, &headers, request)
            .await
            .map(IntoResponse::into_response);
    }
    // A form post: the answer is a page to go to, never a JSON body the person
    // would see as text. Failures go back to the login page with the name
    // typed (never the password) and the error's code for it to say.
    let outcome = match serde_urlencoded::from_bytes::<LoginForm>(&body) {
        Ok(form) => {
            let request = LoginRequest {
                username: form.username.clone(),
                password: form.password,
                device_id: None,
            };
            login_with(&state, ip, &headers, request)
                .await
                .map_err(|e| (e, form.username))
        }
        Err(e) => Err((
            AppError::BadRequest(format!("the login form is not valid: {e}")),
            String::new(),
        )),
    };
    Ok(match outcome {
        Ok((cookie, Json(_))) => {
            // The login page, loaded again, adopts the session (it binds this
            // phone's device, which the form could not carry) and goes on
            // where a login from the app goes.
            (
                StatusCode::SEE_OTHER,
                cookie,
                [(header::LOCATION, "/login?signed_in=1")],
            )
                .into_response()
        }
        Err((error, username)) => {
            let body = error.body();
            let mut query = vec![("error", body.code.clone())];
            if let Some(wait) = body.params.get("retry_after_s") {
                query.push(("retry_after_s", wait.to_string()));
            }
            let username: String = username.chars().take(64).collect();
            if !username.is_empty() {
                query.push(("username", username));
            }
            let query = serde_urlencoded::to_string(&query).unwrap_or_default();
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, format!("/login?{query}"))],
            )
                .into_response()
        }
    })
}

/// Logs in. Rate limited per account from one address, per account and per
/// address (see `store::login_limits`); a locked key is refused before the
/// password is checked. Any session the request carried is replaced, never reused.
async fn login_with(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    request: LoginRequest,
) -> Result<([(header::HeaderName, String); 1], Json<LoginResponse>), AppError> {
    let typed = app::domain::Username::normalize(&request.username);
    // The failure counter belongs to the account a name resolves to, so its
    // spellings (username, 0912…, +84 912…, 0912.345.678) share five guesses;
    // a name that is no account keeps a counter of its own.
    let found = app::store::users::find_login(&state.db, &request.username).await?;
    // A name that is no account is counted by what it would match: every
    // spelling of one phone number shares a counter whether or not an
    // account has it, so the counters do not tell which numbers do.
    let account = found
        .as_ref()
        .map(app::store::users::LoginAccount::limit_key)
        .or_else(|| {
            app::domain::Phone::parse(&request.username).map(|p| format!("phone:{}", p.as_str()))
        })
        .unwrap_or_else(|| typed.clone());
    let address = ip.map(|ip| ip.to_string());
    // The owner's own phone or browser (a device already bound to this
    // account) is not held by the keys a stranger can fill: the wide ones,
    // and the one of its address (an office or a carrier shares it). Its
    // own guesses count against the device itself.
    let own_device = match (&found, request.device_id) {
        (Some(account), Some(device)) => app::store::users::device(&state.db, &device.to_string())
            .await?
            .is_some_and(|d| d.user_id == account.id && !d.revoked),
        _ => false,
    };
    let from_address = match (own_device, request.device_id) {
        (true, Some(device)) => format!("{account}@device:{device}"),
        _ => format!("{account}@{}", address.as_deref().unwrap_or("-")),
    };
    let mut keys = vec![
        (Scope::AccountFromAddress, from_address.as_str()),
        (Scope::Account, account.as_str()),
    ];
    if let Some(address) = &address {
        keys.push((Scope::Address, address.as_str()));
    }
    let now = app::store::now_ms();
    let holding = if own_device { &keys[..1] } else { &keys[..] };
    // The attempt is counted before the password is checked: guesses sent
    // all at once see each other.
    match login_limits::reserve(&state.db, &keys, holding, now).await {
        Err(e @ AppError::RateLimited { .. }) => {
            crate::telemetry::limited("login");
            return Err(e);
        }
        other => other?,
    }
    let ok = match app::store::users::check_password_of(&state.db, found, &request.password).await {
        Ok(ok) => ok,
        Err(AppError::BadCredentials) => {
            crate::telemetry::login_failed();
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
        Err(e) => {
            // Not a guess: the password was never checked (the server was busy).
            login_limits::release(&state.db, &keys, now).await?;
            return Err(e);
        }
    };
    login_limits::release(&state.db, &keys, now).await?;
    login_limits::clear(&state.db, Scope::AccountFromAddress, &from_address).await?;
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
        session::token(headers).as_deref(),
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

/// `POST /api/auth/device`: the app, loaded after a form login, binds this
/// phone's device to the session (the form could not carry it).
pub async fn device(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, AppError> {
    let body = read(body, "device body").await?;
    let request: app::sync::DeviceRequest = parse_json(&headers, &body)?;
    let device_id = request.device_id.to_string();
    app::store::users::attach_device(&state.db, &caller.user.id, &caller.token_hash, &device_id)
        .await?;
    audit::record(
        &state.db.pool,
        &caller.audit(),
        "auth.device_bound",
        "user",
        &caller.user.id,
        json!({"device_id": device_id}),
    )
    .await?;
    Ok(Json(json!({"status": "ok"})))
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
    // The current password is a guess like a login's: someone holding an
    // unattended phone's session gets five of them, not an endless supply.
    let key = format!("id:{}@password-change", caller.user.id);
    let keys = [(Scope::AccountFromAddress, key.as_str())];
    let now = app::store::now_ms();
    match login_limits::reserve(&state.db, &keys, &keys, now).await {
        Err(AppError::RateLimited { retry_after_s, .. }) => {
            crate::telemetry::limited("password");
            return Err(AppError::RateLimited {
                retry_after_s,
                code: app::error::PASSWORD_GUESSES,
            });
        }
        other => other?,
    }
    let changed = app::store::accounts::change_password(
        &state.db,
        &caller.audit(),
        &caller.user.id,
        &request.current_password,
        &request.new_password,
        &caller.token_hash,
    )
    .await;
    let guessed_wrong =
        matches!(&changed, Err(AppError::Invalid(b)) if b.code == "password.wrong_current");
    if !guessed_wrong {
        login_limits::release(&state.db, &keys, now).await?;
    }
    changed?;
    Ok(Json(json!({"status": "ok"})))
}
