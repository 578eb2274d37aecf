//! Extra-field definitions (sections, fields, options) and the contacts' stored values, for both
//! backends. This module owns `field_sections`, `contact_fields`, `field_options` and
//! `contact_field_values`; the contacts repository calls it inside its own transactions.
//!
//! Every change to the definitions runs in `contacts_tx`: on PostgreSQL it takes the contacts
//! counter's row first and the triggers then take the fields counter's, the same order in every
//! transaction, so two of them never wait on each other.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::sql::{Condition, FieldMatch, FieldOrder, SortBy};
use super::values::{self, Stored};
use super::{
    ExtraInput, ExtraShown, FieldCatalog, FieldDef, FieldForm, FieldKind, FieldOption, Section,
    TypeChangePreview,
};
use crate::clock::{now, Clock};
use crate::db::schema::{contact_field_values, contact_fields, contacts, field_options, field_sections};
use crate::db::{fold, is_unique_violation_of, with_db, DbConn, DbError};
use crate::error::{AppError, FieldErrors};

/// Contacts whose search text is rewritten per transaction when a searchable field changes, so
/// that no transaction holds the contacts for long at 100,000 contacts.
const BATCH: i64 = 1_000;

#[derive(Queryable, Selectable)]
#[diesel(table_name = contact_fields)]
struct FieldRow {
    id: i64,
    field_key: String,
    label: String,
    kind: String,
    help: String,
    required: bool,
    is_unique: bool,
    default_value: String,
    section_id: Option<i64>,
    searchable: bool,
    portal_visible: bool,
    decimals: i32,
    unit: String,
}

/// The catalog this server read last, per database: `(instance, fields counter, catalog)`. A
/// few databases at most (tests open many; a server one).
static CATALOGS: Mutex<Vec<(String, i64, Arc<FieldCatalog>)>> = Mutex::new(Vec::new());
const CATALOG_DATABASES: usize = 8;

/// Every section and field, in form order, with the fields' options.
///
/// Read from this server's copy while the database's fields counter (`data_versions`, moved by
/// triggers on every change to sections, fields and options; migration 10) is the one it was read
/// at, so a change made through any app server is seen by all at once. A copy read inside a
/// transaction may hold that transaction's uncommitted changes: it is used, never kept.
pub async fn catalog(conn: &mut DbConn) -> QueryResult<FieldCatalog> {
    let (instance, version) = crate::db::data_version(conn, "fields").await?;
    let kept = {
        let guard = CATALOGS.lock().unwrap_or_else(|e| e.into_inner());
        guard.iter().find(|(i, v, _)| *i == instance && *v == version).map(|(_, _, c)| Arc::clone(c))
    };
    if let Some(kept) = kept {
        return Ok(FieldCatalog::clone(&kept));
    }
    let read = read_catalog(conn).await?;
    if !conn.in_transaction() {
        let mut guard = CATALOGS.lock().unwrap_or_else(|e| e.into_inner());
        guard.retain(|(i, _, _)| *i != instance);
        if guard.len() >= CATALOG_DATABASES {
            guard.clear();
        }
        guard.push((instance, version, Arc::new(read.clone())));
    }
    Ok(read)
}

async fn read_catalog(conn: &mut DbConn) -> QueryResult<FieldCatalog> {
    let sections: Vec<(i64, String)> = with_db!(conn, c => field_sections::table
        .order((field_sections::position, field_sections::id))
        .select((field_sections::id, field_sections::name))
        .load(c)
        .await)?;
    let rows: Vec<(FieldRow, Option<i32>)> = with_db!(conn, c => contact_fields::table
        .left_join(field_sections::table)
        .order((
            field_sections::position.nullable().is_null(),
            field_sections::position.nullable(),
            contact_fields::position,
            contact_fields::id,
        ))
        .select((FieldRow::as_select(), field_sections::position.nullable()))
        .load(c)
        .await)?;
    let options: Vec<(i64, i64, String, String, bool)> = with_db!(conn, c => field_options::table
        .order((field_options::field_id, field_options::position, field_options::id))
        .select((field_options::field_id, field_options::id, field_options::label, field_options::color, field_options::retired))
        .load(c)
        .await)?;
    let mut by_field: BTreeMap<i64, Vec<FieldOption>> = BTreeMap::new();
    for (field_id, id, label, color, retired) in options {
        by_field.entry(field_id).or_default().push(FieldOption { id, label, color, retired });
    }
    let fields = rows
        .into_iter()
        .map(|(r, _)| FieldDef {
            id: r.id,
            key: r.field_key,
            label: r.label,
            kind: FieldKind::parse(&r.kind).unwrap_or_default(),
            help: r.help,
            required: r.required,
            unique: r.is_unique,
            default_value: r.default_value,
            section_id: r.section_id,
            searchable: r.searchable,
            portal_visible: r.portal_visible,
            decimals: r.decimals,
            unit: r.unit,
            options: by_field.remove(&r.id).unwrap_or_default(),
        })
        .collect();
    Ok(FieldCatalog {
        sections: sections.into_iter().map(|(id, name)| Section { id, name }).collect(),
        fields,
    })
}

async fn field(conn: &mut DbConn, id: i64) -> Result<FieldDef, AppError> {
    catalog(conn).await?.fields.into_iter().find(|f| f.id == id).ok_or(AppError::NotFound)
}

/// A key for a new field: the label in ASCII letters, digits and underscores ("Größe (cm)" →
/// `grosse_cm`), made unique with a number.
fn key_from(label: &str, taken: &[String]) -> String {
    let ascii = deunicode::deunicode(label).to_lowercase();
    let mut key = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let mut key: String = key.trim_end_matches('_').chars().take(40).collect();
    if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
        key = format!("field_{key}").trim_end_matches('_').to_owned();
    }
    let base = key.clone();
    let mut n = 2;
    while taken.contains(&key) {
        key = format!("{base}_{n}");
        n += 1;
    }
    key
}

fn valid_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn clean_name(name: &str) -> String {
    name.replace('\0', "").trim().to_owned()
}

/// The definition a form describes, checked: messages keyed by the form's field names.
fn definition(
    form: &FieldForm,
    kind: FieldKind,
    decimals: i32,
    clock: &Clock,
) -> Result<FieldDef, FieldErrors> {
    let mut errors = FieldErrors::new();
    let label = clean_name(&form.label);
    if label.is_empty() {
        errors.add("label", "Enter a label.");
    } else if label.chars().count() > 100 {
        errors.add("label", "Use at most 100 characters.");
    }
    let unique = form.unique.is_some();
    if unique && !kind.can_be_unique() {
        errors.add("unique", format!("A {} field cannot be unique.", kind.label().to_lowercase()));
    }
    let unit = clean_name(&form.unit);
    if unit.chars().count() > 12 {
        errors.add("unit", "Use at most 12 characters, like EUR or kg.");
    }
    let def = FieldDef {
        label,
        kind,
        help: clean_name(&form.help).chars().take(500).collect(),
        required: form.required.is_some(),
        unique,
        default_value: clean_name(&form.default_value),
        section_id: form.section_id.trim().parse().ok(),
        searchable: form.searchable.is_some() && kind.is_text(),
        portal_visible: form.portal == "shown",
        decimals,
        unit: if kind == FieldKind::Decimal { unit } else { String::new() },
        ..FieldDef::default()
    };
    if !def.default_value.is_empty() && def.unique {
        errors.add(
            "default_value",
            "A unique field cannot have a default: every new contact would get the same value.",
        );
    } else if !def.default_value.is_empty() && !kind.has_options() {
        let probe = FieldDef { required: false, ..def.clone() };
        if let Err(message) =
            values::parse_labels(&probe, std::slice::from_ref(&def.default_value), &[], clock)
        {
            errors.add("default_value", message);
        }
    }
    if errors.is_empty() {
        Ok(def)
    } else {
        Err(errors)
    }
}

fn decimals_of(form: &FieldForm, kind: FieldKind) -> Result<i32, AppError> {
    if kind != FieldKind::Decimal {
        return Ok(0);
    }
    match form.decimals.trim() {
        "" => Ok(2),
        d => d
            .parse::<i32>()
            .ok()
            .filter(|d| (0..=6).contains(d))
            .ok_or_else(|| AppError::invalid("decimals", "Enter a number of decimals from 0 to 6.")),
    }
}

fn invalid(errors: FieldErrors, form: &FieldForm) -> AppError {
    let echo = form.echo();
    let echo: Vec<(&str, &str)> = echo.iter().map(|(k, v)| (*k, v.as_str())).collect();
    AppError::Invalid(errors.with_values(&echo))
}

/// Adds a field from the settings form; returns its id.
pub async fn create_field(conn: &mut DbConn, form: &FieldForm) -> Result<i64, AppError> {
    let kind = FieldKind::parse(&form.kind).ok_or_else(|| AppError::invalid("kind", "Choose a type."))?;
    let decimals = decimals_of(form, kind)?;
    let clock = conn.clock();
    let def = definition(form, kind, decimals, &clock).map_err(|e| invalid(e, form))?;
    let options: Vec<String> = form.options.lines().map(clean_name).filter(|o| !o.is_empty()).collect();
    let options: Vec<String> = if kind.has_options() { options } else { Vec::new() };
    if kind.has_options() && options.is_empty() {
        let mut errors = FieldErrors::new();
        errors.add("options", "Enter at least one option, one per line.");
        return Err(invalid(errors, form));
    }
    if let Some(long) = options.iter().find(|o| o.chars().count() > 100) {
        let mut errors = FieldErrors::new();
        errors.add("options", format!("Use at most 100 characters per option: “{long}” is longer."));
        return Err(invalid(errors, form));
    }
    if kind.has_options()
        && !def.default_value.is_empty()
        && !options.iter().any(|o| fold(o) == fold(&def.default_value))
    {
        let mut errors = FieldErrors::new();
        errors.add("default_value", "Write the label of one of the options, or leave it empty.");
        return Err(invalid(errors, form));
    }
    let at = now();
    conn.contacts_tx(async |c: &mut DbConn| {
        let taken: Vec<String> =
            with_db!(c, c => contact_fields::table.select(contact_fields::field_key).load(c).await)?;
        let key = key_from(&def.label, &taken);
        let position: Option<i32> = with_db!(c, c => contact_fields::table
            .select(diesel::dsl::max(contact_fields::position))
            .get_result(c)
            .await)?;
        let id: i64 = with_db!(c, c => diesel::insert_into(contact_fields::table)
            .values((
                contact_fields::field_key.eq(&key),
                contact_fields::label.eq(&def.label),
                contact_fields::kind.eq(kind.key()),
                contact_fields::help.eq(&def.help),
                contact_fields::required.eq(def.required),
                contact_fields::is_unique.eq(def.unique),
                contact_fields::default_value.eq(&def.default_value),
                contact_fields::section_id.eq(def.section_id),
                contact_fields::position.eq(position.unwrap_or(0) + 1),
                contact_fields::searchable.eq(def.searchable),
                contact_fields::portal_visible.eq(def.portal_visible),
                contact_fields::decimals.eq(decimals),
                contact_fields::unit.eq(&def.unit),
                contact_fields::created_at.eq(at),
                contact_fields::updated_at.eq(at),
            ))
            .returning(contact_fields::id)
            .get_result(c)
            .await)?;
        let mut seen = Vec::new();
        for (i, label) in options.iter().enumerate() {
            if seen.contains(&fold(label)) {
                continue;
            }
            seen.push(fold(label));
            insert_option(c, id, label, "#64748b", i as i32 + 1).await?;
        }
        Ok::<_, diesel::result::Error>(id)
    })
    .await
    .map_err(|e| field_error(e, form))
}

fn field_error(err: diesel::result::Error, form: &FieldForm) -> AppError {
    if is_unique_violation_of(&err, "contact_fields", "field_key") {
        let mut errors = FieldErrors::new();
        errors.add("label", "Someone added a field with this label at the same moment. Save again.");
        invalid(errors, form)
    } else if matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)
    ) {
        let mut errors = FieldErrors::new();
        errors.add("section_id", "That section no longer exists. Choose another.");
        invalid(errors, form)
    } else {
        err.into()
    }
}

async fn insert_option(
    c: &mut DbConn,
    field_id: i64,
    label: &str,
    color: &str,
    position: i32,
) -> QueryResult<i64> {
    with_db!(c, c => diesel::insert_into(field_options::table)
        .values((
            field_options::field_id.eq(field_id),
            field_options::label.eq(label),
            field_options::label_key.eq(fold(label)),
            field_options::color.eq(color),
            field_options::position.eq(position),
        ))
        .returning(field_options::id)
        .get_result(c)
        .await)
}

/// Saves a field's settings (its type changes with [`change_type`]). Turning "unique" on when
/// contacts share a value is refused with their names; turning "searchable" on or off rewrites
/// the search text of the contacts holding a value, in batches.
pub async fn update_field(conn: &mut DbConn, id: i64, form: &FieldForm) -> Result<(), AppError> {
    let old = field(conn, id).await?;
    let clock = conn.clock();
    let def = definition(form, old.kind, old.decimals, &clock).map_err(|e| invalid(e, form))?;
    let offered = |label: &str| old.offered().any(|o| fold(&o.label) == fold(label));
    if old.kind.has_options() && !def.default_value.is_empty() && !offered(&def.default_value) {
        let mut errors = FieldErrors::new();
        errors.add("default_value", "Write the label of one of the offered options, or leave it empty.");
        return Err(invalid(errors, form));
    }
    if def.unique && !old.unique {
        let clashes = duplicates(conn, id).await?;
        if !clashes.is_empty() {
            let mut errors = FieldErrors::new();
            errors.add(
                "unique",
                format!(
                    "These contacts share a value, so the field cannot be unique yet: {}.",
                    clashes.join("; ")
                ),
            );
            return Err(invalid(errors, form));
        }
    }
    conn.contacts_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::update(contact_fields::table.find(id))
                .set((
                    contact_fields::label.eq(&def.label),
                    contact_fields::help.eq(&def.help),
                    contact_fields::required.eq(def.required),
                    contact_fields::is_unique.eq(def.unique),
                    contact_fields::default_value.eq(&def.default_value),
                    contact_fields::section_id.eq(def.section_id),
                    contact_fields::searchable.eq(def.searchable),
                    contact_fields::portal_visible.eq(def.portal_visible),
                    contact_fields::unit.eq(&def.unit),
                    contact_fields::updated_at.eq(now()),
                ))
                .execute(c)
                .await)?;
        Ok::<_, diesel::result::Error>(())
    })
    .await
    .map_err(|e| field_error(e, form))?;
    if def.searchable != old.searchable {
        refresh_search_text_of_field(conn, id).await?;
    }
    match sync_unique_keys(conn, id).await {
        Err(e) if is_unique_violation_of(&e, "contact_field_values", "unique_key") => {
            // A value saved twice while the keys were written: the field goes back to not
            // unique, and the person is told.
            conn.contacts_tx(async |c: &mut DbConn| {
                with_db!(c, c => diesel::update(contact_fields::table.find(id))
                    .set(contact_fields::is_unique.eq(false))
                    .execute(c)
                    .await)
            })
            .await?;
            sync_unique_keys(conn, id).await?;
            let mut errors = FieldErrors::new();
            errors.add("unique", "Two contacts were just given the same value. Look at them and save again.");
            Err(invalid(errors, form))
        }
        other => Ok(other?),
    }
}

/// Brings the unique keys of field `id`'s values in line with its "unique" setting, a batch of
/// contacts per transaction, so that contact saves never wait behind the whole field. Each batch
/// reads the setting afresh: two people switching it at once end with the keys of whichever
/// saved last. Runs on every save of the field's settings and costs one lookup when the keys are
/// in line, so a run cut short (a closed tab drops the request) is completed by the next save;
/// until then the save form's check compares the values themselves.
async fn sync_unique_keys(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    let unique = async |c: &mut DbConn| -> QueryResult<bool> {
        with_db!(c, c => contact_fields::table.find(id).select(contact_fields::is_unique).first(c).await)
    };
    let values = contact_field_values::table.filter(contact_field_values::field_id.eq(id));
    let out_of_line: Option<i64> = if unique(conn).await? {
        with_db!(conn, c => values.filter(contact_field_values::unique_key.is_null()).select(contact_field_values::contact_id).first(c).await.optional())?
    } else {
        with_db!(conn, c => values.filter(contact_field_values::unique_key.is_not_null()).select(contact_field_values::contact_id).first(c).await.optional())?
    };
    if out_of_line.is_none() {
        return Ok(());
    }
    let ids = holders(conn, id).await?;
    for batch in ids.chunks(BATCH as usize) {
        conn.contacts_tx(async |c: &mut DbConn| {
            let batch = values.filter(contact_field_values::contact_id.eq_any(batch));
            if unique(c).await? {
                with_db!(c, c => diesel::update(batch)
                    .set(contact_field_values::unique_key.eq(contact_field_values::value_key.nullable()))
                    .execute(c)
                    .await)
            } else {
                with_db!(c, c => diesel::update(batch)
                    .set(contact_field_values::unique_key.eq(None::<String>))
                    .execute(c)
                    .await)
            }
        })
        .await?;
    }
    Ok(())
}

/// The contacts that share a value of field `id`, as "value: name, name".
async fn duplicates(conn: &mut DbConn, id: i64) -> Result<Vec<String>, DbError> {
    let keys: Vec<String> = with_db!(conn, c => contact_field_values::table
        .filter(contact_field_values::field_id.eq(id))
        .group_by(contact_field_values::value_key)
        .having(diesel::dsl::count_star().gt(1))
        .select(contact_field_values::value_key)
        .limit(20)
        .load(c)
        .await)?;
    let rows: Vec<(String, String, i64, String, String, String)> = with_db!(conn, c => contact_field_values::table
        .inner_join(contacts::table)
        .filter(contact_field_values::field_id.eq(id).and(contact_field_values::value_key.eq_any(&keys)))
        .order((contact_field_values::value_key, contacts::id))
        .select((contact_field_values::value_key, contact_field_values::value, contacts::id, contacts::first_name, contacts::last_name, contacts::company))
        .load(c)
        .await)?;
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    for (key, value, _, first, last, company) in rows {
        let name = crate::contacts::display_name(&first, &last, &company);
        match groups.iter_mut().find(|(k, ..)| *k == key) {
            Some((_, _, names)) => names.push(name),
            None => groups.push((key, value, vec![name])),
        }
    }
    Ok(groups.into_iter().map(|(_, value, names)| format!("{value}: {}", names.join(", "))).collect())
}

/// The contacts holding a value of field `id`.
async fn holders(conn: &mut DbConn, id: i64) -> QueryResult<Vec<i64>> {
    with_db!(conn, c => contact_field_values::table
        .filter(contact_field_values::field_id.eq(id))
        .select(contact_field_values::contact_id)
        .distinct()
        .order(contact_field_values::contact_id)
        .load(c)
        .await)
}

/// Rewrites the search text of the contacts holding field `id`, a batch per transaction.
async fn refresh_search_text_of_field(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    let ids = holders(conn, id).await?;
    refresh_search_text(conn, &ids).await
}

async fn refresh_search_text(conn: &mut DbConn, ids: &[i64]) -> Result<(), DbError> {
    for batch in ids.chunks(BATCH as usize) {
        conn.contacts_tx(async |c: &mut DbConn| crate::contacts::repo::refresh_search_text(c, batch).await)
            .await?;
    }
    Ok(())
}

/// How many contacts hold a value of field `id` (what deleting it would remove).
pub async fn holding(conn: &mut DbConn, id: i64) -> Result<i64, DbError> {
    Ok(with_db!(conn, c => contact_field_values::table
        .filter(contact_field_values::field_id.eq(id))
        .select(diesel::dsl::count(contact_field_values::contact_id).aggregate_distinct())
        .get_result(c)
        .await)?)
}

/// Deletes field `id` with every contact's value of it, in one transaction; the change history
/// keeps the values the contacts had. Returns how many contacts held one.
pub async fn delete_field(conn: &mut DbConn, id: i64) -> Result<i64, AppError> {
    let def = field(conn, id).await?;
    let ids = holders(conn, id).await?;
    // One transaction, as the person confirmed it: the values and the field go together (one
    // statement per table; `bench/run.sh` times it at 100,000 contacts).
    conn.contacts_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::delete(contact_field_values::table.filter(contact_field_values::field_id.eq(id))).execute(c).await)?;
        with_db!(c, c => diesel::delete(field_options::table.filter(field_options::field_id.eq(id))).execute(c).await)?;
        with_db!(c, c => diesel::delete(contact_fields::table.find(id)).execute(c).await)?;
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    if def.searchable {
        refresh_search_text(conn, &ids).await?;
    }
    Ok(ids.len() as i64)
}

/// Moves a field up or down among the fields of its section.
pub async fn move_field(conn: &mut DbConn, id: i64, up: bool) -> Result<(), AppError> {
    let catalog = catalog(conn).await?;
    let section = catalog.fields.iter().find(|f| f.id == id).ok_or(AppError::NotFound)?.section_id;
    let mut order: Vec<i64> =
        catalog.fields.iter().filter(|f| f.section_id == section).map(|f| f.id).collect();
    if !swap(&mut order, id, up) {
        return Ok(());
    }
    conn.contacts_tx(async |c: &mut DbConn| {
        for (i, field) in order.iter().enumerate() {
            with_db!(c, c => diesel::update(contact_fields::table.find(field)).set(contact_fields::position.eq(i as i32 + 1)).execute(c).await)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    Ok(())
}

/// Swaps `id` with its neighbour in `order`; false when it is at that end already.
fn swap(order: &mut [i64], id: i64, up: bool) -> bool {
    let Some(i) = order.iter().position(|x| *x == id) else { return false };
    let j = if up { i.checked_sub(1) } else { Some(i + 1).filter(|j| *j < order.len()) };
    match j {
        Some(j) => {
            order.swap(i, j);
            true
        }
        None => false,
    }
}

fn section_error(err: diesel::result::Error) -> AppError {
    if is_unique_violation_of(&err, "field_sections", "name_key") {
        AppError::invalid("section_name", "There is a section with this name already.")
    } else {
        err.into()
    }
}

fn section_name(name: &str) -> Result<String, AppError> {
    let name = clean_name(name);
    if name.is_empty() {
        return Err(AppError::invalid("section_name", "Enter a name for the section."));
    }
    if name.chars().count() > 100 {
        return Err(AppError::invalid("section_name", "Use at most 100 characters."));
    }
    Ok(name)
}

pub async fn create_section(conn: &mut DbConn, name: &str) -> Result<i64, AppError> {
    let name = section_name(name)?;
    conn.contacts_tx(async |c: &mut DbConn| {
        let position: Option<i32> = with_db!(c, c => field_sections::table.select(diesel::dsl::max(field_sections::position)).get_result(c).await)?;
        with_db!(c, c => diesel::insert_into(field_sections::table)
            .values((
                field_sections::name.eq(&name),
                field_sections::name_key.eq(fold(&name)),
                field_sections::position.eq(position.unwrap_or(0) + 1),
            ))
            .returning(field_sections::id)
            .get_result(c)
            .await)
    })
    .await
    .map_err(section_error)
}

pub async fn rename_section(conn: &mut DbConn, id: i64, name: &str) -> Result<(), AppError> {
    let name = section_name(name)?;
    let n = conn
        .contacts_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::update(field_sections::table.find(id))
                .set((field_sections::name.eq(&name), field_sections::name_key.eq(fold(&name))))
                .execute(c)
                .await)
        })
        .await
        .map_err(section_error)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn move_section(conn: &mut DbConn, id: i64, up: bool) -> Result<(), AppError> {
    let mut order: Vec<i64> = catalog(conn).await?.sections.iter().map(|s| s.id).collect();
    if !order.contains(&id) {
        return Err(AppError::NotFound);
    }
    if swap(&mut order, id, up) {
        conn.contacts_tx(async |c: &mut DbConn| {
            for (i, s) in order.iter().enumerate() {
                with_db!(c, c => diesel::update(field_sections::table.find(s)).set(field_sections::position.eq(i as i32 + 1)).execute(c).await)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await?;
    }
    Ok(())
}

/// Deletes a section; its fields stay, in no section.
pub async fn delete_section(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    let n = conn
        .contacts_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::update(contact_fields::table.filter(contact_fields::section_id.eq(id))).set(contact_fields::section_id.eq(None::<i64>)).execute(c).await)?;
            with_db!(c, c => diesel::delete(field_sections::table.find(id)).execute(c).await)
        })
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

fn option_error(err: diesel::result::Error) -> AppError {
    if is_unique_violation_of(&err, "field_options", "label_key") {
        AppError::invalid("option_label", "This field has an option with this label already.")
    } else {
        err.into()
    }
}

fn option_label(label: &str, color: &str) -> Result<(String, String), AppError> {
    let label = clean_name(label);
    if label.is_empty() {
        return Err(AppError::invalid("option_label", "Enter a label for the option."));
    }
    if label.chars().count() > 100 {
        return Err(AppError::invalid("option_label", "Use at most 100 characters."));
    }
    let color = if color.is_empty() { "#64748b".to_owned() } else { color.to_owned() };
    if !valid_color(&color) {
        return Err(AppError::invalid("option_color", "Choose a colour."));
    }
    Ok((label, color))
}

pub async fn add_option(conn: &mut DbConn, field_id: i64, label: &str, color: &str) -> Result<i64, AppError> {
    let def = field(conn, field_id).await?;
    if !def.kind.has_options() {
        return Err(AppError::invalid("option_label", "Only select fields have options."));
    }
    let (label, color) = option_label(label, color)?;
    let position = def.options.len() as i32 + 1;
    conn.contacts_tx(async |c: &mut DbConn| insert_option(c, field_id, &label, &color, position).await)
        .await
        .map_err(option_error)
}

/// The field an option belongs to.
async fn option_field(conn: &mut DbConn, option_id: i64) -> Result<FieldDef, AppError> {
    let field_id: Option<i64> = with_db!(conn, c => field_options::table.find(option_id).select(field_options::field_id).first(c).await.optional())?;
    field(conn, field_id.ok_or(AppError::NotFound)?).await
}

/// Renames an option (and sets its colour); stored values refer to the option, so every contact
/// that has it shows the new label.
pub async fn update_option(
    conn: &mut DbConn,
    option_id: i64,
    label: &str,
    color: &str,
) -> Result<i64, AppError> {
    let def = option_field(conn, option_id).await?;
    let (label, color) = option_label(label, color)?;
    conn.contacts_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::update(field_options::table.find(option_id))
            .set((field_options::label.eq(&label), field_options::label_key.eq(fold(&label)), field_options::color.eq(&color)))
            .execute(c)
            .await)
    })
    .await
    .map_err(option_error)?;
    Ok(def.id)
}

/// Retires an option (contacts keep it; it is not offered for new values), or brings it back.
pub async fn retire_option(conn: &mut DbConn, option_id: i64, retired: bool) -> Result<i64, AppError> {
    let def = option_field(conn, option_id).await?;
    conn.contacts_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::update(field_options::table.find(option_id)).set(field_options::retired.eq(retired)).execute(c).await)
    })
    .await?;
    Ok(def.id)
}

/// Moves an option up or down; returns its field's id.
pub async fn move_option(conn: &mut DbConn, option_id: i64, up: bool) -> Result<i64, AppError> {
    let def = option_field(conn, option_id).await?;
    let mut order: Vec<i64> = def.options.iter().map(|o| o.id).collect();
    if swap(&mut order, option_id, up) {
        conn.contacts_tx(async |c: &mut DbConn| {
            for (i, o) in order.iter().enumerate() {
                with_db!(c, c => diesel::update(field_options::table.find(o)).set(field_options::position.eq(i as i32 + 1)).execute(c).await)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await?;
    }
    Ok(def.id)
}

/// Every stored value of field `id`, per contact, in their order.
async fn values_of_field(conn: &mut DbConn, id: i64) -> Result<BTreeMap<i64, Vec<String>>, DbError> {
    let rows: Vec<(i64, String)> = with_db!(conn, c => contact_field_values::table
        .filter(contact_field_values::field_id.eq(id))
        .order((contact_field_values::contact_id, contact_field_values::position))
        .select((contact_field_values::contact_id, contact_field_values::value))
        .load(c)
        .await)?;
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (contact, value) in rows {
        out.entry(contact).or_default().push(value);
    }
    Ok(out)
}

/// The field as it would be with type `kind` (and `decimals`), and every contact's converted
/// values, or why a type change is refused.
async fn conversion(
    conn: &mut DbConn,
    id: i64,
    kind: &str,
    decimals: &str,
) -> Result<(FieldDef, FieldDef, BTreeMap<i64, Result<Vec<Stored>, String>>), AppError> {
    let old = field(conn, id).await?;
    let to = FieldKind::parse(kind).ok_or_else(|| AppError::invalid("kind", "Choose a type."))?;
    let decimals = decimals_of(&FieldForm { decimals: decimals.to_owned(), ..FieldForm::default() }, to)?;
    if to == old.kind && decimals == old.decimals {
        return Err(AppError::invalid(
            "kind",
            "Choose a type (or a number of decimals) other than the current one.",
        ));
    }
    if to != old.kind && !old.kind.compatible().contains(&to) {
        let can = old.kind.compatible().iter().map(|k| k.label()).collect::<Vec<_>>().join(", ");
        let message = if can.is_empty() {
            format!(
                "A {} field cannot change its type: add a new field instead.",
                old.kind.label().to_lowercase()
            )
        } else {
            format!(
                "A {} field cannot become a {} field: its values could not be read as one. It can become: {can}.",
                old.kind.label().to_lowercase(),
                to.label().to_lowercase()
            )
        };
        return Err(AppError::invalid("kind", message));
    }
    let new = FieldDef {
        kind: to,
        decimals,
        unique: old.unique && to.can_be_unique(),
        searchable: old.searchable && to.is_text(),
        unit: if to == FieldKind::Decimal { old.unit.clone() } else { String::new() },
        ..old.clone()
    };
    let clock = conn.clock();
    let converted = values_of_field(conn, id)
        .await?
        .into_iter()
        .map(|(contact, values)| (contact, values::convert(&old, &new, &values, &clock)))
        .collect();
    Ok((old, new, converted))
}

async fn names(conn: &mut DbConn, ids: &[i64]) -> Result<BTreeMap<i64, String>, DbError> {
    let rows: Vec<(i64, String, String, String)> = with_db!(conn, c => contacts::table
        .filter(contacts::id.eq_any(ids))
        .select((contacts::id, contacts::first_name, contacts::last_name, contacts::company))
        .load(c)
        .await)?;
    Ok(rows.into_iter().map(|(id, f, l, co)| (id, crate::contacts::display_name(&f, &l, &co))).collect())
}

/// What changing field `id` to type `kind` would do: how many stored values convert, and which
/// do not (at most 50 listed).
pub async fn preview_type_change(
    conn: &mut DbConn,
    id: i64,
    kind: &str,
    decimals: &str,
) -> Result<TypeChangePreview, AppError> {
    let (old, new, converted) = conversion(conn, id, kind, decimals).await?;
    let clock = conn.clock();
    let stored = values_of_field(conn, id).await?;
    let failing_ids: Vec<i64> =
        converted.iter().filter(|(_, r)| r.is_err()).map(|(id, _)| *id).take(50).collect();
    let names = names(conn, &failing_ids).await?;
    let failing = failing_ids
        .iter()
        .map(|contact| {
            let why = converted.get(contact).and_then(|r| r.as_ref().err()).cloned().unwrap_or_default();
            let value = values::shown(&old, stored.get(contact).map(Vec::as_slice).unwrap_or(&[]), &clock);
            (*contact, names.get(contact).cloned().unwrap_or_default(), value, why)
        })
        .collect();
    Ok(TypeChangePreview {
        from: old.kind,
        to: new.kind,
        holding: converted.len() as i64,
        converting: converted.values().filter(|r| r.is_ok()).count() as i64,
        failing,
    })
}

/// Changes field `id`'s type when every stored value converts (otherwise refused, naming how many
/// do not), rewriting the values that change.
pub async fn change_type(conn: &mut DbConn, id: i64, kind: &str, decimals: &str) -> Result<(), AppError> {
    let (old, new, converted) = conversion(conn, id, kind, decimals).await?;
    let failing = converted.values().filter(|r| r.is_err()).count();
    if failing > 0 {
        return Err(AppError::invalid(
            "kind",
            format!(
                "{failing} of {} contacts hold a value that does not fit a {} field (see the preview). Change those values first.",
                converted.len(),
                new.kind.label().to_lowercase()
            ),
        ));
    }
    let holders: Vec<i64> = converted.keys().copied().collect();
    // The type changes first, so that every save from now on writes the new form; then the
    // stored values are converted a batch of contacts per transaction (the contacts are never held
    // for long), each batch read afresh inside its transaction: a value already in the new form
    // (saved meanwhile, or a text that becomes long text) stays as it is.
    conn.contacts_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::update(contact_fields::table.find(id))
            .set((
                contact_fields::kind.eq(new.kind.key()),
                contact_fields::decimals.eq(new.decimals),
                contact_fields::is_unique.eq(new.unique),
                contact_fields::searchable.eq(new.searchable),
                contact_fields::unit.eq(&new.unit),
                contact_fields::updated_at.eq(now()),
            ))
            .execute(c)
            .await)
    })
    .await?;
    let clock = conn.clock();
    for batch in holders.chunks(BATCH as usize) {
        conn.contacts_tx(async |c: &mut DbConn| {
            let current = stored_values(c, batch).await?;
            let mut rewritten: Vec<(i64, Vec<Stored>)> = Vec::new();
            for (contact, fields) in current {
                let Some(values) = fields.get(&id) else { continue };
                if values.iter().all(|v| values::is_stored_form(&new, v)) {
                    continue;
                }
                match values::convert(&old, &new, values, &clock) {
                    Ok(converted) => rewritten.push((contact, converted)),
                    Err(why) => tracing::warn!(contact, field = id, %why, "a value changed since the preview and was kept as it was"),
                }
            }
            let rewritten: Vec<(i64, &[Stored])> = rewritten.iter().map(|(id, v)| (*id, v.as_slice())).collect();
            write_fields(c, &new, &rewritten).await
        })
        .await?;
    }
    if old.searchable != new.searchable {
        refresh_search_text(conn, &holders).await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ the contact list

/// The list's filters on extra fields, as SQL conditions. A filter on a field that no longer
/// exists, or with a value that cannot be read for the field's type, is left out.
pub fn list_matches(
    catalog: &FieldCatalog,
    filters: &[super::FieldFilter],
    clock: &Clock,
) -> Vec<FieldMatch> {
    filters
        .iter()
        .filter_map(|f| {
            let def = catalog.field(&f.key)?;
            let first = f.values.as_slice().first().map(|v| v.trim()).unwrap_or_default();
            let condition = match (f.op.as_str(), def.kind) {
                ("empty", _) => Condition::Empty,
                ("not_empty", _) => Condition::NotEmpty,
                ("range", kind) if kind.is_number() => {
                    let end = |i: usize| f.values.get(i).and_then(|v| values::number(v, def.decimals));
                    let (min, max) = (end(0), end(1));
                    if min.is_none() && max.is_none() {
                        return None;
                    }
                    Condition::NumberRange(min, max)
                }
                ("range", kind) if kind.is_date() => {
                    let day = |i: usize| {
                        f.values.get(i).and_then(|v| {
                            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                                .ok()
                                .filter(values::plausible)
                        })
                    };
                    let key = |d: chrono::NaiveDate, end: bool| match kind {
                        FieldKind::DateTime => {
                            let at = if end { d.and_hms_opt(23, 59, 59) } else { d.and_hms_opt(0, 0, 0) };
                            at.map(|t| clock.to_utc(t).format("%Y-%m-%dT%H:%M:%S").to_string())
                                .unwrap_or_default()
                        }
                        _ => d.format("%Y-%m-%d").to_string(),
                    };
                    let (min, max) = (day(0).map(|d| key(d, false)), day(1).map(|d| key(d, true)));
                    if min.is_none() && max.is_none() {
                        return None;
                    }
                    Condition::KeyRange(min, max)
                }
                (_, kind) if kind.has_options() => {
                    // Only this field's options, once each (the URL may repeat anything).
                    let mut ids: Vec<i64> = f
                        .values
                        .iter()
                        .filter_map(|v| v.trim().parse().ok())
                        .filter(|id| def.option(*id).is_some())
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    Condition::AnyOption(ids)
                }
                (_, FieldKind::Boolean) => match first {
                    "yes" | "no" => Condition::Is(first.to_owned()),
                    _ => return None,
                },
                ("is", kind) if kind.is_text() => Condition::Is(fold(first)),
                (_, kind) if kind.is_text() => {
                    if first.is_empty() {
                        return None;
                    }
                    Condition::Contains(crate::db::like_pattern(first))
                }
                (_, _) => {
                    // Numbers and dates: "is" the value, read as the field reads it.
                    let probe = FieldDef { required: false, decimals: 6, ..def.clone() };
                    let stored = values::parse(&probe, &[first.to_owned()], &[], clock).ok()?;
                    let stored = stored.into_iter().next()?;
                    match stored.number {
                        Some(n) => Condition::NumberRange(Some(n), Some(n)),
                        None if def.kind == FieldKind::DateTime => {
                            return list_matches(
                                catalog,
                                &[super::FieldFilter {
                                    key: f.key.clone(),
                                    op: "range".into(),
                                    values: vec![
                                        first.chars().take(10).collect(),
                                        first.chars().take(10).collect(),
                                    ],
                                }],
                                clock,
                            )
                            .pop()
                        }
                        None => Condition::Is(stored.key),
                    }
                }
            };
            Some(FieldMatch { field_id: def.id, condition })
        })
        .collect()
}

/// The list's order by the extra field `key`, if it exists.
pub fn list_order(catalog: &FieldCatalog, key: &str, descending: bool) -> Option<FieldOrder> {
    let def = catalog.field(key)?;
    let by = if def.kind.is_number() {
        SortBy::Number
    } else if def.kind.has_options() {
        SortBy::OptionPosition
    } else {
        SortBy::Key
    };
    Some(FieldOrder { field_id: def.id, by, descending })
}

// ------------------------------------------------------------------ contacts' values

/// The stored values of the contacts `ids`: contact → field id → values in their order.
pub async fn stored_values(
    c: &mut DbConn,
    ids: &[i64],
) -> QueryResult<BTreeMap<i64, BTreeMap<i64, Vec<String>>>> {
    let rows: Vec<(i64, i64, String)> = with_db!(c, c => contact_field_values::table
        .filter(contact_field_values::contact_id.eq_any(ids))
        .order((contact_field_values::contact_id, contact_field_values::field_id, contact_field_values::position))
        .select((contact_field_values::contact_id, contact_field_values::field_id, contact_field_values::value))
        .load(c)
        .await)?;
    let mut out: BTreeMap<i64, BTreeMap<i64, Vec<String>>> = BTreeMap::new();
    for (contact, field, value) in rows {
        out.entry(contact).or_default().entry(field).or_default().push(value);
    }
    Ok(out)
}

const FIELDS_CHANGED: &str =
    "The contact fields were changed while you were saving. Check the form, then save again.";

/// Fails the caller's transaction when the field definitions are no longer `catalog`, the ones
/// the input was checked against (a field turned unique, searchable or deleted meanwhile).
pub async fn unchanged(c: &mut DbConn, catalog: &FieldCatalog) -> QueryResult<()> {
    if self::catalog(c).await? == *catalog {
        Ok(())
    } else {
        Err(diesel::result::Error::QueryBuilderError(FIELDS_CHANGED.into()))
    }
}

/// The message for a transaction [`unchanged`] failed.
pub fn changed_error(err: &diesel::result::Error) -> Option<AppError> {
    match err {
        diesel::result::Error::QueryBuilderError(e) if e.to_string() == FIELDS_CHANGED => {
            Some(AppError::Conflict(FIELDS_CHANGED.to_owned()))
        }
        _ => None,
    }
}

/// The extra values of one contact as [`read_input`] checked them: field id, values to store.
pub type Parsed = Vec<(i64, Vec<Stored>)>;

/// The error key of a field's input.
pub fn error_key(def: &FieldDef) -> String {
    format!("extra.{}", def.key)
}

/// Reads the extra fields of a form: for each field the values to store, or messages keyed by
/// [`error_key`]. A field the form left out keeps its values, except on a new contact, which
/// gets the field's default.
pub fn read_input(
    catalog: &FieldCatalog,
    extra: &ExtraInput,
    current: &BTreeMap<i64, Vec<String>>,
    creating: bool,
    clock: &Clock,
) -> Result<Vec<(i64, Vec<Stored>)>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out = Vec::new();
    for def in &catalog.fields {
        // A default is written as a person writes it (a select's by its label).
        let (typed, default) = match extra.get(&def.key) {
            Some(typed) => (typed.clone(), false),
            None if creating => (vec![def.default_value.clone()], true),
            None => continue,
        };
        let held: Vec<i64> =
            current.get(&def.id).into_iter().flatten().filter_map(|v| v.parse().ok()).collect();
        let read = match default {
            true => values::parse_labels(def, &typed, &held, clock),
            false => values::parse(def, &typed, &held, clock),
        };
        match read {
            Ok(stored) => out.push((def.id, stored)),
            // A default that no longer fits (its option retired since) is left out.
            Err(_) if default && !def.required => out.push((def.id, Vec::new())),
            Err(message) => errors.add(&error_key(def), message),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// What the person typed into the extra fields, keyed as the form's errors are, to show again.
pub fn echo(extra: &ExtraInput) -> Vec<(String, String)> {
    extra
        .iter()
        .map(|(key, values)| {
            let typed: Vec<&str> = values.iter().map(String::as_str).filter(|v| !v.is_empty()).collect();
            (format!("extra.{key}"), typed.join("\n"))
        })
        .collect()
}

/// Messages for unique values another contact holds already (checked before saving, so the
/// message can name the contact; the index still decides between two saves at once).
pub async fn unique_clashes(
    conn: &mut DbConn,
    catalog: &FieldCatalog,
    parsed: &[(i64, Vec<Stored>)],
    contact_id: Option<i64>,
) -> Result<FieldErrors, DbError> {
    let mut errors = FieldErrors::new();
    for (field_id, stored) in parsed {
        let Some(def) = catalog.fields.iter().find(|f| f.id == *field_id && f.unique) else { continue };
        let Some(value) = stored.iter().next() else { continue };
        let other: Option<i64> = with_db!(conn, c => contact_field_values::table
            // The value's key, not the unique key: values whose unique key is still being written
            // (a field just made unique) count too.
            .filter(contact_field_values::field_id.eq(field_id).and(contact_field_values::value_key.eq(&value.key)))
            .filter(contact_field_values::contact_id.ne(contact_id.unwrap_or(0)))
            .select(contact_field_values::contact_id)
            .first(c)
            .await
            .optional())?;
        if let Some(other) = other {
            let name = names(conn, &[other]).await?.remove(&other).unwrap_or_default();
            errors.add(&error_key(def), format!("{name} already has this {}.", def.label));
        }
    }
    Ok(errors)
}

/// The message for a unique value two saves stored at once: on the first unique field saved.
pub fn unique_violation(
    err: &diesel::result::Error,
    catalog: &FieldCatalog,
    parsed: &[(i64, Vec<Stored>)],
) -> Option<AppError> {
    if !is_unique_violation_of(err, "contact_field_values", "unique_key") {
        return None;
    }
    let def = parsed
        .iter()
        .filter(|(_, stored)| !stored.is_empty())
        .find_map(|(id, _)| catalog.fields.iter().find(|f| f.id == *id && f.unique))?;
    Some(AppError::invalid(&error_key(def), format!("Another contact already has this {}.", def.label)))
}

/// Replaces contact `contact_id`'s values of field `def` with `stored`, inside the caller's
/// transaction.
pub async fn write_field(
    c: &mut DbConn,
    contact_id: i64,
    def: &FieldDef,
    stored: &[Stored],
) -> QueryResult<()> {
    write_fields(c, def, &[(contact_id, stored)]).await
}

/// [`write_field`] for many contacts at once: one statement removes their old values, and one
/// puts in the new ones (see [`crate::db::batch`]).
pub async fn write_fields(c: &mut DbConn, def: &FieldDef, contacts: &[(i64, &[Stored])]) -> QueryResult<()> {
    let ids: Vec<i64> = contacts.iter().map(|(id, _)| *id).collect();
    with_db!(c, c => diesel::delete(contact_field_values::table
        .filter(contact_field_values::field_id.eq(def.id).and(contact_field_values::contact_id.eq_any(&ids))))
        .execute(c)
        .await)?;
    insert_fields(c, def, contacts).await
}

/// The values of field `def` for contacts that have none yet (new ones), inside the caller's
/// transaction.
pub async fn insert_fields(c: &mut DbConn, def: &FieldDef, contacts: &[(i64, &[Stored])]) -> QueryResult<()> {
    let rows: Vec<crate::db::batch::FieldValueRow<'_>> = contacts
        .iter()
        .flat_map(|(contact_id, stored)| {
            stored.iter().enumerate().map(move |(i, s)| crate::db::batch::FieldValueRow {
                contact_id: *contact_id,
                field_id: def.id,
                position: i as i32,
                value: &s.value,
                value_key: &s.key,
                value_number: s.number,
                option_id: s.option_id,
                unique_key: def.unique.then_some(s.key.as_str()),
            })
        })
        .collect();
    crate::db::batch::execute(c, &crate::db::batch::INSERT_FIELD_VALUES, &rows).await?;
    Ok(())
}

/// Writes the values [`read_input`] returned, inside the caller's transaction.
pub async fn write_input(
    c: &mut DbConn,
    contact_id: i64,
    catalog: &FieldCatalog,
    parsed: &[(i64, Vec<Stored>)],
) -> QueryResult<()> {
    for (field_id, stored) in parsed {
        if let Some(def) = catalog.fields.iter().find(|f| f.id == *field_id) {
            write_field(c, contact_id, def, stored).await?;
        }
    }
    Ok(())
}

/// A contact's values as the profile shows them (fields without a value left out).
pub fn shown(catalog: &FieldCatalog, stored: &BTreeMap<i64, Vec<String>>, clock: &Clock) -> ExtraShown {
    catalog
        .fields
        .iter()
        .filter_map(|def| stored.get(&def.id).map(|v| (def.key.clone(), values::shown(def, v, clock))))
        .collect()
}

/// A contact's values as the edit form's inputs hold them (or, with `labels`, as the export
/// writes them).
pub fn editable(
    catalog: &FieldCatalog,
    stored: &BTreeMap<i64, Vec<String>>,
    clock: &Clock,
    labels: bool,
) -> ExtraInput {
    catalog
        .fields
        .iter()
        .filter_map(|def| {
            stored.get(&def.id).map(|v| {
                (def.key.clone(), v.iter().map(|v| values::editable(def, v, clock, labels)).collect())
            })
        })
        .collect()
}

/// The history's view of a contact's values: every field, by label, in form order.
pub fn snapshot(
    catalog: &FieldCatalog,
    stored: &BTreeMap<i64, Vec<String>>,
    clock: &Clock,
) -> Vec<(String, String)> {
    catalog
        .fields
        .iter()
        .map(|def| {
            let values = stored.get(&def.id).map(Vec::as_slice).unwrap_or(&[]);
            (def.label.clone(), values::shown(def, values, clock))
        })
        .collect()
}

/// The folded text of a contact's searchable values, for its search text.
pub fn searchable(catalog: &FieldCatalog, stored: &BTreeMap<i64, Vec<String>>) -> Vec<String> {
    catalog
        .fields
        .iter()
        .filter(|def| def.searchable && def.kind.is_text())
        .filter_map(|def| stored.get(&def.id))
        .flatten()
        .map(|v| fold(v))
        .collect()
}

#[cfg(test)]
mod key_tests {
    #[test]
    fn keys_are_ascii_words_from_the_label_and_stay_unique() {
        assert_eq!(super::key_from("Größe (cm)", &[]), "grosse_cm");
        assert_eq!(super::key_from("Customer no.", &["customer_no".into()]), "customer_no_2");
        assert_eq!(super::key_from("2nd phone", &[]), "field_2nd_phone");
        assert!(!super::key_from("🎉", &[]).is_empty());
        assert!(!super::key_from("東京", &[]).is_empty());
    }
}
