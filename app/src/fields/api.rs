//! Server functions of the extra fields. Defining fields needs `Permission::FieldsManage`;
//! reading the definitions (for forms, the profile and the list) needs `ContactsView`.

use leptos::prelude::*;

use super::{FieldCatalog, FieldForm, TypeChangePreview};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::auth::require;
    pub use crate::accounts::Permission;
    pub use crate::api::{conn, respond};
    pub use crate::fields::repo;
}

#[cfg(feature = "ssr")]
fn up(direction: &str) -> bool {
    direction == "up"
}

/// The sections and fields, in form order.
#[server(prefix = "/api/staff", endpoint = "field_catalog")]
pub async fn load_field_catalog() -> Result<FieldCatalog, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsView).await?;
        Ok(repo::catalog(&mut conn().await?).await?)
    }
    .await;
    respond(result)
}

/// The settings page's view: the catalog, and how many contacts hold a value of each field.
#[server(prefix = "/api/staff", endpoint = "field_settings")]
pub async fn field_settings() -> Result<(FieldCatalog, Vec<(i64, i64)>), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        let mut conn = conn().await?;
        let catalog = repo::catalog(&mut conn).await?;
        let mut holding = Vec::new();
        for field in &catalog.fields {
            holding.push((field.id, repo::holding(&mut conn, field.id).await?));
        }
        Ok((catalog, holding))
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "create_field")]
pub async fn create_field(#[server(default)] input: FieldForm) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        let id = repo::create_field(&mut conn().await?, &input).await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "update_field")]
pub async fn update_field(id: i64, #[server(default)] input: FieldForm) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::update_field(&mut conn().await?, id, &input).await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "move_field")]
pub async fn move_field(id: i64, direction: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::move_field(&mut conn().await?, id, up(&direction)).await?;
        leptos_axum::redirect("/staff/settings/fields?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// Deletes a field and every contact's value of it, once confirmed.
#[server(prefix = "/api/staff", endpoint = "delete_field")]
pub async fn delete_field(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        if confirm.is_none() {
            return Err(AppError::invalid(
                "confirm",
                "Tick the box to confirm: the contacts lose these values.",
            ));
        }
        let holding = repo::delete_field(&mut conn().await?, id).await?;
        tracing::info!(field_id = id, holding, "extra field deleted");
        leptos_axum::redirect("/staff/settings/fields?deleted=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// What changing a field's type would do to the stored values.
#[server(prefix = "/api/staff", endpoint = "preview_field_type")]
pub async fn preview_field_type(
    id: i64,
    kind: String,
    #[server(default)] decimals: String,
) -> Result<TypeChangePreview, AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::preview_type_change(&mut conn().await?, id, &kind, &decimals).await
    }
    .await;
    respond(result)
}

/// Changes a field's type, once its preview was seen and confirmed.
#[server(prefix = "/api/staff", endpoint = "change_field_type")]
pub async fn change_field_type(
    id: i64,
    kind: String,
    #[server(default)] decimals: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "Look at the preview, then tick the box to confirm."));
        }
        repo::change_type(&mut conn().await?, id, &kind, &decimals).await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "add_section")]
pub async fn add_section(section_name: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::create_section(&mut conn().await?, &section_name).await?;
        leptos_axum::redirect("/staff/settings/fields?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "rename_section")]
pub async fn rename_section(id: i64, section_name: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::rename_section(&mut conn().await?, id, &section_name).await?;
        leptos_axum::redirect("/staff/settings/fields?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "move_section")]
pub async fn move_section(id: i64, direction: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::move_section(&mut conn().await?, id, up(&direction)).await?;
        leptos_axum::redirect("/staff/settings/fields?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// Deletes a section; its fields stay, in no section.
#[server(prefix = "/api/staff", endpoint = "delete_section")]
pub async fn delete_section(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("section_confirm", "Tick the box to confirm."));
        }
        repo::delete_section(&mut conn().await?, id).await?;
        leptos_axum::redirect("/staff/settings/fields?deleted=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "add_field_option")]
pub async fn add_field_option(
    field_id: i64,
    option_label: String,
    #[server(default)] option_color: String,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        repo::add_option(&mut conn().await?, field_id, &option_label, &option_color).await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{field_id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Renames an option or changes its colour; stored values follow, nothing is rewritten.
#[server(prefix = "/api/staff", endpoint = "update_field_option")]
pub async fn update_field_option(
    id: i64,
    option_label: String,
    #[server(default)] option_color: String,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        let field_id = repo::update_option(&mut conn().await?, id, &option_label, &option_color).await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{field_id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "move_field_option")]
pub async fn move_field_option(id: i64, direction: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        let field_id = repo::move_option(&mut conn().await?, id, up(&direction)).await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{field_id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Retires an option (`retired=yes`) or brings it back (`retired=no`).
#[server(prefix = "/api/staff", endpoint = "retire_field_option")]
pub async fn retire_field_option(id: i64, retired: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::FieldsManage).await?;
        let field_id = repo::retire_option(&mut conn().await?, id, retired == "yes").await?;
        leptos_axum::redirect(&format!("/staff/settings/fields/{field_id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}
