//! What every server function needs on the server: the shared state, a database connection, and
//! an HTTP status that matches its error.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::{header, request::Parts, StatusCode};
use leptos::prelude::*;

use crate::db::{DbConn, DbPool};
use crate::error::AppError;

/// Shared by axum handlers (through `FromRef`) and by server functions (through context).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: DbPool,
    /// Where people reach the site (`CRM_PUBLIC_URL`, such as `https://crm.example.com`), for
    /// the links they copy and send; unset, the request's own address.
    pub public_url: Option<Arc<str>>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, pool: DbPool) -> Self {
        AppState { leptos_options, pool, public_url: None }
    }

    /// `url` without its trailing slash becomes the site's public address.
    pub fn with_public_url(mut self, url: Option<&str>) -> Self {
        self.public_url = url.map(|u| Arc::from(u.trim_end_matches('/')));
        self
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

pub async fn conn() -> Result<DbConn, AppError> {
    Ok(state()?.pool.get().await?)
}

/// Whether `req` asks for a page the Leptos app renders: a GET or HEAD that is not a server
/// function, a probe or a file (a last segment with a dot: assets, the icon, the CSV export).
pub fn is_page_request<B>(req: &axum::http::Request<B>) -> bool {
    let path = req.uri().path();
    let is_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
    matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD)
        && !path.starts_with("/api/")
        && !is_file
        && !matches!(path, "/healthz" | "/readyz")
}

/// Passes `result` through, giving an error response its real status. A plain HTML form post is
/// left alone: leptos answers it with a redirect back to the form, which carries the error.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        let is_form_post = use_context::<Parts>()
            .and_then(|p| p.headers.get(header::ACCEPT).cloned())
            .and_then(|v| v.to_str().map(|s| s.contains("text/html")).ok())
            .unwrap_or(false);
        if !is_form_post {
            if let (Some(opts), Ok(status)) =
                (use_context::<leptos_axum::ResponseOptions>(), StatusCode::from_u16(err.status_code()))
            {
                opts.set_status(status);
                // Overloaded or the database out of reach: tell clients (and proxies) when to
                // come back rather than have them retry at once.
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    opts.insert_header(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
                }
            }
        }
    }
    result
}

/// An absolute link to `path?query` on this site: on its public address when one is configured,
/// otherwise as the request reached us. For links people copy and send (the set-password
/// links). The query is encoded like every other link's ([`crate::ui::href`]).
pub async fn absolute_url(path: &str, query: &[(&str, &str)]) -> Result<String, AppError> {
    if let Some(public) = state()?.public_url {
        return Ok(format!("{public}{}", crate::ui::href(path, query)));
    }
    let parts = leptos_axum::extract::<Parts>().await.map_err(|_| AppError::Internal)?;
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = parts.headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    Ok(format!("{scheme}://{host}{}", crate::ui::href(path, query)))
}
