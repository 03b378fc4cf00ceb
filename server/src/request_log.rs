//! One log line per request: its id (taken from a proxy's `X-Request-Id`
//! when it is a plain token, made here otherwise, and sent back in the same
//! header), method, route, status, content encoding, duration and user id. The route is the
//! router's pattern (`/api/photos/{id}`) or, for files, the path without its
//! query: query strings and headers may carry secrets and are never logged.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Who made the request, as the session guard found them.
#[derive(Debug, Clone)]
pub struct LoggedUser(pub String);

/// A request id a proxy may pass on: short, and only characters that cannot
/// forge a log line.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn log_requests(mut request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let method = request.method().clone();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    // Metrics need a bounded set of routes: every unrouted path (static files,
    // not found) is one series; the log keeps the path itself.
    let series = matched.clone().unwrap_or_else(|| {
        if request.uri().path().starts_with("/pkg/") {
            "/pkg/*".to_string()
        } else {
            "(static or not found)".to_string()
        }
    });
    let route = matched.unwrap_or_else(|| request.uri().path().to_string());
    let mut response = next.run(request).await;
    let user = response
        .extensions()
        .get::<LoggedUser>()
        .map(|u| u.0.clone())
        .unwrap_or_default();
    let status = response.status().as_u16();
    // How static files went out (br, gzip, or dcz: a delta from the release before).
    let encoding = response
        .headers()
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let took = started.elapsed();
    crate::telemetry::request(method.as_str(), &series, status, took);
    let ms = took.as_secs_f64() * 1000.0;
    tracing::info!(
        target: "khaosat::request",
        request_id = %id,
        %method,
        route = %route,
        status,
        encoding = %encoding,
        ms = format_args!("{ms:.1}"),
        user = %user,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_tokens_are_taken_as_request_ids() {
        assert!(super::acceptable("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(super::acceptable("req-1.2_3"));
        for bad in ["", "a b", "x\nforged=1", &"a".repeat(65), "ä"] {
            assert!(!super::acceptable(bad), "{bad:?}");
        }
    }
}
