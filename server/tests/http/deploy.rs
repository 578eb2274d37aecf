//! The server behind a reverse proxy, as operators deploy it: the client's address from
//! `X-Forwarded-For` only when a trusted proxy sent it (sign-in throttling depends on it), and
//! `/metrics` only for the allowed addresses or the token.

use std::net::SocketAddr;

use app::accounts::UserKind;
use app::db::testing;
use app::ops::client::TrustedProxies;
use app::ops::metrics::Access;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use server::Deployment;

use crate::support::{TestApp, PASSWORD};

const ADMIN: &str = "zoë.ångström@example.org";

fn behind_proxy() -> Deployment {
    Deployment {
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        metrics: Access::new(TrustedProxies::parse("10.9.0.0/16").unwrap(), Some("Prüf-token-🔑")),
        ..Deployment::default()
    }
}

/// A sign-in arriving over a connection from `peer`, with `forwarded_for` if given.
async fn sign_in(
    app: &TestApp,
    peer: &str,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> StatusCode {
    sign_in_with(app, peer, forwarded_for, None, email, password).await.status
}

/// [`sign_in`] from a browser that sends `cookie`, with the whole reply.
async fn sign_in_with(
    app: &TestApp,
    peer: &str,
    forwarded_for: Option<&str>,
    cookie: Option<&str>,
    email: &str,
    password: &str,
) -> crate::support::Reply {
    let body = format!(
        "email={}&password={}",
        app::ui::encode_query_value(email),
        app::ui::encode_query_value(password)
    );
    let mut req = Request::post("/api/public/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("sec-fetch-site", "same-origin");
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    let peer: SocketAddr = format!("{peer}:50000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    app.send(req).await
}

/// The attack: guesses at one account from many addresses (a botnet) lock it for every
/// address after the per-account allowance, the owner's included, for as long as the guesses
/// go on. The owner's browser, which signed in before, keeps its device cookie and signs in
/// all the same; a browser without one is refused, and so is a forged cookie.
#[tokio::test(flavor = "multi_thread")]
async fn the_owners_browser_signs_in_while_guesses_from_many_addresses_lock_the_account() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user(ADMIN, UserKind::Staff, true).await;
        let first = sign_in_with(&app, "192.0.2.10", None, None, ADMIN, PASSWORD).await;
        assert_eq!(first.status, StatusCode::OK, "{name}");
        let device = first.device_cookie().expect("a device cookie after signing in");
        for i in 0..40 {
            let peer = format!("198.51.{}.{}", i / 5, i % 5 + 1);
            sign_in(&app, &peer, None, ADMIN, "geraten-geraten").await;
        }
        let stranger = sign_in(&app, "203.0.113.77", None, ADMIN, PASSWORD).await;
        assert_eq!(
            stranger,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: the account is locked for new browsers"
        );
        let forged = device.replacen('.', "9.", 1);
        let r = sign_in_with(&app, "192.0.2.10", None, Some(&forged), ADMIN, PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: a forged cookie does not help");
        let owner = sign_in_with(&app, "192.0.2.10", None, Some(&device), ADMIN, PASSWORD).await;
        assert_eq!(owner.status, StatusCode::OK, "{name}: the owner signs in: {}", owner.body);
    }
}

/// 25 failed sign-ins, each for another unknown address so that only the per-address limit
/// (20 free) applies.
async fn fail_25_times(app: &TestApp, peer: &str, forged: impl Fn(usize) -> Option<String>) {
    for i in 0..25 {
        let status =
            sign_in(app, peer, forged(i).as_deref(), &format!("niemand-{i}@example.org"), "falsch").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// The attack: a client sends every failed sign-in with a new `X-Forwarded-For`, straight to
/// the server, to look like a new address each time.
#[tokio::test(flavor = "multi_thread")]
async fn forged_forwarded_for_from_a_client_does_not_escape_the_throttle() {
    let app = TestApp::with_deployment(testing::sqlite().await, &behind_proxy());
    app.add_user(ADMIN, UserKind::Staff, true).await;
    fail_25_times(&app, "203.0.113.9", |i| Some(format!("198.51.100.{i}"))).await;
    let status = sign_in(&app, "203.0.113.9", Some("198.51.100.200"), ADMIN, PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the real address is throttled (refused like a wrong password), whatever the header says"
    );
    // Nor did it burn the budget of the addresses it named.
    assert_eq!(sign_in(&app, "198.51.100.3", None, ADMIN, PASSWORD).await, StatusCode::OK);
}

/// Behind the trusted proxy every connection comes from 127.0.0.1: the client is the address the
/// proxy appended, so one client's failures do not lock out everybody else behind the proxy,
/// and what the client wrote to the left of it is not believed.
#[tokio::test(flavor = "multi_thread")]
async fn behind_the_trusted_proxy_each_client_has_its_own_budget() {
    let app = TestApp::with_deployment(testing::sqlite().await, &behind_proxy());
    app.add_user(ADMIN, UserKind::Staff, true).await;
    fail_25_times(&app, "127.0.0.1", |i| Some(format!("10.{i}.0.1, 203.0.113.7"))).await;
    let status = sign_in(&app, "127.0.0.1", Some("203.0.113.7"), ADMIN, PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "203.0.113.7 is throttled: its right password is refused"
    );
    let status = sign_in(&app, "127.0.0.1", Some("10.3.0.1, 203.0.113.7"), ADMIN, PASSWORD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a forged hop left of the proxy's does not help");
    let status = sign_in(&app, "127.0.0.1", Some("203.0.113.8"), ADMIN, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "another client behind the same proxy signs in");
}

async fn metrics(app: &TestApp, peer: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get("/metrics");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(format!("{peer}:50000").parse().unwrap()));
    let reply = app.send(req).await;
    (reply.status, reply.body)
}

/// The attack: the public (or a client forging `X-Forwarded-For` to look like the monitoring
/// network) reading the metrics.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_answer_only_the_monitoring_network_or_the_token() {
    let app = TestApp::with_deployment(testing::sqlite().await, &behind_proxy());
    app.get("/login", None).await;
    let (status, body) = metrics(&app, "10.9.3.4", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("crm_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"}"),
        "{body}"
    );
    assert!(body.contains("crm_db_pool_connections{state=\"max\"}"), "{body}");
    assert_eq!(metrics(&app, "203.0.113.9", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(metrics(&app, "203.0.113.9", Some("Prüf-token-🔑")).await.0, StatusCode::OK);
    assert_eq!(metrics(&app, "203.0.113.9", Some("Prüf-token")).await.0, StatusCode::NOT_FOUND);
    // A forged header from outside names the monitoring network in vain.
    let mut req = Request::get("/metrics").header("x-forwarded-for", "10.9.3.4").body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo::<SocketAddr>("203.0.113.9:50000".parse().unwrap()));
    assert_eq!(app.send(req).await.status, StatusCode::NOT_FOUND);

    // A server configured with neither shows nobody its metrics.
    let closed = TestApp::new(testing::sqlite().await);
    assert_eq!(metrics(&closed, "127.0.0.1", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(metrics(&closed, "127.0.0.1", Some("")).await.0, StatusCode::NOT_FOUND);
}

/// A release's files carry their content's hash in their names: the browser keeps them a year
/// and gets the precompressed copy it can read.
#[tokio::test(flavor = "multi_thread")]
async fn hashed_site_files_are_immutable_and_sent_precompressed() {
    let site = std::env::temp_dir().join(format!("crm_site_{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/crm.0a1b2c.css"), "body { color: #1a1a1a }").unwrap();
    std::fs::write(site.join("pkg/crm.0a1b2c.css.br"), b"\x0b\x0b\x80brotli").unwrap();
    std::fs::write(site.join("pkg/crm.0a1b2c.css.gz"), b"\x1f\x8bgzip").unwrap();
    let db = testing::sqlite().await;
    let state = app::api::AppState::new(
        leptos::prelude::LeptosOptions::builder()
            .output_name("crm")
            .site_root(site.display().to_string())
            .hash_files(true)
            .build(),
        db.pool.clone(),
    );
    let router = server::router_with(state, &Deployment::default());
    let fetch = |encoding: &'static str| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let req = Request::get("/pkg/crm.0a1b2c.css").header(header::ACCEPT_ENCODING, encoding);
            router.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
        }
    };
    let res = fetch("gzip, deflate, br").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(fetch("gzip").await.headers()[header::CONTENT_ENCODING], "gzip");
    let plain = fetch("identity").await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(plain.headers()[header::VARY], "accept-encoding", "shared caches keep one copy per encoding");
    // A file this server does not have (a newer release's, mid-upgrade) is not cached.
    let missing = {
        use tower::ServiceExt;
        let req = Request::get("/pkg/crm.newer.wasm").body(Body::empty()).unwrap();
        router.clone().oneshot(req).await.unwrap()
    };
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(header::CACHE_CONTROL).is_none(), "a 404 must not stick for a year");
    let _ = std::fs::remove_dir_all(&site);
}

/// After signing out, the back button or a shared computer's cache must not show a page of the
/// staff area again: pages for a signed-in person are never stored.
#[tokio::test(flavor = "multi_thread")]
async fn pages_of_a_signed_in_person_are_not_stored() {
    let app = TestApp::new(testing::sqlite().await);
    app.add_user(ADMIN, UserKind::Staff, true).await;
    let cookie = app.login(ADMIN, None).await;
    let page = app.get("/staff", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let login = app.get("/login", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.headers.get(header::CACHE_CONTROL).is_none(), "the public sign-in page may be cached");
}
