//! Write transactions on either backend, as ordinary functions: the body gets the same
//! `&mut DbConn` every repository function takes, so helpers called inside a transaction are
//! plain `async fn`s.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, RunQueryDsl, TransactionManager};

use super::schema::data_versions;
use super::{Connection, DbConn, PgConn, SqliteConn};
use crate::with_db;

impl DbConn {
    /// Runs `f` in a write transaction; an `Err` rolls it back. On SQLite the transaction is
    /// `BEGIN IMMEDIATE`: it takes the write lock up front, so two read-then-write transactions
    /// queue on the busy timeout instead of one failing with SQLITE_BUSY when it tries to
    /// upgrade its read lock, and this server's writers take turns in the order they came
    /// (`Shared::sqlite_writers`). Transactions do not nest: helpers called inside one never
    /// open their own.
    ///
    /// If the returned future is dropped half-way the connection keeps an open transaction; the
    /// pool sees that on recycle and discards the connection.
    pub async fn write_tx<R, E, F>(&mut self, f: F) -> Result<R, E>
    where
        F: AsyncFnOnce(&mut DbConn) -> Result<R, E>,
        E: From<diesel::result::Error>,
    {
        if self.in_tx {
            // Not nested: on SQLite it would wait for its own turn, and nothing may be kept from
            // an outer transaction's reads either.
            return Err(diesel::result::Error::AlreadyInTransaction.into());
        }
        let _turn = self.sqlite_write_turn().await;
        self.begin_write().await?;
        self.in_tx = true;
        let result = match f(self).await {
            Ok(value) => self.commit().await.map(|()| value).map_err(E::from),
            Err(err) => {
                let _ = self.rollback().await;
                Err(err)
            }
        };
        self.in_tx = false;
        result
    }

    /// [`write_tx`](Self::write_tx) for a change to anything the contact list shows, filters or
    /// sorts by. The transaction first moves the contacts counter (`data_versions`; the
    /// triggers move it again), which on PostgreSQL takes the counter's row lock before any
    /// other: two such transactions then queue one behind the other instead of deadlocking over
    /// a lock each took first (a new tag's unique name, say).
    pub async fn contacts_tx<R, E, F>(&mut self, f: F) -> Result<R, E>
    where
        F: AsyncFnOnce(&mut DbConn) -> Result<R, E>,
        E: From<diesel::result::Error>,
    {
        self.write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::update(data_versions::table.filter(data_versions::name.eq("contacts")))
                .set(data_versions::version.eq(data_versions::version + 1))
                .execute(c)
                .await)?;
            f(c).await
        })
        .await
    }

    /// Inside a write transaction: makes the transactions that take the same `lock` run one
    /// after the other from here to their end, so a check they read ("another administrator
    /// remains", "no administrator yet") still holds when they write. PostgreSQL runs
    /// transactions side by side (READ COMMITTED): a transaction-scoped advisory lock, released
    /// at commit or rollback. SQLite's write transactions already run one at a time.
    pub async fn one_at_a_time(&mut self, lock: TxLock) -> diesel::QueryResult<()> {
        debug_assert!(self.in_tx, "one_at_a_time outside a write transaction");
        match &mut self.conn {
            Connection::Sqlite(_) => Ok(()),
            Connection::Postgres(conn) => {
                let conn: &mut PgConn = conn;
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(lock.key())
                    .execute(conn)
                    .await
                    .map(|_| ())
            }
        }
    }

    async fn begin_write(&mut self) -> diesel::QueryResult<()> {
        match &mut self.conn {
            Connection::Sqlite(conn) => {
                let conn: &mut SqliteConn = conn;
                conn.spawn_blocking(|c| {
                    diesel::connection::AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
                })
                .await
            }
            Connection::Postgres(conn) => PgTm::begin_transaction(&mut **conn).await,
        }
    }

    async fn commit(&mut self) -> diesel::QueryResult<()> {
        match &mut self.conn {
            Connection::Sqlite(conn) => SqliteTm::commit_transaction(&mut **conn).await,
            Connection::Postgres(conn) => PgTm::commit_transaction(&mut **conn).await,
        }
    }

    async fn rollback(&mut self) -> diesel::QueryResult<()> {
        match &mut self.conn {
            Connection::Sqlite(conn) => SqliteTm::rollback_transaction(&mut **conn).await,
            Connection::Postgres(conn) => PgTm::rollback_transaction(&mut **conn).await,
        }
    }
}

/// What [`DbConn::one_at_a_time`] serialises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxLock {
    /// Who is an administrator: the first one's creation and the last one's removal.
    Administrators,
    /// Counting and recording sign-in attempts (the throttle's check and count).
    SignInAttempts,
}

impl TxLock {
    /// The advisory lock's key on PostgreSQL ("CRM" and a number, clear of other software's).
    fn key(self) -> i64 {
        match self {
            TxLock::Administrators => 0x4352_4d00_0001,
            TxLock::SignInAttempts => 0x4352_4d00_0002,
        }
    }
}

type SqliteTm = <SqliteConn as AsyncConnection>::TransactionManager;
type PgTm = <PgConn as AsyncConnection>::TransactionManager;

/// The database's identity and the current value of the change counter `name` (see the
/// `data_versions` table): equal values mean nothing it counts has changed in between.
pub async fn data_version(conn: &mut DbConn, name: &str) -> diesel::QueryResult<(String, i64)> {
    with_db!(conn, c => data_versions::table
        .filter(data_versions::name.eq(name))
        .select((data_versions::instance, data_versions::version))
        .first(c)
        .await)
}
