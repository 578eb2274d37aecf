//! HTTP middleware of the accounts slice: the guard of the staff and portal route trees, the
//! session lifetime, and the cross-site request check.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{AuthSession, PageUser, LOGIN_AT, SEEN_AT};
use super::Area;
use crate::error::AppError;

fn error_response(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string(&err).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Guards the two route trees on the server. Anonymous page requests go to the login page with
/// `next`; anonymous server-function calls get 401. A signed-in user of the other kind gets 403:
/// server functions are refused outright, pages render the app's 403 page under a 403 status.
pub async fn guard_areas(req: Request, next: Next) -> Response {
    let Some((area, is_api)) = Area::of(req.uri().path()) else {
        return next.run(req).await;
    };
    let user_kind = req.extensions().get::<AuthSession>().and_then(|auth| auth.user.as_ref().map(|u| u.kind));
    match user_kind {
        Some(kind) if kind == area.kind() => next.run(req).await,
        None if is_api => error_response(AppError::Unauthenticated),
        None => {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            Redirect::to(&crate::ui::href("/login", &[("next", target)])).into_response()
        }
        Some(_) if is_api => error_response(AppError::Forbidden),
        Some(_) => {
            let mut res = next.run(req).await;
            *res.status_mut() = StatusCode::FORBIDDEN;
            res
        }
    }
}

/// Loads the signed-in user and their permissions once for a page request, before the page
/// renders, so the page and its area guard know them without waiting (`pages::Auth::now`). A
/// guard that waited inside a `<Transition>` made Leptos create the page, and fetch all of its
/// data, three times per request: a Suspense walks its children again to find what they read.
/// Server-function calls, files and probes are passed through untouched.
///
/// A page shown to a signed-in person is `Cache-Control: no-store`: after signing out, the
/// browser's back button or a shared computer's cache must not show it again.
pub async fn load_page_user(mut req: Request, next: Next) -> Response {
    let mut signed_in = false;
    if crate::api::is_page_request(&req) {
        if let Some(auth) = req.extensions().get::<AuthSession>().cloned() {
            let user = super::auth::session_user_of(&auth).await;
            signed_in = matches!(user, Ok(Some(_)));
            req.extensions_mut().insert(PageUser(user));
        }
    }
    let mut res = next.run(req).await;
    if signed_in {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Enforces the absolute session lifetime and keeps the idle timer running: tower-sessions only
/// extends a session when it changes, so an active session is touched at most once a minute.
pub async fn session_lifetime(absolute: Duration, mut req: Request, next: Next) -> Response {
    if let Some(mut auth) = req.extensions().get::<AuthSession>().cloned() {
        if auth.user.is_some() {
            let now = chrono::Utc::now().timestamp();
            let login_at = auth.session.get::<i64>(LOGIN_AT).await.ok().flatten();
            let expired = login_at.is_none_or(|t| now - t > absolute.as_secs() as i64);
            if expired {
                let _ = auth.logout().await;
                req.extensions_mut().insert(auth);
            } else {
                let seen = auth.session.get::<i64>(SEEN_AT).await.ok().flatten().unwrap_or(0);
                if now - seen >= 60 {
                    let _ = auth.session.insert(SEEN_AT, now).await;
                }
            }
        }
    }
    next.run(req).await
}

/// Server functions have no CSRF tokens, so state-changing requests from other sites are
/// refused: browsers say where a request comes from in `Sec-Fetch-Site`, older ones in `Origin`.
/// Same-origin form posts without JavaScript carry the same headers and pass.
pub async fn reject_cross_site(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if !safe && is_cross_site(&req) {
        tracing::warn!(path = %req.uri().path(), "cross-site request refused");
        return (StatusCode::FORBIDDEN, "Cross-site requests are not allowed.").into_response();
    }
    next.run(req).await
}

fn is_cross_site(req: &Request) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return !(site == "same-origin" || site == "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Neither header: not a browser (curl, a script), which carries no ambient cookies of
        // another site's making.
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin_authority(origin);
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

fn origin_authority(origin: &HeaderValue) -> Option<&str> {
    let origin = origin.to_str().ok()?;
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
    Some(rest.trim_end_matches('/'))
}
