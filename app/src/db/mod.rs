//! Database access for both backends: the pool, connections, the dispatch macros and migrations.
//!
//! This is the only module that names a backend. Repositories write each query once inside
//! [`with_db!`] or [`write_tx!`]; the macros compile the body once per backend.

mod migrations;
pub mod schema;
#[cfg(test)]
mod schema_check;
pub mod testing;

use std::path::Path;
use std::time::Duration;

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

pub use crate::{contacts_tx, with_db, write_tx};

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends (ASCII-only on SQLite).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A case-insensitive "contains" pattern for `LIKE … ESCAPE '\\'`: lower-cased, with the
/// wildcards a person might type taken literally. Compare it with lower-cased text.
pub fn like_pattern(search: &str) -> String {
    let escaped: String = search
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// `column` contains `term`, case-insensitively, answered by each backend's search index:
/// `MATCH` with a quoted phrase on SQLite's FTS5 trigram table (a phrase of trigrams is a
/// substring, and the index alone decides it), `LIKE '%term%'` on PostgreSQL's pg_trgm index.
/// Terms shorter than a trigram fall back to `LIKE` on SQLite too, which reads every row.
/// `column` holds lower-cased text.
pub fn contains<C>(column: C, term: &str) -> Contains<C> {
    let term = term.trim().to_lowercase();
    let phrase = (term.chars().count() >= 3).then(|| format!("\"{}\"", term.replace('"', "\"\"")));
    Contains { column, like: like_pattern(&term), phrase }
}

#[derive(Debug, Clone)]
pub struct Contains<C> {
    column: C,
    like: String,
    phrase: Option<String>,
}

impl<C: Expression> Expression for Contains<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for Contains<C> {}

impl<C: ValidGrouping<()>> ValidGrouping<()> for Contains<C> {
    type IsAggregate = C::IsAggregate;
}

// The SQL depends on the term (MATCH or LIKE): no static query id, so Diesel caches the
// prepared statement by its SQL text instead.
impl<C> QueryId for Contains<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Contains<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        match &self.phrase {
            Some(phrase) => {
                out.push_sql(" MATCH ");
                out.push_bind_param::<Text, _>(phrase)
            }
            None => {
                out.push_sql(" LIKE ");
                out.push_bind_param::<Text, _>(&self.like)?;
                out.push_sql(" ESCAPE '\\'");
                Ok(())
            }
        }
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for Contains<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        // Backslash is PostgreSQL's default LIKE escape.
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" LIKE ");
        out.push_bind_param::<Text, _>(&self.like)
    }
}

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
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("invalid DATABASE_URL: {0}")]
    Config(String),
}

impl DbError {
    /// True for a uniqueness violation, which repositories turn into a field message.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
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

/// A pool for one of the two backends, chosen at run time from the database URL.
#[derive(Clone)]
pub enum DbPool {
    Sqlite(Pool<SqliteConn>),
    Postgres(Pool<PgConn>),
}

/// A pooled connection; repositories take `&mut DbConn` and never match on it themselves.
// The PostgreSQL variant is larger, but a connection lives briefly on one request's stack; boxing
// it would cost an allocation on every checkout for nothing.
#[allow(clippy::large_enum_variant)]
pub enum DbConn {
    Sqlite(Object<SqliteConn>),
    Postgres(Object<PgConn>),
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
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
                    .map(DbPool::Sqlite)
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
                    .map(DbPool::Postgres)
                    .map_err(build_err)
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbPool::Sqlite(_) => Backend::Sqlite,
            DbPool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection, or [`DbError::Busy`] once the configured wait is over.
    pub async fn get(&self) -> Result<DbConn, DbError> {
        match self {
            DbPool::Sqlite(p) => p
                .get()
                .await
                .map(DbConn::Sqlite)
                .map_err(|e| pool_error(e, p.timeouts().wait.unwrap_or_default())),
            DbPool::Postgres(p) => p
                .get()
                .await
                .map(DbConn::Postgres)
                .map_err(|e| pool_error(e, p.timeouts().wait.unwrap_or_default())),
        }
    }

    /// Applies pending migrations and returns the versions applied now; servers starting at
    /// the same moment take turns (see [`migrations`]).
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        migrations::run_pending(self).await
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
        if let DbConn::Sqlite(c) = &mut conn {
            c.batch_execute("PRAGMA optimize").await?;
        }
        Ok(())
    }
}

/// The database's identity and the current value of the change counter `name` (see the
/// `data_versions` table): equal values mean nothing it counts has changed in between.
pub async fn data_version(conn: &mut DbConn, name: &str) -> Result<(String, i64), DbError> {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    use schema::data_versions;
    Ok(with_db!(conn, c => data_versions::table
        .filter(data_versions::name.eq(name))
        .select((data_versions::instance, data_versions::version))
        .first(c)
        .await)?)
}

/// Runs `f` inside `BEGIN IMMEDIATE`: SQLite takes the write lock up front, so two
/// read-then-write transactions queue on the busy timeout instead of one failing with
/// SQLITE_BUSY when it tries to upgrade its read lock.
pub async fn sqlite_immediate<R, E, F>(conn: &mut SqliteConn, f: F) -> Result<R, E>
where
    F: AsyncFnOnce(&mut SqliteConn) -> Result<R, E>,
    E: From<diesel::result::Error>,
{
    use diesel_async::TransactionManager;
    type Tm = <SqliteConn as AsyncConnection>::TransactionManager;
    conn.spawn_blocking(|c| {
        diesel::connection::AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    })
    .await?;
    // If this future is dropped half-way the connection keeps an open transaction; the pool
    // sees that on recycle and discards the connection.
    match f(conn).await {
        Ok(value) => {
            Tm::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(err) => {
            let _ = Tm::rollback_transaction(conn).await;
            Err(err)
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's concrete connection: the body is written once
/// and compiled for each backend.
#[macro_export]
macro_rules! with_db {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(__obj) => {
                let $c: &mut $crate::db::SqliteConn = &mut **__obj;
                $body
            }
            $crate::db::DbConn::Postgres(__obj) => {
                let $c: &mut $crate::db::PgConn = &mut **__obj;
                $body
            }
        }
    };
}

/// Runs `$body` in a write transaction (IMMEDIATE on SQLite); an `Err` rolls it back.
#[macro_export]
macro_rules! write_tx {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(__obj) => {
                $crate::db::sqlite_immediate(&mut **__obj, async |$c: &mut $crate::db::SqliteConn| $body)
                    .await
            }
            $crate::db::DbConn::Postgres(__obj) => {
                use diesel_async::AsyncConnection as _;
                let __c: &mut $crate::db::PgConn = &mut **__obj;
                __c.transaction(async |$c: &mut $crate::db::PgConn| $body).await
            }
        }
    };
}

/// `write_tx!` for a change to anything the contact list shows, filters or sorts by. The
/// transaction first moves the contacts counter (`data_versions`; the triggers move it again),
/// which on PostgreSQL takes the counter's row lock before any other: two such transactions then
/// queue one behind the other instead of deadlocking over a lock each took first (a new tag's
/// unique name, say). The body's error type needs `From<diesel::result::Error>`.
#[macro_export]
macro_rules! contacts_tx {
    ($conn:expr, $c:ident => $body:expr) => {
        $crate::write_tx!($conn, $c => {
            {
                use $crate::db::schema::data_versions as __dv;
                use diesel::{ExpressionMethods as _, QueryDsl as _};
                use diesel_async::RunQueryDsl as _;
                diesel::update(__dv::table.filter(__dv::name.eq("contacts")))
                    .set(__dv::version.eq(__dv::version + 1))
                    .execute($c)
                    .await?;
            }
            $body
        })
    };
}

#[cfg(test)]
mod tests {
    use diesel_async::RunQueryDsl;

    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn statistics_refresh_on_every_backend() {
        for db in testing::each_backend().await {
            db.pool.refresh_statistics().await.unwrap_or_else(|e| panic!("{}: {e}", db.backend().name()));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn migrating_twice_applies_nothing_the_second_time() {
        for db in testing::each_backend().await {
            assert_eq!(db.pool.migrate().await.unwrap(), Vec::<String>::new(), "{}", db.backend().name());
        }
    }

    #[test]
    fn database_url_picks_the_backend() {
        assert_eq!(resolve_url(None).unwrap(), (Backend::Sqlite, DEFAULT_SQLITE_PATH.into()));
        assert_eq!(resolve_url(Some("  ")).unwrap().0, Backend::Sqlite);
        assert_eq!(resolve_url(Some("sqlite://x/y.db")).unwrap(), (Backend::Sqlite, "x/y.db".into()));
        assert_eq!(resolve_url(Some("postgres://h/db")).unwrap().0, Backend::Postgres);
        assert_eq!(resolve_url(Some("postgresql://h/db")).unwrap().0, Backend::Postgres);
        assert!(resolve_url(Some("mysql://h/db")).is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_read_then_write_transactions_do_not_fail_with_busy_on_sqlite() {
        use crate::db::schema::app_settings;
        use diesel::{ExpressionMethods, QueryDsl, TextExpressionMethods};
        let db = testing::sqlite().await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let pool = db.pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                write_tx!(&mut conn, c => {
                    let n: i64 = app_settings::table.count().get_result(c).await?;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    diesel::insert_into(app_settings::table)
                        .values((app_settings::key.eq(format!("k{i}")), app_settings::value.eq(n.to_string())))
                        .execute(c)
                        .await?;
                    Ok::<_, DbError>(())
                })
            }));
        }
        for t in tasks {
            t.await.unwrap().expect("no SQLITE_BUSY");
        }
        let mut conn = db.pool.get().await.unwrap();
        let counts: Vec<String> = with_db!(&mut conn, c => app_settings::table
            .filter(app_settings::key.like("k%"))
            .select(app_settings::value)
            .order(app_settings::value)
            .load(c)
            .await)
        .unwrap();
        // Each transaction saw the rows of the ones before it: 1, 2, …, 8 settings existed.
        assert_eq!(counts, (1..=8).map(|n: i64| n.to_string()).collect::<Vec<_>>());
    }
}
