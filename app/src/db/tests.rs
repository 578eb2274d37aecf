//! The pool, transactions and migrations on both backends.

use diesel_async::RunQueryDsl;

use std::time::Duration;

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
            conn.write_tx(async |c: &mut DbConn| {
                let n: i64 = with_db!(c, c => app_settings::table.count().get_result(c).await)?;
                tokio::time::sleep(Duration::from_millis(5)).await;
                with_db!(c, c => diesel::insert_into(app_settings::table)
                    .values((app_settings::key.eq(format!("k{i}")), app_settings::value.eq(n.to_string())))
                    .execute(c)
                    .await)?;
                Ok::<_, DbError>(())
            })
            .await
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

/// The threat: a loop of short write transactions (a type change converting a field's values a
/// batch at a time) starves a person's save on SQLite, whose busy handler sleeps and retries
/// instead of queueing, so the save can lose the lock to every next batch. Writers of one
/// server take turns: a save that arrives while a batch runs goes right after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_save_beside_a_loop_of_batches_waits_for_one_batch_on_sqlite() {
    use crate::db::schema::app_settings;
    use diesel::ExpressionMethods;
    use std::sync::{Arc, Mutex};
    let db = testing::sqlite().await;
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let write = async |c: &mut DbConn, key: String, order: &Mutex<Vec<String>>| {
        c.write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::insert_into(app_settings::table)
                .values((app_settings::key.eq(&key), app_settings::value.eq("x")))
                .execute(c)
                .await)?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            order.lock().unwrap().push(key.clone());
            Ok::<_, DbError>(())
        })
        .await
        .unwrap()
    };
    let batches = {
        let (pool, order) = (db.pool.clone(), Arc::clone(&order));
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            for i in 0..30 {
                write(&mut conn, format!("batch {i}"), &order).await;
            }
        })
    };
    // The save comes while the loop is under way.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut conn = db.pool.get().await.unwrap();
    write(&mut conn, "save".into(), &order).await;
    batches.await.unwrap();
    let order = order.lock().unwrap().clone();
    let at = order.iter().position(|k| k == "save").unwrap();
    assert!(at <= 4, "the save went in after {at} batches: {order:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_inside_a_transaction_rolls_back_everything_it_wrote() {
    use crate::db::schema::app_settings;
    use diesel::{ExpressionMethods, QueryDsl};
    for db in testing::each_backend().await {
        let mut conn = db.pool.get().await.unwrap();
        let result: Result<(), DbError> = conn
            .contacts_tx(async |c: &mut DbConn| {
                with_db!(c, c => diesel::insert_into(app_settings::table)
                    .values((app_settings::key.eq("half-done"), app_settings::value.eq("x")))
                    .execute(c)
                    .await)?;
                Err(DbError::Config("stop".into()))
            })
            .await;
        assert!(result.is_err());
        let n: i64 = with_db!(&mut conn, c => app_settings::table
            .filter(app_settings::key.eq("half-done"))
            .count()
            .get_result(c)
            .await)
        .unwrap();
        assert_eq!(n, 0, "{}: the insert was rolled back", db.backend().name());
        let before = data_version(&mut conn, "contacts").await.unwrap().1;
        conn.contacts_tx(async |_: &mut DbConn| Ok::<_, DbError>(())).await.unwrap();
        let after = data_version(&mut conn, "contacts").await.unwrap().1;
        assert!(
            after > before,
            "{}: a committed contacts transaction moves the counter",
            db.backend().name()
        );
        // The connection is usable again for a new transaction.
        conn.write_tx(async |_: &mut DbConn| Ok::<_, DbError>(())).await.unwrap();
    }
}

/// Rows named before the folded keys existed got SQL's `lower()` as their key, which on SQLite
/// left "Ärzte" as "Ärzte": migrating again refolds them, so the tag is found as "ärzte"; a name
/// that now folds like another's keeps its key rather than break the unique index.
#[tokio::test(flavor = "multi_thread")]
async fn migrating_refolds_the_keys_sql_lower_left_behind() {
    use crate::db::schema::tags;
    use diesel::{ExpressionMethods, QueryDsl};
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        for (tag, key) in [("Ärzte", "Ärzte"), ("ÄRZTE", "ÄRZTE"), ("École", "École")] {
            with_db!(&mut conn, c => diesel::insert_into(tags::table)
                .values((tags::name.eq(tag), tags::name_key.eq(key)))
                .execute(c)
                .await)
            .unwrap();
        }
        db.pool.migrate().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let keys: Vec<(String, String)> = with_db!(&mut conn, c => tags::table
            .select((tags::name, tags::name_key))
            .order(tags::id)
            .load(c)
            .await)
        .unwrap();
        assert_eq!(
            keys,
            [("Ärzte", "ärzte"), ("ÄRZTE", "ÄRZTE"), ("École", "école")]
                .map(|(n, k)| (n.to_owned(), k.to_owned()))
                .to_vec(),
            "{name}"
        );
    }
}

/// SQLite's `lower()` folds ASCII alone and PostgreSQL's follows the database's collation (this
/// server's "C.UTF-8" folds ASCII alone too): text compared without a stored key is folded by
/// `folded`, which must agree with the Rust `fold` every key is made with, on both backends.
#[tokio::test(flavor = "multi_thread")]
async fn text_folded_in_sql_agrees_with_the_crm_fold_on_both_backends() {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Text};
    use diesel::IntoSql;
    let samples = [
        "ÄRZTE",
        "  Müller ",
        "ÉCOLE",
        "İstanbul",
        "ΟΔΟΣ",
        "Σίσυφος",
        "STRAßE",
        "Łódź",
        "ДОСТОЕВСКИЙ",
        "東京",
        "😀 Émoji",
        "ǅemal",
        "ÅSA",
        "plain",
    ];
    for db in testing::each_backend().await {
        let mut conn = db.pool.get().await.unwrap();
        for sample in samples {
            let got: Option<String> = with_db!(conn, c => diesel::select(folded(sample.into_sql::<Text>()))
                .get_result(c)
                .await)
            .unwrap();
            assert_eq!(got.as_deref(), Some(fold(sample).as_str()), "{}: {sample}", db.backend().name());
        }
        let null: Option<String> = with_db!(conn, c => diesel::select(folded(sql::<Nullable<Text>>("NULL")))
            .get_result(c)
            .await)
        .unwrap();
        assert_eq!(null, None, "{}", db.backend().name());
    }
}
