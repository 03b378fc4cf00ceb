use app::error::{AppError, ErrorBody};
use axum::http::{header, HeaderMap, Method};

pub fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `host[:port]` of an origin or Host header, without the default ports, lower case.
fn authority(value: &str) -> String {
    let without_scheme = value
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(value);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    host.strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .map(str::to_string)
        .unwrap_or(host)
}

/// A state-changing request whose Origin is another site, or `null` (sandboxed
/// frames, some redirects), is refused. Browsers send Origin on every POST, so
/// a request without one is not a browser's cross-site request; the guard has
/// already required a session for every route that is not public.
pub fn check(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null").trim();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if origin == "null" || host.is_empty() || authority(origin) != authority(host) {
        return Err(AppError::Denied(
            ErrorBody::new(
                "csrf.origin",
                "this request came from another site and was refused; open the app itself and try again",
            )
            .with("origin", origin.chars().take(100).collect::<String>()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_origin_passes_and_foreign_or_null_origins_are_refused() {
        assert!(check(&headers(Some("http://localhost:3000"), "localhost:3000")).is_ok());
        assert!(check(&headers(
            Some("https://khaosat.example"),
            "khaosat.example:443"
        ))
        .is_ok());
        assert!(check(&headers(None, "localhost:3000")).is_ok());
        assert!(check(&headers(Some("http://evil.example"), "localhost:3000")).is_err());
        assert!(check(&headers(Some("http://localhost:3001"), "localhost:3000")).is_err());
        assert!(check(&headers(Some("null"), "localhost:3000")).is_err());
    }
}
