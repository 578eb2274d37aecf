//! Server functions of the segments slice. Every one needs contact access; private segments
//! are their owner's alone, and shared ones are changed by staff who may manage segments. Each
//! checks who is calling, and their right to the segment, before reading its input.
#![cfg_attr(feature = "hydrate", allow(clippy::too_many_arguments))]

use leptos::prelude::*;

use super::{ConditionRow, Membership, Preview, Segment, SegmentRef, SegmentSummary, Why};
use crate::contacts::ContactListParams;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    pub use crate::accounts::auth::require;
    pub use crate::accounts::Permission;
    pub use crate::api::{conn, respond};
    pub use crate::segments::{repo, Draft};
}

/// The caller as the repository sees them: staff with contact access.
#[cfg(feature = "ssr")]
pub(crate) async fn viewer() -> Result<super::repo::Viewer, AppError> {
    use server::*;
    let me = require(Permission::ContactsView).await?;
    let manage = me.is_admin
        || crate::accounts::auth::permissions_of(&me).await?.contains(&Permission::SegmentsManage);
    Ok(repo::Viewer { id: me.id, name: me.display_name.clone(), manage })
}

#[server(prefix = "/api/staff", endpoint = "segments")]
pub async fn list_segments() -> Result<Vec<SegmentSummary>, AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        repo::list(&mut conn().await?, &me).await
    }
    .await;
    respond(result)
}

/// The segments the caller may see, by name (for pickers and the contact list's filter).
#[server(prefix = "/api/staff", endpoint = "segment_refs")]
pub async fn segment_refs() -> Result<Vec<SegmentRef>, AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        repo::references(&mut conn().await?, &me).await
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "segment")]
pub async fn load_segment(id: i64) -> Result<Segment, AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        repo::get(&mut conn().await?, &me, id).await
    }
    .await;
    respond(result)
}

/// The builder's live count and sample for a draft (the JSON the editor's URL carries).
#[server(prefix = "/api/staff", endpoint = "preview_segment")]
pub async fn preview_segment(draft: String) -> Result<Preview, AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let draft = Draft::parse(&draft).unwrap_or_default();
        repo::preview(&mut conn().await?, &me, &draft).await
    }
    .await;
    respond(result)
}

/// The builder's form. `intent` is the button pressed: `save`, or an edit of the draft
/// (`add:<group>` a condition, `add_group`, `remove:<condition>`, `preview`, also what a
/// change submits), after which the editor opens again with the draft in its address (as it
/// does when a save finds mistakes, with `tried=1`). `join` is the top group's
/// "all"/"any", `g[]` each nested group's.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/staff", endpoint = "edit_segment")]
pub async fn edit_segment(
    id: Option<i64>,
    version: Option<i64>,
    #[server(default)] name: String,
    #[server(default)] kind: String,
    shared: Option<String>,
    #[server(default)] join: String,
    g: Option<Vec<String>>,
    c: Option<Vec<ConditionRow>>,
    intent: Option<String>,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let mut conn = conn().await?;
        if let Some(id) = id {
            let row = repo::visible(&mut conn, &me, id).await?;
            if !row.editable_by(&me) {
                return Err(AppError::Forbidden);
            }
        }
        let mut draft = super::draft_from_form(
            id,
            version,
            name,
            &kind,
            shared.is_some(),
            &join,
            g.unwrap_or_default(),
            c.unwrap_or_default(),
        );
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        super::normalize(&mut draft.rules, &catalog);
        if let Some(id) = id {
            // The kind stays what it was created as.
            draft.kind = repo::visible(&mut conn, &me, id).await?.kind();
        }
        let intent = intent.unwrap_or_default();
        let (intent, at) = intent.split_once(':').unwrap_or((intent.as_str(), ""));
        let at = at.parse::<usize>().unwrap_or(usize::MAX);
        let mut href = None;
        match intent {
            "save" => {
                if draft.shared && !me.manage {
                    return Err(AppError::Forbidden);
                }
                match repo::save(&mut conn, &me, &draft).await {
                    Ok(id) => {
                        leptos_axum::redirect(&format!("/staff/segments/{id}?saved=1"));
                        return Ok(());
                    }
                    // Back to the editor with everything as typed, and what is wrong beside it.
                    Err(AppError::Invalid(_)) => href = Some(format!("{}&tried=1", draft.href())),
                    Err(e) => return Err(e),
                }
            }
            "add" => super::add_condition(&mut draft.rules, at),
            "add_group" => super::add_group(&mut draft.rules),
            "remove" => super::remove_condition(&mut draft.rules, at),
            _ => {}
        }
        leptos_axum::redirect(&href.unwrap_or_else(|| draft.href()));
        Ok(())
    }
    .await;
    respond(result)
}

#[server(prefix = "/api/staff", endpoint = "delete_segment")]
pub async fn delete_segment(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let mut conn = conn().await?;
        let row = repo::visible(&mut conn, &me, id).await?;
        if !row.editable_by(&me) {
            return Err(AppError::Forbidden);
        }
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "Tick the box to confirm the deletion."));
        }
        repo::delete(&mut conn, &me, id).await?;
        leptos_axum::redirect("/staff/segments?saved=1");
        Ok(())
    }
    .await;
    respond(result)
}

/// A private copy of a segment the caller can see, opened in the editor.
#[server(prefix = "/api/staff", endpoint = "duplicate_segment")]
pub async fn duplicate_segment(id: i64) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let new_id = repo::duplicate(&mut conn().await?, &me, id).await?;
        leptos_axum::redirect(&format!("/staff/segments/{new_id}/edit"));
        Ok(())
    }
    .await;
    respond(result)
}

/// Takes a snapshot's member list again (the previous one stays in its history).
#[server(prefix = "/api/staff", endpoint = "refresh_segment")]
pub async fn refresh_segment(id: i64) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let mut conn = conn().await?;
        let row = repo::visible(&mut conn, &me, id).await?;
        if !row.editable_by(&me) {
            return Err(AppError::Forbidden);
        }
        repo::refresh(&mut conn, &me, id).await?;
        leptos_axum::redirect(&format!("/staff/segments/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

/// "Save as segment" on the contact list: its search and filters as a new private dynamic
/// segment, opened in the editor.
#[server(prefix = "/api/staff", endpoint = "save_list_as_segment")]
pub async fn save_list_as_segment(
    #[server(default)] list: ContactListParams,
    #[server(default)] name: String,
) -> Result<(), AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let mut conn = conn().await?;
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        let rules = super::rules_of_list(&list, &catalog);
        let name = if name.trim().is_empty() { "Saved contact list".to_owned() } else { name };
        let draft = Draft { name, rules, ..Draft::default() };
        let id = repo::save(&mut conn, &me, &draft).await?;
        leptos_axum::redirect(&format!("/staff/segments/{id}?saved=1"));
        Ok(())
    }
    .await;
    respond(result)
}

/// The segments a contact belongs to (that the caller can see), with why.
#[server(prefix = "/api/staff", endpoint = "contact_segments")]
pub async fn contact_segments(id: i64) -> Result<Vec<Membership>, AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        repo::memberships(&mut conn().await?, &me, id).await
    }
    .await;
    respond(result)
}

/// Why a contact is in a segment.
#[server(prefix = "/api/staff", endpoint = "why_in_segment")]
pub async fn why_in_segment(id: i64, contact: i64) -> Result<(SegmentRef, String, Why), AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let mut conn = conn().await?;
        let (segment, why) = repo::why(&mut conn, &me, id, contact).await?;
        let name =
            crate::contacts::repo::get(&mut conn, contact).await?.ok_or(AppError::NotFound)?.display_name();
        Ok((segment, name, why))
    }
    .await;
    respond(result)
}

/// The builder: the draft in the editor's address (or the stored segment, or a new one of
/// `kind`), its live preview and the pickers' choices.
#[server(prefix = "/api/staff", endpoint = "segment_editor")]
pub async fn segment_editor(
    id: Option<i64>,
    draft: Option<String>,
    kind: Option<String>,
) -> Result<super::Editor, AppError> {
    use server::*;
    let result = async {
        let me = viewer().await?;
        let mut conn = conn().await?;
        let stored = match id {
            Some(id) => {
                let row = repo::visible(&mut conn, &me, id).await?;
                if !row.editable_by(&me) {
                    return Err(AppError::Forbidden);
                }
                Some(row)
            }
            None => None,
        };
        let mut draft = match (draft.as_deref().and_then(Draft::parse), &stored) {
            (Some(draft), _) => draft,
            (None, Some(row)) => Draft {
                id: Some(row.id),
                version: Some(row.version),
                name: row.name.clone(),
                kind: row.kind(),
                shared: row.shared,
                rules: row.rules(),
            },
            (None, None) => {
                super::new_draft(kind.as_deref().and_then(super::SegmentKind::parse).unwrap_or_default())
            }
        };
        if let Some(row) = &stored {
            // The address cannot move a draft to another segment or kind.
            draft.id = Some(row.id);
            draft.kind = row.kind();
        }
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        super::normalize(&mut draft.rules, &catalog);
        let preview = if draft.kind.has_rules() {
            repo::preview(&mut conn, &me, &draft).await?
        } else {
            Preview::default()
        };
        let choices = crate::contacts::repo::choices(&mut conn).await?;
        let segments =
            repo::references(&mut conn, &me).await?.into_iter().filter(|s| Some(s.id) != draft.id).collect();
        Ok(super::Editor { draft, preview, choices, catalog, segments, can_share: me.manage })
    }
    .await;
    respond(result)
}
