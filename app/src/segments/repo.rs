//! The segments repository: definitions, members, snapshots, entries and exits, and the rules
//! turned into SQL ([`resolve`]) and explained ([`why`]).

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::sql::{Leaf, Node, RuleMatch, SetTest, TextTest};
use super::{
    operators, Condition, Draft, Generation, Group, Input, Membership, Preview, Segment, SegmentEvent,
    SegmentKind, SegmentRef, SegmentSummary, Why, WhyGroup, ACTIVITY_KINDS, TEXT_SUBJECTS,
};
use crate::clock::Clock;
use crate::contacts::{display_name, Choices};
use crate::db::schema::{
    contacts, contacts_search, data_versions, segment_events, segment_generations, segment_members,
    segment_sizes, segments,
};
use crate::db::{contains, fold, like_pattern, lower, with_db, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::fields::FieldCatalog;

/// Who is asking: segments private to others stay out of sight.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: i64,
    pub name: String,
    /// Holds "Manage segments" (or is an administrator): may create, edit and delete shared
    /// segments.
    pub manage: bool,
}

/// A segment as stored.
#[derive(Debug, Clone, Queryable)]
pub struct Row {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub rules: String,
    pub owner_id: Option<i64>,
    pub owner_name: String,
    pub shared: bool,
    pub generation: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub refreshed_at: Option<NaiveDateTime>,
    pub synced_key: String,
    pub version: i64,
}

type RowColumns = (
    segments::id,
    segments::name,
    segments::kind,
    segments::rules,
    segments::owner_id,
    segments::owner_name,
    segments::shared,
    segments::generation,
    segments::created_at,
    segments::updated_at,
    segments::refreshed_at,
    segments::synced_key,
    segments::version,
);

const ROW: RowColumns = (
    segments::id,
    segments::name,
    segments::kind,
    segments::rules,
    segments::owner_id,
    segments::owner_name,
    segments::shared,
    segments::generation,
    segments::created_at,
    segments::updated_at,
    segments::refreshed_at,
    segments::synced_key,
    segments::version,
);

impl Row {
    pub fn kind(&self) -> SegmentKind {
        SegmentKind::parse(&self.kind).unwrap_or_default()
    }

    pub fn rules(&self) -> Group {
        serde_json::from_str(&self.rules).unwrap_or_default()
    }

    pub fn visible_to(&self, viewer: &Viewer) -> bool {
        self.shared || self.owner_id == Some(viewer.id) || (self.owner_id.is_none() && viewer.manage)
    }

    pub fn editable_by(&self, viewer: &Viewer) -> bool {
        if self.shared || self.owner_id.is_none() {
            viewer.manage
        } else {
            self.owner_id == Some(viewer.id)
        }
    }

    fn reference(&self) -> SegmentRef {
        SegmentRef { id: self.id, name: self.name.clone(), kind: self.kind(), editable: false }
    }
}

async fn rows(conn: &mut DbConn) -> Result<Vec<Row>, AppError> {
    Ok(
        with_db!(conn, c => segments::table.select(ROW).order((lower(segments::name).asc(), segments::id.asc())).load::<Row>(c).await)?,
    )
}

async fn row(conn: &mut DbConn, id: i64) -> Result<Option<Row>, AppError> {
    Ok(
        with_db!(conn, c => segments::table.filter(segments::id.eq(id)).select(ROW).first::<Row>(c).await.optional())?,
    )
}

/// The segment `id` if `viewer` may see it.
pub async fn visible(conn: &mut DbConn, viewer: &Viewer, id: i64) -> Result<Row, AppError> {
    row(conn, id).await?.filter(|r| r.visible_to(viewer)).ok_or(AppError::NotFound)
}

/// The segments `viewer` may see, by name.
pub async fn references(conn: &mut DbConn, viewer: &Viewer) -> Result<Vec<SegmentRef>, AppError> {
    Ok(rows(conn)
        .await?
        .iter()
        .filter(|r| r.visible_to(viewer))
        .map(|r| SegmentRef { editable: r.editable_by(viewer), ..r.reference() })
        .collect())
}

/// What rules are resolved against: the extra fields, the lists' entries, the segments, the
/// organisation's clock and today in its time zone.
pub struct Context {
    pub catalog: FieldCatalog,
    pub choices: Choices,
    pub segments: HashMap<i64, Row>,
    pub clock: Clock,
    pub today: NaiveDate,
    /// Whose eyes the rules are described for: other people's private segments go unnamed.
    pub viewer: Option<Viewer>,
}

impl Context {
    pub async fn load(conn: &mut DbConn) -> Result<Self, AppError> {
        let catalog = crate::fields::repo::catalog(conn).await?;
        let choices = crate::contacts::repo::choices(conn).await?;
        let segments = rows(conn).await?.into_iter().map(|r| (r.id, r)).collect();
        let clock = *conn.clock();
        Ok(Context { catalog, choices, segments, today: clock.today(), clock, viewer: None })
    }

    /// The same, described for `viewer`.
    pub async fn load_for(conn: &mut DbConn, viewer: &Viewer) -> Result<Self, AppError> {
        Ok(Context { viewer: Some(viewer.clone()), ..Self::load(conn).await? })
    }

    /// The start of the organisation's day `days` before today, in UTC.
    fn days_ago(&self, days: i64) -> NaiveDateTime {
        let day = self.today - Duration::days(days);
        self.clock.to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    fn day_start(&self, day: NaiveDate) -> NaiveDateTime {
        self.clock.to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default())
    }
}

/// The problems of a rule set, `(c.<n>, message)` with `n` the condition's place in
/// [`Group::all_conditions`]' order.
pub type Problems = Vec<(String, String)>;

/// `rules` as SQL. `stack` holds the segments being resolved (the one being saved first), so
/// that a segment that would contain itself is refused; `viewer`, when given, may only name
/// segments they can see.
pub fn resolve(
    rules: &Group,
    ctx: &Context,
    viewer: Option<&Viewer>,
    stack: &mut Vec<i64>,
) -> Result<Node, Problems> {
    resolve_as(rules, ctx, viewer, false, stack)
}

/// [`resolve`] for a segment that is `shared`: it may only name shared segments (all staff see
/// its members, so none may come from someone's private list).
pub fn resolve_as(
    rules: &Group,
    ctx: &Context,
    viewer: Option<&Viewer>,
    shared: bool,
    stack: &mut Vec<i64>,
) -> Result<Node, Problems> {
    let mut problems = Vec::new();
    let mut n = 0;
    let node = resolve_group(rules, ctx, viewer, stack, &mut n, &mut problems);
    if shared {
        for (at, c) in rules.all_conditions().into_iter().enumerate() {
            let private = c.subject == "segment"
                && c.value(0)
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| ctx.segments.get(&id))
                    .is_some_and(|s| !s.shared);
            if private && !problems.iter().any(|(k, _)| *k == format!("c.{at}")) {
                problems.push((
                    format!("c.{at}"),
                    "A shared segment can only use shared segments: share that one too, or keep this one private.".into(),
                ));
            }
        }
        problems.sort_by_key(|(k, _)| k.trim_start_matches("c.").parse::<usize>().unwrap_or(usize::MAX));
    }
    if problems.is_empty() {
        Ok(node)
    } else {
        Err(problems)
    }
}

fn resolve_group(
    group: &Group,
    ctx: &Context,
    viewer: Option<&Viewer>,
    stack: &mut Vec<i64>,
    n: &mut usize,
    problems: &mut Problems,
) -> Node {
    let mut nodes = Vec::new();
    for condition in &group.conditions {
        let at = *n;
        *n += 1;
        match resolve_condition(condition, ctx, viewer, stack) {
            Ok(node) => nodes.push(node),
            Err(message) => problems.push((format!("c.{at}"), message)),
        }
    }
    for g in &group.groups {
        nodes.push(resolve_group(g, ctx, viewer, stack, n, problems));
    }
    if group.any {
        Node::Any(nodes)
    } else {
        Node::All(nodes)
    }
}

fn leaf(leaf: Leaf) -> Node {
    Node::Leaf(Box::new(leaf))
}

fn days(value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(n) if (1..=36_500).contains(&n) => Ok(n),
        _ => Err("Enter a number of days from 1 to 36500, like 30.".into()),
    }
}

fn date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .filter(crate::fields::values::plausible)
        .ok_or_else(|| "Enter a date like 2026-12-31.".into())
}

/// The ids of `values` found in `list`, once each; at least one.
fn picked(values: &[String], list: &[crate::contacts::Choice]) -> Result<Vec<i64>, String> {
    let ids: BTreeSet<i64> = values
        .iter()
        .filter_map(|v| v.trim().parse::<i64>().ok())
        .filter(|id| list.iter().any(|c| c.id == *id))
        .collect();
    if ids.is_empty() {
        Err("Pick at least one.".into())
    } else {
        Ok(ids.into_iter().collect())
    }
}

fn resolve_condition(
    c: &Condition,
    ctx: &Context,
    viewer: Option<&Viewer>,
    stack: &mut Vec<i64>,
) -> Result<Node, String> {
    let ops = operators(&c.subject, &ctx.catalog);
    if ops.is_empty() {
        return Err("Choose what to test.".into());
    }
    let Some(&(op, _, input)) = ops.iter().find(|(k, _, _)| *k == c.op) else {
        return Err("Choose how to test it.".into());
    };
    let first = c.value(0);
    if matches!(input, Input::Text) && first.is_empty() {
        return Err("Enter a value.".into());
    }
    if let Some(&(column, _)) = TEXT_SUBJECTS.iter().find(|(k, _)| *k == c.subject) {
        let (test, value) = match op {
            "is" => (TextTest::Is, fold(first)),
            "contains" => (TextTest::Contains, like_pattern(first)),
            // The "contains" pattern without its leading wildcard.
            "starts_with" => (TextTest::StartsWith, like_pattern(first)[1..].to_owned()),
            "empty" => (TextTest::Empty, String::new()),
            _ => (TextTest::NotEmpty, String::new()),
        };
        return Ok(leaf(Leaf::Text { column, test, value }));
    }
    if let Some(key) = c.subject.strip_prefix("f.") {
        let (op, values) = match op {
            "yes" | "no" => ("is", vec![op.to_owned()]),
            op => (op, c.values.clone()),
        };
        let filter = crate::fields::FieldFilter { key: key.to_owned(), op: op.to_owned(), values };
        return crate::fields::repo::list_matches(&ctx.catalog, &[filter], &ctx.clock)
            .pop()
            .map(|m| leaf(Leaf::Field(m)))
            .ok_or_else(|| match input {
                Input::Range => "Enter at least one end of the range.".to_owned(),
                Input::Pick => "Pick at least one.".to_owned(),
                _ => "Enter a value this field can hold.".to_owned(),
            });
    }
    let node = match (c.subject.as_str(), op) {
        ("search", _) => {
            let rows = contacts_search::table
                .select(contacts_search::rowid)
                .filter(contains(contacts_search::search_text, first));
            leaf(Leaf::Search(rows))
        }
        (subject @ ("created" | "updated"), op) => {
            let column = if subject == "created" { "created_at" } else { "updated_at" };
            match op {
                "within" => leaf(Leaf::Time { column, after: true, at: ctx.days_ago(days(first)?) }),
                "before" => leaf(Leaf::Time { column, after: false, at: ctx.day_start(date(first)?) }),
                _ => leaf(Leaf::Time {
                    column,
                    after: true,
                    at: ctx.day_start(date(first)? + Duration::days(1)),
                }),
            }
        }
        (subject @ ("status" | "source" | "owner"), op) => {
            let (column, list) = match subject {
                "status" => ("status_id", &ctx.choices.statuses),
                "source" => ("traffic_source_id", &ctx.choices.traffic_sources),
                _ => ("owner_id", &ctx.choices.owners),
            };
            match op {
                "empty" => leaf(Leaf::RefEmpty { column }),
                op => leaf(Leaf::Ref { column, ids: picked(&c.values, list)?, negate: op == "none" }),
            }
        }
        (subject @ ("tags" | "services"), op) => {
            let (table, column, list) = match subject {
                "tags" => ("contact_tags", "tag_id", &ctx.choices.tags),
                _ => ("contact_services", "service_id", &ctx.choices.services),
            };
            let test = match op {
                "all" => SetTest::All,
                "none" => SetTest::None,
                _ => SetTest::Any,
            };
            leaf(Leaf::Links { table, column, ids: picked(&c.values, list)?, test })
        }
        ("portal", op) => leaf(Leaf::Portal { active_only: op == "active", negate: op == "none" }),
        ("activity", "overdue_task") => leaf(Leaf::OverdueTask { today: ctx.today }),
        ("activity", op) => {
            let kind = ACTIVITY_KINDS
                .iter()
                .find(|(k, _)| *k == first)
                .map(|(k, _)| *k)
                .ok_or_else(|| "Choose a kind of activity.".to_owned())?;
            let since = ctx.days_ago(days(c.value(1))?);
            let kind = (kind != "any").then(|| kind.to_owned());
            leaf(Leaf::Activity { kind, since, negate: op == "none_within" })
        }
        ("segment", op) => {
            let negate = op == "not_in";
            let target = first
                .parse::<i64>()
                .ok()
                .and_then(|id| ctx.segments.get(&id))
                .filter(|s| viewer.is_none_or(|v| s.visible_to(v)))
                .ok_or_else(|| "Choose a segment.".to_owned())?;
            if stack.contains(&target.id) {
                return Err(match <[_]>::first(stack) {
                    Some(first) if *first == target.id && stack.len() == 1 => {
                        "A segment cannot contain itself.".to_owned()
                    }
                    _ => format!(
                        "“{}” uses this segment in its rules: a segment cannot contain itself.",
                        target.name
                    ),
                });
            }
            match target.kind() {
                SegmentKind::Dynamic => {
                    stack.push(target.id);
                    let inner = resolve(&target.rules(), ctx, None, stack);
                    stack.pop();
                    let inner = inner.map_err(|problems| match <[_]>::first(&problems) {
                        Some((_, m)) if m.contains("cannot contain itself") => format!(
                            "“{}” uses this segment in its rules: a segment cannot contain itself.",
                            target.name
                        ),
                        _ => {
                            format!("The rules of “{}” no longer work: edit that segment first.", target.name)
                        }
                    })?;
                    if negate {
                        Node::Not(Box::new(inner))
                    } else {
                        inner
                    }
                }
                _ => leaf(Leaf::Members { segment_id: target.id, generation: target.generation, negate }),
            }
        }
        _ => return Err("Choose how to test it.".into()),
    };
    Ok(node)
}

/// The condition a contact list asks for when filtered by segment `id` (no visibility check:
/// the caller made it).
///
/// A dynamic segment synced with the data as it stands reads its stored members (an index range)
/// instead of evaluating its rules again; one whose data changed since evaluates them.
pub async fn filter_for(conn: &mut DbConn, id: i64) -> Result<RuleMatch, AppError> {
    let row = row(conn, id).await?.ok_or(AppError::NotFound)?;
    if row.kind() != SegmentKind::Dynamic {
        return Ok(RuleMatch(stored_members(&row)));
    }
    let today = conn.clock().today();
    if row.synced_key == data_key(conn, today).await? {
        return Ok(RuleMatch(stored_members(&row)));
    }
    let ctx = Context::load(conn).await?;
    Ok(RuleMatch(members_node(&row, &ctx)))
}

/// The members `row` keeps: a static segment's, a snapshot's current list, or a dynamic
/// segment's as last synced.
fn stored_members(row: &Row) -> Node {
    let generation = if row.kind() == SegmentKind::Snapshot { row.generation } else { 0 };
    leaf(Leaf::Members { segment_id: row.id, generation, negate: false })
}

async fn stored_count(conn: &mut DbConn, row: &Row) -> Result<i64, AppError> {
    let generation = if row.kind() == SegmentKind::Snapshot { row.generation } else { 0 };
    Ok(with_db!(conn, c => segment_members::table
        .filter(segment_members::segment_id.eq(row.id))
        .filter(segment_members::generation.eq(generation))
        .count()
        .get_result::<i64>(c)
        .await)?)
}

/// The members of `row` as SQL: its rules for a dynamic segment (a dynamic segment whose rules
/// stopped working, a field deleted say, has no members), its list otherwise.
fn members_node(row: &Row, ctx: &Context) -> Node {
    match row.kind() {
        SegmentKind::Dynamic => {
            resolve(&row.rules(), ctx, None, &mut vec![row.id]).unwrap_or_else(|_| Node::nothing())
        }
        _ => leaf(Leaf::Members { segment_id: row.id, generation: row.generation, negate: false }),
    }
}

async fn count_of(conn: &mut DbConn, node: Node) -> Result<i64, AppError> {
    Ok(
        with_db!(conn, c => contacts::table.filter(RuleMatch(node.clone())).count().get_result::<i64>(c).await)?,
    )
}

async fn ids_of(conn: &mut DbConn, node: Node) -> Result<Vec<i64>, AppError> {
    Ok(
        with_db!(conn, c => contacts::table.filter(RuleMatch(node.clone())).select(contacts::id).order(contacts::id.asc()).load::<i64>(c).await)?,
    )
}

async fn meets(conn: &mut DbConn, contact_id: i64, node: Node) -> Result<bool, AppError> {
    let n: i64 = with_db!(conn, c => contacts::table
        .filter(contacts::id.eq(contact_id))
        .filter(RuleMatch(node.clone()))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// The segments page: the segments `viewer` may see, with their live sizes.
pub async fn list(conn: &mut DbConn, viewer: &Viewer) -> Result<Vec<SegmentSummary>, AppError> {
    let ctx = Context::load(conn).await?;
    let key = data_key(conn, ctx.today).await?;
    let mut out = Vec::new();
    for row in rows(conn).await?.into_iter().filter(|r| r.visible_to(viewer)) {
        // Stored members where they are current; a dynamic segment's rules where its data moved on.
        let members = if row.kind() != SegmentKind::Dynamic || row.synced_key == key {
            stored_count(conn, &row).await?
        } else {
            count_of(conn, members_node(&row, &ctx)).await?
        };
        out.push(SegmentSummary {
            id: row.id,
            name: row.name.clone(),
            kind: row.kind(),
            owner: row.owner_name.clone(),
            shared: row.shared,
            members,
            changed: ctx.clock.stamp(row.refreshed_at.map_or(row.updated_at, |r| r.max(row.updated_at))),
        });
    }
    Ok(out)
}

/// A segment's page (after bringing a dynamic one's entries and exits up to date).
pub async fn get(conn: &mut DbConn, viewer: &Viewer, id: i64) -> Result<Segment, AppError> {
    visible(conn, viewer, id).await?;
    sync(conn, id).await?;
    let ctx = Context::load_for(conn, viewer).await?;
    let row = ctx.segments.get(&id).ok_or(AppError::NotFound)?.clone();
    // Just synced: the stored members are the segment's members.
    let members = stored_count(conn, &row).await?;
    let clock = ctx.clock;
    let mut segment = Segment {
        id,
        name: row.name.clone(),
        kind: row.kind(),
        rules: row.rules(),
        described: describe(&row.rules(), &ctx, 0),
        owner_id: row.owner_id,
        owner: row.owner_name.clone(),
        shared: row.shared,
        version: row.version,
        members,
        created_at: clock.stamp(row.created_at),
        updated_at: clock.stamp(row.updated_at),
        refreshed_at: row.refreshed_at.map(|t| clock.stamp(t)),
        can_edit: row.editable_by(viewer),
        sizes: Vec::new(),
        events: Vec::new(),
        history: Vec::new(),
    };
    match row.kind() {
        SegmentKind::Dynamic => {
            let sizes: Vec<(NaiveDate, i64)> = with_db!(conn, c => segment_sizes::table
                .filter(segment_sizes::segment_id.eq(id))
                .order(segment_sizes::day.desc())
                .select((segment_sizes::day, segment_sizes::size))
                .limit(90)
                .load(c)
                .await)?;
            segment.sizes = sizes.into_iter().rev().map(|(d, n)| (clock.date(d), n)).collect();
            let events: Vec<(i64, String, bool, NaiveDateTime)> = with_db!(conn, c => segment_events::table
                .filter(segment_events::segment_id.eq(id))
                .order((segment_events::at.desc(), segment_events::id.desc()))
                .select((segment_events::contact_id, segment_events::contact_name, segment_events::entered, segment_events::at))
                .limit(20)
                .load(c)
                .await)?;
            segment.events = events
                .into_iter()
                .map(|(contact_id, contact_name, entered, at)| SegmentEvent {
                    contact_id,
                    contact_name,
                    entered,
                    at: clock.stamp(at),
                })
                .collect();
        }
        SegmentKind::Snapshot => {
            let history: Vec<(i64, NaiveDateTime, i64)> = with_db!(conn, c => segment_generations::table
                .filter(segment_generations::segment_id.eq(id))
                .order(segment_generations::generation.desc())
                .select((segment_generations::generation, segment_generations::taken_at, segment_generations::size))
                .load(c)
                .await)?;
            segment.history = history
                .into_iter()
                .map(|(generation, taken_at, size)| Generation {
                    generation,
                    taken_at: clock.stamp(taken_at),
                    size,
                    current: generation == row.generation,
                })
                .collect();
        }
        SegmentKind::Static => {}
    }
    Ok(segment)
}

/// The rules in words: a line per condition, groups introduced by how they join.
pub fn describe(group: &Group, ctx: &Context, depth: usize) -> Vec<String> {
    let pad = "    ".repeat(depth);
    let mut lines = Vec::new();
    if group.conditions.is_empty() && group.groups.is_empty() {
        lines.push(format!("{pad}Every contact"));
        return lines;
    }
    lines.push(format!("{pad}{}", if group.any { "Any of:" } else { "All of:" }));
    for c in &group.conditions {
        lines.push(format!("{pad}    {}", describe_condition(c, ctx)));
    }
    for g in &group.groups {
        lines.extend(describe(g, ctx, depth + 1));
    }
    lines
}

/// One condition in words: "City contains “mü”", "Tags has any of VIP, Neu".
pub fn describe_condition(c: &Condition, ctx: &Context) -> String {
    let segments: Vec<SegmentRef> = ctx
        .segments
        .values()
        .map(|r| match &ctx.viewer {
            Some(v) if !r.visible_to(v) => SegmentRef { name: "(a private segment)".into(), ..r.reference() },
            _ => r.reference(),
        })
        .collect();
    let subject = super::subjects(&ctx.catalog)
        .into_iter()
        .find(|(k, _)| *k == c.subject)
        .map(|(_, l)| l)
        .unwrap_or_else(|| "A field that no longer exists".into());
    let ops = operators(&c.subject, &ctx.catalog);
    let Some((_, label, input)) = ops.iter().find(|(k, _, _)| *k == c.op) else {
        return format!("{subject}: a test that no longer exists");
    };
    let quoted = |v: &str| format!("“{v}”");
    match input {
        Input::None => format!("{subject} {label}"),
        Input::Text | Input::Date => format!("{subject} {label} {}", quoted(c.value(0))),
        Input::Days => format!("{subject} in the last {} days", c.value(0)),
        Input::Range => match (c.value(0), c.value(1)) {
            (min, "") => format!("{subject} is at least {}", quoted(min)),
            ("", max) => format!("{subject} is at most {}", quoted(max)),
            (min, max) => format!("{subject} is between {} and {}", quoted(min), quoted(max)),
        },
        Input::Pick | Input::PickOne => {
            let list = super::pick_list(&c.subject, &ctx.choices, &ctx.catalog, &segments);
            let names: Vec<String> = c
                .values
                .iter()
                .map(|v| {
                    list.iter()
                        .find(|(id, _)| id == v.trim())
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| "(deleted)".into())
                })
                .collect();
            format!("{subject} {label} {}", names.join(", "))
        }
        Input::KindDays => {
            let kind =
                ACTIVITY_KINDS.iter().find(|(k, _)| *k == c.value(0)).map_or("an activity", |(_, l)| *l);
            let verb = if c.op == "none_within" { "Had no" } else { "Had" };
            let kind = if c.op == "none_within" {
                kind.trim_start_matches("a ").trim_start_matches("an ")
            } else {
                kind
            };
            format!("{verb} {kind} in the last {} days", c.value(1))
        }
    }
}

/// The live preview of a draft: its size and first contacts by name, or what is wrong with it.
pub async fn preview(conn: &mut DbConn, viewer: &Viewer, draft: &Draft) -> Result<Preview, AppError> {
    let ctx = Context::load(conn).await?;
    let mut stack: Vec<i64> = draft.id.into_iter().collect();
    let node = match resolve(&draft.rules, &ctx, Some(viewer), &mut stack) {
        Ok(node) => node,
        Err(problems) => return Ok(Preview { problems, ..Preview::default() }),
    };
    let count = count_of(conn, node.clone()).await?;
    let sample: Vec<(i64, String, String, String)> = with_db!(conn, c => contacts::table
        .filter(RuleMatch(node.clone()))
        .order((lower(contacts::last_name).asc(), lower(contacts::first_name).asc(), contacts::id.asc()))
        .select((contacts::id, contacts::first_name, contacts::last_name, contacts::company))
        .limit(10)
        .load(c)
        .await)?;
    let sample = sample.into_iter().map(|(id, f, l, co)| (id, display_name(&f, &l, &co))).collect();
    Ok(Preview { count, sample, problems: Vec::new() })
}

/// Checks a draft: name, kind, sharing and rules. Field keys: `name`, `shared`, `c.<n>`.
fn check(draft: &Draft, viewer: &Viewer, ctx: &Context) -> Result<Option<Node>, AppError> {
    let mut errors = FieldErrors::new();
    let name = draft.name.trim();
    if name.is_empty() {
        errors.add("name", "Enter a name for the segment.");
    } else if name.chars().count() > 100 {
        errors.add("name", "Use at most 100 characters.");
    }
    if draft.shared && !viewer.manage {
        errors
            .add("shared", "Only staff who may manage segments can share one. Keep it private, or ask them.");
    }
    let mut node = None;
    if draft.kind.has_rules() {
        let mut stack: Vec<i64> = draft.id.into_iter().collect();
        match resolve_as(&draft.rules, ctx, Some(viewer), draft.shared, &mut stack) {
            Ok(n) => node = Some(n),
            Err(problems) => {
                for (k, m) in problems {
                    errors.add(&k, m);
                }
            }
        }
    }
    if let (Some(id), false) = (draft.id, draft.shared) {
        let users: Vec<&str> = ctx
            .segments
            .values()
            .filter(|s| s.shared && s.id != id)
            .filter(|s| {
                s.rules()
                    .all_conditions()
                    .iter()
                    .any(|c| c.subject == "segment" && c.value(0) == id.to_string())
            })
            .map(|s| s.name.as_str())
            .collect();
        if let Some(user) = <[_]>::first(&users) {
            errors.add(
                "shared",
                format!("The shared segment “{user}” uses this one: it stays shared while it does."),
            );
        }
    }
    if errors.is_empty() {
        Ok(node)
    } else {
        errors.values.push(("name".into(), draft.name.clone()));
        Err(AppError::Invalid(errors))
    }
}

async fn bump_segments_version(conn: &mut DbConn) -> Result<(), AppError> {
    with_db!(conn, c => diesel::update(data_versions::table.filter(data_versions::name.eq("segments")))
        .set(data_versions::version.eq(data_versions::version + 1))
        .execute(c)
        .await)?;
    Ok(())
}

/// Creates a segment (no `draft.id`) or saves one at the version it was opened at; a new
/// snapshot takes its first member list. Returns its id.
pub async fn save(conn: &mut DbConn, viewer: &Viewer, draft: &Draft) -> Result<i64, AppError> {
    let ctx = Context::load(conn).await?;
    if let Some(id) = draft.id {
        let row = ctx.segments.get(&id).filter(|r| r.visible_to(viewer)).ok_or(AppError::NotFound)?;
        if !row.editable_by(viewer) {
            return Err(AppError::Forbidden);
        }
    }
    let node = check(draft, viewer, &ctx)?;
    let rules = if draft.kind.has_rules() {
        serde_json::to_string(&draft.rules).unwrap_or_default()
    } else {
        String::new()
    };
    let now = crate::clock::now();
    let name = draft.name.trim().to_owned();
    let (kind, shared) = (draft.kind.key(), draft.shared);
    conn.write_tx(async |conn: &mut DbConn| -> Result<i64, AppError> {
        match (draft.id, draft.version) {
            (Some(id), version) => {
                let version = version.unwrap_or_default();
                // The kind stays what it was created as.
                let n = with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(id)).filter(segments::version.eq(version)))
                    .set((
                        segments::name.eq(&name),
                        segments::rules.eq(&rules),
                        segments::shared.eq(shared),
                        segments::updated_at.eq(now),
                        segments::version.eq(version + 1),
                    ))
                    .execute(c)
                    .await)?;
                if n == 0 {
                    return Err(AppError::Conflict(
                        "Someone changed this segment while you were editing it. Open it again to see their changes.".into(),
                    ));
                }
                Ok(id)
            }
            (None, _) => {
                let id: i64 = with_db!(conn, c => diesel::insert_into(segments::table)
                    .values((
                        segments::name.eq(&name),
                        segments::kind.eq(kind),
                        segments::rules.eq(&rules),
                        segments::owner_id.eq(viewer.id),
                        segments::owner_name.eq(&viewer.name),
                        segments::shared.eq(shared),
                        segments::created_at.eq(now),
                        segments::updated_at.eq(now),
                    ))
                    .returning(segments::id)
                    .get_result(c)
                    .await)?;
                if draft.kind == SegmentKind::Snapshot {
                    take_snapshot(conn, id, 0, node.clone().unwrap_or(Node::All(Vec::new())), viewer, now).await?;
                }
                Ok(id)
            }
        }
    })
    .await
}

/// The next member list of snapshot `id` (generation `current + 1`), in a transaction.
async fn take_snapshot(
    conn: &mut DbConn,
    id: i64,
    current: i64,
    node: Node,
    viewer: &Viewer,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let next = current + 1;
    let members = ids_of(conn, node).await?;
    let rows: Vec<_> = members
        .iter()
        .map(|cid| {
            (
                segment_members::segment_id.eq(id),
                segment_members::generation.eq(next),
                segment_members::contact_id.eq(*cid),
                segment_members::added_by.eq(Some(viewer.id)),
                segment_members::added_by_name.eq(viewer.name.clone()),
                segment_members::added_at.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        crate::insert_rows!(conn, segment_members::table, chunk)?;
    }
    with_db!(conn, c => diesel::insert_into(segment_generations::table)
        .values((
            segment_generations::segment_id.eq(id),
            segment_generations::generation.eq(next),
            segment_generations::taken_at.eq(now),
            segment_generations::size.eq(members.len() as i64),
        ))
        .execute(c)
        .await)?;
    with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(id)))
        .set((segments::generation.eq(next), segments::refreshed_at.eq(now)))
        .execute(c)
        .await)?;
    Ok(next)
}

/// Evaluates snapshot `id`'s rules again: a new member list, the previous ones kept.
pub async fn refresh(conn: &mut DbConn, viewer: &Viewer, id: i64) -> Result<(), AppError> {
    let ctx = Context::load(conn).await?;
    let row = ctx.segments.get(&id).filter(|r| r.visible_to(viewer)).ok_or(AppError::NotFound)?.clone();
    if !row.editable_by(viewer) {
        return Err(AppError::Forbidden);
    }
    if row.kind() != SegmentKind::Snapshot {
        return Err(AppError::Conflict("Only a snapshot can be refreshed.".into()));
    }
    let node = resolve(&row.rules(), &ctx, None, &mut vec![id])
        .map_err(|_| AppError::Conflict("This snapshot's rules no longer work: edit them first.".into()))?;
    let now = crate::clock::now();
    conn.write_tx(async |conn: &mut DbConn| -> Result<(), AppError> {
        // Another refresh in between would have moved the generation: then this one waits for
        // nothing and takes the one after.
        // Taking the row's lock first: a second refresh waits here, then takes the next one.
        let current: i64 = with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(id)))
            .set(segments::refreshed_at.eq(now))
            .returning(segments::generation)
            .get_result(c)
            .await)?;
        take_snapshot(conn, id, current, node.clone(), viewer, now).await?;
        Ok(())
    })
    .await
}

/// Deletes a segment (its members, history and events with it).
pub async fn delete(conn: &mut DbConn, viewer: &Viewer, id: i64) -> Result<(), AppError> {
    let row = visible(conn, viewer, id).await?;
    if !row.editable_by(viewer) {
        return Err(AppError::Forbidden);
    }
    conn.write_tx(async |conn: &mut DbConn| -> Result<(), AppError> {
        with_db!(conn, c => diesel::delete(segments::table.filter(segments::id.eq(id))).execute(c).await)?;
        Ok(())
    })
    .await
}

/// A private copy of a segment for `viewer`: the same rules, or the same members.
pub async fn duplicate(conn: &mut DbConn, viewer: &Viewer, id: i64) -> Result<i64, AppError> {
    let row = visible(conn, viewer, id).await?;
    let draft = Draft {
        id: None,
        version: None,
        name: format!("Copy of {}", row.name).chars().take(100).collect(),
        kind: row.kind(),
        shared: false,
        rules: row.rules(),
    };
    let new_id = save(conn, viewer, &draft).await?;
    if row.kind() == SegmentKind::Static {
        let members: Vec<i64> = with_db!(conn, c => segment_members::table
            .filter(segment_members::segment_id.eq(id))
            .filter(segment_members::generation.eq(0))
            .select(segment_members::contact_id)
            .load(c)
            .await)?;
        add_members(conn, viewer, new_id, &members).await?;
    }
    Ok(new_id)
}

/// Adds contacts to static segment `id` (those already in it stay as they were added); returns
/// how many were new.
pub async fn add_members(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: i64,
    contact_ids: &[i64],
) -> Result<usize, AppError> {
    let row = static_for_edit(conn, viewer, id).await?;
    let now = crate::clock::now();
    conn.write_tx(async |conn: &mut DbConn| -> Result<usize, AppError> {
        // The segment's row first: two additions to it take turns (PostgreSQL would otherwise
        // let both insert the same contact).
        with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(row.id))).set(segments::updated_at.eq(now)).execute(c).await)?;
        let wanted: BTreeSet<i64> = contact_ids.iter().copied().collect();
        let wanted: Vec<i64> = wanted.into_iter().collect();
        let existing: Vec<i64> = with_db!(conn, c => contacts::table.filter(contacts::id.eq_any(&wanted)).select(contacts::id).load(c).await)?;
        let present: Vec<i64> = with_db!(conn, c => segment_members::table
            .filter(segment_members::segment_id.eq(row.id))
            .filter(segment_members::generation.eq(0))
            .filter(segment_members::contact_id.eq_any(&existing))
            .select(segment_members::contact_id)
            .load(c)
            .await)?;
        let new: Vec<_> = existing
            .iter()
            .filter(|cid| !present.contains(cid))
            .map(|cid| {
                (
                    segment_members::segment_id.eq(row.id),
                    segment_members::generation.eq(0),
                    segment_members::contact_id.eq(*cid),
                    segment_members::added_by.eq(Some(viewer.id)),
                    segment_members::added_by_name.eq(viewer.name.clone()),
                    segment_members::added_at.eq(now),
                )
            })
            .collect();
        for chunk in new.chunks(500) {
            crate::insert_rows!(conn, segment_members::table, chunk)?;
        }
        with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(row.id))).set(segments::updated_at.eq(now)).execute(c).await)?;
        bump_segments_version(conn).await?;
        Ok(new.len())
    })
    .await
}

/// Removes contacts from static segment `id`; returns how many were in it.
pub async fn remove_members(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: i64,
    contact_ids: &[i64],
) -> Result<usize, AppError> {
    let row = static_for_edit(conn, viewer, id).await?;
    let now = crate::clock::now();
    conn.write_tx(async |conn: &mut DbConn| -> Result<usize, AppError> {
        let n = with_db!(conn, c => diesel::delete(segment_members::table
            .filter(segment_members::segment_id.eq(row.id))
            .filter(segment_members::generation.eq(0))
            .filter(segment_members::contact_id.eq_any(contact_ids)))
            .execute(c)
            .await)?;
        with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(row.id))).set(segments::updated_at.eq(now)).execute(c).await)?;
        bump_segments_version(conn).await?;
        Ok(n)
    })
    .await
}

async fn static_for_edit(conn: &mut DbConn, viewer: &Viewer, id: i64) -> Result<Row, AppError> {
    let row = visible(conn, viewer, id).await?;
    if !row.editable_by(viewer) {
        return Err(AppError::Forbidden);
    }
    if row.kind() != SegmentKind::Static {
        return Err(AppError::Conflict(format!(
            "“{}” is a {} segment: its rules choose its members.",
            row.name,
            row.kind().label().to_lowercase()
        )));
    }
    Ok(row)
}

/// A counter that moves whenever anything a segment's members depend on does (the sum of the
/// contacts, activities and segments counters and the day's number, each only ever growing): the
/// contact list keeps a segment's pages by it.
pub async fn data_stamp(conn: &mut DbConn, today: NaiveDate) -> diesel::QueryResult<i64> {
    use chrono::Datelike;
    let versions: Vec<i64> = with_db!(conn, c => data_versions::table
        .filter(data_versions::name.eq_any(["contacts", "activities", "segments"]))
        .select(data_versions::version)
        .load(c)
        .await)?;
    Ok(versions.iter().sum::<i64>() + i64::from(today.num_days_from_ce()))
}

/// The state of the data a dynamic segment's members depend on: contacts, activities, other
/// segments, and the day (its rules count days).
async fn data_key(conn: &mut DbConn, today: NaiveDate) -> Result<String, AppError> {
    let versions: Vec<(String, i64)> = with_db!(conn, c => data_versions::table
        .filter(data_versions::name.eq_any(["contacts", "activities", "segments"]))
        .select((data_versions::name, data_versions::version))
        .order(data_versions::name.asc())
        .load(c)
        .await)?;
    let parts: Vec<String> = versions.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
    Ok(format!("{} {today}", parts.join(" ")))
}

/// Brings dynamic segment `id`'s stored members up to date: who entered and who left since the
/// last sync is recorded, and today's size. Nothing happens while the data it depends on stays
/// as it was. The first sync records no entries (the segment was just made).
pub async fn sync(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    let Some(row) = row(conn, id).await?.filter(|r| r.kind() == SegmentKind::Dynamic) else {
        return Ok(());
    };
    let today = conn.clock().today();
    if row.synced_key == data_key(conn, today).await? {
        return Ok(());
    }
    let now = crate::clock::now();
    conn.write_tx(async |conn: &mut DbConn| -> Result<(), AppError> {
        // Updating the segment first makes concurrent syncs of it take turns; the one that
        // comes second finds the key it would write and stops. The rules are read after it, so
        // a save in between is either seen or waited for.
        let before: String = with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(id)))
            .set(segments::synced_at.eq(now))
            .returning(segments::synced_key)
            .get_result(c)
            .await)?;
        let key = data_key(conn, today).await?;
        if before == key {
            return Ok(());
        }
        let ctx = Context::load(conn).await?;
        let Some(row) = ctx.segments.get(&id) else { return Ok(()) };
        let node = members_node(row, &ctx);
        let first = before.is_empty();
        let current: BTreeSet<i64> = ids_of(conn, node.clone()).await?.into_iter().collect();
        let stored: BTreeSet<i64> = with_db!(conn, c => segment_members::table
            .filter(segment_members::segment_id.eq(id))
            .filter(segment_members::generation.eq(0))
            .select(segment_members::contact_id)
            .load::<i64>(c)
            .await)?
        .into_iter()
        .collect();
        let entered: Vec<i64> = current.difference(&stored).copied().collect();
        let left: Vec<i64> = stored.difference(&current).copied().collect();
        let mut names: HashMap<i64, String> = HashMap::new();
        let touched: Vec<i64> = entered.iter().chain(left.iter()).copied().collect();
        for chunk in touched.chunks(500) {
            let found: Vec<(i64, String, String, String)> = with_db!(conn, c => contacts::table
                .filter(contacts::id.eq_any(chunk))
                .select((contacts::id, contacts::first_name, contacts::last_name, contacts::company))
                .load(c)
                .await)?;
            names.extend(found.into_iter().map(|(cid, f, l, co)| (cid, display_name(&f, &l, &co))));
        }
        for chunk in left.chunks(500) {
            with_db!(conn, c => diesel::delete(segment_members::table
                .filter(segment_members::segment_id.eq(id))
                .filter(segment_members::generation.eq(0))
                .filter(segment_members::contact_id.eq_any(chunk)))
                .execute(c)
                .await)?;
        }
        let new: Vec<_> = entered
            .iter()
            .map(|cid| {
                (
                    segment_members::segment_id.eq(id),
                    segment_members::generation.eq(0),
                    segment_members::contact_id.eq(*cid),
                    segment_members::added_by.eq(None::<i64>),
                    segment_members::added_by_name.eq(""),
                    segment_members::added_at.eq(now),
                )
            })
            .collect();
        for chunk in new.chunks(500) {
            crate::insert_rows!(conn, segment_members::table, chunk)?;
        }
        if !first {
            let events: Vec<_> = entered
                .iter()
                .map(|cid| (*cid, true))
                .chain(left.iter().map(|cid| (*cid, false)))
                .map(|(cid, entered)| {
                    (
                        segment_events::segment_id.eq(id),
                        segment_events::contact_id.eq(cid),
                        segment_events::contact_name.eq(names.get(&cid).cloned().unwrap_or_default()),
                        segment_events::entered.eq(entered),
                        segment_events::at.eq(now),
                    )
                })
                .collect();
            for chunk in events.chunks(500) {
                crate::insert_rows!(conn, segment_events::table, chunk)?;
            }
        }
        let size = current.len() as i64;
        let updated = with_db!(conn, c => diesel::update(segment_sizes::table
            .filter(segment_sizes::segment_id.eq(id))
            .filter(segment_sizes::day.eq(today)))
            .set(segment_sizes::size.eq(size))
            .execute(c)
            .await)?;
        if updated == 0 {
            with_db!(conn, c => diesel::insert_into(segment_sizes::table)
                .values((segment_sizes::segment_id.eq(id), segment_sizes::day.eq(today), segment_sizes::size.eq(size)))
                .execute(c)
                .await)?;
        }
        with_db!(conn, c => diesel::update(segments::table.filter(segments::id.eq(id)))
            .set(segments::synced_key.eq(&key))
            .execute(c)
            .await)?;
        Ok(())
    })
    .await
}

/// Syncs every dynamic segment (the server does so every few minutes).
pub async fn sync_all(conn: &mut DbConn) -> Result<usize, AppError> {
    let ids: Vec<i64> = with_db!(conn, c => segments::table
        .filter(segments::kind.eq(SegmentKind::Dynamic.key()))
        .select(segments::id)
        .load(c)
        .await)?;
    let mut synced = 0;
    for id in &ids {
        // One segment failing does not hold up the others.
        match sync(conn, *id).await {
            Ok(()) => synced += 1,
            Err(err) => tracing::warn!(segment = id, error = %err, "syncing a segment failed; will retry"),
        }
    }
    Ok(synced)
}

/// Why contact `contact_id` is (or is not) in segment `row`.
async fn explain(conn: &mut DbConn, row: &Row, ctx: &Context, contact_id: i64) -> Result<Why, AppError> {
    match row.kind() {
        SegmentKind::Static => {
            let added: Option<(String, NaiveDateTime)> = with_db!(conn, c => segment_members::table
                .filter(segment_members::segment_id.eq(row.id))
                .filter(segment_members::generation.eq(0))
                .filter(segment_members::contact_id.eq(contact_id))
                .select((segment_members::added_by_name, segment_members::added_at))
                .first(c)
                .await
                .optional())?;
            Ok(match added {
                Some((by, at)) => Why::Added {
                    by: if by.is_empty() { "Someone".into() } else { by },
                    at: ctx.clock.stamp(at),
                },
                None => Why::NotMember,
            })
        }
        kind => {
            if resolve(&row.rules(), ctx, None, &mut vec![row.id]).is_err() {
                return Ok(Why::Broken);
            }
            let member = meets(conn, contact_id, members_node(row, ctx)).await?;
            let mut stack = vec![row.id];
            let group = Box::pin(why_group(conn, &row.rules(), ctx, contact_id, &mut stack)).await?;
            let as_of = (kind == SegmentKind::Snapshot)
                .then(|| row.refreshed_at.map(|t| ctx.clock.stamp(t)))
                .flatten();
            Ok(Why::Rules { group, member, as_of })
        }
    }
}

async fn why_group(
    conn: &mut DbConn,
    group: &Group,
    ctx: &Context,
    contact_id: i64,
    stack: &mut Vec<i64>,
) -> Result<WhyGroup, AppError> {
    let mut conditions = Vec::new();
    for c in &group.conditions {
        let met = match resolve_condition(c, ctx, None, stack) {
            Ok(node) => meets(conn, contact_id, node).await?,
            Err(_) => false,
        };
        conditions.push((describe_condition(c, ctx), met));
    }
    let mut groups = Vec::new();
    for g in &group.groups {
        groups.push(Box::pin(why_group(conn, g, ctx, contact_id, stack)).await?);
    }
    let results = conditions.iter().map(|(_, m)| *m).chain(groups.iter().map(|g| g.matched));
    let matched = if group.any {
        group.conditions.is_empty() && group.groups.is_empty() || results.clone().any(|m| m)
    } else {
        results.clone().all(|m| m)
    };
    Ok(WhyGroup { any: group.any, matched, conditions, groups })
}

/// Why contact `contact_id` is in segment `id`, as `viewer` may see it.
pub async fn why(
    conn: &mut DbConn,
    viewer: &Viewer,
    id: i64,
    contact_id: i64,
) -> Result<(SegmentRef, Why), AppError> {
    visible(conn, viewer, id).await?;
    let ctx = Context::load_for(conn, viewer).await?;
    let row = ctx.segments.get(&id).ok_or(AppError::NotFound)?.clone();
    let why = explain(conn, &row, &ctx, contact_id).await?;
    Ok((row.reference(), why))
}

/// The segments contact `contact_id` belongs to that `viewer` may see, each with why.
pub async fn memberships(
    conn: &mut DbConn,
    viewer: &Viewer,
    contact_id: i64,
) -> Result<Vec<Membership>, AppError> {
    let ctx = Context::load_for(conn, viewer).await?;
    let mut visible: Vec<&Row> = ctx.segments.values().filter(|r| r.visible_to(viewer)).collect();
    visible.sort_by_cached_key(|r| (fold(&r.name), r.id));
    let mut out = Vec::new();
    for row in visible {
        if meets(conn, contact_id, members_node(row, &ctx)).await? {
            let why = explain(conn, row, &ctx, contact_id).await?;
            out.push(Membership { segment: row.reference(), why });
        }
    }
    Ok(out)
}

/// The demo's segments (`server seed-demo`), made once and shared: a dynamic segment of five
/// conditions (a tag, an extra field, an activity fact, a status, an email), one with an OR
/// group, and a static list of the first 200 contacts.
pub async fn seed_demo(conn: &mut DbConn) -> Result<(), AppError> {
    let ctx = Context::load(conn).await?;
    let id_of = |list: &[crate::contacts::Choice], name: &str| {
        list.iter().find(|c| c.name == name).map(|c| c.id.to_string()).unwrap_or_default()
    };
    let vip = id_of(&ctx.choices.tags, "VIP");
    let plans: Vec<String> = ctx
        .catalog
        .fields
        .iter()
        .find(|f| f.label == "Plan")
        .map(|f| f.options.iter().filter(|o| o.label != "Basic").map(|o| o.id.to_string()).collect())
        .unwrap_or_default();
    let plan_key = ctx
        .catalog
        .fields
        .iter()
        .find(|f| f.label == "Plan")
        .map(|f| format!("f.{}", f.key))
        .unwrap_or_default();
    let c = |subject: &str, op: &str, values: Vec<String>| Condition {
        subject: subject.into(),
        op: op.into(),
        values,
    };
    let busy = Group {
        any: false,
        conditions: vec![
            c("tags", "any", vec![vip.clone()]),
            c(&plan_key, "any", plans),
            c("activity", "had_within", vec!["call".into(), "30".into()]),
            c("status", "none", vec![id_of(&ctx.choices.statuses, "Inactive")]),
            c("email", "not_empty", Vec::new()),
        ],
        groups: Vec::new(),
    };
    let quiet = Group {
        any: false,
        conditions: vec![c("activity", "none_within", vec!["any".into(), "90".into()])],
        groups: vec![Group {
            any: true,
            conditions: vec![
                c("status", "any", vec![id_of(&ctx.choices.statuses, "Lead")]),
                c("source", "any", vec![id_of(&ctx.choices.traffic_sources, "Website")]),
            ],
            groups: Vec::new(),
        }],
    };
    let wanted = [
        ("Demo: VIPs on Plus or Enterprise with a recent call", SegmentKind::Dynamic, Some(busy)),
        ("Demo: leads or web visitors quiet for 90 days", SegmentKind::Dynamic, Some(quiet)),
        ("Demo: trade fair list", SegmentKind::Static, None),
    ];
    let now = crate::clock::now();
    for (name, kind, rules) in wanted {
        if ctx.segments.values().any(|s| s.name == name) {
            continue;
        }
        let rules = rules.map(|r| serde_json::to_string(&r).unwrap_or_default()).unwrap_or_default();
        conn.write_tx(async |conn: &mut DbConn| -> Result<(), AppError> {
            let id: i64 = with_db!(conn, c => diesel::insert_into(segments::table)
                .values((
                    segments::name.eq(name),
                    segments::kind.eq(kind.key()),
                    segments::rules.eq(&rules),
                    segments::owner_name.eq("Demo data"),
                    segments::shared.eq(true),
                    segments::created_at.eq(now),
                    segments::updated_at.eq(now),
                ))
                .returning(segments::id)
                .get_result(c)
                .await)?;
            if kind == SegmentKind::Static {
                let first: Vec<i64> = with_db!(conn, c => contacts::table.select(contacts::id).order(contacts::id.asc()).limit(200).load(c).await)?;
                let rows: Vec<_> = first
                    .iter()
                    .map(|cid| {
                        (
                            segment_members::segment_id.eq(id),
                            segment_members::generation.eq(0),
                            segment_members::contact_id.eq(*cid),
                            segment_members::added_by_name.eq("Demo data"),
                            segment_members::added_at.eq(now),
                        )
                    })
                    .collect();
                crate::insert_rows!(conn, segment_members::table, &rows)?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(())
}

/// The static segments `viewer` may change, `(id, name)` by name (an import's choice).
pub async fn static_for(conn: &mut DbConn, viewer: &Viewer) -> Result<Vec<(i64, String)>, AppError> {
    Ok(rows(conn)
        .await?
        .into_iter()
        .filter(|r| r.kind() == SegmentKind::Static && r.visible_to(viewer) && r.editable_by(viewer))
        .map(|r| (r.id, r.name))
        .collect())
}

/// What an import writes as a member's "added by": undo takes back exactly these.
pub fn import_mark(import_id: i64) -> String {
    format!("Import #{import_id}")
}

/// Adds contacts to static segment `id` as import `import_id` (the import checked the right to
/// when the segment was chosen), inside the caller's transaction; those already in it stay as
/// they were added.
pub async fn add_imported(
    conn: &mut DbConn,
    id: i64,
    import_id: i64,
    by: Option<i64>,
    contact_ids: &[i64],
) -> diesel::QueryResult<usize> {
    let now = crate::clock::now();
    // The segment's row first (additions take turns). One deleted meanwhile, or made private to
    // someone else than who runs the import, takes nobody.
    let found = with_db!(conn, c => diesel::update(segments::table
        .filter(segments::id.eq(id))
        .filter(segments::kind.eq(SegmentKind::Static.key()))
        .filter(segments::shared.eq(true).or(segments::owner_id.eq(by).and(segments::owner_id.is_not_null()))))
        .set(segments::updated_at.eq(now))
        .execute(c)
        .await)?;
    if found == 0 {
        return Ok(0);
    }
    let mut added = 0;
    for chunk in contact_ids.chunks(500) {
        // Contacts deleted since the run wrote them are left out.
        let chunk: Vec<i64> = with_db!(conn, c => contacts::table.filter(contacts::id.eq_any(chunk)).select(contacts::id).load(c).await)?;
        let chunk = chunk.as_slice();
        let present: Vec<i64> = with_db!(conn, c => segment_members::table
            .filter(segment_members::segment_id.eq(id))
            .filter(segment_members::generation.eq(0))
            .filter(segment_members::contact_id.eq_any(chunk))
            .select(segment_members::contact_id)
            .load(c)
            .await)?;
        let mut fresh: Vec<i64> = chunk.iter().copied().filter(|c| !present.contains(c)).collect();
        fresh.sort_unstable();
        fresh.dedup();
        let rows: Vec<_> = fresh
            .iter()
            .map(|cid| {
                (
                    segment_members::segment_id.eq(id),
                    segment_members::generation.eq(0),
                    segment_members::contact_id.eq(*cid),
                    segment_members::added_by_name.eq(import_mark(import_id)),
                    segment_members::added_at.eq(now),
                )
            })
            .collect();
        crate::insert_rows!(conn, segment_members::table, &rows)?;
        added += rows.len();
    }
    with_db!(conn, c => diesel::update(data_versions::table.filter(data_versions::name.eq("segments")))
        .set(data_versions::version.eq(data_versions::version + 1))
        .execute(c)
        .await)?;
    Ok(added)
}

/// Takes back the members import `import_id` added (an undo).
pub async fn remove_imported(conn: &mut DbConn, import_id: i64) -> diesel::QueryResult<usize> {
    let n = with_db!(conn, c => diesel::delete(segment_members::table
        .filter(segment_members::generation.eq(0))
        .filter(segment_members::added_by.is_null())
        .filter(segment_members::added_by_name.eq(import_mark(import_id))))
        .execute(c)
        .await)?;
    if n > 0 {
        with_db!(conn, c => diesel::update(data_versions::table.filter(data_versions::name.eq("segments")))
            .set(data_versions::version.eq(data_versions::version + 1))
            .execute(c)
            .await)?;
    }
    Ok(n)
}

/// Before contacts are deleted (inside the deleting transaction): their exits from the dynamic
/// segments they were in, with their names, since the stored members go with them.
pub async fn record_deleted(conn: &mut DbConn, ids: &[i64]) -> diesel::QueryResult<()> {
    let now = crate::clock::now();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, i64, String, String, String)> = with_db!(conn, c => segment_members::table
            .inner_join(segments::table)
            .inner_join(contacts::table)
            .filter(segments::kind.eq(SegmentKind::Dynamic.key()))
            .filter(segment_members::generation.eq(0))
            .filter(segment_members::contact_id.eq_any(chunk))
            .select((segment_members::segment_id, segment_members::contact_id, contacts::first_name, contacts::last_name, contacts::company))
            .load(c)
            .await)?;
        let events: Vec<_> = rows
            .into_iter()
            .map(|(segment, cid, f, l, co)| {
                (
                    segment_events::segment_id.eq(segment),
                    segment_events::contact_id.eq(cid),
                    segment_events::contact_name.eq(display_name(&f, &l, &co)),
                    segment_events::entered.eq(false),
                    segment_events::at.eq(now),
                )
            })
            .collect();
        crate::insert_rows!(conn, segment_events::table, &events)?;
    }
    Ok(())
}
