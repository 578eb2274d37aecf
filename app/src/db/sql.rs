//! SQL fragments written once for both backends: case folding, `LIKE` patterns and the search
//! index's "contains".

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends (ASCII-only on SQLite): for ordering only. Comparisons
    /// use a key folded by [`fold`] and stored beside the text.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// [`fold`] as an SQL function on SQLite, whose `lower()` folds ASCII only (see [`folded`]).
    #[sql_name = "crm_fold"]
    fn crm_fold(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Registers [`crm_fold`] on a new SQLite connection.
pub(super) fn register_sqlite_functions(c: &mut diesel::SqliteConnection) -> diesel::QueryResult<()> {
    crm_fold_utils::register_impl(c, |x: Option<String>| x.map(|x| fold(&x)))
}

/// `text` folded by the database as [`fold`] folds it, for comparing stored text that has no
/// folded key beside it (a segment's "city is …"): `crm_fold(text)` on SQLite, and on
/// PostgreSQL `lower(btrim(text) COLLATE "und-x-icu")`, ICU's lower case being Unicode's default
/// one as Rust's is (final sigma included), where the database's own collation may fold ASCII
/// alone ("C.UTF-8" does). NULL stays NULL.
pub fn folded<T>(text: T) -> Folded<T> {
    Folded(text)
}

#[derive(Debug, Clone, Copy)]
pub struct Folded<T>(T);

impl<T> QueryId for Folded<T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T: Expression> Expression for Folded<T> {
    type SqlType = diesel::sql_types::Nullable<Text>;
}

impl<T: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for Folded<T> {}

impl<T: ValidGrouping<()>> ValidGrouping<()> for Folded<T> {
    type IsAggregate = T::IsAggregate;
}

impl<T: diesel::expression::SelectableExpression<QS>, QS> diesel::expression::SelectableExpression<QS>
    for Folded<T>
{
}

impl<T: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Folded<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        out.push_sql("crm_fold(");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<T: QueryFragment<Pg>> QueryFragment<Pg> for Folded<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("lower(btrim(");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") COLLATE \"und-x-icu\")");
        Ok(())
    }
}

/// The one case-folding rule of the CRM, on both backends: trimmed, Unicode lower case as Rust
/// knows it ("Ärzte" → "ärzte", "İstanbul" → "i̇stanbul", "ÉCOLE" → "école"), and without NUL
/// characters, which PostgreSQL cannot store. Names are looked up and kept unique by this key,
/// stored in `name_key` columns, so SQLite's ASCII-only `lower()` and PostgreSQL's
/// collation-dependent one never decide.
pub fn fold(text: &str) -> String {
    text.trim().replace('\0', "").to_lowercase()
}

/// A case-insensitive "contains" pattern for `LIKE … ESCAPE '\\'`: folded, with the wildcards a
/// person might type taken literally. Compare it with folded text.
pub fn like_pattern(search: &str) -> String {
    let escaped: String = fold(search)
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// `column` contains `term`, case-insensitively, answered by each backend's search index:
/// `MATCH` with a quoted phrase on SQLite's FTS5 trigram table (a phrase of trigrams is a
/// substring, and the index alone decides it), `LIKE '%term%'` on PostgreSQL's pg_trgm index.
/// Terms shorter than a trigram fall back to `LIKE` on SQLite too, which reads every row.
/// `column` holds folded text.
pub fn contains<C>(column: C, term: &str) -> Contains<C> {
    let term = fold(term);
    let phrase = (term.chars().count() >= 3).then(|| format!("\"{}\"", term.replace('"', "\"\"")));
    Contains { column, like: like_pattern(&term), phrase }
}

#[derive(Debug, Clone)]
pub struct Contains<C> {
    column: C,
    like: String,
    phrase: Option<String>,
}

impl<C: Expression> Expression for Contains<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for Contains<C> {}

impl<C: ValidGrouping<()>> ValidGrouping<()> for Contains<C> {
    type IsAggregate = C::IsAggregate;
}

// The SQL depends on the term (MATCH or LIKE): no static query id, so Diesel caches the
// prepared statement by its SQL text instead.
impl<C> QueryId for Contains<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Contains<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        match &self.phrase {
            Some(phrase) => {
                out.push_sql(" MATCH ");
                out.push_bind_param::<Text, _>(phrase)
            }
            None => {
                out.push_sql(" LIKE ");
                out.push_bind_param::<Text, _>(&self.like)?;
                out.push_sql(" ESCAPE '\\'");
                Ok(())
            }
        }
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for Contains<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        // Backslash is PostgreSQL's default LIKE escape.
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" LIKE ");
        out.push_bind_param::<Text, _>(&self.like)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_unicode_lower_case_without_surrounding_space_or_nul() {
        assert_eq!(fold("  Ärzte "), "ärzte");
        assert_eq!(fold("ÉCOLE"), fold("école"));
        assert_eq!(fold("İstanbul"), "i\u{307}stanbul");
        assert_eq!(fold("STRAßE"), "straße");
        assert_eq!(fold("abc\0def"), "abcdef");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
