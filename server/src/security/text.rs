//! Text the database cannot hold, refused before a server function runs.
//!
//! PostgreSQL refuses U+0000 in text (a 422 `text.nul` from the store), but
//! SQLite stores it: a facility name or a review comment holding it would
//! then exist on one engine only, and break a move to PostgreSQL or a
//! restore. The sync push refuses it per change; server functions are
//! checked here, whole, for both engines alike.

use super::limits::{read_body, RPC_BODY_LIMIT};
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub async fn refuse_nul(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/rpc/") {
        return next.run(request).await;
    }
    let query_nul = request
        .uri()
        .query()
        .is_some_and(|q| q.to_ascii_lowercase().contains("%00"));
    let (parts, body) = request.into_parts();
    let bytes = match read_body(body, RPC_BODY_LIMIT, "server function arguments").await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if query_nul || holds_nul(content_type, &bytes) {
        return app::error::AppError::Invalid(app::error::nul_in_text()).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether arguments hold U+0000 once decoded; arguments that do not decode
/// are left to the server function's own 400.
fn holds_nul(content_type: &str, bytes: &[u8]) -> bool {
    if content_type.starts_with("application/json") {
        serde_json::from_slice::<Value>(bytes).is_ok_and(|v| value_holds_nul(&v))
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).is_ok_and(|pairs| {
            pairs
                .iter()
                .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        })
    } else {
        false
    }
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
        let json = "application/json";
        assert!(holds_nul(json, br#"{"draft":{"name":"a\u0000b"}}"#));
        assert!(holds_nul(json, br#"{"list":[{"k\u0000":1}]}"#));
        // An escaped backslash followed by "u0000" is text, not a NUL.
        assert!(!holds_nul(json, br#"{"name":"a\\u0000b"}"#));
        assert!(!holds_nul(json, b"not json"));
        let form = "application/x-www-form-urlencoded";
        assert!(holds_nul(form, b"comment=a%00b&id=1"));
        assert!(!holds_nul(form, b"comment=a%2500b"));
    }
}
