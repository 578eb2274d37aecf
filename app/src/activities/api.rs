//! Server functions of the activity log. Reading needs "View contacts"; logging needs "Log
//! activities"; changing an entry needs to be its author (with "Log activities") or to hold "Edit or
//! delete anyone's activities". Change-history entries can never be changed. Clients are refused.

use leptos::prelude::*;

use super::{Activity, ActivityInput, OpenTask, Timeline};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::Permission;
    pub use crate::activities::repo::{self, Editor};
    pub use crate::activities::ActivityInput;
    pub use crate::api::{conn, respond};
    pub use crate::error::AppError;

    /// The signed-in staff member as an [`Editor`]; refuses anyone who may neither read contacts
    /// nor log activities.
    pub async fn editor() -> Result<Editor, AppError> {
        let me = crate::accounts::auth::require_staff().await?;
        let permissions = crate::accounts::auth::permissions_of(&me).await?;
        if !permissions.contains(&Permission::ContactsView) {
            return Err(AppError::Forbidden);
        }
        Ok(Editor {
            actor: crate::users::repo::Actor::from(&me),
            can_log: permissions.contains(&Permission::ActivitiesCreate),
            manage_all: permissions.contains(&Permission::ActivitiesManageAll),
        })
    }

    /// Like [`editor`], for someone about to change entries.
    pub async fn writer() -> Result<Editor, AppError> {
        let editor = editor().await?;
        if editor.can_log || editor.manage_all {
            Ok(editor)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Echoes the form's values with any error, so nothing typed is lost.
    pub fn keep_input(err: AppError, input: &ActivityInput) -> AppError {
        let echo = input.echo();
        let echo: Vec<(&str, &str)> = echo.iter().map(|(k, v)| (*k, v.as_str())).collect();
        err.keeping_input(&echo)
    }

    /// Where to go after a change: a page of the staff area the form came from, or the contact.
    pub fn back_to(back: Option<String>, contact_id: i64) -> String {
        back.filter(|b| b.starts_with("/staff") && !b.starts_with("//") && !b.chars().any(char::is_control))
            .unwrap_or_else(|| format!("/staff/contacts/{contact_id}"))
    }
}

/// The newest entries of a contact's timeline; `kind` filters by type, `shown` asks for more.
#[server(prefix = "/api/staff", endpoint = "timeline")]
pub async fn load_timeline(
    contact_id: i64,
    kind: Option<String>,
    shown: Option<i64>,
) -> Result<Timeline, AppError> {
    use server::*;
    let result = async {
        let editor = editor().await?;
        let mut conn = conn().await?;
        let kind = kind.as_deref().and_then(super::ActivityKind::parse);
        let limit = shown.unwrap_or(super::TIMELINE_STEP).clamp(1, 1000);
        let (entries, has_more) = repo::timeline(&mut conn, &editor, contact_id, kind, limit).await?;
        let now = conn.clock().local(crate::clock::now());
        Ok(Timeline {
            entries,
            has_more,
            can_log: editor.can_log,
            today: now.format("%Y-%m-%d").to_string(),
            now: now.format("%Y-%m-%dT%H:%M").to_string(),
        })
    }
    .await;
    respond(result)
}

/// Logs an activity on a contact, then shows the contact's timeline.
#[server(prefix = "/api/staff", endpoint = "log_activity")]
pub async fn log_activity(contact_id: i64, #[server(default)] input: ActivityInput) -> Result<(), AppError> {
    use server::*;
    let result = async {
        // Like every activity function, logging also needs "View contacts".
        let editor = editor().await?;
        if !editor.can_log {
            return Err(AppError::Forbidden);
        }
        repo::create(&mut conn().await?, &editor.actor, contact_id, &input)
            .await
            .map_err(|e| keep_input(e, &input))?;
        leptos_axum::redirect(&format!("/staff/contacts/{contact_id}?logged=1#timeline"));
        Ok(())
    }
    .await;
    respond(result)
}

/// One entry, for its edit page.
#[server(prefix = "/api/staff", endpoint = "activity")]
pub async fn load_activity(id: i64) -> Result<Activity, AppError> {
    use server::*;
    let result = async {
        let editor = writer().await?;
        let mut conn = conn().await?;
        let activity = repo::get(&mut conn, &editor, id).await?.ok_or(AppError::NotFound)?;
        if !activity.can_modify {
            return Err(AppError::Forbidden);
        }
        Ok(activity)
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "save_activity")]
pub async fn save_activity(id: i64, #[server(default)] input: ActivityInput) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let editor = writer().await?;
        let mut conn = conn().await?;
        let contact_id =
            repo::update(&mut conn, &editor, id, &input).await.map_err(|e| keep_input(e, &input))?;
        leptos_axum::redirect(&format!("/staff/contacts/{contact_id}?saved=1#activity-{id}"));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_activity")]
pub async fn delete_activity(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let editor = writer().await?;
        let mut conn = conn().await?;
        let contact_id = repo::delete(&mut conn, &editor, id, confirm.is_some()).await?;
        leptos_axum::redirect(&format!("/staff/contacts/{contact_id}?deleted=1#timeline"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Marks a task done (`done` = "yes") or open again, then goes back to where the button was.
#[server(prefix = "/api/staff", endpoint = "complete_task")]
pub async fn complete_task(id: i64, done: String, back: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let editor = writer().await?;
        let mut conn = conn().await?;
        let contact_id = repo::set_done(&mut conn, &editor, id, done == "yes").await?;
        leptos_axum::redirect(&back_to(back, contact_id));
        Ok(())
    }
    .await;
    respond(result)
}

/// The signed-in staff member's open tasks, due soonest first; `None` for staff who may not read
/// contacts (the dashboard then has no tasks section, and the page itself is not refused).
#[server(prefix = "/api/staff", endpoint = "my_tasks")]
pub async fn my_open_tasks() -> Result<Option<Vec<OpenTask>>, AppError> {
    use server::*;
    let result = async {
        let me = crate::accounts::auth::require_staff().await?;
        let permissions = crate::accounts::auth::permissions_of(&me).await?;
        let mut conn = conn().await?;
        if !permissions.contains(&Permission::ContactsView) {
            return Ok(None);
        }
        let today = conn.clock().today();
        Ok(Some(repo::open_tasks(&mut conn, me.id, today).await?))
    }
    .await;
    respond(result)
}
