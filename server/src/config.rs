//! Settings. Every flag has a `KHAOSAT_*` variable so deployments need no arguments.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "KHAOSAT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: String,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Load the demo (Bắc Giang 2020: 37 proposals and demo accounts) into an empty database.
    #[arg(long, env = "KHAOSAT_DEMO")]
    pub demo: bool,
    /// Built site (cargo-leptos output): pkg/, icons, manifest, service worker.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// The `hash.txt` naming the site's bundle files. Default: beside this
    /// binary (where cargo-leptos writes it), else in the site root.
    #[arg(long, env = "KHAOSAT_HASH_FILE")]
    pub hash_file: Option<PathBuf>,
    /// Mark the session cookie Secure (HTTPS, or behind a TLS-terminating proxy).
    /// Implied by --tls-cert, and by --public-origin when every origin is https.
    #[arg(long, env = "KHAOSAT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Days a session lasts without use (sliding): a field trip.
    #[arg(long, env = "KHAOSAT_SESSION_DAYS", default_value_t = 30)]
    pub session_days: i64,
    /// Address of a reverse proxy whose X-Forwarded-For is trusted (repeat or
    /// comma-separate). Without one, the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "KHAOSAT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, env = "KHAOSAT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "KHAOSAT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Days a deletion is kept for phones to hear of it; older ones are compacted
    /// and a phone whose cursor predates them resyncs from zero.
    #[arg(long, env = "KHAOSAT_TOMBSTONE_RETENTION_DAYS", default_value_t = app::store::compact::DEFAULT_RETENTION_DAYS)]
    pub tombstone_retention_days: i64,
    /// Where photos live (default: `photos/` in the data directory).
    #[arg(long, env = "KHAOSAT_PHOTO_DIR")]
    pub photo_dir: Option<PathBuf>,
    /// Photos in S3-compatible object storage instead, `s3://bucket/prefix`
    /// (endpoint, region and keys from `AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`; `AWS_ALLOW_HTTP=true` for
    /// a plain-HTTP endpoint). Needed by processes that share no disk.
    #[arg(long, env = "KHAOSAT_PHOTO_STORE", conflicts_with = "photo_dir")]
    pub photo_store: Option<String>,
    /// Largest photo upload, in bytes (answered 413 above it).
    #[arg(long, env = "KHAOSAT_MAX_PHOTO_BYTES", default_value_t = app::photos::storage::DEFAULT_MAX_BYTES)]
    pub max_photo_bytes: u64,
    /// Largest image decoded, in megapixels (larger images are refused).
    #[arg(long, env = "KHAOSAT_MAX_PHOTO_MEGAPIXELS", default_value_t = 100)]
    pub max_photo_megapixels: u64,
    /// The public origin(s) of the app, `scheme://host[:port]` (repeat or
    /// comma-separate): state-changing requests from any other origin are
    /// refused. Default: the listen address with this server's scheme (and
    /// `localhost` for a loopback address); on 0.0.0.0, the request's Host with
    /// this server's scheme. Behind a TLS proxy, set the https origin users open.
    #[arg(
        long = "public-origin",
        env = "KHAOSAT_PUBLIC_ORIGINS",
        value_delimiter = ','
    )]
    pub public_origins: Vec<String>,
    /// Memory all password checks may use at once, in MiB (19 MiB each; logins
    /// beyond it queue, then get 503 with Retry-After).
    #[arg(long, env = "KHAOSAT_PASSWORD_MEMORY_MB", default_value_t = 64)]
    pub password_memory_mb: usize,
    /// Connections one client address may hold at once (a trusted proxy has no
    /// cap); past it a new connection is answered 503 and closed.
    #[arg(long, env = "KHAOSAT_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = crate::serve::DEFAULT_PER_ADDRESS)]
    pub max_connections_per_address: usize,
    /// Seconds a client may take to send a request's head, and a keep-alive
    /// connection may stay idle between requests.
    #[arg(long, env = "KHAOSAT_HEADER_TIMEOUT_SECS", default_value_t = 20)]
    pub header_timeout_secs: u64,
    /// Seconds a request body may go without sending a byte before the
    /// request is abandoned (408).
    #[arg(long, env = "KHAOSAT_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,
    /// Days an interrupted photo upload may be resumed.
    #[arg(long, env = "KHAOSAT_UPLOAD_EXPIRY_DAYS", default_value_t = 7)]
    pub upload_expiry_days: i64,
    /// Scheduled backups go into new directories here (the process running
    /// the background jobs writes them; see `khaosat backup`).
    #[arg(long, env = "KHAOSAT_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How often to back up: `24h`, `30m`, `7d` or seconds (`90s`).
    #[arg(long, env = "KHAOSAT_BACKUP_EVERY", default_value = "24h", value_parser = parse_every)]
    pub backup_every: std::time::Duration,
    /// How many scheduled backups to keep (older ones are deleted).
    #[arg(long, env = "KHAOSAT_BACKUP_KEEP", default_value_t = 14)]
    pub backup_keep: usize,
    #[command(flatten)]
    pub backup_secret: PassphraseArgs,
    /// Serve `/metrics` on the app's address to callers sending
    /// `Authorization: Bearer <token>` (prefer the environment variable: a
    /// flag shows in the process list).
    #[arg(long, env = "KHAOSAT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` with no token on this address of its own (one only the
    /// monitoring network reaches, e.g. 10.0.0.5:9464).
    #[arg(long, env = "KHAOSAT_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// `24h`, `30m`, `7d`, `90s`: a whole number and one unit.
pub fn parse_every(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration: write e.g. 24h, 30m, 7d or 90s"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "\"{text}\" has no unit: write e.g. 24h, 30m, 7d or 90s"
            ))
        }
    };
    if n == 0 {
        return Err("the interval must be longer than zero".into());
    }
    Ok(std::time::Duration::from_secs(n * seconds))
}

impl ServeConfig {
    /// Scheduled backups, when `--backup-dir` is set.
    pub fn backups(&self) -> Result<Option<crate::jobs::BackupSchedule>, String> {
        self.backup_dir
            .clone()
            .map(|dir| crate::jobs::BackupSchedule {
                dir,
                every: self.backup_every,
                keep: self.backup_keep.max(1),
                url: self.db.database_url(),
                passphrase: None,
            })
            .map(|mut schedule| {
                schedule.passphrase = self.backup_secret.passphrase()?;
                Ok(schedule)
            })
            .transpose()
    }

    pub fn photos(&self) -> Result<app::photos::storage::Photos, String> {
        let storage = open_photo_store(
            self.photo_dir.clone(),
            self.photo_store.as_deref(),
            &self.db.data_dir,
        )?;
        let mut photos = app::photos::storage::Photos::with_storage(storage);
        photos.max_bytes = self.max_photo_bytes.max(1);
        photos.max_pixels = self.max_photo_megapixels.clamp(1, 1000) * 1_000_000;
        photos.upload_ttl_ms = self.upload_expiry_days.clamp(1, 365) * 24 * 3600 * 1000;
        Ok(photos)
    }

    /// `--trusted-proxy` as peers are compared with it: IPv4-mapped IPv6
    /// (::ffff:127.0.0.1) is the IPv4 address it maps.
    pub fn trusted_proxies(&self) -> Vec<std::net::IpAddr> {
        self.trusted_proxies
            .iter()
            .map(|ip| ip.to_canonical())
            .collect()
    }

    pub fn security(&self) -> Result<app::state::Security, String> {
        let tls = self.tls_cert.is_some();
        let scheme = if tls { "https" } else { "http" };
        let public_origins = if self.public_origins.is_empty() {
            crate::security::csrf::default_origins(&self.addr, scheme)
        } else {
            self.public_origins
                .iter()
                .map(|o| {
                    crate::security::csrf::normalize_origin(o).ok_or_else(|| {
                        if has_path(o) {
                            format!("--public-origin {o:?} has a path: khaosat must be served at the root of its own host name (https://khaosat.example.gov.vn), not under a sub-path")
                        } else {
                            format!("--public-origin {o:?} is not an origin like https://khaosat.example or http://192.168.1.20:3000")
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        // Behind a TLS proxy the server speaks plain HTTP, yet every page the
        // phones load is https: the session cookie is then Secure too, or a
        // typed http:// address (the proxy's redirect) would carry it in clear.
        let behind_https = !self.public_origins.is_empty()
            && public_origins.iter().all(|o| o.starts_with("https://"));
        Ok(app::state::Security {
            secure_cookies: self.secure_cookies || tls || behind_https,
            session_ttl_ms: self.session_days.clamp(1, 365) * 24 * 3600 * 1000,
            trusted_proxies: self.trusted_proxies(),
            hsts: tls,
            public_origins,
            scheme,
            body_idle_timeout: std::time::Duration::from_secs(
                self.body_timeout_secs.clamp(1, 3600),
            ),
            metrics_token: self
                .metrics_token
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(crate::telemetry::token_digest),
            ..app::state::Security::default()
        })
    }
}

/// Whether an address names a path after its host ("https://x.vn/khaosat/").
fn has_path(origin: &str) -> bool {
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/').contains('/'))
}

/// The photo store of `--photo-dir` (default: `photos/` in the data
/// directory) or `--photo-store s3://…`.
pub fn open_photo_store(
    photo_dir: Option<PathBuf>,
    photo_store: Option<&str>,
    data_dir: &std::path::Path,
) -> Result<std::sync::Arc<dyn app::photos::storage::PhotoStorage>, String> {
    use app::photos::s3::{S3Location, S3Store};
    match photo_store {
        Some(url) => {
            let location = S3Location::parse(url)?;
            S3Store::from_env(location)
                .map(|s| std::sync::Arc::new(s) as _)
                .map_err(|e| format!("cannot use {url} for photos: {e}"))
        }
        None => {
            let dir = photo_dir.unwrap_or_else(|| data_dir.join("photos"));
            app::photos::storage::LocalDisk::new(&dir)
                .map(|s| std::sync::Arc::new(s) as _)
                .map_err(|e| format!("cannot use {} for photos: {e}", dir.display()))
        }
    }
}

/// The passphrase that encrypts backups (and opens them for a restore).
#[derive(Debug, Clone, Args)]
pub struct PassphraseArgs {
    /// A file holding the backup passphrase (at least 12 characters): the
    /// backup is encrypted with age, and a restore needs the same passphrase.
    #[arg(long, env = "KHAOSAT_BACKUP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase itself, from the environment only (never a flag: the
    /// process list would show it).
    #[arg(skip = std::env::var("KHAOSAT_BACKUP_PASSPHRASE").ok())]
    pub passphrase_env: Option<String>,
}

impl PassphraseArgs {
    pub fn passphrase(&self) -> Result<Option<crate::backup::Passphrase>, String> {
        crate::backup::Passphrase::from_sources(
            self.passphrase_file.as_deref(),
            self.passphrase_env.as_deref(),
        )
    }
}

/// Where the data lives; shared by every subcommand that opens the database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Where the SQLite database and photos live (created if missing).
    #[arg(long, env = "KHAOSAT_DATA_DIR", default_value = "data-dir")]
    pub data_dir: PathBuf,
    /// Database URL; default: sqlite in the data directory. postgres://… for PostgreSQL.
    /// Its password stays out of `--help`, which gets pasted into tickets.
    #[arg(long, env = "KHAOSAT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// For commands that read what is there (a backup, a compaction): a
    /// SQLite file that does not exist is a mistyped or missing data
    /// directory, never a database to create and then back up, empty.
    pub fn require_existing(&self) -> Result<(), String> {
        let url = self.database_url();
        let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Ok(());
        };
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path == ":memory:" || std::path::Path::new(path).exists() {
            return Ok(());
        }
        Err(format!(
            "no khaosat database at {path}: give the server's --data-dir (or KHAOSAT_DATA_DIR, or --database-url) after the command"
        ))
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("khaosat.db").display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_every;
    use std::time::Duration;

    fn serve(args: &[&str]) -> super::ServeConfig {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: super::ServeConfig,
        }
        <Cli as clap::Parser>::parse_from(std::iter::once("khaosat").chain(args.iter().copied()))
            .serve
    }

    /// Behind a TLS proxy (`--public-origin https://…`) the session cookie
    /// was sent without Secure unless `--secure-cookies` was also given.
    #[test]
    fn cookies_are_secure_when_every_public_origin_is_https() {
        let secure = |args: &[&str]| serve(args).security().unwrap().secure_cookies;
        assert!(secure(&[
            "--public-origin",
            "https://khaosat.example.gov.vn"
        ]));
        assert!(!secure(&[
            "--public-origin",
            "https://khaosat.example.gov.vn",
            "--public-origin",
            "http://192.168.1.20:3000"
        ]));
        assert!(!secure(&[]));
        assert!(secure(&["--secure-cookies"]));
    }

    #[test]
    fn a_sub_path_origin_is_refused_with_the_reason() {
        let Err(why) =
            serve(&["--public-origin", "https://so-cong-thuong.gov.vn/khaosat/"]).security()
        else {
            panic!("a sub-path was taken");
        };
        assert!(why.contains("not under a sub-path"), "{why}");
        let Err(why) = serve(&["--public-origin", "ftp://x"]).security() else {
            panic!("ftp was taken");
        };
        assert!(why.contains("is not an origin like"), "{why}");
    }

    #[test]
    fn a_trusted_proxy_written_ipv4_mapped_is_its_ipv4_address() {
        let config = serve(&["--trusted-proxy", "::ffff:127.0.0.1"]);
        assert_eq!(
            config.trusted_proxies(),
            ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
    }

    #[test]
    fn backup_intervals_read_as_operators_write_them() {
        assert_eq!(parse_every("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_every("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_every("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_every(" 90s "), Ok(Duration::from_secs(90)));
        for bad in ["24", "h", "0h", "1.5h", "-1h", "24 hours"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }
}
