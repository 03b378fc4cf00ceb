//! The session behind a request: cookie in, caller out. The server's guard
//! middleware looks the session up once per request and puts the `Caller` in
//! the request's extensions; handlers and server functions take it from there.

use crate::error::AppError;
use crate::model::{Role, UserInfo};
use crate::state::{AppState, Security};
use crate::store::audit::Actor;
use axum::http::HeaderMap;
use std::net::IpAddr;

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

/// The cookie that carries a session: HttpOnly, SameSite=Lax, Max-Age the
/// session's lifetime, Secure when the deployment is served over HTTPS.
pub fn set_cookie(token: &str, security: &Security) -> String {
    let max_age = security.session_ttl_ms / 1000;
    let secure = if security.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub fn clear_cookie(security: &Security) -> String {
    let secure = if security.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// Who is asking, as the guard found them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserInfo,
    /// The raw token, only to send the cookie again when the session slides.
    pub token: String,
    pub token_hash: String,
    /// The phone the session was opened on, if any.
    pub device_id: Option<String>,
    pub device_revoked: bool,
    pub must_change_password: bool,
    pub ip: Option<IpAddr>,
    /// The session's expiry moved forward on this request.
    pub extended: bool,
}

impl Caller {
    /// The actor for the audit trail.
    pub fn audit(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id.clone()),
            ip: self.ip.map(|ip| ip.to_string()),
        }
    }

    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.iter().any(|r| self.user.has(*r)) {
            Ok(())
        } else {
            Err(AppError::Forbidden("your role does not allow this".into()))
        }
    }

    /// Sync needs a phone that is still allowed to sync.
    pub fn require_live_device(&self) -> Result<(), AppError> {
        if self.device_revoked {
            return Err(AppError::device_revoked());
        }
        Ok(())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(AppError::Unauthenticated)
    }
}

/// The session behind a token, sliding it forward; None when it is unknown,
/// expired, or its account was deactivated.
pub async fn lookup(
    state: &AppState,
    token: &str,
    ip: Option<IpAddr>,
) -> Result<Option<Caller>, AppError> {
    let found =
        crate::store::users::session(&state.db, token, state.security.session_ttl_ms).await?;
    Ok(found.map(|s| Caller {
        user: s.user,
        token: token.to_string(),
        token_hash: s.token_hash,
        device_id: s.device_id,
        device_revoked: s.device_revoked,
        must_change_password: s.must_change_password,
        ip,
        extended: s.extended,
    }))
}

/// For server functions: the caller with one of `roles`, or the error. A page
/// rendered on the server calls its server functions directly; the page's
/// request went through the same guard, so the caller is there too.
pub async fn require_caller(roles: &[Role]) -> Result<(AppState, Caller), AppError> {
    let state = leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::Internal("no app state".into()))?;
    let caller: Caller = leptos_axum::extract()
        .await
        .map_err(|_| AppError::Unauthenticated)?;
    // The guard lets such a session load pages (the password form is one);
    // a page rendered on the server must not read data for it either.
    if caller.must_change_password {
        return Err(AppError::password_change_required());
    }
    caller.require(roles)?;
    Ok((state, caller))
}

/// For server functions that only need the user.
pub async fn require(roles: &[Role]) -> Result<(AppState, UserInfo), AppError> {
    let (state, caller) = require_caller(roles).await?;
    Ok((state, caller.user))
}
