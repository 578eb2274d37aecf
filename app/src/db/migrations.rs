//! Applying the embedded migrations safely when several app servers start at the same moment:
//! one migrates while the others wait, then find nothing pending.
//!
//! PostgreSQL: a session advisory lock around the whole run (Diesel runs each migration in a
//! transaction of its own, so a transaction-scoped lock would not cover the run). SQLite: the run
//! is one `BEGIN IMMEDIATE` transaction, so the second process waits for the write lock on its
//! busy timeout; Diesel's per-migration transactions become savepoints inside it.

use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, SimpleAsyncConnection, TransactionManager};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use super::{
    Backend, Connection, DbConn, DbError, DbPool, PgConn, SqliteConn, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS,
};

/// The first key of the PostgreSQL advisory lock; the second is the schema's, so servers of
/// different schemas on one database (tests, shared servers) do not wait for each other.
/// (Migration 6 takes the single-key lock 7262865, another key space.)
const LOCK_CLASS: i32 = 7262866;

/// How long a SQLite server waits for another one's migrations before giving up.
const SQLITE_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

fn lock_args() -> String {
    format!("{LOCK_CLASS}, hashtext(coalesce(current_schema(), ''))")
}

/// Applies pending migrations and returns the versions applied now.
///
/// The harness blocks its thread (Diesel's migrations are synchronous), so it needs the
/// multi-threaded tokio runtime, which the server and the tests use.
pub(super) async fn run_pending(pool: &DbPool) -> Result<Vec<String>, DbError> {
    match checkout(pool).await?.conn {
        Connection::Sqlite(conn) => sqlite(conn).await,
        Connection::Postgres(conn) => postgres(conn).await,
    }
}

/// A connection for the run. Two servers opening a new SQLite file at the same moment both
/// switch it to WAL, and the one that loses is told "database is locked" at once, without waiting
/// on the busy timeout: it tries again (the file is in WAL mode by then).
async fn checkout(pool: &DbPool) -> Result<DbConn, DbError> {
    let started = std::time::Instant::now();
    loop {
        match pool.get().await {
            Err(DbError::Unreachable(message))
                if pool.backend() == Backend::Sqlite
                    && message.contains("database is locked")
                    && started.elapsed() < SQLITE_WAIT_LIMIT =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Runs the harness on `conn` off the async threads, and hands the connection back.
fn harness<C>(conn: C, migrations: EmbeddedMigrations) -> (C, Result<Vec<String>, DbError>)
where
    C: AsyncConnection + 'static,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    tokio::task::block_in_place(|| {
        let mut harness = AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(migrations)
            .map(|v| v.iter().map(ToString::to_string).collect())
            .map_err(|e| DbError::Migration(e.to_string()));
        (harness.into_inner(), applied)
    })
}

async fn postgres(mut conn: Object<PgConn>) -> Result<Vec<String>, DbError> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({})", lock_args())).await?;
    let (mut conn, applied) = harness(conn, POSTGRES_MIGRATIONS);
    if conn.batch_execute(&format!("SELECT pg_advisory_unlock({})", lock_args())).await.is_err() {
        // The lock belongs to the session: closing the connection releases it, where returning it
        // to the pool would keep every other server waiting.
        drop(Object::take(conn));
    }
    applied
}

async fn sqlite(mut conn: Object<SqliteConn>) -> Result<Vec<String>, DbError> {
    type Tm = <SqliteConn as AsyncConnection>::TransactionManager;
    // Through the connection's transaction manager, so that Diesel's own transactions nest. Each
    // try waits the busy timeout; another server's long migration is waited for, up to a limit.
    let started = std::time::Instant::now();
    loop {
        let begun = conn
            .spawn_blocking(|c| {
                diesel::connection::AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
            })
            .await;
        match begun {
            Ok(()) => break,
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("locked") && started.elapsed() < SQLITE_WAIT_LIMIT =>
            {
                tracing::info!("another server is migrating the database; waiting");
            }
            Err(err) => return Err(err.into()),
        }
    }
    let (mut conn, applied) = harness(conn, SQLITE_MIGRATIONS);
    match applied {
        Ok(versions) => {
            Tm::commit_transaction(&mut *conn).await?;
            Ok(versions)
        }
        Err(err) => {
            if Tm::rollback_transaction(&mut *conn).await.is_err() {
                drop(Object::take(conn));
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};

    use super::super::{testing, DbPool, PgConn, PoolOptions};

    /// Two app servers starting at once on `url`: separate pools, migrating concurrently.
    async fn two_servers_migrate(url: &str) -> (Vec<String>, Vec<String>) {
        let options = PoolOptions { max_connections: 2, ..PoolOptions::default() };
        let pools =
            [DbPool::connect(Some(url), &options).unwrap(), DbPool::connect(Some(url), &options).unwrap()];
        let tasks = pools.map(|pool| tokio::spawn(async move { pool.migrate().await }));
        let [a, b] = tasks;
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        (a.expect("the first server migrates"), b.expect("the second server migrates"))
    }

    /// One of them applied every migration, the other none; the database recorded each once.
    async fn applied_once(url: &str, (a, b): (Vec<String>, Vec<String>), all: usize, backend: &str) {
        let (applied, nothing) = if a.is_empty() { (b, a) } else { (a, b) };
        assert_eq!((applied.len(), nothing.len()), (all, 0), "{backend}: {applied:?} / {nothing:?}");
        let pool = DbPool::connect(Some(url), &PoolOptions::default()).unwrap();
        let mut conn = pool.get().await.unwrap();
        let recorded: i64 = {
            use super::super::schema::__diesel_schema_migrations::dsl::*;
            use diesel::QueryDsl;
            use diesel_async::RunQueryDsl;
            crate::with_db!(&mut conn, c => __diesel_schema_migrations.count().get_result(c).await).unwrap()
        };
        assert_eq!(recorded, all as i64, "{backend}");
    }

    fn migration_count(migrations: diesel_migrations::EmbeddedMigrations) -> usize {
        use diesel::migration::MigrationSource;
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&migrations).unwrap().len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_servers_starting_at_once_apply_the_migrations_once_on_sqlite() {
        let all = migration_count(super::SQLITE_MIGRATIONS);
        for round in 0..10 {
            let dir = std::env::temp_dir();
            let path = dir.join(format!("crm_migrate_race_{}_{round}.sqlite3", std::process::id()));
            let url = path.display().to_string();
            let outcome = two_servers_migrate(&url).await;
            applied_once(&url, outcome, all, "SQLite").await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{url}{suffix}"));
            }
        }
    }

    /// A writer holding the lock for longer than the busy timeout (a long migration elsewhere)
    /// makes a starting server wait, not fail.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_sqlite_server_waits_out_a_long_write_lock() {
        let path = std::env::temp_dir().join(format!("crm_migrate_wait_{}.sqlite3", std::process::id()));
        let url = path.display().to_string();
        let options = PoolOptions { max_connections: 1, ..PoolOptions::default() };
        let holder = DbPool::connect(Some(&url), &options).unwrap();
        let mut conn = holder.get().await.unwrap();
        crate::with_db!(&mut conn, c => c.batch_execute("BEGIN IMMEDIATE").await).unwrap();
        let starting = DbPool::connect(Some(&url), &options).unwrap();
        let migrating = tokio::spawn(async move { starting.migrate().await });
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        assert!(!migrating.is_finished(), "the migration waited for the lock");
        crate::with_db!(&mut conn, c => c.batch_execute("COMMIT").await).unwrap();
        let applied = migrating.await.unwrap().expect("migrated once the lock was free");
        assert_eq!(applied.len(), migration_count(super::SQLITE_MIGRATIONS));
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{url}{suffix}"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_servers_starting_at_once_apply_the_migrations_once_on_postgres() {
        let base =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| testing::DEFAULT_TEST_POSTGRES_URL.into());
        let Ok(mut admin) = PgConn::establish(&base).await else {
            assert!(std::env::var_os("CI").is_none(), "PostgreSQL at {base} is required in CI");
            eprintln!("!!!!!!!! PostgreSQL migration race test SKIPPED: no server at {base}");
            return;
        };
        let all = migration_count(super::POSTGRES_MIGRATIONS);
        for round in 0..3 {
            let schema = format!("crm_migrate_race_{}_{round}", std::process::id());
            admin
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            let outcome = two_servers_migrate(&url).await;
            applied_once(&url, outcome, all, "PostgreSQL").await;
            admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
        }
    }
}
