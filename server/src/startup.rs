//! Start-up: database, migrations, bootstrap data, assets, then serve.

use crate::config::ServeConfig;
use app::state::AppState;
use app::store::Db;
use std::path::Path;
use std::sync::Arc;

/// Opens (creating the data directory for SQLite), migrates and bootstraps.
pub async fn open_database(data_dir: &Path, url: &str) -> Result<Db, String> {
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    }
    let db = Db::connect(url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db.migrate().await.map_err(|e| e.to_string())?;
    app::store::seed::bootstrap(&db)
        .await
        .map_err(|e| format!("loading bootstrap data failed: {e}"))?;
    Ok(db)
}

pub async fn serve(config: ServeConfig) -> Result<(), String> {
    let db = open_database(&config.db.data_dir, &config.db.database_url()).await?;
    if config.demo
        && app::store::seed::demo(&db)
            .await
            .map_err(|e| format!("loading the demo failed: {e}"))?
    {
        tracing::info!(
            "demo data loaded (Bắc Giang 2020; every demo account's password is khaosat-demo)"
        );
    }
    let slots = app::auth::argon::configure(config.password_memory_mb.max(19) * 1024 * 1024);
    tracing::info!("password checks: {slots} at once");
    tokio::task::spawn_blocking(app::store::users::prepare_decoy);
    let site = crate::assets::Site::load(&config.site_root)?;
    crate::assets::precompress_in_background(config.site_root.clone());
    let state = AppState {
        db,
        clock: Arc::new(Default::default()),
        leptos_options: site.leptos_options(),
        security: Arc::new(config.security()?),
        photos: Arc::new(config.photos()?),
    };
    spawn_compaction(state.db.clone(), config.tombstone_retention_days);
    crate::images::spawn_housekeeping(state.clone());
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
    let limits = crate::serve::ConnectionLimits {
        header_read: std::time::Duration::from_secs(config.header_timeout_secs.clamp(1, 3600)),
        per_address: config.max_connections_per_address.max(1),
        exempt: config.trusted_proxies.clone(),
        ..Default::default()
    };
    crate::serve::serve(listener, router, tls, limits, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Removes tombstones older than the retention, once.
pub async fn compact_once(
    db: &Db,
    retention_days: i64,
) -> Result<app::store::compact::Report, String> {
    let cutoff = app::store::now_ms() - retention_days.max(1) * 86_400_000;
    app::store::compact::compact(db, cutoff)
        .await
        .map_err(|e| format!("compaction failed: {e}"))
}

/// Compaction every six hours, first a minute after start. Several server
/// processes may all run it: it is one transaction and idempotent.
fn spawn_compaction(db: Db, retention_days: i64) {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let mut every = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
        loop {
            every.tick().await;
            match compact_once(&db, retention_days).await {
                Ok(r) if r.visits + r.rows + r.facilities > 0 => tracing::info!(
                    "compacted {} visits, {} rows, {} facilities; horizon {}",
                    r.visits,
                    r.rows,
                    r.facilities,
                    r.horizon
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("{e}"),
            }
        }
    });
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
