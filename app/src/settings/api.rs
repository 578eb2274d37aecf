//! Server functions of the settings lists; all need `Permission::SettingsManage`.

use leptos::prelude::*;

use super::{SettingItem, SettingsList};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::auth::require;
    pub use crate::accounts::Permission;
    pub use crate::api::{conn, respond};
    pub use crate::settings::repo;
}

/// Marks a form error with the list whose form was sent, so only that section shows it.
#[cfg(feature = "ssr")]
fn for_list(err: AppError, list: &str) -> AppError {
    match err {
        AppError::Invalid(errors) => AppError::Invalid(errors.with_values(&[("list", list)])),
        other => other,
    }
}

#[cfg(feature = "ssr")]
fn which(list: &str) -> Result<SettingsList, AppError> {
    SettingsList::parse(list).ok_or(AppError::NotFound)
}

/// The three lists with their entries' contact counts.
#[server(prefix = "/api/staff", endpoint = "settings_lists")]
pub async fn settings_lists() -> Result<Vec<(SettingsList, Vec<SettingItem>)>, AppError> {
    use server::*;
    let result = async {
        require(Permission::SettingsManage).await?;
        let mut conn = conn().await?;
        let mut out = Vec::new();
        for list in SettingsList::ALL {
            out.push((list, repo::list(&mut conn, list).await?));
        }
        Ok(out)
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "add_setting")]
pub async fn add_setting(list: String, name: String, color: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::SettingsManage).await?;
        repo::add(&mut conn().await?, which(&list)?, &name, color.as_deref()).await?;
        leptos_axum::redirect("/staff/settings?saved=1");
        Ok(())
    }
    .await;
    respond(result.map_err(|e| for_list(e, &list)))
}

#[server(prefix = "/api/staff", endpoint = "rename_setting")]
pub async fn rename_setting(
    list: String,
    id: i64,
    name: String,
    color: Option<String>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::SettingsManage).await?;
        repo::rename(&mut conn().await?, which(&list)?, id, &name, color.as_deref()).await?;
        leptos_axum::redirect("/staff/settings?saved=1");
        Ok(())
    }
    .await;
    respond(result.map_err(|e| for_list(e, &list)))
}

#[server(prefix = "/api/staff", endpoint = "move_setting")]
pub async fn move_setting(list: String, id: i64, direction: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::SettingsManage).await?;
        repo::move_item(&mut conn().await?, which(&list)?, id, direction == "up").await?;
        leptos_axum::redirect("/staff/settings?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_setting")]
pub async fn delete_setting(
    list: String,
    id: i64,
    move_to: Option<String>,
    confirm: Option<String>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::SettingsManage).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "Tick the box to confirm the deletion."));
        }
        let move_to = move_to.and_then(|m| m.trim().parse().ok());
        repo::delete(&mut conn().await?, which(&list)?, id, move_to).await?;
        leptos_axum::redirect("/staff/settings?deleted=1");
        Ok(())
    }
    .await;
    respond(result.map_err(|e| for_list(e, &list)))
}
