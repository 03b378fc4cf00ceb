//! Failed-login counters per account and per client address, in the database so
//! that every server process sees the same counts.
//!
//! Policy: five failures within 15 minutes are allowed; from then on the key is
//! locked for a delay that doubles with each further failure (1, 2, 4 … minutes,
//! at most 15). A locked key is answered 429 without checking the password, so
//! the lock holds even against the right guess. A successful login clears the
//! account's counter (not the address's: an attacker at that address may also
//! hold one real account).

use super::{col, Db};
use crate::error::AppError;

/// Failures counted within this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures allowed in the window before the key locks.
pub const FREE_FAILURES: i64 = 5;
const FIRST_DELAY_MS: i64 = 60 * 1000;

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Address,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }
}

/// How long a key with `failures` in the window, the last at `last_at`, stays
/// locked after `now`; zero when it is not locked.
pub fn lock_remaining_ms(failures: i64, last_at: i64, now: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(8) as u32;
    let delay = (FIRST_DELAY_MS << doublings).min(WINDOW_MS);
    (last_at + delay - now).max(0)
}

/// Seconds until the first of `keys` unlocks, if any is locked.
pub async fn locked_for(
    db: &Db,
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
        .fetch_one(&db.pool)
        .await?;
        let n: i64 = col(&row, "n")?;
        let last_at: Option<i64> = col(&row, "last_at")?;
        if let Some(last_at) = last_at {
            longest = longest.max(lock_remaining_ms(n, last_at, now));
        }
    }
    Ok((longest > 0).then(|| ((longest + 999) / 1000) as u64))
}

/// Counts one failure against each key, and forgets failures older than the window.
pub async fn record_failure(db: &Db, keys: &[(Scope, &str)], now: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
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
        assert_eq!(lock_remaining_ms(4, 1_000, 1_000), 0);
        assert_eq!(lock_remaining_ms(5, 1_000, 1_000), 60_000);
        assert_eq!(lock_remaining_ms(5, 1_000, 61_000), 0);
    }

    #[test]
    fn each_further_failure_doubles_the_wait_up_to_the_window() {
        assert_eq!(lock_remaining_ms(6, 0, 0), 120_000);
        assert_eq!(lock_remaining_ms(7, 0, 0), 240_000);
        assert_eq!(lock_remaining_ms(9, 0, 0), WINDOW_MS);
        assert_eq!(lock_remaining_ms(500, 0, 0), WINDOW_MS);
    }
}
