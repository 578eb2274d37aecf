//! The axum application: state, layers and routes around the Leptos app.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::accounts::auth::{auth_layer, RequestPermissions, SessionConfig};
use app::accounts::middleware::{guard_areas, load_page_user, reject_cross_site, session_lifetime};
use app::accounts::session_store::DieselSessionStore;
use app::api::AppState;
use app::db::DbPool;
use app::ops::action_errors;
use app::ops::client::{self, ClientAddr, TrustedProxies};
use app::ops::leases;
use app::ops::metrics::Access;
use app::{shell, App};
use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How this server is deployed: its session cookie, the proxies in front of it, and who may
/// read its metrics.
#[derive(Clone, Default)]
pub struct Deployment {
    pub sessions: SessionConfig,
    pub trusted_proxies: TrustedProxies,
    pub metrics: Access,
    pub allowed_hosts: app::ops::hosts::AllowedHosts,
}

/// The version and the commit this binary was built from (`server --version`, `/healthz`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("CRM_GIT_COMMIT");
pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("CRM_GIT_COMMIT"), ")");

/// Set once the server has been told to stop: `/readyz` answers 503 so that load balancers stop
/// sending it traffic while it drains.
static DRAINING: AtomicBool = AtomicBool::new(false);

/// [`router_with`] for a server that is not behind a proxy and shows no metrics.
pub fn router(state: AppState, sessions: &SessionConfig) -> Router {
    router_with(state, &Deployment { sessions: sessions.clone(), ..Deployment::default() })
}

/// The whole application for `state`: health probes, metrics, server functions, pages and
/// static files, behind (outermost first) the client's address, request ids and tracing, the
/// metrics' timing, the cross-site check, sessions and axum-login, the session lifetime, the
/// guard of the staff and portal trees, the page deadline, and the loading of a page's
/// signed-in user.
pub fn router_with(state: AppState, deployment: &Deployment) -> Router {
    let sessions = &deployment.sessions;
    let routes = generate_route_list(App);
    // Called for every request: the shared state, and a fresh memo of the caller's permissions
    // (a page's already holds what `load_page_user` read).
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_context(RequestPermissions::for_request());
            app::ops::headers::provide_page_nonce();
        }
    };
    let options = state.leptos_options.clone();
    let absolute = sessions.absolute_timeout;
    let proxies = deployment.trusted_proxies.clone();
    let signer = state.pool.clone();
    let hosts = deployment.allowed_hosts.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics).layer(axum::Extension(deployment.metrics.clone())))
        .route("/staff/contacts/export.csv", get(app::contacts::export::export_csv))
        // The upload limits its own size as it streams (imports::upload), so axum's does not apply.
        .route(
            app::imports::files::UPLOAD_PATH,
            axum::routing::post(app::imports::files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/staff/imports/{id}/errors.csv", get(app::imports::files::errors_csv))
        .nest_service(&format!("/{}", state.leptos_options.site_pkg_dir), site_pkg(&state.leptos_options))
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(axum::middleware::from_fn(whole_pages))
        .layer(axum::middleware::from_fn(app::ops::headers::middleware))
        .layer(axum::middleware::from_fn(load_page_user))
        .layer(axum::middleware::from_fn(move |req, next| page_deadline(PAGE_DEADLINE, req, next)))
        .layer(axum::middleware::from_fn(guard_areas))
        .layer(axum::middleware::from_fn(move |req, next| session_lifetime(absolute, req, next)))
        .layer(auth_layer(state.pool.clone(), sessions))
        .layer(axum::middleware::from_fn(reject_cross_site))
        .layer(axum::middleware::from_fn(limit_bodies))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES as usize))
        .layer(axum::middleware::from_fn(move |req, next| action_errors::middleware(signer.clone(), req, next)))
        .layer(axum::middleware::from_fn(app::ops::metrics::middleware))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .layer(axum::middleware::from_fn(move |req, next| client::middleware(proxies.clone(), req, next)))
        .layer(axum::middleware::from_fn(move |req, next| app::ops::hosts::middleware(hosts.clone(), req, next)));
    with_security_headers(router, sessions.secure).with_state(state)
}

/// The security headers of every response, errors included (app::ops::headers): a page's own
/// Content-Security-Policy (set by the shell, with its nonce) or a closed one for everything
/// else; no MIME sniffing, no framing, no referrer for other sites, a browsing context of its
/// own; HSTS when the site is served over HTTPS.
fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>, https: bool) -> Router<S> {
    use app::ops::headers::{OTHER_POLICY, STRICT_TRANSPORT_SECURITY};
    use axum::http::header::{self, HeaderName, HeaderValue};
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    let fixed = |value: &'static str| HeaderValue::from_static(value);
    let router = router
        .layer(Set::if_not_present(header::CONTENT_SECURITY_POLICY, fixed(OTHER_POLICY)))
        .layer(Set::overriding(header::X_CONTENT_TYPE_OPTIONS, fixed("nosniff")))
        .layer(Set::overriding(header::X_FRAME_OPTIONS, fixed("DENY")))
        .layer(Set::overriding(header::REFERRER_POLICY, fixed("same-origin")))
        .layer(Set::overriding(HeaderName::from_static("cross-origin-opener-policy"), fixed("same-origin")));
    if https {
        router.layer(Set::overriding(header::STRICT_TRANSPORT_SECURITY, fixed(STRICT_TRANSPORT_SECURITY)))
    } else {
        router
    }
}

/// The wasm, its JavaScript and the stylesheet. A release names them by their content's hash
/// (`hash_files`): they are cached for a year and never asked for again (`immutable`); a new
/// release has new names. Otherwise (development) the browser asks each time. Either way a
/// browser that accepts brotli or gzip gets the file a release compressed beforehand
/// (`cargo leptos build --release --precompress`), with the right `Content-Encoding`.
fn site_pkg(options: &leptos::config::LeptosOptions) -> Router {
    use axum::http::header::{CACHE_CONTROL, VARY};
    use axum::http::HeaderValue;
    use tower_http::services::ServeDir;
    use tower_http::set_header::SetResponseHeaderLayer;
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let caching = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    // Only a file found is cached: during a rolling upgrade a page from a new server may ask an
    // old one for a file it does not have yet, and that 404 must not stick for a year.
    let cache_found = move |res: &axum::response::Response<_>| {
        (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED).then(|| caching.clone())
    };
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(CACHE_CONTROL, cache_found))
        // The body depends on Accept-Encoding: shared caches must keep one copy per encoding.
        .layer(SetResponseHeaderLayer::appending(VARY, HeaderValue::from_static("accept-encoding")))
}

/// The largest request body, the import's upload aside (it limits its own as it streams, up to
/// CRM_IMPORT_LIMIT_MB): far above any form, far below what would hurt (150 bodies of 1.9 MB
/// took the server from 197 to 603 MB).
pub const MAX_BODY_BYTES: u64 = 256 * 1024;

/// Answers 413 for a body announced larger than [`MAX_BODY_BYTES`] before it is read (it was a
/// 500 from the form's parser); a body sent without its length stops at the same limit as it is
/// read (`DefaultBodyLimit`).
async fn limit_bodies(
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) && req.uri().path() != app::imports::files::UPLOAD_PATH {
        return (StatusCode::PAYLOAD_TOO_LARGE, "This request is too large.").into_response();
    }
    next.run(req).await
}

/// How long a page may take to render before the server gives up on it.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(15);

/// Answers 503 for a page that has not rendered within `deadline`, and drops the render's
/// future (tasks it spawned run on). Leptos 0.8's renderer has now and then never finished a page
/// (README, "Tests"); without this a hung render would hold its connection until the client gave
/// up. The page says to reload; `Retry-After` is for proxies and scripts. Server functions,
/// files and the CSV export are not limited here.
pub async fn page_deadline(
    deadline: Duration,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !app::api::is_page_request(&req) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    match tokio::time::timeout(deadline, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::error!(%path, ?deadline, "page render did not finish in time; answered 503");
            let body = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Try again · CRM</title></head>\
                <body><main><h1>This page took too long</h1><p>Please reload it.</p></main></body></html>";
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (axum::http::header::RETRY_AFTER, "1"),
                    (HeaderName::from_static("x-page-deadline"), "passed"),
                ],
                body,
            )
                .into_response()
        }
    }
}

/// A server-rendered page is complete before its first byte leaves (`SsrMode::Async`) but comes
/// out of the renderer in many small chunks: sent as one body it leaves in one write, with a
/// `Content-Length`. Anything else (the CSV export, files) streams as it comes.
async fn whole_pages(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let res = next.run(req).await;
    let is_html = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !is_html {
        return res;
    }
    let (parts, body) = res.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => axum::response::Response::from_parts(parts, axum::body::Body::from(bytes)),
        Err(err) => {
            tracing::error!(error = %err, "page body failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The process is up and answering, and which build it is.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": VERSION, "commit": COMMIT }))
}

/// The database answers a query; load balancers stop sending traffic when it does not, and
/// when the server is draining before it stops.
/// Anybody may ask, so the answer names no backend and carries no error text (a database's
/// message can hold host names, users and paths): those go to the log.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if DRAINING.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "draining" })));
    }
    match tokio::time::timeout(Duration::from_secs(5), state.pool.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable" })))
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer within 5 s");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable" })))
        }
    }
}

/// `/metrics` for the callers [`Access`] permits; 404 for everybody else, as for an unknown page.
async fn metrics(
    State(state): State<AppState>,
    axum::Extension(access): axum::Extension<Access>,
    client: Option<axum::Extension<ClientAddr>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    if !access.permits(client.map(|c| c.0), &headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let body = app::ops::metrics::render(&state.pool).await;
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Runs `job` every `period` on the one server (of all those sharing the database) that holds
/// the lease `name`; `holder` names this server. A failed job, or a failed claim, is logged and
/// tried again at the next tick.
pub fn spawn_once_per_period<F, Fut>(
    pool: DbPool,
    name: &'static str,
    holder: Arc<str>,
    period: Duration,
    job: F,
) where
    F: Fn(DbPool) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let claimed = match pool.get().await {
                Ok(mut conn) => leases::claim(&mut conn, name, &holder, app::clock::now(), period).await,
                Err(err) => Err(err),
            };
            match claimed {
                Ok(true) => {
                    // A run that outlasts the lease would let another server start the same
                    // job: the lease is renewed every third of a period while the job runs.
                    let run = job(pool.clone());
                    tokio::pin!(run);
                    let mut renewals =
                        tokio::time::interval_at(tokio::time::Instant::now() + period / 3, period / 3);
                    let done = loop {
                        tokio::select! {
                            done = &mut run => break done,
                            _ = renewals.tick() => {
                                if let Ok(mut conn) = pool.get().await {
                                    let _ = leases::claim(&mut conn, name, &holder, app::clock::now(), period).await;
                                }
                            }
                        }
                    };
                    if let Err(err) = done {
                        tracing::warn!(job = name, error = %err, "periodic job failed; will retry");
                    }
                }
                Ok(false) => tracing::debug!(job = name, "another server holds this job's lease"),
                Err(err) => {
                    tracing::warn!(job = name, error = %err, "claiming the job's lease failed; will retry")
                }
            }
        }
    });
}

/// Deletes expired sessions (and stale sign-in failures) and refreshes the query planner's
/// statistics every `period`, on one server at a time.
pub fn spawn_session_cleanup(state: &AppState, holder: Arc<str>, period: Duration) {
    spawn_once_per_period(state.pool.clone(), "session-cleanup", holder, period, |pool| async move {
        use tower_sessions::ExpiredDeletion;
        let store = DieselSessionStore::new(pool.clone());
        store.delete_expired().await.map_err(|e| format!("session clean-up: {e}"))?;
        pool.refresh_statistics().await.map_err(|e| format!("planner statistics: {e}"))
    });
}

/// Reads the organisation's time zone and date format again every `period`. The server that
/// saves them shows the change at once; another server sharing the database shows it after at
/// most `period` (`CLOCK_REFRESH`), and until then in the zone it had.
pub fn spawn_clock_refresh(state: &AppState, period: Duration) {
    let pool = state.pool.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let loaded = match pool.get().await {
                Ok(mut conn) => app::settings::organisation::repo::load_clock(&mut conn).await,
                Err(err) => Err(err),
            };
            if let Err(err) = loaded {
                tracing::warn!(error = %err, "reading the organisation's clock failed; will retry");
            }
        }
    });
}

/// Brings every dynamic segment's members, entries and exits up to date every `period`, on one
/// server at a time (a segment's page does so too when it is opened), so that the record of who
/// entered and left does not wait for someone to look. Segments whose data did not change cost
/// one read each.
pub fn spawn_segment_sync(state: &AppState, holder: Arc<str>, period: Duration) {
    spawn_once_per_period(state.pool.clone(), "segment-sync", holder, period, |pool| async move {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        app::segments::repo::sync_all(&mut conn).await.map(|_| ()).map_err(|e| e.to_string())
    });
}

/// Resolves when SIGTERM or ctrl-c arrives, `drain` after `/readyz` began to answer 503; axum
/// then stops accepting connections and lets in-flight requests finish.
pub async fn shutdown_signal(drain: Duration) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    DRAINING.store(true, Ordering::Relaxed);
    if !drain.is_zero() {
        tracing::info!(?drain, "stopping: draining (readyz answers 503)");
        tokio::time::sleep(drain).await;
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
