//! The import's files over HTTP: the upload (a plain multipart form post, so it works without
//! JavaScript, streamed to disk), and the download of the rows that failed, as a CSV ready to
//! fix and import again.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{mapping, repo, upload};
use crate::accounts::auth::AuthSession;
use crate::accounts::{Permission, UserKind};
use crate::api::AppState;
use crate::db::DbConn;
use crate::error::AppError;

/// Where uploads and the files of running jobs are kept on this server: `CRM_IMPORT_DIR`, or a
/// folder in the system's temporary directory.
pub fn work_dir() -> std::path::PathBuf {
    std::env::var_os("CRM_IMPORT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("crm-imports"))
}

/// The most an upload may hold: `CRM_IMPORT_LIMIT_MB`, or 100 MB.
fn limit() -> u64 {
    std::env::var("CRM_IMPORT_LIMIT_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(upload::DEFAULT_LIMIT, |mb| mb * 1024 * 1024)
}

/// The caller's user id if they are staff allowed to import; otherwise the response to give.
async fn importer(state: &AppState, auth: &AuthSession) -> Result<(i64, DbConn), Response> {
    let Some(user) = auth.user.as_ref() else {
        return Err(StatusCode::UNAUTHORIZED.into_response());
    };
    if user.kind != UserKind::Staff {
        return Err((StatusCode::FORBIDDEN, "You may not import contacts.").into_response());
    }
    let mut conn =
        state.pool.get().await.map_err(|_| {
            (StatusCode::SERVICE_UNAVAILABLE, "The database is busy; try again.").into_response()
        })?;
    let allowed = user.is_admin
        || crate::users::repo::effective_permissions(&mut conn, user)
            .await
            .map(|p| p.contains(&Permission::ContactsImport))
            .unwrap_or(false);
    if !allowed {
        return Err((StatusCode::FORBIDDEN, "You may not import contacts.").into_response());
    }
    Ok((user.id, conn))
}

/// Back to the upload form, which says why in words of its own (`imports::upload_message`).
fn back_with(code: &str) -> Response {
    Redirect::to(&crate::ui::href("/staff/imports", &[("error", code)])).into_response()
}

fn upload_code(err: &upload::UploadError) -> &'static str {
    match err {
        upload::UploadError::TooLarge { .. } => "too_large",
        upload::UploadError::Cut => "cut",
        upload::UploadError::Empty => "empty",
        upload::UploadError::Disk => "disk",
    }
}

fn file_refusal(err: &super::parse::FileError) -> Response {
    use super::parse::FileError;
    let code = match err {
        FileError::Empty => "empty",
        FileError::OldExcel => "old_excel",
        FileError::NotTabular => "not_tabular",
        FileError::Workbook(_) | FileError::NoSuchSheet(_) => "workbook",
        FileError::BadUtf8 => "bad_utf8",
        FileError::UnclosedQuote { line } => {
            let line = line.to_string();
            return Redirect::to(&crate::ui::href("/staff/imports", &[("error", "quote"), ("line", &line)]))
                .into_response();
        }
        FileError::Row { .. } => "unreadable",
        FileError::Io => "disk",
    };
    back_with(code)
}

/// Where the upload form posts.
pub const UPLOAD_PATH: &str = "/api/staff/imports/upload";

/// `POST /api/staff/imports/upload` (multipart, field `file`): the file goes to disk as it
/// arrives, is read far enough to suggest a mapping, then into the database as a new import; the
/// browser goes on to its mapping page. A refused file goes back to the form with the reason.
/// Who may import is checked before a byte of the body is read.
pub async fn upload(State(state): State<AppState>, auth: AuthSession, req: Request) -> Response {
    let actor = match importer(&state, &auth).await {
        // No connection is held while the body arrives: a slow upload must not take one from
        // the pool for as long as it lasts.
        Ok((actor, _)) => actor,
        Err(response) => return response,
    };
    let mut multipart = match axum::extract::Multipart::from_request(req, &state).await {
        Ok(m) => m,
        Err(_) => return back_with("no_file"),
    };
    let field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => break field,
            Ok(Some(_)) => continue,
            Ok(None) => return back_with("no_file"),
            Err(_) => return back_with("cut"),
        }
    };
    let file_name = field.file_name().unwrap_or("upload").to_owned();
    let dir = work_dir();
    if tokio::fs::create_dir_all(&dir).await.is_err() {
        return back_with("disk");
    }
    let saved = match upload::save(field, &dir, limit()).await {
        Ok(saved) => saved,
        Err(err) => return back_with(upload_code(&err)),
    };
    let Ok(mut conn) = state.pool.get().await else { return back_with("busy") };
    let catalog = match crate::fields::repo::catalog(&mut conn).await {
        Ok(catalog) => catalog,
        Err(_) => return back_with("busy"),
    };
    let path = saved.path.clone();
    let fields = catalog.fields.clone();
    let read = tokio::task::spawn_blocking(move || mapping::first_settings(&path, &fields)).await;
    let (settings, preview) = match read {
        Ok(Ok(found)) => found,
        Ok(Err(err)) => return file_refusal(&err),
        Err(_) => return back_with("unreadable"),
    };
    let file =
        repo::UploadedFile { name: &file_name, path: &saved.path, size: saved.size, sha256: &saved.sha256 };
    let created = repo::create(&mut conn, actor, &file, &settings, &preview).await;
    drop(saved);
    match created {
        Ok(id) => {
            tracing::info!(import = id, user_id = actor, file = %file_name, "import uploaded");
            Redirect::to(&format!("/staff/imports/{id}")).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "storing an upload failed");
            back_with("busy")
        }
    }
}

/// The file's first rows again, read with new settings (another delimiter or sheet): the file
/// comes out of the database onto this server's disk for the moment it takes.
pub async fn preview_again(
    conn: &mut DbConn,
    id: i64,
    settings: &super::ImportSettings,
) -> Result<Vec<Vec<String>>, AppError> {
    let job = repo::job(conn, id).await?.ok_or(AppError::NotFound)?;
    let path = repo::fetch_file(conn, &job, &work_dir()).await?;
    let format = settings.format.clone();
    let local = path.clone();
    let read =
        tokio::task::spawn_blocking(move || super::parse::preview(&local, &format, mapping::PREVIEW_ROWS))
            .await
            .map_err(|_| AppError::Internal)?;
    let _ = tokio::fs::remove_file(&path).await;
    let field = match settings.format {
        super::FileFormat::Csv { .. } => "delimiter",
        super::FileFormat::Xlsx { .. } => "sheet",
    };
    read.map(|rows| rows.into_iter().map(|r| r.cells).collect())
        .map_err(|e| AppError::invalid(field, e.to_string()))
}

/// `GET /staff/imports/{id}/errors.csv`: the rows the dry run refused, as the file had them,
/// with an `error` column saying why (and which column), ready to fix and import again.
pub async fn errors_csv(State(state): State<AppState>, auth: AuthSession, Path(id): Path<i64>) -> Response {
    let (_, mut conn) = match importer(&state, &auth).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let summary = match repo::summary(&mut conn, id).await {
        Ok(Some(summary)) => summary,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "The database is busy; try again.").into_response()
        }
    };
    drop(conn);
    let width = summary.settings.mapping.len();
    let mut header: Vec<String> =
        (0..width).map(|i| super::plan::column_name(&summary.settings, i)).collect();
    header.push("error".to_owned());
    let header: Vec<String> = header.iter().map(|h| crate::contacts::export::neutralize(h)).collect();
    let stream = futures::stream::unfold(
        (state.pool.clone(), 0i64, Some(header), false),
        move |(pool, after, header, done)| async move {
            if let Some(header) = header {
                return Some((csv_bytes(&[header]), (pool, after, None, done)));
            }
            if done {
                return None;
            }
            let batch = match pool.get().await {
                Ok(mut conn) => repo::error_rows(&mut conn, id, after, 500).await,
                Err(e) => Err(e),
            };
            match batch {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map(|r| r.0).unwrap_or(after);
                    let finished = rows.len() < 500;
                    let records: Vec<Vec<String>> = rows
                        .into_iter()
                        .map(|(row, mut cells, column, message)| {
                            cells.resize(width.max(cells.len()), String::new());
                            let why = match column.is_empty() {
                                true => format!("Row {row}: {message}"),
                                false => format!("Row {row}, column {column}: {message}"),
                            };
                            cells.push(why);
                            cells.iter().map(|c| crate::contacts::export::neutralize(c)).collect()
                        })
                        .collect();
                    Some((csv_bytes(&records), (pool, last, None, finished)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "error rows download failed part-way");
                    Some((Err(std::io::Error::other(e.to_string())), (pool, after, None, true)))
                }
            }
        },
    );
    let stem = summary.file_name.rsplit_once('.').map_or(summary.file_name.as_str(), |(s, _)| s);
    let filename: String =
        format!("{stem}-errors.csv").chars().filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n')).collect();
    let ascii: String = filename.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let encoded = percent_encoding::utf8_percent_encode(&filename, percent_encoding::NON_ALPHANUMERIC);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            // Personal data: kept by no cache, shared or the browser's.
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

fn csv_bytes(rows: &[Vec<String>]) -> Result<Bytes, std::io::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(std::io::Error::other)?;
    }
    writer.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
}
