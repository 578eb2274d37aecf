//! Users, groups, permissions and the audit log, for both backends. Every change an administrator
//! makes is written to the audit log in the same transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{AuditEntry, GroupDetails, Permission, UserFilter, UserPage, UserSummary, USERS_PER_PAGE};
use crate::accounts::repo::{self as accounts, to_permissions, Account, UserRow};
use crate::accounts::{normalize_email, UserKind};
use crate::db::schema::{audit_log, group_members, group_permissions, staff_groups, users};
use crate::db::{lower, with_db, DbConn, DbError};
use crate::error::AppError;

/// Who is making a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub name: String,
}

impl From<&Account> for Actor {
    fn from(account: &Account) -> Self {
        Actor { id: account.id, name: account.display_name.clone() }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditEntry {
    actor_id: Option<i64>,
    actor_name: String,
    action: String,
    subject: String,
    before_state: Option<String>,
    after_state: Option<String>,
    created_at: NaiveDateTime,
}

impl NewAuditEntry {
    fn new(
        actor: &Actor,
        action: &str,
        subject: String,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        NewAuditEntry {
            actor_id: Some(actor.id),
            actor_name: actor.name.clone(),
            action: action.to_owned(),
            subject,
            before_state: before,
            after_state: after,
            created_at: now(),
        }
    }
}

use crate::clock::now;

/// Writes an audit entry inside the caller's transaction.
async fn audit(c: &mut DbConn, entry: NewAuditEntry) -> QueryResult<()> {
    with_db!(c, c => diesel::insert_into(audit_log::table).values(&entry).execute(c).await)?;
    Ok(())
}

/// The ids of `user_id`'s groups, in order.
async fn memberships(c: &mut DbConn, user_id: i64) -> QueryResult<Vec<i64>> {
    with_db!(c, c => group_members::table
        .filter(group_members::user_id.eq(user_id))
        .select(group_members::group_id)
        .order(group_members::group_id)
        .load(c)
        .await)
}

pub use crate::accounts::repo::{effective_permissions, group_permissions_of};

/// One page of users matching `filter`, by name.
pub async fn list_users(conn: &mut DbConn, filter: &UserFilter) -> Result<UserPage, DbError> {
    let pattern = crate::db::like_pattern(&filter.search);
    let page = filter.page.max(1);
    let (total, rows) = with_db!(conn, c => {
        let build = || {
            let mut q = users::table.into_boxed();
            if !filter.search.trim().is_empty() {
                q = q.filter(
                    lower(users::display_name).like(pattern.clone()).escape('\\')
                        .or(users::email.like(pattern.clone()).escape('\\')),
                );
            }
            if let Some(kind) = filter.kind {
                q = q.filter(users::kind.eq(kind.as_str()));
            }
            if let Some(active) = filter.active {
                q = q.filter(users::is_active.eq(active));
            }
            if let Some(group_id) = filter.group_id {
                q = q.filter(users::id.eq_any(
                    group_members::table.filter(group_members::group_id.eq(group_id)).select(group_members::user_id),
                ));
            }
            q
        };
        let total: i64 = build().count().get_result(c).await?;
        let rows: Vec<UserRow> = build()
            .order((lower(users::display_name), users::id))
            .limit(USERS_PER_PAGE)
            .offset((page - 1) * USERS_PER_PAGE)
            .select(UserRow::as_select())
            .load(c)
            .await?;
        Ok::<_, DbError>((total, rows))
    })?;
    let accounts: Vec<Account> = rows.into_iter().map(Account::from).collect();
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let memberships: Vec<(i64, String)> = with_db!(conn, c => group_members::table
        .inner_join(staff_groups::table)
        .filter(group_members::user_id.eq_any(&ids))
        .select((group_members::user_id, staff_groups::name))
        .order(staff_groups::name)
        .load(c)
        .await)?;
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (user_id, name) in memberships {
        groups.entry(user_id).or_default().push(name);
    }
    let clock = conn.clock();
    let users = accounts
        .into_iter()
        .map(|a| UserSummary {
            groups: groups.remove(&a.id).unwrap_or_default(),
            last_login: a.last_login_at.map(|t| clock.stamp(t)),
            id: a.id,
            display_name: a.display_name,
            email: a.email,
            kind: a.kind,
            is_active: a.is_active,
            is_admin: a.is_admin,
        })
        .collect();
    Ok(UserPage { users, total, page, pages: ((total + USERS_PER_PAGE - 1) / USERS_PER_PAGE).max(1) })
}

/// How many contacts `user_id` owns.
pub async fn owned_contacts(conn: &mut DbConn, user_id: i64) -> Result<i64, DbError> {
    use crate::db::schema::contacts;
    Ok(
        with_db!(conn, c => contacts::table.filter(contacts::owner_id.eq(user_id)).count().get_result(c).await)?,
    )
}

pub async fn group_ids_of(conn: &mut DbConn, user_id: i64) -> Result<Vec<i64>, DbError> {
    Ok(with_db!(conn, c => group_members::table
        .filter(group_members::user_id.eq(user_id))
        .select(group_members::group_id)
        .order(group_members::group_id)
        .load(c)
        .await)?)
}

/// How many active administrators there would be without `user_id`.
async fn other_active_admins(c: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    with_db!(c, c => users::table
        .filter(users::is_admin.eq(true))
        .filter(users::is_active.eq(true))
        .filter(users::kind.eq(UserKind::Staff.as_str()))
        .filter(users::id.ne(user_id))
        .count()
        .get_result::<i64>(c)
        .await)
}

const LAST_ADMIN: &str = "This is the last active administrator. Make someone else an administrator first.";

fn user_state(row: &UserRow, group_ids: &[i64]) -> String {
    serde_json::json!({
        "name": row.display_name,
        "email": row.email,
        "active": row.is_active,
        "admin": row.is_admin,
        "groups": group_ids,
    })
    .to_string()
}

/// Activates or deactivates an account. Deactivating ends all of its sessions at once.
pub async fn set_active(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    active: bool,
) -> Result<(), AppError> {
    conn.write_tx(async |c: &mut DbConn| {
        let row = accounts::account_row(c, user_id).await?.ok_or(AppError::NotFound)?;
        if !active && row.is_admin && row.is_active && other_active_admins(c, user_id).await? == 0 {
            return Err(AppError::Conflict(LAST_ADMIN.to_owned()));
        }
        if row.is_active == active {
            return Ok(());
        }
        accounts::write_active(c, user_id, active).await?;
        let action = if active { "user.activate" } else { "user.deactivate" };
        let (before, after) = (format!("active: {}", row.is_active), format!("active: {active}"));
        audit(c, NewAuditEntry::new(actor, action, row.email.clone(), Some(before), Some(after))).await?;
        Ok(())
    })
    .await
}

/// What an administrator may change about a user.
#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub display_name: String,
    pub email: String,
    pub is_admin: bool,
    pub group_ids: Vec<i64>,
}

pub async fn update_user(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    update: &UserUpdate,
) -> Result<(), AppError> {
    let email = normalize_email(&update.email);
    let groups: BTreeSet<i64> = update.group_ids.iter().copied().collect();
    conn.write_tx(async |c: &mut DbConn| {
        let row = accounts::account_row(c, user_id).await?.ok_or(AppError::NotFound)?;
        if row.is_admin && !update.is_admin && row.is_active && other_active_admins(c, user_id).await? == 0 {
            return Err(AppError::invalid("is_admin", LAST_ADMIN));
        }
        if accounts::email_used_by_another(c, &email, user_id).await? {
            return Err(AppError::invalid("email", "Another account already uses this email."));
        }
        let before_groups = memberships(c, user_id).await?;
        let before = user_state(&row, &before_groups);
        accounts::write_identity(c, user_id, &update.display_name, &email, update.is_admin).await?;
        with_db!(c, c => diesel::delete(group_members::table.filter(group_members::user_id.eq(user_id)))
            .execute(c)
            .await)?;
        // Clients do not belong to staff groups.
        let is_staff = row.kind == UserKind::Staff.as_str();
        if is_staff {
            for group_id in &groups {
                with_db!(c, c => diesel::insert_into(group_members::table)
                    .values((group_members::user_id.eq(user_id), group_members::group_id.eq(group_id)))
                    .execute(c)
                    .await)?;
            }
        }
        let after_row = accounts::account_row(c, user_id).await?.ok_or(AppError::NotFound)?;
        let after_groups: Vec<i64> = if is_staff { groups.iter().copied().collect() } else { Vec::new() };
        let after = user_state(&after_row, &after_groups);
        audit(c, NewAuditEntry::new(actor, "user.update", email.clone(), Some(before), Some(after))).await?;
        Ok(())
    })
    .await
}

/// Deletes an account. Nobody deletes themselves or the last active administrator.
/// Their contacts go to `new_owner` (or to nobody); the history they wrote keeps their name.
pub async fn delete_user(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    new_owner: Option<i64>,
) -> Result<(), AppError> {
    if actor.id == user_id {
        return Err(AppError::Conflict("You cannot delete your own account.".to_owned()));
    }
    if new_owner == Some(user_id) {
        return Err(AppError::invalid("new_owner", "Choose someone other than the person being deleted."));
    }
    conn.contacts_tx(async |c: &mut DbConn| {
        let row = accounts::account_row(c, user_id).await?.ok_or(AppError::NotFound)?;
        if row.is_admin && row.is_active && other_active_admins(c, user_id).await? == 0 {
            return Err(AppError::Conflict(LAST_ADMIN.to_owned()));
        }
        if let Some(owner) = new_owner {
            if !accounts::is_active_staff(c, owner).await? {
                return Err(AppError::invalid("new_owner", "Choose an active staff member."));
            }
        }
        crate::contacts::repo::hand_over_contacts(c, user_id, new_owner).await?;
        accounts::remove_account(c, user_id).await?;
        audit(
            c,
            NewAuditEntry::new(actor, "user.delete", row.email.clone(), Some(user_state(&row, &[])), None),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Gives a user a new password chosen by an administrator; their sessions end (they are bound
/// to the old password) and the audit log says so, without the password.
pub async fn reset_password(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    hash: &crate::accounts::password::PasswordHash,
) -> Result<(), AppError> {
    conn.write_tx(async |c: &mut DbConn| {
        let row = accounts::account_row(c, user_id).await?.ok_or(AppError::NotFound)?;
        accounts::write_password(c, user_id, hash).await?;
        audit(c, NewAuditEntry::new(actor, "user.reset_password", row.email.clone(), None, None)).await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------- passwords and profile

/// How long a set-password link works.
pub const PASSWORD_LINK_HOURS: i64 = 24;

fn token_digest(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a one-time set-password token for `user_id` and returns it; only its digest is stored.
pub async fn create_password_token(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
) -> Result<String, AppError> {
    use crate::db::schema::password_tokens;
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let digest = token_digest(&token);
    let at = now();
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        let email: String = users::table.find(user_id).select(users::email).first(c).await.optional()?.ok_or(AppError::NotFound)?;
        diesel::insert_into(password_tokens::table)
            .values((
                password_tokens::token_hash.eq(&digest),
                password_tokens::user_id.eq(user_id),
                password_tokens::created_at.eq(at),
                password_tokens::expires_at.eq(at + chrono::Duration::hours(PASSWORD_LINK_HOURS)),
            ))
            .execute(c)
            .await?;
        diesel::insert_into(audit_log::table)
            .values(NewAuditEntry::new(actor, "user.password_link", email, None, None))
            .execute(c)
            .await?;
        Ok::<_, AppError>(())
    }))
        .await?;
    Ok(token)
}

const LINK_INVALID: &str =
    "This link has expired or has already been used. Ask an administrator for a new one.";

/// Sets the password of the token's user, once, before the token expires; ends their sessions.
pub async fn use_password_token(conn: &mut DbConn, token: &str, new_password: &str) -> Result<(), AppError> {
    use crate::db::schema::password_tokens;
    let digest = token_digest(token);
    let at = now();
    // Look the user up first: the password rules need their name and email, and hashing must not
    // happen inside the write transaction.
    let user_id: i64 = with_db!(conn, c => password_tokens::table
        .filter(password_tokens::token_hash.eq(&digest))
        .filter(password_tokens::used_at.is_null())
        .filter(password_tokens::expires_at.gt(at))
        .select(password_tokens::user_id)
        .first(c)
        .await
        .optional())?
    .ok_or_else(|| AppError::Conflict(LINK_INVALID.to_owned()))?;
    let account = crate::accounts::repo::find_by_id(conn, user_id).await?.ok_or(AppError::NotFound)?;
    crate::accounts::password::check_rules(new_password, &[&account.email, &account.display_name])
        .map_err(|m| AppError::invalid("password", m))?;
    let hash = crate::accounts::password::hash(new_password).await;
    let actor = Actor::from(&account);
    conn.write_tx(async |c: &mut DbConn| {
        // Marking the token used is the claim: a second use of the same link updates nothing.
        let claimed = with_db!(c, c => diesel::update(
            password_tokens::table.find(&digest).filter(password_tokens::used_at.is_null()),
        )
        .set(password_tokens::used_at.eq(Some(at)))
        .execute(c)
        .await)?;
        if claimed != 1 {
            return Err(AppError::Conflict(LINK_INVALID.to_owned()));
        }
        accounts::write_password(c, user_id, &hash).await?;
        audit(c, NewAuditEntry::new(&actor, "user.password_set_by_link", account.email.clone(), None, None))
            .await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------- groups

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
    let name = input.name.trim().to_owned();
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

// ---------------------------------------------------------------- audit log

pub const AUDIT_PER_PAGE: i64 = 50;

type AuditRow = (i64, String, String, String, Option<String>, Option<String>, NaiveDateTime);

/// The newest entries first, one page at a time.
pub async fn list_audit(conn: &mut DbConn, page: i64) -> Result<(Vec<AuditEntry>, i64), DbError> {
    let page = page.max(1);
    let (total, rows) = with_db!(conn, c => {
        let total: i64 = audit_log::table.count().get_result(c).await?;
        let rows: Vec<AuditRow> = audit_log::table
            .order((audit_log::created_at.desc(), audit_log::id.desc()))
            .limit(AUDIT_PER_PAGE)
            .offset((page - 1) * AUDIT_PER_PAGE)
            .select((audit_log::id, audit_log::actor_name, audit_log::action, audit_log::subject, audit_log::before_state, audit_log::after_state, audit_log::created_at))
            .load(c)
            .await?;
        Ok::<_, DbError>((total, rows))
    })?;
    let clock = conn.clock();
    let entries = rows
        .into_iter()
        .map(|(id, actor_name, action, subject, before, after, at)| AuditEntry {
            id,
            actor_name,
            action,
            subject,
            before,
            after,
            at: clock.stamp(at),
        })
        .collect();
    Ok((entries, ((total + AUDIT_PER_PAGE - 1) / AUDIT_PER_PAGE).max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::password;
    use crate::accounts::repo::{create, find_by_id, NewAccount};
    use crate::accounts::session_store::DieselSessionStore;
    use crate::db::testing::each_backend;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::SessionStore;

    async fn user(conn: &mut DbConn, email: &str, kind: UserKind, admin: bool) -> Account {
        let hash = password::hash("correct horse battery staple").await;
        let new = NewAccount {
            email,
            display_name: &email[..email.find('@').unwrap()],
            password_hash: &hash,
            kind,
            is_active: true,
            is_admin: admin,
        };
        create(conn, &new).await.unwrap()
    }

    fn perms(list: &[Permission]) -> BTreeSet<Permission> {
        list.iter().copied().collect()
    }

    async fn group_id(conn: &mut DbConn, name: &str) -> i64 {
        list_groups(conn).await.unwrap().into_iter().find(|g| g.name == name).unwrap().id
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn permissions_are_the_union_of_the_groups_and_admins_have_all() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
            let staff = user(&mut conn, "staff@example.com", UserKind::Staff, false).await;
            let client = user(&mut conn, "client@example.com", UserKind::Client, false).await;
            let actor = Actor::from(&admin);

            assert_eq!(
                effective_permissions(&mut conn, &staff).await.unwrap(),
                BTreeSet::new(),
                "{name}: no groups, no permissions"
            );
            let seeded = group_id(&mut conn, "Staff").await;
            let sales = save_group(
                &mut conn,
                &actor,
                None,
                &GroupInput {
                    name: "Sales".into(),
                    description: "Selling".into(),
                    permissions: perms(&[Permission::ContactsExport, Permission::ContactsView]),
                    member_ids: [staff.id, client.id].into_iter().collect(),
                },
            )
            .await
            .unwrap();
            update_user(
                &mut conn,
                &actor,
                staff.id,
                &UserUpdate {
                    display_name: "Stella".into(),
                    email: "STELLA@example.com".into(),
                    is_admin: false,
                    group_ids: vec![seeded, sales],
                },
            )
            .await
            .unwrap();
            assert_eq!(
                effective_permissions(&mut conn, &staff).await.unwrap(),
                perms(&[
                    Permission::ContactsView,
                    Permission::ContactsCreate,
                    Permission::ContactsEdit,
                    Permission::ActivitiesCreate,
                    Permission::ContactsExport
                ]),
                "{name}"
            );
            assert_eq!(
                effective_permissions(&mut conn, &admin).await.unwrap().len(),
                Permission::ALL.len(),
                "{name}"
            );
            assert!(
                effective_permissions(&mut conn, &client).await.unwrap().is_empty(),
                "{name}: clients never get staff permissions"
            );
            let group = get_group(&mut conn, sales).await.unwrap().unwrap();
            assert_eq!(
                group.members,
                vec![(staff.id, "Stella".to_owned())],
                "{name}: clients are not added to staff groups"
            );
            assert_eq!(
                find_by_id(&mut conn, staff.id).await.unwrap().unwrap().email,
                "stella@example.com",
                "{name}"
            );

            // Group names are unique, whatever their case.
            let clash = save_group(
                &mut conn,
                &actor,
                None,
                &GroupInput {
                    name: "sales".into(),
                    description: String::new(),
                    permissions: BTreeSet::new(),
                    member_ids: BTreeSet::new(),
                },
            )
            .await;
            assert_eq!(
                clash.unwrap_err().field("name").as_deref(),
                Some("Another group already has this name."),
                "{name}"
            );

            delete_group(&mut conn, &actor, sales).await.unwrap();
            assert!(
                !effective_permissions(&mut conn, &staff)
                    .await
                    .unwrap()
                    .contains(&Permission::ContactsExport),
                "{name}"
            );
            let (audit, _) = list_audit(&mut conn, 1).await.unwrap();
            let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
            assert_eq!(actions, vec!["group.delete", "user.update", "group.create"], "{name}: newest first");
            assert!(
                audit[1].before.as_deref().unwrap().contains("staff@example.com")
                    && audit[1].after.as_deref().unwrap().contains("stella@example.com"),
                "{name}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn nobody_removes_the_last_active_admin_or_themselves() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
            let other = user(&mut conn, "other@example.com", UserKind::Staff, false).await;
            let actor = Actor::from(&other);
            assert!(
                matches!(set_active(&mut conn, &actor, admin.id, false).await, Err(AppError::Conflict(_))),
                "{name}"
            );
            let demote = UserUpdate {
                display_name: "admin".into(),
                email: "admin@example.com".into(),
                is_admin: false,
                group_ids: vec![],
            };
            assert!(
                update_user(&mut conn, &actor, admin.id, &demote)
                    .await
                    .unwrap_err()
                    .field("is_admin")
                    .is_some(),
                "{name}"
            );
            assert!(
                matches!(delete_user(&mut conn, &actor, admin.id, None).await, Err(AppError::Conflict(_))),
                "{name}"
            );
            assert!(
                matches!(
                    delete_user(&mut conn, &Actor::from(&admin), admin.id, None).await,
                    Err(AppError::Conflict(_))
                ),
                "{name}: not yourself"
            );
            assert!(
                find_by_id(&mut conn, admin.id).await.unwrap().unwrap().is_admin,
                "{name}: nothing changed"
            );

            // With a second administrator, the first may go.
            let promote = UserUpdate {
                display_name: "other".into(),
                email: "other@example.com".into(),
                is_admin: true,
                group_ids: vec![],
            };
            update_user(&mut conn, &Actor::from(&admin), other.id, &promote).await.unwrap();
            update_user(&mut conn, &actor, admin.id, &demote).await.unwrap();
            delete_user(&mut conn, &actor, admin.id, None).await.unwrap();
            assert!(find_by_id(&mut conn, admin.id).await.unwrap().is_none(), "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn deleting_a_user_hands_their_contacts_to_the_chosen_colleague() {
        use crate::contacts::{repo as contacts, ContactInput};
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
            let leaving = user(&mut conn, "leaving@example.com", UserKind::Staff, false).await;
            let staying = user(&mut conn, "staying@example.com", UserKind::Staff, false).await;
            let client = user(&mut conn, "client@example.com", UserKind::Client, false).await;
            let input =
                ContactInput { first_name: "Owned".into(), owner_id: Some(leaving.id), ..Default::default() };
            let contact = contacts::create(&mut conn, leaving.id, &input).await.unwrap();
            assert_eq!(owned_contacts(&mut conn, leaving.id).await.unwrap(), 1, "{name}");
            let actor = Actor::from(&admin);
            let to_client = delete_user(&mut conn, &actor, leaving.id, Some(client.id)).await.unwrap_err();
            assert!(to_client.field("new_owner").is_some(), "{name}: only staff can own contacts");
            delete_user(&mut conn, &actor, leaving.id, Some(staying.id)).await.unwrap();
            let c = contacts::get(&mut conn, contact).await.unwrap().unwrap();
            assert_eq!(c.input.owner_id, Some(staying.id), "{name}");
            assert_eq!(c.created_by, None, "{name}: the author is gone, the contact stays");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn deactivating_a_user_ends_all_their_sessions_at_once() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
            let staff = user(&mut conn, "staff@example.com", UserKind::Staff, false).await;
            let store = DieselSessionStore::new(db.pool.clone());
            let session_of = |user_id: i64| {
                let mut data = std::collections::HashMap::new();
                data.insert(
                    "axum-login.data".to_owned(),
                    serde_json::json!({ "user_id": user_id, "auth_hash": [1, 2] }),
                );
                Record {
                    id: Id::default(),
                    data,
                    expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
                }
            };
            let (mut laptop, mut phone, mut admins) =
                (session_of(staff.id), session_of(staff.id), session_of(admin.id));
            for record in [&mut laptop, &mut phone, &mut admins] {
                SessionStore::create(&store, record).await.unwrap();
            }
            set_active(&mut conn, &Actor::from(&admin), staff.id, false).await.unwrap();
            assert!(SessionStore::load(&store, &laptop.id).await.unwrap().is_none(), "{name}");
            assert!(SessionStore::load(&store, &phone.id).await.unwrap().is_none(), "{name}");
            assert!(
                SessionStore::load(&store, &admins.id).await.unwrap().is_some(),
                "{name}: other people's sessions stay"
            );
            assert!(!find_by_id(&mut conn, staff.id).await.unwrap().unwrap().is_active, "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_set_password_link_works_once_and_only_before_it_expires() {
        use crate::db::schema::password_tokens;
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
            let staff = user(&mut conn, "staff@example.com", UserKind::Staff, false).await;
            let actor = Actor::from(&admin);
            let token = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
            assert_eq!(token.len(), 64, "{name}");

            let weak = use_password_token(&mut conn, &token, "password1").await.unwrap_err();
            assert!(weak.field("password").is_some(), "{name}: the rules apply, and the link still works");
            use_password_token(&mut conn, &token, "a brand new passphrase today").await.unwrap();
            let updated = find_by_id(&mut conn, staff.id).await.unwrap().unwrap();
            assert!(password::verify("a brand new passphrase today", &updated.password_hash).await, "{name}");
            let again = use_password_token(&mut conn, &token, "yet another passphrase here").await;
            assert!(matches!(again, Err(AppError::Conflict(_))), "{name}: single use");
            assert!(
                matches!(
                    use_password_token(&mut conn, "0000", "yet another passphrase here").await,
                    Err(AppError::Conflict(_))
                ),
                "{name}"
            );

            let expiring = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
            let past = now() - chrono::Duration::minutes(1);
            with_db!(&mut conn, c => diesel::update(password_tokens::table.find(token_digest(&expiring))).set(password_tokens::expires_at.eq(past)).execute(c).await).unwrap();
            assert!(
                matches!(
                    use_password_token(&mut conn, &expiring, "yet another passphrase here").await,
                    Err(AppError::Conflict(_))
                ),
                "{name}: expired"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_user_list_searches_filters_and_pages() {
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
            for i in 0..30 {
                user(&mut conn, &format!("client{i:02}@example.com"), UserKind::Client, false).await;
            }
            let maria = user(&mut conn, "Maria.Lopez@Example.com", UserKind::Staff, false).await;
            let managers = group_id(&mut conn, "Managers").await;
            update_user(
                &mut conn,
                &Actor::from(&admin),
                maria.id,
                &UserUpdate {
                    display_name: "María López".into(),
                    email: maria.email.clone(),
                    is_admin: false,
                    group_ids: vec![managers],
                },
            )
            .await
            .unwrap();

            let all = list_users(&mut conn, &UserFilter::default()).await.unwrap();
            assert_eq!((all.total, all.pages, all.users.len()), (32, 2, 25), "{name}");
            let second = list_users(&mut conn, &UserFilter { page: 2, ..Default::default() }).await.unwrap();
            assert_eq!(second.users.len(), 7, "{name}");

            let found = list_users(&mut conn, &UserFilter { search: "LOPEZ".into(), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(
                found.users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
                vec!["maria.lopez@example.com"],
                "{name}: search is case-insensitive"
            );
            assert_eq!(found.users[0].groups, vec!["Managers".to_owned()], "{name}");
            let pct = list_users(&mut conn, &UserFilter { search: "%".into(), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(pct.total, 0, "{name}: % is a literal character, not a wildcard");

            let staff =
                list_users(&mut conn, &UserFilter { kind: Some(UserKind::Staff), ..Default::default() })
                    .await
                    .unwrap();
            assert_eq!(staff.total, 2, "{name}");
            let in_group =
                list_users(&mut conn, &UserFilter { group_id: Some(managers), ..Default::default() })
                    .await
                    .unwrap();
            assert_eq!(in_group.users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![maria.id], "{name}");
            set_active(&mut conn, &Actor::from(&admin), maria.id, false).await.unwrap();
            let inactive = list_users(&mut conn, &UserFilter { active: Some(false), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(inactive.users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![maria.id], "{name}");
        }
    }
}
