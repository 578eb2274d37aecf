//! Activities, and the entries of the automatic change history, for both backends.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{Activity, ActivityInput, ActivityKind, FieldChange, OpenTask};
use crate::clock::{now, Clock};
use crate::contacts::display_name;
use crate::db::schema::{activities, contacts};
use crate::db::{batch, with_db, DbConn, DbError};
use crate::error::{AppError, FieldErrors};
use crate::users::repo::Actor;

const HISTORY_IS_FIXED: &str = "Entries of the change history cannot be edited or deleted.";

/// Who is asking to see or change activities, with what they may do.
#[derive(Debug, Clone)]
pub struct Editor {
    pub actor: Actor,
    /// May log activities, and edit or delete their own.
    pub can_log: bool,
    /// May edit or delete anyone's activities.
    pub manage_all: bool,
}

impl Editor {
    fn may_modify(&self, author_id: Option<i64>, kind: &str) -> bool {
        kind != ActivityKind::Change.key()
            && (self.manage_all || (self.can_log && author_id == Some(self.actor.id)))
    }

    /// `Ok` when this person may edit, delete or complete an entry by `author_id` of `kind`.
    fn check(&self, author_id: Option<i64>, kind: &str) -> Result<(), AppError> {
        if kind == ActivityKind::Change.key() {
            Err(AppError::Conflict(HISTORY_IS_FIXED.to_owned()))
        } else if self.may_modify(author_id, kind) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// "Today", "Yesterday", or the weekday and date, for the timeline's day headings.
pub fn day_label(day: NaiveDate, today: NaiveDate) -> String {
    match (today - day).num_days() {
        0 => "Today".to_owned(),
        1 => "Yesterday".to_owned(),
        -1 => "Tomorrow".to_owned(),
        _ if day.year() == today.year() => day.format("%A %-d %B").to_string(),
        _ => day.format("%A %-d %B %Y").to_string(),
    }
}

/// An activity's fields once checked.
struct Checked {
    kind: ActivityKind,
    subject: String,
    body: String,
    happened_at: NaiveDateTime,
    due_on: Option<NaiveDate>,
}

fn check_input(input: &ActivityInput, at: NaiveDateTime, clock: &Clock) -> Result<Checked, AppError> {
    let mut errors = FieldErrors::new();
    let kind = ActivityKind::parse(input.kind.trim()).filter(|k| *k != ActivityKind::Change);
    if kind.is_none() {
        errors.add("kind", "Choose a call, an email, a meeting, a note or a task.");
    }
    let subject = input.subject.trim().to_owned();
    if subject.chars().count() > 200 {
        errors.add("subject", "Use at most 200 characters.");
    }
    let body = input.body.trim_end().to_owned();
    if body.chars().count() > 20_000 {
        errors.add("body", "Use at most 20,000 characters.");
    }
    if subject.is_empty() && body.trim().is_empty() {
        errors.add("body", "Write what happened, or give it a subject.");
    }
    let when = input.happened_at.trim();
    let happened_at = if when.is_empty() {
        Some(at)
    } else {
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(when, f).ok())
            .map(|local| clock.to_utc(local))
    };
    if happened_at.is_none() {
        errors.add("happened_at", "Enter a date and time like 2026-11-25 14:30.");
    }
    let due = input.due_on.trim();
    let due_on = if due.is_empty() || kind != Some(ActivityKind::Task) {
        None
    } else {
        let parsed = NaiveDate::parse_from_str(due, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.add("due_on", "Enter a date like 2026-11-30.");
        }
        parsed
    };
    let echo = input.echo();
    let echo: Vec<(&str, &str)> = echo.iter().map(|(k, v)| (*k, v.as_str())).collect();
    errors.with_values(&echo).into_result()?;
    Ok(Checked {
        kind: kind.unwrap_or(ActivityKind::Note),
        subject,
        body,
        happened_at: happened_at.unwrap_or(at),
        due_on,
    })
}

/// Logs an activity on contact `contact_id`; returns its id.
pub async fn create(
    conn: &mut DbConn,
    actor: &Actor,
    contact_id: i64,
    input: &ActivityInput,
) -> Result<i64, AppError> {
    let at = now();
    let v = check_input(input, at, &conn.clock())?;
    let id = conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        let exists: i64 = contacts::table.filter(contacts::id.eq(contact_id)).count().get_result(c).await?;
        if exists == 0 {
            return Err(AppError::NotFound);
        }
        let id: i64 = diesel::insert_into(activities::table)
            .values((
                activities::contact_id.eq(contact_id),
                activities::kind.eq(v.kind.key()),
                activities::subject.eq(&v.subject),
                activities::body.eq(&v.body),
                activities::happened_at.eq(v.happened_at),
                activities::due_on.eq(v.due_on),
                activities::author_id.eq(Some(actor.id)),
                activities::author_name.eq(&actor.name),
                activities::created_at.eq(at),
            ))
            .returning(activities::id)
            .get_result(c)
            .await?;
        Ok::<_, AppError>(id)
    }))
        .await?;
    Ok(id)
}

/// An entry as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = activities)]
struct Row {
    id: i64,
    contact_id: i64,
    kind: String,
    subject: String,
    body: String,
    happened_at: NaiveDateTime,
    due_on: Option<NaiveDate>,
    done_at: Option<NaiveDateTime>,
    author_id: Option<i64>,
    author_name: String,
    changes: Option<String>,
    edited_at: Option<NaiveDateTime>,
}

fn to_activity(row: Row, viewer: &Editor, clock: &Clock) -> Activity {
    let Row {
        id,
        contact_id,
        kind,
        subject,
        body,
        happened_at,
        due_on,
        done_at,
        author_id,
        author_name: author,
        changes,
        edited_at,
    } = row;
    Activity {
        id,
        contact_id,
        can_modify: viewer.may_modify(author_id, &kind),
        kind: ActivityKind::parse(&kind).unwrap_or(ActivityKind::Note),
        subject,
        body,
        happened_at: clock.stamp(happened_at),
        happened_at_local: clock.local(happened_at).format("%Y-%m-%dT%H:%M").to_string(),
        time: clock.local(happened_at).format("%H:%M").to_string(),
        day_label: day_label(clock.local(happened_at).date(), clock.today()),
        due_on: due_on.map(|d| d.format("%Y-%m-%d").to_string()),
        due_label: due_on.map(|d| clock.date(d)),
        done: done_at.is_some(),
        author: if author.is_empty() { "Someone".to_owned() } else { author },
        changes: changes.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default(),
        edited: edited_at.is_some(),
    }
}

/// One entry, as `viewer` sees it.
pub async fn get(conn: &mut DbConn, viewer: &Editor, id: i64) -> Result<Option<Activity>, DbError> {
    let row: Option<Row> = with_db!(conn, c => activities::table
        .find(id)
        .select(Row::as_select())
        .first(c)
        .await
        .optional())?;
    let clock = conn.clock();
    Ok(row.map(|r| to_activity(r, viewer, &clock)))
}

/// The newest `limit` entries of a contact's timeline (of one kind, if given), newest first, and
/// whether there are older ones.
pub async fn timeline(
    conn: &mut DbConn,
    viewer: &Editor,
    contact_id: i64,
    kind: Option<ActivityKind>,
    limit: i64,
) -> Result<(Vec<Activity>, bool), DbError> {
    let rows: Vec<Row> = with_db!(conn, c => {
        let mut q = activities::table.filter(activities::contact_id.eq(contact_id)).into_boxed();
        if let Some(kind) = kind {
            q = q.filter(activities::kind.eq(kind.key()));
        }
        q.order((activities::happened_at.desc(), activities::id.desc()))
            .limit(limit + 1)
            .select(Row::as_select())
            .load(c)
            .await
    })?;
    let has_more = rows.len() as i64 > limit;
    let clock = conn.clock();
    Ok((rows.into_iter().take(limit as usize).map(|r| to_activity(r, viewer, &clock)).collect(), has_more))
}

/// The author, kind and contact of entry `id`, read inside a write transaction.
async fn owner_of(c: &mut DbConn, id: i64) -> Result<(Option<i64>, String, i64), AppError> {
    with_db!(c, c => activities::table
        .find(id)
        .select((activities::author_id, activities::kind, activities::contact_id))
        .first::<(Option<i64>, String, i64)>(c)
        .await
        .optional())?
    .ok_or(AppError::NotFound)
}

/// Saves an edited entry; it is then marked as edited.
pub async fn update(
    conn: &mut DbConn,
    editor: &Editor,
    id: i64,
    input: &ActivityInput,
) -> Result<i64, AppError> {
    let at = now();
    let clock = conn.clock();
    conn.write_tx(async |c: &mut DbConn| {
        // Who may change this entry is decided before anything about the input is said.
        let (author_id, kind, contact_id) = owner_of(c, id).await?;
        editor.check(author_id, &kind)?;
        let v = check_input(input, at, &clock)?;
        with_db!(c, c => {
            diesel::update(activities::table.find(id))
                .set((
                    activities::kind.eq(v.kind.key()),
                    activities::subject.eq(&v.subject),
                    activities::body.eq(&v.body),
                    activities::happened_at.eq(v.happened_at),
                    activities::due_on.eq(v.due_on),
                    activities::edited_at.eq(Some(at)),
                ))
                .execute(c)
                .await?;
            Ok::<_, AppError>(contact_id)
        })
    })
    .await
}

/// Deletes an entry once `confirmed`; returns the contact it belonged to. Who may delete it is
/// decided before the missing confirmation is mentioned.
pub async fn delete(conn: &mut DbConn, editor: &Editor, id: i64, confirmed: bool) -> Result<i64, AppError> {
    conn.write_tx(async |c: &mut DbConn| {
        let (author_id, kind, contact_id) = owner_of(c, id).await?;
        editor.check(author_id, &kind)?;
        if !confirmed {
            return Err(AppError::invalid("confirm", "Tick the box to confirm the deletion."));
        }
        with_db!(c, c => {
            diesel::delete(activities::table.find(id)).execute(c).await?;
            Ok::<_, AppError>(contact_id)
        })
    })
    .await
}

/// Marks a task done (or open again); returns the contact it belongs to.
pub async fn set_done(conn: &mut DbConn, editor: &Editor, id: i64, done: bool) -> Result<i64, AppError> {
    let at = now();
    conn.write_tx(async |c: &mut DbConn| {
        let (author_id, kind, contact_id) = owner_of(c, id).await?;
        editor.check(author_id, &kind)?;
        with_db!(c, c => {
            if kind != ActivityKind::Task.key() {
                return Err(AppError::Conflict("Only tasks can be marked as done.".to_owned()));
            }
            diesel::update(activities::table.find(id))
                .set(activities::done_at.eq(done.then_some(at)))
                .execute(c)
                .await?;
            Ok::<_, AppError>(contact_id)
        })
    })
    .await
}

/// The open tasks `user_id` logged, due soonest first (tasks without a due date last).
pub async fn open_tasks(conn: &mut DbConn, user_id: i64, today: NaiveDate) -> Result<Vec<OpenTask>, DbError> {
    type TaskRow = (i64, String, String, Option<NaiveDate>, i64, String, String, String);
    let rows: Vec<TaskRow> = with_db!(conn, c => activities::table
        .inner_join(contacts::table)
        .filter(activities::author_id.eq(user_id))
        .filter(activities::kind.eq(ActivityKind::Task.key()))
        .filter(activities::done_at.is_null())
        .order((activities::due_on.is_null().asc(), activities::due_on.asc(), activities::id.asc()))
        .limit(100)
        .select((
            activities::id,
            activities::subject,
            activities::body,
            activities::due_on,
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contacts::company,
        ))
        .load(c)
        .await)?;
    let clock = conn.clock();
    Ok(rows
        .into_iter()
        .map(|(id, subject, body, due_on, contact_id, first, last, company)| {
            let title = if subject.trim().is_empty() {
                body.lines().next().unwrap_or("Task").chars().take(60).collect()
            } else {
                subject
            };
            OpenTask {
                id,
                title: if title.trim().is_empty() { "Task".to_owned() } else { title },
                contact_id,
                contact_name: display_name(&first, &last, &company),
                due_on: due_on.map(|d| clock.date(d)),
                overdue: due_on.is_some_and(|d| d < today),
            }
        })
        .collect())
}

// ---------------------------------------------------------------- change history

/// A record's fields as the history shows them: label and readable value, in the form's order.
/// The slice that owns the record takes them (contacts: `contacts::repo::snapshots`).
pub type FieldValues = Vec<(String, String)>;

/// The differences between two snapshots of one record.
pub fn diff(before: &FieldValues, after: &FieldValues) -> Vec<FieldChange> {
    before
        .iter()
        .zip(after)
        .filter(|((_, b), (_, a))| b != a)
        .map(|((field, b), (_, a))| FieldChange { field: field.clone(), before: b.clone(), after: a.clone() })
        .collect()
}

/// The name history entries by `actor_id` carry, read inside the caller's transaction.
async fn author_name(c: &mut DbConn, actor_id: i64) -> QueryResult<String> {
    use crate::db::schema::users;
    let name: Option<String> =
        with_db!(c, c => users::table.find(actor_id).select(users::display_name).first(c).await.optional())?;
    Ok(name.unwrap_or_default())
}

/// Writes a change-history entry for every contact whose snapshot differs between `before` and
/// `after`, authored by user `actor_id`, inside the caller's transaction. `subject` names what
/// made the change ("Edited the contact", "Changed in a bulk action", …).
pub async fn record_changes(
    c: &mut DbConn,
    actor_id: i64,
    subject: &str,
    before: &BTreeMap<i64, FieldValues>,
    after: &BTreeMap<i64, FieldValues>,
) -> QueryResult<()> {
    let at = now();
    let author = author_name(c, actor_id).await?;
    let entries: Vec<(i64, String)> = before
        .iter()
        .filter_map(|(id, old)| {
            let changes = diff(old, after.get(id)?);
            (!changes.is_empty())
                .then(|| (*id, serde_json::to_string(&changes).unwrap_or_else(|_| "[]".to_owned())))
        })
        .collect();
    let stamp = batch::stamp(c, &at);
    let rows: Vec<batch::ChangeRow<'_>> = entries
        .iter()
        .map(|(id, json)| batch::ChangeRow {
            contact_id: *id,
            subject,
            author_id: Some(actor_id),
            author_name: &author,
            changes: json,
            at: &stamp,
        })
        .collect();
    batch::execute(c, &batch::INSERT_CHANGES, &rows).await?;
    Ok(())
}

/// Writes the "added" entry of a new contact, inside the caller's transaction; `subject` says
/// how it came ("Added the contact", "Added by import 12 (clients.csv)").
pub async fn record_added(c: &mut DbConn, actor_id: i64, contact_id: i64, subject: &str) -> QueryResult<()> {
    record_added_many(c, actor_id, &[contact_id], subject).await
}

/// [`record_added`] for many new contacts at once (an import's batch), inside the caller's
/// transaction.
pub async fn record_added_many(
    c: &mut DbConn,
    actor_id: i64,
    contact_ids: &[i64],
    subject: &str,
) -> QueryResult<()> {
    let at = now();
    let author = author_name(c, actor_id).await?;
    let stamp = batch::stamp(c, &at);
    let rows: Vec<batch::ChangeRow<'_>> = contact_ids
        .iter()
        .map(|id| batch::ChangeRow {
            contact_id: *id,
            subject,
            author_id: Some(actor_id),
            author_name: &author,
            changes: "[]",
            at: &stamp,
        })
        .collect();
    batch::execute(c, &batch::INSERT_CHANGES, &rows).await?;
    Ok(())
}

/// Entries per contact, for tests and the benchmark's sanity checks.
pub async fn count_for(conn: &mut DbConn, contact_id: i64) -> Result<BTreeMap<String, i64>, DbError> {
    let rows: Vec<(String, i64)> = with_db!(conn, c => activities::table
        .filter(activities::contact_id.eq(contact_id))
        .group_by(activities::kind)
        .select((activities::kind, diesel::dsl::count_star()))
        .load(c)
        .await)?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::repo::{self as contacts_repo, BulkChange};
    use crate::contacts::ContactInput;
    use crate::db::testing::each_backend;

    async fn staff(conn: &mut DbConn, name: &str) -> Actor {
        // The display name is the email's local part as written: "Ada".
        let account = crate::users::fixtures::staff_with(conn, &format!("{name}@example.com"), &[]).await;
        Actor { id: account.id, name: name.to_owned() }
    }

    fn editor(actor: &Actor, manage_all: bool) -> Editor {
        Editor { actor: actor.clone(), can_log: true, manage_all }
    }

    fn input(kind: &str, subject: &str, body: &str, when: &str) -> ActivityInput {
        ActivityInput {
            kind: kind.into(),
            subject: subject.into(),
            body: body.into(),
            happened_at: when.into(),
            due_on: String::new(),
        }
    }

    async fn contact(conn: &mut DbConn, actor: &Actor, first: &str) -> i64 {
        let input = ContactInput { first_name: first.into(), ..Default::default() };
        contacts_repo::create(conn, actor.id, &input).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_timeline_lists_newest_first_filters_by_kind_and_pages() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let ada = staff(&mut conn, "Ada").await;
            let me = editor(&ada, false);
            let grace = contact(&mut conn, &ada, "Grace").await;
            let other = contact(&mut conn, &ada, "Other").await;
            create(&mut conn, &ada, grace, &input("call", "First call", "", "2026-11-20T10:00"))
                .await
                .unwrap();
            create(
                &mut conn,
                &ada,
                grace,
                &input("note", "", "Likes https://example.com", "2026-11-21T09:30"),
            )
            .await
            .unwrap();
            create(&mut conn, &ada, grace, &input("call", "Second call", "", "2026-11-22T16:45"))
                .await
                .unwrap();
            create(&mut conn, &ada, other, &input("call", "Not Grace's", "", "")).await.unwrap();

            let (all, more) = timeline(&mut conn, &me, grace, None, 20).await.unwrap();
            let titles: Vec<String> = all.iter().map(|a| a.title()).collect();
            // The automatic "added" entry is the newest: it was written now.
            assert_eq!(
                titles,
                ["Added the contact", "Second call", "Likes https://example.com", "First call"],
                "{name}"
            );
            assert!(!more, "{name}");
            assert_eq!(all[1].happened_at, "2026-11-22 16:45 UTC", "{name}");
            // The organisation's zone: the same entry shown and edited in Berlin time.
            conn.set_clock(crate::clock::Clock {
                tz: crate::clock::time_zone("Europe/Berlin").unwrap(),
                date_format: crate::settings::DateFormat::DayMonthYear,
            });
            let (berlin, _) = timeline(&mut conn, &me, grace, None, 20).await.unwrap();
            assert_eq!(
                (
                    berlin[1].happened_at.as_str(),
                    berlin[1].happened_at_local.as_str(),
                    berlin[1].time.as_str()
                ),
                ("22/11/2026 17:45 CET", "2026-11-22T17:45", "17:45"),
                "{name}"
            );
            conn.set_clock(crate::clock::Clock::default());
            assert_eq!(
                all[1].day_label,
                day_label(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), repo_today())
            );
            assert!(all[1].can_modify && !all[0].can_modify, "{name}: history entries are fixed");

            let (calls, _) = timeline(&mut conn, &me, grace, Some(ActivityKind::Call), 20).await.unwrap();
            assert_eq!(
                calls.iter().map(|a| a.title()).collect::<Vec<_>>(),
                ["Second call", "First call"],
                "{name}"
            );
            let (first_two, more) = timeline(&mut conn, &me, grace, None, 2).await.unwrap();
            assert_eq!(first_two.len(), 2, "{name}");
            assert!(more, "{name}: older entries exist");
            let (three, more) = timeline(&mut conn, &me, grace, None, 4).await.unwrap();
            assert_eq!((three.len(), more), (4, false), "{name}: exactly all");
        }
    }

    fn repo_today() -> NaiveDate {
        chrono::Utc::now().date_naive()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn bad_input_gets_a_message_per_field_and_keeps_what_was_typed() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let ada = staff(&mut conn, "Ada").await;
            let grace = contact(&mut conn, &ada, "Grace").await;
            let mut bad = input("change", "", "  ", "yesterday");
            bad.due_on = "soon".into();
            let err = create(&mut conn, &ada, grace, &bad).await.unwrap_err();
            assert!(err.field("kind").is_some(), "{name}: nobody logs a history entry by hand");
            assert!(err.field("body").is_some() && err.field("happened_at").is_some(), "{name}: {err:?}");
            assert_eq!(err.value("happened_at").as_deref(), Some("yesterday"), "{name}");
            let mut task = input("task", "Send the quote", "", "");
            task.due_on = "30/11/2026".into();
            let err = create(&mut conn, &ada, grace, &task).await.unwrap_err();
            assert!(err.field("due_on").is_some(), "{name}");
            assert!(matches!(
                create(&mut conn, &ada, 999_999, &input("note", "x", "", "")).await,
                Err(AppError::NotFound)
            ));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn authors_change_their_own_entries_and_only_managers_change_anyone_s() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let (ada, sam, max) =
                (staff(&mut conn, "Ada").await, staff(&mut conn, "Sam").await, staff(&mut conn, "Max").await);
            let grace = contact(&mut conn, &ada, "Grace").await;
            let call = create(&mut conn, &ada, grace, &input("call", "Call", "Talked.", "")).await.unwrap();

            let edited = input("meeting", "Met instead", "Talked over coffee.", "2026-11-24T11:00");
            assert!(matches!(
                update(&mut conn, &editor(&sam, false), call, &edited).await,
                Err(AppError::Forbidden)
            ));
            assert!(matches!(
                delete(&mut conn, &editor(&sam, false), call, false).await,
                Err(AppError::Forbidden)
            ));
            let read_only = Editor { actor: ada.clone(), can_log: false, manage_all: false };
            assert!(
                matches!(delete(&mut conn, &read_only, call, true).await, Err(AppError::Forbidden)),
                "{name}"
            );
            let unchanged = get(&mut conn, &editor(&ada, false), call).await.unwrap().unwrap();
            assert_eq!((unchanged.subject.as_str(), unchanged.edited), ("Call", false), "{name}");

            assert_eq!(update(&mut conn, &editor(&ada, false), call, &edited).await.unwrap(), grace);
            let saved = get(&mut conn, &editor(&sam, false), call).await.unwrap().unwrap();
            assert_eq!(
                (
                    saved.kind,
                    saved.subject.as_str(),
                    saved.happened_at.as_str(),
                    saved.edited,
                    saved.can_modify
                ),
                (ActivityKind::Meeting, "Met instead", "2026-11-24 11:00 UTC", true, false),
                "{name}"
            );
            assert!(get(&mut conn, &editor(&max, true), call).await.unwrap().unwrap().can_modify, "{name}");

            // The automatic entry can be changed by nobody, not even a manager.
            let (entries, _) =
                timeline(&mut conn, &editor(&max, true), grace, Some(ActivityKind::Change), 5).await.unwrap();
            let history = entries[0].id;
            assert!(matches!(
                delete(&mut conn, &editor(&max, true), history, true).await,
                Err(AppError::Conflict(_))
            ));
            assert!(matches!(
                update(&mut conn, &editor(&ada, true), history, &edited).await,
                Err(AppError::Conflict(_))
            ));

            assert_eq!(delete(&mut conn, &editor(&max, true), call, true).await.unwrap(), grace, "{name}");
            assert!(get(&mut conn, &editor(&ada, false), call).await.unwrap().is_none(), "{name}");
            assert!(matches!(
                delete(&mut conn, &editor(&max, true), call, true).await,
                Err(AppError::NotFound)
            ));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn open_tasks_come_due_soonest_first_and_leave_the_list_when_done() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let (ada, sam) = (staff(&mut conn, "Ada").await, staff(&mut conn, "Sam").await);
            let grace = contact(&mut conn, &ada, "Grace").await;
            let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
            let mut ids = Vec::new();
            for (subject, due) in
                [("Later", "2026-12-10"), ("No date", ""), ("Overdue", "2026-11-20"), ("Soon", "2026-11-26")]
            {
                let mut task = input("task", subject, "", "");
                task.due_on = due.into();
                ids.push(create(&mut conn, &ada, grace, &task).await.unwrap());
            }
            create(&mut conn, &sam, grace, &input("task", "Sam's", "", "")).await.unwrap();
            create(&mut conn, &ada, grace, &input("call", "Not a task", "", "")).await.unwrap();

            let tasks = open_tasks(&mut conn, ada.id, today).await.unwrap();
            let seen: Vec<(&str, bool)> = tasks.iter().map(|t| (t.title.as_str(), t.overdue)).collect();
            assert_eq!(
                seen,
                [("Overdue", true), ("Soon", false), ("Later", false), ("No date", false)],
                "{name}"
            );
            assert_eq!(tasks[0].contact_name, "Grace", "{name}");

            assert!(matches!(
                set_done(&mut conn, &editor(&sam, false), ids[2], true).await,
                Err(AppError::Forbidden)
            ));
            set_done(&mut conn, &editor(&ada, false), ids[2], true).await.unwrap();
            let left: Vec<String> =
                open_tasks(&mut conn, ada.id, today).await.unwrap().into_iter().map(|t| t.title).collect();
            assert_eq!(left, ["Soon", "Later", "No date"], "{name}");
            let done = get(&mut conn, &editor(&ada, false), ids[2]).await.unwrap().unwrap();
            assert!(done.done, "{name}");
            set_done(&mut conn, &editor(&ada, false), ids[2], false).await.unwrap();
            assert_eq!(open_tasks(&mut conn, ada.id, today).await.unwrap().len(), 4, "{name}: reopened");
            let call = create(&mut conn, &ada, grace, &input("call", "c", "", "")).await.unwrap();
            assert!(matches!(
                set_done(&mut conn, &editor(&ada, false), call, true).await,
                Err(AppError::Conflict(_))
            ));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn form_edits_and_bulk_actions_write_the_change_history_with_before_and_after() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let ada = staff(&mut conn, "Ada").await;
            let sam = staff(&mut conn, "Sam").await;
            let all = contacts_repo::choices(&mut conn).await.unwrap();
            let (lead, customer) = (all.statuses[0].clone(), all.statuses[2].clone());
            let mut form = ContactInput {
                first_name: "Grace".into(),
                status_id: Some(lead.id),
                tags: vec!["VIP".into()],
                ..Default::default()
            };
            let grace = contacts_repo::create(&mut conn, ada.id, &form).await.unwrap();
            type Entry = (String, String, Vec<(String, String, String)>);
            let history = |entries: Vec<Activity>| -> Vec<Entry> {
                entries
                    .into_iter()
                    .map(|a| {
                        let changes = a.changes.into_iter().map(|c| (c.field, c.before, c.after)).collect();
                        (a.subject, a.author, changes)
                    })
                    .collect()
            };
            let me = editor(&ada, true);

            form.status_id = Some(customer.id);
            form.tags = vec!["VIP".into(), "Navy".into()];
            form.owner_id = Some(sam.id);
            contacts_repo::update(&mut conn, ada.id, grace, 1, &form).await.unwrap();
            // A save from a form opened before that one is refused and leaves no trace.
            form.first_name = "Stale".into();
            assert!(contacts_repo::update(&mut conn, sam.id, grace, 1, &form).await.is_err());
            // Saving without changing anything writes no entry either.
            form.first_name = "Grace".into();
            contacts_repo::update(&mut conn, ada.id, grace, 2, &form).await.unwrap();

            let (entries, _) = timeline(&mut conn, &me, grace, Some(ActivityKind::Change), 10).await.unwrap();
            let s = |v: &str| v.to_owned();
            assert_eq!(
                history(entries),
                vec![
                    (
                        s("Edited the contact"),
                        s("Ada"),
                        vec![
                            (s("Status"), lead.name.clone(), customer.name.clone()),
                            (s("Owner"), s(""), s("Sam")),
                            (s("Tags"), s("VIP"), s("Navy, VIP")),
                        ]
                    ),
                    (s("Added the contact"), s("Ada"), vec![]),
                ],
                "{name}"
            );

            let other = contacts_repo::create(
                &mut conn,
                ada.id,
                &ContactInput { first_name: "Alan".into(), ..Default::default() },
            )
            .await
            .unwrap();
            contacts_repo::bulk_change(
                &mut conn,
                sam.id,
                &[grace, other],
                &BulkChange::SetStatus(Some(lead.id)),
            )
            .await
            .unwrap();
            contacts_repo::bulk_change(
                &mut conn,
                sam.id,
                &[grace, other],
                &BulkChange::AddTag("Navy".into()),
            )
            .await
            .unwrap();
            let (entries, _) = timeline(&mut conn, &me, grace, Some(ActivityKind::Change), 10).await.unwrap();
            assert_eq!(
                history(entries)[..1],
                [(
                    s("Changed in a bulk action"),
                    s("Sam"),
                    vec![(s("Status"), customer.name.clone(), lead.name.clone())]
                )],
                "{name}: Grace had the tag already, so only her status changed"
            );
            let (entries, _) = timeline(&mut conn, &me, other, Some(ActivityKind::Change), 10).await.unwrap();
            assert_eq!(
                history(entries)[..2],
                [
                    (s("Changed in a bulk action"), s("Sam"), vec![(s("Tags"), s(""), s("Navy"))]),
                    (s("Changed in a bulk action"), s("Sam"), vec![(s("Status"), s(""), lead.name.clone())]),
                ],
                "{name}"
            );
            contacts_repo::bulk_change(&mut conn, sam.id, &[other], &BulkChange::SetOwner(Some(ada.id)))
                .await
                .unwrap();
            let kinds = count_for(&mut conn, other).await.unwrap();
            assert_eq!(kinds.get("change"), Some(&4), "{name}: added, status, tag, owner");
        }
    }
}
