//! One file: accounts, sessions and devices are written in the same
//! transactions (login binds a device, deactivation ends sessions).
//!
//! Accounts, roles, unit assignments, sessions and devices.
//!
//! One file (about 455 lines): a session and the device it is bound to change in
//! the same transactions, and login checks read both.

use super::{col, now_ms, Db};
use crate::error::AppError;
use crate::model::{Role, UserInfo};
use sqlx::any::AnyRow;

/// How long a phone's session lasts without use by default: a field trip.
pub const DEFAULT_SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

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

/// Computes the decoy hash now, at start-up, so the first unknown username
/// after a start does not take one argon2 hash longer than a wrong password.
pub fn prepare_decoy() {
    let _ = decoy_hash();
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub roles: &'a [Role],
    pub units: &'a [String],
}

pub use crate::domain::MIN_PASSWORD_LEN;

/// Creates an account whose password was chosen by its owner (the command line,
/// the demo): no forced change at first login. Administrators use
/// `accounts::create_account`, which forces one.
pub async fn create(db: &Db, user: NewUser<'_>) -> Result<String, AppError> {
    crate::domain::Password::check(user.password)?;
    let mut account = super::accounts::validate(
        user.username,
        user.display_name,
        None,
        user.roles,
        user.units,
    )?;
    let mut tx = db.begin_write().await?;
    let id = super::accounts::insert(&mut tx, &mut account, user.password, false).await?;
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
    let units = sqlx::query(
        "SELECT unit_tree, unit_code FROM user_units WHERE user_id = $1 ORDER BY unit_tree, unit_code",
    )
    .bind(&id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::model::unit_key(
            &col::<String>(r, "unit_tree")?,
            &col::<String>(r, "unit_code")?,
        ))
    })
    .collect::<Result<_, AppError>>()?;
    Ok(UserInfo {
        id,
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        roles,
        units,
    })
}

/// A successful login.
pub struct LoginOk {
    pub user: UserInfo,
    pub must_change_password: bool,
}

/// The account a typed login names (a username, or the phone number of an
/// account in any spelling), before any password is checked.
pub struct LoginAccount {
    row: AnyRow,
    pub id: String,
}

impl LoginAccount {
    /// The key the per-account failure counter uses: the account itself, so
    /// "0912345678", "+84 912 345 678" and the username share one counter.
    pub fn limit_key(&self) -> String {
        format!("id:{}", self.id)
    }
}

/// Finds the account a login names, if any.
pub async fn find_login(db: &Db, login: &str) -> Result<Option<LoginAccount>, AppError> {
    const SELECT: &str =
        "SELECT id, username, display_name, password_hash, active, must_change_password FROM users";
    let username = crate::domain::Username::normalize(login);
    let mut row = sqlx::query(&format!("{SELECT} WHERE username = $1"))
        .bind(&username)
        .fetch_optional(&db.pool)
        .await?;
    if row.is_none() {
        if let Some(phone) =
            crate::domain::Phone::parse(login).map(crate::domain::Phone::into_string)
        {
            row = sqlx::query(&format!("{SELECT} WHERE phone = $1"))
                .bind(phone)
                .fetch_optional(&db.pool)
                .await?;
        }
    }
    row.map(|row| {
        Ok(LoginAccount {
            id: col(&row, "id")?,
            row,
        })
    })
    .transpose()
}

/// Checks a login (a username, or the phone number of an account) and password.
/// Unknown account and wrong password give the same error after the same
/// work: nobody learns which accounts exist. A deactivated account says so,
/// but only to someone who gave its password.
pub async fn check_login(db: &Db, login: &str, password: &str) -> Result<LoginOk, AppError> {
    let account = find_login(db, login).await?;
    check_password_of(db, account, password).await
}

/// The password half of `check_login`, for a caller that resolved the account
/// first (to key the login limits on it).
pub async fn check_password_of(
    db: &Db,
    account: Option<LoginAccount>,
    password: &str,
) -> Result<LoginOk, AppError> {
    let Some(LoginAccount { row, .. }) = account else {
        let _ = crate::auth::argon::verify(password.to_string(), decoy_hash().to_string()).await?;
        return Err(AppError::BadCredentials);
    };
    let hash: String = col(&row, "password_hash")?;
    let active: i64 = col(&row, "active")?;
    let verified = crate::auth::argon::verify(password.to_string(), hash).await?;
    if !verified {
        return Err(AppError::BadCredentials);
    }
    if active == 0 {
        // Else the inspector tries again and again, and the login limits
        // lock the phone out as well.
        return Err(AppError::account_disabled());
    }
    let must_change_password = col::<i64>(&row, "must_change_password")? != 0;
    let user = load_info(db, &row).await?;
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(&user.id)
        .execute(&db.pool)
        .await?;
    Ok(LoginOk {
        user,
        must_change_password,
    })
}

/// `check_login` for callers that only need the user.
pub async fn authenticate(db: &Db, username: &str, password: &str) -> Result<UserInfo, AppError> {
    check_login(db, username, password).await.map(|ok| ok.user)
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
            // Two logins of one new phone at once (a retry on a slow link)
            // both find no row on PostgreSQL: the second inserts nothing
            // and checks the row the first wrote, instead of failing on the key.
            let inserted = sqlx::query("INSERT INTO devices (device_id, user_id, last_seq, created_at, last_seen_at) VALUES ($1, $2, 0, $3, $3) ON CONFLICT (device_id) DO NOTHING")
                .bind(device_id)
                .bind(user_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if inserted == 0 {
                let row =
                    sqlx::query("SELECT user_id, revoked_at FROM devices WHERE device_id = $1")
                        .bind(device_id)
                        .fetch_one(&mut *tx)
                        .await?;
                if col::<String>(&row, "user_id")? != user_id {
                    return Err(AppError::Forbidden(
                        "this device belongs to another user".into(),
                    ));
                }
                if col::<Option<i64>>(&row, "revoked_at")?.is_some() {
                    return Err(AppError::device_revoked());
                }
            }
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
                return Err(AppError::device_revoked());
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

/// Binds a device to a session opened without one (the login form posted
/// before the app loaded): the device becomes the user's, as at a login from
/// the app. A session already bound to another device keeps it.
pub async fn attach_device(
    db: &Db,
    user_id: &str,
    session_token_hash: &str,
    device_id: &str,
) -> Result<(), AppError> {
    let mismatch = || AppError::Protocol {
        status: 409,
        body: crate::error::ErrorBody::new(
            "auth.device_mismatch",
            "this session is already bound to another device; log in again on this phone",
        ),
    };
    // Asked first, so a refused session registers no device for its user.
    let bound: Option<String> = sqlx::query("SELECT device_id FROM sessions WHERE token_hash = $1")
        .bind(session_token_hash)
        .fetch_optional(&db.pool)
        .await?
        .map(|row| col::<Option<String>>(&row, "device_id"))
        .transpose()?
        .flatten();
    if bound.is_some_and(|own| own != device_id) {
        return Err(mismatch());
    }
    bind_device(db, user_id, device_id).await?;
    let done = sqlx::query(
        "UPDATE sessions SET device_id = $1 WHERE token_hash = $2 AND (device_id IS NULL OR device_id = $1)",
    )
    .bind(device_id)
    .bind(session_token_hash)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(mismatch());
    }
    Ok(())
}

/// The owner of a device, and whether it may still sync.
pub struct DeviceInfo {
    pub user_id: String,
    pub last_seq: i64,
    pub revoked: bool,
    /// The owner's account is active (it may log in and sync).
    pub owner_active: bool,
}

pub async fn device(db: &Db, device_id: &str) -> Result<Option<DeviceInfo>, AppError> {
    let row = sqlx::query(
        "SELECT d.user_id, d.last_seq, d.revoked_at, u.active FROM devices d
         JOIN users u ON u.id = d.user_id WHERE d.device_id = $1",
    )
    .bind(device_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(DeviceInfo {
            user_id: col(&r, "user_id")?,
            last_seq: col(&r, "last_seq")?,
            revoked: col::<Option<i64>>(&r, "revoked_at")?.is_some(),
            owner_active: col::<i64>(&r, "active")? != 0,
        })
    })
    .transpose()
}

pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session and returns the token for the cookie. A token the request
/// already carried is closed first: a session id planted before login (session
/// fixation) is never the one that gets logged in.
pub async fn open_session(
    db: &Db,
    user_id: &str,
    device_id: Option<&str>,
    ttl_ms: i64,
    replacing: Option<&str>,
) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    let token = hex::encode(bytes);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    if let Some(old) = replacing {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(old))
            .execute(&mut *tx)
            .await?;
    }
    // Expired sessions of this user go as a new one opens: the table stays small
    // without a sweeper.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2")
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(device_id.map(str::to_string))
        .bind(now)
        .bind(now + ttl_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(token)
}

/// A live session as the guard sees it.
pub struct SessionFound {
    pub user: UserInfo,
    pub token_hash: String,
    pub device_id: Option<String>,
    pub device_revoked: bool,
    pub must_change_password: bool,
    /// The expiry was moved forward by this lookup.
    pub extended: bool,
}

/// The session behind a token, sliding its expiry forward on use; None when it
/// is unknown, expired, or its account is deactivated.
pub async fn session(db: &Db, token: &str, ttl_ms: i64) -> Result<Option<SessionFound>, AppError> {
    let hash = token_hash(token);
    let now = now_ms();
    let row = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.must_change_password, s.expires_at, s.device_id, d.revoked_at
         FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN devices d ON d.device_id = s.device_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
    )
    .bind(&hash)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at: i64 = col(&row, "expires_at")?;
    // Extend at most once an hour, so reads do not turn into writes on every request.
    let extended = expires_at - now < ttl_ms - 3_600_000;
    if extended {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(now + ttl_ms)
            .bind(&hash)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(SessionFound {
        user: load_info(db, &row).await?,
        token_hash: hash,
        device_id: col(&row, "device_id")?,
        device_revoked: col::<Option<i64>>(&row, "revoked_at")?.is_some(),
        must_change_password: col::<i64>(&row, "must_change_password")? != 0,
        extended,
    }))
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
