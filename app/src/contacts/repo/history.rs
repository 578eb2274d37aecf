//! What the change history records of a contact: its fields as a person reads them, taken
//! before and after a change inside the same transaction.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::ContactRecord;
use crate::db::schema::{
    contact_services, contact_statuses, contact_tags, contacts, services, tags, traffic_sources, users,
};
use crate::db::{with_db, DbConn};

/// A contact's fields as the history shows them: label and readable value, in the form's order.
pub type Snapshot = crate::activities::repo::FieldValues;

/// Snapshots of the contacts `ids` that exist, read inside the caller's transaction.
pub async fn snapshots(c: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, Snapshot>> {
    let rows: Vec<ContactRecord> = with_db!(c, c => contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(ContactRecord::as_select())
        .load(c)
        .await)?;
    let statuses: BTreeMap<i64, String> = with_db!(c, c => contact_statuses::table
        .select((contact_statuses::id, contact_statuses::name))
        .load::<(i64, String)>(c)
        .await)?
    .into_iter()
    .collect();
    let sources: BTreeMap<i64, String> = with_db!(c, c => traffic_sources::table
        .select((traffic_sources::id, traffic_sources::name))
        .load::<(i64, String)>(c)
        .await)?
    .into_iter()
    .collect();
    let owner_ids: Vec<i64> = rows.iter().filter_map(|r| r.owner_id).collect();
    let owners: BTreeMap<i64, String> = with_db!(c, c => users::table
        .filter(users::id.eq_any(&owner_ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(c)
        .await)?
    .into_iter()
    .collect();
    let mut tag_rows: Vec<(i64, String)> = with_db!(c, c => contact_tags::table
        .inner_join(tags::table)
        .filter(contact_tags::contact_id.eq_any(ids))
        .select((contact_tags::contact_id, tags::name))
        .load(c)
        .await)?;
    tag_rows.sort_by_cached_key(|(_, name)| crate::db::fold(name));
    let service_rows: Vec<(i64, String)> = with_db!(c, c => contact_services::table
        .inner_join(services::table)
        .filter(contact_services::contact_id.eq_any(ids))
        .order((services::position, services::id))
        .select((contact_services::contact_id, services::name))
        .load(c)
        .await)?;
    let catalog = crate::fields::repo::catalog(c).await?;
    let values = crate::fields::repo::stored_values(c, ids).await?;
    let clock = c.clock();
    let joined = |rows: &[(i64, String)], id: i64| {
        rows.iter().filter(|(c, _)| *c == id).map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
    };
    let name_of = |map: &BTreeMap<i64, String>, id: Option<i64>| {
        id.and_then(|id| map.get(&id).cloned()).unwrap_or_default()
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut snapshot: Snapshot = [
                ("First name", r.first_name),
                ("Last name", r.last_name),
                ("Email", r.email.unwrap_or_default()),
                ("Phone", r.phone),
                ("Company", r.company),
                ("Job title", r.job_title),
                ("Street", r.street),
                ("City", r.city),
                ("Postal code", r.postal_code),
                ("Country", r.country),
                ("Website", r.website),
                ("Notes", r.notes),
                ("Status", name_of(&statuses, r.status_id)),
                ("Traffic source", name_of(&sources, r.traffic_source_id)),
                ("Owner", name_of(&owners, r.owner_id)),
                ("Services", joined(&service_rows, r.id)),
                ("Tags", joined(&tag_rows, r.id)),
            ]
            .into_iter()
            .map(|(label, value)| (label.to_owned(), value))
            .collect();
            let empty = BTreeMap::new();
            let stored = values.get(&r.id).unwrap_or(&empty);
            snapshot.extend(crate::fields::repo::snapshot(&catalog, stored, &clock));
            (r.id, snapshot)
        })
        .collect())
}
