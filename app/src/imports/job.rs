//! The background side of an import: the dry run, the run, the undo, and taking back what a
//! cancelled or failed run wrote. Any app server carries any job: it claims it in the database,
//! says so with a heartbeat every batch, and another server takes the job over when the
//! heartbeat stops (the server was killed). Every batch is one short transaction that writes the
//! contacts and marks its rows done together, so a job interrupted anywhere continues where it
//! stopped, and never holds the contacts' lock for longer than a batch.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

use super::parse::{self, Row};
use super::plan::{self, Lookups, Seen};
use super::repo::{self, Counts, Heartbeat, Job, WorkRow, Written};
use super::{ImportState, Outcome};
use crate::clock::now;
use crate::contacts::ContactInput;
use crate::db::{data_version, with_db, DbConn, DbError, DbPool};
use crate::fields::repo::Parsed;
use crate::fields::FieldCatalog;

/// The tables a run or an undo writes to, whose planner statistics it refreshes at its end.
const WRITTEN_TABLES: [&str; 5] =
    ["contacts", "contact_tags", "contact_services", "contact_field_values", "activities"];
/// The tables the run's own lookups read (emails and unique values taken since the dry run),
/// refreshed while it grows them.
const LOOKED_UP_TABLES: [&str; 2] = ["contacts", "contact_field_values"];
/// Rows written before the first refresh of their statistics; each next one after twice as many.
const FIRST_REFRESH: i64 = 10_000;

/// Fresh planner statistics, at the start of a run or an undo (for the rows the dry run planned)
/// and as it grows the contacts' tables ([`crate::db::DbConn::refresh_statistics_of`]). A job
/// that could not refresh them still goes on, only slower.
async fn refresh(conn: &mut DbConn, tables: &[&'static str]) {
    if let Err(err) = conn.refresh_statistics_of(tables).await {
        tracing::warn!(error = %err, "refreshing the planner statistics failed");
    }
}

/// Rows planned per batch of the dry run.
const PLAN_BATCH: usize = 1_000;
/// Rows written (or taken back) per transaction.
pub(crate) const WRITE_BATCH: i64 = 500;

/// This server, as the jobs it carries name it, and where it keeps their files.
#[derive(Clone, Debug)]
pub struct Worker {
    pub name: String,
    pub dir: PathBuf,
    /// Stops after this many batches of a run or undo without a word, as a killed server does
    /// (the crash tests); `None` in the server.
    pub dies_after: Option<usize>,
}

impl Worker {
    /// A name no other server (nor this one after a restart) has.
    pub fn new(dir: PathBuf) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "server".to_owned());
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!("{host}-{}-{}", std::process::id(), started.as_nanos());
        Worker { name, dir, dies_after: None }
    }
}

/// Why a job stopped before its end.
enum Stop {
    /// Another server carries it now.
    Lost,
    /// The person asked to cancel.
    Cancel,
}

/// Claims one job nobody carries and does it; false when there was none.
pub async fn work_once(pool: &DbPool, worker: &Worker) -> Result<bool, DbError> {
    let mut conn = pool.get().await?;
    let Some(id) = repo::claim(&mut conn, &worker.name).await? else { return Ok(false) };
    let Some(job) = repo::job(&mut conn, id).await? else { return Ok(true) };
    let result = match job.state {
        ImportState::Checking => check(&mut conn, &job, worker).await,
        ImportState::Running if job.cancel_requested => take_back(&mut conn, &job, worker).await,
        ImportState::Running => run(&mut conn, &job, worker).await,
        ImportState::Undoing => take_back(&mut conn, &job, worker).await,
        _ => Ok(()),
    };
    if let Err(err) = result {
        tracing::error!(import = id, error = %err, "an import job failed");
        fail(pool, &job, worker, &err).await;
    }
    Ok(true)
}

/// Runs jobs for as long as the server runs: one at a time, looking for new ones every `period`.
pub fn spawn(pool: DbPool, worker: Worker, period: std::time::Duration) {
    tokio::spawn(async move {
        let mut idle = 0u32;
        loop {
            match work_once(&pool, &worker).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "looking for import jobs failed; will retry"),
            }
            idle = idle.wrapping_add(1);
            if idle.is_multiple_of(600) {
                if let Ok(mut conn) = pool.get().await {
                    let _ = repo::remove_abandoned_uploads(&mut conn).await;
                }
            }
            tokio::time::sleep(period).await;
        }
    });
}

/// A job that failed: a dry run goes back to its mapping with the reason; a run takes back what
/// it wrote and ends as failed.
async fn fail(pool: &DbPool, job: &Job, worker: &Worker, err: &DbError) {
    let Ok(mut conn) = pool.get().await else { return };
    let message = match job.state {
        ImportState::Undoing => {
            format!("The undo stopped on an error: {err}. Ask for the undo again to finish it.")
        }
        _ => format!("The import stopped on an error: {err}. What it had written was taken back (each row says what was and was not)."),
    };
    let _ = conn
        .write_tx(async |c: &mut DbConn| {
            use crate::db::schema::imports;
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            with_db!(c, c => diesel::update(imports::table.find(job.id).filter(imports::worker.eq(&worker.name)))
                .set((imports::cancel_requested.eq(true), imports::message.eq(&message)))
                .execute(c)
                .await)
        })
        .await;
    match job.state {
        ImportState::Checking => {
            let _ = conn
                .write_tx(async |c: &mut DbConn| {
                    repo::finish(
                        c,
                        job.id,
                        &worker.name,
                        ImportState::Uploaded,
                        "The dry run stopped on an error. Try it again.",
                    )
                    .await
                })
                .await;
        }
        ImportState::Running => {
            if let Err(err) = take_back(&mut conn, job, worker).await {
                tracing::error!(import = job.id, error = %err, "taking back a failed import failed; another try follows");
            }
        }
        _ => {
            let _ = conn
                .write_tx(async |c: &mut DbConn| {
                    repo::finish(c, job.id, &worker.name, ImportState::Done, &message).await
                })
                .await;
        }
    }
}

// ------------------------------------------------------------------------------ dry run

/// The dry run: reads the whole file, plans every row, and stores the plan as the report.
async fn check(conn: &mut DbConn, job: &Job, worker: &Worker) -> Result<(), DbError> {
    conn.write_tx(async |c: &mut DbConn| {
        if !repo::owned(c, job.id, &worker.name).await? {
            return Ok(());
        }
        clear(c, job.id).await?;
        repo::start_phase(c, job.id, &worker.name, 0, true).await.map(|_| ())
    })
    .await?;
    // The counter first: a change between the two reads then makes the run refuse, never pass.
    let (_, fields_version) = data_version(conn, "fields").await?;
    let lookups = Lookups::load(conn).await?;
    let path = repo::fetch_file(conn, job, &worker.dir).await?;
    let mut settings = job.settings.clone();
    settings.fields_version = fields_version;

    // The file is read on a thread of its own, a batch at a time: at most two batches wait.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Row>>(2);
    let format = settings.format.clone();
    let skip_header = settings.has_header;
    let local = path.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(PLAN_BATCH);
        let mut first = true;
        let read = parse::read_rows::<parse::FileError>(&path, &format, |row| {
            if std::mem::take(&mut first) && skip_header {
                return Ok(ControlFlow::Continue(()));
            }
            batch.push(row);
            if batch.len() == PLAN_BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        });
        if read.is_ok() && !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        read
    });

    let mut seen = Seen::default();
    let mut total = 0i64;
    let mut stop = None;
    while let Some(rows) = rx.recv().await {
        let planned = plan::plan_batch(conn, &lookups, &settings, &rows, &mut seen).await?;
        let mut counts = Counts::default();
        for p in &planned {
            counts.add(p.outcome);
        }
        total += planned.len() as i64;
        let beat = conn
            .write_tx(async |c: &mut DbConn| {
                let beat = repo::heartbeat(c, job.id, &worker.name).await?;
                if beat == Heartbeat::Carry {
                    repo::insert_planned(c, job.id, &planned).await?;
                    repo::add_counts(c, job.id, counts).await?;
                }
                Ok::<_, diesel::result::Error>(beat)
            })
            .await?;
        match beat {
            Heartbeat::Carry => {}
            Heartbeat::Cancel => {
                stop = Some(Stop::Cancel);
                break;
            }
            Heartbeat::Lost => {
                stop = Some(Stop::Lost);
                break;
            }
        }
    }
    drop(rx);
    let read = reader.await.unwrap_or(Err(parse::FileError::Io));
    // The plan holds all a run needs; the file stays in the database for another dry run.
    let _ = tokio::fs::remove_file(&local).await;
    match stop {
        Some(Stop::Lost) => return Ok(()),
        Some(Stop::Cancel) => {
            return Ok(conn
                .write_tx(async |c: &mut DbConn| {
                    clear(c, job.id).await?;
                    repo::finish(c, job.id, &worker.name, ImportState::Uploaded, "The dry run was cancelled.")
                        .await
                })
                .await?)
        }
        None => {}
    }
    conn.write_tx(async |c: &mut DbConn| {
        if !repo::owned(c, job.id, &worker.name).await? {
            return Ok(());
        }
        if let Err(err) = &read {
            // The file cannot be read to its end: nothing can be imported from it as it is.
            clear(c, job.id).await?;
            return repo::finish(c, job.id, &worker.name, ImportState::Uploaded, &err.to_string()).await;
        }
        if total == 0 {
            return repo::finish(
                c,
                job.id,
                &worker.name,
                ImportState::Uploaded,
                "The file has no rows to import below its header.",
            )
            .await;
        }
        repo::store_settings(c, job.id, &settings).await?;
        repo::set_total(c, job.id, total).await?;
        repo::finish(c, job.id, &worker.name, ImportState::Checked, "").await
    })
    .await?;
    Ok(())
}

async fn clear(c: &mut DbConn, id: i64) -> diesel::QueryResult<()> {
    use crate::db::schema::import_rows;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    with_db!(c, c => diesel::delete(import_rows::table.filter(import_rows::import_id.eq(id))).execute(c).await)?;
    Ok(())
}

// ------------------------------------------------------------------------------ run

fn subject(job: &Job, verb: &str) -> String {
    format!("{verb} import {} ({})", job.id, job.file_name)
}

/// A contact's extra values by field id, from an input's form values: what a write reads as the
/// options it holds.
fn held_values(catalog: &FieldCatalog, input: &ContactInput) -> BTreeMap<i64, Vec<String>> {
    catalog.fields.iter().filter_map(|f| input.extra.get(&f.key).map(|v| (f.id, v.clone()))).collect()
}

/// The run: writes the planned rows in batches, each batch one transaction, and records each
/// row's result with it. Resumes where a stopped server left off.
async fn run(conn: &mut DbConn, job: &Job, worker: &Worker) -> Result<(), DbError> {
    let resumed = repo::written(conn, job.id).await? > 0;
    let (_, fields_version) = data_version(conn, "fields").await?;
    let actor = job.run_by.or(job.created_by);
    let refusal = match (actor, fields_version == job.settings.fields_version) {
        (None, _) => Some("The person who started this import no longer has an account."),
        (_, false) => Some(
            "The contact fields were changed after the dry run. Check the mapping and run the dry run again.",
        ),
        _ => None,
    };
    if let Some(why) = refusal {
        if resumed {
            // Part of it is written already: take that back rather than lose track of it.
            let message = format!("{why} What the import had written was taken back.");
            let mine = conn
                .write_tx(async |c: &mut DbConn| repo::give_up(c, job.id, &worker.name, &message).await)
                .await?;
            return if mine { take_back(conn, job, worker).await } else { Ok(()) };
        }
        let back = if actor.is_none() { ImportState::Checked } else { ImportState::Uploaded };
        return Ok(conn
            .write_tx(async |c: &mut DbConn| {
                if back == ImportState::Uploaded && repo::owned(c, job.id, &worker.name).await? {
                    clear(c, job.id).await?;
                }
                repo::finish(c, job.id, &worker.name, back, why).await
            })
            .await?);
    }
    let Some(actor) = actor else { return Ok(()) };
    refresh(conn, &["import_rows"]).await;
    let to_write = repo::count_rows(conn, job.id, false).await?;
    if !resumed {
        conn.write_tx(async |c: &mut DbConn| {
            if !repo::start_phase(c, job.id, &worker.name, to_write, false).await? {
                return Ok(());
            }
            with_db!(c, c => {
                use crate::db::schema::imports;
                use diesel::prelude::*;
                use diesel_async::RunQueryDsl;
                diesel::update(imports::table.find(job.id))
                    .set((imports::created_count.eq(0), imports::updated_count.eq(0), imports::changed_count.eq(0)))
                    .execute(c)
                    .await
            })?;
            Ok::<_, diesel::result::Error>(())
        })
        .await?;
    }
    let catalog = crate::fields::repo::catalog(conn).await?;
    let clock = *conn.clock();
    let added = subject(job, "Added by");
    let changed = subject(job, "Changed by");
    let mut last = 0i64;
    let mut batches = 0;
    let (mut written, mut next_refresh) = (0i64, FIRST_REFRESH);
    loop {
        if worker.dies_after.is_some_and(|n| batches >= n) {
            return Ok(());
        }
        batches += 1;
        if written >= next_refresh {
            refresh(conn, &LOOKED_UP_TABLES).await;
            next_refresh *= 2;
        }
        let rows = repo::rows_to_write(conn, job.id, last, WRITE_BATCH).await?;
        written += rows.len() as i64;
        let Some(end) = rows.last().map(|r| r.row) else { break };
        last = end;
        let beat = conn
            .contacts_tx(async |c: &mut DbConn| {
                let beat = repo::heartbeat(c, job.id, &worker.name).await?;
                if beat != Heartbeat::Carry {
                    return Ok(beat);
                }
                crate::fields::repo::unchanged(c, &catalog).await?;
                let at = now();
                let mut counts = Counts::default();
                let creates: Vec<&WorkRow> = rows.iter().filter(|r| r.outcome == Outcome::Create).collect();
                let mut written = write_creates(c, &catalog, &clock, actor, &creates, at, &added).await?;
                let updates: Vec<&WorkRow> = rows.iter().filter(|r| r.outcome != Outcome::Create).collect();
                written.extend(write_updates(c, &catalog, &clock, actor, &updates, at, &changed).await?);
                repo::mark_written(c, job.id, &written).await?;
                for (_, result, ..) in &written {
                    counts.rows_done += 1;
                    match *result {
                        "created" => counts.created += 1,
                        "updated" => counts.updated += 1,
                        _ => counts.changed += 1,
                    }
                }
                repo::add_counts(c, job.id, counts).await?;
                Ok::<_, diesel::result::Error>(Heartbeat::Carry)
            })
            .await;
        match beat {
            Ok(Heartbeat::Carry) => {}
            Ok(Heartbeat::Lost) => return Ok(()),
            Ok(Heartbeat::Cancel) => return take_back(conn, job, worker).await,
            Err(err) if crate::fields::repo::changed_error(&err).is_some() => {
                return Err(DbError::Query(diesel::result::Error::QueryBuilderError(
                    "the contact fields were changed while the import ran".into(),
                )))
            }
            Err(err) => return Err(err.into()),
        }
    }
    refresh(conn, &WRITTEN_TABLES).await;
    let message =
        if resumed { "The server carrying this import stopped; another server finished it." } else { "" };
    conn.write_tx(async |c: &mut DbConn| {
        // Every contact the import created, updated or found unchanged joins the segment chosen.
        if let Some(segment) = job.settings.segment_id {
            let ids = repo::contacts_of(c, job.id).await?;
            crate::segments::repo::add_imported(c, segment, job.id, job.run_by.or(job.created_by), &ids)
                .await?;
        }
        repo::finish(c, job.id, &worker.name, ImportState::Done, message).await
    })
    .await?;
    Ok(())
}

/// Who holds the emails and unique extra values a batch is about to write: the contacts found,
/// with one query per kind for the whole batch.
struct Holders {
    emails: std::collections::HashMap<String, i64>,
    unique: std::collections::HashMap<(i64, String), i64>,
}

impl Holders {
    async fn of(
        c: &mut DbConn,
        catalog: &FieldCatalog,
        inputs: &[(&ContactInput, &Parsed)],
    ) -> diesel::QueryResult<Self> {
        use crate::db::schema::{contact_field_values, contacts};
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let emails: Vec<String> =
            inputs.iter().map(|(i, _)| i.email.clone()).filter(|e| !e.is_empty()).collect();
        let mut holders = Holders { emails: Default::default(), unique: Default::default() };
        for chunk in emails.chunks(500) {
            let found: Vec<(Option<String>, i64)> = with_db!(c, c => contacts::table
                .filter(contacts::email.eq_any(chunk))
                .select((contacts::email, contacts::id))
                .load(c)
                .await)?;
            holders.emails.extend(found.into_iter().filter_map(|(e, id)| e.map(|e| (e, id))));
        }
        for def in catalog.fields.iter().filter(|f| f.unique) {
            let keys: Vec<String> = inputs
                .iter()
                .filter_map(|(_, parsed)| parsed.iter().find(|(f, _)| *f == def.id))
                .filter_map(|(_, stored)| stored.iter().next().map(|s| s.key.clone()))
                .collect();
            for chunk in keys.chunks(500) {
                let found: Vec<(String, i64)> = with_db!(c, c => contact_field_values::table
                    .filter(contact_field_values::field_id.eq(def.id).and(contact_field_values::value_key.eq_any(chunk)))
                    .select((contact_field_values::value_key, contact_field_values::contact_id))
                    .load(c)
                    .await)?;
                holders.unique.extend(found.into_iter().map(|(k, id)| ((def.id, k), id)));
            }
        }
        Ok(holders)
    }

    /// What another contact than `me` holds of the input's values: "email", or a unique
    /// field's label.
    fn clash(
        &self,
        catalog: &FieldCatalog,
        me: Option<i64>,
        input: &ContactInput,
        parsed: &Parsed,
    ) -> Option<String> {
        let other = |holder: Option<&i64>| holder.is_some_and(|h| Some(*h) != me);
        if !input.email.is_empty() && other(self.emails.get(&input.email)) {
            return Some("email".to_owned());
        }
        parsed.iter().find_map(|(field, stored)| {
            let def = catalog.fields.iter().find(|f| f.id == *field && f.unique)?;
            let key = stored.iter().next()?.key.clone();
            other(self.unique.get(&(def.id, key))).then(|| def.label.clone())
        })
    }
}

/// Writes a batch's new contacts together, inside the batch's transaction. A row whose email or
/// unique value another contact took after the dry run is left out, and says so.
async fn write_creates(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    clock: &crate::clock::Clock,
    actor: i64,
    rows: &[&WorkRow],
    at: chrono::NaiveDateTime,
    added: &str,
) -> diesel::QueryResult<Vec<Written>> {
    let mut out: Vec<Written> = Vec::new();
    let mut ready: Vec<(&WorkRow, &ContactInput, Parsed)> = Vec::new();
    for row in rows {
        let Some(after) = row.after.as_ref() else {
            out.push((row.row, "changed", None, None, "Nothing was planned for this row.".to_owned()));
            continue;
        };
        match crate::fields::repo::read_input(catalog, &after.extra, &BTreeMap::new(), true, clock) {
            Ok(parsed) => ready.push((row, after, parsed)),
            Err(_) => out.push((row.row, "changed", None, None, CHANGED_SINCE.to_owned())),
        }
    }
    // Emails and unique values taken since the dry run: one query for the batch, per kind.
    let wanted: Vec<(&ContactInput, &Parsed)> = ready.iter().map(|(_, a, p)| (*a, p)).collect();
    let holders = Holders::of(c, catalog, &wanted).await?;
    let mut writes: Vec<(&WorkRow, &ContactInput, Parsed)> = Vec::new();
    for (row, after, parsed) in ready {
        if let Some(what) = holders.clash(catalog, None, after, &parsed) {
            let why = format!("Another contact got this {what} after the dry run, so the row was left out.");
            out.push((row.row, "changed", None, None, why));
            continue;
        }
        writes.push((row, after, parsed));
    }
    let new: Vec<(&ContactInput, &Parsed)> =
        writes.iter().map(|(_, after, parsed)| (*after, parsed)).collect();
    let ids = crate::contacts::repo::insert_many(c, catalog, actor, &new, at, added).await?;
    for ((row, ..), id) in writes.iter().zip(ids) {
        out.push((row.row, "created", Some(id), Some(1), String::new()));
    }
    Ok(out)
}

const CHANGED_SINCE: &str = "Changed by someone after the dry run, so it was left as it is.";

/// Writes a batch's updates together, inside the batch's transaction: each contact only if it is
/// still at the version the dry run read, and only if no other contact took its email or unique
/// value since (checked with one query per batch).
#[allow(clippy::too_many_arguments)]
async fn write_updates(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    clock: &crate::clock::Clock,
    actor: i64,
    rows: &[&WorkRow],
    at: chrono::NaiveDateTime,
    changed: &str,
) -> diesel::QueryResult<Vec<Written>> {
    let mut out: Vec<Written> = Vec::new();
    let mut ready: Vec<(&WorkRow, i64, i64, ContactInput, Parsed)> = Vec::new();
    for row in rows {
        let (Some(after), Some(id), Some(version)) =
            (row.after.as_ref(), row.contact_id, row.contact_version)
        else {
            out.push((
                row.row,
                "changed",
                row.contact_id,
                None,
                "Nothing was planned for this row.".to_owned(),
            ));
            continue;
        };
        let input = plan::complete(catalog, after);
        let held = row.before.as_ref().map(|b| held_values(catalog, b)).unwrap_or_default();
        match crate::fields::repo::read_input(catalog, &input.extra, &held, false, clock) {
            Ok(parsed) => ready.push((row, id, version, input, parsed)),
            Err(_) => out.push((row.row, "changed", Some(id), None, CHANGED_SINCE.to_owned())),
        }
    }
    let wanted: Vec<(&ContactInput, &Parsed)> = ready.iter().map(|r| (&r.3, &r.4)).collect();
    let holders = Holders::of(c, catalog, &wanted).await?;
    let mut writes: Vec<(&WorkRow, i64, i64, ContactInput, Parsed)> = Vec::new();
    for (row, id, version, input, parsed) in ready {
        if let Some(what) = holders.clash(catalog, Some(id), &input, &parsed) {
            let why = format!("Another contact got this {what} after the dry run, so the row was left out.");
            out.push((row.row, "changed", Some(id), None, why));
            continue;
        }
        writes.push((row, id, version, input, parsed));
    }
    let changes: Vec<crate::contacts::repo::Overwrite<'_>> =
        writes.iter().map(|(_, id, version, input, parsed)| (*id, *version, input, parsed)).collect();
    let versions = crate::contacts::repo::overwrite_many(c, catalog, actor, &changes, at, changed).await?;
    for ((row, id, ..), version) in writes.iter().zip(versions) {
        out.push(match version {
            Some(v) => (row.row, "updated", Some(*id), Some(v), String::new()),
            None => (row.row, "changed", Some(*id), None, CHANGED_SINCE.to_owned()),
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------------------ undo

/// Takes back what the run wrote, newest row first, a batch per transaction: an undo asked for
/// (`Undoing`), or a cancelled or failed run (`Running`, cancel requested). Each row says what
/// happened: a created contact is deleted unless someone changed it since; an updated one gets
/// back, field by field, the values nobody changed since.
async fn take_back(conn: &mut DbConn, job: &Job, worker: &Worker) -> Result<(), DbError> {
    let undoing = job.state == ImportState::Undoing;
    let actor = job.run_by.or(job.created_by);
    let remaining = repo::count_rows(conn, job.id, true).await?;
    conn.write_tx(async |c: &mut DbConn| {
        use crate::db::schema::imports;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        with_db!(c, c => diesel::update(imports::table.find(job.id))
            .set((imports::rows_done.eq(0), imports::total_rows.eq(remaining)))
            .execute(c)
            .await)
    })
    .await?;
    refresh(conn, &["import_rows"]).await;
    let catalog = crate::fields::repo::catalog(conn).await?;
    let lookups = Lookups::load(conn).await?;
    let subject = subject(job, "Undone:");
    let mut first = i64::MAX;
    let mut batches = 0;
    loop {
        if worker.dies_after.is_some_and(|n| batches >= n) {
            return Ok(());
        }
        batches += 1;
        let rows = repo::rows_to_undo(conn, job.id, first, WRITE_BATCH).await?;
        let Some(end) = rows.last().map(|r| r.row) else { break };
        first = end;
        let beat = conn
            .contacts_tx(async |c: &mut DbConn| {
                let beat = repo::heartbeat(c, job.id, &worker.name).await?;
                if beat == Heartbeat::Lost {
                    return Ok(beat);
                }
                let at = now();
                let undone = undo_batch(c, &catalog, &lookups, actor, &rows, at, &subject).await?;
                repo::mark_undone(c, job.id, &undone).await?;
                repo::add_counts(c, job.id, Counts { rows_done: rows.len() as i64, ..Counts::default() })
                    .await?;
                Ok::<_, diesel::result::Error>(Heartbeat::Carry)
            })
            .await?;
        if beat == Heartbeat::Lost {
            return Ok(());
        }
    }
    refresh(conn, &WRITTEN_TABLES).await;
    let message: String = {
        use crate::db::schema::imports;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        with_db!(conn, c => imports::table.find(job.id).select(imports::message).first(c).await)?
    };
    let (state, message) = match (undoing, message.is_empty()) {
        (true, _) => (ImportState::Undone, String::new()),
        (false, true) => (
            ImportState::Cancelled,
            "Cancelled by request; every contact it wrote was taken back.".to_owned(),
        ),
        (false, false) => (ImportState::Failed, message),
    };
    conn.write_tx(async |c: &mut DbConn| {
        // The segment members the run added go with it.
        crate::segments::repo::remove_imported(c, job.id).await?;
        repo::finish(c, job.id, &worker.name, state, &message).await
    })
    .await?;
    Ok(())
}

/// Takes back a batch of rows, inside the batch's transaction; says for each row what was done.
/// The contacts are read at once; the created ones nobody changed since are deleted together,
/// the updated ones get back together what nobody changed since.
async fn undo_batch(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    lookups: &Lookups,
    actor: Option<i64>,
    rows: &[WorkRow],
    at: chrono::NaiveDateTime,
    subject: &str,
) -> diesel::QueryResult<Vec<(i64, String)>> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.contact_id).collect();
    let mut current: std::collections::HashMap<i64, crate::contacts::Contact> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let found = crate::contacts::repo::get_many(c, chunk).await.map_err(|e| match e {
            DbError::Query(e) => e,
            other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
        })?;
        current.extend(found.into_iter().map(|contact| (contact.id, contact)));
    }
    // Created contacts someone logged a call, note or task on since: deleting them would take
    // those along (the only other entries are the import's own and the history's).
    let created: Vec<i64> =
        rows.iter().filter(|r| r.result == "created").filter_map(|r| r.contact_id).collect();
    let mut used: std::collections::HashSet<i64> = std::collections::HashSet::new();
    for chunk in created.chunks(500) {
        use crate::db::schema::activities;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let found: Vec<i64> = with_db!(c, c => activities::table
            .filter(activities::contact_id.eq_any(chunk).and(activities::kind.ne("change")))
            .select(activities::contact_id)
            .load(c)
            .await)?;
        used.extend(found);
    }
    let mut out: Vec<(i64, String)> = Vec::new();
    let mut doomed: Vec<i64> = Vec::new();
    // Restorations: row, contact, its version now, the input to write, its extra values, and
    // the fields kept because someone changed them.
    let mut restores: Vec<Restore> = Vec::new();
    for row in rows {
        let Some(id) = row.contact_id else {
            out.push((row.row, "nothing to take back".to_owned()));
            continue;
        };
        let Some(contact) = current.remove(&id) else {
            out.push((row.row, "already deleted".to_owned()));
            continue;
        };
        if row.result == "created" {
            if Some(contact.version) != row.after_version {
                out.push((row.row, "kept: changed by someone after the import".to_owned()));
            } else if contact.portal.is_some() {
                out.push((row.row, "kept: it was invited to the portal after the import".to_owned()));
            } else if used.contains(&id) {
                out.push((row.row, "kept: someone logged activities on it after the import".to_owned()));
            } else {
                doomed.push(id);
                out.push((row.row, "deleted".to_owned()));
            }
            continue;
        }
        let (Some(before), Some(after)) = (row.before.as_ref(), row.after.as_ref()) else {
            out.push((row.row, "nothing to take back".to_owned()));
            continue;
        };
        // Tags in their spelling now (a tag the import created is spelled as its first row had it).
        let (before, after) =
            (&plan::normalise(before.clone(), lookups), &plan::normalise(after.clone(), lookups));
        let version = contact.version;
        let now_input = plan::normalise(contact.input, lookups);
        let mut restored = now_input.clone();
        let mut kept: Vec<String> = Vec::new();
        let mut put_back = 0;
        for slot in plan::changed_slots(before, after, catalog) {
            if plan::slot_values(&now_input, &slot) == plan::slot_values(after, &slot) {
                plan::set_slot(&mut restored, &slot, plan::slot_values(before, &slot));
                put_back += 1;
            } else {
                kept.push(plan::slot_label(&slot, catalog));
            }
        }
        if put_back == 0 {
            out.push((
                row.row,
                format!("not restored: {} changed by someone after the import", kept.join(", ")),
            ));
            continue;
        }
        let input = plan::complete(catalog, &restored);
        let held = held_values(catalog, &now_input);
        match crate::fields::repo::read_input(catalog, &input.extra, &held, false, &lookups.clock) {
            Ok(parsed) => restores.push((row.row, id, version, input, parsed, kept)),
            Err(_) => out.push((row.row, "not restored: the contact fields changed since".to_owned())),
        }
    }
    crate::contacts::repo::delete_in_tx(c, &doomed).await?;
    let restores = restorable(c, catalog, lookups, restores, &mut out).await?;
    if restores.is_empty() {
        return Ok(out);
    }
    let Some(actor) = actor else {
        out.extend(restores.iter().map(|r| (r.0, "not restored: the importer's account is gone".to_owned())));
        return Ok(out);
    };
    let changes: Vec<crate::contacts::repo::Overwrite<'_>> =
        restores.iter().map(|(_, id, version, input, parsed, _)| (*id, *version, input, parsed)).collect();
    let versions = crate::contacts::repo::overwrite_many(c, catalog, actor, &changes, at, subject).await?;
    for ((row, .., kept), version) in restores.iter().zip(versions) {
        out.push((
            *row,
            match (version, kept.is_empty()) {
                (None, _) => "not restored: changed while the undo ran".to_owned(),
                (Some(_), true) => "restored".to_owned(),
                (Some(_), false) => {
                    format!("partly restored: {} changed by someone after the import", kept.join(", "))
                }
            },
        ));
    }
    Ok(out)
}

/// A restoration: row, contact, its version now, the input to write, its extra values, and the
/// fields kept because someone changed them.
type Restore = (i64, i64, i64, ContactInput, Parsed, Vec<String>);

/// The restorations that can be written: one whose email or unique value another contact holds
/// now, or whose status, traffic source, owner or service is gone, is not restored (and says
/// why) instead of failing the whole batch, and with it every retry.
async fn restorable(
    c: &mut DbConn,
    catalog: &FieldCatalog,
    lookups: &Lookups,
    restores: Vec<Restore>,
    out: &mut Vec<(i64, String)>,
) -> diesel::QueryResult<Vec<Restore>> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let wanted: Vec<(&ContactInput, &Parsed)> = restores.iter().map(|r| (&r.3, &r.4)).collect();
    let holders = Holders::of(c, catalog, &wanted).await?;
    let owners: Vec<i64> = restores.iter().filter_map(|r| r.3.owner_id).collect();
    let staff: std::collections::HashSet<i64> = with_db!(c, c => users::table
        .filter(users::id.eq_any(&owners).and(users::kind.eq("staff")))
        .select(users::id)
        .load::<i64>(c)
        .await)?
    .into_iter()
    .collect();
    let choices = &lookups.choices;
    let known = |list: &[crate::contacts::Choice], id: Option<i64>| {
        id.is_none_or(|id| list.iter().any(|c| c.id == id))
    };
    let mut ok = Vec::new();
    for r in restores {
        let (row, id, input) = (r.0, r.1, &r.3);
        let why = if let Some(what) = holders.clash(catalog, Some(id), input, &r.4) {
            Some(format!("not restored: another contact has its old {what} now"))
        } else if !known(&choices.statuses, input.status_id) {
            Some("not restored: its old status no longer exists".to_owned())
        } else if !known(&choices.traffic_sources, input.traffic_source_id) {
            Some("not restored: its old traffic source no longer exists".to_owned())
        } else if input.owner_id.is_some_and(|o| !staff.contains(&o)) {
            Some("not restored: its old owner no longer exists".to_owned())
        } else if input.service_ids.iter().any(|s| !choices.services.iter().any(|c| c.id == *s)) {
            Some("not restored: one of its old services no longer exists".to_owned())
        } else {
            None
        };
        match why {
            Some(why) => out.push((row, why)),
            None => ok.push(r),
        }
    }
    Ok(ok)
}
