//! Staff users as administrators manage them, for both backends: the list, activation, edits,
//! deletion and password resets; groups, set-password links and the audit log are children.
//! Every change an administrator makes is written to the audit log in the same transaction.

mod audit;
mod groups;
#[cfg(test)]
mod tests;
mod tokens;

pub use audit::{list_audit, AUDIT_PER_PAGE};
pub use groups::{delete_group, get_group, list_groups, save_group, GroupInput};
pub(crate) use tokens::revoke_password_tokens;
pub use tokens::{create_password_token, use_password_token, PASSWORD_LINK_HOURS};

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{AuditEntry, GroupDetails, UserFilter, UserPage, UserSummary, USERS_PER_PAGE};
use crate::accounts::repo::{self as accounts, to_permissions, Account, UserRow};
use crate::accounts::Permission;
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

/// An entry the server itself writes (no staff member did it), inside the caller's transaction:
/// the sign-in throttle recording that an account is locked, say.
pub(crate) async fn audit_by_server(
    c: &mut DbConn,
    action: &str,
    subject: String,
    after: Option<String>,
) -> QueryResult<()> {
    let entry = NewAuditEntry {
        actor_id: None,
        actor_name: "Server".to_owned(),
        action: action.to_owned(),
        subject,
        before_state: None,
        after_state: after,
        created_at: now(),
    };
    audit(c, entry).await
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
            .offset(crate::db::page_offset(page, USERS_PER_PAGE))
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

/// How many active administrators there would be without `user_id`. Inside the write
/// transaction that removes one: from here on, such transactions run one after the other, so
/// two administrators demoting each other at once leave one.
async fn other_active_admins(c: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    c.one_at_a_time(crate::db::TxLock::Administrators).await?;
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

/// Where an account is activated or deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Through {
    /// The users pages ("Manage users and groups").
    UserManagement,
    /// A contact's portal access, revoked by staff who edit contacts; they may invite again.
    PortalAccess,
}

/// Activates or deactivates an account. Deactivating ends all of its sessions at once.
pub async fn set_active(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: i64,
    active: bool,
    through: Through,
) -> Result<(), AppError> {
    conn.write_tx(async |c: &mut DbConn| {
        let row = accounts::account_row(c, user_id).await?.ok_or(AppError::NotFound)?;
        if !active && row.is_admin && row.is_active && other_active_admins(c, user_id).await? == 0 {
            return Err(AppError::Conflict(LAST_ADMIN.to_owned()));
        }
        if row.is_active == active {
            return Ok(());
        }
        accounts::write_active(c, user_id, active, through == Through::UserManagement).await?;
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
