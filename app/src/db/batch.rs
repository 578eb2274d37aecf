//! Writes of a whole batch of rows in one statement: the rows go in as one JSON array bound to a
//! single parameter, and the database unpacks it (`jsonb_each` on SQLite, whose rows are then
//! binary JSON that `->>` reads without parsing the text again; `json_to_recordset` on
//! PostgreSQL). One statement per batch whatever its size, where Diesel's multi-row `INSERT`
//! is a statement per row on SQLite (its async wrapper has no multi-row form, and every statement
//! is a hop to a blocking thread) and a bind parameter per value on PostgreSQL (65,535 at most).
//! An import writes its contacts through these.
//!
//! The SQL is fixed text, one pair per statement below; the rows are only ever bound, never
//! spliced in. Each row type's field names are the JSON keys its statements read.

use chrono::{NaiveDateTime, SubsecRound};
use diesel::sql_types::{BigInt, Text};
use diesel::QueryResult;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::{with_db, Backend, DbConn};

/// One statement, as each backend spells it; `?` / `$1` is the JSON array of rows.
pub struct Bulk {
    sqlite: &'static str,
    postgres: &'static str,
}

impl Bulk {
    fn sql(&self, c: &DbConn) -> &'static str {
        match c.backend() {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// Runs `bulk` for `rows` (nothing when there are none); returns how many rows it changed.
pub async fn execute<T: Serialize>(c: &mut DbConn, bulk: &Bulk, rows: &[T]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let json = to_json(rows)?;
    let sql = bulk.sql(c);
    with_db!(c, c => diesel::sql_query(sql).bind::<Text, _>(&json).execute(c).await)
}

/// Runs a `bulk` statement that returns the id of each row it changed.
pub async fn ids<T: Serialize>(c: &mut DbConn, bulk: &Bulk, rows: &[T]) -> QueryResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let json = to_json(rows)?;
    let sql = bulk.sql(c);
    let found: Vec<Id> = with_db!(c, c => diesel::sql_query(sql).bind::<Text, _>(&json).load(c).await)?;
    Ok(found.into_iter().map(|r| r.id).collect())
}

fn to_json<T: Serialize>(rows: &[T]) -> QueryResult<String> {
    serde_json::to_string(rows).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// A time as the backend stores it when Diesel binds it: on SQLite the text Diesel writes (times
/// are text there and compare as text), on PostgreSQL cut to the microseconds Diesel sends (it
/// would round the nanoseconds of a text instead).
pub fn stamp(c: &DbConn, at: &NaiveDateTime) -> String {
    match c.backend() {
        Backend::Sqlite => at.format("%F %T%.f").to_string(),
        Backend::Postgres => at.trunc_subsecs(6).format("%F %T%.6f").to_string(),
    }
}

/// `n` ids for new contacts, reserved inside the caller's write transaction: the rows then go in
/// with their ids, so which id is whose does not hang on the order a `RETURNING` gives them back.
/// On SQLite the write transaction holds the only writer's lock, so the ids past the highest ever
/// given (`AUTOINCREMENT` never gives one twice) stay free until it commits; on PostgreSQL the
/// sequence hands them out.
pub async fn new_contact_ids(c: &mut DbConn, n: usize) -> QueryResult<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    match c.backend() {
        Backend::Sqlite => {
            let mut last: Vec<Id> = with_db!(c, c => diesel::sql_query(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'contacts'), 0), \
                 coalesce((SELECT max(id) FROM contacts), 0)) AS id",
            )
            .load(c)
            .await)?;
            let last = last.pop().map(|r| r.id).unwrap_or(0);
            Ok((last + 1..=last + n).collect())
        }
        Backend::Postgres => {
            let ids: Vec<Id> = with_db!(c, c => diesel::sql_query(
                "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) AS id FROM generate_series(1, $1)",
            )
            .bind::<BigInt, _>(n)
            .load(c)
            .await)?;
            Ok(ids.into_iter().map(|r| r.id).collect())
        }
    }
}

/// A contact's columns as a write sets them (`contacts::repo` fills it in).
#[derive(Serialize)]
pub struct ContactRow<'a> {
    pub id: i64,
    /// The version the write expects to find (an update); 1 for a new contact.
    pub version: i64,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: Option<&'a str>,
    pub phone: &'a str,
    pub company: &'a str,
    pub job_title: &'a str,
    pub street: &'a str,
    pub city: &'a str,
    pub postal_code: &'a str,
    pub country: &'a str,
    pub website: &'a str,
    pub notes: &'a str,
    pub status_id: Option<i64>,
    pub traffic_source_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub actor: Option<i64>,
    /// [`stamp`]ed.
    pub at: &'a str,
    pub search_text: &'a str,
}

/// New contacts with their ids; created and last changed by `actor` at `at`.
pub const INSERT_CONTACTS: Bulk = Bulk {
    sqlite: "INSERT INTO contacts (id, first_name, last_name, email, phone, company, job_title, street, city, \
             postal_code, country, website, notes, status_id, traffic_source_id, owner_id, created_by, updated_by, \
             created_at, updated_at, search_text) \
             SELECT value ->> 'id', value ->> 'first_name', value ->> 'last_name', value ->> 'email', \
             value ->> 'phone', value ->> 'company', value ->> 'job_title', value ->> 'street', value ->> 'city', \
             value ->> 'postal_code', value ->> 'country', value ->> 'website', value ->> 'notes', \
             value ->> 'status_id', value ->> 'traffic_source_id', value ->> 'owner_id', value ->> 'actor', \
             value ->> 'actor', value ->> 'at', value ->> 'at', value ->> 'search_text' FROM jsonb_each(?)",
    postgres: "INSERT INTO contacts (id, first_name, last_name, email, phone, company, job_title, street, city, \
               postal_code, country, website, notes, status_id, traffic_source_id, owner_id, created_by, updated_by, \
               created_at, updated_at, search_text) \
               SELECT id, first_name, last_name, email, phone, company, job_title, street, city, postal_code, country, \
               website, notes, status_id, traffic_source_id, owner_id, actor, actor, at, at, search_text \
               FROM json_to_recordset($1::json) AS j(id bigint, first_name text, last_name text, email text, \
               phone text, company text, job_title text, street text, city text, postal_code text, country text, \
               website text, notes text, status_id bigint, traffic_source_id bigint, owner_id bigint, actor bigint, \
               at timestamp, search_text text)",
};

/// Overwrites contacts that are still at `version` (and moves it on); returns the ids written.
pub const UPDATE_CONTACTS: Bulk = Bulk {
    sqlite: "UPDATE contacts SET first_name = j.value ->> 'first_name', last_name = j.value ->> 'last_name', \
             email = j.value ->> 'email', phone = j.value ->> 'phone', company = j.value ->> 'company', \
             job_title = j.value ->> 'job_title', street = j.value ->> 'street', city = j.value ->> 'city', \
             postal_code = j.value ->> 'postal_code', country = j.value ->> 'country', \
             website = j.value ->> 'website', notes = j.value ->> 'notes', status_id = j.value ->> 'status_id', \
             traffic_source_id = j.value ->> 'traffic_source_id', owner_id = j.value ->> 'owner_id', \
             updated_by = j.value ->> 'actor', updated_at = j.value ->> 'at', \
             search_text = j.value ->> 'search_text', version = contacts.version + 1 \
             FROM jsonb_each(?) AS j \
             WHERE contacts.id = j.value ->> 'id' AND contacts.version = j.value ->> 'version' \
             RETURNING contacts.id AS id",
    postgres: "UPDATE contacts AS c SET first_name = j.first_name, last_name = j.last_name, email = j.email, \
               phone = j.phone, company = j.company, job_title = j.job_title, street = j.street, city = j.city, \
               postal_code = j.postal_code, country = j.country, website = j.website, notes = j.notes, \
               status_id = j.status_id, traffic_source_id = j.traffic_source_id, owner_id = j.owner_id, \
               updated_by = j.actor, updated_at = j.at, search_text = j.search_text, version = c.version + 1 \
               FROM json_to_recordset($1::json) AS j(id bigint, version bigint, first_name text, last_name text, \
               email text, phone text, company text, job_title text, street text, city text, postal_code text, \
               country text, website text, notes text, status_id bigint, traffic_source_id bigint, owner_id bigint, \
               actor bigint, at timestamp, search_text text) \
               WHERE c.id = j.id AND c.version = j.version \
               RETURNING c.id AS id",
};

/// A link of a contact to a tag, or to a service.
#[derive(Serialize)]
pub struct LinkRow {
    pub contact_id: i64,
    pub other: i64,
}

pub const INSERT_CONTACT_TAGS: Bulk = Bulk {
    sqlite: "INSERT INTO contact_tags (contact_id, tag_id) \
             SELECT value ->> 'contact_id', value ->> 'other' FROM jsonb_each(?)",
    postgres: "INSERT INTO contact_tags (contact_id, tag_id) \
               SELECT contact_id, other FROM json_to_recordset($1::json) AS j(contact_id bigint, other bigint)",
};

pub const INSERT_CONTACT_SERVICES: Bulk = Bulk {
    sqlite: "INSERT INTO contact_services (contact_id, service_id) \
             SELECT value ->> 'contact_id', value ->> 'other' FROM jsonb_each(?)",
    postgres: "INSERT INTO contact_services (contact_id, service_id) \
               SELECT contact_id, other FROM json_to_recordset($1::json) AS j(contact_id bigint, other bigint)",
};

/// One stored value of an extra field.
#[derive(Serialize)]
pub struct FieldValueRow<'a> {
    pub contact_id: i64,
    pub field_id: i64,
    pub position: i32,
    pub value: &'a str,
    pub value_key: &'a str,
    pub value_number: Option<f64>,
    pub option_id: Option<i64>,
    pub unique_key: Option<&'a str>,
}

pub const INSERT_FIELD_VALUES: Bulk = Bulk {
    sqlite:
        "INSERT INTO contact_field_values (contact_id, field_id, position, value, value_key, value_number, \
             option_id, unique_key) \
             SELECT value ->> 'contact_id', value ->> 'field_id', value ->> 'position', value ->> 'value', \
             value ->> 'value_key', value ->> 'value_number', value ->> 'option_id', value ->> 'unique_key' \
             FROM jsonb_each(?)",
    postgres:
        "INSERT INTO contact_field_values (contact_id, field_id, position, value, value_key, value_number, \
               option_id, unique_key) \
               SELECT contact_id, field_id, position, value, value_key, value_number, option_id, unique_key \
               FROM json_to_recordset($1::json) AS j(contact_id bigint, field_id bigint, position integer, \
               value text, value_key text, value_number double precision, option_id bigint, unique_key text)",
};

/// A change-history entry (kind `change`), happened and written at `at`.
#[derive(Serialize)]
pub struct ChangeRow<'a> {
    pub contact_id: i64,
    pub subject: &'a str,
    pub author_id: Option<i64>,
    pub author_name: &'a str,
    pub changes: &'a str,
    /// [`stamp`]ed.
    pub at: &'a str,
}

pub const INSERT_CHANGES: Bulk = Bulk {
    sqlite: "INSERT INTO activities (contact_id, kind, subject, happened_at, author_id, author_name, changes, \
             created_at) \
             SELECT value ->> 'contact_id', 'change', value ->> 'subject', value ->> 'at', value ->> 'author_id', \
             value ->> 'author_name', value ->> 'changes', value ->> 'at' FROM jsonb_each(?)",
    postgres: "INSERT INTO activities (contact_id, kind, subject, happened_at, author_id, author_name, changes, \
               created_at) \
               SELECT contact_id, 'change', subject, at, author_id, author_name, changes, at \
               FROM json_to_recordset($1::json) AS j(contact_id bigint, subject text, author_id bigint, \
               author_name text, changes text, at timestamp)",
};

/// A row of an import's plan (the JSON columns as JSON text).
#[derive(Serialize)]
pub struct PlannedRow<'a> {
    pub import_id: i64,
    pub row_number: i64,
    pub outcome: &'a str,
    pub contact_id: Option<i64>,
    pub contact_version: Option<i64>,
    pub column_name: &'a str,
    pub message: &'a str,
    pub changes: String,
    pub before_input: Option<String>,
    pub after_input: Option<String>,
    pub cells: Option<String>,
}

pub const INSERT_IMPORT_ROWS: Bulk = Bulk {
    sqlite: "INSERT INTO import_rows (import_id, row_number, outcome, contact_id, contact_version, column_name, \
             message, changes, before_input, after_input, cells) \
             SELECT value ->> 'import_id', value ->> 'row_number', value ->> 'outcome', value ->> 'contact_id', \
             value ->> 'contact_version', value ->> 'column_name', value ->> 'message', value ->> 'changes', \
             value ->> 'before_input', value ->> 'after_input', value ->> 'cells' FROM jsonb_each(?)",
    postgres: "INSERT INTO import_rows (import_id, row_number, outcome, contact_id, contact_version, column_name, \
               message, changes, before_input, after_input, cells) \
               SELECT import_id, row_number, outcome, contact_id, contact_version, column_name, message, changes, \
               before_input, after_input, cells \
               FROM json_to_recordset($1::json) AS j(import_id bigint, row_number bigint, outcome text, \
               contact_id bigint, contact_version bigint, column_name text, message text, changes text, \
               before_input text, after_input text, cells text)",
};

/// What a run did with a row of an import.
#[derive(Serialize)]
pub struct WrittenRow<'a> {
    pub import_id: i64,
    pub row_number: i64,
    pub result: &'a str,
    pub contact_id: Option<i64>,
    pub after_version: Option<i64>,
    pub message: &'a str,
}

pub const MARK_WRITTEN: Bulk = Bulk {
    sqlite: "UPDATE import_rows SET applied = 1, result = j.value ->> 'result', \
             contact_id = j.value ->> 'contact_id', after_version = j.value ->> 'after_version', \
             message = j.value ->> 'message' \
             FROM jsonb_each(?) AS j \
             WHERE import_rows.import_id = j.value ->> 'import_id' AND import_rows.row_number = j.value ->> 'row_number'",
    postgres: "UPDATE import_rows AS r SET applied = TRUE, result = j.result, contact_id = j.contact_id, \
               after_version = j.after_version, message = j.message \
               FROM json_to_recordset($1::json) AS j(import_id bigint, row_number bigint, result text, \
               contact_id bigint, after_version bigint, message text) \
               WHERE r.import_id = j.import_id AND r.row_number = j.row_number",
};

/// What an undo did with a row of an import.
#[derive(Serialize)]
pub struct UndoneRow<'a> {
    pub import_id: i64,
    pub row_number: i64,
    pub undo_result: &'a str,
}

pub const MARK_UNDONE: Bulk = Bulk {
    sqlite: "UPDATE import_rows SET undo_result = j.value ->> 'undo_result' \
             FROM jsonb_each(?) AS j \
             WHERE import_rows.import_id = j.value ->> 'import_id' AND import_rows.row_number = j.value ->> 'row_number'",
    postgres: "UPDATE import_rows AS r SET undo_result = j.undo_result \
               FROM json_to_recordset($1::json) AS j(import_id bigint, row_number bigint, undo_result text) \
               WHERE r.import_id = j.import_id AND r.row_number = j.row_number",
};
