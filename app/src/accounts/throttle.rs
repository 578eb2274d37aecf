//! Sign-in throttling per account and per client address: a few free attempts, then an
//! exponentially growing wait after each failure, and a hard cap per hour. Failures live in the
//! database, so every app server sharing it sees them.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::repo::{self, Failures};
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone)]
pub struct Policy {
    /// Failures that cost nothing; each one after them doubles the wait.
    pub free_per_account: i64,
    pub free_per_ip: i64,
    /// Failures in one hour after which the account (or address) is refused until they age out.
    pub hourly_cap_per_account: i64,
    pub hourly_cap_per_ip: i64,
    pub max_wait: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            free_per_account: 5,
            // One office behind one address shares this budget, hence more generous.
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

impl Policy {
    /// Whether an attempt may be checked at `now`, given the recent failures.
    pub fn allows(&self, account: Failures, ip: Failures, now: NaiveDateTime) -> bool {
        let open = |f: Failures, free: i64, cap: i64| {
            if f.count >= cap {
                return false;
            }
            let wait = wait_after(f.count, free, self.max_wait);
            match f.latest {
                Some(latest) => latest + chrono::Duration::from_std(wait).unwrap_or(WINDOW) <= now,
                None => true,
            }
        };
        open(account, self.free_per_account, self.hourly_cap_per_account)
            && open(ip, self.free_per_ip, self.hourly_cap_per_ip)
    }

    pub async fn check(
        &self,
        conn: &mut DbConn,
        email: &str,
        ip: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let since = now - WINDOW;
        let account = repo::failures_for_email(conn, email, since).await?;
        let address = repo::failures_for_ip(conn, ip, since).await?;
        Ok(self.allows(account, address, now))
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
        let none = Failures::default();
        let capped = Failures { count: 100, latest: Some(at(0)) };
        assert!(!p.allows(capped, none, at(3000)), "the hourly cap holds however long one waits");
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
            // Five failures: the next attempt must wait a second, then it is allowed again.
            assert!(
                !policy.check(&mut conn, "E@example.com", "10.9.9.9", t(4)).await.unwrap(),
                "{name}: throttled per account"
            );
            assert!(
                policy.check(&mut conn, "e@example.com", "10.9.9.9", t(6)).await.unwrap(),
                "{name}: recovers after the wait"
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
        }
    }
}
