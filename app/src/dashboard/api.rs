//! Server functions of the staff dashboard.

use leptos::prelude::*;

use super::DashboardSummary;
use crate::error::AppError;

#[server(prefix = "/api/staff", endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardSummary, AppError> {
    use crate::accounts::auth::require_staff;
    use crate::system::repo::{get_setting, ORGANIZATION_NAME};

    let result = async {
        let staff = require_staff().await?;
        let permissions = crate::accounts::auth::permissions_of(&staff).await?;
        let mut conn = crate::api::conn().await?;
        let organization_name = get_setting(&mut conn, ORGANIZATION_NAME).await?.unwrap_or_default();
        let pending_activations = if staff.is_admin {
            Some(crate::accounts::repo::count_pending_staff(&mut conn).await?)
        } else {
            None
        };
        let contacts = if permissions.contains(&crate::accounts::Permission::ContactsView) {
            let (table, total) = crate::contacts::repo::status_counts(&mut conn).await?;
            Some((total, table))
        } else {
            None
        };
        Ok(DashboardSummary {
            display_name: staff.display_name,
            organization_name,
            pending_activations,
            contacts,
            can_add_contacts: permissions.contains(&crate::accounts::Permission::ContactsCreate),
        })
    }
    .await;
    crate::api::respond(result)
}
