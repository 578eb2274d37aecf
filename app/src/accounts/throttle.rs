//! Sign-in throttling: a few free attempts, then an exponentially growing wait after each
//! failure, and a hard cap per hour; counted per account from one address, per account from
//! anywhere (looser) and per address. Failures live in the database, so every app server sharing
//! it sees them.
//!
//! An attempt is claimed before its password is checked: one transaction counts the failures
//! and, if the attempt may go ahead, records it as a failure at once (a successful sign-in then
//! clears the account's failures). A burst of parallel guesses therefore gets exactly the free
//! attempts, not one per request that passed the count before any failure was written.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::repo::{self, Failures};
use crate::db::{DbConn, DbError, TxLock};

#[derive(Debug, Clone)]
pub struct Policy {
    /// Failures that cost nothing; each one after them doubles the wait. Per account from one
    /// address: someone guessing (or trying to lock the owner out) only slows themselves down.
    pub free_per_account_address: i64,
    /// Per account from every address together: only several addresses reach it.
    pub free_per_account: i64,
    /// Per address, whatever the account: one office behind one address shares it.
    pub free_per_ip: i64,
    /// Failures in one hour after which the account (or address) is refused until they age out.
    pub hourly_cap_per_account: i64,
    pub hourly_cap_per_ip: i64,
    pub max_wait: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            free_per_account_address: 5,
            free_per_account: 30,
            free_per_ip: 20,
            hourly_cap_per_account: 100,
            hourly_cap_per_ip: 500,
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

const WINDOW: chrono::Duration = chrono::Duration::hours(1);

fn wait_after(failures: i64, free: i64, max: Duration) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(20) as u32;
    Duration::from_secs(1u64 << doublings).min(max)
}

/// The recent failures an attempt is judged by.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recent {
    pub account_address: Failures,
    pub account: Failures,
    pub address: Failures,
}

/// What became of an attempt to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The password may be checked; the attempt is already counted as a failure.
    Allowed,
    /// Refused without checking the password.
    Throttled,
}

impl Policy {
    fn open(&self, f: Failures, free: i64, cap: i64, now: NaiveDateTime) -> bool {
        if f.count >= cap {
            return false;
        }
        let wait = wait_after(f.count, free, self.max_wait);
        match f.latest {
            Some(latest) => latest + chrono::Duration::from_std(wait).unwrap_or(WINDOW) <= now,
            None => true,
        }
    }

    /// Whether an attempt may be checked at `now`, given the recent failures.
    pub fn allows(&self, recent: Recent, now: NaiveDateTime) -> bool {
        self.open(recent.account_address, self.free_per_account_address, self.hourly_cap_per_account, now)
            && self.open(recent.account, self.free_per_account, self.hourly_cap_per_account, now)
            && self.open(recent.address, self.free_per_ip, self.hourly_cap_per_ip, now)
    }

    /// The recent failures of `email` and `ip`.
    pub async fn recent(
        &self,
        conn: &mut DbConn,
        email: &str,
        ip: &str,
        now: NaiveDateTime,
    ) -> Result<Recent, DbError> {
        let since = now - WINDOW;
        Ok(Recent {
            account_address: repo::failures_for_email_ip(conn, email, ip, since).await?,
            account: repo::failures_for_email(conn, email, since).await?,
            address: repo::failures_for_ip(conn, ip, since).await?,
        })
    }

    /// Whether an attempt may be checked at `now` (without claiming it).
    pub async fn check(
        &self,
        conn: &mut DbConn,
        email: &str,
        ip: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        Ok(self.allows(self.recent(conn, email, ip, now).await?, now))
    }

    /// Counts the recent failures and, if the attempt may go ahead, records it as one, in one
    /// step that claims on every server run one after the other. When this attempt is the one
    /// that locks the account for every address, the audit log says so, for administrators.
    /// A `known_device` (a browser that signed in to this account before: [`super::device`])
    /// is not held to the per-account limit, only to its address's.
    pub async fn claim(
        &self,
        conn: &mut DbConn,
        email: &str,
        ip: &str,
        now: NaiveDateTime,
        known_device: bool,
    ) -> Result<Attempt, DbError> {
        conn.write_tx(async |c: &mut DbConn| {
            c.one_at_a_time(TxLock::SignInAttempts).await?;
            let mut recent = self.recent(c, email, ip, now).await?;
            let of_everyone = recent.account;
            if known_device {
                // Its owner's browser: no wait for the others' guesses, but the hourly cap (which
                // their throttled guesses cannot reach) still bounds a stolen cookie.
                recent.account = Failures { latest: None, ..of_everyone };
            }
            if !self.allows(recent, now) {
                return Ok(Attempt::Throttled);
            }
            repo::write_failure(c, email, ip, now).await?;
            if !known_device && of_everyone.count + 1 == self.free_per_account {
                let subject = super::normalize_email(email).chars().take(254).collect();
                let after = format!(
                    "{} failed sign-ins in the last hour, from several addresses",
                    self.free_per_account
                );
                crate::users::repo::audit_by_server(c, "user.sign_in_locked", subject, Some(after)).await?;
                tracing::warn!(ip = %ip, "an account's sign-ins are throttled for every address");
            }
            Ok(Attempt::Allowed)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap().naive_utc()
    }

    #[test]
    fn waits_double_after_the_free_attempts_and_stop_at_the_cap() {
        let max = Duration::from_secs(900);
        assert_eq!(wait_after(4, 5, max), Duration::ZERO);
        assert_eq!(wait_after(5, 5, max), Duration::from_secs(1));
        assert_eq!(wait_after(8, 5, max), Duration::from_secs(8));
        assert_eq!(wait_after(60, 5, max), max);
        let p = Policy::default();
        let capped = Failures { count: 100, latest: Some(at(0)) };
        let recent = Recent { account: capped, ..Recent::default() };
        assert!(!p.allows(recent, at(3000)), "the hourly cap holds however long one waits");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn throttling_kicks_in_after_repeated_failures_and_recovers() {
        let policy = Policy::default();
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let base = crate::clock::now();
            let t = |s: i64| base + chrono::Duration::seconds(s);
            for i in 0..5 {
                assert!(
                    policy.check(&mut conn, "e@example.com", "10.1.1.1", t(i)).await.unwrap(),
                    "{name}: attempt {i} is free"
                );
                repo::record_failure(&mut conn, "e@example.com", "10.1.1.1", t(i)).await.unwrap();
            }
            // Five failures: the next attempt from that address must wait a second…
            assert!(
                !policy.check(&mut conn, "E@example.com", "10.1.1.1", t(4)).await.unwrap(),
                "{name}: throttled per account and address"
            );
            assert!(
                policy.check(&mut conn, "e@example.com", "10.1.1.1", t(6)).await.unwrap(),
                "{name}: recovers after the wait"
            );
            // …while the account's owner elsewhere is not locked out by someone else's guesses.
            assert!(
                policy.check(&mut conn, "e@example.com", "10.9.9.9", t(4)).await.unwrap(),
                "{name}: another address signs in"
            );
            assert!(
                policy.check(&mut conn, "other@example.com", "10.1.1.1", t(4)).await.unwrap(),
                "{name}: other accounts are unaffected"
            );

            // Per address: many accounts from one address.
            for i in 0..20 {
                repo::record_failure(&mut conn, &format!("u{i}@example.com"), "10.2.2.2", t(10))
                    .await
                    .unwrap();
            }
            assert!(
                !policy.check(&mut conn, "new@example.com", "10.2.2.2", t(10)).await.unwrap(),
                "{name}: throttled per address"
            );
            assert!(policy.check(&mut conn, "new@example.com", "10.2.2.2", t(12)).await.unwrap(), "{name}");

            // Guesses at one account from many addresses (a botnet) lock it for every address
            // after the looser per-account allowance, and the audit log says so once.
            for i in 0..policy.free_per_account {
                let ip = format!("198.51.100.{i}");
                assert_eq!(
                    policy.claim(&mut conn, "ziel@example.com", &ip, t(20), false).await.unwrap(),
                    Attempt::Allowed,
                    "{name}: {i}"
                );
            }
            assert_eq!(
                policy.claim(&mut conn, "ziel@example.com", "192.0.2.1", t(20), false).await.unwrap(),
                Attempt::Throttled,
                "{name}: locked for a new address too"
            );
            assert_eq!(
                policy.claim(&mut conn, "ziel@example.com", "192.0.2.1", t(20), true).await.unwrap(),
                Attempt::Allowed,
                "{name}: but not for the owner's browser, which signed in before"
            );
            let (entries, _) = crate::users::repo::list_audit(&mut conn, 1).await.unwrap();
            let locked: Vec<_> = entries.iter().filter(|e| e.action == "user.sign_in_locked").collect();
            assert_eq!(locked.len(), 1, "{name}: {entries:?}");
            assert_eq!(locked[0].subject, "ziel@example.com", "{name}");
        }
    }

    /// The attack: a burst of parallel guesses. Checking the count, hashing, then recording the
    /// failure as separate steps let every guess that arrived before the first failure was
    /// written through (100 parallel guesses made 31 password checks). Claimed in one step, a
    /// burst of 200 gets exactly the free attempts.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_burst_of_parallel_attempts_gets_only_the_free_ones() {
        let policy = Policy::default();
        for db in each_backend().await {
            let name = db.backend().name();
            let now = crate::clock::now();
            let attempts = (0..200).map(|_| {
                let (pool, policy) = (db.pool.clone(), &policy);
                async move {
                    let mut conn = pool.get().await.unwrap();
                    policy.claim(&mut conn, "opfer@example.com", "203.0.113.5", now, false).await.unwrap()
                }
            });
            let outcomes = futures::future::join_all(attempts).await;
            let allowed = outcomes.iter().filter(|a| **a == Attempt::Allowed).count() as i64;
            assert_eq!(allowed, policy.free_per_account_address, "{name}");
        }
    }
}
