//! Fresh databases for tests: a temporary SQLite file, and a PostgreSQL schema of its own on the
//! local server, both migrated. Runs never see each other's rows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel_async::{AsyncConnection, SimpleAsyncConnection};

use super::{Backend, DbPool, PgConn, PoolOptions};

/// The PostgreSQL server tests use; `TEST_POSTGRES_URL` overrides it.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A migrated test database; dropping it removes the file or schema.
pub struct TestDb {
    pub pool: DbPool,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { base_url: String, schema: String },
}

impl TestDb {
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// The address of a PostgreSQL test database (its own schema), to open a second pool on it.
    pub fn postgres_url(&self) -> Option<String> {
        match &self.cleanup {
            Cleanup::File(_) => None,
            Cleanup::Schema { base_url, schema } => {
                let sep = if base_url.contains('?') { '&' } else { '?' };
                Some(format!("{base_url}{sep}options=-c%20search_path%3D{schema}"))
            }
        }
    }

    /// The file behind a SQLite test database, to open a second pool on it.
    pub fn sqlite_path(&self) -> Option<String> {
        match &self.cleanup {
            Cleanup::File(path) => Some(path.display().to_string()),
            Cleanup::Schema { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { base_url, schema } => {
                // Drop runs outside async context (and also after a failed assertion), so the
                // schema is dropped from a thread with a runtime of its own.
                let (url, schema) = (base_url.clone(), schema.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(mut c) = PgConn::establish(&url).await {
                                let _ =
                                    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn small_pool() -> PoolOptions {
    PoolOptions { max_connections: 4, ..PoolOptions::default() }
}

pub async fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("{}.sqlite3", unique_name("crm_test")));
    let pool = DbPool::connect(Some(&path.display().to_string()), &small_pool()).expect("sqlite pool");
    let db = TestDb { pool, cleanup: Cleanup::File(path) };
    db.pool.migrate().await.expect("sqlite migrations");
    db
}

/// A fresh schema on the local PostgreSQL server, or `None` (with a loud warning) when no server
/// is reachable. Under CI (`CI` set) an unreachable server fails the test instead.
pub async fn postgres() -> Option<TestDb> {
    let base_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.into());
    let mut admin = match PgConn::establish(&base_url).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL at {base_url} is required in CI: {e}");
            }
            eprintln!(
                "\n!!!!!!!! PostgreSQL tests SKIPPED: cannot connect to {base_url}: {e}\n\
                 !!!!!!!! Start PostgreSQL or set TEST_POSTGRES_URL to test the production backend.\n"
            );
            return None;
        }
    };
    let schema = unique_name("crm_test");
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
    let sep = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{sep}options=-c%20search_path%3D{schema}");
    let pool = DbPool::connect(Some(&url), &small_pool()).expect("postgres pool");
    let db = TestDb { pool, cleanup: Cleanup::Schema { base_url, schema } };
    db.pool.migrate().await.expect("postgres migrations");
    Some(db)
}

/// The `host:port` of a PostgreSQL URL as written in it, and the address it names (port 5432
/// when none is given), to put a proxy in between.
pub fn postgres_authority(url: &str) -> Option<(String, std::net::SocketAddr)> {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?.rsplit('@').next()?;
    let with_port = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:5432") };
    let addr = with_port.to_socket_addrs().ok()?.find(|a| a.is_ipv4())?;
    Some((authority.to_owned(), addr))
}

/// Both backends (PostgreSQL only when reachable), for tests written once.
pub async fn each_backend() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}
