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
    /// An extra field (by key) gets this value on every selected contact; empty clears it. A
    /// multi select takes option labels separated by commas.
    SetField(String, String),
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
    // A field's new value is read before the transaction, like a form's.
    let set_field = match change {
        BulkChange::SetField(key, value) => Some(field_value(conn, ids, key, value).await?),
        _ => None,
    };
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
                if name.chars().count() > crate::contacts::MAX_TAG_LENGTH {
                    let max = crate::contacts::MAX_TAG_LENGTH;
                    return Err(AppError::invalid(
                        "tag",
                        format!("Tag names have at most {max} characters."),
                    ));
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
            BulkChange::SetStatus(status) => {
                with_db!(c, c => diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
                .set((
                    contacts::status_id.eq(status),
                    contacts::version.eq(contacts::version + 1),
                    contacts::updated_at.eq(at),
                    contacts::updated_by.eq(Some(actor_id)),
                ))
                .execute(c)
                .await)?
            }
            BulkChange::SetOwner(owner) => {
                // The form's rule (an active staff member), checked inside the transaction.
                super::check_owner(c, *owner).await?;
                with_db!(c, c => diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
                .set((
                    contacts::owner_id.eq(owner),
                    contacts::version.eq(contacts::version + 1),
                    contacts::updated_at.eq(at),
                    contacts::updated_by.eq(Some(actor_id)),
                ))
                .execute(c)
                .await)?
            }
            BulkChange::SetField(..) => {
                let Some((def, stored)) = &set_field else { return Ok(0) };
                // The field as it was checked, or the person is asked to try again.
                if crate::fields::repo::catalog(c).await?.field(&def.key) != Some(def) {
                    return Err(AppError::Conflict(
                        "The field was changed while you were saving. Reload the list and try again.".into(),
                    ));
                }
                let existing_ids: Vec<i64> = with_db!(c, c => contacts::table
                    .filter(contacts::id.eq_any(ids))
                    .select(contacts::id)
                    .load(c)
                    .await)?;
                for id in &existing_ids {
                    crate::fields::repo::write_field(c, *id, def, stored).await?;
                }
                if def.searchable {
                    super::refresh_search_text(c, &existing_ids).await?;
                }
                with_db!(c, c => diesel::update(contacts::table.filter(contacts::id.eq_any(&existing_ids)))
                    .set((
                        contacts::version.eq(contacts::version + 1),
                        contacts::updated_at.eq(at),
                        contacts::updated_by.eq(Some(actor_id)),
                    ))
                    .execute(c)
                    .await)?
            }
            BulkChange::Delete => super::delete_in_tx(c, ids).await?,
        };
        if !before.is_empty() {
            let after = snapshots(c, ids).await?;
            record_changes(c, actor_id, "Changed in a bulk action", &before, &after).await?;
        }
        Ok(touched)
    })
    .await
}

/// The field named `key` and the values `typed` stores, checked as a form would check them. A
/// unique field can be given a value on one contact at a time.
async fn field_value(
    conn: &mut DbConn,
    ids: &[i64],
    key: &str,
    typed: &str,
) -> Result<(crate::fields::FieldDef, Vec<crate::fields::values::Stored>), AppError> {
    let catalog = crate::fields::repo::catalog(conn).await?;
    let def = catalog.field(key).cloned().ok_or_else(|| AppError::invalid("field", "Choose a field."))?;
    let typed: Vec<String> = match def.kind {
        crate::fields::FieldKind::MultiSelect => typed.split(',').map(|t| t.trim().to_owned()).collect(),
        _ => vec![typed.to_owned()],
    };
    let stored = crate::fields::values::parse_labels(&def, &typed, &[], &conn.clock())
        .map_err(|message| AppError::invalid("value", message))?;
    if def.unique && !stored.is_empty() {
        if ids.len() > 1 {
            return Err(AppError::invalid(
                "value",
                format!("{} is unique: give it a value on one contact at a time.", def.label),
            ));
        }
        let parsed = vec![(def.id, stored.clone())];
        let clashes =
            crate::fields::repo::unique_clashes(conn, &catalog, &parsed, ids.first().copied()).await?;
        if let Some((_, message)) = clashes.fields.into_iter().next() {
            return Err(AppError::invalid("value", message));
        }
    }
    Ok((def, stored))
}
