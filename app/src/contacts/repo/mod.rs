//! Contacts and the lists they refer to, for both backends: this module keeps the records
//! (create, read, update, delete); its children the list, tags, bulk actions, portal accounts
//! and the change history.

mod bulk;
mod columns;
mod history;
mod list;
mod portal;
mod tagging;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

pub use bulk::{bulk_change, BulkChange};
pub use columns::{columns, save_columns};
pub use history::{snapshots, Snapshot};
pub use list::{export_batch, list};
pub use portal::{grant_portal_access, portal_access};
pub use tagging::{clean_tag_names, delete_tag, find_or_create_tag, merge_tags, rename_tag, tag_counts};

use super::{Choice, Choices, Contact, ContactInput, PortalAccess, StatusCount};
use crate::activities::repo::{record_added, record_changes};
use crate::clock::now;
use crate::db::batch::{self, LinkRow};
use crate::db::schema::{
    contact_services, contact_statuses, contact_tags, contacts, services, tags, traffic_sources, users,
};
use crate::db::{is_unique_violation_of, with_db, DbConn, DbError};
use crate::error::AppError;
use crate::fields::values::Stored;
use crate::fields::FieldCatalog;

const CONFLICT: &str =
    "Someone else saved this contact after you opened it. Your changes are still in the form: \
                        open the contact in a new tab to see theirs, then save again.";
const EMAIL_TAKEN: &str = "Another contact already has this email.";
const TAG_TAKEN: &str = "Someone created one of these tags at the same moment. Save again to use it.";

fn normalized_email(email: &str) -> Option<String> {
    let email = crate::db::fold(email);
    (!email.is_empty()).then_some(email)
}

/// The folded text the list searches: name, email, phone and company (and, once saved, the
/// extra fields marked searchable: see [`refresh_search_text`]).
fn search_text(input: &ContactInput) -> String {
    built_in_search_text([&input.first_name, &input.last_name, &input.email, &input.phone, &input.company])
}

fn built_in_search_text(parts: [&String; 5]) -> String {
    parts.iter().map(|s| crate::db::fold(s)).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Rewrites the search text of the contacts `ids` from their fields and their searchable extra
/// fields, inside the caller's transaction.
pub async fn refresh_search_text(c: &mut DbConn, ids: &[i64]) -> QueryResult<()> {
    let catalog = crate::fields::repo::catalog(c).await?;
    let values = crate::fields::repo::stored_values(c, ids).await?;
    type SearchRow = (i64, String, String, Option<String>, String, String, String);
    let rows: Vec<SearchRow> = with_db!(c, c => contacts::table
        .filter(contacts::id.eq_any(ids))
        .select((contacts::id, contacts::first_name, contacts::last_name, contacts::email, contacts::phone, contacts::company, contacts::search_text))
        .load(c)
        .await)?;
    for (id, first, last, email, phone, company, old) in rows {
        let mut text = built_in_search_text([&first, &last, &email.unwrap_or_default(), &phone, &company]);
        if let Some(stored) = values.get(&id) {
            for extra in crate::fields::repo::searchable(&catalog, stored) {
                text.push(' ');
                text.push_str(&extra);
            }
        }
        if text != old {
            with_db!(c, c => diesel::update(contacts::table.find(id)).set(contacts::search_text.eq(&text)).execute(c).await)?;
        }
    }
    Ok(())
}

/// Every list the contact forms and filters pick from, in one round trip: the five lists are one
/// `UNION ALL`, each row tagged with its list, and put in order here.
pub async fn choices(conn: &mut DbConn) -> Result<Choices, DbError> {
    use diesel::dsl::AsExprOf;
    use diesel::sql_types::{Integer, Nullable, Text};
    const STATUS: i32 = 0;
    const SERVICE: i32 = 1;
    const SOURCE: i32 = 2;
    const TAG: i32 = 3;
    const OWNER: i32 = 4;
    let list = |n: i32| -> AsExprOf<i32, Integer> { n.into_sql::<Integer>() };
    let no_color = || None::<String>.into_sql::<Nullable<Text>>();
    let no_position = || 0.into_sql::<Integer>();
    let mut rows: Vec<(i32, i32, i64, String, Option<String>)> = with_db!(conn, c => contact_statuses::table
        .select((list(STATUS), contact_statuses::position, contact_statuses::id, contact_statuses::name, contact_statuses::color.nullable()))
        .union_all(services::table.select((list(SERVICE), services::position, services::id, services::name, no_color())))
        .union_all(traffic_sources::table.select((list(SOURCE), traffic_sources::position, traffic_sources::id, traffic_sources::name, no_color())))
        .union_all(tags::table.select((list(TAG), no_position(), tags::id, tags::name, no_color())))
        .union_all(
            users::table
                .filter(users::kind.eq("staff").and(users::is_active.eq(true)))
                .select((list(OWNER), no_position(), users::id, users::display_name, no_color())),
        )
        .load(c)
        .await)?;
    // Settings lists by position, tags and owners by name (case-insensitively), ties by id.
    rows.sort_by_cached_key(|(list, position, id, name, _)| {
        let by_name = if *list >= TAG { crate::db::fold(name) } else { String::new() };
        (*list, *position, by_name, *id)
    });
    let mut choices = Choices::default();
    for (list, _, id, name, color) in rows {
        let choice = Choice { id, name, color };
        match list {
            STATUS => choices.statuses.push(choice),
            SERVICE => choices.services.push(choice),
            SOURCE => choices.traffic_sources.push(choice),
            TAG => choices.tags.push(choice),
            _ => choices.owners.push(choice),
        }
    }
    Ok(choices)
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
struct ContactValues<'a> {
    first_name: &'a str,
    last_name: &'a str,
    email: Option<String>,
    phone: &'a str,
    company: &'a str,
    job_title: &'a str,
    street: &'a str,
    city: &'a str,
    postal_code: &'a str,
    country: &'a str,
    website: &'a str,
    notes: &'a str,
    status_id: Option<i64>,
    traffic_source_id: Option<i64>,
    owner_id: Option<i64>,
    updated_by: Option<i64>,
    updated_at: NaiveDateTime,
    search_text: String,
}

impl<'a> ContactValues<'a> {
    /// The row a bulk write sets: contact `id`, expected at `version`, at `at` ([`batch::stamp`]ed).
    fn row<'b>(&'b self, id: i64, version: i64, at: &'b str) -> batch::ContactRow<'b> {
        batch::ContactRow {
            id,
            version,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email.as_deref(),
            phone: self.phone,
            company: self.company,
            job_title: self.job_title,
            street: self.street,
            city: self.city,
            postal_code: self.postal_code,
            country: self.country,
            website: self.website,
            notes: self.notes,
            status_id: self.status_id,
            traffic_source_id: self.traffic_source_id,
            owner_id: self.owner_id,
            actor: self.updated_by,
            at,
            search_text: &self.search_text,
        }
    }

    fn new(input: &'a ContactInput, actor_id: i64, at: NaiveDateTime) -> Self {
        ContactValues {
            first_name: input.first_name.trim(),
            last_name: input.last_name.trim(),
            email: normalized_email(&input.email),
            phone: input.phone.trim(),
            company: input.company.trim(),
            job_title: input.job_title.trim(),
            street: input.street.trim(),
            city: input.city.trim(),
            postal_code: input.postal_code.trim(),
            country: input.country.trim(),
            website: input.website.trim(),
            notes: &input.notes,
            status_id: input.status_id,
            traffic_source_id: input.traffic_source_id,
            owner_id: input.owner_id,
            updated_by: Some(actor_id),
            updated_at: at,
            search_text: search_text(input),
        }
    }
}

/// Writes the contact's tags (creating new ones by name) and services, replacing the old ones;
/// inside the caller's transaction.
async fn replace_links(c: &mut DbConn, contact_id: i64, input: &ContactInput) -> QueryResult<()> {
    with_db!(c, c => diesel::delete(contact_tags::table.filter(contact_tags::contact_id.eq(contact_id)))
        .execute(c)
        .await)?;
    with_db!(c, c => diesel::delete(contact_services::table.filter(contact_services::contact_id.eq(contact_id)))
        .execute(c)
        .await)?;
    for name in clean_tag_names(&input.tags) {
        let tag_id = find_or_create_tag(c, &name).await?;
        with_db!(c, c => diesel::insert_into(contact_tags::table)
            .values((contact_tags::contact_id.eq(contact_id), contact_tags::tag_id.eq(tag_id)))
            .execute(c)
            .await)?;
    }
    let mut service_ids = input.service_ids.clone();
    service_ids.sort_unstable();
    service_ids.dedup();
    for service_id in service_ids {
        with_db!(c, c => diesel::insert_into(contact_services::table)
            .values((contact_services::contact_id.eq(contact_id), contact_services::service_id.eq(service_id)))
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// The message for a failed save: a unique violation names its field, a missing choice asks
/// to choose again; anything else is the server's fault.
fn save_error(err: diesel::result::Error) -> AppError {
    if is_unique_violation_of(&err, "contacts", "email") {
        AppError::invalid("email", EMAIL_TAKEN)
    } else if is_unique_violation_of(&err, "tags", "name_key") {
        AppError::invalid("tags", TAG_TAKEN)
    } else if stale_choice(&err) {
        AppError::Conflict(STALE_CHOICE.to_owned())
    } else {
        err.into()
    }
}

fn stale_choice(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)
    )
}

const STALE_CHOICE: &str = "One of the chosen options no longer exists. Reload the page and choose again.";

/// The owner must be an active staff member (the foreign key alone would accept a client).
async fn check_owner(conn: &mut DbConn, owner: Option<i64>) -> Result<(), AppError> {
    let Some(owner) = owner else { return Ok(()) };
    let staff: i64 = with_db!(conn, c => users::table
        .filter(users::id.eq(owner).and(users::kind.eq("staff")).and(users::is_active.eq(true)))
        .count()
        .get_result(c)
        .await)?;
    if staff == 0 {
        return Err(AppError::invalid("owner_id", "Choose an active staff member as the owner."));
    }
    Ok(())
}

/// Checks a form: the built-in fields, then the extra fields against their definitions (and
/// the unique ones against the other contacts). Returns the extra values to store.
async fn checked(
    conn: &mut DbConn,
    catalog: &FieldCatalog,
    input: &ContactInput,
    id: Option<i64>,
) -> Result<Vec<(i64, Vec<Stored>)>, AppError> {
    let mut errors = input.validate();
    let current = match id {
        Some(id) => crate::fields::repo::stored_values(conn, &[id]).await?.remove(&id).unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let clock = conn.clock();
    let parsed = match crate::fields::repo::read_input(catalog, &input.extra, &current, id.is_none(), &clock)
    {
        Ok(parsed) => parsed,
        Err(extra) => {
            errors.fields.extend(extra.fields);
            Vec::new()
        }
    };
    if errors.is_empty() {
        errors = crate::fields::repo::unique_clashes(conn, catalog, &parsed, id).await?;
    }
    errors.into_result()?;
    check_owner(conn, input.owner_id).await?;
    Ok(parsed)
}

/// Adds a contact; returns its id. A taken email (or unique extra value) is a message on its
/// field.
pub async fn create(conn: &mut DbConn, actor_id: i64, input: &ContactInput) -> Result<i64, AppError> {
    let catalog = crate::fields::repo::catalog(conn).await?;
    let parsed = checked(conn, &catalog, input, None).await?;
    let at = now();
    conn.contacts_tx(async |c: &mut DbConn| {
        crate::fields::repo::unchanged(c, &catalog).await?;
        insert_checked(c, &catalog, actor_id, input, &parsed, at, "Added the contact").await
    })
    .await
    .map_err(|e| {
        crate::fields::repo::changed_error(&e)
            .or_else(|| crate::fields::repo::unique_violation(&e, &catalog, &parsed))
            .unwrap_or_else(|| save_error(e))
    })
}

/// Inserts a contact whose input was checked (`parsed` its extra values) and writes its
/// history entry (`subject`), inside the caller's transaction; returns its id.
pub(crate) async fn insert_checked(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    actor_id: i64,
    input: &ContactInput,
    parsed: &[(i64, Vec<Stored>)],
    at: NaiveDateTime,
    subject: &str,
) -> QueryResult<i64> {
    let values = ContactValues::new(input, actor_id, at);
    let id: i64 = with_db!(c, c => diesel::insert_into(contacts::table)
        .values((&values, contacts::created_by.eq(Some(actor_id)), contacts::created_at.eq(at)))
        .returning(contacts::id)
        .get_result(c)
        .await)?;
    replace_links(c, id, input).await?;
    crate::fields::repo::write_input(c, id, catalog, parsed).await?;
    refresh_search_text(c, &[id]).await?;
    record_added(c, actor_id, id, subject).await?;
    Ok(id)
}

/// A contact's row values with its whole search text, the searchable extra values included,
/// computed from the input (what [`refresh_search_text`] would read back).
fn values_with_search<'a>(
    catalog: &FieldCatalog,
    input: &'a ContactInput,
    parsed: &crate::fields::repo::Parsed,
    actor_id: i64,
    at: NaiveDateTime,
) -> ContactValues<'a> {
    let mut values = ContactValues::new(input, actor_id, at);
    let stored: BTreeMap<i64, Vec<String>> =
        parsed.iter().map(|(id, s)| (*id, s.iter().map(|v| v.value.clone()).collect())).collect();
    for extra in crate::fields::repo::searchable(catalog, &stored) {
        values.search_text.push(' ');
        values.search_text.push_str(&extra);
    }
    values
}

/// Links contacts without tags or services to theirs, all at once, inside the caller's
/// transaction: existing tags are found by their folded names in one query, new ones created.
async fn add_links(c: &mut DbConn, contacts: &[(i64, &ContactInput)]) -> QueryResult<()> {
    let mut tag_ids: BTreeMap<String, i64> = BTreeMap::new();
    let names: Vec<Vec<String>> = contacts.iter().map(|(_, input)| clean_tag_names(&input.tags)).collect();
    let keys: Vec<String> = {
        let mut keys: Vec<String> = names.iter().flatten().map(|n| crate::db::fold(n)).collect();
        keys.sort();
        keys.dedup();
        keys
    };
    for chunk in keys.chunks(500) {
        let found: Vec<(String, i64)> = with_db!(c, c => tags::table
            .filter(tags::name_key.eq_any(chunk))
            .select((tags::name_key, tags::id))
            .load(c)
            .await)?;
        tag_ids.extend(found);
    }
    let mut links = Vec::new();
    let mut services = Vec::new();
    for ((id, input), names) in contacts.iter().zip(&names) {
        for name in names {
            let key = crate::db::fold(name);
            let tag = match tag_ids.get(&key) {
                Some(tag) => *tag,
                None => {
                    let tag = find_or_create_tag(c, name).await?;
                    tag_ids.insert(key, tag);
                    tag
                }
            };
            links.push(LinkRow { contact_id: *id, other: tag });
        }
        let mut service_ids = input.service_ids.clone();
        service_ids.sort_unstable();
        service_ids.dedup();
        services.extend(service_ids.into_iter().map(|s| LinkRow { contact_id: *id, other: s }));
    }
    batch::execute(c, &batch::INSERT_CONTACT_TAGS, &links).await?;
    batch::execute(c, &batch::INSERT_CONTACT_SERVICES, &services).await?;
    Ok(())
}

/// The extra values of many contacts, field by field (a statement or two per field, not per
/// contact), inside the caller's transaction. A field a contact's `parsed` leaves out keeps its
/// values; `fresh` contacts have none to remove.
async fn write_extra_many(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    contacts: &[(i64, &crate::fields::repo::Parsed)],
    fresh: bool,
) -> QueryResult<()> {
    for def in &catalog.fields {
        let values: Vec<(i64, &[Stored])> = contacts
            .iter()
            .filter_map(|(id, parsed)| {
                parsed.iter().find(|(f, _)| *f == def.id).map(|(_, s)| (*id, s.as_slice()))
            })
            .collect();
        match fresh {
            true => {
                let values: Vec<(i64, &[Stored])> =
                    values.into_iter().filter(|(_, s)| !s.is_empty()).collect();
                if !values.is_empty() {
                    crate::fields::repo::insert_fields(c, def, &values).await?;
                }
            }
            false if !values.is_empty() => crate::fields::repo::write_fields(c, def, &values).await?,
            false => {}
        }
    }
    Ok(())
}

/// [`insert_checked`] for many contacts at once (an import's batch), inside the caller's
/// transaction; returns their ids in the order given. A statement or two per batch, not per
/// contact (see [`batch`]); the search text is computed from the inputs, not read back.
pub(crate) async fn insert_many(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    actor_id: i64,
    new: &[(&ContactInput, &crate::fields::repo::Parsed)],
    at: NaiveDateTime,
    subject: &str,
) -> QueryResult<Vec<i64>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let ids = batch::new_contact_ids(c, new.len()).await?;
    let stamp = batch::stamp(c, &at);
    let values: Vec<ContactValues<'_>> =
        new.iter().map(|(input, parsed)| values_with_search(catalog, input, parsed, actor_id, at)).collect();
    let rows: Vec<batch::ContactRow<'_>> =
        ids.iter().zip(&values).map(|(id, v)| v.row(*id, 1, &stamp)).collect();
    batch::execute(c, &batch::INSERT_CONTACTS, &rows).await?;
    let linked: Vec<(i64, &ContactInput)> =
        ids.iter().zip(new).map(|(id, (input, _))| (*id, *input)).collect();
    add_links(c, &linked).await?;
    let extra: Vec<(i64, &crate::fields::repo::Parsed)> =
        ids.iter().zip(new).map(|(id, (_, parsed))| (*id, *parsed)).collect();
    write_extra_many(c, catalog, &extra, true).await?;
    crate::activities::repo::record_added_many(c, actor_id, &ids, subject).await?;
    Ok(ids)
}

/// One contact an import overwrites: its id, the version the dry run read, the input and its
/// checked extra values.
pub(crate) type Overwrite<'a> = (i64, i64, &'a ContactInput, &'a crate::fields::repo::Parsed);

/// [`overwrite_checked`] for many contacts at once (an import's batch), inside the caller's
/// transaction, a statement or two per batch (see [`batch`]): the contacts still at the version the
/// dry run read, the snapshots for the history, the links, the extra values, the history
/// entries. Returns, in
/// order, each contact's new version, or `None` when it was saved meanwhile (or deleted).
pub(crate) async fn overwrite_many(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    actor_id: i64,
    changes: &[Overwrite<'_>],
    at: NaiveDateTime,
    subject: &str,
) -> QueryResult<Vec<Option<i64>>> {
    let ids: Vec<i64> = changes.iter().map(|(id, ..)| *id).collect();
    let before = snapshots(c, &ids).await?;
    let stamp = batch::stamp(c, &at);
    let values: Vec<ContactValues<'_>> = changes
        .iter()
        .map(|(_, _, input, parsed)| values_with_search(catalog, input, parsed, actor_id, at))
        .collect();
    // One statement per round; a contact given twice (its email changed between two batches of
    // the dry run, say) waits for the next round, so each of its rows meets the version the one
    // before left, as one statement per row would have had it: at most one of them is written.
    let mut written: Vec<usize> = Vec::new();
    let mut pending: Vec<usize> = (0..changes.len()).collect();
    while !pending.is_empty() {
        let mut first = std::collections::HashSet::new();
        let (round, later): (Vec<usize>, Vec<usize>) =
            pending.into_iter().partition(|i| first.insert(changes[*i].0));
        let rows: Vec<batch::ContactRow<'_>> =
            round.iter().map(|i| values[*i].row(changes[*i].0, changes[*i].1, &stamp)).collect();
        let done: std::collections::HashSet<i64> =
            batch::ids(c, &batch::UPDATE_CONTACTS, &rows).await?.into_iter().collect();
        written.extend(round.into_iter().filter(|i| done.contains(&changes[*i].0)));
        pending = later;
    }
    written.sort_unstable();
    let mut out: Vec<Option<i64>> = vec![None; changes.len()];
    for i in &written {
        out[*i] = Some(changes[*i].1 + 1);
    }
    let written_ids: Vec<i64> = written.iter().map(|i| changes[*i].0).collect();
    if written_ids.is_empty() {
        return Ok(out);
    }
    with_db!(c, c => diesel::delete(contact_tags::table.filter(contact_tags::contact_id.eq_any(&written_ids)))
        .execute(c)
        .await)?;
    with_db!(c, c => diesel::delete(contact_services::table.filter(contact_services::contact_id.eq_any(&written_ids)))
        .execute(c)
        .await)?;
    let linked: Vec<(i64, &ContactInput)> = written.iter().map(|i| (changes[*i].0, changes[*i].2)).collect();
    add_links(c, &linked).await?;
    let extra: Vec<(i64, &crate::fields::repo::Parsed)> =
        written.iter().map(|i| (changes[*i].0, changes[*i].3)).collect();
    write_extra_many(c, catalog, &extra, false).await?;
    let after = snapshots(c, &written_ids).await?;
    record_changes(c, actor_id, subject, &before, &after).await?;
    Ok(out)
}

/// Saves a contact if nobody else saved it since `version` was read; otherwise a conflict.
pub async fn update(
    conn: &mut DbConn,
    actor_id: i64,
    id: i64,
    version: i64,
    input: &ContactInput,
) -> Result<(), AppError> {
    let catalog = crate::fields::repo::catalog(conn).await?;
    let parsed = checked(conn, &catalog, input, Some(id)).await?;
    let at = now();
    let result = conn
        .contacts_tx(async |c: &mut DbConn| {
            crate::fields::repo::unchanged(c, &catalog).await?;
            let saved = overwrite_checked(
                c,
                &catalog,
                actor_id,
                id,
                version,
                input,
                &parsed,
                at,
                "Edited the contact",
            )
            .await?;
            Ok::<_, diesel::result::Error>(saved.is_some())
        })
        .await;
    let result = result.map_err(|e| {
        crate::fields::repo::changed_error(&e)
            .or_else(|| crate::fields::repo::unique_violation(&e, &catalog, &parsed))
            .unwrap_or_else(|| save_error(e))
    });
    match result? {
        true => Ok(()),
        false => match exists(conn, id).await? {
            true => Err(AppError::Conflict(CONFLICT.to_owned())),
            false => Err(AppError::NotFound),
        },
    }
}

/// Overwrites contact `id` with a checked input if it is still at `version`, and writes the
/// history entry of what changed (`subject`), inside the caller's transaction. Returns the
/// contact's new version, or `None` when it was saved meanwhile (or deleted).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn overwrite_checked(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    actor_id: i64,
    id: i64,
    version: i64,
    input: &ContactInput,
    parsed: &[(i64, Vec<Stored>)],
    at: NaiveDateTime,
    subject: &str,
) -> QueryResult<Option<i64>> {
    let values = ContactValues::new(input, actor_id, at);
    let before = snapshots(c, &[id]).await?;
    let updated = with_db!(c, c => diesel::update(
        contacts::table.filter(contacts::id.eq(id).and(contacts::version.eq(version))),
    )
    .set((&values, contacts::version.eq(contacts::version + 1)))
    .execute(c)
    .await)?;
    if updated == 0 {
        return Ok(None);
    }
    replace_links(c, id, input).await?;
    crate::fields::repo::write_input(c, id, catalog, parsed).await?;
    refresh_search_text(c, &[id]).await?;
    let after = snapshots(c, &[id]).await?;
    record_changes(c, actor_id, subject, &before, &after).await?;
    Ok(Some(version + 1))
}

async fn exists(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    let n: i64 =
        with_db!(conn, c => contacts::table.filter(contacts::id.eq(id)).count().get_result(c).await)?;
    Ok(n > 0)
}

/// The contacts owned by `from_user` go to `to_user` (or to nobody), inside the caller's
/// transaction: their owner is being deleted.
pub async fn hand_over_contacts(c: &mut DbConn, from_user: i64, to_user: Option<i64>) -> QueryResult<usize> {
    with_db!(c, c => diesel::update(contacts::table.filter(contacts::owner_id.eq(from_user)))
        .set(contacts::owner_id.eq(to_user))
        .execute(c)
        .await)
}

/// Contacts with status `from` get status `to` (or none), inside the caller's transaction: the
/// status is being deleted. Likewise for traffic sources and services below.
pub async fn replace_status(c: &mut DbConn, from: i64, to: Option<i64>) -> QueryResult<usize> {
    with_db!(c, c => diesel::update(contacts::table.filter(contacts::status_id.eq(from)))
        .set(contacts::status_id.eq(to))
        .execute(c)
        .await)
}

pub async fn replace_traffic_source(c: &mut DbConn, from: i64, to: Option<i64>) -> QueryResult<usize> {
    with_db!(c, c => diesel::update(contacts::table.filter(contacts::traffic_source_id.eq(from)))
        .set(contacts::traffic_source_id.eq(to))
        .execute(c)
        .await)
}

/// Contacts with service `from` get service `to` instead (if they lack it), or just lose it.
pub async fn replace_service(c: &mut DbConn, from: i64, to: Option<i64>) -> QueryResult<usize> {
    let moving: Vec<i64> = with_db!(c, c => contact_services::table
        .filter(contact_services::service_id.eq(from))
        .select(contact_services::contact_id)
        .load(c)
        .await)?;
    if let Some(to) = to {
        let have: Vec<i64> = with_db!(c, c => contact_services::table
            .filter(contact_services::service_id.eq(to))
            .select(contact_services::contact_id)
            .load(c)
            .await)?;
        for contact in moving.iter().filter(|m| !have.contains(m)) {
            with_db!(c, c => diesel::insert_into(contact_services::table)
                .values((contact_services::contact_id.eq(contact), contact_services::service_id.eq(to)))
                .execute(c)
                .await)?;
        }
    }
    with_db!(c, c => diesel::delete(contact_services::table.filter(contact_services::service_id.eq(from)))
        .execute(c)
        .await)?;
    Ok(moving.len())
}

pub async fn delete(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    let deleted = conn.contacts_tx(async |c: &mut DbConn| delete_in_tx(c, &[id]).await).await?;
    if deleted == 0 {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes the contacts `ids` inside the caller's transaction; returns how many there were. A
/// portal account linked to one loses the link, not its existence; the dynamic segments it was in
/// record its exit.
pub(crate) async fn delete_in_tx(c: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    crate::accounts::repo::unlink_contacts(c, ids).await?;
    crate::segments::repo::record_deleted(c, ids).await?;
    with_db!(c, c => diesel::delete(contacts::table.filter(contacts::id.eq_any(ids))).execute(c).await)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = contacts)]
/// A contact row as stored (also what the change history compares).
pub(crate) struct ContactRecord {
    pub(crate) id: i64,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) email: Option<String>,
    pub(crate) phone: String,
    pub(crate) company: String,
    pub(crate) job_title: String,
    pub(crate) street: String,
    pub(crate) city: String,
    pub(crate) postal_code: String,
    pub(crate) country: String,
    pub(crate) website: String,
    pub(crate) notes: String,
    pub(crate) status_id: Option<i64>,
    pub(crate) traffic_source_id: Option<i64>,
    pub(crate) owner_id: Option<i64>,
    pub(crate) created_by: Option<i64>,
    pub(crate) updated_by: Option<i64>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
    pub(crate) version: i64,
}

async fn user_names(conn: &mut DbConn, ids: &[i64]) -> Result<BTreeMap<i64, String>, DbError> {
    let rows: Vec<(i64, String)> = with_db!(conn, c => users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(c)
        .await)?;
    Ok(rows.into_iter().collect())
}

pub async fn get(conn: &mut DbConn, id: i64) -> Result<Option<Contact>, DbError> {
    Ok(get_many(conn, &[id]).await?.pop())
}

/// Full records of the contacts `ids` (those that exist), in the order of `ids`; a fixed number
/// of queries however many there are.
pub async fn get_many(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<Contact>, DbError> {
    let records: Vec<ContactRecord> = with_db!(conn, c => contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(ContactRecord::as_select())
        .load(c)
        .await)?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let all = choices(conn).await?;
    let clock = conn.clock();
    let catalog = crate::fields::repo::catalog(conn).await?;
    let mut values = crate::fields::repo::stored_values(conn, ids).await?;
    let mut tag_rows: Vec<(i64, i64, String)> = with_db!(conn, c => contact_tags::table
        .inner_join(tags::table)
        .filter(contact_tags::contact_id.eq_any(ids))
        .select((contact_tags::contact_id, tags::id, tags::name))
        .load(c)
        .await)?;
    tag_rows.sort_by_cached_key(|(_, id, name)| (crate::db::fold(name), *id));
    let service_rows: Vec<(i64, i64)> = with_db!(conn, c => contact_services::table
        .filter(contact_services::contact_id.eq_any(ids))
        .select((contact_services::contact_id, contact_services::service_id))
        .load(c)
        .await)?;
    let people: Vec<i64> =
        records.iter().flat_map(|r| [r.owner_id, r.created_by, r.updated_by]).flatten().collect();
    let names = user_names(conn, &people).await?;
    type PortalRow = (Option<i64>, i64, String, bool, Option<NaiveDateTime>);
    let portal_rows: Vec<PortalRow> = with_db!(conn, c => users::table
        .filter(users::contact_id.eq_any(ids).and(users::kind.eq("client")))
        .select((users::contact_id, users::id, users::email, users::is_active, users::last_login_at))
        .load(c)
        .await)?;
    let pick = |list: &[Choice], id: Option<i64>| id.and_then(|id| list.iter().find(|c| c.id == id).cloned());
    let mut by_id: BTreeMap<i64, Contact> = BTreeMap::new();
    for r in records {
        let id = r.id;
        let tags: Vec<Choice> = tag_rows
            .iter()
            .filter(|(c, ..)| *c == id)
            .map(|(_, tag, name)| Choice { id: *tag, name: name.clone(), color: None })
            .collect();
        let service_ids: Vec<i64> = service_rows.iter().filter(|(c, _)| *c == id).map(|(_, s)| *s).collect();
        let portal =
            portal_rows.iter().find(|p| p.0 == Some(id)).map(|(_, user_id, email, is_active, last)| {
                PortalAccess {
                    user_id: *user_id,
                    email: email.clone(),
                    is_active: *is_active,
                    last_sign_in: last.map(|t| clock.stamp(t)),
                }
            });
        let stored = values.remove(&id).unwrap_or_default();
        let contact = Contact {
            id,
            extra_shown: crate::fields::repo::shown(&catalog, &stored, &clock),
            status: pick(&all.statuses, r.status_id),
            traffic_source: pick(&all.traffic_sources, r.traffic_source_id),
            owner: r
                .owner_id
                .and_then(|o| names.get(&o).map(|n| Choice { id: o, name: n.clone(), color: None })),
            services: all.services.iter().filter(|s| service_ids.contains(&s.id)).cloned().collect(),
            version: r.version,
            created_at: clock.stamp(r.created_at),
            updated_at: clock.stamp(r.updated_at),
            created_by: r.created_by.and_then(|u| names.get(&u).cloned()),
            updated_by: r.updated_by.and_then(|u| names.get(&u).cloned()),
            portal,
            input: ContactInput {
                first_name: r.first_name,
                last_name: r.last_name,
                email: r.email.unwrap_or_default(),
                phone: r.phone,
                company: r.company,
                job_title: r.job_title,
                street: r.street,
                city: r.city,
                postal_code: r.postal_code,
                country: r.country,
                website: r.website,
                notes: r.notes,
                status_id: r.status_id,
                traffic_source_id: r.traffic_source_id,
                owner_id: r.owner_id,
                service_ids,
                tags: tags.iter().map(|t| t.name.clone()).collect(),
                extra: crate::fields::repo::editable(&catalog, &stored, &clock, false),
            },
            tags,
        };
        by_id.insert(id, contact);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Every status with its number of contacts, in the statuses' order; and the total.
pub async fn status_counts(conn: &mut DbConn) -> Result<(Vec<StatusCount>, i64), DbError> {
    let statuses = choices(conn).await?.statuses;
    let counts: Vec<(Option<i64>, i64)> = with_db!(conn, c => contacts::table
        .group_by(contacts::status_id)
        .select((contacts::status_id, diesel::dsl::count_star()))
        .load(c)
        .await)?;
    let total = counts.iter().map(|(_, n)| n).sum();
    let table = statuses
        .into_iter()
        .map(|status| {
            let contacts = counts.iter().find(|(id, _)| *id == Some(status.id)).map(|(_, n)| *n).unwrap_or(0);
            StatusCount { status, contacts }
        })
        .collect();
    Ok((table, total))
}
