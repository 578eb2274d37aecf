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
    contact_field_values, contact_services, contact_statuses, contact_tags, contacts, contacts_search, tags,
    users,
};
use diesel::dsl;
use diesel::query_dsl::methods;

use crate::db::{contains, lower, with_db, Contains, DbConn, DbError};
use crate::fields::sql::{FieldMatch, FieldOrder};
use crate::fields::FieldCatalog;
use crate::segments::sql::RuleMatch;

/// The list's filters: each is one of these expressions, over contacts (joined or not).
type Search = dsl::EqAny<
    contacts::id,
    dsl::Filter<
        dsl::Select<contacts_search::table, contacts_search::rowid>,
        Contains<contacts_search::search_text>,
    >,
>;
type IsStatus = dsl::Eq<contacts::status_id, i64>;
type IsSource = dsl::Eq<contacts::traffic_source_id, i64>;
type IsOwner = dsl::Eq<contacts::owner_id, i64>;
type HasTag = dsl::EqAny<
    contacts::id,
    dsl::Select<
        dsl::Filter<contact_tags::table, dsl::Eq<contact_tags::tag_id, i64>>,
        contact_tags::contact_id,
    >,
>;
type HasService = dsl::EqAny<
    contacts::id,
    dsl::Select<
        dsl::Filter<contact_services::table, dsl::Eq<contact_services::service_id, i64>>,
        contact_services::contact_id,
    >,
>;

/// A boxed query that takes every filter of the list (any backend's, over contacts or a join
/// with them): the bounds of [`filtered`], named once.
pub(crate) trait ListFilters:
    Sized
    + methods::FilterDsl<Search, Output = Self>
    + methods::FilterDsl<IsStatus, Output = Self>
    + methods::FilterDsl<IsSource, Output = Self>
    + methods::FilterDsl<IsOwner, Output = Self>
    + methods::FilterDsl<HasTag, Output = Self>
    + methods::FilterDsl<HasService, Output = Self>
    + methods::FilterDsl<FieldMatch, Output = Self>
    + methods::FilterDsl<RuleMatch, Output = Self>
{
}

impl<Q> ListFilters for Q where
    Q: Sized
        + methods::FilterDsl<Search, Output = Q>
        + methods::FilterDsl<IsStatus, Output = Q>
        + methods::FilterDsl<IsSource, Output = Q>
        + methods::FilterDsl<IsOwner, Output = Q>
        + methods::FilterDsl<HasTag, Output = Q>
        + methods::FilterDsl<HasService, Output = Q>
        + methods::FilterDsl<FieldMatch, Output = Q>
        + methods::FilterDsl<RuleMatch, Output = Q>
{
}

/// The list as asked, with its filters and sort on extra fields resolved against the field
/// definitions (filters on fields that no longer exist, or values that cannot be read, are left
/// out, like any other mistyped filter).
pub(crate) struct Resolved<'a> {
    pub query: &'a ContactQuery,
    pub fields: Vec<FieldMatch>,
    pub order: Option<FieldOrder>,
    /// The segment's members, when the list is limited to a segment.
    pub segment: Option<RuleMatch>,
}

impl<'a> Resolved<'a> {
    pub fn new(query: &'a ContactQuery, catalog: &FieldCatalog, clock: &crate::clock::Clock) -> Self {
        Resolved {
            query,
            fields: crate::fields::repo::list_matches(catalog, &query.fields, clock),
            order: match &query.sort {
                SortKey::Field(key) => crate::fields::repo::list_order(catalog, key, query.descending),
                _ => None,
            },
            segment: None,
        }
    }

    /// The same, with the segment the query names (if any) read from the database.
    pub async fn load(
        conn: &mut DbConn,
        query: &'a ContactQuery,
        catalog: &FieldCatalog,
        clock: &crate::clock::Clock,
    ) -> Result<Self, DbError> {
        let mut resolved = Self::new(query, catalog, clock);
        if let Some(id) = query.segment_id {
            resolved.segment = Some(
                crate::segments::repo::filter_for(conn, id)
                    .await
                    // A segment deleted in between: an empty list.
                    .unwrap_or(RuleMatch(crate::segments::sql::Node::nothing())),
            );
        }
        Ok(resolved)
    }
}

/// `q` (a boxed query over contacts) narrowed to the contacts `query` asks for; written once and
/// used by the count, the list's order and the export.
pub(crate) fn filtered<Q: ListFilters>(mut q: Q, resolved: &Resolved) -> Q {
    let query = resolved.query;
    for m in &resolved.fields {
        q = methods::FilterDsl::<FieldMatch>::filter(q, m.clone());
    }
    if let Some(m) = &resolved.segment {
        q = methods::FilterDsl::<RuleMatch>::filter(q, m.clone());
    }
    if !query.search.trim().is_empty() {
        let matches = contacts_search::table
            .select(contacts_search::rowid)
            .filter(contains(contacts_search::search_text, &query.search));
        q = methods::FilterDsl::<Search>::filter(q, contacts::id.eq_any(matches));
    }
    if let Some(id) = query.status_id {
        q = methods::FilterDsl::<IsStatus>::filter(q, contacts::status_id.eq(id));
    }
    if let Some(id) = query.traffic_source_id {
        q = methods::FilterDsl::<IsSource>::filter(q, contacts::traffic_source_id.eq(id));
    }
    if let Some(id) = query.owner_id {
        q = methods::FilterDsl::<IsOwner>::filter(q, contacts::owner_id.eq(id));
    }
    if let Some(id) = query.tag_id {
        let tagged = contact_tags::table.filter(contact_tags::tag_id.eq(id)).select(contact_tags::contact_id);
        q = methods::FilterDsl::<HasTag>::filter(q, contacts::id.eq_any(tagged));
    }
    if let Some(id) = query.service_id {
        let with_service = contact_services::table
            .filter(contact_services::service_id.eq(id))
            .select(contact_services::contact_id);
        q = methods::FilterDsl::<HasService>::filter(q, contacts::id.eq_any(with_service));
    }
    q
}

type NameAsc =
    (dsl::Asc<lower<contacts::last_name>>, dsl::Asc<lower<contacts::first_name>>, dsl::Asc<contacts::id>);
type NameDesc =
    (dsl::Desc<lower<contacts::last_name>>, dsl::Desc<lower<contacts::first_name>>, dsl::Desc<contacts::id>);
type EmailAsc = (dsl::Asc<contacts::email>, dsl::Asc<contacts::id>);
type EmailDesc = (dsl::Desc<contacts::email>, dsl::Desc<contacts::id>);
type CompanyAsc = (dsl::Asc<lower<contacts::company>>, dsl::Asc<contacts::id>);
type CompanyDesc = (dsl::Desc<lower<contacts::company>>, dsl::Desc<contacts::id>);
type StatusAsc = (
    dsl::Asc<dsl::IsNull<contacts::status_id>>,
    dsl::Asc<dsl::Nullable<contact_statuses::position>>,
    dsl::Asc<contacts::id>,
);
type StatusDesc = (
    dsl::Asc<dsl::IsNull<contacts::status_id>>,
    dsl::Desc<dsl::Nullable<contact_statuses::position>>,
    dsl::Desc<contacts::id>,
);
type UpdatedAsc = (dsl::Asc<contacts::updated_at>, dsl::Asc<contacts::id>);
type UpdatedDesc = (dsl::Desc<contacts::updated_at>, dsl::Desc<contacts::id>);

/// A boxed query over contacts joined with their status that takes every order of the list.
pub(crate) trait ListOrders:
    Sized
    + methods::OrderDsl<NameAsc, Output = Self>
    + methods::OrderDsl<NameDesc, Output = Self>
    + methods::OrderDsl<EmailAsc, Output = Self>
    + methods::OrderDsl<EmailDesc, Output = Self>
    + methods::OrderDsl<CompanyAsc, Output = Self>
    + methods::OrderDsl<CompanyDesc, Output = Self>
    + methods::OrderDsl<StatusAsc, Output = Self>
    + methods::OrderDsl<StatusDesc, Output = Self>
    + methods::OrderDsl<UpdatedAsc, Output = Self>
    + methods::OrderDsl<UpdatedDesc, Output = Self>
{
}

impl<Q> ListOrders for Q where
    Q: Sized
        + methods::OrderDsl<NameAsc, Output = Q>
        + methods::OrderDsl<NameDesc, Output = Q>
        + methods::OrderDsl<EmailAsc, Output = Q>
        + methods::OrderDsl<EmailDesc, Output = Q>
        + methods::OrderDsl<CompanyAsc, Output = Q>
        + methods::OrderDsl<CompanyDesc, Output = Q>
        + methods::OrderDsl<StatusAsc, Output = Q>
        + methods::OrderDsl<StatusDesc, Output = Q>
        + methods::OrderDsl<UpdatedAsc, Output = Q>
        + methods::OrderDsl<UpdatedDesc, Output = Q>
{
}

/// `q` (a boxed query over contacts joined with their status) in the list's order, ties broken
/// by id so pages are stable.
pub(crate) fn sorted<Q: ListOrders>(q: Q, resolved: &Resolved) -> Q {
    use SortKey::*;
    let query = resolved.query;
    let (last, first, company) =
        (lower(contacts::last_name), lower(contacts::first_name), lower(contacts::company));
    match (&query.sort, query.descending) {
        // An extra field that no longer exists sorts by name.
        (Name | Field(_), false) => {
            methods::OrderDsl::<NameAsc>::order(q, (last.asc(), first.asc(), contacts::id.asc()))
        }
        (Name | Field(_), true) => {
            methods::OrderDsl::<NameDesc>::order(q, (last.desc(), first.desc(), contacts::id.desc()))
        }
        (Email, false) => {
            methods::OrderDsl::<EmailAsc>::order(q, (contacts::email.asc(), contacts::id.asc()))
        }
        (Email, true) => {
            methods::OrderDsl::<EmailDesc>::order(q, (contacts::email.desc(), contacts::id.desc()))
        }
        (Company, false) => methods::OrderDsl::<CompanyAsc>::order(q, (company.asc(), contacts::id.asc())),
        (Company, true) => methods::OrderDsl::<CompanyDesc>::order(q, (company.desc(), contacts::id.desc())),
        // Contacts without a status come last either way (the backends disagree on NULLs).
        (Status, false) => methods::OrderDsl::<StatusAsc>::order(
            q,
            (
                contacts::status_id.is_null().asc(),
                contact_statuses::position.nullable().asc(),
                contacts::id.asc(),
            ),
        ),
        (Status, true) => methods::OrderDsl::<StatusDesc>::order(
            q,
            (
                contacts::status_id.is_null().asc(),
                contact_statuses::position.nullable().desc(),
                contacts::id.desc(),
            ),
        ),
        (Updated, false) => {
            methods::OrderDsl::<UpdatedAsc>::order(q, (contacts::updated_at.asc(), contacts::id.asc()))
        }
        (Updated, true) => {
            methods::OrderDsl::<UpdatedDesc>::order(q, (contacts::updated_at.desc(), contacts::id.desc()))
        }
    }
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
    let offset = crate::db::page_offset(page, CONTACTS_PER_PAGE);
    let end = offset.saturating_add(CONTACTS_PER_PAGE);
    let (mut instance, mut version) = crate::db::data_version(conn, "contacts").await?;
    if query.segment_id.is_some() {
        // A segment's members depend on more than contacts (activities, other segments, portal
        // accounts, the day): its lists are kept by a counter of all of them.
        instance.push_str("+segments");
        version = crate::segments::repo::data_stamp(conn, conn.clock().today()).await?;
    }
    let catalog = crate::fields::repo::catalog(conn).await?;
    let clock = conn.clock();
    let resolved = Resolved::load(conn, query, &catalog, &clock).await?;
    let kept = list_cache::get(&instance, version, query);
    let total = match &kept {
        Some(kept) => kept.total,
        None => {
            with_db!(conn, c => filtered(contacts::table.into_boxed(), &resolved).count().get_result::<i64>(c).await)?
        }
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
            let ids = ordered_ids(conn, &resolved, wanted, 0).await?;
            let page = page_of(&ids, offset);
            list_cache::put(&instance, version, query, Arc::new(list_cache::List { total, ids }));
            page
        }
        // Deeper than any list keeps: this page alone.
        _ => ordered_ids(conn, &resolved, CONTACTS_PER_PAGE, offset).await?,
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
    let values = crate::fields::repo::stored_values(conn, &ids).await?;
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
            fields: values
                .get(&id)
                .map(|v| crate::fields::repo::shown(&catalog, v, &clock))
                .unwrap_or_default(),
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

/// The ids of the contacts `resolved` asks for, in its order, `limit` of them from `offset`. An
/// extra field's order joins each contact's first value of it (one index lookup per contact, or
/// one pass over the field's values on PostgreSQL).
async fn ordered_ids(
    conn: &mut DbConn,
    resolved: &Resolved<'_>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<i64>> {
    match &resolved.order {
        Some(order) => {
            let value = crate::fields::sql::sort_value;
            with_db!(conn, c => filtered(
                contacts::table
                    .left_join(value.on(value.field(contact_field_values::contact_id).eq(contacts::id)
                        .and(value.field(contact_field_values::field_id).eq(order.field_id))
                        .and(value.field(contact_field_values::position).eq(0))))
                    .into_boxed(),
                resolved,
            )
            .order(order.clone())
            .select(contacts::id)
            .limit(limit)
            .offset(offset)
            .load(c)
            .await)
        }
        None => {
            with_db!(conn, c => sorted(filtered(contacts::table.left_join(contact_statuses::table).into_boxed(), resolved), resolved)
            .select(contacts::id)
            .limit(limit)
            .offset(offset)
            .load(c)
            .await)
        }
    }
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
    let catalog = crate::fields::repo::catalog(conn).await?;
    let clock = conn.clock();
    let resolved = Resolved::load(conn, query, &catalog, &clock).await?;
    let ids: Vec<i64> = with_db!(conn, c => filtered(contacts::table.into_boxed(), &resolved)
        .filter(contacts::id.gt(after))
        .order(contacts::id.asc())
        .limit(limit)
        .select(contacts::id)
        .load(c)
        .await)?;
    get_many(conn, &ids).await
}
