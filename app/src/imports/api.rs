//! Server functions of contact imports. Everything here needs `Permission::ContactsImport`
//! ("Import contacts"): uploading (a route of its own, `files::upload`), mapping, the dry run,
//! running, cancelling, undoing, and reading the history and reports.

use leptos::prelude::*;

use super::{ImportSummary, ImportView, MappingForm};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::auth::require;
    pub use crate::accounts::Permission;
    pub use crate::api::{conn, respond};
    pub use crate::imports::{repo, ImportState};
}

/// Rows of a report per page.
pub const REPORT_PAGE: i64 = 50;
/// Imports per page of the history.
pub const HISTORY_PAGE: i64 = 25;

/// The history, newest first: a page of it and how many there are.
#[server(prefix = "/api/staff", endpoint = "import_history")]
pub async fn import_history(page: i64) -> Result<(Vec<ImportSummary>, i64), AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsImport).await?;
        let page = page.max(1);
        Ok(repo::history(&mut conn().await?, HISTORY_PAGE, crate::db::page_offset(page, HISTORY_PAGE))
            .await?)
    }
    .await;
    respond(result)
}

/// An import's page: where it is, the file's first rows while it is being mapped, and a page of
/// its report filtered by outcome (`""` for every row).
#[server(prefix = "/api/staff", endpoint = "load_import")]
pub async fn load_import(id: i64, outcome: String, page: i64) -> Result<ImportView, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsImport).await?;
        let mut conn = conn().await?;
        let summary = repo::summary(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        let preview = match summary.state {
            ImportState::Uploaded => repo::preview(&mut conn, id).await?,
            _ => Vec::new(),
        };
        let outcome = super::Outcome::parse(&outcome);
        let page = page.max(1);
        let (rows, rows_total) =
            repo::report(&mut conn, id, outcome, REPORT_PAGE, crate::db::page_offset(page, REPORT_PAGE))
                .await?;
        // Segments are for staff with contact access; an importer without it picks none.
        let segments = match crate::segments::api::viewer().await {
            Ok(me) => crate::segments::repo::static_for(&mut conn, &me).await?,
            Err(_) => Vec::new(),
        };
        Ok(ImportView {
            summary,
            preview,
            targets: super::targets(&catalog),
            segments,
            match_fields: catalog
                .fields
                .iter()
                .filter(|f| f.unique)
                .map(|f| (f.key.clone(), f.label.clone()))
                .collect(),
            rows,
            rows_total,
        })
    }
    .await;
    respond(result)
}

/// Where a busy import is, for its progress bar.
#[server(prefix = "/api/staff", endpoint = "import_progress")]
pub async fn import_progress(id: i64) -> Result<ImportSummary, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsImport).await?;
        repo::summary(&mut conn().await?, id).await?.ok_or(AppError::NotFound)
    }
    .await;
    respond(result)
}

/// Saves the mapping; then shows the file again (`then = preview`) or starts the dry run.
#[server(prefix = "/api/staff", endpoint = "save_import_mapping")]
pub async fn save_import_mapping(
    id: i64,
    version: i64,
    #[server(default)] input: MappingForm,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsImport).await?;
        let mut conn = conn().await?;
        let summary = repo::summary(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        let (mut settings, reread) = super::mapping::read_form(&summary.settings, &input, &catalog)?;
        // The segment the contacts join: one the importer may change.
        settings.segment_id =
            match input.segment.trim() {
                "" => None,
                id => {
                    let me = crate::segments::api::viewer().await?;
                    let allowed = crate::segments::repo::static_for(&mut conn, &me).await?;
                    let id = id.parse::<i64>().ok().filter(|id| allowed.iter().any(|(s, _)| s == id));
                    Some(id.ok_or_else(|| {
                        AppError::invalid("segment", "Choose a static segment you may change.")
                    })?)
                }
            };
        let (settings, preview) = match reread {
            // A new delimiter or sheet: new columns, named by the new first row.
            true => {
                let rows = super::files::preview_again(&mut conn, id, &settings).await?;
                (super::mapping::fit_to(&settings, &rows, &catalog), Some(rows))
            }
            false => (super::mapping::with_headers(&settings, &repo::preview(&mut conn, id).await?), None),
        };
        repo::save_settings(&mut conn, id, version, &settings, preview.as_deref()).await?;
        if input.then == "check" && preview.is_none() {
            let version = repo::summary(&mut conn, id).await?.map(|s| s.version).unwrap_or(version);
            repo::request(&mut conn, id, Some(version), &[ImportState::Uploaded], ImportState::Checking)
                .await?;
        }
        leptos_axum::redirect(&format!("/staff/imports/{id}"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Back from a dry run's report to the mapping.
#[server(prefix = "/api/staff", endpoint = "edit_import_mapping")]
pub async fn edit_import_mapping(id: i64, version: i64) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsImport).await?;
        let mut conn = conn().await?;
        let summary = repo::summary(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        repo::save_settings(&mut conn, id, version, &summary.settings, None).await?;
        leptos_axum::redirect(&format!("/staff/imports/{id}"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Runs the import as its dry run showed it.
#[server(prefix = "/api/staff", endpoint = "start_import")]
pub async fn start_import(id: i64, version: i64) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::ContactsImport).await?;
        let (from, to) = ([ImportState::Checked], ImportState::Running);
        repo::request_by(&mut conn().await?, id, Some(version), &from, to, Some(me.id)).await?;
        leptos_axum::redirect(&format!("/staff/imports/{id}"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Stops a dry run, or a run (which then takes back what it wrote).
#[server(prefix = "/api/staff", endpoint = "cancel_import")]
pub async fn cancel_import(id: i64) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsImport).await?;
        repo::request_cancel(&mut conn().await?, id).await?;
        leptos_axum::redirect(&format!("/staff/imports/{id}"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Undoes a finished import, once the person has confirmed.
#[server(prefix = "/api/staff", endpoint = "undo_import")]
pub async fn undo_import(id: i64, version: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::ContactsImport).await?;
        if confirm.is_none() {
            let mut errors = crate::error::FieldErrors::new();
            errors.add("confirm", "Tick the box to confirm the undo.");
            return Err(AppError::Invalid(errors));
        }
        let (from, to) = ([ImportState::Done], ImportState::Undoing);
        repo::request_by(&mut conn().await?, id, Some(version), &from, to, Some(me.id)).await?;
        leptos_axum::redirect(&format!("/staff/imports/{id}"));
        Ok(())
    }
    .await;
    respond(result)
}
