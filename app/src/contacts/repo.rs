//! Contacts and the lists they refer to, for both backends.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{
    display_name, Choice, Choices, Contact, ContactInput, ContactPage, ContactQuery, ContactRow,
    PortalAccess, SortKey, StatusCount, CONTACTS_PER_PAGE,
};
use crate::activities::repo::{record_added, record_changes, snapshots};
use crate::db::schema::{
    contact_services, contact_statuses, contact_tags, contacts, contacts_search, services, tags,
    traffic_sources, users,
};
use crate::db::{contacts_tx, lower, with_db, write_tx, DbConn, DbError};
use crate::error::AppError;

const CONFLICT: &str =
    "Someone else saved this contact after you opened it. Your changes are still in the form: \
                        open the contact in a new tab to see theirs, then save again.";
const EMAIL_TAKEN: &str = "Another contact already has this email.";

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn normalized_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    (!email.is_empty()).then_some(email)
}

/// The lower-cased text the list searches: name, email, phone and company.
fn search_text(input: &ContactInput) -> String {
    [&input.first_name, &input.last_name, &input.email, &input.phone, &input.company]
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tag names as a person typed them: trimmed, without empties or case-insensitive repeats.
pub fn clean_tag_names(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && seen.insert(n.to_lowercase()))
        .collect()
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
        let by_name = if *list >= TAG { name.to_lowercase() } else { String::new() };
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

/// Writes the contact's tags (creating new ones by name) and services, replacing the old ones.
macro_rules! replace_links {
    ($c:ident, $contact_id:expr, $input:expr) => {{
        let contact_id: i64 = $contact_id;
        diesel::delete(contact_tags::table.filter(contact_tags::contact_id.eq(contact_id)))
            .execute($c)
            .await?;
        diesel::delete(contact_services::table.filter(contact_services::contact_id.eq(contact_id)))
            .execute($c)
            .await?;
        for name in clean_tag_names(&$input.tags) {
            let existing: Option<i64> = tags::table
                .filter(lower(tags::name).eq(name.to_lowercase()))
                .select(tags::id)
                .first($c)
                .await
                .optional()?;
            let tag_id = match existing {
                Some(id) => id,
                None => {
                    diesel::insert_into(tags::table)
                        .values(tags::name.eq(&name))
                        .returning(tags::id)
                        .get_result($c)
                        .await?
                }
            };
            diesel::insert_into(contact_tags::table)
                .values((contact_tags::contact_id.eq(contact_id), contact_tags::tag_id.eq(tag_id)))
                .execute($c)
                .await?;
        }
        let mut service_ids = $input.service_ids.clone();
        service_ids.sort_unstable();
        service_ids.dedup();
        for service_id in service_ids {
            diesel::insert_into(contact_services::table)
                .values((
                    contact_services::contact_id.eq(contact_id),
                    contact_services::service_id.eq(service_id),
                ))
                .execute($c)
                .await?;
        }
    }};
}

fn email_taken(err: &diesel::result::Error) -> bool {
    matches!(err, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
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

/// Adds a contact; returns its id. A taken email is a message on the email field.
pub async fn create(conn: &mut DbConn, actor_id: i64, input: &ContactInput) -> Result<i64, AppError> {
    check_owner(conn, input.owner_id).await?;
    let at = now();
    let values = ContactValues::new(input, actor_id, at);
    let result = contacts_tx!(conn, c => {
        let id: i64 = diesel::insert_into(contacts::table)
            .values((&values, contacts::created_by.eq(Some(actor_id)), contacts::created_at.eq(at)))
            .returning(contacts::id)
            .get_result(c)
            .await?;
        replace_links!(c, id, input);
        record_added!(c, actor_id, id);
        Ok::<_, diesel::result::Error>(id)
    });
    match result {
        Err(e) if email_taken(&e) => Err(AppError::invalid("email", EMAIL_TAKEN)),
        Err(e) if stale_choice(&e) => Err(AppError::Conflict(STALE_CHOICE.to_owned())),
        other => Ok(other?),
    }
}

/// Saves a contact if nobody else saved it since `version` was read; otherwise a conflict.
pub async fn update(
    conn: &mut DbConn,
    actor_id: i64,
    id: i64,
    version: i64,
    input: &ContactInput,
) -> Result<(), AppError> {
    check_owner(conn, input.owner_id).await?;
    let values = ContactValues::new(input, actor_id, now());
    let result = contacts_tx!(conn, c => {
        let before = snapshots!(c, &[id])?;
        let updated = diesel::update(contacts::table.filter(contacts::id.eq(id).and(contacts::version.eq(version))))
            .set((&values, contacts::version.eq(contacts::version + 1)))
            .execute(c)
            .await?;
        if updated == 0 {
            return Ok(false);
        }
        replace_links!(c, id, input);
        let after = snapshots!(c, &[id])?;
        record_changes!(c, actor_id, "Edited the contact", before, after);
        Ok::<_, diesel::result::Error>(true)
    });
    match result {
        Ok(true) => Ok(()),
        Ok(false) => match exists(conn, id).await? {
            true => Err(AppError::Conflict(CONFLICT.to_owned())),
            false => Err(AppError::NotFound),
        },
        Err(e) if email_taken(&e) => Err(AppError::invalid("email", EMAIL_TAKEN)),
        Err(e) if stale_choice(&e) => Err(AppError::Conflict(STALE_CHOICE.to_owned())),
        Err(e) => Err(e.into()),
    }
}

async fn exists(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    let n: i64 =
        with_db!(conn, c => contacts::table.filter(contacts::id.eq(id)).count().get_result(c).await)?;
    Ok(n > 0)
}

pub async fn delete(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    let deleted = contacts_tx!(conn, c => {
        // A portal account linked to this contact loses the link, not its existence.
        diesel::update(users::table.filter(users::contact_id.eq(id))).set(users::contact_id.eq(None::<i64>)).execute(c).await?;
        let n = diesel::delete(contacts::table.find(id)).execute(c).await?;
        Ok::<_, DbError>(n)
    })?;
    if deleted == 0 {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
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
    let tag_rows: Vec<(i64, i64, String)> = with_db!(conn, c => contact_tags::table
        .inner_join(tags::table)
        .filter(contact_tags::contact_id.eq_any(ids))
        .order(lower(tags::name))
        .select((contact_tags::contact_id, tags::id, tags::name))
        .load(c)
        .await)?;
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
                    last_sign_in: last.map(stamp),
                }
            });
        let contact = Contact {
            id,
            status: pick(&all.statuses, r.status_id),
            traffic_source: pick(&all.traffic_sources, r.traffic_source_id),
            owner: r
                .owner_id
                .and_then(|o| names.get(&o).map(|n| Choice { id: o, name: n.clone(), color: None })),
            services: all.services.iter().filter(|s| service_ids.contains(&s.id)).cloned().collect(),
            version: r.version,
            created_at: stamp(r.created_at),
            updated_at: stamp(r.updated_at),
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
            },
            tags,
        };
        by_id.insert(id, contact);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The client account linked to contact `id`, if any.
pub async fn portal_access(conn: &mut DbConn, id: i64) -> Result<Option<PortalAccess>, DbError> {
    let row: Option<(i64, String, bool, Option<NaiveDateTime>)> = with_db!(conn, c => users::table
        .filter(users::contact_id.eq(id).and(users::kind.eq("client")))
        .select((users::id, users::email, users::is_active, users::last_login_at))
        .first(c)
        .await
        .optional())?;
    Ok(row.map(|(user_id, email, is_active, last)| PortalAccess {
        user_id,
        email,
        is_active,
        last_sign_in: last.map(stamp),
    }))
}

/// Gives contact `id` a client account (or reactivates the one it has) and returns the id of the
/// account, for a set-password link. The contact needs an email; a staff account with that email
/// is never turned into a client.
pub async fn grant_portal_access(
    conn: &mut DbConn,
    actor: &crate::users::repo::Actor,
    id: i64,
) -> Result<i64, AppError> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let contact = get(conn, id).await?.ok_or(AppError::NotFound)?;
    let email = contact.input.email.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::Conflict(
            "Add an email address to this contact first: it is how the client signs in.".into(),
        ));
    }
    // Nobody knows this password; the client chooses theirs through the link.
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let unusable = crate::accounts::password::hash(&format!("{secret:?}")).await;
    let name = contact.display_name();
    let at = now();
    write_tx!(conn, c => {
        let existing: Option<(i64, String, Option<i64>)> = users::table
            .filter(users::email.eq(&email))
            .select((users::id, users::kind, users::contact_id))
            .first(c)
            .await
            .optional()?;
        let user_id = match existing {
            Some((_, kind, _)) if kind != "client" => {
                return Err(AppError::Conflict("A staff account uses this email; it cannot also be a client's.".into()));
            }
            Some((_, _, Some(other))) if other != id => {
                return Err(AppError::Conflict("Another contact's portal account already uses this email.".into()));
            }
            Some((user_id, _, _)) => {
                diesel::update(users::table.find(user_id))
                    .set((users::contact_id.eq(Some(id)), users::is_active.eq(true)))
                    .execute(c)
                    .await?;
                user_id
            }
            None => diesel::insert_into(users::table)
                .values((
                    users::email.eq(&email),
                    users::display_name.eq(&name),
                    users::password_hash.eq(unusable.as_str()),
                    users::kind.eq("client"),
                    users::is_active.eq(true),
                    users::is_admin.eq(false),
                    users::contact_id.eq(Some(id)),
                    users::created_at.eq(at),
                ))
                .returning(users::id)
                .get_result(c)
                .await?,
        };
        // Only one client account per contact.
        diesel::update(users::table.filter(users::contact_id.eq(id).and(users::id.ne(user_id))))
            .set(users::contact_id.eq(None::<i64>))
            .execute(c)
            .await?;
        Ok::<_, AppError>(user_id)
    })
    .inspect(|_| tracing::info!(contact_id = id, actor = actor.id, "portal access granted"))
}

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
    use super::list_cache::{self, KEPT_IDS, MAX_KEPT_IDS};
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
            updated_at: stamp(updated_at),
        });
        row.tags.extend(tag);
    }
    let rows = ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|mut row| {
            row.tags.sort_by_cached_key(|t| t.to_lowercase());
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

/// Every tag with the number of contacts carrying it, by name.
pub async fn tag_counts(conn: &mut DbConn) -> Result<Vec<(Choice, i64)>, DbError> {
    let all: Vec<(i64, String)> = with_db!(conn, c => tags::table
        .order(lower(tags::name))
        .select((tags::id, tags::name))
        .load(c)
        .await)?;
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
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Enter the new name."));
    }
    write_tx!(conn, c => {
        let clash: i64 = tags::table
            .filter(lower(tags::name).eq(name.to_lowercase()).and(tags::id.ne(id)))
            .count()
            .get_result(c)
            .await?;
        if clash > 0 {
            return Err(AppError::invalid("name", "Another tag has this name: merge them instead."));
        }
        let n = diesel::update(tags::table.find(id)).set(tags::name.eq(name)).execute(c).await?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        Ok::<_, AppError>(())
    })
}

/// Deletes a tag; contacts lose it.
pub async fn delete_tag(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    contacts_tx!(conn, c => {
        diesel::delete(contact_tags::table.filter(contact_tags::tag_id.eq(id))).execute(c).await?;
        let n = diesel::delete(tags::table.find(id)).execute(c).await?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        Ok::<_, AppError>(())
    })
}

/// Moves every contact of tag `from` to tag `into`, then deletes `from`.
pub async fn merge_tags(conn: &mut DbConn, from: i64, into: i64) -> Result<(), AppError> {
    if from == into {
        return Err(AppError::invalid("into", "Choose two different tags."));
    }
    contacts_tx!(conn, c => {
        let both: i64 = tags::table.filter(tags::id.eq_any([from, into])).count().get_result(c).await?;
        if both != 2 {
            return Err(AppError::NotFound);
        }
        let already: Vec<i64> = contact_tags::table.filter(contact_tags::tag_id.eq(into)).select(contact_tags::contact_id).load(c).await?;
        let moving: Vec<i64> = contact_tags::table.filter(contact_tags::tag_id.eq(from)).select(contact_tags::contact_id).load(c).await?;
        for contact_id in moving.into_iter().filter(|id| !already.contains(id)) {
            diesel::insert_into(contact_tags::table)
                .values((contact_tags::contact_id.eq(contact_id), contact_tags::tag_id.eq(into)))
                .execute(c)
                .await?;
        }
        diesel::delete(contact_tags::table.filter(contact_tags::tag_id.eq(from))).execute(c).await?;
        diesel::delete(tags::table.find(from)).execute(c).await?;
        Ok::<_, AppError>(())
    })
}

/// What a bulk action does to the selected contacts.
#[derive(Debug, Clone)]
pub enum BulkChange {
    AddTag(String),
    RemoveTag(String),
    SetStatus(Option<i64>),
    SetOwner(Option<i64>),
    Delete,
}

/// Applies `change` to the contacts `ids` in one transaction; returns how many were affected.
/// Every changed contact gets a new version, so a form opened before sees a conflict.
pub async fn bulk_change(
    conn: &mut DbConn,
    actor_id: i64,
    ids: &[i64],
    change: &BulkChange,
) -> Result<usize, AppError> {
    let at = now();
    contacts_tx!(conn, c => {
        let before = match change {
            BulkChange::Delete => BTreeMap::new(),
            _ => snapshots!(c, ids)?,
        };
        let touched = match change {
            BulkChange::AddTag(name) | BulkChange::RemoveTag(name) => {
                let name = name.trim();
                if name.is_empty() {
                    return Err(AppError::invalid("tag", "Enter the tag's name."));
                }
                let existing: Option<i64> = tags::table
                    .filter(lower(tags::name).eq(name.to_lowercase()))
                    .select(tags::id)
                    .first(c)
                    .await
                    .optional()?;
                let adding = matches!(change, BulkChange::AddTag(_));
                let tag_id = match (existing, adding) {
                    (Some(id), _) => id,
                    (None, true) => diesel::insert_into(tags::table).values(tags::name.eq(name)).returning(tags::id).get_result(c).await?,
                    (None, false) => return Ok(0),
                };
                let current: Vec<i64> = contact_tags::table
                    .filter(contact_tags::tag_id.eq(tag_id).and(contact_tags::contact_id.eq_any(ids)))
                    .select(contact_tags::contact_id)
                    .load(c)
                    .await?;
                let existing_ids: Vec<i64> = contacts::table.filter(contacts::id.eq_any(ids)).select(contacts::id).load(c).await?;
                let changed: Vec<i64> = if adding {
                    existing_ids.into_iter().filter(|id| !current.contains(id)).collect()
                } else {
                    current
                };
                for id in &changed {
                    if adding {
                        diesel::insert_into(contact_tags::table)
                            .values((contact_tags::contact_id.eq(id), contact_tags::tag_id.eq(tag_id)))
                            .execute(c)
                            .await?;
                    }
                }
                if !adding {
                    diesel::delete(contact_tags::table.filter(contact_tags::tag_id.eq(tag_id).and(contact_tags::contact_id.eq_any(&changed))))
                        .execute(c)
                        .await?;
                }
                diesel::update(contacts::table.filter(contacts::id.eq_any(&changed)))
                    .set((contacts::version.eq(contacts::version + 1), contacts::updated_at.eq(at), contacts::updated_by.eq(Some(actor_id))))
                    .execute(c)
                    .await?
            }
            BulkChange::SetStatus(status) => {
                diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
                    .set((contacts::status_id.eq(status), contacts::version.eq(contacts::version + 1), contacts::updated_at.eq(at), contacts::updated_by.eq(Some(actor_id))))
                    .execute(c)
                    .await?
            }
            BulkChange::SetOwner(owner) => {
                diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
                    .set((contacts::owner_id.eq(owner), contacts::version.eq(contacts::version + 1), contacts::updated_at.eq(at), contacts::updated_by.eq(Some(actor_id))))
                    .execute(c)
                    .await?
            }
            BulkChange::Delete => {
                diesel::update(users::table.filter(users::contact_id.eq_any(ids))).set(users::contact_id.eq(None::<i64>)).execute(c).await?;
                diesel::delete(contacts::table.filter(contacts::id.eq_any(ids))).execute(c).await?
            }
        };
        if !before.is_empty() {
            let after = snapshots!(c, ids)?;
            record_changes!(c, actor_id, "Changed in a bulk action", before, after);
        }
        Ok::<_, AppError>(touched)
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::repo::{create as create_user, NewAccount};
    use crate::accounts::{password, UserKind};
    use crate::db::testing::each_backend;

    async fn staff(conn: &mut DbConn, email: &str) -> i64 {
        let hash = password::hash("correct horse battery staple").await;
        let new = NewAccount {
            email,
            display_name: email,
            password_hash: &hash,
            kind: UserKind::Staff,
            is_active: true,
            is_admin: false,
        };
        create_user(conn, &new).await.unwrap().id
    }

    fn person(first: &str, last: &str, email: &str, company: &str) -> ContactInput {
        ContactInput {
            first_name: first.into(),
            last_name: last.into(),
            email: email.into(),
            company: company.into(),
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn contacts_round_trip_with_tags_services_and_unique_emails() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let all = choices(&mut conn).await.unwrap();
            assert_eq!(
                all.statuses.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                ["Lead", "Prospect", "Customer", "Inactive"],
                "{name}"
            );
            let mut input = person(" Grace ", "Hopper", "Grace@Navy.MIL", "US Navy");
            input.status_id = Some(all.statuses[2].id);
            input.service_ids = vec![all.services[0].id, all.services[1].id, all.services[0].id];
            input.tags = vec!["VIP".into(), " vip ".into(), "Compilers".into(), "".into()];
            input.owner_id = Some(me);
            let id = create(&mut conn, me, &input).await.unwrap();

            let c = get(&mut conn, id).await.unwrap().unwrap();
            assert_eq!(c.display_name(), "Grace Hopper", "{name}");
            assert_eq!(c.input.email, "grace@navy.mil", "{name}: emails are stored lower-cased");
            assert_eq!(c.status.as_ref().map(|s| s.name.as_str()), Some("Customer"), "{name}");
            assert_eq!(c.services.len(), 2, "{name}");
            assert_eq!(
                c.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
                ["Compilers", "VIP"],
                "{name}"
            );
            assert_eq!(
                (c.owner.as_ref().map(|o| o.id), c.created_by.as_deref(), c.version),
                (Some(me), Some("me@example.com"), 1),
                "{name}"
            );

            // A second contact reuses the existing tag, whatever its case.
            let mut other = person("Ada", "Lovelace", "", "");
            other.tags = vec!["vip".into()];
            create(&mut conn, me, &other).await.unwrap();
            assert_eq!(choices(&mut conn).await.unwrap().tags.len(), 2, "{name}");
            // Contacts without email do not clash; the same email does, in any case.
            create(&mut conn, me, &person("No", "Email", "  ", "")).await.unwrap();
            let dup =
                create(&mut conn, me, &person("Fake", "Grace", "GRACE@navy.mil", "")).await.unwrap_err();
            assert_eq!(dup.field("email").as_deref(), Some(EMAIL_TAKEN), "{name}");

            // Choices must exist, and owners must be staff.
            let stale = ContactInput { first_name: "X".into(), status_id: Some(9999), ..Default::default() };
            assert!(matches!(create(&mut conn, me, &stale).await, Err(AppError::Conflict(_))), "{name}");
            let stale =
                ContactInput { first_name: "X".into(), service_ids: vec![9999], ..Default::default() };
            assert!(matches!(create(&mut conn, me, &stale).await, Err(AppError::Conflict(_))), "{name}");
            let nobody = ContactInput { first_name: "X".into(), owner_id: Some(9999), ..Default::default() };
            assert!(create(&mut conn, me, &nobody).await.unwrap_err().field("owner_id").is_some(), "{name}");

            delete(&mut conn, id).await.unwrap();
            assert!(get(&mut conn, id).await.unwrap().is_none(), "{name}");
            assert_eq!(delete(&mut conn, id).await.unwrap_err(), AppError::NotFound, "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_save_based_on_an_old_version_is_refused() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let id = create(&mut conn, me, &person("Alan", "Turing", "alan@example.com", "")).await.unwrap();
            let mut first_tab = person("Alan M.", "Turing", "alan@example.com", "");
            first_tab.tags = vec!["Maths".into()];
            update(&mut conn, me, id, 1, &first_tab).await.unwrap();
            let second_tab = person("Alan", "Turing", "alan@example.com", "Bletchley Park");
            let conflict = update(&mut conn, me, id, 1, &second_tab).await.unwrap_err();
            assert!(matches!(conflict, AppError::Conflict(_)), "{name}: {conflict:?}");
            let saved = get(&mut conn, id).await.unwrap().unwrap();
            assert_eq!(
                (saved.input.first_name.as_str(), saved.input.company.as_str(), saved.version),
                ("Alan M.", "", 2),
                "{name}: the first save stands"
            );
            assert_eq!(saved.input.tags, vec!["Maths".to_owned()], "{name}");
            update(&mut conn, me, id, 2, &second_tab).await.unwrap();
            assert_eq!(
                get(&mut conn, id).await.unwrap().unwrap().input.tags,
                Vec::<String>::new(),
                "{name}: tags are replaced"
            );
            assert_eq!(
                update(&mut conn, me, 9999, 1, &second_tab).await.unwrap_err(),
                AppError::NotFound,
                "{name}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn bulk_actions_change_only_the_selected_contacts() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let all = choices(&mut conn).await.unwrap();
            let a = create(&mut conn, me, &person("A", "One", "a@example.com", "")).await.unwrap();
            let b = create(&mut conn, me, &person("B", "Two", "b@example.com", "")).await.unwrap();
            let untouched = create(&mut conn, me, &person("C", "Three", "c@example.com", "")).await.unwrap();

            assert_eq!(
                bulk_change(&mut conn, me, &[a, b], &BulkChange::AddTag("Newsletter".into())).await.unwrap(),
                2,
                "{name}"
            );
            assert_eq!(
                bulk_change(&mut conn, me, &[a, b], &BulkChange::AddTag("newsletter".into())).await.unwrap(),
                0,
                "{name}: already tagged"
            );
            bulk_change(&mut conn, me, &[a, b], &BulkChange::SetStatus(Some(all.statuses[1].id)))
                .await
                .unwrap();
            bulk_change(&mut conn, me, &[b], &BulkChange::SetOwner(Some(me))).await.unwrap();
            bulk_change(&mut conn, me, &[b], &BulkChange::RemoveTag("NEWSLETTER".into())).await.unwrap();
            let (ca, cb, cc) = (
                get(&mut conn, a).await.unwrap().unwrap(),
                get(&mut conn, b).await.unwrap().unwrap(),
                get(&mut conn, untouched).await.unwrap().unwrap(),
            );
            assert_eq!(ca.input.tags, vec!["Newsletter".to_owned()], "{name}");
            assert!(cb.input.tags.is_empty(), "{name}");
            assert_eq!(
                (ca.input.status_id, cb.input.owner_id),
                (Some(all.statuses[1].id), Some(me)),
                "{name}"
            );
            assert_eq!(
                (ca.version, cb.version, cc.version),
                (3, 5, 1),
                "{name}: each change is a new version"
            );
            assert_eq!((cc.input.status_id, cc.input.tags.len()), (None, 0), "{name}");
            assert!(
                bulk_change(&mut conn, me, &[a], &BulkChange::AddTag("  ".into()))
                    .await
                    .unwrap_err()
                    .field("tag")
                    .is_some(),
                "{name}"
            );

            assert_eq!(bulk_change(&mut conn, me, &[a, b], &BulkChange::Delete).await.unwrap(), 2, "{name}");
            assert_eq!(list(&mut conn, &ContactQuery::default()).await.unwrap().total, 1, "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn tags_are_counted_renamed_merged_and_deleted() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let mut a = person("A", "One", "", "");
            a.tags = vec!["Clients".into(), "Customers".into()];
            let a = create(&mut conn, me, &a).await.unwrap();
            let mut b = person("B", "Two", "", "");
            b.tags = vec!["Customers".into()];
            let b = create(&mut conn, me, &b).await.unwrap();
            let counts = tag_counts(&mut conn).await.unwrap();
            assert_eq!(
                counts.iter().map(|(t, n)| (t.name.as_str(), *n)).collect::<Vec<_>>(),
                [("Clients", 1), ("Customers", 2)],
                "{name}"
            );
            let (clients, customers) = (counts[0].0.id, counts[1].0.id);

            assert!(
                rename_tag(&mut conn, clients, "CUSTOMERS").await.unwrap_err().field("name").is_some(),
                "{name}"
            );
            rename_tag(&mut conn, clients, "Clients (old)").await.unwrap();
            merge_tags(&mut conn, clients, customers).await.unwrap();
            let counts = tag_counts(&mut conn).await.unwrap();
            assert_eq!(
                counts.iter().map(|(t, n)| (t.name.as_str(), *n)).collect::<Vec<_>>(),
                [("Customers", 2)],
                "{name}: no duplicate on A"
            );
            assert_eq!(
                get(&mut conn, a).await.unwrap().unwrap().input.tags,
                vec!["Customers".to_owned()],
                "{name}"
            );
            delete_tag(&mut conn, customers).await.unwrap();
            assert!(get(&mut conn, b).await.unwrap().unwrap().input.tags.is_empty(), "{name}");
            assert_eq!(delete_tag(&mut conn, customers).await.unwrap_err(), AppError::NotFound, "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_list_shows_every_change_at_once_whoever_made_it() {
        use crate::settings::{repo as settings, SettingsList};
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let all = choices(&mut conn).await.unwrap();
            let (lead, prospect) = (all.statuses[0].id, all.statuses[1].id);
            let mut ada = person("Ada", "Lovelace", "ada@example.com", "");
            ada.status_id = Some(prospect);
            let ada = create(&mut conn, me, &ada).await.unwrap();
            let mut alan = person("Alan", "Turing", "alan@example.com", "");
            alan.status_id = Some(lead);
            let alan = create(&mut conn, me, &alan).await.unwrap();
            let names = |page: &ContactPage| page.rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
            let by_name = ContactQuery::default();
            let by_status = ContactQuery { sort: SortKey::Status, ..Default::default() };
            let tagged = |tag: i64| ContactQuery { tag_id: Some(tag), ..Default::default() };
            let search = ContactQuery { search: "lovelace".into(), ..Default::default() };
            // Seen once, so the server keeps each list.
            assert_eq!(
                names(&list(&mut conn, &by_name).await.unwrap()),
                ["Ada Lovelace", "Alan Turing"],
                "{name}"
            );
            assert_eq!(
                names(&list(&mut conn, &by_status).await.unwrap()),
                ["Alan Turing", "Ada Lovelace"],
                "{name}"
            );
            assert_eq!(list(&mut conn, &search).await.unwrap().total, 1, "{name}");

            // A form edit renames Ada: the kept order and search are not used again.
            let mut renamed = person("Ada", "Byron", "ada@example.com", "");
            renamed.status_id = Some(prospect);
            update(&mut conn, me, ada, 1, &renamed).await.unwrap();
            assert_eq!(
                names(&list(&mut conn, &by_name).await.unwrap()),
                ["Ada Byron", "Alan Turing"],
                "{name}"
            );
            assert_eq!(
                list(&mut conn, &search).await.unwrap().total,
                0,
                "{name}: the old name no longer matches"
            );

            // Reordering statuses reorders the list sorted by status.
            settings::move_item(&mut conn, SettingsList::Statuses, prospect, true).await.unwrap();
            assert_eq!(
                names(&list(&mut conn, &by_status).await.unwrap()),
                ["Ada Byron", "Alan Turing"],
                "{name}"
            );

            // A bulk tag shows in the tag filter.
            bulk_change(&mut conn, me, &[alan], &BulkChange::AddTag("Pioneer".into())).await.unwrap();
            let pioneer = choices(&mut conn).await.unwrap().tags[0].id;
            assert_eq!(names(&list(&mut conn, &tagged(pioneer)).await.unwrap()), ["Alan Turing"], "{name}");
            bulk_change(&mut conn, me, &[alan], &BulkChange::RemoveTag("Pioneer".into())).await.unwrap();
            assert_eq!(list(&mut conn, &tagged(pioneer)).await.unwrap().total, 0, "{name}");
            // Deleting a tag takes it off its contacts (a cascade in the database).
            bulk_change(&mut conn, me, &[alan], &BulkChange::AddTag("Pioneer".into())).await.unwrap();
            assert_eq!(list(&mut conn, &tagged(pioneer)).await.unwrap().total, 1, "{name}");
            delete_tag(&mut conn, pioneer).await.unwrap();
            assert_eq!(list(&mut conn, &tagged(pioneer)).await.unwrap().total, 0, "{name}");

            // A change made outside the app (another tool, a person at the SQL prompt) counts too.
            with_db!(&mut conn, c => diesel::delete(contacts::table.find(alan)).execute(c).await).unwrap();
            assert_eq!(names(&list(&mut conn, &by_name).await.unwrap()), ["Ada Byron"], "{name}");
            assert_eq!(list(&mut conn, &by_status).await.unwrap().total, 1, "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_changes_creating_the_same_new_tags_all_succeed() {
        // A bulk change and form saves that create the same new tag at the same moment: each
        // takes the contacts counter first, so they queue (no deadlock, no lost tag).
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let bulk_target =
                create(&mut conn, me, &person("Ada", "Lovelace", "ada@example.com", "")).await.unwrap();
            let mut saved = Vec::new();
            for i in 0..6 {
                let email = format!("p{i}@example.com");
                saved.push(create(&mut conn, me, &person("P", &format!("{i}"), &email, "")).await.unwrap());
            }
            drop(conn);
            let mut tasks = Vec::new();
            for (i, id) in saved.iter().copied().enumerate() {
                let tag = format!("Fresh {i}");
                let pool = db.pool.clone();
                let bulk_tag = tag.clone();
                tasks.push(tokio::spawn(async move {
                    let mut conn = pool.get().await.unwrap();
                    bulk_change(&mut conn, me, &[bulk_target], &BulkChange::AddTag(bulk_tag))
                        .await
                        .map(|_| ())
                }));
                let pool = db.pool.clone();
                tasks.push(tokio::spawn(async move {
                    let mut conn = pool.get().await.unwrap();
                    let mut input = person("P", &format!("{i}"), &format!("p{i}@example.com"), "");
                    input.tags = vec![tag];
                    update(&mut conn, me, id, 1, &input).await
                }));
            }
            for task in tasks {
                task.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
            let mut conn = db.pool.get().await.unwrap();
            assert_eq!(get(&mut conn, bulk_target).await.unwrap().unwrap().input.tags.len(), 6, "{name}");
            assert_eq!(choices(&mut conn).await.unwrap().tags.len(), 6, "{name}: one tag per name");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn pages_past_the_kept_ids_follow_the_same_order() {
        use super::super::list_cache::{KEPT_IDS, MAX_KEPT_IDS};
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            staff(&mut conn, "me@example.com").await;
            let n = KEPT_IDS + 3 * CONTACTS_PER_PAGE;
            super::super::demo::seed(&mut conn, n as usize).await.unwrap();
            let query = |page: i64| ContactQuery { page, sort: SortKey::Email, ..Default::default() };
            let last = (n + CONTACTS_PER_PAGE - 1) / CONTACTS_PER_PAGE;
            let kept_pages = KEPT_IDS / CONTACTS_PER_PAGE;
            assert!(last * CONTACTS_PER_PAGE > MAX_KEPT_IDS, "the last page is past any kept list");
            // In this order: kept at first; past the kept ids and past what a list keeps (OFFSET);
            // then just past the kept ids, which extends the list.
            let mut pages = std::collections::BTreeMap::new();
            for page in [kept_pages - 1, kept_pages, last, last - 1, kept_pages + 1, last] {
                let found = list(&mut conn, &query(page)).await.unwrap();
                assert_eq!((found.total, found.pages), (n, last), "{name}");
                assert_eq!(found.rows.len(), CONTACTS_PER_PAGE as usize, "{name}: page {page}");
                let emails: Vec<String> =
                    found.rows.into_iter().map(|r| r.email.unwrap_or_default()).collect();
                if let Some(before) = pages.insert(page, emails.clone()) {
                    assert_eq!(before, emails, "{name}: page {page} read twice");
                }
            }
            let emails: Vec<String> = pages.into_values().flatten().collect();
            let mut sorted = emails.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(emails.len(), 5 * CONTACTS_PER_PAGE as usize, "{name}");
            assert_eq!(emails, sorted, "{name}: ascending across kept, extended and OFFSET pages");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_list_searches_filters_sorts_and_pages() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let me = staff(&mut conn, "me@example.com").await;
            let all = choices(&mut conn).await.unwrap();
            for i in 0..30 {
                let mut c = person(
                    &format!("Person{i:02}"),
                    &format!("Zed{:02}", 29 - i),
                    &format!("p{i}@example.com"),
                    "Acme",
                );
                c.status_id = Some(all.statuses[i % 2].id);
                if i % 3 == 0 {
                    c.tags = vec!["Even-ish".into()];
                }
                create(&mut conn, me, &c).await.unwrap();
            }
            let mut grace = person("Grace", "Hopper", "grace@navy.mil", "US Navy");
            grace.phone = "+1 555 0100".into();
            grace.service_ids = vec![all.services[3].id];
            grace.traffic_source_id = Some(all.traffic_sources[1].id);
            grace.owner_id = Some(me);
            let grace_id = create(&mut conn, me, &grace).await.unwrap();

            let q = |f: fn(&mut ContactQuery)| {
                let mut q = ContactQuery::default();
                f(&mut q);
                q
            };
            let first = list(&mut conn, &ContactQuery::default()).await.unwrap();
            assert_eq!((first.total, first.pages, first.rows.len()), (31, 2, 25), "{name}");
            assert_eq!(first.rows[0].name, "Grace Hopper", "{name}: by last name");
            assert_eq!(first.rows[1].name, "Person29 Zed00", "{name}");
            let last = list(&mut conn, &q(|q| q.page = 2)).await.unwrap();
            assert_eq!(last.rows.len(), 6, "{name}");
            assert_eq!(
                list(&mut conn, &q(|q| q.page = 9)).await.unwrap().rows.len(),
                0,
                "{name}: past the end is empty"
            );
            let far = list(&mut conn, &q(|q| q.page = i64::MAX)).await.unwrap();
            assert_eq!((far.total, far.rows.len()), (31, 0), "{name}: far past the end is empty too");
            let desc = list(&mut conn, &q(|q| q.descending = true)).await.unwrap();
            assert_eq!(desc.rows[0].name, "Person00 Zed29", "{name}");

            // Short terms are below a trigram: still found (SQLite reads every row for them).
            for term in ["HOPPER", "navy.mil", "555 0100", "us nav", "Ho"] {
                let found = list(&mut conn, &ContactQuery { search: term.into(), ..Default::default() })
                    .await
                    .unwrap();
                assert_eq!(
                    found.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
                    vec![grace_id],
                    "{name}: {term}"
                );
            }
            for term in ["%", "hop\"per", "\"hopper\"", "hopper*"] {
                assert_eq!(
                    list(&mut conn, &ContactQuery { search: term.into(), ..Default::default() })
                        .await
                        .unwrap()
                        .total,
                    0,
                    "{name}: {term} is taken literally"
                );
            }

            let lead = all.statuses[0].id;
            assert_eq!(
                list(&mut conn, &ContactQuery { status_id: Some(lead), ..Default::default() })
                    .await
                    .unwrap()
                    .total,
                15,
                "{name}"
            );
            let tag = choices(&mut conn).await.unwrap().tags[0].id;
            assert_eq!(
                list(&mut conn, &ContactQuery { tag_id: Some(tag), ..Default::default() })
                    .await
                    .unwrap()
                    .total,
                10,
                "{name}"
            );
            for query in [
                ContactQuery { service_id: Some(all.services[3].id), ..Default::default() },
                ContactQuery { traffic_source_id: Some(all.traffic_sources[1].id), ..Default::default() },
                ContactQuery { owner_id: Some(me), ..Default::default() },
            ] {
                let found = list(&mut conn, &query).await.unwrap();
                assert_eq!(
                    found.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
                    vec![grace_id],
                    "{name}: {query:?}"
                );
                assert_eq!(found.rows[0].owner.as_deref(), Some("me@example.com"), "{name}");
            }
            let by_status =
                list(&mut conn, &ContactQuery { sort: SortKey::Status, ..Default::default() }).await.unwrap();
            assert_eq!(by_status.rows[0].status.as_ref().map(|s| s.name.as_str()), Some("Lead"), "{name}");

            let (table, total) = status_counts(&mut conn).await.unwrap();
            assert_eq!(total, 31, "{name}");
            assert_eq!(table.iter().map(|s| s.contacts).collect::<Vec<_>>(), [15, 15, 0, 0], "{name}");
        }
    }
}
