//! The dry run's judgement of each row: which contact it matches, what the contact would look
//! like after the import, whether that is valid, and what changes. The run writes exactly the
//! contact this plan describes; an undo compares against it.
//!
//! A contact's values are compared by *slot* (see [`ColumnTarget::slot`]): a built-in field, the
//! status, the traffic source, the owner, the services, the tags or one extra field, each as a
//! list of strings in the form the edit form holds them.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::parse::Row;
use super::{ColumnTarget, FieldDiff, ImportMode, ImportSettings, MatchBy, Outcome, BUILT_IN_TARGETS};
use crate::clock::Clock;
use crate::contacts::{Choice, Choices, ContactInput};
use crate::db::schema::{contact_field_values, contacts, users};
use crate::db::{fold, with_db, DbConn, DbError};
use crate::fields::{values, FieldCatalog, FieldDef, FieldKind};

/// What a plan reads once per import: the field definitions, the lists and the staff.
pub struct Lookups {
    pub catalog: FieldCatalog,
    pub choices: Choices,
    /// Active staff: id, folded email, folded name.
    pub staff: Vec<(i64, String, String)>,
    pub clock: Clock,
}

impl Lookups {
    pub async fn load(conn: &mut DbConn) -> Result<Self, DbError> {
        let catalog = crate::fields::repo::catalog(conn).await?;
        let choices = crate::contacts::repo::choices(conn).await?;
        let staff: Vec<(i64, String, String)> = with_db!(conn, c => users::table
            .filter(users::kind.eq("staff").and(users::is_active.eq(true)))
            .select((users::id, users::email, users::display_name))
            .load(c)
            .await)?;
        let staff = staff.into_iter().map(|(id, email, name)| (id, fold(&email), fold(&name))).collect();
        Ok(Lookups { catalog, choices, staff, clock: *conn.clock() })
    }
}

/// The dry run's finding for one row.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRow {
    pub row: u64,
    pub outcome: Outcome,
    pub contact_id: Option<i64>,
    pub contact_version: Option<i64>,
    /// The column at fault (its header), for an error.
    pub column: String,
    pub message: String,
    pub changes: Vec<FieldDiff>,
    pub before: Option<ContactInput>,
    pub after: Option<ContactInput>,
    /// The row as the file had it, kept for error rows (their download).
    pub cells: Option<Vec<String>>,
}

impl PlannedRow {
    fn new(row: u64, outcome: Outcome) -> Self {
        PlannedRow {
            row,
            outcome,
            contact_id: None,
            contact_version: None,
            column: String::new(),
            message: String::new(),
            changes: Vec::new(),
            before: None,
            after: None,
            cells: None,
        }
    }

    fn error(row: &Row, column: &str, message: impl Into<String>) -> Self {
        PlannedRow {
            column: column.to_owned(),
            message: message.into(),
            cells: Some(row.cells.clone()),
            ..PlannedRow::new(row.number, Outcome::Error)
        }
    }
}

/// The keys seen so far in the file (email, match key, unique values), by a 64-bit hash: a
/// million rows take about 20 MB. Holds the first row of each.
#[derive(Default)]
pub struct Seen(HashMap<u64, u64>);

impl Seen {
    fn first(&mut self, kind: &str, key: &str, row: u64) -> Option<u64> {
        let mut h = DefaultHasher::new();
        (kind, key).hash(&mut h);
        let first = *self.0.entry(h.finish()).or_insert(row);
        (first != row).then_some(first)
    }
}

/// Every slot a contact has, in form order: the built-in fields, the lists, the extra fields.
pub fn all_slots(catalog: &FieldCatalog) -> Vec<String> {
    let mut slots: Vec<String> = BUILT_IN_TARGETS.iter().map(|(k, _)| (*k).to_owned()).collect();
    slots.extend(["status", "traffic_source", "owner", "services", "tags"].map(str::to_owned));
    slots.extend(catalog.fields.iter().map(|f| format!("extra.{}", f.key)));
    slots
}

/// The slot's label, as the history names it.
pub fn slot_label(slot: &str, catalog: &FieldCatalog) -> String {
    if let Some(key) = slot.strip_prefix("extra.") {
        return catalog.field(key).map_or_else(|| key.to_owned(), |f| f.label.clone());
    }
    let built_in = BUILT_IN_TARGETS.iter().find(|(k, _)| *k == slot).map(|(_, l)| *l);
    built_in
        .unwrap_or(match slot {
            "status" => "Status",
            "traffic_source" => "Traffic source",
            "owner" => "Owner",
            "services" => "Services",
            "tags" => "Tags",
            other => other,
        })
        .to_owned()
}

fn text_field<'a>(input: &'a mut ContactInput, name: &str) -> Option<&'a mut String> {
    Some(match name {
        "first_name" => &mut input.first_name,
        "last_name" => &mut input.last_name,
        "email" => &mut input.email,
        "phone" => &mut input.phone,
        "company" => &mut input.company,
        "job_title" => &mut input.job_title,
        "street" => &mut input.street,
        "city" => &mut input.city,
        "postal_code" => &mut input.postal_code,
        "country" => &mut input.country,
        "website" => &mut input.website,
        "notes" => &mut input.notes,
        _ => return None,
    })
}

/// A slot's values, comparable between two inputs (an absent extra field is empty).
pub fn slot_values(input: &ContactInput, slot: &str) -> Vec<String> {
    let one = |v: Option<i64>| v.map(|v| v.to_string()).into_iter().collect();
    match slot {
        "status" => one(input.status_id),
        "traffic_source" => one(input.traffic_source_id),
        "owner" => one(input.owner_id),
        "services" => input.service_ids.iter().map(i64::to_string).collect(),
        "tags" => input.tags.clone(),
        _ => match slot.strip_prefix("extra.") {
            Some(key) => input.extra.get(key).cloned().unwrap_or_default(),
            None => {
                let mut copy = input.clone();
                text_field(&mut copy, slot).map(|t| t.clone()).filter(|t| !t.is_empty()).into_iter().collect()
            }
        },
    }
}

/// Sets a slot to `values` (what [`slot_values`] returned for another input).
pub fn set_slot(input: &mut ContactInput, slot: &str, values: Vec<String>) {
    let one = |v: &[String]| v.first().and_then(|v| v.parse().ok());
    match slot {
        "status" => input.status_id = one(&values),
        "traffic_source" => input.traffic_source_id = one(&values),
        "owner" => input.owner_id = one(&values),
        "services" => input.service_ids = values.iter().filter_map(|v| v.parse().ok()).collect(),
        "tags" => input.tags = values,
        _ => match slot.strip_prefix("extra.") {
            Some(key) => {
                input.extra.insert(key.to_owned(), values);
            }
            None => {
                if let Some(text) = text_field(input, slot) {
                    *text = values.into_iter().next().unwrap_or_default();
                }
            }
        },
    }
}

/// A slot's values as a person reads them.
pub fn readable(slot: &str, values: &[String], lookups: &Lookups) -> String {
    let name = |list: &[Choice], v: &String| {
        v.parse::<i64>()
            .ok()
            .and_then(|id| list.iter().find(|c| c.id == id))
            .map_or_else(|| v.clone(), |c| c.name.clone())
    };
    let choices = &lookups.choices;
    let parts: Vec<String> = match slot {
        "status" => values.iter().map(|v| name(&choices.statuses, v)).collect(),
        "traffic_source" => values.iter().map(|v| name(&choices.traffic_sources, v)).collect(),
        "owner" => values.iter().map(|v| name(&choices.owners, v)).collect(),
        "services" => values.iter().map(|v| name(&choices.services, v)).collect(),
        _ => match slot.strip_prefix("extra.").and_then(|k| lookups.catalog.field(k)) {
            Some(def) => {
                let stored: Vec<String> = match values::parse(def, values, &held(values), &lookups.clock) {
                    Ok(stored) => stored.into_iter().map(|s| s.value).collect(),
                    Err(_) => values.to_vec(),
                };
                vec![values::shown(def, &stored, &lookups.clock)]
            }
            None => values.to_vec(),
        },
    };
    parts.join(", ")
}

/// The option ids among a select's values (a retired option a contact holds may stay).
fn held(values: &[String]) -> Vec<i64> {
    values.iter().filter_map(|v| v.parse().ok()).collect()
}

/// An input as the database would give it back: text trimmed, the email folded, tags in their
/// existing spelling and sorted, services sorted, empty extra fields dropped.
pub fn normalise(mut input: ContactInput, lookups: &Lookups) -> ContactInput {
    for (name, _) in BUILT_IN_TARGETS {
        if name != "notes" {
            if let Some(text) = text_field(&mut input, name) {
                *text = text.trim().to_owned();
            }
        }
    }
    input.email = fold(&input.email);
    let mut tags: Vec<String> = crate::contacts::repo::clean_tag_names(&input.tags)
        .into_iter()
        .map(|t| {
            let key = fold(&t);
            lookups.choices.tags.iter().find(|c| fold(&c.name) == key).map_or(t, |c| c.name.clone())
        })
        .collect();
    tags.sort_by_cached_key(|t| fold(t));
    input.tags = tags;
    input.service_ids.sort_unstable();
    input.service_ids.dedup();
    input.extra.retain(|_, v| {
        v.retain(|s| !s.trim().is_empty());
        !v.is_empty()
    });
    input
}

/// The input a write stores: every extra field present, so a field the import emptied is
/// emptied (a field left out of an input keeps its value).
pub fn complete(catalog: &FieldCatalog, input: &ContactInput) -> ContactInput {
    let mut input = input.clone();
    for f in &catalog.fields {
        input.extra.entry(f.key.clone()).or_default();
    }
    input
}

/// A new contact's extra fields that the file leaves empty get their defaults, as a person's
/// new contact does: the plan shows them, and the run writes what the plan shows.
fn with_defaults(input: &mut ContactInput, lookups: &Lookups) {
    for def in lookups.catalog.fields.iter().filter(|f| !f.default_value.trim().is_empty()) {
        if input.extra.get(&def.key).is_some_and(|v| v.iter().any(|s| !s.trim().is_empty())) {
            continue;
        }
        let optional = FieldDef { required: false, ..def.clone() };
        if let Ok(stored) =
            values::parse_labels(&optional, std::slice::from_ref(&def.default_value), &[], &lookups.clock)
        {
            let form =
                stored.iter().map(|s| values::editable(def, &s.value, &lookups.clock, false)).collect();
            input.extra.insert(def.key.clone(), form);
        }
    }
}

/// The differences between two inputs, slot by slot, as the report shows them.
pub fn diff(before: &ContactInput, after: &ContactInput, lookups: &Lookups) -> Vec<FieldDiff> {
    all_slots(&lookups.catalog)
        .into_iter()
        .filter_map(|slot| {
            let (b, a) = (slot_values(before, &slot), slot_values(after, &slot));
            (b != a).then(|| FieldDiff {
                field: slot_label(&slot, &lookups.catalog),
                before: readable(&slot, &b, lookups),
                after: readable(&slot, &a, lookups),
            })
        })
        .collect()
}

/// The slots whose values differ between two inputs.
pub fn changed_slots(before: &ContactInput, after: &ContactInput, catalog: &FieldCatalog) -> Vec<String> {
    all_slots(catalog).into_iter().filter(|s| slot_values(before, s) != slot_values(after, s)).collect()
}

/// The header of column `i`, or "Column 3" where the file has none.
pub fn column_name(settings: &ImportSettings, i: usize) -> String {
    settings.column_name(i)
}

/// The cells of a row by slot (trimmed; several columns to one slot are joined by the separator).
fn cells_by_slot(settings: &ImportSettings, row: &Row) -> Vec<(usize, ColumnTarget, String)> {
    settings
        .mapping
        .iter()
        .enumerate()
        .filter(|(_, t)| **t != ColumnTarget::Ignore)
        .map(|(i, t)| {
            (i, t.clone(), row.cells.get(i).map(|c| unguarded(c.trim()).to_owned()).unwrap_or_default())
        })
        .collect()
}

/// A cell without the apostrophe our CSV export puts before text a spreadsheet would run as a
/// formula (`'=1+2`, `'+49 30 …`), so an export imports back as it was.
fn unguarded(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if crate::contacts::export::starts_a_formula(rest) => rest,
        _ => cell,
    }
}

fn split(cell: &str, separator: char) -> Vec<String> {
    cell.split(separator).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

/// A list entry by name, folded.
fn by_name(list: &[Choice], name: &str) -> Option<i64> {
    let key = fold(name);
    list.iter().find(|c| fold(&c.name) == key).map(|c| c.id)
}

fn names_of(list: &[Choice]) -> String {
    let names: Vec<&str> = list.iter().take(10).map(|c| c.name.as_str()).collect();
    names.join(", ")
}

/// Puts the cells of a row into `input` (the contact as it is, or a new one). Returns the
/// column and message of the first cell that does not fit.
fn apply_cells(
    input: &mut ContactInput,
    settings: &ImportSettings,
    row: &Row,
    lookups: &Lookups,
    creating: bool,
) -> Result<(), (String, String)> {
    for (i, target, cell) in cells_by_slot(settings, row) {
        if cell.is_empty() && !creating && !settings.empty_clears {
            continue;
        }
        let column = || column_name(settings, i);
        let fail = |message: String| Err((column(), message));
        match &target {
            ColumnTarget::Ignore => {}
            ColumnTarget::Field(name) => {
                if let Some(text) = text_field(input, name) {
                    *text = cell;
                }
            }
            ColumnTarget::Status | ColumnTarget::TrafficSource => {
                let (list, what) = match target {
                    ColumnTarget::Status => (&lookups.choices.statuses, "status"),
                    _ => (&lookups.choices.traffic_sources, "traffic source"),
                };
                let id = match cell.is_empty() {
                    true => None,
                    false => match by_name(list, &cell) {
                        Some(id) => Some(id),
                        None => {
                            return fail(format!(
                                "There is no {what} named “{cell}”. Use one of: {}.",
                                names_of(list)
                            ))
                        }
                    },
                };
                match target {
                    ColumnTarget::Status => input.status_id = id,
                    _ => input.traffic_source_id = id,
                }
            }
            ColumnTarget::Owner => {
                input.owner_id = match cell.is_empty() {
                    true => None,
                    false => {
                        let key = fold(&cell);
                        match lookups.staff.iter().find(|(_, email, name)| *email == key || *name == key) {
                            Some((id, ..)) => Some(*id),
                            None => {
                                return fail(format!(
                                    "No active staff member has the email or name “{cell}”."
                                ))
                            }
                        }
                    }
                };
            }
            ColumnTarget::Services => {
                let mut ids = Vec::new();
                for name in split(&cell, settings.separator) {
                    match by_name(&lookups.choices.services, &name) {
                        Some(id) => ids.push(id),
                        None => {
                            return fail(format!(
                                "There is no service named “{name}”. Use one of: {}.",
                                names_of(&lookups.choices.services)
                            ))
                        }
                    }
                }
                input.service_ids = ids;
            }
            ColumnTarget::Tags => input.tags = split(&cell, settings.separator),
            ColumnTarget::Extra(key) => {
                let Some(def) = lookups.catalog.field(key) else {
                    return fail(
                        "This extra field no longer exists. Choose the column's target again.".to_owned(),
                    );
                };
                let typed = match def.kind {
                    FieldKind::MultiSelect => split(&cell, settings.separator),
                    _ => vec![cell.clone()].into_iter().filter(|c| !c.is_empty()).collect(),
                };
                let current = input.extra.get(key).map(|v| held(v)).unwrap_or_default();
                let optional = FieldDef { required: false, ..def.clone() };
                match values::parse_labels(&optional, &typed, &current, &lookups.clock) {
                    Ok(stored) => {
                        let form: Vec<String> = stored
                            .iter()
                            .map(|s| values::editable(def, &s.value, &lookups.clock, false))
                            .collect();
                        input.extra.insert(key.clone(), form);
                    }
                    Err(_)
                        if def.kind.has_options()
                            && typed.iter().any(|t| !def.offered().any(|o| fold(&o.label) == fold(t))) =>
                    {
                        let unknown = typed
                            .iter()
                            .find(|t| !def.offered().any(|o| fold(&o.label) == fold(t)))
                            .cloned()
                            .unwrap_or_default();
                        let offered: Vec<&str> = def.offered().take(10).map(|o| o.label.as_str()).collect();
                        return fail(format!(
                            "“{unknown}” is not an option of {}. Use one of: {}.",
                            def.label,
                            offered.join(", ")
                        ));
                    }
                    Err(message) => return fail(message),
                }
            }
        }
    }
    Ok(())
}

/// The column a form error's key names (`email`, `extra.plan`), or "" when no column fills it.
fn column_of(settings: &ImportSettings, key: &str) -> String {
    settings
        .mapping
        .iter()
        .position(|t| t.slot().as_deref() == Some(key))
        .map(|i| column_name(settings, i))
        .unwrap_or_default()
}

/// The first message of a contact that cannot be saved: the built-in checks, then the extra
/// fields (required ones, formats).
fn invalid(
    after: &ContactInput,
    lookups: &Lookups,
    creating: bool,
    settings: &ImportSettings,
) -> Option<(String, String)> {
    let mut errors = after.validate();
    let current: BTreeMap<i64, Vec<String>> = lookups
        .catalog
        .fields
        .iter()
        .filter_map(|f| after.extra.get(&f.key).map(|v| (f.id, v.clone())))
        .collect();
    if let Err(extra) =
        crate::fields::repo::read_input(&lookups.catalog, &after.extra, &current, creating, &lookups.clock)
    {
        errors.fields.extend(extra.fields);
    }
    errors.fields.into_iter().next().map(|(key, message)| {
        let label = slot_label(&key, &lookups.catalog);
        let column = column_of(settings, &key);
        let message = if column.is_empty() { format!("{label}: {message}") } else { message };
        (column, message)
    })
}

/// The match key of a row: the folded email, or the unique extra field's value key.
fn match_key(settings: &ImportSettings, input: &ContactInput, lookups: &Lookups) -> Option<String> {
    match &settings.match_by {
        MatchBy::Email => Some(fold(&input.email)).filter(|e| !e.is_empty()),
        MatchBy::Extra(key) => {
            let def = lookups.catalog.field(key)?;
            let typed = input.extra.get(key)?;
            let stored = values::parse(
                &FieldDef { required: false, ..def.clone() },
                typed,
                &held(typed),
                &lookups.clock,
            )
            .ok()?;
            stored.into_iter().next().map(|s| s.key)
        }
    }
}

/// The unique extra values of an input: field id, label and value key.
fn unique_keys(input: &ContactInput, lookups: &Lookups) -> Vec<(i64, String, String)> {
    lookups
        .catalog
        .fields
        .iter()
        .filter(|f| f.unique)
        .filter_map(|def| {
            let typed = input.extra.get(&def.key)?;
            let optional = FieldDef { required: false, ..def.clone() };
            let stored = values::parse(&optional, typed, &held(typed), &lookups.clock).ok()?;
            stored.into_iter().next().map(|s| (def.id, def.label.clone(), s.key))
        })
        .collect()
}

/// Contacts holding any of `keys` of field `field_id`: value key → contact id.
async fn holders(conn: &mut DbConn, field_id: i64, keys: &[String]) -> Result<HashMap<String, i64>, DbError> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<(String, i64)> = with_db!(conn, c => contact_field_values::table
            .filter(contact_field_values::field_id.eq(field_id).and(contact_field_values::value_key.eq_any(chunk)))
            .select((contact_field_values::value_key, contact_field_values::contact_id))
            .load(c)
            .await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Contacts by folded email.
async fn by_email(conn: &mut DbConn, emails: &[String]) -> Result<HashMap<String, i64>, DbError> {
    let mut out = HashMap::new();
    for chunk in emails.chunks(500) {
        let rows: Vec<(Option<String>, i64)> = with_db!(conn, c => contacts::table
            .filter(contacts::email.eq_any(chunk))
            .select((contacts::email, contacts::id))
            .load(c)
            .await)?;
        out.extend(rows.into_iter().filter_map(|(e, id)| e.map(|e| (e, id))));
    }
    Ok(out)
}

/// The plan for a batch of rows (in file order). `seen` carries the keys of earlier rows, so a
/// row repeating one is flagged.
pub async fn plan_batch(
    conn: &mut DbConn,
    lookups: &Lookups,
    settings: &ImportSettings,
    rows: &[Row],
    seen: &mut Seen,
) -> Result<Vec<PlannedRow>, DbError> {
    // First each row on its own, to find its match key.
    let mut drafts: Vec<(ContactInput, Option<String>)> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut draft = ContactInput::default();
        let _ = apply_cells(&mut draft, settings, row, lookups, true);
        let key = match_key(settings, &draft, lookups);
        drafts.push((draft, key));
    }
    let keys: Vec<String> = drafts.iter().filter_map(|(_, k)| k.clone()).collect();
    let matched: HashMap<String, i64> = match &settings.match_by {
        MatchBy::Email => by_email(conn, &keys).await?,
        MatchBy::Extra(key) => match lookups.catalog.field(key) {
            Some(def) => holders(conn, def.id, &keys).await?,
            None => HashMap::new(),
        },
    };
    let ids: Vec<i64> = {
        let mut ids: Vec<i64> = matched.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut current: HashMap<i64, (ContactInput, i64)> = HashMap::new();
    for chunk in ids.chunks(500) {
        for contact in crate::contacts::repo::get_many(conn, chunk).await? {
            current.insert(contact.id, (normalise(contact.input, lookups), contact.version));
        }
    }

    // Then the full plan of each row, and the values other contacts might already hold.
    let mut planned: Vec<PlannedRow> = Vec::with_capacity(rows.len());
    for (row, (_, key)) in rows.iter().zip(&drafts) {
        let existing =
            key.as_ref().and_then(|k| matched.get(k)).and_then(|id| current.get(id).map(|c| (*id, c)));
        let skip = |message: &str| {
            let mut p = PlannedRow::new(row.number, Outcome::Skip);
            p.message = message.to_owned();
            p
        };
        let what = match &settings.match_by {
            MatchBy::Email => "email".to_owned(),
            MatchBy::Extra(k) => lookups.catalog.field(k).map_or_else(|| k.clone(), |f| f.label.clone()),
        };
        let plan = match (existing, settings.mode) {
            (Some((id, _)), ImportMode::Create) => {
                let mut p = skip(&format!("A contact with this {what} exists already (creating only)."));
                p.contact_id = Some(id);
                p
            }
            (None, ImportMode::Update) if key.is_none() => {
                skip(&format!("The row has no {what} to find its contact by."))
            }
            (None, ImportMode::Update) => skip(&format!("No contact has this {what} (updating only).")),
            (Some((id, (before, version))), _) => plan_update(row, id, *version, before, settings, lookups),
            (None, _) => plan_create(row, settings, lookups),
        };
        planned.push(plan);
    }

    // Keys repeated inside the file: the first row wins, later ones are errors.
    for (i, (plan, (_, key))) in planned.iter_mut().zip(&drafts).enumerate() {
        if plan.outcome == Outcome::Error {
            continue;
        }
        if let Some(key) = key {
            if let Some(first) = seen.first("match", key, plan.row) {
                let column = match &settings.match_by {
                    MatchBy::Email => column_of(settings, "email"),
                    MatchBy::Extra(k) => column_of(settings, &format!("extra.{k}")),
                };
                *plan = PlannedRow::error(
                    &rows[i],
                    &column,
                    format!("Row {first} has the same value; only the first of the two is imported."),
                );
                continue;
            }
        }
    }

    // Unique values (emails, unique extra fields) that another contact, or an earlier row, holds.
    let writes: Vec<usize> = (0..planned.len())
        .filter(|i| matches!(planned[*i].outcome, Outcome::Create | Outcome::Update))
        .collect();
    let emails: Vec<String> = writes
        .iter()
        .filter_map(|i| planned[*i].after.as_ref())
        .map(|a| a.email.clone())
        .filter(|e| !e.is_empty())
        .collect();
    let email_holders = by_email(conn, &emails).await?;
    let mut unique_holders: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for def in lookups.catalog.fields.iter().filter(|f| f.unique) {
        let keys: Vec<String> = writes
            .iter()
            .filter_map(|i| planned[*i].after.as_ref())
            .flat_map(|a| unique_keys(a, lookups))
            .filter(|(id, ..)| *id == def.id)
            .map(|(_, _, k)| k)
            .collect();
        unique_holders.insert(def.id, holders(conn, def.id, &keys).await?);
    }
    for i in writes {
        let plan = &planned[i];
        let Some(after) = plan.after.as_ref() else { continue };
        let me = plan.contact_id;
        let row = &rows[i];
        let mut clash: Option<(String, String)> = None;
        if !after.email.is_empty() {
            if email_holders.get(&after.email).is_some_and(|h| Some(*h) != me) {
                clash = Some((
                    column_of(settings, "email"),
                    "Another contact already has this email.".to_owned(),
                ));
            } else if settings.match_by != MatchBy::Email {
                if let Some(first) = seen.first("email", &after.email, plan.row) {
                    clash = Some((column_of(settings, "email"), format!("Row {first} has the same email.")));
                }
            }
        }
        if clash.is_none() {
            for (field_id, label, key) in unique_keys(after, lookups) {
                let column = column_of(
                    settings,
                    &format!(
                        "extra.{}",
                        lookups
                            .catalog
                            .fields
                            .iter()
                            .find(|f| f.id == field_id)
                            .map_or("", |f| f.key.as_str())
                    ),
                );
                if unique_holders.get(&field_id).and_then(|h| h.get(&key)).is_some_and(|h| Some(*h) != me) {
                    clash = Some((column, format!("Another contact already has this {label}.")));
                    break;
                }
                let is_match = matches!(&settings.match_by, MatchBy::Extra(k) if lookups.catalog.field(k).is_some_and(|f| f.id == field_id));
                if !is_match {
                    if let Some(first) = seen.first(&format!("f{field_id}"), &key, plan.row) {
                        clash = Some((column, format!("Row {first} has the same {label}.")));
                        break;
                    }
                }
            }
        }
        if let Some((column, message)) = clash {
            planned[i] = PlannedRow::error(row, &column, message);
        }
    }
    Ok(planned)
}

/// The plan of a row that matches no contact: a new contact, or the first error. Pure: no
/// database (what `fuzz::parse_and_map` exercises).
pub fn plan_create(row: &Row, settings: &ImportSettings, lookups: &Lookups) -> PlannedRow {
    let mut after = ContactInput::default();
    if let Err((column, message)) = apply_cells(&mut after, settings, row, lookups, true) {
        return PlannedRow::error(row, &column, message);
    }
    with_defaults(&mut after, lookups);
    if let Some((column, message)) = invalid(&after, lookups, true, settings) {
        return PlannedRow::error(row, &column, message);
    }
    let after = normalise(after, lookups);
    let mut plan = PlannedRow::new(row.number, Outcome::Create);
    plan.changes = diff(&ContactInput::default(), &after, lookups);
    plan.after = Some(after);
    plan
}

fn plan_update(
    row: &Row,
    id: i64,
    version: i64,
    before: &ContactInput,
    settings: &ImportSettings,
    lookups: &Lookups,
) -> PlannedRow {
    let mut after = before.clone();
    if let Err((column, message)) = apply_cells(&mut after, settings, row, lookups, false) {
        let mut plan = PlannedRow::error(row, &column, message);
        plan.contact_id = Some(id);
        return plan;
    }
    // Checked as the run will write it: every field present, so a required field this contact
    // lacks is an error here, not a surprise then.
    if let Some((column, message)) = invalid(&complete(&lookups.catalog, &after), lookups, false, settings) {
        let mut plan = PlannedRow::error(row, &column, message);
        plan.contact_id = Some(id);
        return plan;
    }
    let after = normalise(after, lookups);
    let changes = diff(before, &after, lookups);
    let mut plan =
        PlannedRow::new(row.number, if changes.is_empty() { Outcome::Unchanged } else { Outcome::Update });
    plan.contact_id = Some(id);
    plan.contact_version = Some(version);
    if plan.outcome == Outcome::Update {
        plan.changes = changes;
        plan.before = Some(before.clone());
        plan.after = Some(after);
    }
    plan
}
