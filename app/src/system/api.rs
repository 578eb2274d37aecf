//! Server functions of the system slice.

use leptos::prelude::*;

use super::StatusReport;
use crate::error::AppError;

/// Reads the organization's name and schema version: a full round trip to the database.
#[server(prefix = "/api/public", endpoint = "system_status")]
pub async fn system_status() -> Result<StatusReport, AppError> {
    use crate::api::{conn, respond};
    respond(
        async {
            let mut conn = conn().await?;
            Ok(super::repo::status(&mut conn).await?)
        }
        .await,
    )
}
