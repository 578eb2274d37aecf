//! Backups of the embedded SQLite database, taken while the app serves and writes, and their
//! restore. PostgreSQL has its own tools (`pg_dump`, `pg_restore`: README, "Backups").

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection as _, QueryableByName, RunQueryDsl as _, SqliteConnection};

use crate::db::{Backend, Connection, DbConn, DbError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: choose a new file, nothing was overwritten")]
    Exists(PathBuf),
    #[error("this server uses PostgreSQL: back it up with pg_dump (README, \"Backups\")")]
    Postgres,
    #[error("{path} is not a CRM database: {reason}")]
    NotABackup { path: PathBuf, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Writes a consistent copy of the SQLite database behind `conn` to `dest`, which must not exist.
/// `VACUUM INTO` reads one snapshot of the file: every transaction committed before it started
/// is in the copy, none that commits meanwhile is half in it, and writers go on while it runs
/// (WAL mode). The copy is written beside `dest` and renamed, so `dest` is whole or absent.
pub async fn sqlite(conn: &mut DbConn, dest: &Path) -> Result<u64, BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_owned()));
    }
    let Connection::Sqlite(c) = &mut conn.conn else { return Err(BackupError::Postgres) };
    let partial = partial_path(dest);
    let _ = std::fs::remove_file(&partial);
    let target = partial.display().to_string();
    let vacuum = diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(&target);
    let vacuumed = diesel_async::RunQueryDsl::execute(vacuum, &mut **c).await;
    if let Err(err) = vacuumed {
        let _ = std::fs::remove_file(&partial);
        return Err(DbError::from(err).into());
    }
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, dest)?;
    Ok(std::fs::metadata(dest)?.len())
}

/// Whether `conn`'s backend can be backed up by [`sqlite`].
pub fn supported(conn: &DbConn) -> bool {
    conn.backend() == Backend::Sqlite
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Checks that `path` is a whole SQLite file of this CRM: SQLite's integrity check passes and it
/// records which migrations it has.
pub fn verify(path: &Path) -> Result<(), BackupError> {
    let not = |reason: String| BackupError::NotABackup { path: path.to_owned(), reason };
    if !path.is_file() {
        return Err(not("no such file".into()));
    }
    let url = path.display().to_string();
    let mut conn = SqliteConnection::establish(&url).map_err(|e| not(e.to_string()))?;
    conn.batch_execute("PRAGMA query_only = ON").map_err(|e| not(e.to_string()))?;
    let check: Vec<Line> = diesel::sql_query("SELECT integrity_check AS line FROM pragma_integrity_check")
        .load(&mut conn)
        .map_err(|e| not(e.to_string()))?;
    if check.len() != 1 || check[0].line != "ok" {
        let found: Vec<String> = check.into_iter().take(3).map(|l| l.line).collect();
        return Err(not(format!("the integrity check found {}", found.join("; "))));
    }
    let tables: Vec<Line> =
        diesel::sql_query("SELECT name AS line FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind::<Text, _>("__diesel_schema_migrations")
            .load(&mut conn)
            .map_err(|e| not(e.to_string()))?;
    if tables.is_empty() {
        return Err(not("it has no migrations table".into()));
    }
    Ok(())
}

/// Puts the backup `from` in place of the database file `to` (every server using it must be
/// stopped). The file it replaces, with its `-wal` and `-shm` companions, is kept beside it as
/// `<to>.before-restore-<stamp>`; that name is returned. Nothing is deleted.
pub fn restore(from: &Path, to: &Path) -> Result<Option<PathBuf>, BackupError> {
    verify(from)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let kept = PathBuf::from(format!("{}.before-restore-{stamp}", to.display()));
    let mut moved = None;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", to.display()));
        if file.exists() {
            std::fs::rename(&file, format!("{}{suffix}", kept.display()))?;
            moved = Some(kept.clone());
        }
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let partial = partial_path(to);
    std::fs::copy(from, &partial)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)?;
    Ok(moved)
}

fn partial_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", path.display()))
}
