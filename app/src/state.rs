//! What the server process shares with every request and server function.

use crate::store::{push::ServerClock, Db};
use leptos::prelude::LeptosOptions;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<ServerClock>,
    pub leptos_options: LeptosOptions,
    pub security: Arc<Security>,
    /// Photo storage and limits.
    pub photos: Arc<crate::photos::storage::Photos>,
    /// What this process is doing among several.
    pub runtime: Arc<Runtime>,
}

/// This process's part among several sharing one database.
#[derive(Debug)]
pub struct Runtime {
    /// True while this process holds the background jobs' lease.
    pub leads_jobs: std::sync::atomic::AtomicBool,
    /// Backup files being imported. Each is spooled to a temporary file of
    /// up to 1 GB and holds its manifest, its changes and one photo at a
    /// time in memory while it is read, checked and applied, so a burst of
    /// imports (a district's phones handed in together) is told to come
    /// back rather than taken side by side until memory or disk runs out.
    pub imports: tokio::sync::Semaphore,
    /// Photo ZIPs being written. Each reads every original of a district
    /// (up to 4 GB) from the store into a temporary file on a blocking
    /// thread, and finishes even when its download is abandoned: a few at
    /// once, the rest told to come back.
    pub photo_zips: Arc<tokio::sync::Semaphore>,
    /// Bytes of pushes being read, parsed and applied, one permit a byte. A
    /// push's JSON takes many times its size once parsed, so 200 phones each
    /// sending the largest push at once would take gigabytes; past this the
    /// next waits a little, then is told to come back.
    pub push_bytes: tokio::sync::Semaphore,
}

impl Runtime {
    /// Backup imports one process reads at once.
    pub const MAX_IMPORTS: usize = 4;
    /// Photo ZIPs one process writes at once.
    pub const MAX_PHOTO_ZIPS: usize = 2;
    /// Push bytes one process holds at once (thirty-two of the largest).
    pub const PUSH_BYTES_IN_FLIGHT: usize = 64 * 1024 * 1024;
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            leads_jobs: Default::default(),
            imports: tokio::sync::Semaphore::new(Self::MAX_IMPORTS),
            photo_zips: Arc::new(tokio::sync::Semaphore::new(Self::MAX_PHOTO_ZIPS)),
            push_bytes: tokio::sync::Semaphore::new(Self::PUSH_BYTES_IN_FLIGHT),
        }
    }
}

/// Session and network settings of a deployment.
#[derive(Debug, Clone)]
pub struct Security {
    /// Send the session cookie with `Secure` (served over HTTPS, or behind a TLS proxy).
    pub secure_cookies: bool,
    /// How long a session lasts without use; each use slides it forward.
    pub session_ttl_ms: i64,
    /// Proxies whose `X-Forwarded-For` is believed (the client address of rate
    /// limits and the audit trail).
    pub trusted_proxies: Vec<IpAddr>,
    /// Send `Strict-Transport-Security` (the server itself serves TLS).
    pub hsts: bool,
    /// The origins (`scheme://host:port`, normalised) whose state-changing
    /// requests are accepted. Empty: the server's own scheme with the request's
    /// Host (a server listening on every address, reached by any name).
    pub public_origins: Vec<String>,
    /// The scheme the server itself speaks, for the empty-list case.
    pub scheme: &'static str,
    /// A request body that sends nothing for this long is abandoned (408).
    pub body_idle_timeout: std::time::Duration,
    /// A request body that, this long after its start, has come slower on
    /// average than `body_min_rate` bytes a second is abandoned (408): a byte
    /// every 25 seconds never trips the idle timeout, yet held a connection
    /// for a day.
    pub body_grace: std::time::Duration,
    pub body_min_rate: u64,
    /// SHA-256 of the token `/metrics` asks for on the app's address (`None`:
    /// not served there). The digest, so the token is in no debug print.
    pub metrics_token: Option<[u8; 32]>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            secure_cookies: false,
            session_ttl_ms: crate::store::users::DEFAULT_SESSION_TTL_MS,
            trusted_proxies: Vec::new(),
            hsts: false,
            public_origins: Vec::new(),
            scheme: "http",
            body_idle_timeout: std::time::Duration::from_secs(30),
            body_grace: std::time::Duration::from_secs(60),
            body_min_rate: 256,
            metrics_token: None,
        }
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
