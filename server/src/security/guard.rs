use super::client_addr::{self, ClientAddr};
use super::csrf;
use app::auth::session::{self, Caller};
use app::error::{AppError, ErrorBody};
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Largest body a server function reads: forms and account edits, not files.
const RPC_BODY_LIMIT: usize = 256 * 1024;

/// Routes that answer without a session. Pages and static files (everything
/// outside `/api/` and `/rpc/`) are public too: the shell holds no data.
fn is_public(method: &Method, path: &str) -> bool {
    if !path.starts_with("/api/") && !path.starts_with("/rpc/") && path != "/api" && path != "/rpc"
    {
        return true;
    }
    if method == Method::OPTIONS && path.starts_with("/api/uploads") {
        return true;
    }
    crate::api::ROUTES
        .iter()
        .any(|r| r.public && r.path == path && r.method == method.as_str())
}

/// What a session whose password must change may still do.
fn allowed_before_password_change(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/rpc/"))
        || matches!(
            path,
            "/api/auth/me" | "/api/auth/logout" | "/api/auth/password" | "/api/health"
        )
}

pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let addr = client_addr::resolve(&request, &state.security.trusted_proxies);
    request.extensions_mut().insert(addr);
    let ClientAddr(ip) = addr;

    let caller = match session::token(request.headers()) {
        Some(token) => match session::lookup(&state, &token, ip).await {
            Ok(caller) => caller,
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    if caller.is_none() && !is_public(&method, &path) {
        return AppError::Unauthenticated.into_response();
    }
    if csrf::is_state_changing(&method) {
        if let Err(e) = csrf::check(request.headers()) {
            return e.into_response();
        }
    }
    if let Some(c) = &caller {
        if c.must_change_password && !allowed_before_password_change(&path) {
            return AppError::Denied(ErrorBody::new(
                "auth.password_change_required",
                "your password was reset by an administrator: choose a new one before continuing",
            ))
            .into_response();
        }
    }
    // A sliding session is sent again with a fresh Max-Age, or the browser
    // would drop the cookie 30 days after login however active the phone was.
    let refresh = caller
        .as_ref()
        .filter(|c| c.extended)
        .map(|c| session::set_cookie(&c.token, &state.security));
    if let Some(caller) = caller {
        request.extensions_mut().insert::<Caller>(caller);
    }
    // Server functions read their whole body; bound it here, after the session
    // and CSRF checks, as the API handlers bound theirs.
    if path.starts_with("/rpc/") {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, RPC_BODY_LIMIT).await else {
            return AppError::TooLarge {
                what: "request body (bytes)",
                limit: RPC_BODY_LIMIT,
            }
            .into_response();
        };
        request = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    let mut response = next.run(request).await;
    if let Some(cookie) = refresh {
        if !response.headers().contains_key(header::SET_COOKIE) {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
        }
    }
    response
}
