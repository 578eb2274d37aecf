//! Imports in the database, for both backends: the uploaded file in chunks, the job's state and
//! who carries it, the rows of its report.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::plan::PlannedRow;
use super::{FieldDiff, ImportSettings, ImportState, ImportSummary, Outcome, RowReport};
use crate::clock::now;
use crate::contacts::ContactInput;
use crate::db::schema::{import_chunks, import_rows, imports, users};
use crate::db::{batch, with_db, DbConn, DbError};
use crate::error::AppError;

/// The size of the pieces a file is stored in.
const CHUNK: usize = 1024 * 1024;

/// How long a server may go without a heartbeat before another one takes its job over.
pub const LEASE_SECONDS: i64 = 30;

#[derive(Queryable, Selectable)]
#[diesel(table_name = imports)]
struct ImportRecord {
    id: i64,
    created_by_name: String,
    created_at: NaiveDateTime,
    file_name: String,
    file_size: i64,
    settings: String,
    state: String,
    total_rows: i64,
    rows_done: i64,
    created_count: i64,
    updated_count: i64,
    unchanged_count: i64,
    skipped_count: i64,
    error_count: i64,
    changed_count: i64,
    cancel_requested: bool,
    started_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    message: String,
    version: i64,
}

/// An import as a job reads it.
pub struct Job {
    pub id: i64,
    pub file_name: String,
    pub file_size: i64,
    pub file_sha256: String,
    pub settings: ImportSettings,
    pub state: ImportState,
    pub cancel_requested: bool,
    pub created_by: Option<i64>,
    /// Who started the run or the undo: its history entries name them.
    pub run_by: Option<i64>,
}

fn settings_of(json: &str) -> Result<ImportSettings, DbError> {
    serde_json::from_str(json)
        .map_err(|e| DbError::Query(diesel::result::Error::DeserializationError(Box::new(e))))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// An uploaded file on this server's disk: its name on the person's computer, where it is, its
/// size and SHA-256.
#[derive(Clone, Copy)]
pub struct UploadedFile<'a> {
    pub name: &'a str,
    pub path: &'a Path,
    pub size: u64,
    pub sha256: &'a str,
}

/// Stores an uploaded file as a new import waiting for its mapping; returns its id. The file
/// goes in chunk by chunk, each in its own short transaction, while the import is `uploading`
/// (hidden); it becomes `uploaded` once the last chunk is in.
pub async fn create(
    conn: &mut DbConn,
    actor_id: i64,
    file: &UploadedFile<'_>,
    settings: &ImportSettings,
    preview: &[Vec<String>],
) -> Result<i64, AppError> {
    let UploadedFile { name: file_name, path, size, sha256 } = *file;
    let author: String =
        with_db!(conn, c => users::table.find(actor_id).select(users::display_name).first(c).await)?;
    let at = now();
    let file_name: String = file_name.replace('\0', "").chars().take(255).collect();
    let id: i64 = conn
        .write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::insert_into(imports::table)
                .values((
                    imports::created_by.eq(Some(actor_id)),
                    imports::created_by_name.eq(&author),
                    imports::created_at.eq(at),
                    imports::file_name.eq(&file_name),
                    imports::file_size.eq(size as i64),
                    imports::file_sha256.eq(sha256),
                    imports::settings.eq(json(settings)),
                    imports::preview.eq(json(&preview)),
                    imports::state.eq("uploading"),
                ))
                .returning(imports::id)
                .get_result(c)
                .await)
        })
        .await?;
    let mut file = tokio::fs::File::open(path).await.map_err(|_| AppError::Internal)?;
    let mut seq = 0i32;
    loop {
        let mut buf = Vec::with_capacity(CHUNK);
        let n = (&mut file).take(CHUNK as u64).read_to_end(&mut buf).await.map_err(|_| AppError::Internal)?;
        if n == 0 {
            break;
        }
        conn.write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::insert_into(import_chunks::table)
                .values((import_chunks::import_id.eq(id), import_chunks::seq.eq(seq), import_chunks::data.eq(&buf)))
                .execute(c)
                .await)
        })
        .await?;
        seq += 1;
    }
    set_state(conn, id, "uploading", ImportState::Uploaded).await?;
    Ok(id)
}

async fn set_state(conn: &mut DbConn, id: i64, from: &str, to: ImportState) -> Result<bool, DbError> {
    let n = conn
        .write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::update(imports::table.filter(imports::id.eq(id).and(imports::state.eq(from))))
                .set(imports::state.eq(to.key()))
                .execute(c)
                .await)
        })
        .await?;
    Ok(n == 1)
}

/// The import's file on this server's disk (in `dir`), written from its chunks; the caller
/// removes it when done.
pub async fn fetch_file(conn: &mut DbConn, job: &Job, dir: &Path) -> Result<PathBuf, DbError> {
    let path =
        dir.join(format!("import-{}-{}.data", job.id, &job.file_sha256[..job.file_sha256.len().min(16)]));
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.len() == job.file_size as u64) {
        return Ok(path);
    }
    let io = |e: std::io::Error| DbError::Unreachable(format!("writing the import's file: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    // Two jobs writing the same file (two databases, two test runs) never share a partial one.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let partial = dir.join(format!("import-{}-{}-{nanos}.partial", job.id, std::process::id()));
    let mut out = tokio::fs::File::create(&partial).await.map_err(io)?;
    let mut seq = 0i32;
    loop {
        let chunk: Option<Vec<u8>> = with_db!(conn, c => import_chunks::table
            .filter(import_chunks::import_id.eq(job.id).and(import_chunks::seq.eq(seq)))
            .select(import_chunks::data)
            .first(c)
            .await
            .optional())?;
        let Some(chunk) = chunk else { break };
        out.write_all(&chunk).await.map_err(io)?;
        seq += 1;
    }
    out.flush().await.map_err(io)?;
    drop(out);
    tokio::fs::rename(&partial, &path).await.map_err(io)?;
    Ok(path)
}

/// The job's record, for the server carrying it.
pub async fn job(conn: &mut DbConn, id: i64) -> Result<Option<Job>, DbError> {
    type JobRow = (i64, String, i64, String, String, String, bool, Option<i64>, Option<i64>);
    let row: Option<JobRow> = with_db!(conn, c => imports::table
        .find(id)
        .select((imports::id, imports::file_name, imports::file_size, imports::file_sha256, imports::settings, imports::state, imports::cancel_requested, imports::created_by, imports::run_by))
        .first(c)
        .await
        .optional())?;
    let Some((id, file_name, file_size, file_sha256, settings, state, cancel_requested, created_by, run_by)) =
        row
    else {
        return Ok(None);
    };
    let Some(state) = ImportState::parse(&state) else { return Ok(None) };
    Ok(Some(Job {
        id,
        file_name,
        file_size,
        file_sha256,
        settings: settings_of(&settings)?,
        state,
        cancel_requested,
        created_by,
        run_by,
    }))
}

fn summary_of(r: ImportRecord, clock: &crate::clock::Clock) -> Result<ImportSummary, DbError> {
    let end = r.finished_at.unwrap_or_else(now);
    Ok(ImportSummary {
        id: r.id,
        file_name: r.file_name,
        file_size: r.file_size,
        created_by: r.created_by_name,
        created_at: clock.stamp(r.created_at),
        state: ImportState::parse(&r.state).unwrap_or(ImportState::Failed),
        settings: settings_of(&r.settings)?,
        total_rows: r.total_rows,
        rows_done: r.rows_done,
        created: r.created_count,
        updated: r.updated_count,
        unchanged: r.unchanged_count,
        skipped: r.skipped_count,
        errors: r.error_count,
        changed: r.changed_count,
        cancel_requested: r.cancel_requested,
        started_at: r.started_at.map(|t| clock.stamp(t)),
        finished_at: r.finished_at.map(|t| clock.stamp(t)),
        seconds: r.started_at.map_or(0, |s| (end - s).num_seconds().max(0)),
        message: r.message,
        version: r.version,
    })
}

/// One import as its page shows it.
pub async fn summary(conn: &mut DbConn, id: i64) -> Result<Option<ImportSummary>, DbError> {
    let record: Option<ImportRecord> = with_db!(conn, c => imports::table
        .find(id)
        .filter(imports::state.ne("uploading"))
        .select(ImportRecord::as_select())
        .first(c)
        .await
        .optional())?;
    let clock = conn.clock();
    record.map(|r| summary_of(r, &clock)).transpose()
}

/// The first rows of the import's file, as its settings read them.
pub async fn preview(conn: &mut DbConn, id: i64) -> Result<Vec<Vec<String>>, DbError> {
    let text: String = with_db!(conn, c => imports::table.find(id).select(imports::preview).first(c).await)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// The import history, newest first.
pub async fn history(
    conn: &mut DbConn,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ImportSummary>, i64), DbError> {
    let records: Vec<ImportRecord> = with_db!(conn, c => imports::table
        .filter(imports::state.ne("uploading"))
        .order(imports::id.desc())
        .limit(limit)
        .offset(offset)
        .select(ImportRecord::as_select())
        .load(c)
        .await)?;
    let total: i64 = with_db!(conn, c => imports::table.filter(imports::state.ne("uploading")).count().get_result(c).await)?;
    let clock = conn.clock();
    Ok((records.into_iter().map(|r| summary_of(r, &clock)).collect::<Result<_, _>>()?, total))
}

const NOT_NOW: &str =
    "This import has moved on since the page was loaded. Reload the page to see where it is.";

/// Saves the person's choices for an import waiting for them (or whose dry run is done, which
/// then has to run again). `version` is the one the page read.
pub async fn save_settings(
    conn: &mut DbConn,
    id: i64,
    version: i64,
    settings: &ImportSettings,
    preview: Option<&[Vec<String>]>,
) -> Result<(), AppError> {
    let text = json(settings);
    conn.write_tx(async |c: &mut DbConn| {
        if let Some(preview) = preview {
            with_db!(c, c => diesel::update(imports::table.filter(imports::id.eq(id).and(imports::version.eq(version))))
                .set(imports::preview.eq(json(&preview)))
                .execute(c)
                .await)?;
        }
        let n = with_db!(c, c => diesel::update(imports::table.filter(
            imports::id.eq(id)
                .and(imports::version.eq(version))
                .and(imports::state.eq_any([ImportState::Uploaded.key(), ImportState::Checked.key()])),
        ))
        .set((imports::settings.eq(&text), imports::state.eq(ImportState::Uploaded.key()), imports::version.eq(imports::version + 1)))
        .execute(c)
        .await)?;
        if n == 1 {
            clear_rows(c, id).await?;
        }
        Ok::<_, diesel::result::Error>(n)
    })
    .await
    .map_err(AppError::from)
    .and_then(|n| if n == 1 { Ok(()) } else { Err(AppError::Conflict(NOT_NOW.to_owned())) })
}

async fn clear_rows(c: &mut DbConn, id: i64) -> QueryResult<()> {
    with_db!(c, c => diesel::delete(import_rows::table.filter(import_rows::import_id.eq(id))).execute(c).await)?;
    with_db!(c, c => diesel::update(imports::table.find(id))
        .set((imports::total_rows.eq(0), imports::rows_done.eq(0), imports::message.eq("")))
        .execute(c)
        .await)?;
    zero_counts(c, id).await
}

/// Every count of the report back to zero, inside the caller's transaction.
async fn zero_counts(c: &mut DbConn, id: i64) -> QueryResult<()> {
    with_db!(c, c => diesel::update(imports::table.find(id))
        .set((
            imports::created_count.eq(0),
            imports::updated_count.eq(0),
            imports::unchanged_count.eq(0),
            imports::skipped_count.eq(0),
            imports::error_count.eq(0),
            imports::changed_count.eq(0),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Moves an import from one of `from` to `to`, for a server to pick up (`version` as read by
/// the page; the job's own moves pass `None`).
pub async fn request(
    conn: &mut DbConn,
    id: i64,
    version: Option<i64>,
    from: &[ImportState],
    to: ImportState,
) -> Result<(), AppError> {
    request_by(conn, id, version, from, to, None).await
}

/// [`request`] by user `by`, whom the run's or the undo's history entries then name.
pub async fn request_by(
    conn: &mut DbConn,
    id: i64,
    version: Option<i64>,
    from: &[ImportState],
    to: ImportState,
    by: Option<i64>,
) -> Result<(), AppError> {
    let from: Vec<&str> = from.iter().map(|s| s.key()).collect();
    let n = conn
        .write_tx(async |c: &mut DbConn| {
            let target = imports::table.filter(imports::id.eq(id).and(imports::state.eq_any(&from)));
            let n = match version {
                Some(v) => with_db!(c, c => diesel::update(target.filter(imports::version.eq(v)))
                    .set((imports::state.eq(to.key()), imports::worker.eq(None::<String>), imports::cancel_requested.eq(false), imports::version.eq(imports::version + 1)))
                    .execute(c)
                    .await)?,
                None => with_db!(c, c => diesel::update(target)
                    .set((imports::state.eq(to.key()), imports::worker.eq(None::<String>), imports::cancel_requested.eq(false), imports::version.eq(imports::version + 1)))
                    .execute(c)
                    .await)?,
            };
            if n == 1 && to == ImportState::Checking {
                clear_rows(c, id).await?;
            }
            if n == 1 && by.is_some() {
                with_db!(c, c => diesel::update(imports::table.find(id)).set(imports::run_by.eq(by)).execute(c).await)?;
            }
            Ok::<_, diesel::result::Error>(n)
        })
        .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict(NOT_NOW.to_owned()))
    }
}

/// Asks the server carrying a busy import to stop it (and take back what it wrote).
pub async fn request_cancel(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
    let busy = [ImportState::Checking.key(), ImportState::Running.key()];
    let n = conn
        .write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::update(imports::table.filter(imports::id.eq(id).and(imports::state.eq_any(busy))))
                .set((imports::cancel_requested.eq(true), imports::version.eq(imports::version + 1)))
                .execute(c)
                .await)
        })
        .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict("Only a dry run or an import under way can be cancelled.".to_owned()))
    }
}

/// Takes a job nobody carries (newly asked for, or whose server stopped: no heartbeat for
/// [`LEASE_SECONDS`]) for `worker`; returns its id.
pub async fn claim(conn: &mut DbConn, worker: &str) -> Result<Option<i64>, DbError> {
    let stale = now() - chrono::Duration::seconds(LEASE_SECONDS);
    let busy = [ImportState::Checking.key(), ImportState::Running.key(), ImportState::Undoing.key()];
    let free = || imports::worker.is_null().or(imports::heartbeat_at.lt(stale));
    let candidates: Vec<i64> = with_db!(conn, c => imports::table
        .filter(imports::state.eq_any(busy).and(free()))
        .order(imports::id)
        .select(imports::id)
        .limit(5)
        .load(c)
        .await)?;
    for id in candidates {
        let n = conn
            .write_tx(async |c: &mut DbConn| {
                with_db!(c, c => diesel::update(imports::table.filter(imports::id.eq(id).and(imports::state.eq_any(busy)).and(free())))
                    .set((imports::worker.eq(worker), imports::heartbeat_at.eq(now())))
                    .execute(c)
                    .await)
            })
            .await?;
        if n == 1 {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Says the job is still carried by `worker`, inside the caller's transaction; false when
/// another server took it over (this one must stop) or it was asked to cancel.
pub async fn heartbeat(c: &mut DbConn, id: i64, worker: &str) -> QueryResult<Heartbeat> {
    let n = with_db!(c, c => diesel::update(imports::table.filter(imports::id.eq(id).and(imports::worker.eq(worker))))
        .set(imports::heartbeat_at.eq(now()))
        .execute(c)
        .await)?;
    if n == 0 {
        return Ok(Heartbeat::Lost);
    }
    let cancel: bool =
        with_db!(c, c => imports::table.find(id).select(imports::cancel_requested).first(c).await)?;
    Ok(if cancel { Heartbeat::Cancel } else { Heartbeat::Carry })
}

/// Whether `worker` still carries the job (and says so), inside the caller's transaction.
pub async fn owned(c: &mut DbConn, id: i64, worker: &str) -> QueryResult<bool> {
    Ok(heartbeat(c, id, worker).await? != Heartbeat::Lost)
}

/// Marks a run that cannot go on: what it wrote is to be taken back, and `message` says why;
/// inside the caller's transaction, by the server carrying it.
pub async fn give_up(c: &mut DbConn, id: i64, worker: &str, message: &str) -> QueryResult<bool> {
    let n = with_db!(c, c => diesel::update(imports::table.filter(imports::id.eq(id).and(imports::worker.eq(worker))))
        .set((imports::cancel_requested.eq(true), imports::message.eq(message)))
        .execute(c)
        .await)?;
    Ok(n == 1)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    Carry,
    Cancel,
    Lost,
}

/// Progress and counts, inside the caller's transaction.
#[derive(Default, Clone, Copy, Debug)]
pub struct Counts {
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub skipped: i64,
    pub errors: i64,
    pub changed: i64,
}

impl Counts {
    pub fn add(&mut self, outcome: Outcome) {
        self.rows_done += 1;
        match outcome {
            Outcome::Create => self.created += 1,
            Outcome::Update => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Skip => self.skipped += 1,
            Outcome::Error => self.errors += 1,
        }
    }
}

/// Adds to the job's counters, inside the caller's transaction.
pub async fn add_counts(c: &mut DbConn, id: i64, n: Counts) -> QueryResult<()> {
    with_db!(c, c => diesel::update(imports::table.find(id))
        .set((
            imports::rows_done.eq(imports::rows_done + n.rows_done),
            imports::created_count.eq(imports::created_count + n.created),
            imports::updated_count.eq(imports::updated_count + n.updated),
            imports::unchanged_count.eq(imports::unchanged_count + n.unchanged),
            imports::skipped_count.eq(imports::skipped_count + n.skipped),
            imports::error_count.eq(imports::error_count + n.errors),
            imports::changed_count.eq(imports::changed_count + n.changed),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Starts a phase: progress back to zero, the clock started (the counts of the dry run stay
/// until the run has its own: `reset_counts`).
pub async fn start_phase(
    c: &mut DbConn,
    id: i64,
    worker: &str,
    total: i64,
    reset_counts: bool,
) -> QueryResult<bool> {
    if !owned(c, id, worker).await? {
        return Ok(false);
    }
    with_db!(c, c => diesel::update(imports::table.find(id))
        .set((imports::rows_done.eq(0), imports::total_rows.eq(total), imports::started_at.eq(Some(now())), imports::finished_at.eq(None::<NaiveDateTime>)))
        .execute(c)
        .await)?;
    if reset_counts {
        zero_counts(c, id).await?;
    }
    Ok(true)
}

/// Ends the job in `state` with `message`, inside the caller's transaction; the worker lets go.
/// An import that is over (done, undone, cancelled, failed) no longer keeps its file: its
/// report holds what it did.
///
/// Only the server carrying the job (`worker`) may end it: one that lost its lease (it paused for
/// longer than [`LEASE_SECONDS`] and another took over) changes nothing.
pub async fn finish(
    c: &mut DbConn,
    id: i64,
    worker: &str,
    state: ImportState,
    message: &str,
) -> QueryResult<()> {
    if !owned(c, id, worker).await? {
        return Ok(());
    }
    if matches!(state, ImportState::Done | ImportState::Undone | ImportState::Cancelled | ImportState::Failed)
    {
        with_db!(c, c => diesel::delete(import_chunks::table.filter(import_chunks::import_id.eq(id))).execute(c).await)?;
    }
    with_db!(c, c => diesel::update(imports::table.find(id))
        .set((
            imports::state.eq(state.key()),
            imports::message.eq(message),
            imports::worker.eq(None::<String>),
            imports::cancel_requested.eq(false),
            imports::finished_at.eq(Some(now())),
            imports::version.eq(imports::version + 1),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Sets the job's total rows and message, inside the caller's transaction.
pub async fn set_total(c: &mut DbConn, id: i64, total: i64) -> QueryResult<()> {
    with_db!(c, c => diesel::update(imports::table.find(id)).set(imports::total_rows.eq(total)).execute(c).await)?;
    Ok(())
}

/// Writes the settings a job learnt (the fields' counter of its dry run), inside the caller's
/// transaction.
pub async fn store_settings(c: &mut DbConn, id: i64, settings: &ImportSettings) -> QueryResult<()> {
    with_db!(c, c => diesel::update(imports::table.find(id)).set(imports::settings.eq(json(settings))).execute(c).await)?;
    Ok(())
}

/// Writes a batch of the dry run's rows, inside the caller's transaction.
pub async fn insert_planned(c: &mut DbConn, id: i64, rows: &[PlannedRow]) -> QueryResult<()> {
    let values: Vec<batch::PlannedRow<'_>> = rows
        .iter()
        .map(|p| batch::PlannedRow {
            import_id: id,
            row_number: p.row as i64,
            outcome: p.outcome.key(),
            contact_id: p.contact_id,
            contact_version: p.contact_version,
            column_name: &p.column,
            message: &p.message,
            changes: json(&p.changes),
            before_input: p.before.as_ref().map(json),
            after_input: p.after.as_ref().map(json),
            cells: p.cells.as_ref().map(json),
        })
        .collect();
    batch::execute(c, &batch::INSERT_IMPORT_ROWS, &values).await?;
    Ok(())
}

/// A row the run writes or an undo takes back.
#[derive(Clone, Debug)]
pub struct WorkRow {
    pub row: i64,
    pub outcome: Outcome,
    pub contact_id: Option<i64>,
    pub contact_version: Option<i64>,
    pub before: Option<ContactInput>,
    pub after: Option<ContactInput>,
    pub result: String,
    pub after_version: Option<i64>,
}

type WorkTuple = (i64, String, Option<i64>, Option<i64>, Option<String>, Option<String>, String, Option<i64>);

fn work_row(t: WorkTuple) -> WorkRow {
    let input = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    WorkRow {
        row: t.0,
        outcome: Outcome::parse(&t.1).unwrap_or(Outcome::Error),
        contact_id: t.2,
        contact_version: t.3,
        before: input(t.4),
        after: input(t.5),
        result: t.6,
        after_version: t.7,
    }
}

/// The next rows to write (after row `after`), in file order.
pub async fn rows_to_write(
    conn: &mut DbConn,
    id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<WorkRow>, DbError> {
    let rows: Vec<WorkTuple> = with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id).and(import_rows::row_number.gt(after)))
        .filter(import_rows::outcome.eq_any([Outcome::Create.key(), Outcome::Update.key()]))
        .filter(import_rows::applied.eq(false))
        .order(import_rows::row_number)
        .limit(limit)
        .select((import_rows::row_number, import_rows::outcome, import_rows::contact_id, import_rows::contact_version, import_rows::before_input, import_rows::after_input, import_rows::result, import_rows::after_version))
        .load(c)
        .await)?;
    Ok(rows.into_iter().map(work_row).collect())
}

/// The next written rows to take back (before row `before`), last first.
pub async fn rows_to_undo(
    conn: &mut DbConn,
    id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<WorkRow>, DbError> {
    let rows: Vec<WorkTuple> = with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id).and(import_rows::row_number.lt(before)))
        .filter(import_rows::applied.eq(true))
        .filter(import_rows::result.eq_any(["created", "updated"]))
        .filter(import_rows::undo_result.eq(""))
        .order(import_rows::row_number.desc())
        .limit(limit)
        .select((import_rows::row_number, import_rows::outcome, import_rows::contact_id, import_rows::contact_version, import_rows::before_input, import_rows::after_input, import_rows::result, import_rows::after_version))
        .load(c)
        .await)?;
    Ok(rows.into_iter().map(work_row).collect())
}

/// How many rows a run will write, or an undo take back.
pub async fn count_rows(conn: &mut DbConn, id: i64, undo: bool) -> Result<i64, DbError> {
    let n = if undo {
        with_db!(conn, c => import_rows::table
            .filter(import_rows::import_id.eq(id).and(import_rows::applied.eq(true)))
            .filter(import_rows::result.eq_any(["created", "updated"]).and(import_rows::undo_result.eq("")))
            .count()
            .get_result(c)
            .await)?
    } else {
        with_db!(conn, c => import_rows::table
            .filter(import_rows::import_id.eq(id).and(import_rows::applied.eq(false)))
            .filter(import_rows::outcome.eq_any([Outcome::Create.key(), Outcome::Update.key()]))
            .count()
            .get_result(c)
            .await)?
    };
    Ok(n)
}

/// How many rows the run wrote already (a run that finds some was interrupted).
pub async fn written(conn: &mut DbConn, id: i64) -> Result<i64, DbError> {
    Ok(with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id).and(import_rows::applied.eq(true)))
        .count()
        .get_result(c)
        .await)?)
}

/// What the run did with one row: its number, the result, the contact, its version after, and
/// why it was left alone.
pub type Written = (i64, &'static str, Option<i64>, Option<i64>, String);

/// Records what the run did with a batch's rows, inside the batch's transaction.
pub async fn mark_written(c: &mut DbConn, id: i64, written: &[Written]) -> QueryResult<()> {
    let rows: Vec<batch::WrittenRow<'_>> = written
        .iter()
        .map(|(row, result, contact_id, after_version, message)| batch::WrittenRow {
            import_id: id,
            row_number: *row,
            result,
            contact_id: *contact_id,
            after_version: *after_version,
            message,
        })
        .collect();
    batch::execute(c, &batch::MARK_WRITTEN, &rows).await?;
    Ok(())
}

/// Records what an undo did with a batch's rows (row number, what was done), inside the
/// batch's transaction.
pub async fn mark_undone(c: &mut DbConn, id: i64, undone: &[(i64, String)]) -> QueryResult<()> {
    let rows: Vec<batch::UndoneRow<'_>> = undone
        .iter()
        .map(|(row, result)| batch::UndoneRow { import_id: id, row_number: *row, undo_result: result })
        .collect();
    batch::execute(c, &batch::MARK_UNDONE, &rows).await?;
    Ok(())
}

/// A page of the report, filtered by outcome; and how many rows match.
pub async fn report(
    conn: &mut DbConn,
    id: i64,
    outcome: Option<Outcome>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<RowReport>, i64), DbError> {
    type ReportTuple = (i64, String, Option<i64>, String, String, String, Option<String>, String, String);
    let outcomes: Vec<&str> = match outcome {
        Some(o) => vec![o.key()],
        None => Outcome::ALL.iter().map(|o| o.key()).collect(),
    };
    let rows: Vec<ReportTuple> = with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id).and(import_rows::outcome.eq_any(&outcomes)))
        .order(import_rows::row_number)
        .limit(limit)
        .offset(offset)
        .select((import_rows::row_number, import_rows::outcome, import_rows::contact_id, import_rows::column_name, import_rows::message, import_rows::changes, import_rows::after_input, import_rows::result, import_rows::undo_result))
        .load(c)
        .await)?;
    let total: i64 = with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id).and(import_rows::outcome.eq_any(&outcomes)))
        .count()
        .get_result(c)
        .await)?;
    let reports = rows
        .into_iter()
        .map(|(row, outcome, contact_id, column, message, changes, after, result, undo_result)| {
            let name = after
                .and_then(|a| serde_json::from_str::<ContactInput>(&a).ok())
                .map(|a| crate::contacts::display_name(&a.first_name, &a.last_name, &a.company))
                .unwrap_or_default();
            RowReport {
                row,
                outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Error),
                contact_id,
                name,
                column,
                message,
                changes: serde_json::from_str::<Vec<FieldDiff>>(&changes).unwrap_or_default(),
                result,
                undo_result,
            }
        })
        .collect();
    Ok((reports, total))
}

/// The error rows after row `after`, as the file had them: row number, cells, column, message.
pub async fn error_rows(
    conn: &mut DbConn,
    id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Vec<String>, String, String)>, DbError> {
    let rows: Vec<(i64, Option<String>, String, String)> = with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id).and(import_rows::outcome.eq(Outcome::Error.key())))
        .filter(import_rows::row_number.gt(after))
        .order(import_rows::row_number)
        .limit(limit)
        .select((import_rows::row_number, import_rows::cells, import_rows::column_name, import_rows::message))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(row, cells, column, message)| {
            (row, cells.and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default(), column, message)
        })
        .collect())
}

/// How many rows had each result of the run (or, with `undo`, of the undo).
pub async fn result_counts(conn: &mut DbConn, id: i64, undo: bool) -> Result<Vec<(String, i64)>, DbError> {
    let rows: Vec<(String, i64)> = if undo {
        with_db!(conn, c => import_rows::table
            .filter(import_rows::import_id.eq(id).and(import_rows::undo_result.ne("")))
            .group_by(import_rows::undo_result)
            .order_by(import_rows::undo_result)
            .select((import_rows::undo_result, diesel::dsl::count_star()))
            .load(c)
            .await)?
    } else {
        with_db!(conn, c => import_rows::table
            .filter(import_rows::import_id.eq(id).and(import_rows::result.ne("")))
            .group_by(import_rows::result)
            .order_by(import_rows::result)
            .select((import_rows::result, diesel::dsl::count_star()))
            .load(c)
            .await)?
    };
    Ok(rows)
}

/// Removes imports whose upload never finished (the server stopped part-way) after an hour.
pub async fn remove_abandoned_uploads(conn: &mut DbConn) -> Result<usize, DbError> {
    let cutoff = now() - chrono::Duration::hours(1);
    let n = conn
        .write_tx(async |c: &mut DbConn| {
            with_db!(c, c => diesel::delete(imports::table.filter(imports::state.eq("uploading").and(imports::created_at.lt(cutoff))))
                .execute(c)
                .await)
        })
        .await?;
    Ok(n)
}

/// The contacts an import's run wrote or found as they were: created, updated or unchanged.
pub async fn contacts_of(conn: &mut DbConn, id: i64) -> diesel::QueryResult<Vec<i64>> {
    with_db!(conn, c => import_rows::table
        .filter(import_rows::import_id.eq(id))
        .filter(import_rows::result.eq_any(["created", "updated", "unchanged"]).or(import_rows::outcome.eq("unchanged")))
        .filter(import_rows::contact_id.is_not_null())
        .select(import_rows::contact_id.assume_not_null())
        .load(c)
        .await)
}
