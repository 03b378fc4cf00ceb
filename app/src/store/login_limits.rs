//! Failed-login counters, in the database so that every server process sees
//! the same counts.
//!
//! Policy: a key allows some failures within 15 minutes; from then on it is
//! locked for a delay that doubles with each further failure (1, 2, 4 …
//! minutes, at most 15), and a locked key is answered 429 without checking
//! the password, so the lock holds even against the right guess. Three keys:
//!
//! - an account from one client address: five failures. This is what stops
//!   guessing, and it locks only the guesser's address out of that account;
//! - an account from anywhere: twenty, against guesses spread over many
//!   addresses;
//! - a client address, whatever the account: twenty, against one address
//!   trying many accounts.
//!
//! The last two would let a stranger lock an account's owner out (or
//! everyone behind a carrier's shared address), so they do not hold a login
//! from a device already bound to the account: the owner's own phone or
//! browser, which a stranger cannot name. A successful login clears the
//! account's counters (not the address's: an attacker at that address may
//! also hold one real account).

use super::{col, Db};
use crate::error::AppError;

/// Failures counted within this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
const FIRST_DELAY_MS: i64 = 60 * 1000;

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One account from one client address ("account@address").
    AccountFromAddress,
    Account,
    Address,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::AccountFromAddress => "account_address",
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }

    /// Failures allowed in the window before the key locks.
    pub fn free_failures(self) -> i64 {
        match self {
            Scope::AccountFromAddress => 5,
            Scope::Account | Scope::Address => 20,
        }
    }
}

/// How long a key allowing `free` failures, with `failures` in the window
/// and the last at `last_at`, stays locked after `now`; zero when it is not.
pub fn lock_remaining_ms(failures: i64, free: i64, last_at: i64, now: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(8) as u32;
    let delay = (FIRST_DELAY_MS << doublings).min(WINDOW_MS);
    (last_at + delay - now).max(0)
}

/// Serialises reservations on PostgreSQL ("khs-lgn"); SQLite's write
/// transaction already has a single writer.
const RESERVE_LOCK: i64 = 0x006b_6873_2d6c_676e;

/// Counts an attempt against each of `keys` before its password is checked,
/// refusing it (429, `RateLimited`) when any of `holding` is locked. The
/// attempt counts as a failure until `release` says otherwise, so a burst of
/// guesses sent at once is held to the same five as guesses sent one after
/// another: each sees the ones still being checked. A process killed while
/// checking leaves the attempt counted, never uncounted.
pub async fn reserve(
    db: &Db,
    keys: &[(Scope, &str)],
    holding: &[(Scope, &str)],
    now: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    if super::changes::engine_of(&tx) == super::Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(RESERVE_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(retry_after_s) = locked_for(&mut tx, holding, now).await? {
        return Err(AppError::RateLimited {
            retry_after_s,
            code: crate::error::LOGIN_GUESSES,
        });
    }
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(now - WINDOW_MS)
        .execute(&mut *tx)
        .await?;
    for (scope, key) in keys {
        sqlx::query("INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $3)")
            .bind(scope.as_str())
            .bind(*key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Takes back the attempts `reserve` counted at `now`: the password was
/// right, or it was never checked (the server was too busy). One row per
/// key; the rows of one key and instant are alike, so any one of them will do.
pub async fn release(db: &Db, keys: &[(Scope, &str)], now: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let one_row = match super::changes::engine_of(&tx) {
        super::Engine::Postgres => "ctid",
        super::Engine::Sqlite => "rowid",
    };
    let delete = format!(
        "DELETE FROM login_failures WHERE {one_row} IN (SELECT {one_row} FROM login_failures WHERE scope = $1 AND key = $2 AND at = $3 LIMIT 1)"
    );
    for (scope, key) in keys {
        sqlx::query(&delete)
            .bind(scope.as_str())
            .bind(*key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Seconds until the first of `keys` unlocks, if any is locked.
async fn locked_for(
    tx: &mut super::Tx,
    keys: &[(Scope, &str)],
    now: i64,
) -> Result<Option<u64>, AppError> {
    let mut longest = 0;
    for (scope, key) in keys {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MAX(at) AS last_at FROM login_failures WHERE scope = $1 AND key = $2 AND at > $3",
        )
        .bind(scope.as_str())
        .bind(*key)
        .bind(now - WINDOW_MS)
        .fetch_one(&mut **tx)
        .await?;
        let n: i64 = col(&row, "n")?;
        let last_at: Option<i64> = col(&row, "last_at")?;
        if let Some(last_at) = last_at {
            longest = longest.max(lock_remaining_ms(n, scope.free_failures(), last_at, now));
        }
    }
    Ok((longest > 0).then(|| ((longest + 999) / 1000) as u64))
}

/// Forgets an account's failures after it logged in.
pub async fn clear(db: &Db, scope: Scope, key: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND key = $2")
        .bind(scope.as_str())
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_and_the_sixth_attempt_waits_a_minute() {
        assert_eq!(lock_remaining_ms(4, 5, 1_000, 1_000), 0);
        assert_eq!(lock_remaining_ms(5, 5, 1_000, 1_000), 60_000);
        assert_eq!(lock_remaining_ms(5, 5, 1_000, 61_000), 0);
        assert_eq!(lock_remaining_ms(19, 20, 1_000, 1_000), 0);
        assert_eq!(lock_remaining_ms(20, 20, 1_000, 1_000), 60_000);
    }

    #[test]
    fn each_further_failure_doubles_the_wait_up_to_the_window() {
        assert_eq!(lock_remaining_ms(6, 5, 0, 0), 120_000);
        assert_eq!(lock_remaining_ms(7, 5, 0, 0), 240_000);
        assert_eq!(lock_remaining_ms(9, 5, 0, 0), WINDOW_MS);
        assert_eq!(lock_remaining_ms(500, 5, 0, 0), WINDOW_MS);
    }
}
