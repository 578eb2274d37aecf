//! The activity log on each contact: calls, emails, meetings, notes and tasks that staff record,
//! and the automatic history of changes to the contact, on one timeline.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;

use serde::{Deserialize, Serialize};

/// What kind of entry an activity is. `Change` entries are written by the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActivityKind {
    Call,
    Email,
    Meeting,
    Note,
    Task,
    Change,
}

impl ActivityKind {
    /// The kinds a person can log, in the order forms offer them.
    pub const LOGGED: [ActivityKind; 5] = [
        ActivityKind::Call,
        ActivityKind::Email,
        ActivityKind::Meeting,
        ActivityKind::Note,
        ActivityKind::Task,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Email => "email",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Note => "note",
            ActivityKind::Task => "task",
            ActivityKind::Change => "change",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Call => "Call",
            ActivityKind::Email => "Email",
            ActivityKind::Meeting => "Meeting",
            ActivityKind::Note => "Note",
            ActivityKind::Task => "Task",
            ActivityKind::Change => "Change",
        }
    }

    /// The timeline filter's name for a group of entries of this kind.
    pub fn plural(self) -> &'static str {
        match self {
            ActivityKind::Call => "Calls",
            ActivityKind::Email => "Emails",
            ActivityKind::Meeting => "Meetings",
            ActivityKind::Note => "Notes",
            ActivityKind::Task => "Tasks",
            ActivityKind::Change => "Changes",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        [ActivityKind::Change].into_iter().chain(Self::LOGGED).find(|k| k.key() == key)
    }
}

/// One field of a contact as it was before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What a person fills in to log or edit an activity. Times are as typed in the form
/// (`YYYY-MM-DDTHH:MM`, a date `YYYY-MM-DD` for the due date).
/// The forms send it as one struct argument (inputs named `input[subject]` …); a field left out
/// of the post is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityInput {
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub happened_at: String,
    pub due_on: String,
}

impl ActivityInput {
    /// The submitted values, to give back with errors so nothing typed is lost.
    pub fn echo(&self) -> Vec<(&'static str, String)> {
        vec![
            ("kind", self.kind.clone()),
            ("subject", self.subject.clone()),
            ("body", self.body.clone()),
            ("happened_at", self.happened_at.clone()),
            ("due_on", self.due_on.clone()),
        ]
    }
}

/// An entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: i64,
    pub contact_id: i64,
    pub kind: ActivityKind,
    pub subject: String,
    pub body: String,
    /// When it happened, shown in the organisation's zone and format.
    pub happened_at: String,
    /// The same as the form's `datetime-local` value (`YYYY-MM-DDTHH:MM`, local time).
    pub happened_at_local: String,
    /// Local hours and minutes, for the timeline under its day's heading.
    pub time: String,
    /// `YYYY-MM-DD`, for tasks (the form's value).
    pub due_on: Option<String>,
    /// The due date in the organisation's format.
    pub due_label: Option<String>,
    pub done: bool,
    pub author: String,
    pub changes: Vec<FieldChange>,
    pub edited: bool,
    /// The timeline's heading for the entry's day: "Today", "Yesterday", "Monday 23 November".
    pub day_label: String,
    /// Whether the person asking may edit, delete or complete it (the server checks again).
    pub can_modify: bool,
}

impl Activity {
    /// The day the entry belongs to on the timeline, `YYYY-MM-DD`.
    pub fn day(&self) -> &str {
        self.happened_at.get(..10).unwrap_or(&self.happened_at)
    }

    /// Its subject, or the start of its body, or its kind: what names it on a button.
    pub fn title(&self) -> String {
        if !self.subject.trim().is_empty() {
            return self.subject.trim().to_owned();
        }
        let first_line = self.body.lines().next().unwrap_or_default().trim();
        if first_line.is_empty() {
            return self.kind.label().to_owned();
        }
        let short: String = first_line.chars().take(60).collect();
        if short.len() < first_line.len() {
            format!("{short}…")
        } else {
            short
        }
    }
}

/// The newest entries of a contact's timeline, and whether older ones exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub entries: Vec<Activity>,
    pub has_more: bool,
    /// Whether the person asking may log activities.
    pub can_log: bool,
    /// Today's date, `YYYY-MM-DD`, and the time now, `YYYY-MM-DDTHH:MM`, for the form's defaults.
    pub today: String,
    pub now: String,
}

/// How many entries the timeline shows at first, and how many more each "Show more" adds.
pub const TIMELINE_STEP: i64 = 20;

/// An open task on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTask {
    pub id: i64,
    pub title: String,
    pub contact_id: i64,
    pub contact_name: String,
    pub due_on: Option<String>,
    pub overdue: bool,
}

/// Splits plain text into runs of text and web links, so that links can be made clickable and
/// nothing else is interpreted.
pub fn linkify(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min() {
        let (before, from) = rest.split_at(start);
        let end =
            from.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"').unwrap_or(from.len());
        let mut link = &from[..end];
        // A sentence's closing punctuation is not part of the link.
        while let Some(last) = link.chars().last().filter(|c| ".,;:!?)]'".contains(*c)) {
            if last == ')' && link.contains('(') {
                break;
            }
            link = &link[..link.len() - last.len_utf8()];
        }
        if !before.is_empty() {
            out.push((false, before.to_owned()));
        }
        let has_host = link.split_once("://").is_some_and(|(_, host)| !host.is_empty());
        out.push((has_host, link.to_owned()));
        rest = &from[link.len()..];
    }
    if !rest.is_empty() {
        out.push((false, rest.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_text_become_separate_runs_and_nothing_else_is_interpreted() {
        assert_eq!(
            linkify("See https://example.com/a?b=1, then <b>call</b>."),
            vec![
                (false, "See ".to_owned()),
                (true, "https://example.com/a?b=1".to_owned()),
                (false, ", then <b>call</b>.".to_owned()),
            ]
        );
        assert_eq!(linkify("no links"), vec![(false, "no links".to_owned())]);
        assert_eq!(
            linkify("(http://x.org/wiki/A_(b))"),
            vec![(false, "(".to_owned()), (true, "http://x.org/wiki/A_(b))".to_owned()),]
        );
        assert_eq!(
            linkify("http:// alone"),
            vec![(false, "http://".to_owned()), (false, " alone".to_owned())]
        );
    }

    #[test]
    fn an_activity_is_named_by_its_subject_or_its_first_line() {
        let mut a = Activity {
            id: 1,
            contact_id: 1,
            kind: ActivityKind::Call,
            subject: String::new(),
            body: "Talked about the roof.\nMore".into(),
            happened_at: "2026-11-25 10:00 UTC".into(),
            happened_at_local: "2026-11-25T10:00".into(),
            time: "10:00".into(),
            due_on: None,
            due_label: None,
            done: false,
            author: "Ada".into(),
            changes: vec![],
            edited: false,
            day_label: "Today".into(),
            can_modify: true,
        };
        assert_eq!(a.title(), "Talked about the roof.");
        a.subject = "Roof".into();
        assert_eq!(a.title(), "Roof");
        assert_eq!(a.day(), "2026-11-25");
    }
}
