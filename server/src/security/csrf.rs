//! The Origin check of state-changing requests: scheme, host and port must be
//! those of the deployment's public origin(s) (`--public-origin`), so neither
//! another site nor another scheme of the same host (a plain-HTTP page posting
//! to the HTTPS app) can act for a logged-in user.

use app::error::{AppError, ErrorBody};
use app::state::Security;
use axum::http::{header, HeaderMap, Method};

pub fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `scheme://host:port`, lower case, with the scheme's default port written
/// out; `None` for anything that is not an http(s) origin.
pub fn normalize_origin(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // An IPv6 literal keeps its brackets: [::1]:3000.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && !port.is_empty() => {
            (host.to_string(), port.parse::<u16>().ok()?)
        }
        _ => (authority.clone(), default_port),
    };
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}:{port}"))
}

/// The origins a server listening on `addr` answers to when none is
/// configured: that address (and `localhost` for a loopback one) with the
/// server's scheme. An unspecified address (0.0.0.0) gives none: the request's
/// Host is used instead, still with the server's scheme.
pub fn default_origins(addr: &str, scheme: &str) -> Vec<String> {
    let Ok(socket) = addr.parse::<std::net::SocketAddr>() else {
        return normalize_origin(&format!("{scheme}://{addr}"))
            .into_iter()
            .collect();
    };
    let ip = socket.ip();
    let port = socket.port();
    if ip.is_unspecified() {
        return Vec::new();
    }
    let mut hosts = vec![match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }];
    if ip.is_loopback() {
        hosts.extend([
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "[::1]".to_string(),
        ]);
    }
    let mut out: Vec<String> = hosts
        .iter()
        .filter_map(|h| normalize_origin(&format!("{scheme}://{h}:{port}")))
        .collect();
    out.dedup();
    out
}

/// A state-changing request whose Origin is not one of the deployment's, or
/// `null` (sandboxed frames, some redirects), is refused. Browsers send Origin
/// on every POST, so a request without one is not a browser's cross-site
/// request; the guard has already required a session for every route that is
/// not public.
pub fn check(headers: &HeaderMap, security: &Security) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null").trim();
    let accepted = normalize_origin(origin).is_some_and(|got| {
        if security.public_origins.is_empty() {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty())
                .and_then(|host| normalize_origin(&format!("{}://{host}", security.scheme)))
                .is_some_and(|own| own == got)
        } else {
            security.public_origins.contains(&got)
        }
    });
    if !accepted {
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

    fn listed(origins: &[&str]) -> Security {
        Security {
            public_origins: origins.iter().filter_map(|o| normalize_origin(o)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn origins_normalise_scheme_host_and_default_ports() {
        assert_eq!(
            normalize_origin("HTTP://LocalHost:3000/").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            normalize_origin("https://khaosat.example").as_deref(),
            Some("https://khaosat.example:443")
        );
        assert_eq!(
            normalize_origin("http://khaosat.example").as_deref(),
            Some("http://khaosat.example:80")
        );
        assert_eq!(
            normalize_origin("http://[::1]:3000").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(normalize_origin("ftp://x"), None);
        assert_eq!(normalize_origin("null"), None);
        assert_eq!(normalize_origin("http://a/b"), None);
    }

    #[test]
    fn without_a_list_the_host_is_compared_with_the_servers_own_scheme() {
        let plain = Security::default();
        assert!(check(
            &headers(Some("http://localhost:3000"), "localhost:3000"),
            &plain
        )
        .is_ok());
        assert!(check(&headers(None, "localhost:3000"), &plain).is_ok());
        assert!(check(
            &headers(Some("http://evil.example"), "localhost:3000"),
            &plain
        )
        .is_err());
        assert!(check(
            &headers(Some("http://localhost:3001"), "localhost:3000"),
            &plain
        )
        .is_err());
        assert!(check(&headers(Some("null"), "localhost:3000"), &plain).is_err());
        // Another scheme of the same host is another origin.
        assert!(check(
            &headers(Some("https://localhost:3000"), "localhost:3000"),
            &plain
        )
        .is_err());
        // A default port is the same origin written two ways, but only for its scheme.
        assert!(check(
            &headers(Some("http://khaosat.example"), "khaosat.example:80"),
            &plain
        )
        .is_ok());
        assert!(check(
            &headers(Some("https://khaosat.example"), "khaosat.example:443"),
            &plain
        )
        .is_err());
        let tls = Security {
            scheme: "https",
            ..Default::default()
        };
        assert!(check(
            &headers(Some("https://khaosat.example"), "khaosat.example:443"),
            &tls
        )
        .is_ok());
        assert!(check(
            &headers(Some("http://khaosat.example"), "khaosat.example"),
            &tls
        )
        .is_err());
    }

    #[test]
    fn a_configured_origin_is_matched_exactly_whatever_the_host_header_says() {
        let proxy = listed(&["https://khaosat.example"]);
        // Behind a TLS proxy the server sees plain HTTP and the proxy's Host.
        assert!(check(
            &headers(Some("https://khaosat.example"), "127.0.0.1:3000"),
            &proxy
        )
        .is_ok());
        assert!(check(
            &headers(Some("http://khaosat.example"), "khaosat.example"),
            &proxy
        )
        .is_err());
        assert!(check(
            &headers(Some("https://khaosat.example:8443"), "khaosat.example"),
            &proxy
        )
        .is_err());
        assert!(check(
            &headers(Some("https://evil.example"), "evil.example"),
            &proxy
        )
        .is_err());
    }

    #[test]
    fn the_default_origins_are_the_listen_address_and_its_loopback_names() {
        let d = default_origins("127.0.0.1:3000", "http");
        assert!(d.contains(&"http://127.0.0.1:3000".to_string()));
        assert!(d.contains(&"http://localhost:3000".to_string()));
        assert!(!d.iter().any(|o| o.starts_with("https")));
        assert_eq!(
            default_origins("192.168.1.20:3443", "https"),
            vec!["https://192.168.1.20:3443".to_string()]
        );
        assert!(default_origins("0.0.0.0:3000", "http").is_empty());
    }
}
