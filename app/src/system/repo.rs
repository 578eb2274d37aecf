//! Settings and schema information, for both backends.

use chrono::TimeZone;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use super::StatusReport;
use crate::clock::Clock;
use crate::db::schema::{__diesel_schema_migrations, app_settings};
use crate::db::{with_db, DbConn, DbError};

pub const ORGANIZATION_NAME: &str = "organization_name";
pub const DEFAULT_ORGANIZATION_NAME: &str = "Your company";

pub async fn get_setting(conn: &mut DbConn, key: &str) -> Result<Option<String>, DbError> {
    let value = with_db!(conn, c => app_settings::table
        .find(key)
        .select(app_settings::value)
        .first::<String>(c)
        .await
        .optional())?;
    Ok(value)
}

/// The setting `key`, written as `value` first if it has none: of several servers asking at
/// once, the first one's value is everybody's.
pub async fn setting_or_insert(conn: &mut DbConn, key: &str, value: &str) -> Result<String, DbError> {
    let now = crate::clock::now();
    conn.write_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::insert_into(app_settings::table)
            .values((app_settings::key.eq(key), app_settings::value.eq(value), app_settings::updated_at.eq(now)))
            .on_conflict(app_settings::key)
            .do_nothing()
            .execute(c)
            .await)?;
        Ok::<_, DbError>(())
    })
    .await?;
    Ok(get_setting(conn, key).await?.unwrap_or_else(|| value.to_owned()))
}

/// Creates or replaces one setting.
pub async fn put_setting(conn: &mut DbConn, key: &str, value: &str) -> Result<(), DbError> {
    conn.write_tx(async |c: &mut DbConn| write_setting(c, key, value).await).await
}

/// Creates or replaces one setting inside the caller's write transaction, so that several
/// settings change together.
pub async fn write_setting(conn: &mut DbConn, key: &str, value: &str) -> Result<(), DbError> {
    let now = crate::clock::now();
    with_db!(conn, c => diesel::insert_into(app_settings::table)
        .values((app_settings::key.eq(key), app_settings::value.eq(value), app_settings::updated_at.eq(now)))
        .on_conflict(app_settings::key)
        .do_update()
        .set((app_settings::value.eq(excluded(app_settings::value)), app_settings::updated_at.eq(now)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn schema_version(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    let version = with_db!(conn, c => __diesel_schema_migrations::table
        .select(diesel::dsl::max(__diesel_schema_migrations::version))
        .first::<Option<String>>(c)
        .await)?;
    Ok(version)
}

pub async fn status(conn: &mut DbConn) -> Result<StatusReport, DbError> {
    let organization_name =
        get_setting(conn, ORGANIZATION_NAME).await?.unwrap_or_else(|| DEFAULT_ORGANIZATION_NAME.to_owned());
    Ok(StatusReport {
        organization_name,
        database: Some(conn.backend().name().to_owned()),
        schema_version: schema_version(conn).await?,
        checked_at: checked_at(&conn.clock()),
    })
}

/// Now in the organisation's zone and date format, to the millisecond: two checks a moment
/// apart differ.
fn checked_at(clock: &Clock) -> String {
    let at = clock.tz.from_utc_datetime(&crate::clock::now());
    format!("{} {}", at.format(clock.date_format.pattern()), at.format("%H:%M:%S%.3f %Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    fn latest_migration() -> String {
        use diesel::migration::MigrationSource;
        let migrations =
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&crate::db::SQLITE_MIGRATIONS).unwrap();
        migrations.iter().map(|m| m.name().version().to_string()).max().unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn settings_round_trip_on_every_backend() {
        for db in each_backend().await {
            let mut conn = db.pool.get().await.unwrap();
            let name = db.backend().name();
            assert_eq!(
                get_setting(&mut conn, ORGANIZATION_NAME).await.unwrap().as_deref(),
                Some("Your company"),
                "{name}: the migration seeds the organization name"
            );
            put_setting(&mut conn, ORGANIZATION_NAME, "Acme Plumbing").await.unwrap();
            put_setting(&mut conn, ORGANIZATION_NAME, "Acme Plumbing & Heating").await.unwrap();
            assert_eq!(
                get_setting(&mut conn, ORGANIZATION_NAME).await.unwrap().as_deref(),
                Some("Acme Plumbing & Heating"),
                "{name}: the second write replaces the first"
            );
            assert_eq!(get_setting(&mut conn, "missing").await.unwrap(), None, "{name}");

            let status = status(&mut conn).await.unwrap();
            assert_eq!(status.organization_name, "Acme Plumbing & Heating", "{name}");
            assert_eq!(status.database.as_deref(), Some(name));
            assert_eq!(status.schema_version, Some(latest_migration()), "{name}");
        }
    }
}
