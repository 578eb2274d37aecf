//! Users and failed sign-ins, for both backends.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::password::PasswordHash;
use super::{normalize_email, SessionUser, UserKind};
use std::collections::BTreeSet;

use crate::db::schema::{group_members, group_permissions, login_failures, users};
use crate::db::{with_db, DbConn, DbError};
use crate::error::AppError;

/// A user as the server sees it, with the password hash (which never leaves the server).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: PasswordHash,
    pub kind: UserKind,
    pub is_active: bool,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

impl Account {
    pub fn session_user(&self, permissions: Vec<super::Permission>) -> SessionUser {
        SessionUser {
            permissions,
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            kind: self.kind,
            is_admin: self.is_admin,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) password_hash: String,
    pub(crate) kind: String,
    pub(crate) is_active: bool,
    pub(crate) is_admin: bool,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) last_login_at: Option<NaiveDateTime>,
}

impl From<UserRow> for Account {
    fn from(row: UserRow) -> Self {
        Account {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            password_hash: PasswordHash::from_stored(row.password_hash),
            // The CHECK constraint allows only these two values.
            kind: UserKind::parse(&row.kind).unwrap_or(UserKind::Client),
            is_active: row.is_active,
            is_admin: row.is_admin,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        }
    }
}

/// A user about to be created; `email` is normalized on insert.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a PasswordHash,
    pub kind: UserKind,
    pub is_active: bool,
    pub is_admin: bool,
}

use crate::clock::now;

pub async fn find_by_email(conn: &mut DbConn, email: &str) -> Result<Option<Account>, DbError> {
    let email = normalize_email(email);
    let row = with_db!(conn, c => users::table
        .filter(users::email.eq(&email))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional())?;
    Ok(row.map(Account::from))
}

pub async fn find_by_id(conn: &mut DbConn, id: i64) -> Result<Option<Account>, DbError> {
    let row = with_db!(conn, c => users::table
        .find(id)
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional())?;
    Ok(row.map(Account::from))
}

pub async fn count_users(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(with_db!(conn, c => users::table.count().get_result(c).await)?)
}

/// The column values of a new `users` row.
type UserValues<'a> = (
    diesel::dsl::Eq<users::email, &'a str>,
    diesel::dsl::Eq<users::display_name, &'a str>,
    diesel::dsl::Eq<users::password_hash, &'a str>,
    diesel::dsl::Eq<users::kind, &'static str>,
    diesel::dsl::Eq<users::is_active, bool>,
    diesel::dsl::Eq<users::is_admin, bool>,
    diesel::dsl::Eq<users::created_at, NaiveDateTime>,
);

fn insert_values<'a>(new: &'a NewAccount<'a>, email: &'a str, at: NaiveDateTime) -> UserValues<'a> {
    (
        users::email.eq(email),
        users::display_name.eq(new.display_name),
        users::password_hash.eq(new.password_hash.as_str()),
        users::kind.eq(new.kind.as_str()),
        users::is_active.eq(new.is_active),
        users::is_admin.eq(new.is_admin),
        users::created_at.eq(at),
    )
}

/// Inserts a user; a taken email comes back as a unique violation ([`DbError::is_unique_violation`]).
pub async fn create(conn: &mut DbConn, new: &NewAccount<'_>) -> Result<Account, DbError> {
    let email = normalize_email(new.email);
    let at = now();
    let row = conn
        .write_tx(async |c: &mut DbConn| {
            with_db!(c, c => {
                let row = diesel::insert_into(users::table)
                    .values(insert_values(new, &email, at))
                    .returning(UserRow::as_returning())
                    .get_result(c)
                    .await?;
                Ok::<_, DbError>(row)
            })
        })
        .await?;
    Ok(row.into())
}

/// What registration did; the page tells the person the same thing for a new and a taken email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// There was no administrator and the setup code was right: this is the first one, active
    /// at once.
    FirstAdmin,
    /// There is no administrator yet and no live setup code was given: nothing changed.
    SetupCodeNeeded,
    /// A staff account that waits for an administrator to activate it.
    AwaitingActivation,
    /// The email already has an account; nothing changed.
    EmailTaken,
}

/// Registers a staff member: the first administrator when there is none and `setup_code` is a
/// live one ([`super::setup`]), otherwise an inactive account an administrator activates.
/// The check and the insert share one write transaction that runs after any other deciding who
/// is an administrator, so of several people registering at once with setup codes exactly one
/// becomes the administrator, on either backend.
pub async fn register_staff(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    password_hash: &PasswordHash,
    setup_code: Option<&str>,
) -> Result<Registration, DbError> {
    let email = normalize_email(email);
    let at = now();
    conn.write_tx(async |c: &mut DbConn| {
        c.one_at_a_time(crate::db::TxLock::Administrators).await?;
        let taken: i64 = with_db!(c, c => users::table.filter(users::email.eq(&email)).count().get_result(c).await)?;
        if taken > 0 {
            return Ok(Registration::EmailTaken);
        }
        let first = !super::setup::has_administrator(c).await?;
        if first && !super::setup::claim_code(c, setup_code.unwrap_or_default(), at).await? {
            return Ok(Registration::SetupCodeNeeded);
        }
        let new = NewAccount {
            email: &email,
            display_name,
            password_hash,
            kind: UserKind::Staff,
            is_active: first,
            is_admin: first,
        };
        with_db!(c, c => diesel::insert_into(users::table).values(insert_values(&new, &email, at)).execute(c).await)?;
        Ok::<_, DbError>(if first { Registration::FirstAdmin } else { Registration::AwaitingActivation })
    })
    .await
}

/// Creates an active administrator, or turns an existing account with that email into one and
/// gives it the new password (the `create-admin` command).
pub async fn upsert_admin(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    password_hash: &PasswordHash,
) -> Result<Account, DbError> {
    let email = normalize_email(email);
    let at = now();
    let row = conn
        .write_tx(async |c: &mut DbConn| {
            c.one_at_a_time(crate::db::TxLock::Administrators).await?;
            super::setup::discard_codes(c).await?;
            with_db!(c, c => {
                let existing: Option<i64> = users::table
                    .filter(users::email.eq(&email))
                    .select(users::id)
                    .first(c)
                    .await
                    .optional()?;
                let row = match existing {
                    Some(id) => diesel::update(users::table.find(id))
                        .set((
                            users::password_hash.eq(password_hash.as_str()),
                            users::kind.eq(UserKind::Staff.as_str()),
                            users::is_active.eq(true),
                            users::is_admin.eq(true),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(c)
                        .await?,
                    None => {
                        let new = NewAccount {
                            email: &email,
                            display_name,
                            password_hash,
                            kind: UserKind::Staff,
                            is_active: true,
                            is_admin: true,
                        };
                        diesel::insert_into(users::table)
                            .values(insert_values(&new, &email, at))
                            .returning(UserRow::as_returning())
                            .get_result(c)
                            .await?
                    }
                };
                Ok::<_, DbError>(row)
            })
        })
        .await?;
    Ok(row.into())
}

/// Gives contact `contact_id` a client account with `email` (or reactivates and links the one
/// that email has) and returns its id. Nobody knows the new account's password; the client
/// chooses theirs through a set-password link. A staff account is never turned into a client,
/// and an account deactivated through user management comes back only if `may_manage_users`.
pub async fn grant_client_account(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    contact_id: i64,
    may_manage_users: bool,
) -> Result<i64, AppError> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let unusable = super::password::hash(&format!("{secret:?}")).await;
    let email = normalize_email(email);
    let at = now();
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        let existing: Option<(i64, String, Option<i64>, bool)> = users::table
            .filter(users::email.eq(&email))
            .select((users::id, users::kind, users::contact_id, users::deactivated_by_manager))
            .first(c)
            .await
            .optional()?;
        let user_id = match existing {
            Some((_, kind, _, _)) if kind != UserKind::Client.as_str() => {
                return Err(AppError::Conflict("A staff account uses this email; it cannot also be a client's.".into()));
            }
            Some((_, _, Some(other), _)) if other != contact_id => {
                return Err(AppError::Conflict("Another contact's portal account already uses this email.".into()));
            }
            Some((_, _, _, true)) if !may_manage_users => {
                return Err(AppError::Conflict(
                    "This client's portal account was deactivated in user management. Ask someone who manages users to activate it again.".into(),
                ));
            }
            Some((user_id, _, _, _)) => {
                diesel::update(users::table.find(user_id))
                    .set((users::contact_id.eq(Some(contact_id)), users::is_active.eq(true), users::deactivated_by_manager.eq(false)))
                    .execute(c)
                    .await?;
                user_id
            }
            None => diesel::insert_into(users::table)
                .values((
                    users::email.eq(&email),
                    users::display_name.eq(display_name),
                    users::password_hash.eq(unusable.as_str()),
                    users::kind.eq(UserKind::Client.as_str()),
                    users::is_active.eq(true),
                    users::is_admin.eq(false),
                    users::contact_id.eq(Some(contact_id)),
                    users::created_at.eq(at),
                ))
                .returning(users::id)
                .get_result(c)
                .await?,
        };
        // Only one client account per contact.
        diesel::update(users::table.filter(users::contact_id.eq(contact_id).and(users::id.ne(user_id))))
            .set(users::contact_id.eq(None::<i64>))
            .execute(c)
            .await?;
        Ok(user_id)
    }))
    .await
}

/// The client accounts linked to the contacts `contact_ids` lose the link (the contacts are
/// being deleted), not their existence; inside the caller's transaction.
pub async fn unlink_contacts(c: &mut DbConn, contact_ids: &[i64]) -> QueryResult<usize> {
    with_db!(c, c => diesel::update(users::table.filter(users::contact_id.eq_any(contact_ids)))
        .set(users::contact_id.eq(None::<i64>))
        .execute(c)
        .await)
}

/// The contact a client account is linked to.
pub async fn linked_contact(conn: &mut DbConn, user_id: i64) -> Result<Option<i64>, DbError> {
    let id: Option<Option<i64>> = with_db!(conn, c => users::table
        .find(user_id)
        .select(users::contact_id)
        .first(c)
        .await
        .optional())?;
    Ok(id.flatten())
}

/// Staff accounts that registered and wait for an administrator.
pub async fn count_pending_staff(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(with_db!(conn, c => users::table
        .filter(users::kind.eq(UserKind::Staff.as_str()).and(users::is_active.eq(false)))
        .count()
        .get_result(c)
        .await)?)
}

pub async fn set_password(conn: &mut DbConn, id: i64, hash: &PasswordHash) -> Result<(), DbError> {
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        diesel::update(users::table.find(id)).set(users::password_hash.eq(hash.as_str())).execute(c).await?;
        Ok::<_, DbError>(())
    }))
        .await
}

/// A successful sign-in from `ip`: remember when, and forget the account's failures from that
/// address (among them the one its attempt was counted as). Failures from elsewhere stay: an
/// attacker's guesses must not get a fresh allowance each time the owner signs in.
pub async fn record_login(
    conn: &mut DbConn,
    id: i64,
    email: &str,
    ip: &str,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    let email = normalize_email(email);
    conn.write_tx(async |c: &mut DbConn| {
        with_db!(c, c => {
            diesel::update(users::table.find(id)).set(users::last_login_at.eq(Some(at))).execute(c).await?;
            diesel::delete(login_failures::table.filter(login_failures::email.eq(&email)).filter(login_failures::ip.eq(ip)))
                .execute(c)
                .await?;
            Ok::<_, DbError>(())
        })
    })
    .await
}

pub async fn record_failure(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    conn.write_tx(async |c: &mut DbConn| write_failure(c, email, ip, at).await).await
}

/// [`record_failure`] inside the caller's transaction.
pub(crate) async fn write_failure(
    c: &mut DbConn,
    email: &str,
    ip: &str,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    let email = normalize_email(email);
    with_db!(c, c => diesel::insert_into(login_failures::table)
        .values((login_failures::email.eq(&email), login_failures::ip.eq(ip), login_failures::failed_at.eq(at)))
        .execute(c)
        .await)?;
    Ok(())
}

/// The right password from `ip` (changing it, say): that address's failures of the account are
/// forgotten, the one its attempt was counted as among them.
pub async fn forget_failures(conn: &mut DbConn, email: &str, ip: &str) -> Result<(), DbError> {
    let email = normalize_email(email);
    conn.write_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::delete(login_failures::table.filter(login_failures::email.eq(&email)).filter(login_failures::ip.eq(ip)))
            .execute(c)
            .await)?;
        Ok::<_, DbError>(())
    })
    .await
}

/// Failures since `since`: their number and the latest one's time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub latest: Option<NaiveDateTime>,
}

pub async fn failures_for_email(
    conn: &mut DbConn,
    email: &str,
    since: NaiveDateTime,
) -> Result<Failures, DbError> {
    let email = normalize_email(email);
    let (count, latest) = with_db!(conn, c => login_failures::table
        .filter(login_failures::email.eq(&email).and(login_failures::failed_at.ge(since)))
        .select((diesel::dsl::count_star(), diesel::dsl::max(login_failures::failed_at)))
        .first::<(i64, Option<NaiveDateTime>)>(c)
        .await)?;
    Ok(Failures { count, latest })
}

/// Failures of one account from one address since `since`.
pub async fn failures_for_email_ip(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    since: NaiveDateTime,
) -> Result<Failures, DbError> {
    let email = normalize_email(email);
    let (count, latest) = with_db!(conn, c => login_failures::table
        .filter(login_failures::email.eq(&email).and(login_failures::failed_at.ge(since)))
        .filter(login_failures::ip.eq(ip))
        .select((diesel::dsl::count_star(), diesel::dsl::max(login_failures::failed_at)))
        .first::<(i64, Option<NaiveDateTime>)>(c)
        .await)?;
    Ok(Failures { count, latest })
}

pub async fn failures_for_ip(conn: &mut DbConn, ip: &str, since: NaiveDateTime) -> Result<Failures, DbError> {
    let (count, latest) = with_db!(conn, c => login_failures::table
        .filter(login_failures::ip.eq(ip).and(login_failures::failed_at.ge(since)))
        .select((diesel::dsl::count_star(), diesel::dsl::max(login_failures::failed_at)))
        .first::<(i64, Option<NaiveDateTime>)>(c)
        .await)?;
    Ok(Failures { count, latest })
}

/// Forgets failures older than `before`; run with the session clean-up.
pub async fn prune_failures(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, DbError> {
    conn.write_tx(async |c: &mut DbConn| with_db!(c, c => {
        let n = diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(before))).execute(c).await?;
        Ok::<_, DbError>(n)
    }))
        .await
}

// ---------------------------------------------------------------- changes made by administrators
// The users slice decides and audits these; they are written here, where the table is kept.

/// The stored row of account `id`, read inside the caller's transaction.
pub(crate) async fn account_row(c: &mut DbConn, id: i64) -> QueryResult<Option<UserRow>> {
    with_db!(c, c => users::table.find(id).select(UserRow::as_select()).first(c).await.optional())
}

/// Whether an account other than `id` has `email` (normalised).
pub(crate) async fn email_used_by_another(c: &mut DbConn, email: &str, id: i64) -> QueryResult<bool> {
    let n: i64 = with_db!(c, c => users::table
        .filter(users::email.eq(email).and(users::id.ne(id)))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Whether `id` is an active staff account.
pub(crate) async fn is_active_staff(c: &mut DbConn, id: i64) -> QueryResult<bool> {
    let n: i64 = with_db!(c, c => users::table
        .filter(users::id.eq(id).and(users::kind.eq(UserKind::Staff.as_str())).and(users::is_active.eq(true)))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Activates or deactivates account `id`; deactivating ends all of its sessions at once.
/// Activates or deactivates account `id`; `by_manager`: through user management (which staff
/// who only edit contacts must not undo), not by revoking a contact's portal access.
pub(crate) async fn write_active(c: &mut DbConn, id: i64, active: bool, by_manager: bool) -> QueryResult<()> {
    with_db!(c, c => diesel::update(users::table.find(id))
        .set((users::is_active.eq(active), users::deactivated_by_manager.eq(!active && by_manager)))
        .execute(c)
        .await)?;
    if !active {
        super::session_store::end_sessions(c, id, None).await?;
        crate::users::repo::revoke_password_tokens(c, id).await?;
    }
    Ok(())
}

/// Sets the name, email (normalised by the caller) and administrator flag of account `id`.
pub(crate) async fn write_identity(
    c: &mut DbConn,
    id: i64,
    display_name: &str,
    email: &str,
    is_admin: bool,
) -> QueryResult<()> {
    with_db!(c, c => diesel::update(users::table.find(id))
        .set((users::display_name.eq(display_name), users::email.eq(email), users::is_admin.eq(is_admin)))
        .execute(c)
        .await)?;
    Ok(())
}

/// Gives account `id` a new password and ends all of its sessions (they were signed in with the
/// old one).
pub(crate) async fn write_password(c: &mut DbConn, id: i64, hash: &PasswordHash) -> QueryResult<()> {
    with_db!(c, c => diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash.as_str()))
        .execute(c)
        .await)?;
    super::session_store::end_sessions(c, id, None).await?;
    Ok(())
}

/// Deletes account `id` with its sessions.
pub(crate) async fn remove_account(c: &mut DbConn, id: i64) -> QueryResult<()> {
    super::session_store::end_sessions(c, id, None).await?;
    with_db!(c, c => diesel::delete(users::table.find(id)).execute(c).await)?;
    Ok(())
}

/// A person renames themselves.
pub async fn rename(conn: &mut DbConn, id: i64, display_name: &str) -> Result<(), DbError> {
    conn.write_tx(async |c: &mut DbConn| {
        with_db!(c, c => diesel::update(users::table.find(id))
            .set(users::display_name.eq(display_name))
            .execute(c)
            .await)?;
        Ok::<_, DbError>(())
    })
    .await
}

/// Ends every session of `id` but `keep` (the one changing its password).
pub async fn end_other_sessions(conn: &mut DbConn, id: i64, keep: &str) -> Result<usize, DbError> {
    conn.write_tx(async |c: &mut DbConn| Ok(super::session_store::end_sessions(c, id, Some(keep)).await?))
        .await
}

// ---------------------------------------------------------------- permissions

pub(crate) fn to_permissions(keys: Vec<String>) -> BTreeSet<super::Permission> {
    keys.iter().filter_map(|k| super::Permission::from_key(k)).collect()
}

/// The union of the permissions of `user_id`'s groups.
pub async fn group_permissions_of(
    conn: &mut DbConn,
    user_id: i64,
) -> Result<BTreeSet<super::Permission>, DbError> {
    let keys: Vec<String> = with_db!(conn, c => group_permissions::table
        .inner_join(group_members::table.on(group_members::group_id.eq(group_permissions::group_id)))
        .filter(group_members::user_id.eq(user_id))
        .select(group_permissions::permission)
        .distinct()
        .load(c)
        .await)?;
    Ok(to_permissions(keys))
}

/// What `account` may do: everything for an active administrator, the union of the groups'
/// permissions for other staff, nothing for clients.
pub async fn effective_permissions(
    conn: &mut DbConn,
    account: &Account,
) -> Result<BTreeSet<super::Permission>, DbError> {
    match account.kind {
        UserKind::Client => Ok(BTreeSet::new()),
        UserKind::Staff if account.is_admin => Ok(super::Permission::ALL.into_iter().collect()),
        UserKind::Staff => group_permissions_of(conn, account.id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::password;
    use crate::db::testing::each_backend;

    /// The attack: reaching a new installation before its owner and registering. Without the
    /// setup code from the server's log nobody becomes its administrator (nor gets an account
    /// that one would later activate); with it, the first registration does, and the code is
    /// gone.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_first_administrator_needs_the_setup_code_and_later_ones_wait_for_activation() {
        let hash = password::hash("correct horse battery staple").await;
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            assert_eq!(count_users(&mut conn).await.unwrap(), 0, "{name}");
            let code = crate::accounts::setup::issue_code(&mut conn, now()).await.unwrap().unwrap();
            for guess in [None, Some("0000"), Some("")] {
                let outcome = register_staff(&mut conn, "mallory@example.com", "Mallory", &hash, guess).await;
                assert_eq!(outcome.unwrap(), Registration::SetupCodeNeeded, "{name}: {guess:?}");
            }
            assert_eq!(count_users(&mut conn).await.unwrap(), 0, "{name}: nothing was created");
            let first =
                register_staff(&mut conn, "Ada@Example.com ", "Ada", &hash, Some(&code)).await.unwrap();
            assert_eq!(first, Registration::FirstAdmin, "{name}");
            assert!(
                crate::accounts::setup::issue_code(&mut conn, now()).await.unwrap().is_none(),
                "{name}: no code once an administrator exists"
            );
            let second =
                register_staff(&mut conn, "bob@example.com", "Bob", &hash, Some(&code)).await.unwrap();
            assert_eq!(second, Registration::AwaitingActivation, "{name}: the used code does nothing");
            let again = register_staff(&mut conn, "BOB@example.COM", "Bobby", &hash, None).await.unwrap();
            assert_eq!(again, Registration::EmailTaken, "{name}: emails compare case-insensitively");

            let ada = find_by_email(&mut conn, "ADA@example.com").await.unwrap().unwrap();
            assert_eq!(
                (ada.email.as_str(), ada.is_admin, ada.is_active, ada.kind),
                ("ada@example.com", true, true, UserKind::Staff),
                "{name}"
            );
            let bob = find_by_email(&mut conn, "bob@example.com").await.unwrap().unwrap();
            assert_eq!(
                (bob.display_name.as_str(), bob.is_admin, bob.is_active),
                ("Bob", false, false),
                "{name}"
            );
            assert_eq!(find_by_id(&mut conn, bob.id).await.unwrap().unwrap().email, "bob@example.com");
            assert_eq!(count_users(&mut conn).await.unwrap(), 2, "{name}");
        }
    }

    /// The attack: several registrations at the same moment on a new installation (two servers
    /// started together each logged a code, and both codes leaked). Exactly one becomes the
    /// administrator; on PostgreSQL, whose transactions run side by side, this made two or
    /// three administrators in 2 of 10 trials before the registrations took turns.
    #[tokio::test(flavor = "multi_thread")]
    async fn simultaneous_first_registrations_make_exactly_one_administrator() {
        let hash = password::hash("correct horse battery staple").await;
        for db in each_backend().await {
            let name = db.backend().name();
            for round in 0..5 {
                let mut codes = Vec::new();
                for _ in 0..6 {
                    let mut conn = db.pool.get().await.unwrap();
                    codes.push(crate::accounts::setup::issue_code(&mut conn, now()).await.unwrap().unwrap());
                }
                let attempts = codes.iter().enumerate().map(|(i, code)| {
                    let (pool, hash) = (db.pool.clone(), &hash);
                    async move {
                        let mut conn = pool.get().await.unwrap();
                        let email = format!("erste-{round}-{i}@exämple.org");
                        register_staff(&mut conn, &email, "Erste", hash, Some(code)).await.unwrap()
                    }
                });
                let outcomes = futures::future::join_all(attempts).await;
                let admins = outcomes.iter().filter(|o| **o == Registration::FirstAdmin).count();
                assert_eq!(admins, 1, "{name}, round {round}: {outcomes:?}");
                let mut conn = db.pool.get().await.unwrap();
                let stored: i64 = with_db!(&mut conn, c => users::table.filter(users::is_admin.eq(true)).count().get_result(c).await).unwrap();
                assert_eq!(stored, 1, "{name}, round {round}");
                // The next round starts from a new installation again.
                with_db!(&mut conn, c => diesel::delete(users::table).execute(c).await).unwrap();
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn create_rejects_a_taken_email_and_upsert_admin_resets_an_existing_account() {
        let hash = password::hash("correct horse battery staple").await;
        let other = password::hash("another long passphrase here").await;
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let new = NewAccount {
                email: "c@example.com",
                display_name: "C",
                password_hash: &hash,
                kind: UserKind::Client,
                is_active: true,
                is_admin: false,
            };
            let client = create(&mut conn, &new).await.unwrap();
            assert_eq!(client.kind, UserKind::Client, "{name}");
            let dup = NewAccount { email: " C@EXAMPLE.COM", ..new };
            assert!(create(&mut conn, &dup).await.unwrap_err().is_unique_violation(), "{name}");

            let admin = upsert_admin(&mut conn, "c@example.com", "ignored", &other).await.unwrap();
            assert_eq!(
                (admin.id, admin.kind, admin.is_admin, admin.is_active),
                (client.id, UserKind::Staff, true, true),
                "{name}"
            );
            assert!(password::verify("another long passphrase here", &admin.password_hash).await);
            let fresh = upsert_admin(&mut conn, "root@example.com", "Root", &hash).await.unwrap();
            assert!(fresh.is_admin && fresh.is_active && fresh.id != client.id, "{name}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn failures_are_counted_per_email_and_ip_and_cleared_by_a_login() {
        let hash = password::hash("correct horse battery staple").await;
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            let user = create(
                &mut conn,
                &NewAccount {
                    email: "d@example.com",
                    display_name: "D",
                    password_hash: &hash,
                    kind: UserKind::Staff,
                    is_active: true,
                    is_admin: false,
                },
            )
            .await
            .unwrap();
            let t0 = now() - chrono::Duration::minutes(90);
            record_failure(&mut conn, "d@example.com", "10.0.0.1", t0).await.unwrap();
            for m in 1..=3 {
                record_failure(
                    &mut conn,
                    "D@example.com",
                    "10.0.0.2",
                    t0 + chrono::Duration::minutes(30 + m),
                )
                .await
                .unwrap();
            }
            let hour_ago = now() - chrono::Duration::hours(1);
            let f = failures_for_email(&mut conn, "d@example.com", hour_ago).await.unwrap();
            assert_eq!(f.count, 3, "{name}: the one from 90 minutes ago is outside the window");
            assert_eq!(
                f.latest.map(|l| l.and_utc().timestamp()),
                Some((t0 + chrono::Duration::minutes(33)).and_utc().timestamp()),
                "{name}"
            );
            assert_eq!(failures_for_ip(&mut conn, "10.0.0.2", hour_ago).await.unwrap().count, 3, "{name}");
            assert_eq!(
                failures_for_ip(&mut conn, "10.0.0.9", hour_ago).await.unwrap(),
                Failures::default(),
                "{name}"
            );

            assert_eq!(prune_failures(&mut conn, hour_ago).await.unwrap(), 1, "{name}");
            record_failure(&mut conn, "d@example.com", "10.0.0.3", now()).await.unwrap();
            record_login(&mut conn, user.id, "d@example.com", "10.0.0.2", now()).await.unwrap();
            assert_eq!(
                failures_for_email_ip(&mut conn, "d@example.com", "10.0.0.2", hour_ago).await.unwrap().count,
                0,
                "{name}: the failures from where the owner signed in are forgotten"
            );
            assert_eq!(
                failures_for_email(&mut conn, "d@example.com", hour_ago).await.unwrap().count,
                1,
                "{name}: not another address's (its guesses get no fresh allowance)"
            );
            assert!(find_by_id(&mut conn, user.id).await.unwrap().unwrap().last_login_at.is_some(), "{name}");
        }
    }
}
