//! axum-login wiring: the authentication backend, the session layer, and the checks every server
//! function starts with (`require_staff`, `require_client`, …).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder, AuthUser, AuthnBackend, UserId};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use super::password;
use super::repo::{self, Account};
use super::session_store::DieselSessionStore;
use super::throttle::Policy;
use super::Permission;
use super::UserKind;
use crate::db::{DbError, DbPool};
use crate::error::AppError;
use crate::ops::client::{throttle_key, ClientAddr};

pub type AuthSession = axum_login::AuthSession<AuthBackend>;

/// Session keys we keep beside axum-login's own.
pub const LOGIN_AT: &str = "crm.login_at";
pub const SEEN_AT: &str = "crm.seen_at";

impl AuthUser for Account {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    /// Sessions are bound to the password hash: changing the password signs out every session.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_str().as_bytes()
    }
}

#[derive(Clone)]
pub struct AuthBackend {
    pub pool: DbPool,
    throttle: Policy,
}

impl AuthBackend {
    pub fn new(pool: DbPool) -> Self {
        AuthBackend { pool, throttle: Policy::default() }
    }
}

pub struct Credentials {
    pub email: String,
    pub password: String,
    /// The client's address, for throttling.
    pub ip: String,
    /// The accounts this browser signed in to before (its genuine device cookies).
    pub known_for: Vec<i64>,
}

impl AuthnBackend for AuthBackend {
    type User = Account;
    type Credentials = Credentials;
    type Error = DbError;

    /// `Ok(None)` for an unknown email, a wrong password, an inactive account or a throttled
    /// attempt alike. Unknown emails and wrong passwords cost the same hashing work, so they
    /// cannot be told apart; a throttled attempt costs none (its answer is the same, and
    /// hashing for it would let a flood of refused guesses use up the server).
    async fn authenticate(&self, creds: Credentials) -> Result<Option<Account>, DbError> {
        use super::throttle::Attempt;
        let now = crate::clock::now();
        let (attempt, account) = {
            let mut conn = self.pool.get().await?;
            let account = repo::find_by_email(&mut conn, &creds.email).await?;
            let known = account.as_ref().is_some_and(|a| creds.known_for.contains(&a.id));
            (self.throttle.claim(&mut conn, &creds.email, &creds.ip, now, known).await?, account)
        };
        let password_ok = match (&account, attempt) {
            (_, Attempt::Throttled) => false,
            (Some(account), Attempt::Allowed) => {
                password::verify_bounded(&creds.password, &account.password_hash).await?
            }
            (None, Attempt::Allowed) => {
                password::verify_dummy(&creds.password).await?;
                false
            }
        };
        match account {
            Some(account) if password_ok && account.is_active => {
                // Clears the account's failures, the one claimed for this attempt among them.
                repo::record_login(&mut self.pool.get().await?, account.id, &account.email, &creds.ip, now)
                    .await?;
                tracing::info!(user_id = account.id, kind = account.kind.as_str(), ip = %creds.ip, "sign-in succeeded");
                Ok(Some(account))
            }
            account => {
                let reason = match (&account, attempt, password_ok) {
                    (_, Attempt::Throttled, _) => "throttled",
                    (None, _, _) => "unknown email",
                    (Some(_), _, false) => "wrong password",
                    (Some(_), _, true) => "inactive account",
                };
                tracing::warn!(email = ?super::log_safe_email(&creds.email), ip = %creds.ip, reason, "sign-in failed");
                Ok(None)
            }
        }
    }

    /// Loads the signed-in user on every request; a deactivated account is signed out at once.
    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<Account>, DbError> {
        let mut conn = self.pool.get().await?;
        Ok(repo::find_by_id(&mut conn, *id).await?.filter(|a| a.is_active))
    }
}

/// Session cookie and lifetime settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Send the cookie over HTTPS only; also switches to the `__Host-` cookie name.
    pub secure: bool,
    /// Signed out after this long without a request.
    pub idle_timeout: Duration,
    /// Signed out this long after signing in, however active.
    pub absolute_timeout: Duration,
}

/// ASVS 5.0 level 2's lifetimes (7.3.1, 7.3.2): 30 minutes without a request, 12 hours at most.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { secure: false, idle_timeout: IDLE_TIMEOUT, absolute_timeout: ABSOLUTE_TIMEOUT }
    }
}

impl SessionConfig {
    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-crm_session"
        } else {
            "crm_session"
        }
    }
}

/// Sessions in the database behind an HttpOnly, SameSite=Lax cookie, and axum-login on top.
pub fn auth_layer(pool: DbPool, config: &SessionConfig) -> AuthManagerLayer<AuthBackend, DieselSessionStore> {
    let idle = time::Duration::try_from(config.idle_timeout).unwrap_or(time::Duration::minutes(30));
    let sessions = SessionManagerLayer::new(DieselSessionStore::new(pool.clone()))
        .with_name(config.cookie_name())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));
    AuthManagerLayerBuilder::new(AuthBackend::new(pool), sessions).build()
}

/// The caller's address, for throttling and logs: the client's behind a trusted proxy
/// ([`crate::ops::client`]), otherwise the connection's; an IPv6 address as its /64.
pub async fn client_ip() -> String {
    let parts = leptos_axum::extract::<axum::http::request::Parts>().await.ok();
    if let Some(ClientAddr(addr)) = parts.as_ref().and_then(|p| p.extensions.get::<ClientAddr>()) {
        return throttle_key(*addr);
    }
    leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| throttle_key(addr.ip()))
        .unwrap_or_else(|_| "unknown".to_owned())
}

pub async fn auth_session() -> Result<AuthSession, AppError> {
    leptos_axum::extract::<AuthSession>().await.map_err(|e| {
        tracing::error!(error = ?e, "no auth session: is the auth layer installed?");
        AppError::Internal
    })
}

/// The signed-in account, if any.
pub async fn current_account() -> Result<Option<Account>, AppError> {
    Ok(auth_session().await?.user)
}

pub async fn require_signed_in() -> Result<Account, AppError> {
    current_account().await?.ok_or(AppError::Unauthenticated)
}

/// Any active staff member.
pub async fn require_staff() -> Result<Account, AppError> {
    let account = require_signed_in().await?;
    if account.kind == UserKind::Staff {
        Ok(account)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Staff with the admin flag.
pub async fn require_admin() -> Result<Account, AppError> {
    let account = require_staff().await?;
    if account.is_admin {
        Ok(account)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The signed-in user of a page request, loaded before the page renders
/// (`middleware::load_page_user`).
#[derive(Clone, Debug)]
pub struct PageUser(pub Result<Option<super::SessionUser>, AppError>);

/// `auth`'s user with their permissions, as the pages see them.
pub async fn session_user_of(auth: &AuthSession) -> Result<Option<super::SessionUser>, AppError> {
    let Some(account) = &auth.user else { return Ok(None) };
    let mut conn = auth.backend.pool.get().await?;
    let permissions = super::repo::effective_permissions(&mut conn, account).await?;
    Ok(Some(account.session_user(permissions.into_iter().collect())))
}

/// The user the server loaded for the page being rendered, if this is a page request.
pub fn page_user() -> Option<Result<Option<super::SessionUser>, AppError>> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    parts.extensions.get::<PageUser>().map(|user| user.0.clone())
}

/// What the caller may do, read once per request: a page calls several server functions, each
/// checking a permission. The server provides one per request (see `server::router`); without
/// it (tests calling a function directly) every call reads afresh.
#[derive(Clone, Debug, Default)]
pub struct RequestPermissions(std::sync::Arc<tokio::sync::OnceCell<(i64, BTreeSet<Permission>)>>);

impl RequestPermissions {
    /// The memo of one request: for a page, already holding what `load_page_user` read, so a page
    /// reads its user's permissions once.
    pub fn for_request() -> Self {
        let known = page_user()
            .and_then(Result::ok)
            .flatten()
            .map(|user| (user.id, user.permissions.into_iter().collect::<BTreeSet<_>>()));
        RequestPermissions(std::sync::Arc::new(tokio::sync::OnceCell::new_with(known)))
    }
}

/// `account`'s permissions: everything for an administrator, their groups' for other staff.
///
/// Even an administrator's go through the memo and a pool checkout: answering them at once,
/// without an await, made every page render at half the speed under load (bench/run.sh).
pub async fn permissions_of(account: &Account) -> Result<BTreeSet<Permission>, AppError> {
    let read = || async {
        let mut conn = crate::api::conn().await?;
        Ok::<_, AppError>((account.id, super::repo::effective_permissions(&mut conn, account).await?))
    };
    let (id, permissions) = match leptos::prelude::use_context::<RequestPermissions>() {
        Some(memo) => memo.0.get_or_try_init(read).await?.clone(),
        None => read().await?,
    };
    // One request, one account: a sign-in or sign-out mid-request reads again.
    if id == account.id {
        Ok(permissions)
    } else {
        Ok(read().await?.1)
    }
}

/// Staff holding `permission` through one of their groups; administrators hold every permission.
pub async fn require(permission: Permission) -> Result<Account, AppError> {
    let account = require_staff().await?;
    if account.is_admin || permissions_of(&account).await?.contains(&permission) {
        Ok(account)
    } else {
        Err(AppError::Forbidden)
    }
}

/// A signed-in client; what a client may read is then limited to their own records by id.
pub async fn require_client() -> Result<Account, AppError> {
    let account = require_signed_in().await?;
    if account.kind == UserKind::Client {
        Ok(account)
    } else {
        Err(AppError::Forbidden)
    }
}
