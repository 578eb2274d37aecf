//! Tests of running the CRM as a service: leases raced by several servers on both backends, a
//! SQLite backup taken while a writer commits and its restore, the client's address behind
//! proxies (and forged headers), and who may read the metrics.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::{ExpressionMethods, QueryDsl};

use super::backup::{self, BackupError};
use super::client::{client_addr, throttle_key, ClientAddr, TrustedProxies};
use super::leases;
use super::metrics::{self, Access};
use crate::contacts::repo as contacts;
use crate::contacts::ContactInput;
use crate::db::schema::contacts as contacts_table;
use crate::db::testing::{each_backend, sqlite};
use crate::db::{with_db, DbConn, DbPool, PoolOptions};

fn at(minute: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap().and_hms_opt(9, minute, 0).unwrap()
}

const PERIOD: Duration = Duration::from_secs(5 * 60);

// ------------------------------------------------------------------------------------ leases

/// The threat: two servers sharing the database both deleting expired sessions, both running a
/// segment sync, at the same tick. Each round, several servers race for the same lease at the
/// same moment on connections of their own: exactly one wins.
#[tokio::test(flavor = "multi_thread")]
async fn servers_racing_for_a_lease_have_one_winner() {
    for db in each_backend().await {
        let backend = db.backend();
        for round in 0..5u32 {
            let name: &'static str = Box::leak(format!("race-{round}").into_boxed_str());
            let claims = (0..3).map(|server| {
                let pool = db.pool.clone();
                tokio::spawn(async move {
                    let mut conn = pool.get().await.expect("connection");
                    let holder = format!("server-{server}");
                    leases::claim(&mut conn, name, &holder, at(0), PERIOD).await.expect("claim")
                })
            });
            let won: Vec<bool> =
                futures::future::join_all(claims).await.into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(won.iter().filter(|w| **w).count(), 1, "{backend:?} round {round}: {won:?}");
        }
    }
}

async fn claim(conn: &mut DbConn, holder: &str, minute: u32) -> bool {
    leases::claim(conn, "session-cleanup", holder, at(minute), PERIOD).await.unwrap()
}

/// A holder renews its own lease; the others wait until it expires, as when its server stopped.
#[tokio::test(flavor = "multi_thread")]
async fn a_lease_passes_on_only_when_its_holder_stops_renewing() {
    for db in each_backend().await {
        let backend = db.backend();
        let mut conn = db.pool.get().await.unwrap();
        assert!(claim(&mut conn, "Zürich-1", 0).await, "{backend:?}: nobody held it");
        assert!(!claim(&mut conn, "東京-2", 1).await, "{backend:?}: held by Zürich-1");
        assert!(claim(&mut conn, "Zürich-1", 5).await, "{backend:?}: its holder renews at the next tick");
        assert!(!claim(&mut conn, "東京-2", 10).await, "{backend:?}: renewed at :05 for 5½ minutes");
        let (holder, until) = leases::holder(&mut conn, "session-cleanup").await.unwrap().unwrap();
        assert_eq!((holder.as_str(), until), ("Zürich-1", at(10) + chrono::Duration::seconds(30)));
        assert!(
            claim(&mut conn, "東京-2", 11).await,
            "{backend:?}: Zürich-1 stopped renewing; the lease expired"
        );
        assert!(!claim(&mut conn, "Zürich-1", 12).await, "{backend:?}: back again, it waits its turn");
        assert_eq!(leases::holder(&mut conn, "segment-sync").await.unwrap(), None, "{backend:?}");
    }
}

// ------------------------------------------------------------------------------------ backups

async fn names(pool: &DbPool) -> Vec<String> {
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await.unwrap();
    with_db!(&mut conn, c => contacts_table::table
        .filter(contacts_table::last_name.eq("Müller-Backup 💾"))
        .order(contacts_table::id)
        .select(contacts_table::first_name)
        .load::<String>(c)
        .await)
    .unwrap()
}

fn written(i: usize) -> String {
    format!("Zoë {i}")
}

fn temp_file(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    std::env::temp_dir().join(format!("crm_backup_{}_{nanos}_{name}", std::process::id()))
}

fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".partial"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The threat: a backup taken while staff keep working that is torn (half a transaction) or
/// misses work that was already saved. A writer commits contacts one by one while the backup
/// runs; the backup holds every contact committed before it began, in order and with no gap,
/// passes SQLite's integrity check, and restores to a database that serves them.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_concurrent_writes_holds_every_committed_write_and_restores() {
    let db = sqlite().await;
    let actor = {
        let mut conn = db.pool.get().await.unwrap();
        crate::users::fixtures::staff_with(&mut conn, "backup-writer@example.org", &[]).await.id
    };
    let committed = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (pool, committed) = (db.pool.clone(), committed.clone());
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            for i in 0..300 {
                let input = ContactInput {
                    first_name: written(i),
                    last_name: "Müller-Backup 💾".into(),
                    city: "Kraków".into(),
                    ..ContactInput::default()
                };
                contacts::create(&mut conn, actor, &input).await.expect("write");
                committed.store(i + 1, Ordering::SeqCst);
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dest = temp_file("mid-write.sqlite3");
    let before = committed.load(Ordering::SeqCst);
    let bytes = backup::sqlite(&mut db.pool.get().await.unwrap(), &dest).await.expect("backup");
    let after = committed.load(Ordering::SeqCst);
    writer.await.unwrap();
    assert!(bytes > 0 && dest.is_file());
    assert!(!Path::new(&format!("{}.partial", dest.display())).exists(), "the partial copy was renamed");
    backup::verify(&dest).expect("the backup is a whole CRM database");

    let again = backup::sqlite(&mut db.pool.get().await.unwrap(), &dest).await;
    assert!(matches!(again, Err(BackupError::Exists(_))), "an existing file is never overwritten: {again:?}");

    // Restore over a copy of the live database taken after all 300 writes.
    let live = temp_file("live.sqlite3");
    backup::sqlite(&mut db.pool.get().await.unwrap(), &live).await.unwrap();
    let kept = backup::restore(&dest, &live).expect("restore").expect("the replaced file is kept");
    let restored = DbPool::connect(Some(&live.display().to_string()), &PoolOptions::default()).unwrap();
    restored.migrate().await.expect("a server starting on the restored file");
    let got = names(&restored).await;
    assert!(
        (before..=after).contains(&got.len()),
        "committed before the backup: {before}, by its end: {after}; in it: {}",
        got.len()
    );
    let expected: Vec<String> = (0..got.len()).map(written).collect();
    assert_eq!(got, expected, "every write committed before the backup, in order, none torn");
    let replaced = DbPool::connect(Some(&kept.display().to_string()), &PoolOptions::default()).unwrap();
    assert_eq!(names(&replaced).await.len(), 300, "the database the restore replaced is kept whole");
    assert_eq!(names(&db.pool).await.len(), 300);
    drop((restored, replaced));
    for path in [&dest, &live, &kept] {
        remove(path);
    }
}

/// A backup holds password hashes: its owner's only. A restore gives the file the mode of the
/// one it replaces, so the service can open it; with nobody holding the database open it goes
/// ahead (the refusal while a server holds it needs another process: README, "Backups").
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn backups_are_private_and_a_restore_keeps_the_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let live = temp_file("mode.sqlite3");
    let dest = temp_file("mode-backup.sqlite3");
    {
        let pool = DbPool::connect(Some(&live.display().to_string()), &PoolOptions::default()).unwrap();
        pool.migrate().await.unwrap();
        backup::sqlite(&mut pool.get().await.unwrap(), &dest).await.unwrap();
    }
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup holds password hashes: its owner's only");
    assert!(!backup::in_use(&live).unwrap(), "every connection closed");
    std::fs::set_permissions(&live, std::fs::Permissions::from_mode(0o640)).unwrap();
    let kept = backup::restore(&dest, &live).expect("restore").expect("the old file kept");
    let mode = std::fs::metadata(&live).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the restored file has the mode of the one it replaced");
    for path in [&dest, &live, &kept] {
        remove(path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_is_no_crm_database_is_not_restored() {
    let junk = temp_file("junk.sqlite3");
    std::fs::write(&junk, "name,email\nJürgen,j@example.de\n").unwrap();
    let target = temp_file("target.sqlite3");
    std::fs::write(&target, "the live database").unwrap();
    let refused = backup::restore(&junk, &target);
    assert!(matches!(refused, Err(BackupError::NotABackup { .. })), "{refused:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "the live database", "nothing was touched");
    let missing = backup::restore(&temp_file("missing.sqlite3"), &target);
    assert!(matches!(missing, Err(BackupError::NotABackup { .. })), "{missing:?}");
    remove(&junk);
    remove(&target);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_is_backed_up_with_its_own_tools() {
    let Some(db) = crate::db::testing::postgres().await else { return };
    let dest = temp_file("pg.sqlite3");
    let refused = backup::sqlite(&mut db.pool.get().await.unwrap(), &dest).await;
    assert!(matches!(refused, Err(BackupError::Postgres)), "{refused:?}");
    assert!(refused.unwrap_err().to_string().contains("pg_dump"));
    assert!(!dest.exists());
}

// ------------------------------------------------------------------------- the client's address

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The threat: a client sending its own `X-Forwarded-For` to look like somebody else, every
/// attempt from a new address, to escape the sign-in throttle.
#[test]
fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
    // Straight from the internet, a forged header changes nothing.
    assert_eq!(client_addr(ip("203.0.113.9"), &["198.51.100.1"], &proxies), ip("203.0.113.9"));
    // Through the proxy: the address the proxy appended.
    assert_eq!(client_addr(ip("127.0.0.1"), &["203.0.113.9"], &proxies), ip("203.0.113.9"));
    // Through the proxy with a forged header: the proxy appends the real address last, and
    // entries left of it are the client's own words.
    assert_eq!(client_addr(ip("127.0.0.1"), &["1.2.3.4, 203.0.113.9"], &proxies), ip("203.0.113.9"));
    assert_eq!(client_addr(ip("127.0.0.1"), &["1.2.3.4", "203.0.113.9"], &proxies), ip("203.0.113.9"));
    // Two proxies of ours (a load balancer, then Caddy): the first address that is not ours.
    assert_eq!(
        client_addr(ip("127.0.0.1"), &["6.6.6.6, 203.0.113.9, 10.1.2.3"], &proxies),
        ip("203.0.113.9")
    );
    // Junk where the proxy's entry should be is an unknown client, never the proxy itself (whose
    // address may open the metrics, and would put every client in one throttling bucket).
    assert_eq!(client_addr(ip("127.0.0.1"), &["203.0.113.9, not-an-ip"], &proxies), ip("0.0.0.0"));
    assert_eq!(client_addr(ip("127.0.0.1"), &["not-an-ip, 203.0.113.9"], &proxies), ip("203.0.113.9"));
    // No header at all: the proxy itself.
    assert_eq!(client_addr(ip("127.0.0.1"), &[], &proxies), ip("127.0.0.1"));
    // IPv4 seen through an IPv6 socket is the same address.
    assert_eq!(client_addr(ip("::ffff:127.0.0.1"), &["203.0.113.9"], &proxies), ip("203.0.113.9"));
    // With no proxy configured, nobody's header is believed.
    let none = TrustedProxies::default();
    assert_eq!(client_addr(ip("127.0.0.1"), &["203.0.113.9"], &none), ip("127.0.0.1"));
}

/// The threat: an attacker holding a /64 (what one IPv6 subscriber gets) spraying passwords from
/// a fresh address each time.
#[test]
fn ipv6_clients_are_throttled_by_their_64_network() {
    assert_eq!(throttle_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
    assert_eq!(throttle_key(ip("2001:db8:1:2:ffff:ffff:ffff:fffe")), "2001:db8:1:2::/64");
    assert_ne!(throttle_key(ip("2001:db8:1:3::1")), "2001:db8:1:2::/64");
    assert_eq!(throttle_key(ip("203.0.113.9")), "203.0.113.9");
    assert_eq!(throttle_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let proxies = TrustedProxies::parse(" 127.0.0.1 ,::1 192.168.0.0/16,").unwrap();
    assert_eq!(proxies.list(), ["127.0.0.1/32", "::1/128", "192.168.0.0/16"]);
    assert!(proxies.trusts(ip("192.168.44.2")) && !proxies.trusts(ip("192.169.0.1")));
    let err = TrustedProxies::parse("10.0.0.0/8, proxy.internal").unwrap_err();
    assert!(err.contains("\"proxy.internal\""), "{err}");
    assert!(TrustedProxies::parse("").unwrap().is_empty());
}

// ------------------------------------------------------------------------------------ metrics

fn bearer(token: &str) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(axum::http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    headers
}

/// The threat: the public reading the metrics (routes, volumes, errors) of the CRM.
#[test]
fn metrics_are_for_the_allowed_addresses_or_the_token_only() {
    let nobody = Access::default();
    let public = Some(ClientAddr(ip("203.0.113.9")));
    let monitor = Some(ClientAddr(ip("10.0.0.7")));
    assert!(!nobody.permits(public, &axum::http::HeaderMap::new()));
    assert!(!nobody.permits(public, &bearer("")), "no token configured: no token opens it");
    let allowed = Access::new(TrustedProxies::parse("10.0.0.0/8").unwrap(), None);
    assert!(allowed.permits(monitor, &axum::http::HeaderMap::new()));
    assert!(!allowed.permits(public, &axum::http::HeaderMap::new()));
    assert!(!allowed.permits(None, &axum::http::HeaderMap::new()));
    let token = Access::new(TrustedProxies::default(), Some("s3cret-Grüße"));
    assert!(token.permits(public, &bearer("s3cret-Grüße")));
    assert!(!token.permits(public, &bearer("s3cret-Gruesse")));
    assert!(!token.permits(public, &bearer("s3cret")), "a prefix is not the token");
    assert!(!token.permits(public, &axum::http::HeaderMap::new()));
    assert!(
        !Access::new(TrustedProxies::default(), Some("  ")).permits(public, &bearer("")),
        "a blank token is none"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_report_requests_the_pool_and_import_jobs() {
    let db = sqlite().await;
    metrics::record_request("GET", "/staff/contacts", 200, Duration::from_millis(12));
    metrics::record_request("GET", "/staff/contacts", 200, Duration::from_millis(30));
    metrics::record_db_error(true);
    let text = metrics::render(&db.pool).await;
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_owned);
    let count = line("crm_http_requests_total{method=\"GET\",route=\"/staff/contacts\",status=\"200\"}");
    let count: f64 = count.expect(&text).rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2.0, "{text}");
    assert!(line("crm_http_request_duration_seconds_bucket{").is_some(), "{text}");
    assert!(line("crm_db_pool_timeouts_total").is_some(), "{text}");
    assert!(line("crm_db_pool_connections{state=\"max\"} 4").is_some(), "{text}");
    assert!(line("crm_import_jobs{state=\"running\"} 0").is_some(), "{text}");
}

/// A signature holds for what it signed, for ten minutes: another error, another form, another
/// page or an old signature is refused (a little clock skew between servers is not).
#[test]
fn form_error_signatures_hold_for_what_they_signed_and_not_for_long() {
    use crate::ops::action_errors::{signature, verify, VALID_FOR_SECONDS};
    let key = b"0123456789abcdef0123456789abcdef";
    let now = 1_800_000_000;
    let (page, form, err) = ("/login?next=%2Fstaff", "/api/public/login", "eyJJbnZhbGlkIjp7fX0=");
    let sig = signature(key, now, "b1", page, form, err);
    assert!(verify(key, &sig, "b1", page, form, err, now + 5));
    assert!(verify(key, &sig, "b1", page, form, err, now - 5), "another server's clock a little ahead");
    assert!(!verify(key, &sig, "b1", page, form, "eyJJbnZhbGlkIjp7fX1=", now), "another error");
    assert!(!verify(key, &sig, "b1", page, "/api/public/register", err, now), "another form");
    assert!(!verify(key, &sig, "b1", "/portal", form, err, now), "moved to another page");
    assert!(!verify(b"another key", &sig, "b1", page, form, err, now), "another key");
    assert!(!verify(key, &sig, "b1", page, form, err, now + VALID_FOR_SECONDS + 1), "stale");
    assert!(!verify(key, "garbage", "b1", page, form, err, now));
    assert!(!verify(key, &sig, "another browser", page, form, err, now), "another browser");
}
