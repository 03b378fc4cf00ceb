//! Accounts, roles, unit assignments, sessions and devices.

use super::{col, now_ms, Db};
use crate::error::AppError;
use crate::model::{Role, UserInfo};
use sqlx::any::AnyRow;

/// How long a phone's session lasts without use: a field trip.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

pub fn hash_password(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes)
        .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a password nobody has, so an unknown username costs the same time
/// as a wrong password (no user enumeration by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub roles: &'a [Role],
    pub units: &'a [String],
}

pub const MIN_PASSWORD_LEN: usize = 10;

pub async fn create(db: &Db, user: NewUser<'_>) -> Result<String, AppError> {
    let username = user.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 {
        return Err(AppError::Invalid(crate::error::ErrorBody::new(
            "user.bad_username",
            "username must be 1 to 64 characters",
        )));
    }
    if user.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::Invalid(
            crate::error::ErrorBody::new(
                "user.password_too_short",
                format!("password must be at least {MIN_PASSWORD_LEN} characters"),
            )
            .with("min", MIN_PASSWORD_LEN),
        ));
    }
    let hash = hash_password(user.password)?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(&username)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(AppError::Invalid(
            crate::error::ErrorBody::new("user.exists", format!("user {username} already exists"))
                .with("username", username),
        ));
    }
    sqlx::query("INSERT INTO users (id, username, display_name, password_hash, active, created_at) VALUES ($1, $2, $3, $4, 1, $5)")
        .bind(&id)
        .bind(&username)
        .bind(user.display_name)
        .bind(&hash)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    for role in user.roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(&id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
    }
    for unit in user.units {
        if super::units::path_of(&mut tx, unit).await?.is_none() {
            return Err(AppError::Invalid(
                crate::error::ErrorBody::new(
                    "user.unknown_unit",
                    format!("no administrative unit with code {unit}"),
                )
                .with("unit", unit.clone()),
            ));
        }
        sqlx::query("INSERT INTO user_units (user_id, unit_code) VALUES ($1, $2)")
            .bind(&id)
            .bind(unit)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn count(db: &Db) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&db.pool)
        .await?;
    col(&row, "n")
}

async fn load_info(db: &Db, row: &AnyRow) -> Result<UserInfo, AppError> {
    let id: String = col(row, "id")?;
    let roles = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
        .bind(&id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .filter_map(|r| col::<String>(r, "role").ok().and_then(|s| Role::parse(&s)))
        .collect();
    let units =
        sqlx::query("SELECT unit_code FROM user_units WHERE user_id = $1 ORDER BY unit_code")
            .bind(&id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| col(r, "unit_code"))
            .collect::<Result<_, _>>()?;
    Ok(UserInfo {
        id,
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        roles,
        units,
    })
}

/// Checks a username and password. Unknown user and wrong password give the same
/// error after the same work.
pub async fn authenticate(db: &Db, username: &str, password: &str) -> Result<UserInfo, AppError> {
    let row = sqlx::query(
        "SELECT id, username, display_name, password_hash, active FROM users WHERE username = $1",
    )
    .bind(username.trim().to_lowercase())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        let _ = verify_password(password, decoy_hash());
        return Err(AppError::BadCredentials);
    };
    let hash: String = col(&row, "password_hash")?;
    let active: i64 = col(&row, "active")?;
    if !verify_password(password, &hash) || active == 0 {
        return Err(AppError::BadCredentials);
    }
    load_info(db, &row).await
}

/// Binds a phone's device to the user at login. A device already bound to
/// someone else is refused: the app makes a new device id per user.
pub async fn bind_device(db: &Db, user_id: &str, device_id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT user_id, revoked_at FROM devices WHERE device_id = $1")
        .bind(device_id)
        .fetch_optional(&mut *tx)
        .await?;
    match row {
        None => {
            sqlx::query("INSERT INTO devices (device_id, user_id, last_seq, created_at, last_seen_at) VALUES ($1, $2, 0, $3, $3)")
                .bind(device_id)
                .bind(user_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        Some(row) => {
            let owner: String = col(&row, "user_id")?;
            let revoked: Option<i64> = col(&row, "revoked_at")?;
            if owner != user_id {
                return Err(AppError::Forbidden(
                    "this device belongs to another user".into(),
                ));
            }
            if revoked.is_some() {
                return Err(AppError::Forbidden("this device was revoked".into()));
            }
            sqlx::query("UPDATE devices SET last_seen_at = $1 WHERE device_id = $2")
                .bind(now_ms())
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The owner of a device, and whether it may still sync.
pub struct DeviceInfo {
    pub user_id: String,
    pub last_seq: i64,
    pub revoked: bool,
}

pub async fn device(db: &Db, device_id: &str) -> Result<Option<DeviceInfo>, AppError> {
    let row = sqlx::query("SELECT user_id, last_seq, revoked_at FROM devices WHERE device_id = $1")
        .bind(device_id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(DeviceInfo {
            user_id: col(&r, "user_id")?,
            last_seq: col(&r, "last_seq")?,
            revoked: col::<Option<i64>>(&r, "revoked_at")?.is_some(),
        })
    })
    .transpose()
}

fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session and returns the token for the cookie.
pub async fn open_session(
    db: &Db,
    user_id: &str,
    device_id: Option<&str>,
) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    let token = hex::encode(bytes);
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(device_id.map(str::to_string))
        .bind(now)
        .bind(now + SESSION_TTL_MS)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

/// The user behind a session token, sliding its expiry forward on use.
pub async fn session_user(db: &Db, token: &str) -> Result<Option<UserInfo>, AppError> {
    let hash = token_hash(token);
    let now = now_ms();
    let row = sqlx::query(
        "SELECT u.id, u.username, u.display_name, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
    )
    .bind(&hash)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at: i64 = col(&row, "expires_at")?;
    // Extend at most once an hour, so reads do not turn into writes on every request.
    if expires_at - now < SESSION_TTL_MS - 3_600_000 {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(now + SESSION_TTL_MS)
            .bind(&hash)
            .execute(&db.pool)
            .await?;
    }
    load_info(db, &row).await.map(Some)
}

pub async fn close_session(db: &Db, token: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn info_by_id(db: &Db, id: &str) -> Result<Option<UserInfo>, AppError> {
    let row = sqlx::query("SELECT id, username, display_name FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => load_info(db, &row).await.map(Some),
        None => Ok(None),
    }
}

/// Stops a device's sync (a lost phone). Its queued data can still come in
/// through an import of the phone's backup file.
pub async fn revoke_device(db: &Db, device_id: &str) -> Result<bool, AppError> {
    let done = sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(device_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
