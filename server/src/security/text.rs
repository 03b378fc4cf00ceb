//! Text the database cannot hold, refused before a server function runs.
//!
//! PostgreSQL refuses U+0000 in text (a 422 `text.nul` from the store), but
//! SQLite stores it: a facility name or a review comment holding it would
//! then exist on one engine only, and break a move to PostgreSQL or a
//! restore. The sync push refuses it per change; server functions and the
//! other API bodies and queries are checked here, whole, for both engines
//! alike, whatever Content-Type they declare.

use super::limits::{limit_for, read_body};
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Routes whose bodies are checked elsewhere: the sync push and a backup
/// import refuse a change holding U+0000 on its own (the queue moves on),
/// photo bytes are binary, and spreadsheets drop it from their cells.
const CHECKED_ELSEWHERE: &[&str] = &[
    "/api/sync/push",
    "/api/sync/import",
    "/api/uploads",
    "/api/registry/intake",
    "/api/units/import",
    "/api/forms/xlsform",
];

pub async fn refuse_nul(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let ours = path.starts_with("/rpc/")
        || (path.starts_with("/api/") && !CHECKED_ELSEWHERE.iter().any(|p| path.starts_with(p)));
    if !ours {
        return next.run(request).await;
    }
    let query_nul = request
        .uri()
        .query()
        .is_some_and(|q| q.to_ascii_lowercase().contains("%00"));
    if !writes {
        if query_nul {
            return app::error::AppError::nul_in_text().into_response();
        }
        return next.run(request).await;
    }
    let limit = limit_for(&state, request.method(), path);
    let (parts, body) = request.into_parts();
    let bytes = match read_body(body, limit, "request body").await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    if query_nul || holds_nul(&bytes) {
        return app::error::AppError::nul_in_text().into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether a body holds U+0000, whatever its declared type (a server
/// function decodes its arguments whatever the Content-Type says): as JSON,
/// as a form, or as a raw byte.
fn holds_nul(bytes: &[u8]) -> bool {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return value_holds_nul(&v);
    }
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes) {
        if pairs
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return true;
        }
    }
    bytes.contains(&0)
}

fn value_holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(value_holds_nul),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('\0') || value_holds_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::holds_nul;

    #[test]
    fn nul_is_found_however_the_arguments_are_encoded() {
        assert!(holds_nul(br#"{"draft":{"name":"a\u0000b"}}"#));
        assert!(holds_nul(br#"{"list":[{"k\u0000":1}]}"#));
        // An escaped backslash followed by "u0000" is text, not a NUL.
        assert!(!holds_nul(br#"{"name":"a\\u0000b"}"#));
        assert!(!holds_nul(b"not json"));
        assert!(holds_nul(b"comment=a%00b&id=1"));
        assert!(!holds_nul(b"comment=a%2500b"));
        assert!(holds_nul(b"raw\0byte"));
    }
}
