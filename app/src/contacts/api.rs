//! Server functions of the contacts slice; each checks the caller's permission on the server.
// A form's fields arrive as arguments; #[server] leaves the functions' own `allow`s off the
// browser's stubs, so the lint is allowed here for the hydrate build.
#![cfg_attr(feature = "hydrate", allow(clippy::too_many_arguments))]

use leptos::prelude::*;

use super::{Choices, Contact, ContactInput, ContactListParams, ContactPage};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::auth::require;
    pub use crate::accounts::Permission;
    pub use crate::api::{conn, respond};
    pub use crate::contacts::repo;
}

/// A select's value: empty means "none".
#[cfg(feature = "ssr")]
fn id_or_none(value: Option<String>) -> Option<i64> {
    value.and_then(|v| v.trim().parse().ok())
}

#[server(prefix = "/api/staff", endpoint = "contact_choices")]
pub async fn contact_choices() -> Result<Choices, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsView).await?;
        Ok(repo::choices(&mut conn().await?).await?)
    }
    .await;
    respond(result)
}

/// One page of the contact list, for the list's URL query as it stands.
#[server(prefix = "/api/staff", endpoint = "contacts")]
pub async fn list_contacts(#[server(default)] list: ContactListParams) -> Result<ContactPage, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsView).await?;
        let query = list.query();
        let mut conn = conn().await?;
        if let Some(id) = query.segment_id {
            // Someone else's private segment is not there.
            let me = crate::segments::api::viewer().await?;
            crate::segments::repo::visible(&mut conn, &me, id).await?;
        }
        Ok(repo::list(&mut conn, &query).await?)
    }
    .await;
    respond(result)
}

/// The list's columns the signed-in staff member picked, in order.
#[server(prefix = "/api/staff", endpoint = "list_columns")]
pub async fn list_columns() -> Result<Vec<String>, AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::ContactsView).await?;
        let mut conn = conn().await?;
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        Ok(repo::columns(&mut conn, me.id, &catalog).await?)
    }
    .await;
    respond(result)
}

/// Saves the columns the signed-in staff member picked: `keys[]` every column of the form,
/// `positions[]` the number typed beside each (the order), `shown[]` the ticked ones.
#[server(prefix = "/api/staff", endpoint = "save_list_columns")]
pub async fn save_list_columns(
    keys: Option<Vec<String>>,
    positions: Option<Vec<String>>,
    shown: Option<Vec<String>>,
    back: Option<String>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::ContactsView).await?;
        let (keys, positions, shown) =
            (keys.unwrap_or_default(), positions.unwrap_or_default(), shown.unwrap_or_default());
        // Ordered by the typed position, ties (and unreadable numbers) in the form's order.
        let mut ordered: Vec<(f64, usize, String)> = keys
            .into_iter()
            .enumerate()
            .filter(|(_, k)| shown.contains(k))
            .map(|(i, k)| {
                let at =
                    positions.get(i).and_then(|p| p.trim().parse::<f64>().ok()).unwrap_or(i as f64 + 1.0);
                (at, i, k)
            })
            .collect();
        ordered.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let keys: Vec<String> = ordered.into_iter().map(|(_, _, k)| k).collect();
        let mut conn = conn().await?;
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        repo::save_columns(&mut conn, me.id, &catalog, &keys).await?;
        leptos_axum::redirect(&safe_back(back));
        Ok(())
    }
    .await;
    respond(result)
}

/// Where a list form goes back to: the contact list as it was (never another site).
#[cfg(feature = "ssr")]
fn safe_back(back: Option<String>) -> String {
    let back = back
        .filter(|b| {
            (b.starts_with("/staff/contacts") || b.starts_with("/staff/segments/"))
                && !b.chars().any(char::is_control)
        })
        .unwrap_or_else(|| "/staff/contacts".into());
    let sep = if back.contains('?') { '&' } else { '?' };
    if back.contains("saved=1") {
        back
    } else {
        format!("{back}{sep}saved=1")
    }
}

#[server(prefix = "/api/staff", endpoint = "contact")]
pub async fn load_contact(id: i64) -> Result<Contact, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsView).await?;
        repo::get(&mut conn().await?, id).await?.ok_or(AppError::NotFound)
    }
    .await;
    respond(result)
}

/// Adds a contact (no `id`) or saves one (`id` and the `version` the form was opened at).
/// `add_tags` is the "Add tags" field: names separated by commas, added to the ticked chips.
#[server(prefix = "/api/staff", endpoint = "save_contact")]
pub async fn save_contact(
    id: Option<i64>,
    version: Option<i64>,
    #[server(default)] input: ContactInput,
    #[server(default)] add_tags: String,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me =
            require(if id.is_some() { Permission::ContactsEdit } else { Permission::ContactsCreate }).await?;
        let mut input = input;
        input.add_typed_tags(&add_tags);
        let echo = input.echo();
        let echo: Vec<(&str, &str)> = echo.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // The repository checks the form (built-in and extra fields) before it saves.
        let mut conn = conn().await?;
        let saved = match id {
            Some(id) => repo::update(&mut conn, me.id, id, version.unwrap_or(0), &input).await.map(|()| id),
            None => repo::create(&mut conn, me.id, &input).await,
        };
        // Whatever went wrong, the form gets back what was typed.
        let saved = saved.map_err(|err| err.keeping_input(&echo))?;
        leptos_axum::redirect(&format!("/staff/contacts/{saved}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_contact")]
pub async fn delete_contact(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsDelete).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "Tick the box to confirm the deletion."));
        }
        repo::delete(&mut conn().await?, id).await?;
        leptos_axum::redirect("/staff/contacts?deleted=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// Gives the contact a client account for the portal and returns a one-time set-password link
/// for staff to send (there is no mail server).
#[server(prefix = "/api/staff", endpoint = "invite_to_portal")]
pub async fn invite_to_portal(id: i64) -> Result<String, AppError> {
    use crate::users::repo::{create_password_token, Actor};
    use server::*;
    let result = async {
        let me = require(Permission::ContactsEdit).await?;
        let actor = Actor::from(&me);
        let may_manage_users = me.is_admin
            || crate::accounts::auth::permissions_of(&me).await?.contains(&Permission::UsersManage);
        let mut conn = conn().await?;
        let user_id = repo::grant_portal_access(&mut conn, &actor, id, may_manage_users).await?;
        let token = create_password_token(&mut conn, &actor, user_id).await?;
        crate::api::absolute_url("/set-password", &[("token", &token)]).await
    }
    .await;
    respond(result)
}

/// Ends the contact's portal access: the client account is deactivated and signed out.
#[server(prefix = "/api/staff", endpoint = "revoke_portal")]
pub async fn revoke_portal(id: i64) -> Result<(), AppError> {
    use crate::users::repo::{set_active, Actor, Through};
    use server::*;
    let result = async {
        let me = require(Permission::ContactsEdit).await?;
        let mut conn = conn().await?;
        let access = repo::portal_access(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        set_active(&mut conn, &Actor::from(&me), access.user_id, false, Through::PortalAccess).await?;
        leptos_axum::redirect(&format!("/staff/contacts/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

/// The most contacts one bulk action takes: a page's checkboxes are 25 at a time, and a longer
/// list (forged, or pasted) would be one unbounded `IN (…)`, past SQLite's limit on variables.
pub const MAX_BULK: usize = 1000;

/// The ids a bulk action was given: at least one, at most [`MAX_BULK`].
#[cfg(feature = "ssr")]
fn selected(ids: Option<Vec<i64>>) -> Result<Vec<i64>, AppError> {
    let ids = ids.unwrap_or_default();
    if ids.is_empty() {
        return Err(AppError::invalid("ids", "Select at least one contact."));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::invalid("ids", "Select at most 1,000 contacts at a time."));
    }
    Ok(ids)
}

/// Applies one action to the selected contacts of the list, then goes back to the same list.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/staff", endpoint = "bulk_contacts")]
pub async fn bulk_contacts(
    ids: Option<Vec<i64>>,
    action: String,
    tag: Option<String>,
    status_id: Option<String>,
    owner_id: Option<String>,
    field: Option<String>,
    value: Option<String>,
    confirm: Option<String>,
    segment: Option<String>,
    back: Option<String>,
) -> Result<(), AppError> {
    use repo::BulkChange;
    use server::*;
    let result = async {
        if let Some(add) = match action.as_str() {
            "add_to_segment" => Some(true),
            "remove_from_segment" => Some(false),
            _ => None,
        } {
            // A static segment's members: contact access and the right to edit that segment
            // (the repository checks it before anything else).
            let me = crate::segments::api::viewer().await?;
            let id = id_or_none(segment).ok_or_else(|| AppError::invalid("segment", "Choose a static segment."))?;
            let mut conn = conn().await?;
            let row = crate::segments::repo::visible(&mut conn, &me, id).await?;
            if !row.editable_by(&me) {
                return Err(AppError::Forbidden);
            }
            let ids = selected(ids)?;
            let count = if add {
                crate::segments::repo::add_members(&mut conn, &me, id, &ids).await?
            } else {
                crate::segments::repo::remove_members(&mut conn, &me, id, &ids).await?
            };
            tracing::info!(user_id = me.id, action = %action, segment_id = id, count, "bulk change on a segment");
            leptos_axum::redirect(&safe_back(back));
            return Ok(());
        }
        // Authorization first: an unknown action is refused like any other edit.
        let permission =
            if action == "delete" { Permission::ContactsDelete } else { Permission::ContactsEdit };
        let me = require(permission).await?;
        let change = match action.as_str() {
            "add_tag" => BulkChange::AddTag(tag.unwrap_or_default()),
            "remove_tag" => BulkChange::RemoveTag(tag.unwrap_or_default()),
            "set_status" => BulkChange::SetStatus(id_or_none(status_id)),
            "set_owner" => BulkChange::SetOwner(id_or_none(owner_id)),
            "set_field" => BulkChange::SetField(field.unwrap_or_default(), value.unwrap_or_default()),
            "delete" => BulkChange::Delete,
            _ => return Err(AppError::invalid("action", "Choose what to do with the selected contacts.")),
        };
        let ids = selected(ids)?;
        if matches!(change, BulkChange::Delete) && confirm.is_none() {
            return Err(AppError::invalid("confirm", "Tick the box to confirm the deletion."));
        }
        let count = repo::bulk_change(&mut conn().await?, me.id, &ids, &change).await?;
        tracing::info!(user_id = me.id, action = %action, count, "bulk change on contacts");
        leptos_axum::redirect(&safe_back(back));
        Ok(())
    }
    .await;
    respond(result)
}

/// Every tag with how many contacts carry it.
#[server(prefix = "/api/staff", endpoint = "tags")]
pub async fn list_tags() -> Result<Vec<(super::Choice, i64)>, AppError> {
    use server::*;
    let result = async {
        require(Permission::ContactsView).await?;
        Ok(repo::tag_counts(&mut conn().await?).await?)
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "rename_tag")]
pub async fn rename_tag(id: i64, name: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::TagsSegmentsManage).await?;
        repo::rename_tag(&mut conn().await?, id, &name).await?;
        leptos_axum::redirect("/staff/tags?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "merge_tags")]
pub async fn merge_tags(from: i64, into: i64) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::TagsSegmentsManage).await?;
        repo::merge_tags(&mut conn().await?, from, into).await?;
        leptos_axum::redirect("/staff/tags?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_tag")]
pub async fn delete_tag(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        require(Permission::TagsSegmentsManage).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "Tick the box to confirm: contacts lose this tag."));
        }
        repo::delete_tag(&mut conn().await?, id).await?;
        leptos_axum::redirect("/staff/tags?deleted=1");
        Ok(())
    }
    .await;
    respond(result)
}
