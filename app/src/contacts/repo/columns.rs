//! The contact list's columns each staff member picked, in their order.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::contact_list_columns;
use crate::db::{with_db, DbConn, DbError};
use crate::fields::{default_columns, FieldCatalog, BUILT_IN_COLUMNS};

/// Whether `key` names a column: a built-in one or `f.<key>` of an existing extra field.
fn is_column(catalog: &FieldCatalog, key: &str) -> bool {
    BUILT_IN_COLUMNS.iter().any(|(k, _)| *k == key)
        || key.strip_prefix("f.").is_some_and(|k| catalog.field(k).is_some())
}

/// The columns user `user_id` sees, in order: their choice (less fields deleted since), or the
/// built-in columns for someone who never chose.
pub async fn columns(
    conn: &mut DbConn,
    user_id: i64,
    catalog: &FieldCatalog,
) -> Result<Vec<String>, DbError> {
    let saved: Option<String> = with_db!(conn, c => contact_list_columns::table
        .find(user_id)
        .select(contact_list_columns::column_keys)
        .first(c)
        .await
        .optional())?;
    Ok(match saved {
        Some(saved) => saved.split(',').filter(|k| is_column(catalog, k)).map(str::to_owned).collect(),
        None => default_columns(),
    })
}

/// Saves user `user_id`'s columns (unknown keys and repeats left out).
pub async fn save_columns(
    conn: &mut DbConn,
    user_id: i64,
    catalog: &FieldCatalog,
    keys: &[String],
) -> Result<Vec<String>, DbError> {
    let mut kept: Vec<String> = Vec::new();
    for key in keys {
        if is_column(catalog, key) && !kept.contains(key) {
            kept.push(key.clone());
        }
    }
    let joined = kept.join(",");
    // One transaction: two tabs saving at once leave one choice, not an error.
    conn.write_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::delete(contact_list_columns::table.find(user_id)).execute(c).await)?;
        with_db!(c, c => diesel::insert_into(contact_list_columns::table)
            .values((contact_list_columns::user_id.eq(user_id), contact_list_columns::column_keys.eq(&joined)))
            .execute(c)
            .await)
    })
    .await?;
    Ok(kept)
}
