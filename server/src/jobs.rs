//! Background jobs, on one server process at a time.
//!
//! Compaction, upload expiry, finishing stalled uploads and the photo pipeline
//! after a restart run on the holder of the lease `background-jobs` (a row in
//! the database, so SQLite and PostgreSQL work alike). The holder renews it
//! every 10 s for 30 s; a process that dies stops renewing and another takes
//! over within 30 s, starting with the work the dead one left. A process that
//! stops cleanly gives the lease up at once. Every job is idempotent, so the
//! rare overlap (a holder stalled past its lease) costs work, never data.

use app::state::AppState;
use app::store::service;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

pub const LEASE: &str = "background-jobs";
const TTL_MS: i64 = 30_000;
const RENEW_EVERY: Duration = Duration::from_secs(10);
const COMPACT_FIRST: Duration = Duration::from_secs(60);
const COMPACT_EVERY: Duration = Duration::from_secs(6 * 3600);
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

/// This process's side of the lease.
#[derive(Clone)]
pub struct Jobs {
    pub holder: String,
    leading: watch::Receiver<bool>,
}

impl Jobs {
    /// Whether this process runs the background jobs now.
    pub fn leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// Gives the lease up (on a clean stop) so another process takes over now.
    pub async fn release(&self, state: &AppState) {
        if let Err(e) = service::drop_lease(&state.db, LEASE, &self.holder).await {
            tracing::warn!("cannot give up the background jobs: {e}");
        }
    }
}

/// Starts renewing the lease and running the jobs while it is held.
pub fn spawn(state: AppState, retention_days: i64) -> Jobs {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
    let (tell, leading) = watch::channel(false);
    let db = state.db.clone();
    let runtime = state.runtime.clone();
    let me = holder.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RENEW_EVERY);
        loop {
            every.tick().await;
            let held =
                match service::take_lease(&db, LEASE, &me, app::store::now_ms(), TTL_MS).await {
                    Ok(held) => held,
                    Err(e) => {
                        tracing::warn!("cannot renew the background jobs' lease: {e}");
                        false
                    }
                };
            if held != *tell.borrow() {
                if held {
                    tracing::info!("this process runs the background jobs");
                } else {
                    tracing::info!("another process runs the background jobs");
                }
                runtime
                    .leads_jobs
                    .store(held, std::sync::atomic::Ordering::Relaxed);
                tell.send_replace(held);
            }
        }
    });
    let jobs = Jobs { holder, leading };
    let mut watching = jobs.leading.clone();
    tokio::spawn(async move {
        loop {
            // Wait to lead.
            while !*watching.borrow_and_update() {
                if watching.changed().await.is_err() {
                    return;
                }
            }
            crate::images::resume_interrupted(&state).await;
            let start = Instant::now();
            let mut expire_at = start;
            let mut compact_at = start + COMPACT_FIRST;
            while *watching.borrow() {
                let now = Instant::now();
                if now >= expire_at {
                    match crate::images::expire_uploads(&state).await {
                        Ok(n) if n > 0 => tracing::info!("{n} expired uploads ended"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("upload expiry failed: {e}"),
                    }
                    expire_at = now + EXPIRE_EVERY;
                }
                if now >= compact_at {
                    crate::startup::compact_and_log(&state.db, retention_days).await;
                    compact_at = now + COMPACT_EVERY;
                }
                let next = expire_at.min(compact_at);
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    changed = watching.changed() => if changed.is_err() { return },
                }
            }
        }
    });
    jobs
}
