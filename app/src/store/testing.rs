//! Throw-away databases for tests (each test has its own): PostgreSQL databases
//! created and dropped, and copies of a database with the demo loaded. Kept
//! here so that no SQL lives outside the store.

use crate::error::AppError;
use sqlx::Connection;

fn quoted(name: &str) -> Result<String, AppError> {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(format!("\"{name}\""))
    } else {
        Err(AppError::Internal(format!(
            "not a safe database name: {name}"
        )))
    }
}

pub async fn create_database(admin_url: &str, name: &str) -> Result<(), AppError> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {}", quoted(name)?))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), AppError> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(name)?
    ))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// Creates `name` as a copy of a migrated template database, building the
/// template once per set of migrations (its name carries their checksum, so a new
/// migration makes a new template). Test processes run in parallel: an advisory
/// lock makes one of them build it while the others wait.
pub async fn create_migrated_database(admin_url: &str, name: &str) -> Result<(), AppError> {
    sqlx::any::install_default_drivers();
    let template = format!("khaosat_template_{}", migrations_checksum());
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query("SELECT pg_advisory_lock(7077) AS locked")
        .fetch_one(&mut conn)
        .await?;
    let exists = sqlx::query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut conn)
        .await?
        .is_some();
    let built = if exists {
        Ok(())
    } else {
        build_template(admin_url, &mut conn, &template).await
    };
    sqlx::query("SELECT pg_advisory_unlock(7077) AS unlocked")
        .fetch_one(&mut conn)
        .await?;
    built?;
    let copied = copy_template(&mut conn, name, &template).await;
    conn.close().await?;
    copied
}

async fn copy_template(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    template: &str,
) -> Result<(), AppError> {
    let mut last = None;
    for _ in 0..20 {
        match sqlx::query(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quoted(name)?,
            quoted(template)?
        ))
        .execute(&mut *conn)
        .await
        {
            Ok(_) => return Ok(()),
            // "source database is being accessed by other users": another
            // process is copying it this instant; try again shortly.
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    Err(last
        .map(AppError::from)
        .unwrap_or_else(|| AppError::Internal(format!("cannot copy {template} to {name}"))))
}

// The demo takes 0.3 s to load on SQLite and 0.7 s on PostgreSQL (an argon2
// hash per account, two unit trees and their mapping), and nearly every store
// test starts from it: loading it once per test run and copying it saves about
// a minute of the test command. A copy is made for one run of one test binary
// (nextest's run id, else the process), so it never outlives the code that
// seeded it; copies older than a few hours are removed.

/// How long a seeded copy is kept for other processes of its run.
const SEEDED_KEPT_SECS: u64 = 6 * 3600;

/// This run's name for its seeded copies: nextest's run id, else the process id.
fn run_key() -> String {
    let run = std::env::var("NEXTEST_RUN_ID")
        .map(|id| id.replace('-', ""))
        .unwrap_or_else(|_| format!("pid{}", std::process::id()));
    run.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect()
}

fn now_secs() -> u64 {
    (super::now_ms() / 1000).max(0) as u64
}

async fn load_demo(db: &super::Db) -> Result<(), AppError> {
    db.migrate().await?;
    super::seed::bootstrap(db).await?;
    super::seed::demo(db).await?;
    Ok(())
}

/// Writes to `dest` a SQLite database with the migrations, bootstrap data and
/// demo loaded, copied from this run's seeded file (made on first use).
pub async fn copy_seeded_sqlite(dest: &std::path::Path) -> Result<(), AppError> {
    let dir = std::env::temp_dir();
    let seeded = dir.join(format!("khaosat-seeded-{}.db", run_key()));
    if !seeded.exists() {
        remove_old_seeded_files(&dir);
        // Made under a name of this process's own, then renamed: processes of
        // one run that start together each make a whole file, and one wins.
        let building = dir.join(format!(
            "khaosat-seeded-{}.{}.building.db",
            run_key(),
            std::process::id()
        ));
        let whole = building.with_extension("vacuumed");
        let _ = std::fs::remove_file(&whole);
        let db = super::Db::connect(&format!("sqlite://{}", building.display())).await?;
        let loaded = async {
            load_demo(&db).await?;
            // One self-contained file, without the write-ahead log beside it.
            sqlx::query("VACUUM INTO $1")
                .bind(whole.display().to_string())
                .execute(&db.pool)
                .await?;
            Ok::<_, AppError>(())
        }
        .await;
        db.pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
        }
        loaded?;
        std::fs::rename(&whole, &seeded)
            .map_err(|e| AppError::Internal(format!("cannot keep the seeded database: {e}")))?;
    }
    std::fs::copy(&seeded, dest)
        .map_err(|e| AppError::Internal(format!("cannot copy the seeded database: {e}")))?;
    Ok(())
}

fn remove_old_seeded_files(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > SEEDED_KEPT_SECS);
        if old
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with("khaosat-seeded-")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Creates `name` on PostgreSQL as a copy of this run's seeded template (the
/// migrated template with the bootstrap data and demo loaded, made on first use).
pub async fn create_seeded_database(admin_url: &str, name: &str) -> Result<(), AppError> {
    sqlx::any::install_default_drivers();
    let key = run_key();
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query("SELECT pg_advisory_lock(7078) AS locked")
        .fetch_one(&mut conn)
        .await?;
    let built = async {
        let existing: Vec<String> = sqlx::query(
            "SELECT datname::text AS datname FROM pg_database
             WHERE datname LIKE 'khaosat\\_seeded\\_%' OR datname LIKE 'khaosat\\_building\\_%'",
        )
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|row| super::col::<String>(row, "datname"))
        .collect::<Result<_, _>>()?;
        if let Some(mine) = existing
            .iter()
            .find(|n| n.starts_with("khaosat_seeded_") && n.ends_with(&format!("_{key}")))
        {
            return Ok(mine.clone());
        }
        // Templates (and builds cut short) of runs long finished; a running
        // one's is never this old.
        for old in existing.iter().filter(|n| {
            n.split('_')
                .nth(2)
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|t| t + SEEDED_KEPT_SECS < now_secs())
        }) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(old)?))
                .execute(&mut conn)
                .await;
        }
        let template = format!("khaosat_seeded_{}_{key}", now_secs());
        let building = format!("khaosat_building_{}_{key}", now_secs());
        create_migrated_database(admin_url, &building).await?;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(admin_url);
        let db = super::Db::connect(&format!("{base}/{building}")).await?;
        let loaded = load_demo(&db).await;
        db.pool.close().await;
        if let Err(e) = loaded {
            let _ = drop_database(admin_url, &building).await;
            return Err(e);
        }
        rename_database(&mut conn, &building, &template).await?;
        Ok(template)
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock(7078) AS unlocked")
        .fetch_one(&mut conn)
        .await?;
    let copied = copy_template(&mut conn, name, &built?).await;
    conn.close().await?;
    copied
}

async fn build_template(
    admin_url: &str,
    conn: &mut sqlx::AnyConnection,
    template: &str,
) -> Result<(), AppError> {
    let building = format!("{template}_building");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&building)?))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {}", quoted(&building)?))
        .execute(&mut *conn)
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    let db = super::Db::connect(&format!("{base}/{building}")).await?;
    db.migrate().await?;
    db.pool.close().await;
    rename_database(conn, &building, template).await
}

/// Renames a database just built. The server process behind a pool closed a
/// moment ago may still be exiting, and PostgreSQL refuses to rename a
/// database that has a session (55006, "being accessed by other users"):
/// seen as a whole run's first PostgreSQL test failing after a rebuild.
async fn rename_database(
    conn: &mut sqlx::AnyConnection,
    from: &str,
    to: &str,
) -> Result<(), AppError> {
    let sql = format!("ALTER DATABASE {} RENAME TO {}", quoted(from)?, quoted(to)?);
    let mut attempts = 0;
    loop {
        match sqlx::query(&sql).execute(&mut *conn).await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("55006") && attempts < 100 =>
            {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A short checksum of every PostgreSQL migration (name and SQL).
fn migrations_checksum() -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for m in super::POSTGRES_MIGRATIONS.iter() {
        hash.update(m.version.to_le_bytes());
        hash.update(&*m.checksum);
    }
    hex::encode(&hash.finalize()[..6])
}

/// Rows as releases through migration 0006 wrote them, before unit trees were
/// named: bare codes, paths without the tree. A district inspector (`u1`,
/// 213) with a phone, a facility in a ward of 213 and one in 215, a proposal,
/// a visit with a review event, and their change-log entries.
pub async fn write_rows_before_unit_trees(db: &super::Db) -> Result<(), AppError> {
    let statements = [
        "INSERT INTO admin_units (code, name, kind, level, parent_code, path, tree, effective_from, effective_to, search) VALUES
           ('24', 'Bắc Giang', 'tỉnh', 'province', NULL, '24/', 'bac-giang-2020', '2020-01-01', NULL, 'tinh bac giang')",
        "INSERT INTO admin_units (code, name, kind, level, parent_code, path, tree, effective_from, effective_to, search) VALUES
           ('213', 'Bắc Giang', 'thành phố', 'district', '24', '24/213/', 'bac-giang-2020', '2020-01-01', NULL, 'thanh pho bac giang')",
        "INSERT INTO admin_units (code, name, kind, level, parent_code, path, tree, effective_from, effective_to, search) VALUES
           ('215', 'Lục Ngạn', 'huyện', 'district', '24', '24/215/', 'bac-giang-2020', '2020-01-01', NULL, 'huyen luc ngan')",
        "INSERT INTO admin_units (code, name, kind, level, parent_code, path, tree, effective_from, effective_to, search) VALUES
           ('07201', 'Thọ Xương', 'phường', 'commune', '213', '24/213/07201/', 'bac-giang-2020', '2020-01-01', NULL, 'phuong tho xuong')",
        "INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u1', 'ksv', 'KSV', 'x', 0)",
        "INSERT INTO user_roles (user_id, role) VALUES ('u1', 'inspector')",
        "INSERT INTO user_units (user_id, unit_code) VALUES ('u1', '213')",
        "INSERT INTO devices (device_id, user_id, created_at) VALUES ('d1', 'u1', 0)",
        "INSERT INTO facilities (id, name, commune_code, district_code, industry_group, search, created_at, updated_at) VALUES
           ('f1', 'Cơ sở Thọ Xương', '07201', '213', 'food', 'co so tho xuong', 0, 0)",
        "INSERT INTO facilities (id, name, commune_code, district_code, industry_group, search, created_at, updated_at) VALUES
           ('f2', 'Cơ sở Lục Ngạn', NULL, '215', 'food', 'co so luc ngan', 0, 0)",
        "INSERT INTO proposals (id, year, district_code, facility_id, title, support_kind, requested_amount, search, created_at, updated_at) VALUES
           ('p1', 2020, '213', 'f1', 'Đề án', 'machinery', 1000, 'de an', 0, 0)",
        "INSERT INTO forms (form_id, version, definition, is_current, created_at) VALUES ('f', 1, '{}', 1, 0)",
        "INSERT INTO visits (id, form_id, form_version, proposal_id, facility_id, owner_id, device_id, district_code, unit_path,
           review_state, created_at, received_at) VALUES ('v1', 'f', 1, 'p1', 'f1', 'u1', 'd1', '213', '24/213/', 'submitted', 0, 0)",
        "INSERT INTO review_events (visit_id, from_state, to_state, user_id, at) VALUES ('v1', 'in_progress', 'submitted', 'u1', 0)",
        "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ('unit', '213', NULL, NULL, 0)",
        "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ('facility', 'f1', '24/213/07201/', NULL, 0)",
        "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ('facility', 'f2', '24/215/', NULL, 0)",
        "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ('proposal', 'p1', '24/213/', NULL, 0)",
        "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ('visit', 'v1', '24/213/', 'u1', 0)",
    ];
    let mut tx = db.begin_write().await?;
    for sql in statements {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The scope path of each visit, by id (upgrade tests).
pub async fn visit_paths(db: &super::Db) -> Result<Vec<(String, Option<String>)>, AppError> {
    sqlx::query("SELECT id, unit_path FROM visits ORDER BY id")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((super::col(r, "id")?, super::col(r, "unit_path")?)))
        .collect()
}
