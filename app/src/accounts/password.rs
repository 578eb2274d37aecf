//! Password rules and argon2id hashing, off the async threads and behind a concurrency cap.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as ParsedHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::db::DbError;

/// NIST SP 800-63B-4 (3.1.1.2): at least 15 characters for a password that is the only factor.
pub const MIN_LENGTH: usize = 15;
/// Far beyond any passphrase; only there so a request cannot make us hash megabytes.
pub const MAX_LENGTH: usize = 1024;

/// An argon2id hash in PHC string form. Deliberately not `Serialize`, and `Debug` hides it, so it
/// cannot leak into a response or a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(phc: String) -> Self {
        PasswordHash(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

/// Checks a new password: long enough, not absurdly long, and not easy to guess (zxcvbn score
/// of at least 3, taking the person's own email and name into account). No composition rules.
pub fn check_rules(password: &str, user_inputs: &[&str]) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Use at least {MIN_LENGTH} characters; a few unrelated words make a good passphrase."
        ));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    // zxcvbn's cost grows quickly with length; a long passphrase is judged by its first 100
    // characters, which is already far beyond any guessing attack.
    let sample: String = password.chars().take(100).collect();
    let estimate = zxcvbn::zxcvbn(&sample, user_inputs);
    if u8::from(estimate.score()) >= 3 {
        return Ok(());
    }
    let mut message = String::from("This password is too easy to guess.");
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            message = format!("{message} {warning}");
        }
        if let Some(suggestion) = feedback.suggestions().first() {
            message = format!("{message} {suggestion}");
        }
    }
    Err(message)
}

/// Each argon2id run takes 19 MiB and tens of milliseconds of CPU; this cap keeps a burst of
/// sign-ins from exhausting memory or starving other requests of blocking threads.
fn slot_count() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)
}

fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(slot_count()))
}

async fn on_blocking_thread<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    let _permit = hashing_slots().acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(work).await.expect("password hashing panicked")
}

/// Sign-ins waiting for a hashing slot, at most [`QUEUE_PER_SLOT`] per slot: a flood of
/// sign-ins is refused at once (503 with Retry-After) instead of queueing without end, each
/// waiting request holding its body and a connection.
static WAITING: AtomicUsize = AtomicUsize::new(0);
pub const QUEUE_PER_SLOT: usize = 8;

struct InQueue;

impl Drop for InQueue {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// [`on_blocking_thread`] with a bounded queue in front of it.
async fn on_bounded_thread<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, DbError> {
    if WAITING.fetch_add(1, Ordering::AcqRel) >= slot_count() * QUEUE_PER_SLOT {
        WAITING.fetch_sub(1, Ordering::AcqRel);
        return Err(DbError::Overloaded("too many sign-ins waiting for a password check"));
    }
    let _place = InQueue;
    Ok(on_blocking_thread(work).await)
}

/// Hashes with argon2id at the crate's defaults (OWASP: m=19456 KiB, t=2, p=1).
pub async fn hash(password: &str) -> PasswordHash {
    let password = password.to_owned();
    on_blocking_thread(move || {
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 with default parameters accepts any password")
            .to_string();
        PasswordHash(phc)
    })
    .await
}

/// True when `password` matches `hash`. A malformed stored hash never matches.
pub async fn verify(password: &str, hash: &PasswordHash) -> bool {
    let (password, hash) = (password.to_owned(), hash.0.clone());
    on_blocking_thread(move || check(&password, &hash)).await
}

fn check(password: &str, phc: &str) -> bool {
    ParsedHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// [`verify`] for sign-ins: refused with [`DbError::Overloaded`] when too many already wait.
pub async fn verify_bounded(password: &str, hash: &PasswordHash) -> Result<bool, DbError> {
    let (password, hash) = (password.to_owned(), hash.0.clone());
    on_bounded_thread(move || check(&password, &hash)).await
}

/// Spends the same time as a real check, for sign-ins with an unknown email, so the answer's
/// timing does not tell which emails have accounts.
pub async fn verify_dummy(password: &str) -> Result<(), DbError> {
    static DUMMY: tokio::sync::OnceCell<PasswordHash> = tokio::sync::OnceCell::const_new();
    let dummy = DUMMY.get_or_init(|| hash("not a real password, only for timing")).await;
    verify_bounded(password, dummy).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_reject_short_and_common_passwords_with_a_reason() {
        assert!(check_rules("short", &[]).unwrap_err().contains("at least 15"));
        assert!(check_rules("password12345678", &[]).unwrap_err().contains("too easy to guess"));
        assert!(check_rules("aaaaaaaaaaaa", &[]).is_err());
        // The person's own email is not a secret.
        assert!(check_rules("maria.lopez@example.com", &["maria.lopez@example.com"]).is_err());
    }

    #[test]
    fn rules_accept_passphrases_unicode_and_long_inputs_without_composition_rules() {
        assert_eq!(check_rules("correct horse battery staple", &[]), Ok(()));
        assert_eq!(check_rules("żółć gęślą jaźń pod mostem", &[]), Ok(()));
        assert_eq!(check_rules("カタカナとひらがなの長いパスフレーズです", &[]), Ok(()));
        let long = "tangerine submarine orchestra ".repeat(30);
        assert_eq!(check_rules(&long, &[]), Ok(()));
        assert!(check_rules(&"x".repeat(MAX_LENGTH + 1), &[]).is_err());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify_without_truncation() {
        let a = hash("correct horse battery staple").await;
        let b = hash("correct horse battery staple").await;
        assert!(a.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", a.as_str());
        assert_ne!(a, b, "every hash has its own salt");
        assert!(verify("correct horse battery staple", &a).await);
        assert!(!verify("correct horse battery stapl", &a).await);
        let long = "word ".repeat(150);
        let h = hash(&long).await;
        assert!(verify(&long, &h).await);
        assert!(!verify(&long[..long.len() - 1], &h).await, "no truncation");
        assert!(!verify("anything", &PasswordHash::from_stored("garbage".into())).await);
        assert_eq!(format!("{a:?}"), "PasswordHash(…)");
    }
}
