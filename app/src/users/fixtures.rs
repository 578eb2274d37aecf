//! People for tests and the benchmark: the one way to make "a staff member holding these
//! permissions" (through a group of their own) or any other account.

use super::repo::{save_group, Actor, GroupInput};
use crate::accounts::repo::{create, Account, NewAccount};
use crate::accounts::{password, Permission, UserKind};
use crate::db::DbConn;

/// The password of every account made here.
pub const PASSWORD: &str = "correct horse battery staple";

/// An active account named after its email's local part ("ada@example.com" → "ada").
pub async fn account(conn: &mut DbConn, email: &str, kind: UserKind, is_admin: bool) -> Account {
    let hash = password::hash(PASSWORD).await;
    let new = NewAccount {
        email,
        display_name: email.split('@').next().unwrap_or(email),
        password_hash: &hash,
        kind,
        is_active: true,
        is_admin,
    };
    create(conn, &new).await.unwrap_or_else(|e| panic!("account {email}: {e}"))
}

/// An active staff member holding exactly `permissions`, through a group of their own (none
/// when `permissions` is empty).
pub async fn staff_with(conn: &mut DbConn, email: &str, permissions: &[Permission]) -> Account {
    let staff = account(conn, email, UserKind::Staff, false).await;
    if !permissions.is_empty() {
        let input = GroupInput {
            name: format!("Permissions of {email}"),
            description: String::new(),
            permissions: permissions.iter().copied().collect(),
            member_ids: [staff.id].into_iter().collect(),
        };
        save_group(conn, &Actor::from(&staff), None, &input)
            .await
            .unwrap_or_else(|e| panic!("group of {email}: {e:?}"));
    }
    staff
}
