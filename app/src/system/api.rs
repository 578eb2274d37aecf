//! Server functions of the system slice.

use leptos::prelude::*;

use super::StatusReport;
use crate::error::AppError;

/// Reads the organization's name and schema version: a full round trip to the database. The
/// backend and schema version are shown to staff only.
#[server(prefix = "/api/public", endpoint = "system_status")]
pub async fn system_status() -> Result<StatusReport, AppError> {
    use crate::api::{conn, respond};
    respond(
        async {
            let staff = crate::accounts::auth::require_staff().await.is_ok();
            let mut conn = conn().await?;
            let mut report = super::repo::status(&mut conn).await?;
            if !staff {
                report.database = None;
                report.schema_version = None;
            }
            Ok(report)
        }
        .await,
    )
}
