//! The three settings lists, for both backends. They share id, name and position columns, so one
//! query serves all three; statuses alone have a colour.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{SettingItem, SettingsList};
use crate::contacts::repo as contacts_repo;
use crate::db::schema::{contact_services, contact_statuses, contacts};
use crate::db::{with_db, DbConn, DbError};
use crate::error::AppError;

/// Runs `$body` with `$t` naming the list's table module.
macro_rules! on_list {
    ($which:expr, $t:ident => $body:expr) => {
        match $which {
            SettingsList::Statuses => {
                use crate::db::schema::contact_statuses as $t;
                $body
            }
            SettingsList::Services => {
                use crate::db::schema::services as $t;
                $body
            }
            SettingsList::Sources => {
                use crate::db::schema::traffic_sources as $t;
                $body
            }
        }
    };
}

fn valid_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

pub async fn list(conn: &mut DbConn, which: SettingsList) -> Result<Vec<SettingItem>, DbError> {
    let rows: Vec<(i64, String)> = with_db!(conn, c => on_list!(which, t => t::table
        .order((t::position, t::id))
        .select((t::id, t::name))
        .load(c)
        .await))?;
    let colors: BTreeMap<i64, String> = match which {
        SettingsList::Statuses => with_db!(conn, c => contact_statuses::table
            .select((contact_statuses::id, contact_statuses::color))
            .load::<(i64, String)>(c)
            .await)?
        .into_iter()
        .collect(),
        _ => BTreeMap::new(),
    };
    let counts: Vec<(Option<i64>, i64)> = match which {
        SettingsList::Statuses => with_db!(conn, c => contacts::table
            .group_by(contacts::status_id)
            .select((contacts::status_id, diesel::dsl::count_star()))
            .load(c)
            .await)?,
        SettingsList::Sources => with_db!(conn, c => contacts::table
            .group_by(contacts::traffic_source_id)
            .select((contacts::traffic_source_id, diesel::dsl::count_star()))
            .load(c)
            .await)?,
        SettingsList::Services => with_db!(conn, c => contact_services::table
            .group_by(contact_services::service_id)
            .select((contact_services::service_id.nullable(), diesel::dsl::count_star()))
            .load(c)
            .await)?,
    };
    let counts: BTreeMap<i64, i64> = counts.into_iter().filter_map(|(id, n)| id.map(|id| (id, n))).collect();
    Ok(rows
        .into_iter()
        .map(|(id, name)| SettingItem {
            color: colors.get(&id).cloned(),
            contacts: counts.get(&id).copied().unwrap_or(0),
            id,
            name,
        })
        .collect())
}

fn check_name(name: &str) -> Result<String, AppError> {
    // A NUL cannot be stored on PostgreSQL; nobody can see it either.
    let name = name.replace('\0', "");
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name", "Enter a name of at most 100 characters."));
    }
    Ok(name.to_owned())
}

const TAKEN: &str = "This list already has an entry with that name.";

/// Adds an entry at the end of the list.
pub async fn add(
    conn: &mut DbConn,
    which: SettingsList,
    name: &str,
    color: Option<&str>,
) -> Result<i64, AppError> {
    let name = check_name(name)?;
    let key = crate::db::fold(&name);
    let color = color.map(str::trim).filter(|c| !c.is_empty()).unwrap_or("#64748b").to_owned();
    if which == SettingsList::Statuses && !valid_color(&color) {
        return Err(AppError::invalid("color", "Use a colour like #2563eb."));
    }
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => on_list!(which, t => {
        let taken: i64 = t::table.filter(t::name_key.eq(&key)).count().get_result(c).await?;
        if taken > 0 {
            return Err(AppError::invalid("name", TAKEN));
        }
        let last: Option<i32> = t::table.select(diesel::dsl::max(t::position)).first(c).await?;
        let id: i64 = diesel::insert_into(t::table)
            .values((t::name.eq(&name), t::name_key.eq(&key), t::position.eq(last.unwrap_or(0) + 1)))
            .returning(t::id)
            .get_result(c)
            .await?;
        if which == SettingsList::Statuses {
            diesel::update(contact_statuses::table.find(id)).set(contact_statuses::color.eq(&color)).execute(c).await?;
        }
        Ok::<_, AppError>(id)
    })))
        .await
}

/// Renames an entry (and recolours a status).
pub async fn rename(
    conn: &mut DbConn,
    which: SettingsList,
    id: i64,
    name: &str,
    color: Option<&str>,
) -> Result<(), AppError> {
    let name = check_name(name)?;
    let key = crate::db::fold(&name);
    let color = color.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    if let Some(color) = &color {
        if !valid_color(color) {
            return Err(AppError::invalid("color", "Use a colour like #2563eb."));
        }
    }
    conn.contacts_tx(async |c: &mut DbConn| with_db!(c, c => on_list!(which, t => {
        let taken: i64 = t::table.filter(t::name_key.eq(&key).and(t::id.ne(id))).count().get_result(c).await?;
        if taken > 0 {
            return Err(AppError::invalid("name", TAKEN));
        }
        let n = diesel::update(t::table.find(id)).set((t::name.eq(&name), t::name_key.eq(&key))).execute(c).await?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        if let (SettingsList::Statuses, Some(color)) = (which, &color) {
            diesel::update(contact_statuses::table.find(id)).set(contact_statuses::color.eq(color)).execute(c).await?;
        }
        Ok::<_, AppError>(())
    })))
        .await
}

/// Moves an entry one place up or down the list.
pub async fn move_item(conn: &mut DbConn, which: SettingsList, id: i64, up: bool) -> Result<(), AppError> {
    conn.contacts_tx(async |c: &mut DbConn| with_db!(c, c => on_list!(which, t => {
        let order: Vec<i64> = t::table.order((t::position, t::id)).select(t::id).load(c).await?;
        let at = order.iter().position(|x| *x == id).ok_or(AppError::NotFound)?;
        let other = if up { at.checked_sub(1) } else { Some(at + 1).filter(|o| *o < order.len()) };
        let Some(other) = other else { return Ok(()) };
        let mut order = order;
        order.swap(at, other);
        for (position, item) in order.iter().enumerate() {
            diesel::update(t::table.find(item)).set(t::position.eq(position as i32 + 1)).execute(c).await?;
        }
        Ok::<_, AppError>(())
    })))
        .await
}

/// Deletes an entry; its contacts move to `move_to` (or keep none of this kind).
pub async fn delete(
    conn: &mut DbConn,
    which: SettingsList,
    id: i64,
    move_to: Option<i64>,
) -> Result<(), AppError> {
    if move_to == Some(id) {
        return Err(AppError::invalid("move_to", "Choose a different entry to move the contacts to."));
    }
    conn.contacts_tx(async |c: &mut DbConn| {
        // The contacts are the contacts slice's to change.
        match which {
            SettingsList::Statuses => contacts_repo::replace_status(c, id, move_to).await?,
            SettingsList::Sources => contacts_repo::replace_traffic_source(c, id, move_to).await?,
            SettingsList::Services => contacts_repo::replace_service(c, id, move_to).await?,
        };
        let n = with_db!(c, c => on_list!(which, t => diesel::delete(t::table.find(id)).execute(c).await))?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::{repo as contacts_repo, ContactInput};
    use crate::db::testing::each_backend;

    #[tokio::test(flavor = "multi_thread")]
    async fn lists_are_added_renamed_reordered_and_deleted_with_their_contacts_moved() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let statuses = list(&mut conn, SettingsList::Statuses).await.unwrap();
            assert_eq!(
                statuses.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                ["Lead", "Prospect", "Customer", "Inactive"],
                "{name}"
            );
            let (lead, prospect) = (statuses[0].id, statuses[1].id);
            let services = list(&mut conn, SettingsList::Services).await.unwrap();
            let input = ContactInput {
                first_name: "A".into(),
                status_id: Some(lead),
                service_ids: vec![services[0].id],
                ..Default::default()
            };
            let hash = crate::accounts::password::hash("correct horse battery staple").await;
            let me = crate::accounts::repo::create(
                &mut conn,
                &crate::accounts::repo::NewAccount {
                    email: "me@example.com",
                    display_name: "Me",
                    password_hash: &hash,
                    kind: crate::accounts::UserKind::Staff,
                    is_active: true,
                    is_admin: false,
                },
            )
            .await
            .unwrap();
            let contact = contacts_repo::create(&mut conn, me.id, &input).await.unwrap();

            let vip = add(&mut conn, SettingsList::Statuses, "VIP", Some("#ff0000")).await.unwrap();
            assert!(
                add(&mut conn, SettingsList::Statuses, "vip", None)
                    .await
                    .unwrap_err()
                    .field("name")
                    .is_some(),
                "{name}"
            );
            assert!(
                add(&mut conn, SettingsList::Statuses, "Odd", Some("red"))
                    .await
                    .unwrap_err()
                    .field("color")
                    .is_some(),
                "{name}"
            );
            rename(&mut conn, SettingsList::Statuses, vip, "Very important", Some("#00ff00")).await.unwrap();
            move_item(&mut conn, SettingsList::Statuses, vip, true).await.unwrap();
            let now = list(&mut conn, SettingsList::Statuses).await.unwrap();
            assert_eq!(
                now.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                ["Lead", "Prospect", "Customer", "Very important", "Inactive"],
                "{name}"
            );
            assert_eq!(now[3].color.as_deref(), Some("#00ff00"), "{name}");
            assert_eq!(now[0].contacts, 1, "{name}");

            delete(&mut conn, SettingsList::Statuses, lead, Some(prospect)).await.unwrap();
            let c = contacts_repo::get(&mut conn, contact).await.unwrap().unwrap();
            assert_eq!(c.input.status_id, Some(prospect), "{name}: the contact moved with the deletion");
            delete(&mut conn, SettingsList::Services, services[0].id, Some(services[1].id)).await.unwrap();
            let c = contacts_repo::get(&mut conn, contact).await.unwrap().unwrap();
            assert_eq!(c.input.service_ids, vec![services[1].id], "{name}");
            let sources = list(&mut conn, SettingsList::Sources).await.unwrap();
            delete(&mut conn, SettingsList::Sources, sources[0].id, None).await.unwrap();
            assert_eq!(
                list(&mut conn, SettingsList::Sources).await.unwrap().len(),
                sources.len() - 1,
                "{name}"
            );
        }
    }
}
