//! Running several server processes on one database: the start-up lock (so
//! migrations and seeding run once), leases for background jobs (so they run
//! on one process at a time), the photo store's identity and the change
//! log's epoch.

use super::{Db, Engine};
use crate::error::AppError;
use sqlx::Row;
use std::path::Path;

/// The PostgreSQL advisory lock key of start-up ("khaosat" in ASCII, trimmed).
const STARTUP_LOCK_KEY: i64 = 0x6b68_616f_7361;

/// Held while one process migrates and seeds; the others wait for it.
pub enum StartupLock {
    /// The session holding `pg_advisory_lock`; closing it releases the lock.
    Postgres(Option<sqlx::pool::PoolConnection<sqlx::Any>>),
    /// An exclusive `flock` on `startup.lock` beside the SQLite file.
    Sqlite(std::fs::File),
}

impl Db {
    /// Waits until no other process is starting on this database. SQLite
    /// locks a file in `data_dir` (processes sharing a SQLite file share
    /// that directory); PostgreSQL takes a session advisory lock.
    pub async fn lock_startup(&self, data_dir: &Path) -> Result<StartupLock, AppError> {
        match self.engine {
            Engine::Postgres => {
                let mut conn = self.pool.acquire().await?;
                // Tried, not awaited in one statement: a process waiting its
                // turn is not a slow query, and sqlx would log it as one.
                loop {
                    let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
                        .bind(STARTUP_LOCK_KEY)
                        .fetch_one(&mut *conn)
                        .await?;
                    if row.try_get::<bool, _>("locked")? {
                        return Ok(StartupLock::Postgres(Some(conn)));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            Engine::Sqlite => {
                let path = data_dir.join("startup.lock");
                let file = tokio::task::spawn_blocking(move || {
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)?;
                    file.lock()?;
                    Ok::<_, std::io::Error>(file)
                })
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .map_err(|e| AppError::Internal(format!("cannot lock startup.lock: {e}")))?;
                Ok(StartupLock::Sqlite(file))
            }
        }
    }
}

impl StartupLock {
    /// Lets the next process start.
    pub async fn release(mut self) -> Result<(), AppError> {
        match &mut self {
            StartupLock::Postgres(conn) => {
                if let Some(mut conn) = conn.take() {
                    sqlx::query("SELECT pg_advisory_unlock($1) AS unlocked")
                        .bind(STARTUP_LOCK_KEY)
                        .fetch_one(&mut *conn)
                        .await?;
                }
            }
            StartupLock::Sqlite(file) => file
                .unlock()
                .map_err(|e| AppError::Internal(format!("cannot unlock startup.lock: {e}")))?,
        }
        Ok(())
    }
}

impl Drop for StartupLock {
    fn drop(&mut self) {
        // A start-up that failed half-way: close the session rather than hand a
        // connection that still holds the lock back to the pool.
        if let StartupLock::Postgres(conn) = self {
            if let Some(conn) = conn.take() {
                drop(conn.detach());
            }
        }
    }
}

/// How long a lease lasts: `ttl_ms`, or `KHAOSAT_FAULT_LEASE_MS` in test builds,
/// so a process test sees a killed holder's lease run out in seconds rather than
/// half a minute. Compiled only into test builds (feature `testing`).
pub fn lease_ms(ttl_ms: i64) -> i64 {
    #[cfg(feature = "testing")]
    if let Some(ms) = std::env::var("KHAOSAT_FAULT_LEASE_MS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|ms| *ms > 0)
    {
        return ms;
    }
    ttl_ms
}

/// Takes or renews the lease `name` for `holder` until `now + ttl_ms`. True when
/// `holder` holds it: it held it already, or nobody did, or the last holder let
/// it run out.
pub async fn take_lease(
    db: &Db,
    name: &str,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<bool, AppError> {
    let row = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
         RETURNING holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now + ttl_ms)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.is_some())
}

/// Gives the lease up (a process stopping cleanly): another takes it at once.
pub async fn drop_lease(db: &Db, name: &str, holder: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Who holds the lease `name` now (for `/api/ready` and tests).
pub async fn lease_holder(db: &Db, name: &str, now: i64) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT holder FROM leases WHERE name = $1 AND expires_at > $2")
        .bind(name)
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.get::<String, _>("holder")))
}

const PHOTO_STORE_ID: &str = "photo_store_id";

/// The identity of the photo store this database was started with.
pub async fn photo_store_id(db: &Db) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT value FROM service_settings WHERE key = $1")
        .bind(PHOTO_STORE_ID)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.get::<String, _>("value")))
}

/// Records the photo store's identity; never replaces one already recorded.
pub async fn set_photo_store_id(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO service_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(PHOTO_STORE_ID)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

const LOG_EPOCH: &str = "log_epoch";

/// The change log's epoch: made with the database, made anew by a restore.
/// Phones send back the one they synced with; another one tells them the
/// server lost what came after its backup (`sync.server_restored`).
pub async fn log_epoch(db: &Db) -> Result<String, AppError> {
    let row = sqlx::query("SELECT value FROM service_settings WHERE key = $1")
        .bind(LOG_EPOCH)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(r) => Ok(r.get::<String, _>("value")),
        None => ensure_log_epoch(db).await,
    }
}

/// Makes the epoch if the database has none (a new one, or one from before
/// epochs); never replaces one. Two processes starting together agree on one.
pub async fn ensure_log_epoch(db: &Db) -> Result<String, AppError> {
    sqlx::query(
        "INSERT INTO service_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(LOG_EPOCH)
    .bind(uuid::Uuid::now_v7().to_string())
    .execute(&db.pool)
    .await?;
    let row = sqlx::query("SELECT value FROM service_settings WHERE key = $1")
        .bind(LOG_EPOCH)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.get::<String, _>("value"))
}

/// A new epoch, after a restore: every phone that synced with the backed-up
/// server learns at its next sync that the server is not the one it left.
pub async fn renew_log_epoch(db: &Db) -> Result<String, AppError> {
    let epoch = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO service_settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(LOG_EPOCH)
    .bind(&epoch)
    .execute(&db.pool)
    .await?;
    Ok(epoch)
}

/// The object key of one stored photo, if any: an unmarked photo store that
/// holds it is the one this database used before stores were marked.
pub async fn some_photo_key(db: &Db) -> Result<Option<String>, AppError> {
    let row = sqlx::query(
        "SELECT object_key FROM photos WHERE object_key IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| r.get::<String, _>("object_key")))
}

/// The tables a backup counts, parents first: a restore checks that each
/// holds as many rows as when the snapshot was taken.
pub const COUNTED_TABLES: &[&str] = &[
    "users",
    "admin_units",
    "forms",
    "survey_years",
    "facilities",
    "proposals",
    "visits",
    "visit_rows",
    "field_values",
    "photos",
    "conflicts",
    "review_events",
    "mutations",
    "change_log",
    "audit_log",
    "budgets",
];

/// Rows per table of [`COUNTED_TABLES`].
pub async fn record_counts(db: &Db) -> Result<std::collections::BTreeMap<String, i64>, AppError> {
    let mut counts = std::collections::BTreeMap::new();
    for table in COUNTED_TABLES {
        // The names come from the constant above, never from input.
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&db.pool)
            .await?;
        counts.insert(table.to_string(), row.get::<i64, _>("n"));
    }
    Ok(counts)
}

/// A consistent copy of a SQLite database at `path` (which must not exist),
/// taken while writers go on: `VACUUM INTO` reads one snapshot.
pub async fn snapshot_sqlite(db: &Db, path: &Path) -> Result<(), AppError> {
    if db.engine != Engine::Sqlite {
        return Err(AppError::Internal("snapshot_sqlite on PostgreSQL".into()));
    }
    sqlx::query("VACUUM INTO $1")
        .bind(path.display().to_string())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Whether the database holds no tables at all (a restore target).
pub async fn is_empty(db: &Db) -> Result<bool, AppError> {
    let sql = match db.engine {
        Engine::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
        Engine::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let row = sqlx::query(sql).fetch_one(&db.pool).await?;
    Ok(row.get::<i64, _>("n") == 0)
}

/// A PostgreSQL transaction whose snapshot `pg_dump --snapshot` can share:
/// the counts read in it and the dump see the same data while writers go on.
pub async fn begin_exported_snapshot(db: &Db) -> Result<(super::Tx, String), AppError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT pg_export_snapshot() AS id")
        .fetch_one(&mut *tx)
        .await?;
    Ok((tx, row.get::<String, _>("id")))
}

/// [`record_counts`] inside a transaction (the exported snapshot's).
pub async fn record_counts_in(
    tx: &mut super::Tx,
) -> Result<std::collections::BTreeMap<String, i64>, AppError> {
    let mut counts = std::collections::BTreeMap::new();
    for table in COUNTED_TABLES {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&mut **tx)
            .await?;
        counts.insert(table.to_string(), row.get::<i64, _>("n"));
    }
    Ok(counts)
}
