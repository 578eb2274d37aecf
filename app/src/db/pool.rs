//! The pool and its connections for the two backends, chosen at run time from `DATABASE_URL`.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

use crate::clock::Clock;
use crate::with_db;

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
pub type PgConn = AsyncPgConnection;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Where the embedded default keeps its data when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_PATH: &str = "data/crm.sqlite3";

/// Per-connection settings for SQLite: WAL lets readers run beside the one writer, the busy
/// timeout makes a second writer wait instead of failing (set first: switching a new file to WAL
/// waits for a second server opening it at the same moment), and foreign keys are off by default.
/// Reads go through a memory map of the file (shared by every connection, unlike the page
/// cache): at 100,000 contacts a search reads thousands of scattered rows.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                              PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                              PRAGMA mmap_size = 1073741824;";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is busy: no connection became free within {0:?}")]
    Busy(Duration),
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    /// Not the database's: work that waits for the server (password checks) is refused once
    /// too much of it waits.
    #[error("the server is overloaded: {0}")]
    Overloaded(&'static str),
    #[error(transparent)]
    Query(diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("invalid DATABASE_URL: {0}")]
    Config(String),
}

/// The setting that holds [`DbPool::server_key`].
const SERVER_KEY_SETTING: &str = "security.server_key";

impl From<diesel::result::Error> for DbError {
    /// A query on a connection that died (PostgreSQL restarted, the network cut) means the
    /// database is away, like a connection that cannot be opened: 503, not an internal error.
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        // diesel-async reports every client-side PostgreSQL error as "unable to send command"
        // (too many parameters, a decoding error …): only a lost connection is the database away.
        let lost = |message: &str| {
            message.starts_with("connection closed")
                || message.starts_with("error communicating with the server")
        };
        match &err {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Unreachable(info.message().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, info) if lost(info.message()) => {
                DbError::Unreachable(info.message().to_owned())
            }
            _ => DbError::Query(err),
        }
    }
}

impl DbError {
    /// True for any uniqueness violation.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// True for a uniqueness violation of `table.column`, which repositories turn into a message
    /// on that field.
    pub fn is_unique_violation_of(&self, table: &str, column: &str) -> bool {
        matches!(self, DbError::Query(e) if is_unique_violation_of(e, table, column))
    }
}

/// True when `err` is a uniqueness violation of `table.column`. SQLite names the column in its
/// message ("UNIQUE constraint failed: tags.name_key"), PostgreSQL names the index, which the
/// migrations call `{table}_{column}…` (`tags_name_key`, `contacts_email_key`).
pub fn is_unique_violation_of(err: &diesel::result::Error, table: &str, column: &str) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    let Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = err else { return false };
    let sqlite_name = format!("{table}.{column}");
    let pg_prefix = format!("{table}_{column}");
    info.message().split(['\n', ',', ' ']).any(|part| part == sqlite_name)
        || info.constraint_name().is_some_and(|name| name.starts_with(&pg_prefix))
}

#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_connections: usize,
    /// How long a request waits for a free connection before it is answered with 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: 16, acquire_timeout: Duration::from_secs(3) }
    }
}

/// Connections of a pool: at most `max`, `open` now, `idle` of them free, and `waiting` callers.
#[derive(Clone, Copy, Debug)]
pub struct PoolStatus {
    pub max: usize,
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

/// A pool for one of the two backends, chosen at run time from the database URL, and what the
/// server keeps per database (its clock settings).
#[derive(Clone)]
pub struct DbPool {
    pools: Pools,
    shared: Arc<Shared>,
}

#[derive(Clone)]
enum Pools {
    Sqlite(Pool<SqliteConn>),
    Postgres(Pool<PgConn>),
}

/// Kept per database and handed to each of its connections.
#[derive(Default)]
struct Shared {
    clock: RwLock<Arc<Clock>>,
    /// SQLite has one writer at a time, and its busy handler is no queue: a writer that waits
    /// sleeps and retries, and can lose the lock again and again to a loop of short
    /// transactions (a type change's batches). Write transactions of one server take turns
    /// here first, first come first served; other servers on the same file still wait on
    /// the busy timeout.
    sqlite_writers: Arc<tokio::sync::Mutex<()>>,
    /// The database's secret for what the servers sign (form errors in addresses, device
    /// cookies), read once.
    server_key: tokio::sync::OnceCell<Vec<u8>>,
}

/// A pooled connection; repositories take `&mut DbConn` and never match on it themselves.
// The PostgreSQL variant is larger, but a connection lives briefly on one request's stack; boxing
// it would cost an allocation on every checkout for nothing.
#[allow(clippy::large_enum_variant)]
pub struct DbConn {
    /// The backend's connection; only `db/` and [`with_db!`] look inside.
    #[doc(hidden)]
    pub conn: Connection,
    shared: Arc<Shared>,
    /// Inside [`write_tx`](Self::write_tx): what this connection reads may be uncommitted.
    pub(super) in_tx: bool,
}

// The PostgreSQL variant is larger, but a connection lives briefly on one request's stack; boxing
// it would cost an allocation on every checkout for nothing.
#[doc(hidden)]
#[allow(clippy::large_enum_variant)]
pub enum Connection {
    Sqlite(Object<SqliteConn>),
    Postgres(Object<PgConn>),
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self.conn {
            Connection::Sqlite(_) => Backend::Sqlite,
            Connection::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether this connection is inside a transaction, whose reads may see its own uncommitted
    /// changes: nothing read then may be kept for other requests.
    pub fn in_transaction(&self) -> bool {
        self.in_tx
    }

    /// This server's turn to write, on SQLite (see `Shared::sqlite_writers`); `None` on
    /// PostgreSQL, whose row locks queue by themselves.
    pub(super) async fn sqlite_write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.conn {
            // Past the busy timeout's wait, go ahead without the turn (SQLite's own lock still
            // holds): a mistake that waited here for ever would hang instead of failing.
            Connection::Sqlite(_) => {
                let turn = Arc::clone(&self.shared.sqlite_writers).lock_owned();
                tokio::time::timeout(Duration::from_secs(5), turn).await.ok()
            }
            Connection::Postgres(_) => None,
        }
    }

    /// How this database's organisation shows times (its time zone and date format).
    pub fn clock(&self) -> Arc<Clock> {
        self.shared.clock.read().map(|c| Arc::clone(&c)).unwrap_or_default()
    }

    /// Makes `clock` the one every connection of this pool formats times with, at once.
    pub fn set_clock(&self, clock: Clock) {
        if let Ok(mut c) = self.shared.clock.write() {
            *c = Arc::new(clock);
        }
    }

    /// After a bulk load into `tables` (names from the code, never from input): fresh planner
    /// statistics, so queries use their indexes from the next request on. On PostgreSQL VACUUM
    /// also marks the new pages all-visible, which index-only scans (counts, ids in order) need.
    pub async fn analyze_after_load(&mut self, tables: &[&'static str]) -> Result<(), DbError> {
        match &mut self.conn {
            Connection::Sqlite(c) => c.batch_execute("ANALYZE").await?,
            Connection::Postgres(c) => {
                c.batch_execute(&format!("VACUUM ANALYZE {}", tables.join(", "))).await?
            }
        }
        Ok(())
    }

    /// Fresh planner statistics for `tables` (names from the code, never from input) while a
    /// job keeps writing to them: on PostgreSQL an `ANALYZE`, which also makes every session
    /// plan its prepared statements again. Without it, a statement planned while a table was
    /// small keeps its sequential scan as the table grows (where autovacuum is off, for good):
    /// the import's email lookups took 0.6 s each at 100,000 contacts. SQLite's planner does not
    /// go wrong that way; `PRAGMA optimize` looks after it.
    pub async fn refresh_statistics_of(&mut self, tables: &[&'static str]) -> Result<(), DbError> {
        match &mut self.conn {
            Connection::Sqlite(c) => c.batch_execute("PRAGMA optimize").await?,
            Connection::Postgres(c) => c.batch_execute(&format!("ANALYZE {}", tables.join(", "))).await?,
        }
        Ok(())
    }
}

/// Turns `DATABASE_URL` (or its absence) into a backend and a connection string.
pub fn resolve_url(url: Option<&str>) -> Result<(Backend, String), DbError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    match url {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Ok((Backend::Postgres, u.to_owned()))
        }
        Some(u) if u.contains("://") && !u.starts_with("sqlite://") => {
            Err(DbError::Config(format!("{u}: use postgres://… or a SQLite file path")))
        }
        Some(u) => {
            let path = u.strip_prefix("sqlite://").or_else(|| u.strip_prefix("sqlite:")).unwrap_or(u);
            Ok((Backend::Sqlite, path.to_owned()))
        }
        None => Ok((Backend::Sqlite, DEFAULT_SQLITE_PATH.to_owned())),
    }
}

fn pool_error(err: PoolError, waited: Duration) -> DbError {
    match err {
        PoolError::Timeout(_) => DbError::Busy(waited),
        other => DbError::Unreachable(other.to_string()),
    }
}

impl DbPool {
    /// Builds the pool; connections are opened lazily, so an unreachable server shows up on first use.
    pub fn connect(url: Option<&str>, options: &PoolOptions) -> Result<Self, DbError> {
        let (backend, url) = resolve_url(url)?;
        let build_err =
            |e: diesel_async::pooled_connection::deadpool::BuildError| DbError::Config(e.to_string());
        match backend {
            Backend::Sqlite => {
                if let Some(dir) = Path::new(&url).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| DbError::Config(format!("cannot create {}: {e}", dir.display())))?;
                }
                let mut config = ManagerConfig::<SqliteConn>::default();
                // A checkout only checks for a left-open transaction: the default also sends
                // `SELECT 1`, a round trip per checkout and several per page. A connection that
                // died fails its next query and the pool discards it.
                config.recycling_method = RecyclingMethod::Fast;
                config.custom_setup = Box::new(|url| {
                    let url = url.to_owned();
                    Box::pin(async move {
                        let mut conn = SqliteConn::establish(&url).await?;
                        conn.batch_execute(SQLITE_PRAGMAS)
                            .await
                            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                        conn.spawn_blocking(super::sql::register_sqlite_functions)
                            .await
                            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                        Ok(conn)
                    })
                });
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                Pool::builder(manager)
                    .max_size(options.max_connections)
                    .wait_timeout(Some(options.acquire_timeout))
                    .create_timeout(Some(options.acquire_timeout))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .map(|p| DbPool { pools: Pools::Sqlite(p), shared: Arc::default() })
                    .map_err(build_err)
            }
            Backend::Postgres => {
                let mut config = ManagerConfig::<PgConn>::default();
                config.recycling_method = RecyclingMethod::Fast;
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                Pool::builder(manager)
                    .max_size(options.max_connections)
                    .wait_timeout(Some(options.acquire_timeout))
                    .create_timeout(Some(options.acquire_timeout))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .map(|p| DbPool { pools: Pools::Postgres(p), shared: Arc::default() })
                    .map_err(build_err)
            }
        }
    }

    /// A random secret every server sharing this database shares: made by whichever needs it
    /// first and kept in the settings, read once per pool. What it signs is for this
    /// installation only; deleting the setting (and restarting) voids every signature.
    pub async fn server_key(&self) -> Result<&[u8], DbError> {
        let key = self
            .shared
            .server_key
            .get_or_try_init(|| async {
                use argon2::password_hash::rand_core::{OsRng, RngCore};
                let mut fresh = [0u8; 32];
                OsRng.fill_bytes(&mut fresh);
                let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
                let mut conn = self.get().await?;
                let stored =
                    crate::system::repo::setting_or_insert(&mut conn, SERVER_KEY_SETTING, &hex).await?;
                Ok::<_, DbError>(stored.into_bytes())
            })
            .await?;
        Ok(key)
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The pool as it is now, for `/metrics`.
    pub fn status(&self) -> PoolStatus {
        let s = match &self.pools {
            Pools::Sqlite(p) => p.status(),
            Pools::Postgres(p) => p.status(),
        };
        PoolStatus { max: s.max_size, open: s.size, idle: s.available, waiting: s.waiting }
    }

    /// A connection, or [`DbError::Busy`] once the configured wait is over.
    pub async fn get(&self) -> Result<DbConn, DbError> {
        let conn = match &self.pools {
            Pools::Sqlite(p) => p
                .get()
                .await
                .map(Connection::Sqlite)
                .map_err(|e| pool_error(e, p.timeouts().wait.unwrap_or_default()))?,
            Pools::Postgres(p) => p
                .get()
                .await
                .map(Connection::Postgres)
                .map_err(|e| pool_error(e, p.timeouts().wait.unwrap_or_default()))?,
        };
        Ok(DbConn { conn, shared: Arc::clone(&self.shared), in_tx: false })
    }

    /// Applies pending migrations and returns the versions applied now; servers starting at
    /// the same moment take turns (see `migrations`). Then the folded name keys are brought in
    /// step with the names (see `keys`).
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        let applied = super::migrations::run_pending(self).await?;
        super::keys::refold_name_keys(&mut self.get().await?).await?;
        Ok(applied)
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.get().await?;
        with_db!(&mut conn, c => c.batch_execute("SELECT 1").await)?;
        Ok(())
    }

    /// Keeps the query planner's statistics in step with data that grew through normal use:
    /// SQLite's `PRAGMA optimize` re-analyses the tables whose size changed a lot since it last
    /// looked (cheap when nothing did); PostgreSQL's autovacuum does that by itself.
    pub async fn refresh_statistics(&self) -> Result<(), DbError> {
        let mut conn = self.get().await?;
        if let Connection::Sqlite(c) = &mut conn.conn {
            c.batch_execute("PRAGMA optimize").await?;
        }
        Ok(())
    }
}
