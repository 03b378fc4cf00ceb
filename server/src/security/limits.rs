//! Limits that hold before any work is done on a request body: each route's
//! own size cap, answered 413 from the declared length before a byte is read,
//! and enforced while reading for bodies that do not declare one; and an
//! inactivity timeout, so a client that stops sending mid-body does not hold a
//! task and its buffer forever.

use crate::api::{BodyLimit, ROUTES};
use app::error::AppError;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

/// Largest body a server function reads: forms and account edits, not files.
pub const RPC_BODY_LIMIT: usize = 256 * 1024;
/// Pages and static files take no body; a plain HTML form post is small.
pub const PAGE_BODY_LIMIT: usize = 16 * 1024;

/// Whether a route pattern with `{param}` segments matches a path.
fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut q = path.split('/');
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && a.ends_with('}') && !b.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The largest body `method path` may carry.
pub fn limit_for(state: &AppState, method: &Method, path: &str) -> usize {
    if path.starts_with("/rpc/") {
        return RPC_BODY_LIMIT;
    }
    let method = method.as_str();
    let spec = ROUTES
        .iter()
        .find(|r| r.method == method && matches(r.path, path));
    match spec.map(|r| r.body) {
        Some(BodyLimit::Bytes(n)) => n,
        Some(BodyLimit::Photo) => usize::try_from(state.photos.max_bytes).unwrap_or(usize::MAX),
        None if path.starts_with("/api/") => BodyLimit::NONE,
        None => PAGE_BODY_LIMIT,
    }
}

/// The route's limit against the declared length (413 before reading), then a
/// body that cannot outgrow it and times out when the client goes quiet.
pub async fn limit_bodies(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = limit_for(&state, request.method(), request.uri().path());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let hinted = axum::body::HttpBody::size_hint(request.body()).lower();
    if declared.is_some_and(|n| n > limit as u64) || hinted > limit as u64 {
        let mut response = AppError::TooLarge {
            what: "request body (bytes)",
            limit,
        }
        .into_response();
        // The unread body is not worth keeping the connection for.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return response;
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(tower_http::timeout::TimeoutBody::new(
        state.security.body_idle_timeout,
        http_body_util::Limited::new(body, limit),
    ));
    let body = Body::new(SlowBody {
        inner: body,
        started: None,
        received: 0,
        grace: state.security.body_grace,
        min_rate: state.security.body_min_rate,
    });
    next.run(Request::from_parts(parts, body)).await
}

/// A body that came slower on average than its minimum rate once its grace
/// was over.
#[derive(Debug)]
pub struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl std::error::Error for TooSlow {}

/// Counts a body's bytes from its first read; each read after the grace
/// checks the average rate so far. A trickle that never goes quiet for the
/// idle timeout is cut all the same.
struct SlowBody {
    inner: Body,
    started: Option<std::time::Instant>,
    received: u64,
    grace: std::time::Duration,
    min_rate: u64,
}

impl axum::body::HttpBody for SlowBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        let started = *this.started.get_or_insert_with(std::time::Instant::now);
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            this.received += frame.data_ref().map_or(0, |d| d.len() as u64);
            let elapsed = started.elapsed();
            if elapsed > this.grace
                && (this.received as f64) < this.min_rate as f64 * elapsed.as_secs_f64()
            {
                return Poll::Ready(Some(Err(axum::Error::new(TooSlow))));
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Reads a whole body of at most `limit` bytes. Over the limit is 413 naming
/// `what`; a client that stopped sending is 408; a dropped connection is 400.
pub async fn read_body(body: Body, limit: usize, what: &'static str) -> Result<Bytes, AppError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(body_error(&*e, limit, what)),
    }
}

/// What a failed body read means for the client.
pub fn body_error(
    e: &(dyn std::error::Error + 'static),
    limit: usize,
    what: &'static str,
) -> AppError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return AppError::TooLarge { what, limit };
        }
        if err.is::<TooSlow>() {
            return AppError::Protocol {
                status: 408,
                body: app::error::ErrorBody::new(
                    "request.too_slow",
                    "the request body arrived too slowly; send it again on a better connection",
                ),
            };
        }
        if err.is::<tower_http::timeout::TimeoutError>() {
            return AppError::Protocol {
                status: 408,
                body: app::error::ErrorBody::new(
                    "request.timeout",
                    "the request body stopped arriving; send it again",
                ),
            };
        }
        source = err.source();
    }
    AppError::BadRequest(format!("the request body could not be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn route_patterns_match_their_parameters_and_nothing_else() {
        assert!(matches("/api/uploads/{id}", "/api/uploads/abc"));
        assert!(!matches("/api/uploads/{id}", "/api/uploads/"));
        assert!(!matches("/api/uploads/{id}", "/api/uploads/a/b"));
        assert!(matches("/api/photos/{id}/{size}", "/api/photos/x/thumb"));
        assert!(matches("/api/auth/login", "/api/auth/login"));
        assert!(!matches("/api/auth/login", "/api/auth/logout"));
        assert!(matches("/api/uploads/", "/api/uploads/"));
    }
}
