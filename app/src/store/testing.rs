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
