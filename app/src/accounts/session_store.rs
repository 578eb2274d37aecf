//! A tower-sessions store on our Diesel pool, for both backends: sessions survive restarts and
//! are shared by every app server on the same database. No maintained Diesel store exists.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::db::schema::sessions;
use crate::db::{with_db, DbConn, DbError, DbPool};

#[derive(Clone)]
pub struct DieselSessionStore {
    pool: DbPool,
}

impl std::fmt::Debug for DieselSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselSessionStore").field("backend", &self.pool.backend()).finish()
    }
}

impl DieselSessionStore {
    pub fn new(pool: DbPool) -> Self {
        DieselSessionStore { pool }
    }

    async fn conn(&self) -> session_store::Result<crate::db::DbConn> {
        self.pool.get().await.map_err(backend_error)
    }
}

fn backend_error(err: DbError) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn to_naive(t: time::OffsetDateTime) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default().naive_utc()
}

use crate::clock::now;

/// Ends the sessions of `user_id` (all but `keep`, if given) inside the caller's transaction:
/// the account was deactivated, deleted or given a new password.
pub async fn end_sessions(c: &mut DbConn, user_id: i64, keep: Option<&str>) -> QueryResult<usize> {
    with_db!(c, c => {
        let mine = sessions::table.filter(sessions::user_id.eq(user_id));
        match keep {
            Some(keep) => diesel::delete(mine.filter(sessions::id.ne(keep))).execute(c).await,
            None => diesel::delete(mine).execute(c).await,
        }
    })
}

/// Whose session this is (axum-login keeps the user id in its own entry), so that all of a
/// user's sessions can be ended at once.
fn owner(record: &Record) -> Option<i64> {
    record.data.get("axum-login.data")?.get("user_id")?.as_i64()
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DieselSessionStore {
    /// Inserts a new record; on the (astronomically rare) id collision, draws a new id.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut conn = self.conn().await?;
        loop {
            let (id, data, expires) = (record.id.to_string(), encode(record)?, to_naive(record.expiry_date));
            let user_id = owner(record);
            let inserted = conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
                let n = diesel::insert_into(sessions::table)
                    .values((sessions::id.eq(&id), sessions::data.eq(&data), sessions::expires_at.eq(expires), sessions::user_id.eq(user_id)))
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
                Ok::<_, DbError>(n)
            }))
        .await
            .map_err(backend_error)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut conn = self.conn().await?;
        let (id, data, expires) = (record.id.to_string(), encode(record)?, to_naive(record.expiry_date));
        let user_id = owner(record);
        conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
            diesel::insert_into(sessions::table)
                .values((sessions::id.eq(&id), sessions::data.eq(&data), sessions::expires_at.eq(expires), sessions::user_id.eq(user_id)))
                .on_conflict(sessions::id)
                .do_update()
                .set((
                    sessions::data.eq(excluded(sessions::data)),
                    sessions::expires_at.eq(excluded(sessions::expires_at)),
                    sessions::user_id.eq(excluded(sessions::user_id)),
                ))
                .execute(c)
                .await?;
            Ok::<_, DbError>(())
        }))
        .await
        .map_err(backend_error)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.conn().await?;
        let id = id.to_string();
        let now = now();
        let data: Option<Vec<u8>> = with_db!(&mut conn, c => sessions::table
            .filter(sessions::id.eq(&id).and(sessions::expires_at.gt(now)))
            .select(sessions::data)
            .first(c)
            .await
            .optional())
        .map_err(|e| backend_error(e.into()))?;
        data.map(|bytes| {
            rmp_serde::from_slice(&bytes).map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut conn = self.conn().await?;
        let id = id.to_string();
        conn.write_tx(async |c: &mut DbConn| {
            with_db!(c, c => {
                diesel::delete(sessions::table.find(&id)).execute(c).await?;
                Ok::<_, DbError>(())
            })
        })
        .await
        .map_err(backend_error)
    }
}

#[async_trait]
impl ExpiredDeletion for DieselSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let mut conn = self.conn().await?;
        let now = now();
        conn.write_tx(async |c: &mut DbConn| {
            with_db!(c, c => {
                diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(c).await?;
                Ok::<_, DbError>(())
            })
        })
        .await
        .map_err(backend_error)?;
        // Throttling only looks back one hour; older failures are dead weight.
        super::repo::prune_failures(&mut conn, now - chrono::Duration::hours(1))
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    fn record(expires_in: time::Duration) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("greeting".to_owned(), serde_json::json!({"hello": "wörld", "n": 3}));
        Record { id: Id::default(), data, expiry_date: time::OffsetDateTime::now_utc() + expires_in }
    }

    async fn count(store: &DieselSessionStore) -> i64 {
        let mut conn = store.conn().await.unwrap();
        with_db!(&mut conn, c => sessions::table.count().get_result::<i64>(c).await).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sessions_are_created_loaded_saved_and_deleted() {
        for db in each_backend().await {
            let name = db.backend().name();
            let store = DieselSessionStore::new(db.pool.clone());
            let mut rec = record(time::Duration::hours(1));
            SessionStore::create(&store, &mut rec).await.unwrap();
            let loaded = SessionStore::load(&store, &rec.id).await.unwrap().expect("created session loads");
            assert_eq!(loaded.data, rec.data, "{name}");

            rec.data.insert("more".into(), serde_json::json!(true));
            SessionStore::save(&store, &rec).await.unwrap();
            assert_eq!(SessionStore::load(&store, &rec.id).await.unwrap().unwrap().data.len(), 2, "{name}");

            // Creating a record whose id is taken draws a fresh id instead of overwriting.
            let mut clash = record(time::Duration::hours(1));
            clash.id = rec.id;
            SessionStore::create(&store, &mut clash).await.unwrap();
            assert_ne!(clash.id, rec.id, "{name}");
            assert_eq!(SessionStore::load(&store, &rec.id).await.unwrap().unwrap().data.len(), 2, "{name}");

            SessionStore::delete(&store, &rec.id).await.unwrap();
            assert!(SessionStore::load(&store, &rec.id).await.unwrap().is_none(), "{name}");
            assert!(SessionStore::load(&store, &Id::default()).await.unwrap().is_none(), "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn expired_sessions_do_not_load_and_are_cleaned_up() {
        for db in each_backend().await {
            let name = db.backend().name();
            let store = DieselSessionStore::new(db.pool.clone());
            let mut live = record(time::Duration::hours(1));
            let mut dead = record(time::Duration::seconds(-5));
            SessionStore::create(&store, &mut live).await.unwrap();
            SessionStore::create(&store, &mut dead).await.unwrap();
            assert!(
                SessionStore::load(&store, &dead.id).await.unwrap().is_none(),
                "{name}: expired sessions never load"
            );
            assert_eq!(count(&store).await, 2, "{name}");
            store.delete_expired().await.unwrap();
            assert_eq!(count(&store).await, 1, "{name}");
            assert!(SessionStore::load(&store, &live.id).await.unwrap().is_some(), "{name}");
        }
    }
}
