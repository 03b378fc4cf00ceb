#![recursion_limit = "512"]
//! khaosat's server: configuration, command line, router, the HTTP API and the
//! static assets of the offline shell. SQL lives in `app::store`, never here.

/// Thin HTTP handlers of `/api/*`: parse, authorize, call the store.
pub mod api;
/// Built assets: hashed file names, precompression, the service worker and the offline shell.
pub mod assets;
/// `khaosat backup` and `khaosat restore`: a database snapshot and the photos, with a manifest.
pub mod backup;
/// Where the site's bundle hashes (`hash.txt`) come from.
pub mod bundle_hashes;
/// The command line: `serve` (default) and `user create`.
pub mod cli;
/// Settings from flags and `KHAOSAT_*` environment variables.
pub mod config;
/// The office's export files: XLSX and CSV rows, and photo ZIPs.
pub mod exports;
/// The image pipeline: verdicts, EXIF orientation, display size and thumbnail.
pub mod images;
/// Background jobs on one process at a time (a lease in the database).
pub mod jobs;
/// Whether a JPEG's scan data holds every block its header promises.
pub mod jpeg_scan;
/// Keeps a server-rendered page's reactive owner current across worker threads.
pub mod page_owner;
/// Photo bytes into storage: finishing uploads, whole bytes, storage calls.
pub mod photo_bytes;
/// Release updates as deltas: each bundle file compressed against the one before it (dcz).
pub mod release_deltas;
/// One log line per request, with a request id.
pub mod request_log;
/// The router: API, server-rendered pages, server functions and static files.
pub mod routes;
/// The request guard (session, CSRF, password change) and the strict headers.
pub mod security;
/// Connections: per-address cap, TLS, header and idle timeouts, graceful stop.
pub mod serve;
/// Start-up: open the database, migrate, load bootstrap and demo data.
pub mod startup;
/// Prometheus metrics: what is measured, and `/metrics`.
pub mod telemetry;
/// Spreadsheet templates offices fill in (registry intake).
pub mod templates;
