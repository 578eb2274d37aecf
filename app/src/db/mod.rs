//! Database access for both backends: the pool and its connections, write transactions, SQL
//! fragments written once, and migrations.
//!
//! This is the only module that names a backend. Repositories take `&mut DbConn`, write each
//! query once inside [`with_db!`], and run write transactions with [`DbConn::write_tx`] or
//! [`DbConn::contacts_tx`], whose bodies get the same `&mut DbConn`: every reusable helper is an
//! ordinary `async fn`.

pub mod batch;
mod keys;
mod migrations;
mod pool;
pub mod schema;
#[cfg(test)]
mod schema_check;
mod sql;
pub mod testing;
mod tx;

pub use crate::{insert_rows, with_db};
pub use pool::*;
pub use sql::{contains, fold, folded, like_pattern, lower, Contains, Folded};
pub use tx::{data_version, TxLock};

/// The rows to skip for 1-based `page` of `per_page` rows. A page far past the end (a link
/// edited by hand, `page=9223372036854775807`) skips everything rather than overflowing.
pub fn page_offset(page: i64, per_page: i64) -> i64 {
    (page.max(1) - 1).saturating_mul(per_page)
}

/// Runs `$body` with `$c` bound to the backend's concrete connection: the body is written once
/// and compiled for each backend. `$conn` is a `&mut DbConn`.
#[macro_export]
macro_rules! with_db {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut ($conn).conn {
            $crate::db::Connection::Sqlite(__obj) => {
                let $c: &mut $crate::db::SqliteConn = &mut **__obj;
                $body
            }
            $crate::db::Connection::Postgres(__obj) => {
                let $c: &mut $crate::db::PgConn = &mut **__obj;
                $body
            }
        }
    };
}

/// Inserts the rows of the slice `$rows` into `$table`: one multi-row `INSERT` on PostgreSQL,
/// where every statement is a network round trip; a statement per row on SQLite, which runs
/// in-process (and whose async wrapper has no multi-row `INSERT`). Evaluates to
/// `QueryResult<()>`; `$rows` must be `Insertable` by reference.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel_async::RunQueryDsl as _;
        let rows = $rows;
        match &mut ($conn).conn {
            $crate::db::Connection::Sqlite(__obj) => {
                let c: &mut $crate::db::SqliteConn = &mut **__obj;
                let mut result = Ok(());
                for row in rows {
                    if let Err(e) = diesel::insert_into($table).values(row).execute(c).await {
                        result = Err(e);
                        break;
                    }
                }
                result
            }
            $crate::db::Connection::Postgres(__obj) => {
                let c: &mut $crate::db::PgConn = &mut **__obj;
                if rows.is_empty() {
                    Ok(())
                } else {
                    diesel::insert_into($table).values(rows).execute(c).await.map(|_| ())
                }
            }
        }
    }};
}
#[cfg(test)]
mod tests;
