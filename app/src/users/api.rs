//! Server functions of the users slice. Managing users and groups needs `Permission::UsersManage`
//! (administrators have every permission); the profile functions act on the caller only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{AuditEntry, GroupDetails, UserPage, UserSummary};
use crate::error::AppError;

/// A user with what the edit page offers to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEditor {
    pub user: UserSummary,
    pub group_ids: Vec<i64>,
    pub groups: Vec<(i64, String)>,
    pub is_self: bool,
    /// Contacts this user owns, and who could take them over if the user is deleted.
    pub owned_contacts: i64,
    pub colleagues: Vec<(i64, String)>,
}

/// A group editor: the group (None for a new one) and the staff who could be members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEditor {
    pub group: Option<GroupDetails>,
    pub staff: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: i64,
    pub pages: i64,
}

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::auth::require;
    pub use crate::accounts::Permission;
    pub use crate::api::{conn, respond};
    pub use crate::users::repo::{self, Actor};
}

/// Only an administrator changes an administrator's account or makes someone one: "Manage users
/// and groups" alone would otherwise let a staff member make themselves an administrator, or take
/// over or lock out one (reset their password, send a link, deactivate, delete).
#[cfg(feature = "ssr")]
async fn guard_administrators(
    me: &crate::accounts::repo::Account,
    target: i64,
    makes_admin: bool,
) -> Result<(), AppError> {
    if me.is_admin {
        return Ok(());
    }
    let target = crate::accounts::repo::find_by_id(&mut server::conn().await?, target).await?;
    if makes_admin || target.is_some_and(|t| t.is_admin) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

#[server(prefix = "/api/staff", endpoint = "users")]
pub async fn list_users(
    search: Option<String>,
    kind: Option<String>,
    group_id: Option<i64>,
    active: Option<bool>,
    page: Option<i64>,
) -> Result<UserPage, AppError> {
    use server::*;
    let result = async {
        require(Permission::UsersManage).await?;
        let filter = super::UserFilter {
            search: search.unwrap_or_default(),
            kind: kind.as_deref().and_then(crate::accounts::UserKind::parse),
            group_id,
            active,
            page: page.unwrap_or(1),
        };
        Ok(repo::list_users(&mut conn().await?, &filter).await?)
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "user")]
pub async fn load_user(id: i64) -> Result<UserEditor, AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        let mut conn = conn().await?;
        let account = crate::accounts::repo::find_by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        let group_ids = repo::group_ids_of(&mut conn, id).await?;
        let groups = repo::list_groups(&mut conn).await?.into_iter().map(|g| (g.id, g.name)).collect();
        let filter = super::UserFilter { search: account.email.clone(), ..Default::default() };
        let user = repo::list_users(&mut conn, &filter)
            .await?
            .users
            .into_iter()
            .find(|u| u.id == id)
            .ok_or(AppError::NotFound)?;
        let owned_contacts = repo::owned_contacts(&mut conn, id).await?;
        let colleagues = crate::contacts::repo::choices(&mut conn)
            .await?
            .owners
            .into_iter()
            .filter(|o| o.id != id)
            .map(|o| (o.id, o.name))
            .collect();
        Ok(UserEditor { user, group_ids, groups, is_self: me.id == id, owned_contacts, colleagues })
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "save_user")]
pub async fn save_user(
    id: i64,
    display_name: String,
    email: String,
    is_admin: Option<String>,
    group_ids: Option<Vec<i64>>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        guard_administrators(&me, id, is_admin.is_some()).await?;
        let (display_name, email) = (display_name.trim().to_owned(), email.trim().to_owned());
        let mut errors = crate::error::FieldErrors::new();
        if display_name.is_empty() {
            errors.add("display_name", "Enter a name.");
        }
        if let Err(m) = crate::accounts::api::validate_email(&email) {
            errors.add("email", m);
        }
        errors.with_values(&[("display_name", &display_name), ("email", &email)]).into_result()?;
        let update = repo::UserUpdate {
            display_name,
            email,
            is_admin: is_admin.is_some(),
            group_ids: group_ids.unwrap_or_default(),
        };
        repo::update_user(&mut conn().await?, &Actor::from(&me), id, &update).await?;
        leptos_axum::redirect(&format!("/staff/users/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "set_user_active")]
pub async fn set_user_active(id: i64, active: bool) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        guard_administrators(&me, id, false).await?;
        repo::set_active(&mut conn().await?, &Actor::from(&me), id, active, repo::Through::UserManagement)
            .await?;
        leptos_axum::redirect(&format!("/staff/users/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "reset_password")]
pub async fn reset_user_password(id: i64, password: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        guard_administrators(&me, id, false).await?;
        let mut conn = conn().await?;
        let account = crate::accounts::repo::find_by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        crate::accounts::password::check_rules(&password, &[&account.email, &account.display_name])
            .map_err(|m| AppError::invalid("password", m))?;
        let hash = crate::accounts::password::hash(&password).await;
        repo::reset_password(&mut conn, &Actor::from(&me), id, &hash).await?;
        leptos_axum::redirect(&format!("/staff/users/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_user")]
pub async fn delete_user(
    id: i64,
    confirm: Option<String>,
    new_owner: Option<String>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        guard_administrators(&me, id, false).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "Tick the box to confirm the deletion."));
        }
        let new_owner = new_owner.and_then(|o| o.trim().parse().ok());
        repo::delete_user(&mut conn().await?, &Actor::from(&me), id, new_owner).await?;
        leptos_axum::redirect("/staff/users?deleted=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "groups")]
pub async fn list_groups() -> Result<Vec<GroupDetails>, AppError> {
    use server::*;
    let result = async {
        require(Permission::UsersManage).await?;
        Ok(repo::list_groups(&mut conn().await?).await?)
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "group")]
pub async fn load_group(id: Option<i64>) -> Result<GroupEditor, AppError> {
    use server::*;
    let result = async {
        require(Permission::UsersManage).await?;
        let mut conn = conn().await?;
        let group = match id {
            Some(id) => Some(repo::get_group(&mut conn, id).await?.ok_or(AppError::NotFound)?),
            None => None,
        };
        let filter = super::UserFilter { kind: Some(crate::accounts::UserKind::Staff), ..Default::default() };
        let mut staff = Vec::new();
        let mut page = 1;
        loop {
            let found = repo::list_users(&mut conn, &super::UserFilter { page, ..filter.clone() }).await?;
            staff.extend(found.users.into_iter().map(|u| (u.id, u.display_name)));
            if page >= found.pages {
                break;
            }
            page += 1;
        }
        Ok(GroupEditor { group, staff })
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "save_group")]
pub async fn save_group(
    id: Option<i64>,
    name: String,
    description: String,
    permissions: Option<Vec<String>>,
    member_ids: Option<Vec<i64>>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        let name = name.trim().to_owned();
        let mut errors = crate::error::FieldErrors::new();
        if name.is_empty() {
            errors.add("name", "Enter a name for the group.");
        }
        errors.with_values(&[("name", &name), ("description", &description)]).into_result()?;
        let input = repo::GroupInput {
            name,
            description: description.trim().to_owned(),
            permissions: permissions
                .unwrap_or_default()
                .iter()
                .filter_map(|k| Permission::from_key(k))
                .collect(),
            member_ids: member_ids.unwrap_or_default().into_iter().collect(),
        };
        let saved = repo::save_group(&mut conn().await?, &Actor::from(&me), id, &input).await?;
        leptos_axum::redirect(&format!("/staff/groups/{saved}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_group")]
pub async fn delete_group(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        if confirm.is_none() {
            return Err(AppError::invalid(
                "confirm",
                "Tick the box to confirm: members lose this group's permissions.",
            ));
        }
        repo::delete_group(&mut conn().await?, &Actor::from(&me), id).await?;
        leptos_axum::redirect("/staff/groups?deleted=1");
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "audit")]
pub async fn list_audit(page: Option<i64>) -> Result<AuditPage, AppError> {
    use server::*;
    let result = async {
        require(Permission::UsersManage).await?;
        let page = page.unwrap_or(1).max(1);
        let (entries, pages) = repo::list_audit(&mut conn().await?, page).await?;
        Ok(AuditPage { entries, page, pages })
    }
    .await;
    respond(result)
}

/// Creates a one-time link that lets the user choose a new password; shown once to the admin.
#[server(prefix = "/api/staff", endpoint = "password_link")]
pub async fn create_password_link(id: i64) -> Result<String, AppError> {
    use server::*;
    let result = async {
        let me = require(Permission::UsersManage).await?;
        guard_administrators(&me, id, false).await?;
        let token = repo::create_password_token(&mut conn().await?, &Actor::from(&me), id).await?;
        crate::api::absolute_url("/set-password", &[("token", &token)]).await
    }
    .await;
    respond(result)
}

/// Sets a new password through a one-time link (no sign-in needed: the link is the proof).
#[server(prefix = "/api/public", endpoint = "set_password")]
pub async fn set_password_with_link(token: String, password: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        repo::use_password_token(&mut conn().await?, token.trim(), &password).await?;
        leptos_axum::redirect("/login?password_set=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// The caller's own profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub display_name: String,
    pub email: String,
}

#[server(prefix = "/api/staff", endpoint = "profile")]
pub async fn load_profile() -> Result<Profile, AppError> {
    use server::*;
    let result = async {
        let me = crate::accounts::auth::require_staff().await?;
        Ok(Profile { display_name: me.display_name, email: me.email })
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "rename")]
pub async fn rename_self(display_name: String) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = crate::accounts::auth::require_staff().await?;
        let display_name = display_name.trim().to_owned();
        if display_name.is_empty() || display_name.chars().count() > 100 {
            return Err(AppError::Invalid(
                crate::error::FieldErrors {
                    fields: vec![("display_name".into(), "Enter a name of at most 100 characters.".into())],
                    ..Default::default()
                }
                .with_values(&[("display_name", &display_name)]),
            ));
        }
        crate::accounts::repo::rename(&mut conn().await?, me.id, &display_name).await?;
        leptos_axum::redirect("/staff/profile?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// Changes the caller's password; the current one is required, and their other sessions end.
#[server(prefix = "/api/staff", endpoint = "change_password")]
pub async fn change_own_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::accounts::{auth, password};
    use server::*;
    let result = async {
        let me = auth::require_staff().await?;
        // Guessing the current password (in a session left open) is throttled like sign-in, and
        // counts against the same allowance.
        let ip = auth::client_ip().await;
        let now = crate::clock::now();
        let policy = crate::accounts::throttle::Policy::default();
        let attempt = policy.claim(&mut conn().await?, &me.email, &ip, now, false).await?;
        if attempt == crate::accounts::throttle::Attempt::Throttled {
            return Err(AppError::invalid(
                "current_password",
                "Too many wrong passwords. Wait a little, then try again.",
            ));
        }
        if !password::verify_bounded(&current_password, &me.password_hash).await? {
            return Err(AppError::invalid("current_password", "That is not your current password."));
        }
        crate::accounts::repo::forget_failures(&mut conn().await?, &me.email, &ip).await?;
        password::check_rules(&new_password, &[&me.email, &me.display_name])
            .map_err(|m| AppError::invalid("new_password", m))?;
        let hash = password::hash(&new_password).await;
        let mut conn = conn().await?;
        crate::accounts::repo::set_password(&mut conn, me.id, &hash).await?;
        // Sessions are bound to the password hash: refresh this one so it stays signed in…
        let mut session = auth::auth_session().await?;
        let updated = crate::accounts::repo::find_by_id(&mut conn, me.id).await?.ok_or(AppError::NotFound)?;
        session.login(&updated).await.map_err(|_| AppError::Unavailable)?;
        // …and end the others at once.
        if let Some(id) = session.session.id() {
            crate::accounts::repo::end_other_sessions(&mut conn, me.id, &id.to_string()).await?;
        }
        leptos_axum::redirect("/staff/profile?password=1");
        Ok(())
    }
    .await;
    respond(result)
}
