//! Tags: found or created by name (one rule for case on both backends), counted, renamed,
//! merged and deleted.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::super::Choice;
use crate::db::schema::{contact_tags, tags};
use crate::db::{fold, with_db, DbConn, DbError};
use crate::error::AppError;

/// Tag names as a person typed them: trimmed, without empties or case-insensitive repeats.
pub fn clean_tag_names(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .iter()
        .map(|n| n.replace('\0', "").trim().to_owned())
        .filter(|n| !n.is_empty() && seen.insert(fold(n)))
        .collect()
}

/// The id of the tag called `name` in any case ("ärzte" finds "Ärzte"), created if there is
/// none; inside the caller's transaction.
pub async fn find_or_create_tag(c: &mut DbConn, name: &str) -> QueryResult<i64> {
    // A NUL cannot be stored on PostgreSQL; nobody can see it either.
    let name = name.replace('\0', "");
    let name = name.trim();
    let key = fold(name);
    let existing: Option<i64> = with_db!(c, c => tags::table
        .filter(tags::name_key.eq(&key))
        .select(tags::id)
        .first(c)
        .await
        .optional())?;
    match existing {
        Some(id) => Ok(id),
        None => with_db!(c, c => diesel::insert_into(tags::table)
            .values((tags::name.eq(name), tags::name_key.eq(&key)))
            .returning(tags::id)
            .get_result(c)
            .await),
    }
}

/// The id of the tag called `name` in any case, if there is one.
pub async fn find_tag(c: &mut DbConn, name: &str) -> QueryResult<Option<i64>> {
    let key = fold(name);
    with_db!(c, c => tags::table.filter(tags::name_key.eq(&key)).select(tags::id).first(c).await.optional())
}

/// Every tag with the number of contacts carrying it, by name (sorted here, by the folded name:
/// the backends' own orders of non-ASCII letters differ).
pub async fn tag_counts(conn: &mut DbConn) -> Result<Vec<(Choice, i64)>, DbError> {
    let mut all: Vec<(i64, String)> =
        with_db!(conn, c => tags::table.select((tags::id, tags::name)).load(c).await)?;
    all.sort_by_cached_key(|(id, name)| (fold(name), *id));
    let counts: Vec<(i64, i64)> = with_db!(conn, c => contact_tags::table
        .group_by(contact_tags::tag_id)
        .select((contact_tags::tag_id, diesel::dsl::count_star()))
        .load(c)
        .await)?;
    let counts: BTreeMap<i64, i64> = counts.into_iter().collect();
    Ok(all
        .into_iter()
        .map(|(id, name)| (Choice { id, name, color: None }, counts.get(&id).copied().unwrap_or(0)))
        .collect())
}

pub async fn rename_tag(conn: &mut DbConn, id: i64, name: &str) -> Result<(), AppError> {
    let name = name.replace('\0', "");
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Enter the new name."));
    }
    let key = fold(name);
    conn.write_tx(async |c: &mut DbConn| {
        let clash: i64 = with_db!(c, c => tags::table
            .filter(tags::name_key.eq(&key).and(tags::id.ne(id)))
            .count()
            .get_result(c)
            .await)?;
        if clash > 0 {
            return Err(AppError::invalid("name", "Another tag has this name: merge them instead."));
        }
        let n = with_db!(c, c => diesel::update(tags::table.find(id))
            .set((tags::name.eq(name), tags::name_key.eq(&key)))
            .execute(c)
            .await)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}

/// Deletes a tag; contacts lose it.
pub async fn delete_tag(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    conn.contacts_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::delete(contact_tags::table.filter(contact_tags::tag_id.eq(id))).execute(c).await)?;
        let n = with_db!(c, c => diesel::delete(tags::table.find(id)).execute(c).await)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}

/// Moves every contact of tag `from` to tag `into`, then deletes `from`.
pub async fn merge_tags(conn: &mut DbConn, from: i64, into: i64) -> Result<(), AppError> {
    if from == into {
        return Err(AppError::invalid("into", "Choose two different tags."));
    }
    conn.contacts_tx(async |c: &mut DbConn| {
        let both: i64 =
            with_db!(c, c => tags::table.filter(tags::id.eq_any([from, into])).count().get_result(c).await)?;
        if both != 2 {
            return Err(AppError::NotFound);
        }
        let already: Vec<i64> = with_db!(c, c => contact_tags::table
            .filter(contact_tags::tag_id.eq(into))
            .select(contact_tags::contact_id)
            .load(c)
            .await)?;
        let moving: Vec<i64> = with_db!(c, c => contact_tags::table
            .filter(contact_tags::tag_id.eq(from))
            .select(contact_tags::contact_id)
            .load(c)
            .await)?;
        for contact_id in moving.into_iter().filter(|id| !already.contains(id)) {
            with_db!(c, c => diesel::insert_into(contact_tags::table)
                .values((contact_tags::contact_id.eq(contact_id), contact_tags::tag_id.eq(into)))
                .execute(c)
                .await)?;
        }
        with_db!(c, c => diesel::delete(contact_tags::table.filter(contact_tags::tag_id.eq(from))).execute(c).await)?;
        with_db!(c, c => diesel::delete(tags::table.find(from)).execute(c).await)?;
        Ok(())
    })
    .await
}
