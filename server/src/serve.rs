//! Connections: accept, a cap per client address, TLS, the timeouts hyper
//! applies only when it is given a timer, and a graceful stop.
//!
//! `axum::serve` installs no timer, so hyper's header-read timeout never ran:
//! 200 connections that sent half a request line stayed open for good. Here
//! every connection gets one. Because hyper starts that timer whenever it waits
//! for a request head, it also closes keep-alive connections left idle.
//! Bodies that stop arriving are the router's business (`security::limits`).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// How long a client may take to send a request's head, and how long a
/// keep-alive connection may sit idle between requests.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a TLS handshake may take.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections one client address may hold at once unless configured: a whole
/// office behind one NAT address, or a load test of 200 phones, fits.
pub const DEFAULT_PER_ADDRESS: usize = 256;
/// Connections the process holds at once: well inside its file descriptors.
pub const MAX_CONNECTIONS: usize = 8192;
/// How long a stop (SIGTERM) waits for requests in flight: an upload chunk
/// from a phone on a slow link takes this long at worst.
const DRAIN: Duration = Duration::from_secs(30);

/// File descriptors kept for everything but client connections: the
/// database pool, photo files, uploads being written, backups, logs.
const FD_RESERVE: u64 = 512;

/// Raises this process's soft limit on open files to its hard limit (a
/// service manager's soft 1,024 was run out by a few hundred slow
/// connections, after which accepts failed and photo writes answered 500),
/// and returns the soft limit now in force.
#[cfg(unix)]
// rlim_t is u64 on Linux, another width elsewhere.
#[allow(clippy::unnecessary_cast)]
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// The connections the process may hold: the configured cap, within the
/// file descriptors it has once the reserve is set aside.
pub fn connection_cap(configured: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(fds) => configured.min(fds.saturating_sub(FD_RESERVE).max(16) as usize),
        None => configured,
    }
}

#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_read: Duration,
    pub per_address: usize,
    pub total: usize,
    /// Addresses without a per-address cap: trusted reverse proxies, which
    /// carry every client's connections.
    pub exempt: Vec<IpAddr>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read: HEADER_READ_TIMEOUT,
            per_address: DEFAULT_PER_ADDRESS,
            total: MAX_CONNECTIONS,
            exempt: Vec::new(),
        }
    }
}

/// Open connections per client address; a slot gives its place back on drop.
#[derive(Default)]
struct Registry {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

struct Slot {
    registry: Arc<Mutex<Registry>>,
    ip: IpAddr,
}

impl Slot {
    fn claim(
        registry: &Arc<Mutex<Registry>>,
        ip: IpAddr,
        limits: &ConnectionLimits,
    ) -> Option<Slot> {
        let mut r = registry.lock().unwrap_or_else(|p| p.into_inner());
        let here = r.by_address.get(&ip).copied().unwrap_or(0);
        if r.total >= limits.total || (here >= limits.per_address && !limits.exempt.contains(&ip)) {
            return None;
        }
        r.total += 1;
        *r.by_address.entry(ip).or_insert(0) += 1;
        Some(Slot {
            registry: registry.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        r.total = r.total.saturating_sub(1);
        if let Some(n) = r.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                r.by_address.remove(&self.ip);
            }
        }
    }
}

/// A refusal a plain-HTTP client can read; a TLS client just sees the close.
fn too_many() -> Vec<u8> {
    let body = r#"{"code":"server.too_many_connections","params":{},"message":"too many connections from this address; close some and try again"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests
/// in flight finish (up to `DRAIN`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, most likely: give others time to close.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A dual-stack listener ([::]) reports IPv4 peers as ::ffff:a.b.c.d:
        // as that, a proxy at 127.0.0.1 matched no --trusted-proxy, and every
        // phone behind it shared one address's limits.
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let Some(slot) = Slot::claim(&registry, peer.ip(), &limits) else {
            tracing::warn!(peer = %peer.ip(), "connection refused: too many from this address");
            crate::telemetry::limited("connections");
            if tls.is_none() {
                tokio::spawn(async move {
                    let mut stream = stream;
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), stream.write_all(&too_many()))
                            .await;
                    let _ = stream.shutdown().await;
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                router.clone(),
                move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            ));
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// The TLS settings of `--tls-cert`/`--tls-key`, HTTP/1.1 only (the timeouts
/// above are HTTP/1's).
pub async fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let loaded = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| {
            format!(
                "cannot read the TLS certificate {} or key {}: {e}",
                cert.display(),
                key.display()
            )
        })?;
    let mut config = (*loaded.get_inner()).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_inside_the_open_files_left_after_the_reserve() {
        assert_eq!(connection_cap(8192, Some(1024)), 512);
        assert_eq!(connection_cap(8192, Some(524_288)), 8192);
        assert_eq!(connection_cap(8192, Some(100)), 16);
        assert_eq!(connection_cap(8192, None), 8192);
    }

    #[cfg(unix)]
    #[test]
    #[allow(clippy::unnecessary_cast)]
    fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
        let soft = raise_fd_limit().expect("getrlimit answers");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct passed.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(
            (soft, limit.rlim_cur),
            (limit.rlim_max as u64, limit.rlim_max)
        );
    }

    #[test]
    fn slots_are_capped_per_address_except_for_exempt_ones_and_given_back_on_drop() {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let limits = ConnectionLimits {
            per_address: 2,
            total: 5,
            exempt: vec!["10.0.0.9".parse().unwrap()],
            ..Default::default()
        };
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let one = Slot::claim(&registry, a, &limits).unwrap();
        let _two = Slot::claim(&registry, a, &limits).unwrap();
        assert!(
            Slot::claim(&registry, a, &limits).is_none(),
            "third from one address"
        );
        let _b = Slot::claim(&registry, b, &limits).expect("another address is fine");
        drop(one);
        let _again = Slot::claim(&registry, a, &limits).unwrap();
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let _p1 = Slot::claim(&registry, proxy, &limits).unwrap();
        let _p2 = Slot::claim(&registry, proxy, &limits).unwrap();
        assert!(
            Slot::claim(&registry, proxy, &limits).is_none(),
            "the total cap holds for everyone"
        );
        assert_eq!(registry.lock().unwrap().total, 5);
    }

    #[test]
    fn the_refusal_is_well_formed_http() {
        let bytes = too_many();
        let text = std::str::from_utf8(&bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }
}
