//! Segments: lists of contacts. Static ones are kept by hand (or by a bulk action), dynamic ones
//! are rules that are always current, snapshots are rules evaluated once and refreshed on demand.
//! Each can say why a contact is in it.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod sql;
#[cfg(all(test, feature = "ssr"))]
mod tests;

use serde::{Deserialize, Serialize};

use crate::contacts::Choices;
use crate::fields::{FieldCatalog, FieldKind};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SegmentKind {
    #[default]
    Dynamic,
    Static,
    Snapshot,
}

impl SegmentKind {
    pub const ALL: [SegmentKind; 3] = [SegmentKind::Dynamic, SegmentKind::Static, SegmentKind::Snapshot];

    /// The stable name stored in the database and used in forms.
    pub fn key(self) -> &'static str {
        match self {
            SegmentKind::Dynamic => "dynamic",
            SegmentKind::Static => "static",
            SegmentKind::Snapshot => "snapshot",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SegmentKind::Dynamic => "Dynamic",
            SegmentKind::Static => "Static",
            SegmentKind::Snapshot => "Snapshot",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            SegmentKind::Dynamic => "Rules, always current: contacts enter and leave as they change.",
            SegmentKind::Static => "Contacts added and removed by hand or with a bulk action.",
            SegmentKind::Snapshot => "Rules evaluated once, then frozen until you refresh it.",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn has_rules(self) -> bool {
        self != SegmentKind::Static
    }
}

/// A group of conditions: a contact matches when it meets all of them (or any, when `any`),
/// counting each nested group as one condition. An empty group matches every contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    pub any: bool,
    pub conditions: Vec<Condition>,
    pub groups: Vec<Group>,
}

impl Group {
    /// Every condition, nested ones too.
    pub fn all_conditions(&self) -> Vec<&Condition> {
        let mut all: Vec<&Condition> = self.conditions.iter().collect();
        for g in &self.groups {
            all.extend(g.all_conditions());
        }
        all
    }
}

/// One condition: a subject (`city`, `tags`, `f.<field key>`, `activity` …, see [`subjects`]),
/// an operator of that subject (see [`operators`]) and its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Condition {
    pub subject: String,
    pub op: String,
    pub values: Vec<String>,
}

impl Condition {
    pub fn value(&self, i: usize) -> &str {
        self.values.get(i).map(|v| v.trim()).unwrap_or_default()
    }
}

/// The built-in text fields a rule can test.
pub const TEXT_SUBJECTS: [(&str, &str); 11] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("street", "Street"),
    ("postal_code", "Postal code"),
    ("city", "City"),
    ("country", "Country"),
    ("website", "Website"),
];

/// Activity kinds a rule can name ("any" is every kind staff log, not the change history).
pub const ACTIVITY_KINDS: [(&str, &str); 6] = [
    ("any", "any activity"),
    ("call", "a call"),
    ("email", "an email"),
    ("meeting", "a meeting"),
    ("note", "a note"),
    ("task", "a task"),
];

/// What a subject's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// No value.
    None,
    Text,
    /// An ISO date.
    Date,
    /// A number of days.
    Days,
    /// Two ends, either may be empty (numbers or dates).
    Range,
    /// Ids picked from a list (statuses, tags, a field's options …).
    Pick,
    /// One id picked from a list (a segment).
    PickOne,
    /// An activity kind and a number of days.
    KindDays,
}

/// The subjects a rule can test, `(key, label)`, in the builder's order.
pub fn subjects(catalog: &FieldCatalog) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        TEXT_SUBJECTS.iter().map(|(k, l)| ((*k).to_owned(), (*l).to_owned())).collect();
    for (k, l) in [
        ("search", "Name, email, phone or company"),
        ("created", "Created"),
        ("updated", "Last updated"),
        ("status", "Status"),
        ("source", "Traffic source"),
        ("owner", "Owner"),
        ("tags", "Tags"),
        ("services", "Services"),
        ("portal", "Portal access"),
        ("activity", "Activities"),
        ("segment", "Segment"),
    ] {
        all.push((k.to_owned(), l.to_owned()));
    }
    all.extend(catalog.fields.iter().map(|f| (format!("f.{}", f.key), f.label.clone())));
    all
}

/// The operators of `subject`, `(key, label, what its values are)`; empty for an unknown subject.
pub fn operators(subject: &str, catalog: &FieldCatalog) -> Vec<(&'static str, &'static str, Input)> {
    use Input::*;
    if TEXT_SUBJECTS.iter().any(|(k, _)| *k == subject) {
        return vec![
            ("contains", "contains", Text),
            ("is", "is", Text),
            ("starts_with", "starts with", Text),
            ("empty", "is empty", None),
            ("not_empty", "is not empty", None),
        ];
    }
    if let Some(key) = subject.strip_prefix("f.") {
        let Some(def) = catalog.field(key) else { return Vec::new() };
        return match def.kind {
            FieldKind::Boolean => vec![("yes", "is yes", None), ("no", "is no", None)],
            kind if kind.has_options() => vec![
                ("any", "is any of", Pick),
                ("empty", "is empty", None),
                ("not_empty", "is not empty", None),
            ],
            kind if kind.is_number() || kind.is_date() => vec![
                ("range", "is between", Range),
                ("empty", "is empty", None),
                ("not_empty", "is not empty", None),
            ],
            _ => vec![
                ("contains", "contains", Text),
                ("is", "is", Text),
                ("empty", "is empty", None),
                ("not_empty", "is not empty", None),
            ],
        };
    }
    match subject {
        "search" => vec![("contains", "contains", Text)],
        "created" | "updated" => {
            vec![("within", "in the last … days", Days), ("before", "before", Date), ("after", "after", Date)]
        }
        "status" | "source" | "owner" => {
            vec![("any", "is any of", Pick), ("none", "is none of", Pick), ("empty", "is not set", None)]
        }
        "tags" | "services" => {
            vec![("any", "has any of", Pick), ("all", "has all of", Pick), ("none", "has none of", Pick)]
        }
        "portal" => vec![
            ("active", "can sign in to the portal", None),
            ("invited", "has a portal account", None),
            ("none", "has no portal account", None),
        ],
        "activity" => vec![
            ("had_within", "had … in the last … days", KindDays),
            ("none_within", "had no … in the last … days", KindDays),
            ("overdue_task", "has an overdue open task", None),
        ],
        "segment" => vec![("in", "is in", PickOne), ("not_in", "is not in", PickOne)],
        _ => Vec::new(),
    }
}

/// The choices a `Pick` subject offers, `(id, label)`.
pub fn pick_list(
    subject: &str,
    choices: &Choices,
    catalog: &FieldCatalog,
    segments: &[SegmentRef],
) -> Vec<(String, String)> {
    let of =
        |list: &[crate::contacts::Choice]| list.iter().map(|c| (c.id.to_string(), c.name.clone())).collect();
    match subject {
        "status" => of(&choices.statuses),
        "source" => of(&choices.traffic_sources),
        "owner" => of(&choices.owners),
        "tags" => of(&choices.tags),
        "services" => of(&choices.services),
        "segment" => segments.iter().map(|s| (s.id.to_string(), s.name.clone())).collect(),
        s => s
            .strip_prefix("f.")
            .and_then(|k| catalog.field(k))
            .map(|f| {
                f.options.iter().filter(|o| !o.retired).map(|o| (o.id.to_string(), o.label.clone())).collect()
            })
            .unwrap_or_default(),
    }
}

/// A segment by id and name, for links and pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    pub id: i64,
    pub name: String,
    pub kind: SegmentKind,
    /// Whether the one asking may change it (add members, edit, delete).
    pub editable: bool,
}

/// A row of the segments page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub id: i64,
    pub name: String,
    pub kind: SegmentKind,
    pub owner: String,
    pub shared: bool,
    pub members: i64,
    /// When its definition or (for a static segment) its members last changed, or a snapshot
    /// was last taken.
    pub changed: String,
}

/// A segment as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub kind: SegmentKind,
    pub rules: Group,
    /// The rules in words, one line per condition, indented by group.
    pub described: Vec<String>,
    pub owner_id: Option<i64>,
    pub owner: String,
    pub shared: bool,
    pub version: i64,
    pub members: i64,
    pub created_at: String,
    pub updated_at: String,
    pub refreshed_at: Option<String>,
    /// Whether the signed-in user may edit or delete it.
    pub can_edit: bool,
    /// Dynamic segments: the size at the end of each day, oldest first.
    pub sizes: Vec<(String, i64)>,
    /// Dynamic segments: the latest entries and exits, newest first.
    pub events: Vec<SegmentEvent>,
    /// Snapshots: the member lists taken, newest first.
    pub history: Vec<Generation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEvent {
    pub contact_id: i64,
    pub contact_name: String,
    pub entered: bool,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    pub generation: i64,
    pub taken_at: String,
    pub size: i64,
    pub current: bool,
}

/// A segment being written in the builder: what the form holds, carried in the editor's URL
/// between previews so that nothing typed is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub id: Option<i64>,
    pub version: Option<i64>,
    pub name: String,
    pub kind: SegmentKind,
    pub shared: bool,
    pub rules: Group,
}

#[cfg(feature = "ssr")]
impl Draft {
    /// The draft as the editor's URL carries it.
    pub fn href(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let path = match self.id {
            Some(id) => format!("/staff/segments/{id}/edit"),
            None => "/staff/segments/new".to_owned(),
        };
        crate::ui::href(&path, &[("draft", &json)])
    }

    pub fn parse(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }
}

/// A condition row of the builder's form: `c[<n>][group]` (0 the top group, `k` the `k`-th
/// nested one), `c[<n>][subject]`, `c[<n>][op]`, repeated `c[<n>][values][]`, and
/// `c[<n>][was]`, the subject the row was drawn for (a new subject starts with its first
/// operator and no values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConditionRow {
    pub group: usize,
    pub subject: String,
    pub was: String,
    pub op: String,
    pub values: Vec<String>,
}

/// What the live preview shows: how many contacts the rules match and the first of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub count: i64,
    pub sample: Vec<(i64, String)>,
    /// What is wrong with the rules, by condition (`c.<n>`) or `rules`.
    pub problems: Vec<(String, String)>,
}

/// Why a contact is in a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Why {
    /// A static segment: who added the contact, and when.
    Added {
        by: String,
        at: String,
    },
    /// A rule-based segment: the rules, each condition with whether the contact meets it.
    /// `as_of` says when a snapshot took it.
    Rules {
        group: WhyGroup,
        member: bool,
        as_of: Option<String>,
    },
    NotMember,
    /// The rules name something deleted since (a field, a tag, a segment): nobody is in it.
    Broken,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyGroup {
    pub any: bool,
    pub matched: bool,
    pub conditions: Vec<(String, bool)>,
    pub groups: Vec<WhyGroup>,
}

/// A segment a contact belongs to, for its profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub segment: SegmentRef,
    pub why: Why,
}

/// The builder's form as a draft: `join` the top group's "all"/"any", `groups` each nested
/// group's, conditions placed by their `group`.
#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
pub fn draft_from_form(
    id: Option<i64>,
    version: Option<i64>,
    name: String,
    kind: &str,
    shared: bool,
    join: &str,
    groups: Vec<String>,
    rows: Vec<ConditionRow>,
) -> Draft {
    let mut rules = Group { any: join == "any", ..Group::default() };
    rules.groups = groups.iter().map(|j| Group { any: j == "any", ..Group::default() }).collect();
    for row in rows {
        let changed = row.subject != row.was;
        let condition = Condition {
            subject: row.subject.trim().to_owned(),
            op: if changed { String::new() } else { row.op },
            values: if changed { Vec::new() } else { row.values },
        };
        match row.group {
            0 => rules.conditions.push(condition),
            k => match rules.groups.get_mut(k - 1) {
                Some(g) => g.conditions.push(condition),
                None => rules.conditions.push(condition),
            },
        }
    }
    Draft { id, version, name, kind: SegmentKind::parse(kind).unwrap_or_default(), shared, rules }
}

/// Gives every condition an operator its subject has (the first, for a new subject).
pub fn normalize(group: &mut Group, catalog: &FieldCatalog) {
    for c in &mut group.conditions {
        let ops = operators(&c.subject, catalog);
        if !ops.iter().any(|(k, _, _)| *k == c.op) {
            c.op = ops.first().map(|(k, _, _)| (*k).to_owned()).unwrap_or_default();
        }
    }
    for g in &mut group.groups {
        normalize(g, catalog);
    }
}

fn new_condition() -> Condition {
    Condition { subject: "city".into(), op: "is".into(), values: Vec::new() }
}

/// A new condition in the top group (`to` 0) or in the `to`-th nested one.
pub fn add_condition(rules: &mut Group, to: usize) {
    match to.checked_sub(1).and_then(|k| rules.groups.get_mut(k)) {
        Some(g) => g.conditions.push(new_condition()),
        None => rules.conditions.push(new_condition()),
    }
}

/// A new nested group ("any of", the usual reason for one) with one condition.
pub fn add_group(rules: &mut Group) {
    rules.groups.push(Group { any: true, conditions: vec![new_condition()], groups: Vec::new() });
}

/// Removes condition `at` (in [`Group::all_conditions`]' order); a nested group left empty goes.
pub fn remove_condition(rules: &mut Group, at: usize) {
    fn walk(group: &mut Group, at: usize, n: &mut usize) -> bool {
        if at < *n + group.conditions.len() {
            group.conditions.remove(at - *n);
            return true;
        }
        *n += group.conditions.len();
        for g in &mut group.groups {
            if walk(g, at, n) {
                return true;
            }
        }
        false
    }
    walk(rules, at, &mut 0);
    rules.groups.retain(|g| !g.conditions.is_empty() || !g.groups.is_empty());
}

/// The contact list's search and filters as rules (for "Save as segment").
#[cfg(feature = "ssr")]
pub fn rules_of_list(list: &crate::contacts::ContactListParams, catalog: &FieldCatalog) -> Group {
    let query = list.query();
    let mut conditions = Vec::new();
    let mut add = |subject: &str, op: &str, values: Vec<String>| {
        conditions.push(Condition { subject: subject.into(), op: op.into(), values });
    };
    if !query.search.trim().is_empty() {
        add("search", "contains", vec![query.search.trim().to_owned()]);
    }
    for (subject, id) in [
        ("status", query.status_id),
        ("tags", query.tag_id),
        ("services", query.service_id),
        ("source", query.traffic_source_id),
        ("owner", query.owner_id),
    ] {
        if let Some(id) = id {
            add(subject, "any", vec![id.to_string()]);
        }
    }
    if let Some(id) = query.segment_id {
        add("segment", "in", vec![id.to_string()]);
    }
    for f in &query.fields {
        let Some(def) = catalog.field(&f.key) else { continue };
        let subject = format!("f.{}", f.key);
        let first = f.values.first().cloned().unwrap_or_default();
        let (op, values) = match (f.op.as_str(), def.kind) {
            ("empty" | "not_empty" | "range", _) => (f.op.clone(), f.values.clone()),
            (_, FieldKind::Boolean) => (first.clone(), Vec::new()),
            (_, kind) if kind.has_options() => ("any".into(), f.values.clone()),
            (_, kind) if kind.is_number() || kind.is_date() => ("range".into(), vec![first.clone(), first]),
            (op, _) => (if op == "is" { "is".into() } else { "contains".into() }, vec![first]),
        };
        add(&subject, &op, values);
    }
    Group { any: false, conditions, groups: Vec::new() }
}

/// Everything the builder shows: the draft, its live preview, and what its pickers offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Editor {
    pub draft: Draft,
    pub preview: Preview,
    pub choices: Choices,
    pub catalog: FieldCatalog,
    /// The segments the rules may name (not the one being edited).
    pub segments: Vec<SegmentRef>,
    /// May share segments with all staff.
    pub can_share: bool,
}

/// A new segment's draft: one condition to start from.
pub fn new_draft(kind: SegmentKind) -> Draft {
    let rules = if kind.has_rules() {
        Group { conditions: vec![new_condition()], ..Group::default() }
    } else {
        Group::default()
    };
    Draft { kind, rules, ..Draft::default() }
}
