//! The folded `name_key` of every named list, kept in step with [`fold`] after migrating: SQL's
//! `lower()` filled the keys of rows that existed before the keys did, and on SQLite it folds
//! only ASCII ("Ärzte" got "Ärzte").

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{fold, with_db, DbConn, DbError};

/// Folds the key of every row whose key differs from its folded name, on each list. A row whose
/// folded name another row already has (two names SQLite's `lower()` told apart) keeps its key
/// and is logged: merging them is a person's decision.
pub async fn refold_name_keys(conn: &mut DbConn) -> Result<usize, DbError> {
    let mut changed = 0;
    macro_rules! refold {
        ($t:ident) => {{
            use super::schema::$t as t;
            let rows: Vec<(i64, String, String)> =
                with_db!(conn, c => t::table.select((t::id, t::name, t::name_key)).load(c).await)?;
            for (id, name, key) in rows {
                let folded = fold(&name);
                if folded == key {
                    continue;
                }
                let result = with_db!(conn, c => diesel::update(t::table.find(id))
                    .set(t::name_key.eq(&folded))
                    .execute(c)
                    .await);
                match result {
                    Ok(_) => changed += 1,
                    Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                        tracing::warn!(table = stringify!($t), id, name, "two entries now have the same name")
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }};
    }
    refold!(tags);
    refold!(contact_statuses);
    refold!(services);
    refold!(traffic_sources);
    refold!(staff_groups);
    Ok(changed)
}
