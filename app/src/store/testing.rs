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
