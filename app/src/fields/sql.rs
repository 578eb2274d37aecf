//! The contact list's filters and sort orders on extra fields, as SQL fragments written once for
//! both backends: a subquery over `contact_field_values` per filter, and for a sort the value
//! joined as `sort_value` (contacts without one last). Every value is a bound parameter.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Double, Text};
use diesel::sqlite::Sqlite;

/// What a filter asks of a field's values.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A `LIKE` pattern over the folded text.
    Contains(String),
    /// The folded text, or the stored key, equals this.
    Is(String),
    /// Numbers from / to (either end open).
    NumberRange(Option<f64>, Option<f64>),
    /// Keys (ISO dates) from / to, inclusive.
    KeyRange(Option<String>, Option<String>),
    /// Any of these options.
    AnyOption(Vec<i64>),
    NotEmpty,
    Empty,
}

/// `contacts.id [NOT] IN (SELECT contact_id FROM contact_field_values WHERE field_id = ? AND …)`.
#[derive(Debug, Clone)]
pub struct FieldMatch {
    pub field_id: i64,
    pub condition: Condition,
}

impl Expression for FieldMatch {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for FieldMatch {}

impl ValidGrouping<()> for FieldMatch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

// The SQL depends on the condition: no static query id.
impl QueryId for FieldMatch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

fn walk_match<'b, DB>(m: &'b FieldMatch, mut out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
    f64: ToSql<Double, DB>,
{
    out.push_sql("\"contacts\".\"id\" ");
    if matches!(m.condition, Condition::Empty) {
        out.push_sql("NOT ");
    }
    out.push_sql("IN (SELECT \"contact_id\" FROM \"contact_field_values\" WHERE \"field_id\" = ");
    out.push_bind_param::<BigInt, _>(&m.field_id)?;
    match &m.condition {
        Condition::Contains(pattern) => {
            out.push_sql(" AND \"value_key\" LIKE ");
            out.push_bind_param::<Text, _>(pattern)?;
            out.push_sql(" ESCAPE '\\'");
        }
        Condition::Is(key) => {
            out.push_sql(" AND \"value_key\" = ");
            out.push_bind_param::<Text, _>(key)?;
        }
        Condition::NumberRange(min, max) => {
            out.push_sql(" AND \"value_number\" IS NOT NULL");
            if let Some(min) = min {
                out.push_sql(" AND \"value_number\" >= ");
                out.push_bind_param::<Double, _>(min)?;
            }
            if let Some(max) = max {
                out.push_sql(" AND \"value_number\" <= ");
                out.push_bind_param::<Double, _>(max)?;
            }
        }
        Condition::KeyRange(min, max) => {
            if let Some(min) = min {
                out.push_sql(" AND \"value_key\" >= ");
                out.push_bind_param::<Text, _>(min)?;
            }
            if let Some(max) = max {
                out.push_sql(" AND \"value_key\" <= ");
                out.push_bind_param::<Text, _>(max)?;
            }
        }
        Condition::AnyOption(ids) if ids.is_empty() => out.push_sql(" AND 1 = 0"),
        Condition::AnyOption(ids) => {
            out.push_sql(" AND \"option_id\" IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                out.push_bind_param::<BigInt, _>(id)?;
            }
            out.push_sql(")");
        }
        Condition::NotEmpty | Condition::Empty => {}
    }
    out.push_sql(")");
    Ok(())
}

impl QueryFragment<Sqlite> for FieldMatch {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        walk_match(self, out)
    }
}

impl QueryFragment<Pg> for FieldMatch {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        walk_match(self, out)
    }
}

// Each contact's first value of the field the list sorts by, joined to the contacts (see
// `contacts::repo::list`); `FieldOrder` refers to it by this name.
diesel::alias!(crate::db::schema::contact_field_values as sort_value: SortValue);

/// What a field sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// The folded text or ISO key, in code point order on both backends.
    Key,
    Number,
    /// The position of the (first) option.
    OptionPosition,
}

/// The list's ORDER BY for a field: contacts without a value last either way, ties by id.
#[derive(Debug, Clone)]
pub struct FieldOrder {
    pub field_id: i64,
    pub by: SortBy,
    pub descending: bool,
}

impl Expression for FieldOrder {
    type SqlType = Text;
}

impl<QS> AppearsOnTable<QS> for FieldOrder {}

impl ValidGrouping<()> for FieldOrder {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for FieldOrder {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

fn walk_order<'b, DB>(
    o: &'b FieldOrder,
    mut out: AstPass<'_, 'b, DB>,
    collate: &str,
) -> diesel::QueryResult<()>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    match o.by {
        SortBy::Key => out.push_sql("\"sort_value\".\"value_key\""),
        SortBy::Number => out.push_sql("\"sort_value\".\"value_number\""),
        SortBy::OptionPosition => out.push_sql(
            "(SELECT o.\"position\" FROM \"field_options\" o WHERE o.\"id\" = \"sort_value\".\"option_id\")",
        ),
    }
    if o.by == SortBy::Key {
        out.push_sql(collate);
    }
    // Both backends put NULLs (contacts without a value) last when told.
    let dir = if o.descending { " DESC" } else { " ASC" };
    out.push_sql(dir);
    out.push_sql(" NULLS LAST, \"contacts\".\"id\"");
    out.push_sql(dir);
    Ok(())
}

impl QueryFragment<Sqlite> for FieldOrder {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        // SQLite compares text by code point (BINARY).
        walk_order(self, out, "")
    }
}

impl QueryFragment<Pg> for FieldOrder {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        // "C" compares bytes, which for UTF-8 is code point order: the same order as SQLite.
        walk_order(self, out, " COLLATE \"C\"")
    }
}
