//! Account administration and passwords: create, edit roles and units,
//! deactivate, reset and change passwords, list and revoke devices. Every change
//! is written to the audit trail in the same transaction. The rules a
//! username, phone, password or name must meet are `crate::domain`'s.
//!
//! One file (about 640 lines): every account change checks the same rules and writes its audit entry in the same transaction; the SQL-free rules are `crate::domain`.

use super::audit::{self, Actor};
use super::{col, now_ms, Db, Tx};
use crate::domain::{DisplayName, Password, Phone, Username};
use crate::error::{AppError, ErrorBody};
use crate::model::Role;
use crate::office::admin::contract::{AccountSummary, AccountUpdate, DeviceSummary, NewAccount};
use serde_json::json;
use std::collections::BTreeMap;

fn invalid(code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorBody::new(code, message))
}

fn check_phone(raw: Option<&str>) -> Result<Option<String>, AppError> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => Phone::parse(p)
            .map(|p| Some(p.into_string()))
            .ok_or_else(|| {
                invalid(
                    "user.bad_phone",
                    "a phone number is 10 or 11 digits starting with 0 (or +84)",
                )
            }),
    }
}

fn check_roles(roles: &[Role], units: &[String]) -> Result<(), AppError> {
    if roles.is_empty() {
        return Err(invalid(
            "user.no_roles",
            "an account needs at least one role",
        ));
    }
    if roles.contains(&Role::Inspector) && units.is_empty() {
        return Err(invalid(
            "user.no_units",
            "an inspector needs at least one administrative unit",
        ));
    }
    Ok(())
}

/// Account fields after validation, ready to store.
pub struct ValidAccount {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub roles: Vec<Role>,
    pub units: Vec<String>,
}

pub fn validate(
    username: &str,
    display_name: &str,
    phone: Option<&str>,
    roles: &[Role],
    units: &[String],
) -> Result<ValidAccount, AppError> {
    let username = Username::parse(username)?.into_string();
    let display_name = DisplayName::parse(display_name)?.into_string();
    let phone = check_phone(phone)?;
    let mut roles = roles.to_vec();
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    let mut units: Vec<String> = units.iter().map(|u| u.trim().to_string()).collect();
    units.sort();
    units.dedup();
    check_roles(&roles, &units)?;
    Ok(ValidAccount {
        username,
        display_name,
        phone,
        roles,
        units,
    })
}

async fn check_phone_free(
    tx: &mut Tx,
    phone: &Option<String>,
    except: &str,
) -> Result<(), AppError> {
    if let Some(phone) = phone {
        let taken = sqlx::query("SELECT id FROM users WHERE phone = $1 AND id <> $2")
            .bind(phone.as_str())
            .bind(except)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            return Err(invalid(
                "user.phone_taken",
                "another account has this phone number",
            ));
        }
    }
    Ok(())
}

/// Writes the roles and units and puts the units' keys ("tree/code") into
/// `account`, whatever form the references came in.
async fn write_roles_and_units(
    tx: &mut Tx,
    id: &str,
    account: &mut ValidAccount,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM user_units WHERE user_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for role in &account.roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(id)
            .bind(role.as_str())
            .execute(&mut **tx)
            .await?;
    }
    let mut keys = Vec::with_capacity(account.units.len());
    for unit in &account.units {
        let (tree, code) = match super::units::resolve_ref(tx, unit).await? {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Err(AppError::Invalid(
                    ErrorBody::new(
                        "user.unknown_unit",
                        format!("no administrative unit with code {unit}"),
                    )
                    .with("unit", unit.clone()),
                ))
            }
            Err(candidates) => {
                return Err(AppError::Invalid(
                    ErrorBody::new(
                        "user.ambiguous_unit",
                        format!(
                            "several unit trees have a unit {unit}; name one of {}",
                            candidates.join(", ")
                        ),
                    )
                    .with("unit", unit.clone())
                    .with("candidates", candidates.join(", ")),
                ))
            }
        };
        let key = crate::model::unit_key(&tree, &code);
        if keys.contains(&key) {
            continue;
        }
        sqlx::query("INSERT INTO user_units (user_id, unit_tree, unit_code) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&tree)
            .bind(&code)
            .execute(&mut **tx)
            .await?;
        keys.push(key);
    }
    super::units::refresh_scopes(tx, Some(id)).await?;
    keys.sort();
    account.units = keys;
    Ok(())
}

/// Inserts a validated account in `tx`; returns its id.
pub async fn insert(
    tx: &mut Tx,
    account: &mut ValidAccount,
    password: &str,
    must_change_password: bool,
) -> Result<String, AppError> {
    Password::check(password)?;
    let exists = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(&account.username)
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_some() {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "user.exists",
                format!("an account named {} already exists", account.username),
            )
            .with("username", account.username.clone()),
        ));
    }
    check_phone_free(tx, &account.phone, "").await?;
    let hash = hash_password_blocking(password.to_string()).await?;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, active, must_change_password, created_at, phone)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&account.username)
    .bind(&account.display_name)
    .bind(&hash)
    .bind(i64::from(must_change_password))
    .bind(now_ms())
    .bind(account.phone.clone())
    .execute(&mut **tx)
    .await?;
    write_roles_and_units(tx, &id, account).await?;
    Ok(id)
}

/// argon2 costs tens of milliseconds of CPU and 19 MiB: it runs on the
/// blocking pool in one of a bounded number of slots (`auth::argon`).
pub async fn hash_password_blocking(password: String) -> Result<String, AppError> {
    crate::auth::argon::hash(password).await
}

pub async fn verify_password_blocking(password: String, hash: String) -> Result<bool, AppError> {
    crate::auth::argon::verify(password, hash).await
}

/// An administrator creates an account; its first password must be changed at
/// the first login.
pub async fn create_account(
    db: &Db,
    actor: &Actor,
    new: &NewAccount,
) -> Result<AccountSummary, AppError> {
    Password::check(&new.password)?;
    let mut account = validate(
        &new.username,
        &new.display_name,
        new.phone.as_deref(),
        &new.roles,
        &new.units,
    )?;
    let mut tx = db.begin_write().await?;
    let id = insert(&mut tx, &mut account, &new.password, true).await?;
    audit::record(
        &mut *tx,
        actor,
        "user.created",
        "user",
        &id,
        json!({"username": account.username, "roles": role_names(&account.roles), "units": account.units}),
    )
    .await?;
    tx.commit().await?;
    summary(db, &id).await
}

fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

fn not_found() -> AppError {
    AppError::NotFound("account".into())
}

/// Refuses an administrator taking away their own access: the last door out of
/// a province's system should not close by a slip of the mouse.
fn check_not_self_lockout(actor: &Actor, id: &str, keeps_admin: bool) -> Result<(), AppError> {
    if actor.user_id.as_deref() == Some(id) && !keeps_admin {
        return Err(invalid(
            "user.self_lockout",
            "you cannot remove your own administrator role or deactivate yourself; ask another administrator",
        ));
    }
    Ok(())
}

/// Locks the active administrators' rows first in a transaction that may
/// take one away: two administrators demoting each other at once on
/// PostgreSQL each saw the other still there, and both committed.
async fn lock_administrators(tx: &mut Tx) -> Result<(), AppError> {
    if super::changes::engine_of(tx) == super::Engine::Postgres {
        sqlx::query(
            "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id
             WHERE r.role = 'administrator' AND u.active = 1 ORDER BY u.id FOR UPDATE OF u",
        )
        .fetch_all(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Refuses a change that leaves the province with no active administrator
/// (whoever makes it: another administrator at the same moment, or the
/// command line): no one could then manage accounts from the office.
async fn check_an_administrator_left(tx: &mut Tx) -> Result<(), AppError> {
    let left: i64 = col(
        &sqlx::query(
            "SELECT COUNT(*) AS n FROM users u JOIN user_roles r ON r.user_id = u.id
             WHERE r.role = 'administrator' AND u.active = 1",
        )
        .fetch_one(&mut **tx)
        .await?,
        "n",
    )?;
    if left == 0 {
        return Err(invalid(
            "user.last_administrator",
            "this would leave no active administrator; make another account an administrator first",
        ));
    }
    Ok(())
}

pub async fn update_account(
    db: &Db,
    actor: &Actor,
    update: &AccountUpdate,
) -> Result<AccountSummary, AppError> {
    let before = summary(db, &update.id).await?;
    let mut account = validate(
        &before.username,
        &update.display_name,
        update.phone.as_deref(),
        &update.roles,
        &update.units,
    )?;
    check_not_self_lockout(
        actor,
        &update.id,
        account.roles.contains(&Role::Administrator),
    )?;
    let mut tx = db.begin_write().await?;
    lock_administrators(&mut tx).await?;
    check_phone_free(&mut tx, &account.phone, &update.id).await?;
    sqlx::query("UPDATE users SET display_name = $1, phone = $2 WHERE id = $3")
        .bind(&account.display_name)
        .bind(account.phone.clone())
        .bind(&update.id)
        .execute(&mut *tx)
        .await?;
    write_roles_and_units(&mut tx, &update.id, &mut account).await?;
    check_an_administrator_left(&mut tx).await?;
    let sees_all = |roles: &[Role]| {
        roles
            .iter()
            .any(|r| matches!(r, Role::Supervisor | Role::Administrator))
    };
    if sees_all(&before.roles) != sees_all(&account.roles) {
        super::units::announce_province_changed(&mut tx, &update.id).await?;
    }
    audit::record(
        &mut *tx,
        actor,
        "user.updated",
        "user",
        &update.id,
        json!({
            "old": {"display_name": before.display_name, "phone": before.phone, "roles": role_names(&before.roles), "units": before.units},
            "new": {"display_name": account.display_name, "phone": account.phone, "roles": role_names(&account.roles), "units": account.units},
        }),
    )
    .await?;
    tx.commit().await?;
    summary(db, &update.id).await
}

/// Deactivating ends every session of the account at once; reactivating lets
/// it log in again.
pub async fn set_active(
    db: &Db,
    actor: &Actor,
    id: &str,
    active: bool,
) -> Result<AccountSummary, AppError> {
    summary(db, id).await?;
    check_not_self_lockout(actor, id, active)?;
    let mut tx = db.begin_write().await?;
    lock_administrators(&mut tx).await?;
    sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
        .bind(i64::from(active))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    check_an_administrator_left(&mut tx).await?;
    if !active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let action = if active {
        "user.reactivated"
    } else {
        "user.deactivated"
    };
    audit::record(&mut *tx, actor, action, "user", id, json!({})).await?;
    tx.commit().await?;
    summary(db, id).await
}

/// An administrator sets a temporary password: every session of the account
/// ends and the user must choose a new password at the next login.
pub async fn reset_password(
    db: &Db,
    actor: &Actor,
    id: &str,
    new_password: &str,
) -> Result<AccountSummary, AppError> {
    summary(db, id).await?;
    Password::check(new_password)?;
    let hash = hash_password_blocking(new_password.to_string()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 1 WHERE id = $2")
        .bind(&hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        actor,
        "user.password_reset",
        "user",
        id,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    summary(db, id).await
}

/// A user changes their own password. Their other sessions end (a lost phone
/// stops being logged in); the session they used stays.
pub async fn change_password(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    current: &str,
    new: &str,
    keep_session_hash: &str,
) -> Result<(), AppError> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1 AND active = 1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let hash: String = col(&row, "password_hash")?;
    if !verify_password_blocking(current.to_string(), hash).await? {
        return Err(invalid(
            "password.wrong_current",
            "the current password is not right",
        ));
    }
    Password::check(new)?;
    if new == current {
        return Err(invalid(
            "password.unchanged",
            "the new password must differ from the current one",
        ));
    }
    let hash = hash_password_blocking(new.to_string()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2")
        .bind(&hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep_session_hash)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        actor,
        "auth.password_changed",
        "user",
        user_id,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Roles and units of many users, two queries in all.
async fn roles_and_units(
    db: &Db,
) -> Result<(BTreeMap<String, Vec<Role>>, BTreeMap<String, Vec<String>>), AppError> {
    let mut roles: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    for r in sqlx::query("SELECT user_id, role FROM user_roles ORDER BY role")
        .fetch_all(&db.pool)
        .await?
    {
        if let Some(role) = Role::parse(&col::<String>(&r, "role")?) {
            roles.entry(col(&r, "user_id")?).or_default().push(role);
        }
    }
    let mut units: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT user_id, unit_tree, unit_code FROM user_units ORDER BY unit_tree, unit_code",
    )
    .fetch_all(&db.pool)
    .await?
    {
        units
            .entry(col(&r, "user_id")?)
            .or_default()
            .push(crate::model::unit_key(
                &col::<String>(&r, "unit_tree")?,
                &col::<String>(&r, "unit_code")?,
            ));
    }
    Ok((roles, units))
}

const SUMMARY_SELECT: &str =
    "SELECT u.id, u.username, u.display_name, u.phone, u.active, u.must_change_password,
        u.created_at, u.last_login_at,
        (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id) AS devices
     FROM users u";

fn summary_from_row(
    row: &sqlx::any::AnyRow,
    roles: &mut BTreeMap<String, Vec<Role>>,
    units: &mut BTreeMap<String, Vec<String>>,
) -> Result<AccountSummary, AppError> {
    let id: String = col(row, "id")?;
    Ok(AccountSummary {
        roles: roles.remove(&id).unwrap_or_default(),
        units: units.remove(&id).unwrap_or_default(),
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        phone: col(row, "phone")?,
        active: col::<i64>(row, "active")? != 0,
        must_change_password: col::<i64>(row, "must_change_password")? != 0,
        created_at_ms: col(row, "created_at")?,
        last_login_ms: col(row, "last_login_at")?,
        devices: col(row, "devices")?,
        id,
    })
}

pub async fn list(db: &Db) -> Result<Vec<AccountSummary>, AppError> {
    let (mut roles, mut units) = roles_and_units(db).await?;
    let rows = sqlx::query(&format!("{SUMMARY_SELECT} ORDER BY u.username"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| summary_from_row(r, &mut roles, &mut units))
        .collect()
}

pub async fn summary(db: &Db, id: &str) -> Result<AccountSummary, AppError> {
    let row = sqlx::query(&format!("{SUMMARY_SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(not_found)?;
    let (mut roles, mut units) = roles_and_units(db).await?;
    summary_from_row(&row, &mut roles, &mut units)
}

fn device_from_row(r: &sqlx::any::AnyRow) -> Result<DeviceSummary, AppError> {
    Ok(DeviceSummary {
        device_id: col(r, "device_id")?,
        created_at_ms: col(r, "created_at")?,
        last_seen_at_ms: col(r, "last_seen_at")?,
        last_seq: col(r, "last_seq")?,
        revoked_at_ms: col(r, "revoked_at")?,
    })
}

pub async fn devices_of(db: &Db, user_id: &str) -> Result<Vec<DeviceSummary>, AppError> {
    summary(db, user_id).await?;
    sqlx::query(
        "SELECT device_id, created_at, last_seen_at, last_seq, revoked_at FROM devices
         WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(device_from_row)
    .collect()
}

/// Revokes a device (a lost or handed-over phone): its sync is refused from now
/// on; what it had already sent stays, and its backup file can still be imported.
pub async fn revoke_device(
    db: &Db,
    actor: &Actor,
    device_id: &str,
) -> Result<DeviceSummary, AppError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT user_id, revoked_at FROM devices WHERE device_id = $1")
        .bind(device_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::NotFound("device".into()))?;
    if col::<Option<i64>>(&row, "revoked_at")?.is_none() {
        sqlx::query("UPDATE devices SET revoked_at = $1 WHERE device_id = $2")
            .bind(now_ms())
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        let owner: String = col(&row, "user_id")?;
        audit::record(
            &mut *tx,
            actor,
            "device.revoked",
            "device",
            device_id,
            json!({"owner": owner}),
        )
        .await?;
    }
    let row = sqlx::query(
        "SELECT device_id, created_at, last_seen_at, last_seq, revoked_at FROM devices WHERE device_id = $1",
    )
    .bind(device_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    device_from_row(&row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inspector_needs_a_unit_and_everyone_a_role() {
        assert!(
            matches!(check_roles(&[], &[]), Err(AppError::Invalid(b)) if b.code == "user.no_roles")
        );
        assert!(
            matches!(check_roles(&[Role::Inspector], &[]), Err(AppError::Invalid(b)) if b.code == "user.no_units")
        );
        assert!(check_roles(&[Role::Supervisor], &[]).is_ok());
    }
}
