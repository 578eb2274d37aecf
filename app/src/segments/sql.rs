//! A segment's rules as one SQL condition over `contacts`, written once for both backends: fixed
//! SQL text per kind of condition (column names come from a fixed list, never from the rule),
//! every value a bound parameter.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::dsl;
use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Date, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::db::schema::contacts_search;
use crate::db::Contains;
use crate::fields::sql::FieldMatch;

/// The search index's rows containing a term (as the contact list's search).
pub type SearchRows = dsl::Filter<
    dsl::Select<contacts_search::table, contacts_search::rowid>,
    Contains<contacts_search::search_text>,
>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTest {
    Is,
    Contains,
    StartsWith,
    Empty,
    NotEmpty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTest {
    Any,
    All,
    None,
}

/// One condition, resolved against the data (ids checked, days turned into instants).
#[derive(Debug, Clone)]
pub enum Leaf {
    /// A text column of `contacts`, folded; the value is folded (a `LIKE` pattern for the
    /// pattern tests).
    Text {
        column: &'static str,
        test: TextTest,
        value: String,
    },
    Search(SearchRows),
    /// A timestamp column of `contacts` at or after (`after`) or before an instant.
    Time {
        column: &'static str,
        after: bool,
        at: NaiveDateTime,
    },
    /// A reference column of `contacts`: one of `ids`, none of them (or not set), or not set.
    Ref {
        column: &'static str,
        ids: Vec<i64>,
        negate: bool,
    },
    RefEmpty {
        column: &'static str,
    },
    /// Links (`contact_tags.tag_id`, `contact_services.service_id`).
    Links {
        table: &'static str,
        column: &'static str,
        ids: Vec<i64>,
        test: SetTest,
    },
    Field(FieldMatch),
    /// A portal account: active only, or any; `negate` for none.
    Portal {
        active_only: bool,
        negate: bool,
    },
    /// An activity (of `kind`, or any a person logs) at or after `since`; `negate` for none.
    Activity {
        kind: Option<String>,
        since: NaiveDateTime,
        negate: bool,
    },
    /// An open task due before `today`.
    OverdueTask {
        today: NaiveDate,
    },
    /// The members of a static segment or a snapshot's current list.
    Members {
        segment_id: i64,
        generation: i64,
        negate: bool,
    },
}

/// A rule tree ready for SQL.
#[derive(Debug, Clone)]
pub enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Leaf(Box<Leaf>),
}

impl Node {
    /// A condition no contact meets.
    pub fn nothing() -> Node {
        Node::Leaf(Box::new(Leaf::Ref { column: "id", ids: Vec::new(), negate: false }))
    }
}

/// `Node` as a boolean SQL expression over `contacts`.
#[derive(Debug, Clone)]
pub struct RuleMatch(pub Node);

impl Expression for RuleMatch {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for RuleMatch {}

impl ValidGrouping<()> for RuleMatch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for RuleMatch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// How each backend folds a column: around the column's SQL (see `db::folded`).
struct Fold {
    open: &'static str,
    close: &'static str,
}

const SQLITE_FOLD: Fold = Fold { open: "crm_fold(", close: ")" };
const PG_FOLD: Fold = Fold { open: "lower(btrim(", close: ") COLLATE \"und-x-icu\")" };

fn ids<'b, DB>(list: &'b [i64], out: &mut AstPass<'_, 'b, DB>) -> diesel::QueryResult<()>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    out.push_sql("(");
    for (i, id) in list.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        out.push_bind_param::<BigInt, _>(id)?;
    }
    out.push_sql(")");
    Ok(())
}

fn walk_node<'b, DB>(node: &'b Node, out: &mut AstPass<'_, 'b, DB>, fold: &Fold) -> diesel::QueryResult<()>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    NaiveDate: ToSql<Date, DB>,
    FieldMatch: QueryFragment<DB>,
    SearchRows: QueryFragment<DB>,
{
    match node {
        Node::All(nodes) | Node::Any(nodes) if nodes.is_empty() => out.push_sql("1 = 1"),
        Node::All(nodes) | Node::Any(nodes) => {
            let join = if matches!(node, Node::All(_)) { " AND " } else { " OR " };
            out.push_sql("(");
            for (i, n) in nodes.iter().enumerate() {
                if i > 0 {
                    out.push_sql(join);
                }
                walk_node(n, out, fold)?;
            }
            out.push_sql(")");
        }
        Node::Not(inner) => {
            // A condition on an empty (NULL) value is unknown, not false: "not in" must still
            // take that contact.
            out.push_sql("NOT COALESCE((");
            walk_node(inner, out, fold)?;
            out.push_sql("), FALSE)");
        }
        Node::Leaf(leaf) => walk_leaf(leaf, out, fold)?,
    }
    Ok(())
}

fn walk_leaf<'b, DB>(leaf: &'b Leaf, out: &mut AstPass<'_, 'b, DB>, fold: &Fold) -> diesel::QueryResult<()>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    NaiveDate: ToSql<Date, DB>,
    FieldMatch: QueryFragment<DB>,
    SearchRows: QueryFragment<DB>,
{
    let column = |out: &mut AstPass<'_, 'b, DB>, name: &str| {
        out.push_sql("\"contacts\".\"");
        out.push_sql(name);
        out.push_sql("\"");
    };
    match leaf {
        Leaf::Text { column: name, test: TextTest::Empty, .. } => {
            out.push_sql("(");
            column(out, name);
            out.push_sql(" IS NULL OR trim(");
            column(out, name);
            out.push_sql(") = '')");
        }
        Leaf::Text { column: name, test: TextTest::NotEmpty, .. } => {
            out.push_sql("trim(");
            column(out, name);
            out.push_sql(") <> ''");
        }
        Leaf::Text { column: name, test, value } => {
            out.push_sql(fold.open);
            column(out, name);
            out.push_sql(fold.close);
            if *test == TextTest::Is {
                out.push_sql(" = ");
                out.push_bind_param::<Text, _>(value)?;
            } else {
                out.push_sql(" LIKE ");
                out.push_bind_param::<Text, _>(value)?;
                out.push_sql(" ESCAPE '\\'");
            }
        }
        Leaf::Search(rows) => {
            out.push_sql("\"contacts\".\"id\" IN (");
            rows.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        Leaf::Time { column: name, after, at } => {
            column(out, name);
            out.push_sql(if *after { " >= " } else { " < " });
            out.push_bind_param::<Timestamp, _>(at)?;
        }
        Leaf::Ref { column: name, ids: list, negate: false } => {
            if list.is_empty() {
                out.push_sql("1 = 0");
            } else {
                column(out, name);
                out.push_sql(" IN ");
                ids(list, out)?;
            }
        }
        Leaf::Ref { column: name, ids: list, negate: true } => {
            if list.is_empty() {
                out.push_sql("1 = 1");
            } else {
                out.push_sql("(");
                column(out, name);
                out.push_sql(" IS NULL OR ");
                column(out, name);
                out.push_sql(" NOT IN ");
                ids(list, out)?;
                out.push_sql(")");
            }
        }
        Leaf::RefEmpty { column: name } => {
            column(out, name);
            out.push_sql(" IS NULL");
        }
        Leaf::Links { table, column: link, ids: list, test } => {
            if list.is_empty() {
                out.push_sql(if *test == SetTest::Any { "1 = 0" } else { "1 = 1" });
                return Ok(());
            }
            out.push_sql("\"contacts\".\"id\" ");
            if *test == SetTest::None {
                out.push_sql("NOT ");
            }
            out.push_sql("IN (SELECT \"contact_id\" FROM \"");
            out.push_sql(table);
            out.push_sql("\" WHERE \"");
            out.push_sql(link);
            out.push_sql("\" IN ");
            ids(list, out)?;
            if *test == SetTest::All {
                // The links are unique per contact and tag (or service): all of them is as many.
                out.push_sql(" GROUP BY \"contact_id\" HAVING COUNT(*) = ");
                out.push_sql(&list.len().to_string());
            }
            out.push_sql(")");
        }
        Leaf::Field(m) => m.walk_ast(out.reborrow())?,
        Leaf::Portal { active_only, negate } => {
            out.push_sql("\"contacts\".\"id\" ");
            if *negate {
                out.push_sql("NOT ");
            }
            out.push_sql("IN (SELECT \"contact_id\" FROM \"users\" WHERE \"contact_id\" IS NOT NULL");
            if *active_only {
                out.push_sql(" AND \"is_active\" = TRUE");
            }
            out.push_sql(")");
        }
        Leaf::Activity { kind, since, negate } => {
            out.push_sql("\"contacts\".\"id\" ");
            if *negate {
                out.push_sql("NOT ");
            }
            out.push_sql("IN (SELECT \"contact_id\" FROM \"activities\" WHERE ");
            match kind {
                Some(kind) => {
                    out.push_sql("\"kind\" = ");
                    out.push_bind_param::<Text, _>(kind)?;
                }
                // The change history is not something a person did with the contact.
                None => out.push_sql("\"kind\" <> 'change'"),
            }
            out.push_sql(" AND \"happened_at\" >= ");
            out.push_bind_param::<Timestamp, _>(since)?;
            out.push_sql(")");
        }
        Leaf::OverdueTask { today } => {
            out.push_sql(
                "\"contacts\".\"id\" IN (SELECT \"contact_id\" FROM \"activities\" WHERE \"kind\" = 'task' \
                 AND \"done_at\" IS NULL AND \"due_on\" < ",
            );
            out.push_bind_param::<Date, _>(today)?;
            out.push_sql(")");
        }
        Leaf::Members { segment_id, generation, negate } => {
            out.push_sql("\"contacts\".\"id\" ");
            if *negate {
                out.push_sql("NOT ");
            }
            out.push_sql("IN (SELECT \"contact_id\" FROM \"segment_members\" WHERE \"segment_id\" = ");
            out.push_bind_param::<BigInt, _>(segment_id)?;
            out.push_sql(" AND \"generation\" = ");
            out.push_bind_param::<BigInt, _>(generation)?;
            out.push_sql(")");
        }
    }
    Ok(())
}

impl QueryFragment<Sqlite> for RuleMatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        walk_node(&self.0, &mut out, &SQLITE_FOLD)
    }
}

impl QueryFragment<Pg> for RuleMatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        walk_node(&self.0, &mut out, &PG_FOLD)
    }
}
