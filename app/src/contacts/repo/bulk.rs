//! Bulk actions on selected contacts, each in one transaction with its history entries.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::tagging::{find_or_create_tag, find_tag};
use super::{history::snapshots, record_changes};
use crate::clock::now;
use crate::db::schema::{contact_tags, contacts};
use crate::db::{with_db, DbConn};
use crate::error::AppError;

/// What a bulk action does to the selected contacts.
#[derive(Debug, Clone)]
pub enum BulkChange {
    AddTag(String),
    RemoveTag(String),
    SetStatus(Option<i64>),
    SetOwner(Option<i64>),
    Delete,
}

/// Applies `change` to the contacts `ids` in one transaction; returns how many were affected.
/// Every changed contact gets a new version, so a form opened before sees a conflict.
pub async fn bulk_change(
    conn: &mut DbConn,
    actor_id: i64,
    ids: &[i64],
    change: &BulkChange,
) -> Result<usize, AppError> {
    let at = now();
    conn.contacts_tx(async |c: &mut DbConn| {
        let before = match change {
            BulkChange::Delete => BTreeMap::new(),
            _ => snapshots(c, ids).await?,
        };
        let touched = match change {
            BulkChange::AddTag(name) | BulkChange::RemoveTag(name) => {
                let name = name.trim();
                if name.is_empty() {
                    return Err(AppError::invalid("tag", "Enter the tag's name."));
                }
                let adding = matches!(change, BulkChange::AddTag(_));
                let tag_id = match adding {
                    true => find_or_create_tag(c, name).await?,
                    false => match find_tag(c, name).await? {
                        Some(id) => id,
                        None => return Ok(0),
                    },
                };
                let current: Vec<i64> = with_db!(c, c => contact_tags::table
                    .filter(contact_tags::tag_id.eq(tag_id).and(contact_tags::contact_id.eq_any(ids)))
                    .select(contact_tags::contact_id)
                    .load(c)
                    .await)?;
                let existing_ids: Vec<i64> = with_db!(c, c => contacts::table
                    .filter(contacts::id.eq_any(ids))
                    .select(contacts::id)
                    .load(c)
                    .await)?;
                let changed: Vec<i64> = if adding {
                    existing_ids.into_iter().filter(|id| !current.contains(id)).collect()
                } else {
                    current
                };
                if adding {
                    for id in &changed {
                        with_db!(c, c => diesel::insert_into(contact_tags::table)
                            .values((contact_tags::contact_id.eq(id), contact_tags::tag_id.eq(tag_id)))
                            .execute(c)
                            .await)?;
                    }
                } else {
                    with_db!(c, c => diesel::delete(contact_tags::table.filter(
                        contact_tags::tag_id.eq(tag_id).and(contact_tags::contact_id.eq_any(&changed)),
                    ))
                    .execute(c)
                    .await)?;
                }
                with_db!(c, c => diesel::update(contacts::table.filter(contacts::id.eq_any(&changed)))
                    .set((
                        contacts::version.eq(contacts::version + 1),
                        contacts::updated_at.eq(at),
                        contacts::updated_by.eq(Some(actor_id)),
                    ))
                    .execute(c)
                    .await)?
            }
            BulkChange::SetStatus(status) => with_db!(c, c => diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
                .set((
                    contacts::status_id.eq(status),
                    contacts::version.eq(contacts::version + 1),
                    contacts::updated_at.eq(at),
                    contacts::updated_by.eq(Some(actor_id)),
                ))
                .execute(c)
                .await)?,
            BulkChange::SetOwner(owner) => with_db!(c, c => diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
                .set((
                    contacts::owner_id.eq(owner),
                    contacts::version.eq(contacts::version + 1),
                    contacts::updated_at.eq(at),
                    contacts::updated_by.eq(Some(actor_id)),
                ))
                .execute(c)
                .await)?,
            BulkChange::Delete => {
                crate::accounts::repo::unlink_contacts(c, ids).await?;
                with_db!(c, c => diesel::delete(contacts::table.filter(contacts::id.eq_any(ids))).execute(c).await)?
            }
        };
        if !before.is_empty() {
            let after = snapshots(c, ids).await?;
            record_changes(c, actor_id, "Changed in a bulk action", &before, &after).await?;
        }
        Ok(touched)
    })
    .await
}
