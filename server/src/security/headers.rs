use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Largest HTML page whose inline scripts are hashed; the shell is a few KB.
const MAX_HTML_BYTES: usize = 8 * 1024 * 1024;

/// The policy. Scripts: our own files, the wasm module, and inline scripts by
/// hash only — not by nonce, because the service worker caches HTML and a
/// cached page would carry a stale nonce. `blob:` images are the offline photo
/// thumbnails.
pub fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; img-src 'self' blob:; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Base64 SHA-256 of the text of every `<script>` without a `src` attribute
/// that carries the page's nonce (the first `nonce="…"` in it, which Leptos
/// writes on the hydration script in `<head>` and on each script it adds).
/// A `<script>` that reached the page any other way (text a user stored, had
/// it ever escaped the escaping) cannot know a nonce made for this response,
/// so it gets no hash and the browser refuses it. A page without a nonce has
/// every inline script hashed.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let nonce = html.find(" nonce=\"").and_then(|at| {
        let value = &html[at + " nonce=\"".len()..];
        value
            .find('"')
            .map(|end| format!("nonce=\"{}\"", &value[..end]))
    });
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start + "<script".len()..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let attributes = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        let text = &body[..close];
        let has_src = attributes
            .split_whitespace()
            .any(|a| a.starts_with("src=") || a == "src");
        let has_nonce = nonce
            .as_deref()
            .is_none_or(|n| attributes.split_whitespace().any(|a| a == n));
        if !has_src && has_nonce {
            let hash =
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()));
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
        rest = &body[close + "</script>".len()..];
    }
    hashes
}

fn set(response: &mut Response, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Adds the strict headers to every response; HTML bodies are read to hash
/// their inline scripts into the policy.
pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut response = if is_html {
        let (mut parts, body) = response.into_parts();
        match axum::body::to_bytes(body, MAX_HTML_BYTES).await {
            Ok(bytes) => {
                let policy = content_security_policy(&inline_script_hashes(
                    &String::from_utf8_lossy(&bytes),
                ));
                parts.headers.remove(header::CONTENT_LENGTH);
                let mut response = Response::from_parts(parts, Body::from(bytes));
                set(&mut response, header::CONTENT_SECURITY_POLICY, &policy);
                response
            }
            Err(e) => {
                // Pages are paged well below this; reaching it is a bug to see
                // in the log, with a page a person can read.
                tracing::error!(
                    path = %path,
                    "an HTML page could not be read to hash its scripts (over {MAX_HTML_BYTES} bytes?): {e}"
                );
                parts.headers.remove(header::CONTENT_LENGTH);
                let mut response = Response::from_parts(
                    parts,
                    Body::from(
                        "<!DOCTYPE html><meta charset=\"utf-8\"><title>khaosat</title>\
                         <p>Trang quá lớn để hiển thị. / This page is too large to show.</p>",
                    ),
                );
                *response.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                set(
                    &mut response,
                    header::CONTENT_SECURITY_POLICY,
                    &content_security_policy(&[]),
                );
                response
            }
        }
    } else {
        let mut response = response;
        set(
            &mut response,
            header::CONTENT_SECURITY_POLICY,
            &content_security_policy(&[]),
        );
        response
    };
    set(&mut response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(&mut response, header::X_FRAME_OPTIONS, "DENY");
    set(&mut response, header::REFERRER_POLICY, "same-origin");
    set(
        &mut response,
        HeaderName::from_static("permissions-policy"),
        "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()",
    );
    set(
        &mut response,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if hsts {
        set(
            &mut response,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_without_the_pages_nonce_gets_no_hash() {
        let html = r#"<head><script type="module" nonce="abc123">init()</script></head>
            <body><p><script>alert(1)</script></p><script nonce="abc123">done()</script>
            <script nonce="guess">alert(2)</script></body>"#;
        let hashes = inline_script_hashes(html);
        let of = |text: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
        };
        assert_eq!(hashes, vec![of("init()"), of("done()")]);
    }

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = r#"<script src="/pkg/a.js"></script><script type="module">init()</script><script>x</script>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 2);
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert_eq!(hashes[0], expected);
        let policy = content_security_policy(&hashes);
        assert!(policy.contains(&format!("'sha256-{expected}'")));
        assert!(!policy.contains("unsafe-inline"));
    }
}
