//! The contact list: a page of contacts matching a search and filters, in the order asked, and
//! the batches of the export; counts and orders kept in `list_cache` while nothing changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::super::{
    display_name, Choice, Contact, ContactPage, ContactQuery, ContactRow, SortKey, CONTACTS_PER_PAGE,
};
use super::get_many;
use crate::db::schema::{
    contact_services, contact_statuses, contact_tags, contacts, contacts_search, tags, users,
};
use crate::db::{lower, with_db, DbConn, DbError};

// The two query builders below stay macros: a Diesel boxed query is typed by its backend, and
// written as a function generic over the backend it would need a bound for every expression it
// uses. They only build a query; the code that runs it is an ordinary function.

/// The list's filters as a boxed query over `$from` (contacts, or contacts joined with more);
/// written once and used by the count, the list's order and the export.
macro_rules! filtered {
    ($query:expr, $from:expr) => {{
        let query: &ContactQuery = $query;
        let mut q = $from.into_boxed();
        if !query.search.trim().is_empty() {
            q = q.filter(
                contacts::id.eq_any(
                    contacts_search::table
                        .select(contacts_search::rowid)
                        .filter(crate::db::contains(contacts_search::search_text, &query.search)),
                ),
            );
        }
        if let Some(id) = query.status_id {
            q = q.filter(contacts::status_id.eq(id));
        }
        if let Some(id) = query.traffic_source_id {
            q = q.filter(contacts::traffic_source_id.eq(id));
        }
        if let Some(id) = query.owner_id {
            q = q.filter(contacts::owner_id.eq(id));
        }
        if let Some(id) = query.tag_id {
            q = q.filter(contacts::id.eq_any(
                contact_tags::table.filter(contact_tags::tag_id.eq(id)).select(contact_tags::contact_id),
            ));
        }
        if let Some(id) = query.service_id {
            q = q.filter(
                contacts::id.eq_any(
                    contact_services::table
                        .filter(contact_services::service_id.eq(id))
                        .select(contact_services::contact_id),
                ),
            );
        }
        q
    }};
}

/// `filtered!` in the list's order (ties broken by id, so pages are stable), over contacts
/// joined with their status for the sort by status (unused, the join costs nothing).
macro_rules! sorted {
    ($query:expr) => {{
        let query: &ContactQuery = $query;
        let q = filtered!(query, contacts::table.left_join(contact_statuses::table));
        match (query.sort, query.descending) {
            (SortKey::Name, false) => q.order((
                lower(contacts::last_name).asc(),
                lower(contacts::first_name).asc(),
                contacts::id.asc(),
            )),
            (SortKey::Name, true) => q.order((
                lower(contacts::last_name).desc(),
                lower(contacts::first_name).desc(),
                contacts::id.desc(),
            )),
            (SortKey::Email, false) => q.order((contacts::email.asc(), contacts::id.asc())),
            (SortKey::Email, true) => q.order((contacts::email.desc(), contacts::id.desc())),
            (SortKey::Company, false) => q.order((lower(contacts::company).asc(), contacts::id.asc())),
            (SortKey::Company, true) => q.order((lower(contacts::company).desc(), contacts::id.desc())),
            // Contacts without a status come last either way (the backends disagree on NULLs).
            (SortKey::Status, false) => q.order((
                contacts::status_id.is_null().asc(),
                contact_statuses::position.nullable().asc(),
                contacts::id.asc(),
            )),
            (SortKey::Status, true) => q.order((
                contacts::status_id.is_null().asc(),
                contact_statuses::position.nullable().desc(),
                contacts::id.desc(),
            )),
            (SortKey::Updated, false) => q.order((contacts::updated_at.asc(), contacts::id.asc())),
            (SortKey::Updated, true) => q.order((contacts::updated_at.desc(), contacts::id.desc())),
        }
    }};
}

type ListRow = (
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<String>,
);

/// One page of contacts matching `query`, sorted as asked.
///
/// The count and the order of the first pages come from the server's list cache while no
/// contact has changed (see `list_cache`); the rows themselves are always read fresh.
pub async fn list(conn: &mut DbConn, query: &ContactQuery) -> Result<ContactPage, DbError> {
    use super::super::list_cache::{self, KEPT_IDS, MAX_KEPT_IDS};
    let page = query.page.max(1);
    let offset = (page - 1).saturating_mul(CONTACTS_PER_PAGE);
    let end = offset.saturating_add(CONTACTS_PER_PAGE);
    let (instance, version) = crate::db::data_version(conn, "contacts").await?;
    let kept = list_cache::get(&instance, version, query);
    let total = match &kept {
        Some(kept) => kept.total,
        None => with_db!(conn, c => filtered!(query, contacts::table).count().get_result::<i64>(c).await)?,
    };
    let reach = end.min(total);
    let ids: Vec<i64> = match kept {
        // Past the end of the list: nothing to read.
        _ if offset >= total => Vec::new(),
        // The kept ids reach this page (or the end of the list before it).
        Some(kept) if kept.ids.len() as i64 >= reach => page_of(&kept.ids, offset),
        // A new list, or a page past the kept ids: read the ids up to this page, in steps of
        // KEPT_IDS, and keep them for the pages around it.
        _ if end <= MAX_KEPT_IDS => {
            let wanted = (end + KEPT_IDS - 1) / KEPT_IDS * KEPT_IDS;
            let ids: Vec<i64> =
                with_db!(conn, c => sorted!(query).select(contacts::id).limit(wanted).load(c).await)?;
            let page = page_of(&ids, offset);
            list_cache::put(&instance, version, query, Arc::new(list_cache::List { total, ids }));
            page
        }
        // Deeper than any list keeps: this page alone.
        _ => with_db!(conn, c => sorted!(query)
            .select(contacts::id)
            .limit(CONTACTS_PER_PAGE)
            .offset(offset)
            .load(c)
            .await)?,
    };
    // The page's contacts with status, owner and tags in one query: a row per tag (or one
    // without), gathered here in the page's order.
    let rows: Vec<ListRow> = with_db!(conn, c => contacts::table
        .left_join(contact_statuses::table)
        .left_join(users::table.on(contacts::owner_id.eq(users::id.nullable())))
        .left_join(contact_tags::table)
        .left_join(tags::table.on(tags::id.eq(contact_tags::tag_id)))
        .filter(contacts::id.eq_any(&ids))
        .select((
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contacts::email,
            contacts::phone,
            contacts::company,
            contact_statuses::id.nullable(),
            contact_statuses::name.nullable(),
            contact_statuses::color.nullable(),
            users::display_name.nullable(),
            contacts::updated_at,
            tags::name.nullable(),
        ))
        .load(c)
        .await)?;
    let clock = conn.clock();
    let mut by_id: BTreeMap<i64, ContactRow> = BTreeMap::new();
    for (id, first, last, email, phone, company, status_id, status, color, owner, updated_at, tag) in rows {
        let row = by_id.entry(id).or_insert_with(|| ContactRow {
            id,
            name: display_name(&first, &last, &company),
            email,
            phone,
            company,
            status: status_id.zip(status).map(|(id, name)| Choice { id, name, color }),
            owner,
            tags: Vec::new(),
            updated_at: clock.stamp(updated_at),
        });
        row.tags.extend(tag);
    }
    let rows = ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|mut row| {
            row.tags.sort_by_cached_key(|t| crate::db::fold(t));
            row
        })
        .collect();
    Ok(ContactPage { rows, total, page, pages: ((total + CONTACTS_PER_PAGE - 1) / CONTACTS_PER_PAGE).max(1) })
}

fn page_of(ids: &[i64], offset: i64) -> Vec<i64> {
    ids.iter().skip(offset as usize).take(CONTACTS_PER_PAGE as usize).copied().collect()
}

/// One batch of the export: full records of the contacts matching `query` with an id above
/// `after`, in id order (keyset paging keeps every batch as cheap as the first).
pub async fn export_batch(
    conn: &mut DbConn,
    query: &ContactQuery,
    after: i64,
    limit: i64,
) -> Result<Vec<Contact>, DbError> {
    let ids: Vec<i64> = with_db!(conn, c => filtered!(query, contacts::table)
        .filter(contacts::id.gt(after))
        .order(contacts::id.asc())
        .limit(limit)
        .select(contacts::id)
        .load(c)
        .await)?;
    get_many(conn, &ids).await
}
