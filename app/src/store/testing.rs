//! Creating and dropping throw-away PostgreSQL databases for tests (each test has
//! its own). Kept here so that no SQL lives outside the store.

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
    let mut last = None;
    for _ in 0..20 {
        match sqlx::query(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quoted(name)?,
            quoted(&template)?
        ))
        .execute(&mut conn)
        .await
        {
            Ok(_) => {
                last = None;
                break;
            }
            // "source database is being accessed by other users": another
            // process is copying it this instant; try again shortly.
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    conn.close().await?;
    match last {
        None => Ok(()),
        Some(e) => Err(e.into()),
    }
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
    sqlx::query(&format!(
        "ALTER DATABASE {} RENAME TO {}",
        quoted(&building)?,
        quoted(template)?
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
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
