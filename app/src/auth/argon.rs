//! Password hashing with bounded memory. Each argon2id computation needs its
//! own 19 MiB of working memory; left to itself, every login took a fresh
//! buffer on a fresh blocking thread, so 50 simultaneous logins (no account
//! needed) held 3.9 GiB, and the allocator kept it afterwards.
//!
//! Here a fixed number of slots, sized from the memory a deployment allows,
//! each owns one reusable buffer. A login waits for a free slot for a short
//! while; past that the server answers 503 with `Retry-After`, which a phone
//! (or a person) retries, instead of running out of memory.

use crate::error::AppError;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Memory all password computations may hold at once unless configured.
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;
/// How long a login waits for a free slot before it is told to come back.
pub const QUEUE_WAIT: Duration = Duration::from_secs(8);
/// What `Retry-After` says when the queue is full.
pub const RETRY_AFTER_S: u64 = 2;

/// Working memory of one computation with the parameters we hash with.
fn default_blocks() -> usize {
    Params::default().block_count()
}

struct Slots {
    permits: Arc<Semaphore>,
    count: usize,
    /// Buffers of `default_blocks()` blocks, one per idle slot.
    buffers: Mutex<Vec<Vec<Block>>>,
}

static SLOTS: OnceLock<Slots> = OnceLock::new();

/// Sets the memory budget, once, at start-up (later calls change nothing).
/// Returns how many computations may run at once.
pub fn configure(memory_bytes: usize) -> usize {
    slots_with(memory_bytes).count
}

fn slots() -> &'static Slots {
    slots_with(DEFAULT_MEMORY_BYTES)
}

fn slots_with(memory_bytes: usize) -> &'static Slots {
    SLOTS.get_or_init(|| {
        let per_slot = default_blocks() * std::mem::size_of::<Block>();
        let count = (memory_bytes / per_slot).max(1);
        Slots {
            permits: Arc::new(Semaphore::new(count)),
            count,
            buffers: Mutex::new(Vec::new()),
        }
    })
}

/// Computations running or waiting for a slot right now: (running, slots).
pub fn usage() -> (usize, usize) {
    let s = slots();
    (s.count - s.permits.available_permits(), s.count)
}

/// Runs `work` with a working buffer of `blocks` blocks on the blocking pool,
/// inside a slot.
async fn in_slot<T: Send + 'static>(
    blocks: usize,
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T, AppError> {
    let s = slots();
    let permit = match tokio::time::timeout(QUEUE_WAIT, s.permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return Err(AppError::Busy {
                what: "password checks",
                retry_after_s: RETRY_AFTER_S,
            })
        }
    };
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let s = slots();
        let pooled = blocks == default_blocks();
        let mut buffer = pooled
            .then(|| s.buffers.lock().unwrap_or_else(|p| p.into_inner()).pop())
            .flatten()
            .unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = work(&mut buffer);
        if pooled {
            let mut idle = s.buffers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < s.count {
                idle.push(buffer);
            }
        }
        result
    })
    .await
    .map_err(|e| AppError::Internal(format!("password task failed: {e}")))
}

/// Largest working memory a stored hash may ask for (256 MiB): a hash from
/// elsewhere with absurd parameters must not take the server's memory.
const MAX_BLOCKS: usize = 256 * 1024;

/// Hashes a new password (argon2id, default parameters, random salt) as a PHC string.
pub async fn hash(password: String) -> Result<String, AppError> {
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes)
        .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    in_slot(default_blocks(), move |memory| {
        let params = Params::default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon
            .hash_password_into_with_memory(password.as_bytes(), &salt_bytes, &mut out, memory)
            .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))?;
        let salt =
            SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::Internal(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params)
                .try_into()
                .map_err(|e: argon2::password_hash::Error| AppError::Internal(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| AppError::Internal(e.to_string()))?),
        };
        Ok(phc.to_string())
    })
    .await?
}

/// Whether `password` matches the PHC string `stored`. A malformed stored hash
/// matches nothing. Errs only when the server is too busy to check now.
pub async fn verify(password: String, stored: String) -> Result<bool, AppError> {
    let blocks = PasswordHash::new(&stored)
        .ok()
        .and_then(|h| Params::try_from(&h).ok())
        .map(|p| p.block_count())
        .filter(|b| *b <= MAX_BLOCKS)
        .unwrap_or_else(default_blocks);
    in_slot(blocks, move |memory| check(&password, &stored, memory)).await
}

fn check(password: &str, stored: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.block_count() > memory.len() {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|got| got == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let stored = hash("một mật khẩu dài".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("một mật khẩu dài".into(), stored.clone())
            .await
            .unwrap());
        assert!(!verify("một mật khẩu dài!".into(), stored).await.unwrap());
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let stored = Argon2::default()
            .hash_password(b"khaosat-demo", &salt)
            .unwrap()
            .to_string();
        assert!(verify("khaosat-demo".into(), stored.clone()).await.unwrap());
        assert!(!verify("khaosat-dem0".into(), stored).await.unwrap());
        // Other parameters (a smaller cost, argon2i) verify with their own memory.
        let light = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify("pw".into(), light).await.unwrap());
    }

    #[tokio::test]
    async fn absurd_stored_parameters_are_refused_not_allocated() {
        let huge = "$argon2id$v=19$m=4000000,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify("pw".into(), huge.into()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_computations_run_than_there_are_slots() {
        let stored = hash("pw-pw-pw-pw".into()).await.unwrap();
        let (_, count) = usage();
        let checks = (0..(count * 3)).map(|_| verify("pw-pw-pw-pw".into(), stored.clone()));
        let watcher = tokio::spawn(async move {
            let mut peak = 0;
            for _ in 0..200 {
                peak = peak.max(usage().0);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            peak
        });
        for ok in futures_lite(checks).await {
            assert!(ok.unwrap());
        }
        assert!(watcher.await.unwrap() <= count);
        assert!(slots().buffers.lock().unwrap().len() <= count);
    }

    async fn futures_lite<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
