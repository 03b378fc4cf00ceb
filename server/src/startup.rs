//! Start-up: database, migrations, bootstrap data, assets, then serve.

use crate::config::ServeConfig;
use app::state::AppState;
use app::store::Db;
use std::path::Path;
use std::sync::Arc;

/// Opens (creating the data directory for SQLite), migrates and bootstraps,
/// under the start-up lock.
pub async fn open_database(data_dir: &Path, url: &str) -> Result<Db, String> {
    let db = connect(data_dir, url).await?;
    let lock = db.lock_startup(data_dir).await.map_err(|e| e.to_string())?;
    prepare(&db, false).await?;
    lock.release().await.map_err(|e| e.to_string())?;
    Ok(db)
}

async fn connect(data_dir: &Path, url: &str) -> Result<Db, String> {
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    } else {
        reach(url).await?;
    }
    // Processes started together on a new SQLite file race to switch it to
    // WAL, and SQLite may answer a loser "database is locked" at once, without
    // waiting in its busy handler (1 run in 12 of the four-process test). The
    // loser opens again; the switch is made once.
    let mut wait = std::time::Duration::from_millis(50);
    for attempt in 1.. {
        match Db::connect(url).await {
            Ok(db) => return Ok(db),
            Err(e)
                if url.starts_with("sqlite:")
                    && attempt < 20
                    && e.to_string().contains("database is locked") =>
            {
                tracing::info!("the database is being opened by another process; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(1));
            }
            Err(e) => return Err(format!("cannot open the database: {e}")),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// One connection to a database server first, for its own reason when it
/// fails: the pool retried a refused connection for 30 s and then said only
/// that it was "busy", which sent operators looking at the load of a
/// PostgreSQL that was down or at the wrong port. A server started just
/// before its database still waits for it as long (`KHAOSAT_DB_WAIT_SECS`,
/// 30 by default), saying so; then the last reason is the message.
async fn reach(url: &str) -> Result<(), String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let wait = std::env::var("KHAOSAT_DB_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait);
    loop {
        let why = match tokio::time::timeout(REACH_TIMEOUT, sqlx::AnyConnection::connect(url)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                return Ok(());
            }
            Ok(Err(e)) => format!("cannot open the database: {e}"),
            Err(_) => format!(
                "cannot open the database: it does not answer within {} s (is the host or port right?)",
                REACH_TIMEOUT.as_secs()
            ),
        };
        if std::time::Instant::now() >= deadline {
            return Err(why);
        }
        tracing::info!("{why}; trying again");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

const REACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Migrations, bootstrap data and (with `demo`) the demo. Called under the
/// start-up lock: processes starting together on an empty database would
/// otherwise all load the unit tree and the demo, and all but one would fail.
async fn prepare(db: &Db, demo: bool) -> Result<(), String> {
    db.migrate().await.map_err(|e| e.to_string())?;
    app::store::service::ensure_log_epoch(db)
        .await
        .map_err(|e| format!("cannot record the change log's epoch: {e}"))?;
    app::store::seed::bootstrap(db)
        .await
        .map_err(|e| format!("loading bootstrap data failed: {e}"))?;
    if demo
        && app::store::seed::demo(db)
            .await
            .map_err(|e| format!("loading the demo failed: {e}"))?
    {
        // The password is in the README, never in a log.
        tracing::info!("demo data loaded (Bắc Giang 2020; demo accounts as in the README)");
    }
    Ok(())
}

/// Refuses a photo store that is not the one the database was started with
/// (see `Identity`); marks a new one. Called under the start-up lock, so two
/// processes starting on a new installation agree on one marker.
pub async fn check_photo_store(
    db: &Db,
    storage: std::sync::Arc<dyn app::photos::storage::PhotoStorage>,
) -> Result<(), String> {
    use app::photos::storage::Identity;
    use app::store::service;
    let failed = |e: app::error::AppError| format!("cannot check the photo store: {e}");
    let recorded = service::photo_store_id(db).await.map_err(failed)?;
    let sample = match recorded {
        Some(_) => None,
        None => service::some_photo_key(db).await.map_err(failed)?,
    };
    let store = storage.clone();
    let (marker, holds) = tokio::task::spawn_blocking(move || {
        let marker = store.identity()?;
        let holds = sample.map(|key| store.exists(&key)).transpose()?;
        Ok::<_, std::io::Error>((marker, holds))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the photo store {}: {e}", storage.describe()))?;
    match Identity::decide(recorded.as_deref(), marker.as_deref(), holds) {
        Identity::Same => Ok(()),
        Identity::Mark(id) => {
            if marker.as_deref() != Some(id.as_str()) {
                let (store, mark) = (storage.clone(), id.clone());
                tokio::task::spawn_blocking(move || store.set_identity(&mark))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| {
                        format!("cannot mark the photo store {}: {e}", storage.describe())
                    })?;
            }
            service::set_photo_store_id(db, &id).await.map_err(failed)?;
            tracing::info!(store = %storage.describe(), "photo store {id}");
            Ok(())
        }
        Identity::Refuse(why) => Err(why.message(&storage.describe())),
    }
}

pub async fn serve(config: ServeConfig) -> Result<(), String> {
    // Before anything can count: the background jobs start before the router.
    crate::telemetry::handle();
    let data_dir = &config.db.data_dir;
    let db = connect(data_dir, &config.db.database_url()).await?;
    let photos = config.photos()?;
    let lock = db.lock_startup(data_dir).await.map_err(|e| e.to_string())?;
    prepare(&db, config.demo).await?;
    check_photo_store(&db, photos.storage.clone()).await?;
    lock.release().await.map_err(|e| e.to_string())?;
    let slots = app::auth::argon::configure(config.password_memory_mb.max(19) * 1024 * 1024);
    tracing::info!("password checks: {slots} at once");
    tokio::task::spawn_blocking(app::store::users::prepare_decoy);
    let site = crate::assets::Site::load(&config.site_root, config.hash_file.as_deref())?;
    crate::assets::precompress_in_background(&site, data_dir);
    let state = AppState {
        db,
        clock: Arc::new(Default::default()),
        leptos_options: site.leptos_options(),
        security: Arc::new(config.security()?),
        photos: Arc::new(photos),
        runtime: Default::default(),
    };
    let jobs = crate::jobs::spawn(
        state.clone(),
        config.tombstone_retention_days,
        config.backups()?,
    );
    let state_for_jobs = state.clone();
    let metrics = match config.metrics_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
            tracing::info!("metrics on http://{addr}/metrics");
            let router = crate::telemetry::listener_router(state.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::warn!("the metrics listener stopped: {e}");
                }
            }))
        }
        None => None,
    };
    let router = crate::routes::router(state, Arc::new(site));
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::serve::tls_config(cert, key).await?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("khaosat listening on {scheme}://{local}");
    let fds = crate::serve::raise_fd_limit();
    let total = crate::serve::connection_cap(crate::serve::MAX_CONNECTIONS, fds);
    if total < crate::serve::MAX_CONNECTIONS {
        tracing::warn!(
            "{} open files allowed: at most {total} connections at once (raise `ulimit -n` for more)",
            fds.unwrap_or_default()
        );
    }
    let limits = crate::serve::ConnectionLimits {
        header_read: std::time::Duration::from_secs(config.header_timeout_secs.clamp(1, 3600)),
        per_address: config.max_connections_per_address.max(1),
        exempt: config.trusted_proxies(),
        total,
    };
    let served = crate::serve::serve(listener, router, tls, limits, shutdown_signal())
        .await
        .map_err(|e| e.to_string());
    jobs.release(&state_for_jobs).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served
}

/// Removes tombstones older than the retention, once.
pub async fn compact_once(
    db: &Db,
    retention_days: i64,
) -> Result<app::store::compact::Report, String> {
    // "Keep them for ever" written as a huge number wrapped the cutoff into
    // the future, and every tombstone went; a century is as long as any.
    let cutoff = app::store::now_ms() - retention_days.clamp(1, 36_500) * 86_400_000;
    app::store::compact::compact(db, cutoff)
        .await
        .map_err(|e| format!("compaction failed: {e}"))
}

/// One compaction, logged (the background jobs run it every six hours);
/// false when it failed.
pub async fn compact_and_log(db: &Db, retention_days: i64) -> bool {
    match compact_once(db, retention_days).await {
        Ok(r) => {
            if r.visits + r.rows + r.facilities > 0 {
                tracing::info!(
                    "compacted {} visits, {} rows, {} facilities; horizon {}",
                    r.visits,
                    r.rows,
                    r.facilities,
                    r.horizon
                );
            }
            true
        }
        Err(e) => {
            tracing::warn!("{e}");
            false
        }
    }
}

/// SIGINT or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
