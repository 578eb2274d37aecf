//! Server functions of the accounts slice: who is signed in, sign in, register, sign out.

use leptos::prelude::*;

use super::SessionUser;
use crate::error::AppError;

/// Where the registration form sends people, with what the login page should tell them.
pub const REGISTERED_ADMIN: &str = "/login?registered=admin";
pub const REGISTERED_PENDING: &str = "/login?registered=pending";
pub const SIGNED_OUT: &str = "/login?signed_out=1";

/// The signed-in user, or `None` for a visitor.
#[server(prefix = "/api/public", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    if let Some(user) = super::auth::page_user() {
        return user;
    }
    let result = async {
        let Some(account) = super::auth::current_account().await? else { return Ok(None) };
        let permissions = super::auth::permissions_of(&account).await?;
        Ok(Some(account.session_user(permissions.into_iter().collect())))
    }
    .await;
    crate::api::respond(result)
}

/// Signs in and redirects to the user's own area (or to `next` inside it). Every kind of failure
/// gets the same answer.
#[server(prefix = "/api/public", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::auth::{auth_session, client_ip, Credentials, LOGIN_AT};
    use crate::error::FieldErrors;

    let result = async {
        if email.chars().count() > super::MAX_EMAIL {
            // No account has such an email: refused before any lookup, hashing or logging,
            // and not echoed back.
            return Err(AppError::invalid("email", "Enter an email address of at most 254 characters."));
        }
        let mut auth = auth_session().await?;
        let ip = client_ip().await;
        let state = crate::api::state()?;
        let key = state.pool.server_key().await?.to_vec();
        let now = chrono::Utc::now().timestamp();
        let known_for = use_context::<axum::http::request::Parts>()
            .map(|parts| super::device::holders(&key, &parts.headers, now))
            .unwrap_or_default();
        let creds = Credentials { email: email.clone(), password, ip, known_for };
        let account = auth.authenticate(creds).await.map_err(|e| {
            tracing::error!(error = %e, "authentication backend failed");
            AppError::Unavailable
        })?;
        let Some(account) = account else {
            let mut errors = FieldErrors::new();
            errors.form = Some(
                "That email and password do not match an active account. \
                 If you registered recently, an administrator may not have activated your account yet."
                    .to_owned(),
            );
            let next_value = next.clone().unwrap_or_default();
            return Err(AppError::Invalid(errors.with_values(&[("email", &email), ("next", &next_value)])));
        };
        // A new session for every sign-in, also when someone else (or the same person) was
        // signed in in this browser: axum-login only cycles the id for anonymous sessions.
        if auth.user.is_some() {
            let _ = auth.logout().await;
        }
        auth.session.cycle_id().await.map_err(|_| AppError::Unavailable)?;
        auth.login(&account).await.map_err(|_| AppError::Unavailable)?;
        auth.session
            .insert(LOGIN_AT, chrono::Utc::now().timestamp())
            .await
            .map_err(|_| AppError::Unavailable)?;
        // This browser is now known for the account (it keeps its allowance under attack).
        let secure =
            state.public_url.as_deref().is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
        let cookie = super::device::set_cookie(&key, account.id, now, secure);
        if let (Some(response), Ok(value)) =
            (use_context::<leptos_axum::ResponseOptions>(), axum::http::HeaderValue::from_str(&cookie))
        {
            response.append_header(axum::http::header::SET_COOKIE, value);
        }
        leptos_axum::redirect(&super::landing_page(account.kind, next.as_deref()));
        Ok(())
    }
    .await;
    crate::api::respond(result)
}

/// Registers a staff member: an inactive account an administrator activates, or, on a new
/// installation, the first administrator when the setup code from the server's log is given.
/// A taken email gets the same answer as a new one.
#[server(prefix = "/api/public", endpoint = "register")]
pub async fn register(
    display_name: String,
    email: String,
    password: String,
    setup_code: Option<String>,
) -> Result<(), AppError> {
    use super::password;
    use super::repo::{self, Registration};
    use crate::error::FieldErrors;

    let result = async {
        let (display_name, email) = (display_name.trim().to_owned(), email.trim().to_owned());
        let setup_code = setup_code.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let mut errors = FieldErrors::new();
        if display_name.is_empty() {
            errors.add("display_name", "Enter your name, as colleagues should see it.");
        } else if display_name.chars().count() > 100 {
            errors.add("display_name", "Use at most 100 characters.");
        }
        if let Err(message) = validate_email(&email) {
            errors.add("email", message);
        }
        if let Err(message) = password::check_rules(&password, &[&email, &display_name]) {
            errors.add("password", message);
        }
        let code = setup_code.as_deref().unwrap_or_default();
        let typed =
            [("display_name", display_name.as_str()), ("email", email.as_str()), ("setup_code", code)];
        errors.with_values(&typed).into_result()?;

        let hash = password::hash(&password).await;
        let mut conn = crate::api::conn().await?;
        let outcome =
            repo::register_staff(&mut conn, &email, &display_name, &hash, setup_code.as_deref()).await?;
        tracing::info!(outcome = ?outcome, "staff registration");
        if outcome == Registration::SetupCodeNeeded {
            let mut errors = FieldErrors::new();
            errors.add("setup_code", SETUP_CODE_NEEDED);
            return errors.with_values(&typed).into_result();
        }
        leptos_axum::redirect(match outcome {
            Registration::FirstAdmin => REGISTERED_ADMIN,
            _ => REGISTERED_PENDING,
        });
        Ok(())
    }
    .await;
    crate::api::respond(result)
}

/// Why a registration on an installation without an administrator was refused.
pub const SETUP_CODE_NEEDED: &str = "This installation has no administrator yet. Enter the setup code the server wrote to its log when it started (or ask whoever runs the server to use `server create-admin`).";

/// Signs out: the session is deleted on the server, so its cookie is worthless afterwards.
#[server(prefix = "/api/public", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let result = async {
        let mut auth = super::auth::auth_session().await?;
        if let Some(user) = auth.logout().await.map_err(|_| AppError::Unavailable)? {
            tracing::info!(user_id = user.id, "signed out");
        }
        leptos_axum::redirect(SIGNED_OUT);
        Ok(())
    }
    .await;
    crate::api::respond(result)
}

/// A plausible address: something before and after one `@`, a dot in the domain, no spaces.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    if email.is_empty() {
        return Err("Enter your email address.");
    }
    if email.len() > 254 {
        return Err("This email address is too long.");
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err("Enter an email address like name@example.com.")
    }
}
