//! Portal access of a contact: the client account linked to it. The account itself belongs to
//! the accounts slice; this module decides when a contact may have one.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::super::PortalAccess;
use super::get;
use crate::db::schema::users;
use crate::db::{with_db, DbConn, DbError};
use crate::error::AppError;

/// The client account linked to contact `id`, if any.
pub async fn portal_access(conn: &mut DbConn, id: i64) -> Result<Option<PortalAccess>, DbError> {
    let row: Option<(i64, String, bool, Option<NaiveDateTime>)> = with_db!(conn, c => users::table
        .filter(users::contact_id.eq(id).and(users::kind.eq("client")))
        .select((users::id, users::email, users::is_active, users::last_login_at))
        .first(c)
        .await
        .optional())?;
    let clock = conn.clock();
    Ok(row.map(|(user_id, email, is_active, last)| PortalAccess {
        user_id,
        email,
        is_active,
        last_sign_in: last.map(|t| clock.stamp(t)),
    }))
}

/// Gives contact `id` a client account (or reactivates the one it has) and returns the id of the
/// account, for a set-password link. The contact needs an email; a staff account with that email
/// is never turned into a client.
pub async fn grant_portal_access(
    conn: &mut DbConn,
    actor: &crate::users::repo::Actor,
    id: i64,
    may_manage_users: bool,
) -> Result<i64, AppError> {
    let contact = get(conn, id).await?.ok_or(AppError::NotFound)?;
    let email = crate::db::fold(&contact.input.email);
    if email.is_empty() {
        return Err(AppError::Conflict(
            "Add an email address to this contact first: it is how the client signs in.".into(),
        ));
    }
    let name = contact.display_name();
    crate::accounts::repo::grant_client_account(conn, &email, &name, id, may_manage_users)
        .await
        .inspect(|_| tracing::info!(contact_id = id, actor = actor.id, "portal access granted"))
}
