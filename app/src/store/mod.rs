//! All SQL lives here, one file per aggregate; handlers and server functions call
//! these functions and never write SQL themselves. One store serves SQLite (the
//! embedded default) and PostgreSQL (scale-out) through sqlx's `Any` driver: the
//! SQL is written in the subset both accept (`$n` parameters, 64-bit integers,
//! `ON CONFLICT`, `RETURNING`), and where the engines must differ `Engine` says so.
//!
//! Runtime queries rather than `query!` macros: the macros need a live database
//! of each engine (or committed offline data) at compile time, and the store
//! tests run against both engines anyway.

/// Account administration and passwords.
pub mod accounts;
/// Validation and application of one mutation, per entity.
pub mod apply;
/// The audit trail.
pub mod audit;
/// Facilities and proposals: the central proposal database.
pub mod catalog;
/// The change log that pull pages through.
pub mod changes;
/// Tombstone compaction and the pull horizon.
pub mod compact;
/// Conflicts on visit fields and the supervisor's resolution.
pub mod conflicts;
/// The supervisor's visit list and its filters.
pub mod console;
/// The facts the review shows beside one visit: conflicts, changes, audit.
pub mod extras;
/// The office's register of facilities: search, edits, deactivation.
pub mod facilities;
/// Versioned form definitions.
pub mod forms;
/// The registry intake's commit, written in bulk.
pub mod intake;
/// Failed-login counters (rate limits shared by every server process).
pub mod login_limits;
/// Field-level last-writer-wins with kept conflicts.
pub mod merge;
/// Photos and their image verdicts.
pub mod photos;
/// Recommendations on proposals, the year's plan and budget.
pub mod plan;
/// Pull: scoped pages of changes after a cursor.
pub mod pull;
/// Push: exactly-once application of mutations with field-level merge.
pub mod push;
/// The registry intake's matching reads and its own columns.
pub mod registry;
/// Review transitions: commands checked against the current state.
pub mod review;
/// Rows buffered by a push batch and written with multi-row INSERTs.
pub mod rows;
/// Demo and bootstrap data from the files in `data/`.
pub mod seed;
/// Several processes on one database: start-up lock, job leases, store identity.
pub mod service;
/// Throw-away PostgreSQL databases for tests (feature `testing`: test builds only).
#[cfg(feature = "testing")]
pub mod testing;
/// Administrative units: loading a tree file, listing.
pub mod units;
/// Resumable (tus) uploads, shared by every server process.
pub mod uploads;
/// Accounts, roles, unit assignments, sessions and devices.
pub mod users;
/// Visits as the office reads them.
pub mod visits;
/// Survey rounds (years): open, close, and the checks that depend on them.
pub mod years;

use crate::error::AppError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Transaction};

pub type Tx = Transaction<'static, Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub engine: Engine,
    /// On SQLite, the turn of one push or import at a time. SQLite has one
    /// writer; without the turn, 200 phones pushing at once each took a pool
    /// connection to wait on the write lock, and requests that only read
    /// (every session check, the pulls) found none free and answered 503.
    /// Waiting here holds no connection.
    pub writers: std::sync::Arc<tokio::sync::Semaphore>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");
pub(crate) static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("src/store/migrations/postgres");

impl Db {
    /// Connects to `sqlite://…` or `postgres://…`. SQLite files are created when
    /// missing and switched to WAL (readers never block the writer); synchronous
    /// stays FULL so an acknowledged push survives a power cut, not only a crash.
    pub async fn connect(url: &str) -> Result<Db, AppError> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            return Err(AppError::Internal(format!(
                "database URL must start with sqlite: or postgres:, not {}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let url = if engine == Engine::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let max = if engine == Engine::Sqlite { 8 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    if engine == Engine::Sqlite {
                        // Writers queue on the lock rather than fail: a burst of
                        // phones syncing at once must wait, not lose a push to a 500.
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 60000;")
                            .await?;
                    } else {
                        // PostgreSQL compiles a query it costs high (the review
                        // list's word search over 10,000 visits) to machine code
                        // first: 50 of its 96 ms. Queries here are short and many.
                        conn.execute("SET jit = off").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if engine == Engine::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Db {
            pool,
            engine,
            writers: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    pub async fn migrate(&self) -> Result<(), AppError> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        let failed =
            |e: sqlx::migrate::MigrateError| AppError::Internal(format!("migration failed: {e}"));
        if self.engine == Engine::Postgres {
            return migrator.run(&self.pool).await.map_err(failed);
        }
        // SQLite rebuilds a table to change its keys, which it only allows with
        // foreign keys off (the pragma is ignored inside a transaction, so it is
        // set on the connection the migrations run on); every key is checked
        // before the connection goes back to the pool.
        use sqlx::Executor;
        let mut conn = self.pool.acquire().await?;
        conn.execute("PRAGMA foreign_keys = OFF").await?;
        let ran = migrator.run(&mut *conn).await.map_err(failed);
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *conn)
            .await;
        conn.execute("PRAGMA foreign_keys = ON").await?;
        ran?;
        let broken = broken?;
        if !broken.is_empty() {
            return Err(AppError::Internal(format!(
                "migration failed: {} rows break a foreign key",
                broken.len()
            )));
        }
        Ok(())
    }

    /// Runs the migrations through `version` only: a database as an older
    /// release left it, for upgrade tests.
    #[cfg(feature = "testing")]
    pub async fn migrate_through(&self, version: i64) -> Result<(), AppError> {
        let all = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        let older = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                all.iter()
                    .filter(|m| m.version <= version)
                    .cloned()
                    .collect(),
            ),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        older
            .run(&self.pool)
            .await
            .map_err(|e| AppError::Internal(format!("migration failed: {e}")))
    }

    /// Checks the database answers (for `/api/health`).
    pub async fn ping(&self) -> Result<(), AppError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails
    /// with SQLITE_BUSY instead of waiting when another writer got there first.
    pub async fn begin_write(&self) -> Result<Tx, AppError> {
        let tx = match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }
}

/// Milliseconds since the epoch, UTC, from the server's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads a column, turning a type mismatch into an internal error.
pub fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, AppError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    row.try_get(name).map_err(AppError::from)
}
