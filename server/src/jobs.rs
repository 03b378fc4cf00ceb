//! Background jobs, on one server process at a time.
//!
//! Compaction, upload expiry, finishing stalled uploads, the photo pipeline
//! after a restart (and every five minutes) and scheduled backups run on the holder of the lease `background-jobs` (a row in
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
/// Renewed three times per lease, so one late renewal never loses it.
const RENEWALS_PER_LEASE: i64 = 3;
const COMPACT_FIRST: Duration = Duration::from_secs(60);
const COMPACT_EVERY: Duration = Duration::from_secs(6 * 3600);
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);
/// Interrupted photo work is looked for again this often while leading.
const RESUME_EVERY: Duration = Duration::from_secs(300);

/// `--backup-dir`, `--backup-every`, `--backup-keep`.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: std::path::PathBuf,
    pub every: Duration,
    pub keep: usize,
    /// The database's URL, for `pg_dump`.
    pub url: String,
    /// Encrypts every backup when set.
    pub passphrase: Option<crate::backup::Passphrase>,
}

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
pub fn spawn(state: AppState, retention_days: i64, backups: Option<BackupSchedule>) -> Jobs {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
    let (tell, leading) = watch::channel(false);
    let db = state.db.clone();
    let runtime = state.runtime.clone();
    let me = holder.clone();
    let ttl_ms = service::lease_ms(TTL_MS);
    tokio::spawn(async move {
        let renew_every = Duration::from_millis((ttl_ms / RENEWALS_PER_LEASE) as u64);
        let mut every = tokio::time::interval(renew_every);
        loop {
            every.tick().await;
            let held =
                match service::take_lease(&db, LEASE, &me, app::store::now_ms(), ttl_ms).await {
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
            crate::images::resume_interrupted(&state, app::store::now_ms()).await;
            crate::telemetry::job_ran("resume_photos", true);
            let start = Instant::now();
            let mut resume_at = start + RESUME_EVERY;
            let mut expire_at = start;
            let mut compact_at = start + COMPACT_FIRST;
            // The schedule survives restarts and a change of holder: the next
            // backup is due `every` after the newest one in the directory.
            let mut backup_at = backups.as_ref().map(|b| start + b.due_in());
            while *watching.borrow() {
                let now = Instant::now();
                if now >= expire_at {
                    let expired = crate::images::expire_uploads(&state).await;
                    crate::telemetry::job_ran("upload_expiry", expired.is_ok());
                    match expired {
                        Ok(n) if n > 0 => tracing::info!("{n} expired uploads ended"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("upload expiry failed: {e}"),
                    }
                    expire_at = now + EXPIRE_EVERY;
                }
                if now >= resume_at {
                    // Received long enough ago that no judging of them can
                    // still be running (each decode has its timeout).
                    let quiet = (state.photos.decode_timeout * 2).max(Duration::from_secs(60));
                    let before = app::store::now_ms() - quiet.as_millis() as i64;
                    crate::images::resume_interrupted(&state, before).await;
                    crate::telemetry::job_ran("resume_photos", true);
                    resume_at = now + RESUME_EVERY;
                }
                if now >= compact_at {
                    let ok = crate::startup::compact_and_log(&state.db, retention_days).await;
                    crate::telemetry::job_ran("compaction", ok);
                    compact_at = now + COMPACT_EVERY;
                }
                if let (Some(at), Some(schedule)) = (backup_at, &backups) {
                    if now >= at {
                        schedule.run(&state).await;
                        backup_at = Some(Instant::now() + schedule.every);
                    }
                }
                let next = expire_at
                    .min(resume_at)
                    .min(compact_at)
                    .min(backup_at.unwrap_or(compact_at));
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    changed = watching.changed() => if changed.is_err() { return },
                }
            }
        }
    });
    jobs
}

impl BackupSchedule {
    /// The complete backups in the directory (those with a manifest), oldest
    /// first, with the time each was taken.
    fn complete(&self) -> Vec<(i64, std::path::PathBuf)> {
        let mut found: Vec<(i64, std::path::PathBuf)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let at: i64 = name.strip_prefix("backup-")?.parse().ok()?;
                entry
                    .path()
                    .join("manifest.json")
                    .exists()
                    .then(|| (at, entry.path()))
            })
            .collect();
        found.sort();
        found
    }

    fn due_in(&self) -> Duration {
        let newest = self.complete().last().map(|(at, _)| *at);
        let since = newest
            .map(|at| (app::store::now_ms() - at).max(0) as u64)
            .map(Duration::from_millis);
        match since {
            Some(since) if since < self.every => self.every - since,
            _ => Duration::ZERO,
        }
    }

    async fn run(&self, state: &AppState) {
        crate::backup::sweep_leftovers(&self.dir, &self.url);
        let at = app::store::now_ms();
        let to = self.dir.join(format!("backup-{at}"));
        let started = std::time::Instant::now();
        match crate::backup::backup(
            &state.db,
            &self.url,
            state.photos.storage.clone(),
            &to,
            self.passphrase.as_ref(),
        )
        .await
        {
            Ok(manifest) => tracing::info!(
                dir = %to.display(),
                "scheduled backup: {} visits, {} photo files in {:.1} s",
                manifest.records.get("visits").copied().unwrap_or(0),
                manifest.photos.len(),
                started.elapsed().as_secs_f64()
            ),
            Err(e) => {
                crate::telemetry::job_ran("backup", false);
                tracing::warn!(dir = %to.display(), "scheduled backup failed: {e}");
                let _ = std::fs::remove_dir_all(&to);
                return;
            }
        }
        crate::telemetry::job_ran("backup", true);
        let complete = self.complete();
        let drop = complete.len().saturating_sub(self.keep);
        for (_, old) in complete.into_iter().take(drop) {
            if let Err(e) = std::fs::remove_dir_all(&old) {
                tracing::warn!(dir = %old.display(), "cannot delete an old backup: {e}");
            }
        }
    }
}
