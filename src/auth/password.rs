//! Passwords: argon2id hashing and checking, and the rules a new password must meet.
//!
//! Hashing is deliberately expensive, so it runs on the blocking pool, at most one computation
//! per core at a time.

use argon2::{Argon2, PasswordHasher};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const MIN_PASSWORD_LENGTH: usize = 12;
/// Longer passwords are refused: argon2 would hash them, but nobody types them.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Argon2 could not hash (it only fails on parameters we do not vary, or a lost worker).
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(pub String);

/// What a new password breaks of the rules.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PasswordRule(pub String);

/// A random password for staff to hand over once.
pub fn generate_password() -> String {
    let bytes: [u8; 18] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Argon2id with the crate's defaults (m=19 MiB, t=2, p=1, as OWASP recommends).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` is long enough for an account.
pub fn check_length(password: &str) -> Result<(), PasswordRule> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(PasswordRule(format!(
            "must be at least {MIN_PASSWORD_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Whether `password` may be chosen by a person: long enough, and not absurdly long.
pub fn check_new_password(password: &str) -> Result<(), PasswordRule> {
    check_length(password)?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordRule(format!(
            "must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Which share of the argon2 capacity a computation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Work {
    /// Checking a password at sign-in.
    SignIn,
    /// Hashing a new password (sign-up, activation, reset).
    Other,
}

/// Waits for a slot of the given share. Without a bound, a burst of anonymous requests would
/// ask the blocking pool (hundreds of threads) for gigabytes; excess requests wait their turn.
pub async fn argon2_slot(work: Argon2Work) -> Option<tokio::sync::SemaphorePermit<'static>> {
    use std::sync::OnceLock;
    use tokio::sync::Semaphore;
    static SIGN_IN: OnceLock<Semaphore> = OnceLock::new();
    static OTHER: OnceLock<Semaphore> = OnceLock::new();
    let cores = || std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let slots = match work {
        Argon2Work::SignIn => SIGN_IN.get_or_init(|| Semaphore::new(cores())),
        Argon2Work::Other => OTHER.get_or_init(|| Semaphore::new(cores().div_ceil(2))),
    };
    slots.acquire().await.ok()
}

/// A running average of how long hashing a new password takes, in microseconds.
static TYPICAL_HASH_MICROS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(50_000);

/// Records how long one hash of a new password took.
pub fn record_hash_time(elapsed: std::time::Duration) {
    use std::sync::atomic::Ordering;
    let sample = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let _ = TYPICAL_HASH_MICROS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
        Some(old.saturating_mul(7).saturating_add(sample) / 8)
    });
}

/// How long a sign-up for a taken address waits instead of hashing, so its answer takes about as
/// long as one for a new address and timing does not tell who has an account. Waiting costs no
/// CPU, unlike the hash it replaces.
pub fn typical_hash_time() -> std::time::Duration {
    std::time::Duration::from_micros(TYPICAL_HASH_MICROS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Hashes on the blocking pool: argon2id is meant to take tens of milliseconds of CPU.
pub async fn hash_password_off_thread(password: String) -> Result<String, HashError> {
    let _slot = argon2_slot(Argon2Work::Other).await;
    let started = std::time::Instant::now();
    let hashed = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?;
    record_hash_time(started.elapsed());
    hashed
}

/// Checks a password against a PHC string, on the blocking pool. A malformed hash never matches.
pub async fn verify_password(password: String, hash: String) -> bool {
    let _slot = argon2_slot(Argon2Work::SignIn).await;
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password nobody knows, verified when the email is unknown so that an
/// unknown address costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_another_does_not() {
        let hash = hash_password("correct horse battery").expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            assert!(verify_password("correct horse battery".into(), hash.clone()).await);
            assert!(!verify_password("correct horse battery!".into(), hash).await);
            assert!(!verify_password("anything".into(), "not a PHC string".into()).await);
        });
    }

    #[test]
    fn a_new_password_needs_twelve_characters_and_at_most_1024_bytes() {
        assert!(check_new_password("elevenchars").is_err());
        assert!(check_new_password("パスワードは十二文字以上").is_ok());
        assert!(check_new_password(&"x".repeat(1024)).is_ok());
        assert!(check_new_password(&"x".repeat(1025)).is_err());
    }
}
