//! The router. A `fn router(state) -> Router` so tests can drive it with
//! `oneshot`, without a socket.

use crate::assets::Site;
use app::state::AppState;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::services::ServeDir;

/// No route and no file: a page a browser asked for gets the app's shell with
/// a 404 (the app says "not found" in the person's language, with a way home,
/// a title and the document's language); anything else a short text.
fn not_found_page(site: &Site, req: &Request<axum::body::Body>) -> Response {
    let wants_page = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        return (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            site.shell_html.clone(),
        )
            .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Không tìm thấy / Not found",
    )
        .into_response()
}

pub fn router(state: AppState, site: Arc<Site>) -> Router {
    crate::telemetry::handle();
    let routes = generate_route_list(app::root::App);
    let options = state.leptos_options.clone();
    let context_state = state.clone();
    // JSON compresses ~10×: an initial pull of 10,000 proposals is 6.7 MB raw.
    let api = crate::api::router().layer(gzip_on_the_fly());
    let sw = site.clone();
    let shell = site.clone();
    let not_found = site.clone();
    let deltas = site.deltas.clone();
    let static_files = ServeDir::new(&site.root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(tower::service_fn(move |req: Request<axum::body::Body>| {
            let site = not_found.clone();
            async move { Ok::<_, std::convert::Infallible>(not_found_page(&site, &req)) }
        }));
    // The pages on a router of their own, so that only they keep their owner
    // across worker threads (see `page_owner`).
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || app::root::shell(options.clone()),
        )
        .layer(axum::middleware::from_fn(crate::page_owner::keep_owner));
    Router::new()
        .nest("/api", api)
        .route("/metrics", get(crate::telemetry::scrape))
        .route(
            "/sw.js",
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        // The browser must see a new worker as soon as it is deployed.
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    sw.service_worker.clone(),
                )
            }),
        )
        .route(
            crate::assets::ENGLISH_PATH,
            get(|headers: axum::http::HeaderMap| async move {
                crate::assets::english_locale(&headers)
            }),
        )
        .route(
            "/offline-shell",
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    shell.shell_html.clone(),
                )
            }),
        )
        .merge(pages)
        .fallback_service(static_files)
        .layer(axum::middleware::from_fn_with_state(
            deltas,
            crate::release_deltas::serve,
        ))
        // Inside the guard: an anonymous caller gets 401 before its
        // arguments are read.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::text::refuse_nul,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::guard::guard,
        ))
        // Outside the guard: a body over its route's limit is refused before
        // even the session is looked up.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::limits::limit_bodies,
        ))
        // Outside everything that opens a transaction (the session's touch
        // included): a request runs to its end on a task of its own.
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::map_response(cache_headers))
        // A handler that panics (an overflow, a bug) answers a logged 500
        // instead of dropping the connection with no answer at all.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(log_internal_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.security.hsts,
            crate::security::headers::security_headers,
        ))
        // Outside the security headers, which read each page's HTML to hash
        // its inline scripts. A server-rendered page goes out gzipped: the
        // review list is 70 KB of HTML, 9 KB gzipped. So does a bundle file
        // whose brotli copy is not made yet (they are made in the background
        // after a start, about 20 s for a new release): 342 KB for the main
        // module, not 927 KB. A file served from its copy, an API answer and a
        // delta already have their encoding and pass through as they are.
        .layer(gzip_on_the_fly())
        .layer(axum::middleware::from_fn(crate::request_log::log_requests))
        .with_state(state)
}

/// Runs the request on its own task, which finishes even when the client
/// hangs up (a phone losing signal mid-push, a closed tab). Dropped half-way,
/// a handler's future could drop SQLite's `BEGIN IMMEDIATE` after the lock
/// was taken but before its transaction existed to roll back (sqlx 0.8's
/// transaction start is not cancel-safe): the pooled connection kept the
/// write lock, and every write after it (pushes, logins) waited and failed.
async fn run_to_completion(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!("a request's task stopped: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// gzip only: brotli here would need a second brotli crate version. Not for
/// files that are compressed already: an XLSX and a photo ZIP are ZIP
/// archives (a ZIP of JPEGs, up to 4 GB, gained nothing and cost a core),
/// and an image is left out by the default rule.
fn gzip_on_the_fly() -> tower_http::compression::CompressionLayer<impl Predicate> {
    let compressed_already = NotForContentType::const_new("application/zip")
        .and(NotForContentType::const_new(crate::api::exports::XLSX));
    tower_http::compression::CompressionLayer::new()
        .gzip(true)
        .no_br()
        .no_deflate()
        .no_zstd()
        .compress_when(DefaultPredicate::new().and(compressed_already))
}

/// Hashed bundle files never change: cache them for a year. A page rendered
/// for its caller (a visit, the plan, the accounts) is never stored, so Back
/// after a logout on a shared computer asks the server again instead of
/// showing it from the browser's cache. Everything else is revalidated, so a
/// deployment is seen at once.
async fn cache_headers(uri: axum::http::Uri, mut response: Response) -> Response {
    let path = uri.path();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let value = if path.starts_with("/pkg/") && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else if path.starts_with("/api/") || html {
        "no-store"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(value));
    // tus wants its version on every answer of the upload endpoint, including
    // the guard's 401 and 403.
    if path.starts_with("/api/uploads") {
        response.headers_mut().insert(
            header::HeaderName::from_static("tus-resumable"),
            HeaderValue::from_static(crate::api::uploads::TUS_VERSION),
        );
    }
    response
}

/// Server errors say only "something went wrong" to the client; the reason is
/// logged here, once.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    app::error::AppError::Internal(format!("a handler panicked: {what}")).into_response()
}

async fn log_internal_errors(
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if let Some(detail) = response.extensions().get::<app::error::InternalDetail>() {
        tracing::error!(%method, %path, status = %response.status(), "{}", detail.0);
    } else if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        // Not one of ours (a page render, a server function's framework
        // error): still never a silent 500.
        tracing::error!(%method, %path, status = %response.status(), "answered a server error; its cause was logged above, if known");
    }
    response
}

/// Used by `api` handlers: a typed JSON body from raw bytes, after the session
/// check, so a request without a session gets 401 before its body is judged.
/// The body must say it is JSON: text/plain is what a cross-site HTML form
/// can send without a preflight.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    bytes: &[u8],
) -> Result<T, app::error::AppError> {
    require_content_type(headers, &["application/json"])?;
    serde_json::from_slice(bytes).or_else(|e| {
        // JSON has one number type: `3.0` is the whole number 3 (JSON Schema
        // calls it an integer too), which serde refuses for an integer field.
        // Only a body that failed is read again, with such numbers made whole.
        let mut value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| bad_json(&e))?;
        if !whole_numbers(&mut value) {
            return Err(bad_json(&e));
        }
        serde_json::from_value(value).map_err(|_| bad_json(&e))
    })
}

fn bad_json(e: &serde_json::Error) -> app::error::AppError {
    app::error::AppError::BadRequest(format!("the JSON body is not valid: {e}"))
}

/// Rewrites every number written with a zero fraction (`3.0`, `1e3`) that an
/// `f64` holds exactly as the integer it is; whether any was rewritten.
fn whole_numbers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= EXACT => {
                *value = Value::from(f as i64);
                true
            }
            _ => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| whole_numbers(v) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, v| whole_numbers(v) | any),
        _ => false,
    }
}

/// 415 unless the body's media type (parameters aside) is one of `accepted`.
pub fn require_content_type(
    headers: &axum::http::HeaderMap,
    accepted: &[&str],
) -> Result<(), app::error::AppError> {
    let sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if accepted.contains(&sent.as_str()) {
        return Ok(());
    }
    Err(app::error::AppError::Protocol {
        status: 415,
        body: app::error::ErrorBody::new(
            "request.unsupported_media_type",
            format!(
                "the body must be sent as {} (Content-Type was {})",
                accepted.join(" or "),
                if sent.is_empty() { "missing" } else { &sent }
            ),
        )
        .with("accepted", accepted.to_vec())
        .with("got", sent),
    })
}

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap};

    #[derive(serde::Deserialize, Debug)]
    struct T {
        seq: i64,
        version: u32,
    }

    #[test]
    fn numbers_with_a_zero_fraction_are_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let t: T = super::parse_json(&headers, br#"{"seq": 3.0, "version": 1e2}"#).unwrap();
        assert_eq!((t.seq, t.version), (3, 100));
        // A real fraction is still refused, with serde's own message.
        let e = super::parse_json::<T>(&headers, br#"{"seq": 3.5, "version": 1}"#).unwrap_err();
        assert!(format!("{e:?}").contains("3.5"), "{e:?}");
        let e = super::parse_json::<T>(&headers, br#"{"seq": 1e300, "version": 1}"#).unwrap_err();
        assert!(format!("{e:?}").contains("not valid"), "{e:?}");
    }
}
