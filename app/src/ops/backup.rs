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
    #[error("{0} is open (a server is running on it): stop every server first, nothing was changed")]
    InUse(PathBuf),
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
/// (WAL mode). The copy is written beside `dest`, checked ([`verify`]), made readable by its
/// owner only (it holds password hashes and personal data), and then linked to `dest`, which
/// fails rather than replace a file that appeared meanwhile: `dest` is whole and checked, or
/// absent.
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
    let published = match vacuumed {
        Ok(_) => publish(&partial, dest),
        Err(err) => Err(DbError::from(err).into()),
    };
    let _ = std::fs::remove_file(&partial);
    published?;
    Ok(std::fs::metadata(dest)?.len())
}

fn publish(partial: &Path, dest: &Path) -> Result<(), BackupError> {
    std::fs::File::open(partial)?.sync_all()?;
    verify(partial)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(partial, std::fs::Permissions::from_mode(0o600))?;
    }
    match std::fs::hard_link(partial, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists(dest.to_owned()))
        }
        Err(e) => return Err(e.into()),
    }
    sync_dir(dest);
    Ok(())
}

/// Makes a rename or link in `path`'s folder survive a power cut (best effort).
fn sync_dir(path: &Path) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
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

/// Puts the backup `from` in place of the database file `to`. Refused while any process has `to`
/// open ([`in_use`]): a server still running would go on writing to the file moved aside. The
/// file it replaces, with its `-wal` and `-shm` companions, is kept beside it as
/// `<to>.before-restore-<stamp>`; that name is returned. Nothing is deleted. The restored file
/// gets the owner and mode of the one it replaces, so the service can open it.
pub fn restore(from: &Path, to: &Path) -> Result<Option<PathBuf>, BackupError> {
    verify(from)?;
    if in_use(to)? {
        return Err(BackupError::InUse(to.to_owned()));
    }
    let replaced = std::fs::metadata(to).ok();
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
    if let Some(meta) = &replaced {
        std::fs::set_permissions(&partial, meta.permissions())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::chown(&partial, Some(meta.uid()), Some(meta.gid()))?;
        }
    }
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)?;
    sync_dir(to);
    Ok(moved)
}

/// Whether some process has the SQLite database `db` open. Every connection to a database in
/// WAL mode holds a read lock on one byte of its `-shm` file (SQLite's "dead man switch", byte
/// 128) for as long as it is open; an open-file-description lock test sees it. No `-shm` file:
/// nobody has it open. Call it only from a process that does not use `db` itself (`server
/// restore`): closing the descriptor it opens drops the process's own POSIX locks on that file,
/// SQLite's included.
pub fn in_use(db: &Path) -> std::io::Result<bool> {
    let shm = PathBuf::from(format!("{}-shm", db.display()));
    let file = match std::fs::OpenOptions::new().read(true).write(true).open(&shm) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    shm_locked(&file)
}

#[cfg(target_os = "linux")]
fn shm_locked(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    const SQLITE_SHM_DMS: libc::off_t = 128;
    // SAFETY: `lock` is a plain C struct, zeroed and then filled in; fcntl only reads and writes it.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = SQLITE_SHM_DMS;
    lock.l_len = 1;
    // SAFETY: the descriptor is open for as long as `file` lives; `lock` is a valid flock.
    let done = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut lock) };
    if done == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(lock.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(not(target_os = "linux"))]
fn shm_locked(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(false)
}

fn partial_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", path.display()))
}
