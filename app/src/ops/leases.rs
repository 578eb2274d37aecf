//! Leases: a named job runs on the one server that holds its lease. Every server ticks at the
//! job's period and tries to claim; the claim is one conditional write, so two servers racing
//! for it cannot both win, and a holder that stopped loses its lease when it expires.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::leases;
use crate::db::{with_db, DbConn, DbError};

/// How long past one period a lease outlives its holder: a tick that comes a little late keeps
/// its own lease instead of handing the job to another server for no reason.
fn lifetime(period: Duration) -> chrono::Duration {
    chrono::Duration::from_std(period + period / 10).unwrap_or(chrono::Duration::hours(1))
}

/// Claims (or renews) the lease `name` for `holder` at `now`, for a little over `period`. True
/// when `holder` holds it now: nobody held it, its lease expired, or it already was `holder`'s.
pub async fn claim(
    conn: &mut DbConn,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
    period: Duration,
) -> Result<bool, DbError> {
    let until = now + lifetime(period);
    let taken = with_db!(conn, c => diesel::update(
        leases::table.filter(
            leases::name.eq(name).and(leases::expires_at.le(now).or(leases::holder.eq(holder))),
        ),
    )
    .set((leases::holder.eq(holder), leases::expires_at.eq(until)))
    .execute(c)
    .await)?;
    if taken == 1 {
        return Ok(true);
    }
    let inserted = with_db!(conn, c => diesel::insert_into(leases::table)
        .values((leases::name.eq(name), leases::holder.eq(holder), leases::expires_at.eq(until)))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(inserted == 1)
}

/// Who holds `name` and until when, if anybody ever claimed it.
pub async fn holder(conn: &mut DbConn, name: &str) -> Result<Option<(String, NaiveDateTime)>, DbError> {
    Ok(with_db!(conn, c => leases::table
        .filter(leases::name.eq(name))
        .select((leases::holder, leases::expires_at))
        .first(c)
        .await
        .optional())?)
}
