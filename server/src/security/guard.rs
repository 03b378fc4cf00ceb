use super::client_addr::{self, ClientAddr};
use super::csrf;
use app::auth::session::{self, Caller};
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Routes that answer without a session. Pages and static files (everything
/// outside `/api/` and `/rpc/`) are public too: the shell holds no data. So is
/// a method an `/api/` path does not have: the router answers 405 with `Allow`
/// and no handler runs; the paths and their methods are public in the OpenAPI
/// document anyway. A path no route has stays private (401): probing without a
/// session learns nothing more.
fn is_public(method: &Method, path: &str) -> bool {
    if !path.starts_with("/api/") && !path.starts_with("/rpc/") && path != "/api" && path != "/rpc"
    {
        return true;
    }
    if method == Method::OPTIONS && path.starts_with("/api/uploads") {
        return true;
    }
    if !path.starts_with("/api/") {
        return false;
    }
    // HEAD is GET without the body: a GET route answers it too.
    let method = if method == Method::HEAD && !routed("HEAD", path) {
        "GET"
    } else {
        method.as_str()
    };
    let mut matching = crate::api::ROUTES
        .iter()
        .filter(|r| r.method == method && path_matches(r.path, path))
        .peekable();
    if matching.peek().is_none() {
        return crate::api::ROUTES
            .iter()
            .any(|r| path_matches(r.path, path));
    }
    matching.any(|r| r.public)
}

fn routed(method: &str, path: &str) -> bool {
    crate::api::ROUTES
        .iter()
        .any(|r| r.method == method && path_matches(r.path, path))
}

/// Whether `path` is an instance of the route `pattern` (`{name}` stands for
/// one non-empty segment, as in axum).
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// What a session whose password must change may still do.
fn allowed_before_password_change(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/rpc/"))
        || matches!(
            path,
            // Binding the phone's device: the app's own login binds it
            // before the password change, and so must a login made otherwise.
            "/api/auth/me"
                | "/api/auth/logout"
                | "/api/auth/password"
                | "/api/auth/device"
                | "/api/health"
        )
}

/// What a session opened on a revoked phone may still do: say who it is and
/// log out. Everything else that reads or changes data is refused, so a lost
/// or stolen phone's cookie stops working the moment an administrator revokes
/// the phone. Its data still leaves as a backup file, which needs no server.
fn allowed_on_revoked_device(path: &str) -> bool {
    matches!(path, "/api/auth/me" | "/api/auth/logout")
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
    // A revoked phone's session: API calls other than `me` and logout are
    // refused with the reason; a page or a public route is served as for
    // nobody (a page rendered on the server calls server functions as its
    // caller, and a login must not be refused for a stale cookie).
    let caller = match caller {
        Some(c) if c.device_revoked && !allowed_on_revoked_device(&path) => {
            if !is_public(&method, &path) {
                return AppError::device_revoked().into_response();
            }
            None
        }
        other => other,
    };
    if caller.is_none() && !is_public(&method, &path) {
        return AppError::Unauthenticated.into_response();
    }
    if csrf::is_state_changing(&method) {
        if let Err(e) = csrf::check(request.headers(), &state.security) {
            return e.into_response();
        }
    }
    if let Some(c) = &caller {
        if c.must_change_password && !allowed_before_password_change(&path) {
            return AppError::password_change_required().into_response();
        }
    }
    // A sliding session is sent again with a fresh Max-Age, or the browser
    // would drop the cookie 30 days after login however active the phone was.
    let refresh = caller
        .as_ref()
        .filter(|c| c.extended)
        .map(|c| session::set_cookie(&c.token, &state.security));
    let user_id = caller.as_ref().map(|c| c.user.id.clone());
    if let Some(caller) = caller {
        request.extensions_mut().insert::<Caller>(caller);
    }
    // Server functions read their whole body; bound it here, after the session
    // and CSRF checks, as the API handlers bound theirs.
    if path.starts_with("/rpc/") {
        let (parts, body) = request.into_parts();
        let limit = super::limits::RPC_BODY_LIMIT;
        let bytes = match super::limits::read_body(body, limit, "request body (bytes)").await {
            Ok(bytes) => bytes,
            Err(e) => return e.into_response(),
        };
        // Form-encoded arguments are decoded leniently by the framework
        // (invalid UTF-8 becomes U+FFFD): refuse them here instead.
        let form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form && !form_is_utf8(&bytes) {
            return AppError::BadRequest(
                "the form-encoded arguments are not valid UTF-8 text".into(),
            )
            .into_response();
        }
        request = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    let mut response = next.run(request).await;
    if let Some(id) = user_id {
        response
            .extensions_mut()
            .insert(crate::request_log::LoggedUser(id));
    }
    if let Some(cookie) = refresh {
        if !response.headers().contains_key(header::SET_COOKIE) {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
        }
    }
    response
}

/// Whether every key and value of an `application/x-www-form-urlencoded`
/// body decodes (percent escapes and `+`) to UTF-8.
fn form_is_utf8(body: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'&' | b'=' => {
                if std::str::from_utf8(&decoded).is_err() {
                    return false;
                }
                decoded.clear();
                i += 1;
            }
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    body.get(i + 1).and_then(|b| hex(*b)),
                    body.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(h), Some(l)) => {
                        decoded.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => return false,
                }
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
mod tests {
    use super::{form_is_utf8, is_public, path_matches};
    use axum::http::Method;

    #[test]
    fn routes_match_their_patterns() {
        assert!(path_matches("/api/photos/{id}", "/api/photos/abc"));
        assert!(!path_matches("/api/photos/{id}", "/api/photos/"));
        assert!(!path_matches("/api/photos/{id}", "/api/photos/a/thumb"));
        assert!(path_matches(
            "/api/photos/{id}/{size}",
            "/api/photos/a/thumb"
        ));
        assert!(path_matches("/api/uploads/", "/api/uploads/"));
        assert!(!path_matches("/api/uploads/", "/api/uploads"));
    }

    #[test]
    fn only_public_routes_and_unrouted_requests_pass_without_a_session() {
        assert!(is_public(&Method::GET, "/api/health"));
        assert!(is_public(&Method::HEAD, "/api/health"));
        assert!(is_public(&Method::POST, "/api/auth/login"));
        // A method the path does not have: the router answers 405, no handler runs.
        assert!(is_public(&Method::PUT, "/api/health"));
        assert!(is_public(&Method::GET, "/api/auth/login"));
        assert!(is_public(&Method::PUT, "/api/photos/x"));
        // A path no route has stays private.
        assert!(!is_public(&Method::GET, "/api/no-such-thing"));
        assert!(!is_public(&Method::GET, "/api/photos"));
        // Private routes, whatever the method's spelling.
        assert!(!is_public(&Method::GET, "/api/auth/me"));
        assert!(!is_public(&Method::HEAD, "/api/auth/me"));
        assert!(!is_public(&Method::HEAD, "/api/uploads/x"));
        assert!(!is_public(&Method::GET, "/api/photos/x/thumb"));
        assert!(!is_public(&Method::POST, "/api/uploads/"));
        assert!(!is_public(&Method::POST, "/api/visits/x/review"));
        assert!(!is_public(&Method::POST, "/rpc/anything"));
        assert!(!is_public(&Method::PUT, "/rpc/anything"));
    }

    #[test]
    fn form_bodies_must_decode_to_utf8() {
        assert!(form_is_utf8(b"id=abc&q=H%C3%B2a+Ph%C3%A1t"));
        assert!(form_is_utf8(b""));
        assert!(!form_is_utf8(b"id=%ff"));
        assert!(!form_is_utf8(b"id=%C3"));
        assert!(!form_is_utf8(b"id=%zz"));
        assert!(!form_is_utf8(b"id=\xff"));
    }
}
