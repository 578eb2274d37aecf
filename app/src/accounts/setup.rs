//! The first administrator of a new installation: whoever holds a setup code, which a server
//! writes to its log when it starts with no administrator. Registering first is not enough: on
//! a new installation reachable from the network, anybody could be first.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::{setup_codes, users};
use crate::db::{with_db, DbConn, DbError};

/// How long a setup code works (each start of a server with no administrator makes a new one).
pub const SETUP_CODE_HOURS: i64 = 24;

fn digest(code: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(code.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the installation has an active administrator.
pub async fn has_administrator(conn: &mut DbConn) -> Result<bool, DbError> {
    let admins: i64 = with_db!(conn, c => users::table
        .filter(users::is_admin.eq(true).and(users::is_active.eq(true)))
        .count()
        .get_result(c)
        .await)?;
    Ok(admins > 0)
}

/// A new setup code when there is no administrator yet (for the log), `None` otherwise. Only its
/// digest is stored; several servers starting at once each get one of their own.
pub async fn issue_code(conn: &mut DbConn, now: NaiveDateTime) -> Result<Option<String>, DbError> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    if has_administrator(conn).await? {
        return Ok(None);
    }
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let code: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = digest(&code);
    conn.write_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::delete(setup_codes::table.filter(setup_codes::expires_at.le(now))).execute(c).await)?;
        with_db!(c, c => diesel::insert_into(setup_codes::table)
            .values((
                setup_codes::code_hash.eq(&hash),
                setup_codes::expires_at.eq(now + chrono::Duration::hours(SETUP_CODE_HOURS)),
            ))
            .execute(c)
            .await)?;
        Ok::<_, DbError>(())
    })
    .await?;
    Ok(Some(code))
}

/// Inside the transaction that creates the first administrator (after
/// `one_at_a_time(TxLock::Administrators)`): whether `code` is a live setup code. If it is,
/// every code is used up, so a second registration racing this one finds none.
pub(crate) async fn claim_code(c: &mut DbConn, code: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let hash = digest(code);
    let claimed = with_db!(c, c => diesel::delete(
        setup_codes::table.filter(setup_codes::code_hash.eq(&hash)).filter(setup_codes::expires_at.gt(now)),
    )
    .execute(c)
    .await)?;
    if claimed == 1 {
        discard_codes(c).await?;
    }
    Ok(claimed == 1)
}

/// Every setup code stops working: an administrator exists now.
pub(crate) async fn discard_codes(c: &mut DbConn) -> QueryResult<usize> {
    with_db!(c, c => diesel::delete(setup_codes::table).execute(c).await)
}
