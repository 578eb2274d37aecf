//! HTTP-level behaviour of the server: health probes and pages, through the real router.

use std::time::Duration;

use app::accounts::auth::SessionConfig;
use app::api::AppState;
use app::db::{testing, DbPool, PoolOptions};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use tower::ServiceExt;

fn options() -> LeptosOptions {
    LeptosOptions::builder().output_name("crm").build()
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, String) {
    let res = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_reports_a_reachable_database_on_every_backend() {
    for db in testing::each_backend().await {
        let app = server::router(AppState::new(options(), db.pool.clone()), &SessionConfig::default());
        let (status, body) = get(app.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, r#"{"status":"ready"}"#, "no backend named to anonymous callers");
        let (status, body) = get(app, "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        let expected =
            format!(r#"{{"commit":"{}","status":"ok","version":"{}"}}"#, server::COMMIT, server::VERSION);
        assert_eq!(body, expected, "the build the server runs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_503_when_the_database_is_unreachable() {
    // Nothing listens on port 1: connecting fails at once.
    let pool = DbPool::connect(
        Some("postgres://postgres@127.0.0.1:1/nothing"),
        &PoolOptions { max_connections: 2, acquire_timeout: Duration::from_secs(1) },
    )
    .unwrap();
    let app = server::router(AppState::new(options(), pool), &SessionConfig::default());
    let (status, body) = get(app.clone(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, r#"{"status":"unavailable"}"#, "no database error text: {body}");
    // The process itself is still up.
    assert_eq!(get(app, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_leaves_in_one_piece_with_its_length_known() {
    use axum::body::HttpBody;
    let db = testing::sqlite().await;
    let app = server::router(AppState::new(options(), db.pool.clone()), &SessionConfig::default());
    for path in ["/login", "/no/such/page"] {
        let res = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let length = res.body().size_hint().exact();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(body.len() > 1000, "{path}: a whole page");
        // An exact size is what gives the response a Content-Length and a single write (no
        // chunks, no Nagle wait on the last one).
        assert_eq!(length, Some(body.len() as u64), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_render_on_the_server_and_unknown_paths_are_404() {
    let db = testing::sqlite().await;
    let app = server::router(AppState::new(options(), db.pool.clone()), &SessionConfig::default());
    let (status, body) = get(app.clone(), "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Welcome to Your company"), "{body}");
    let (status, body) = get(app.clone(), "/status").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Reachable") && !body.contains("SQLite"), "the backend is for staff: {body}");
    let (status, body) = get(app, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_pool_answers_503_instead_of_hanging() {
    let db = testing::sqlite().await;
    let pool = DbPool::connect(
        Some(&sqlite_path(&db)),
        &PoolOptions { max_connections: 1, acquire_timeout: Duration::from_millis(200) },
    )
    .unwrap();
    let _held = pool.get().await.unwrap();
    let app = server::router(AppState::new(options(), pool), &SessionConfig::default());
    let started = std::time::Instant::now();
    let res = app
        .oneshot(
            Request::post("/api/public/system_status")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(3));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("Unavailable"));
}

fn sqlite_path(db: &testing::TestDb) -> String {
    db.sqlite_path().expect("a SQLite test database")
}

/// `/` is a front door: signed-in people go on to their own area (a redirect from the server, so
/// it works without JavaScript), visitors read what the site is and find the sign-in link.
#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_sends_signed_in_people_to_their_area_and_welcomes_visitors() {
    use crate::support::TestApp;
    use app::accounts::UserKind;
    use axum::http::header;
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("åsa.öberg@example.com", UserKind::Staff, true).await;
        app.add_user("chloé@example.com", UserKind::Client, false).await;
        let open = |cookie: Option<String>| {
            let mut req = Request::get("/").header(header::ACCEPT, "text/html,application/xhtml+xml");
            if let Some(c) = cookie {
                req = req.header(header::COOKIE, c);
            }
            req.body(Body::empty()).unwrap()
        };
        let staff = app.login("åsa.öberg@example.com", None).await;
        let client = app.login("chloé@example.com", None).await;
        for (who, cookie, area) in [("staff", staff, "/staff"), ("client", client, "/portal")] {
            let r = app.send(open(Some(cookie))).await;
            assert_eq!(r.status, StatusCode::FOUND, "{name}: {who}");
            assert_eq!(r.location(), Some(area), "{name}: {who}");
        }
        let visitor = app.send(open(None)).await;
        assert_eq!(visitor.status, StatusCode::OK, "{name}");
        assert_eq!(visitor.location(), None, "{name}");
        assert!(visitor.body.contains("<h1>Welcome to Your company"), "{name}: {}", visitor.body);
        assert!(visitor.body.contains(r#"href="/login""#), "{name}: a way to sign in");
        assert!(!visitor.body.to_lowercase().contains("segment"), "{name}: no promises");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_names_its_icon_and_the_icon_is_served() {
    let db = testing::sqlite().await;
    // cargo-leptos copies public/ into the site root; here the router serves public/ itself.
    let options = LeptosOptions::builder()
        .output_name("crm")
        .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../public"))
        .build();
    let app = server::router(AppState::new(options, db.pool.clone()), &SessionConfig::default());
    let (_, page) = get(app.clone(), "/login").await;
    assert!(page.contains(r#"<link rel="icon" type="image/svg+xml" href="/favicon.svg">"#), "{page}");
    let res = app.oneshot(Request::get("/favicon.svg").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("content-type").unwrap(), "image/svg+xml");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).starts_with("<svg"), "an SVG");
}

/// The threat: a page render that never finishes (Leptos 0.8 does this now and then) holding
/// its connection, and a share of the server, for as long as the client waits. Performed with
/// a page handler that never answers: the deadline answers 503 with a retry hint, while a
/// server function and the CSV export behind the same layer are not cut short.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_never_renders_is_answered_503_at_the_deadline() {
    use axum::routing::{get as route_get, post};
    let deadline = Duration::from_millis(200);
    let app = axum::Router::new()
        .route("/staff/contacts", route_get(std::future::pending::<&'static str>))
        .route(
            "/api/staff/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "done"
            }),
        )
        .route(
            "/staff/contacts/export.csv",
            route_get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "id\n"
            }),
        )
        .layer(axum::middleware::from_fn(move |req, next| server::page_deadline(deadline, req, next)));

    let started = std::time::Instant::now();
    let res =
        app.clone().oneshot(Request::get("/staff/contacts").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5), "answered after {:?}", started.elapsed());
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["x-page-deadline"], "passed");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("<h1>This page took too long</h1>"));

    let res =
        app.clone().oneshot(Request::post("/api/staff/slow").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a server function runs past the page deadline");
    let res =
        app.oneshot(Request::get("/staff/contacts/export.csv").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a file (the CSV export) runs past the page deadline");
}
