//! One-time set-password links.

#[allow(unused_imports)]
use super::*;
/// How long a set-password link works.
pub const PASSWORD_LINK_HOURS: i64 = 24;

pub(super) fn token_digest(token: &str) -> String {
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
        // Only the newest link works: one sent to the wrong person is undone by sending another.
        diesel::delete(password_tokens::table.filter(password_tokens::user_id.eq(user_id)).filter(password_tokens::used_at.is_null()))
            .execute(c)
            .await?;
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

/// The account's unused links stop working (it is being deactivated); inside the caller's
/// transaction.
pub(crate) async fn revoke_password_tokens(c: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    use crate::db::schema::password_tokens;
    with_db!(c, c => diesel::delete(
        password_tokens::table.filter(password_tokens::user_id.eq(user_id)).filter(password_tokens::used_at.is_null()),
    )
    .execute(c)
    .await)
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
        // The account's row first, as a deactivation does (it then deletes the links): taken in
        // the other order, the two would deadlock on PostgreSQL.
        with_db!(c, c => diesel::update(users::table.find(user_id)).set(users::is_active.eq(users::is_active)).execute(c).await)?;
        // Marking the token used is the claim: a second use of the same link updates nothing.
        let claimed = with_db!(c, c => diesel::update(
            password_tokens::table.find(&digest).filter(password_tokens::used_at.is_null()),
        )
        .set(password_tokens::used_at.eq(Some(at)))
        .execute(c)
        .await)?;
        // A link never brings back an account that was deactivated after it was sent.
        let active = with_db!(c, c => users::table.find(user_id).select(users::is_active).first::<bool>(c).await.optional())?;
        if claimed != 1 || active != Some(true) {
            return Err(AppError::Conflict(LINK_INVALID.to_owned()));
        }
        accounts::write_password(c, user_id, &hash).await?;
        audit(c, NewAuditEntry::new(&actor, "user.password_set_by_link", account.email.clone(), None, None))
            .await?;
        Ok(())
    })
    .await
}
