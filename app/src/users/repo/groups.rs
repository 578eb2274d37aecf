//! Staff groups: their permissions and members.

#[allow(unused_imports)]
use super::*;
#[derive(Queryable)]
struct GroupRow {
    id: i64,
    name: String,
    description: String,
}

pub async fn list_groups(conn: &mut DbConn) -> Result<Vec<GroupDetails>, DbError> {
    let groups: Vec<GroupRow> = with_db!(conn, c => staff_groups::table
        .select((staff_groups::id, staff_groups::name, staff_groups::description))
        .order(lower(staff_groups::name))
        .load(c)
        .await)?;
    let perms: Vec<(i64, String)> = with_db!(conn, c => group_permissions::table
        .select((group_permissions::group_id, group_permissions::permission))
        .load(c)
        .await)?;
    let members: Vec<(i64, i64, String)> = with_db!(conn, c => group_members::table
        .inner_join(users::table)
        .select((group_members::group_id, users::id, users::display_name))
        .order(lower(users::display_name))
        .load(c)
        .await)?;
    Ok(groups
        .into_iter()
        .map(|g| GroupDetails {
            permissions: to_permissions(
                perms.iter().filter(|(id, _)| *id == g.id).map(|(_, p)| p.clone()).collect(),
            )
            .into_iter()
            .collect(),
            members: members
                .iter()
                .filter(|(gid, _, _)| *gid == g.id)
                .map(|(_, uid, n)| (*uid, n.clone()))
                .collect(),
            id: g.id,
            name: g.name,
            description: g.description,
        })
        .collect())
}

pub async fn get_group(conn: &mut DbConn, group_id: i64) -> Result<Option<GroupDetails>, DbError> {
    Ok(list_groups(conn).await?.into_iter().find(|g| g.id == group_id))
}

/// A group as an administrator submits it.
#[derive(Debug, Clone)]
pub struct GroupInput {
    pub name: String,
    pub description: String,
    pub permissions: BTreeSet<Permission>,
    pub member_ids: BTreeSet<i64>,
}

fn group_state(name: &str, description: &str, permissions: &[String], members: &[i64]) -> String {
    serde_json::json!({ "name": name, "description": description, "permissions": permissions, "members": members })
        .to_string()
}

/// Creates (`group_id` = None) or replaces a group with its permissions and members; returns its id.
pub async fn save_group(
    conn: &mut DbConn,
    actor: &Actor,
    group_id: Option<i64>,
    input: &GroupInput,
) -> Result<i64, AppError> {
    let name = input.name.replace('\0', "").trim().to_owned();
    let key = crate::db::fold(&name);
    let keys: Vec<String> = input.permissions.iter().map(|p| p.key().to_owned()).collect();
    let members: Vec<i64> = input.member_ids.iter().copied().collect();
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        let clash: i64 = staff_groups::table
            .filter(staff_groups::name_key.eq(&key))
            .filter(staff_groups::id.ne(group_id.unwrap_or(-1)))
            .count()
            .get_result(c)
            .await?;
        if clash > 0 {
            return Err(AppError::invalid("name", "Another group already has this name."));
        }
        let (id, before) = match group_id {
            Some(id) => {
                let old: GroupRow = staff_groups::table
                    .find(id)
                    .select((staff_groups::id, staff_groups::name, staff_groups::description))
                    .first(c)
                    .await
                    .optional()?
                    .ok_or(AppError::NotFound)?;
                let old_perms: Vec<String> = group_permissions::table.filter(group_permissions::group_id.eq(id)).select(group_permissions::permission).order(group_permissions::permission).load(c).await?;
                let old_members: Vec<i64> = group_members::table.filter(group_members::group_id.eq(id)).select(group_members::user_id).order(group_members::user_id).load(c).await?;
                diesel::update(staff_groups::table.find(id))
                    .set((staff_groups::name.eq(&name), staff_groups::name_key.eq(&key), staff_groups::description.eq(&input.description)))
                    .execute(c)
                    .await?;
                diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(id))).execute(c).await?;
                diesel::delete(group_members::table.filter(group_members::group_id.eq(id))).execute(c).await?;
                (id, Some(group_state(&old.name, &old.description, &old_perms, &old_members)))
            }
            None => {
                let id: i64 = diesel::insert_into(staff_groups::table)
                    .values((staff_groups::name.eq(&name), staff_groups::name_key.eq(&key), staff_groups::description.eq(&input.description), staff_groups::created_at.eq(now())))
                    .returning(staff_groups::id)
                    .get_result(c)
                    .await?;
                (id, None)
            }
        };
        for key in &keys {
            diesel::insert_into(group_permissions::table)
                .values((group_permissions::group_id.eq(id), group_permissions::permission.eq(key)))
                .execute(c)
                .await?;
        }
        // Only staff can be members; ids of clients or of nobody are ignored.
        let staff_members: Vec<i64> = users::table
            .filter(users::id.eq_any(&members).and(users::kind.eq(UserKind::Staff.as_str())))
            .select(users::id)
            .order(users::id)
            .load(c)
            .await?;
        for user_id in &staff_members {
            diesel::insert_into(group_members::table)
                .values((group_members::user_id.eq(user_id), group_members::group_id.eq(id)))
                .execute(c)
                .await?;
        }
        let action = if group_id.is_some() { "group.update" } else { "group.create" };
        diesel::insert_into(audit_log::table)
            .values(NewAuditEntry::new(actor, action, name.clone(), before, Some(group_state(&name, &input.description, &keys, &staff_members))))
            .execute(c)
            .await?;
        Ok::<_, AppError>(id)
    }))
        .await
}

/// Deletes a group; its memberships go with it.
pub async fn delete_group(conn: &mut DbConn, actor: &Actor, group_id: i64) -> Result<(), AppError> {
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        let name: String = staff_groups::table.find(group_id).select(staff_groups::name).first(c).await.optional()?.ok_or(AppError::NotFound)?;
        let members: Vec<i64> = group_members::table.filter(group_members::group_id.eq(group_id)).select(group_members::user_id).order(group_members::user_id).load(c).await?;
        diesel::delete(group_members::table.filter(group_members::group_id.eq(group_id))).execute(c).await?;
        diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(group_id))).execute(c).await?;
        diesel::delete(staff_groups::table.find(group_id)).execute(c).await?;
        diesel::insert_into(audit_log::table)
            .values(NewAuditEntry::new(actor, "group.delete", name.clone(), Some(group_state(&name, "", &[], &members)), None))
            .execute(c)
            .await?;
        Ok::<_, AppError>(())
    }))
        .await
}
