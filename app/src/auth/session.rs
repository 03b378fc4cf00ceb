//! The session behind a request: cookie in, user out. Used by the HTTP handlers
//! and by server functions alike.

use crate::error::AppError;
use crate::model::{Role, UserInfo};
use crate::state::AppState;
use axum::http::HeaderMap;

pub const COOKIE: &str = "khaosat_session";

pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The cookie that carries a new session (HttpOnly, SameSite=Lax, sliding 30 days).
pub fn set_cookie(token: &str, secure: bool) -> String {
    let max_age = crate::store::users::SESSION_TTL_MS / 1000;
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

pub async fn user_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<UserInfo, AppError> {
    let token = token(headers).ok_or(AppError::Unauthenticated)?;
    crate::store::users::session_user(&state.db, &token)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// For server functions: the logged-in user with one of `roles`, or the error.
pub async fn require(roles: &[Role]) -> Result<(AppState, UserInfo), AppError> {
    let state = leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::Internal("no app state".into()))?;
    let headers: HeaderMap = leptos_axum::extract()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let user = user_from_headers(&state, &headers).await?;
    if !roles.iter().any(|r| user.has(*r)) {
        return Err(AppError::Forbidden("your role does not allow this".into()));
    }
    Ok((state, user))
}
