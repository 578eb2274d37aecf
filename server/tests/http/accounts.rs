//! Sign-in, sessions, the two areas and who may call what — on both backends.

use std::time::Duration;

use app::accounts::auth::SessionConfig;
use app::accounts::UserKind;
use app::db::testing;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::support::{TestApp, PASSWORD};

/// The users of the authorization table, signed in (or not) on `app`.
struct Callers {
    client: String,
    staff: String,
    admin: String,
}

async fn sign_in_everyone(app: &TestApp) -> Callers {
    app.add_user("admin@example.com", UserKind::Staff, true).await;
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    app.add_user("client@example.com", UserKind::Client, false).await;
    Callers {
        client: app.login("client@example.com", None).await,
        staff: app.login("staff@example.com", None).await,
        admin: app.login("admin@example.com", None).await,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_server_function_answers_each_kind_of_caller_as_the_table_says() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let c = sign_in_everyone(&app).await;
        let callers: [(&str, Option<&str>); 4] = [
            ("anonymous", None),
            ("client", Some(&c.client)),
            ("staff", Some(&c.staff)),
            ("admin", Some(&c.admin)),
        ];
        // (server function, expected status for anonymous, client, staff, admin)
        let table: &[(&str, [u16; 4])] = &[
            ("/api/public/system_status", [200, 200, 200, 200]),
            ("/api/public/current_user", [200, 200, 200, 200]),
            ("/api/staff/dashboard", [401, 403, 200, 200]),
            ("/api/portal/my_details", [401, 200, 403, 403]),
        ];
        for (path, expected) in table {
            for ((who, cookie), want) in callers.iter().zip(expected) {
                let reply = app.call(path, *cookie, &[]).await;
                assert_eq!(reply.status.as_u16(), *want, "{name}: {who} calling {path}: {}", reply.body);
            }
        }

        // What the allowed calls return belongs to the caller.
        let me = app.call("/api/public/current_user", Some(&c.client), &[]).await;
        assert!(me.body.contains("client@example.com") && me.body.contains("Client"), "{name}: {}", me.body);
        assert_eq!(app.call("/api/public/current_user", None, &[]).await.body, "null", "{name}");
        let details = app.call("/api/portal/my_details", Some(&c.client), &[]).await;
        assert!(details.body.contains("client@example.com"), "{name}: {}", details.body);
        let staff_view = app.call("/api/staff/dashboard", Some(&c.staff), &[]).await;
        assert!(
            staff_view.body.contains(r#""pending_activations":null"#),
            "{name}: only admins see pending activations: {}",
            staff_view.body
        );
        let admin_view = app.call("/api/staff/dashboard", Some(&c.admin), &[]).await;
        assert!(admin_view.body.contains(r#""pending_activations":0"#), "{name}: {}", admin_view.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_of_each_area_send_visitors_to_login_and_the_other_kind_to_403() {
    let app = TestApp::new(testing::sqlite().await);
    let c = sign_in_everyone(&app).await;

    let anon = app.get("/staff", None).await;
    assert!(anon.status.is_redirection(), "{}", anon.status);
    assert_eq!(anon.location(), Some("/login?next=/staff"));
    let deep = app.get("/portal/details?tab=1", None).await;
    assert_eq!(deep.location(), Some("/login?next=/portal/details%3Ftab%3D1"));

    let client_on_staff = app.get("/staff", Some(&c.client)).await;
    assert_eq!(client_on_staff.status, StatusCode::FORBIDDEN);
    assert!(client_on_staff.body.contains("You do not have access to this page"), "{}", client_on_staff.body);
    let staff_on_portal = app.get("/portal/details", Some(&c.staff)).await;
    assert_eq!(staff_on_portal.status, StatusCode::FORBIDDEN);
    assert!(!staff_on_portal.body.contains("client@example.com"));
    // The refusal alone: no page of the other area rendered under it (one <h1> each).
    for refused in [&client_on_staff, &staff_on_portal] {
        assert_eq!(refused.body.matches("<h1").count(), 1, "{}", refused.body);
    }

    let staff_home = app.get("/staff", Some(&c.staff)).await;
    assert_eq!(staff_home.status, StatusCode::OK);
    assert!(staff_home.body.contains("Good to see you, staff."), "{}", staff_home.body);
    let portal = app.get("/portal/details", Some(&c.client)).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(portal.body.contains("client@example.com"), "{}", portal.body);
    for page in [&staff_home, &portal] {
        assert_eq!(page.body.matches("<h1").count(), 1, "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_sends_each_kind_to_its_area_and_honours_next_only_inside_it() {
    let app = TestApp::new(testing::sqlite().await);
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    app.add_user("client@example.com", UserKind::Client, false).await;
    let login = |email: &'static str, next: &'static str| {
        let app = &app;
        async move {
            app.call("/api/public/login", None, &[("email", email), ("password", PASSWORD), ("next", next)])
                .await
        }
    };
    assert_eq!(login("staff@example.com", "").await.location(), Some("/staff"));
    assert_eq!(login("client@example.com", "").await.location(), Some("/portal"));
    assert_eq!(login("staff@example.com", "/staff/contacts").await.location(), Some("/staff/contacts"));
    assert_eq!(login("client@example.com", "/staff").await.location(), Some("/portal"));
    assert_eq!(login("STAFF@Example.com ", "//evil.example").await.location(), Some("/staff"));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_sign_ins_look_alike_whatever_the_reason() {
    let app = TestApp::new(testing::sqlite().await);
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    {
        let hash = app::accounts::password::hash(PASSWORD).await;
        let mut conn = app.db.pool.get().await.unwrap();
        let waiting = app::accounts::repo::NewAccount {
            email: "new@example.com",
            display_name: "new",
            password_hash: &hash,
            kind: UserKind::Staff,
            is_active: false,
            is_admin: false,
        };
        app::accounts::repo::create(&mut conn, &waiting).await.unwrap();
    }
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move { app.call("/api/public/login", None, &[("email", email), ("password", password)]).await }
    };
    let unknown = attempt("nobody@example.com", PASSWORD).await;
    let wrong = attempt("staff@example.com", "not the password at all").await;
    let not_active = attempt("new@example.com", PASSWORD).await;
    for reply in [&unknown, &wrong, &not_active] {
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
        assert!(reply.set_cookie().is_none(), "no session for a failed sign-in");
    }
    // Same message; only the echoed email differs.
    let strip = |r: &crate::support::Reply, email: &str| r.body.replace(email, "EMAIL");
    assert_eq!(strip(&unknown, "nobody@example.com"), strip(&wrong, "staff@example.com"));
    assert_eq!(strip(&wrong, "staff@example.com"), strip(&not_active, "new@example.com"));
    assert!(!wrong.body.contains("not the password"), "passwords are never echoed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_id_changes_on_every_login_including_a_switch_of_user() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("staff@example.com", UserKind::Staff, false).await;
        app.add_user("client@example.com", UserKind::Client, false).await;

        // An anonymous session first (as a visitor's browser might have), then a sign-in.
        let first = app.login("staff@example.com", None).await;
        let again = app.login("staff@example.com", Some(&first)).await;
        assert_ne!(first, again, "{name}: signing in again issues a new session id");
        let switched = app.login("client@example.com", Some(&again)).await;
        assert_ne!(again, switched, "{name}: switching user issues a new session id");

        let who = |cookie: String| {
            let app = &app;
            async move { app.call("/api/public/current_user", Some(&cookie), &[]).await.body }
        };
        assert_eq!(who(first).await, "null", "{name}: the first session died with the second sign-in");
        assert_eq!(who(again).await, "null", "{name}: the staff session died with the switch");
        assert!(who(switched.clone()).await.contains("client@example.com"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_destroys_the_session_on_the_server() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("staff@example.com", UserKind::Staff, false).await;
        let cookie = app.login("staff@example.com", None).await;
        assert_eq!(
            app.call("/api/staff/dashboard", Some(&cookie), &[]).await.status,
            StatusCode::OK,
            "{name}"
        );

        let out = app.call("/api/public/logout", Some(&cookie), &[]).await;
        assert_eq!(out.status, StatusCode::OK, "{name}: {}", out.body);
        assert_eq!(out.location(), Some("/login?signed_out=1"), "{name}");
        // Replaying the old cookie gets nothing.
        assert_eq!(
            app.call("/api/staff/dashboard", Some(&cookie), &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
        assert!(app.get("/staff", Some(&cookie)).await.status.is_redirection(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_httponly_samesite_and_secure_when_configured() {
    let app = TestApp::new(testing::sqlite().await);
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    let reply =
        app.call("/api/public/login", None, &[("email", "staff@example.com"), ("password", PASSWORD)]).await;
    let cookie = reply.set_cookie().unwrap().to_owned();
    assert!(cookie.starts_with("crm_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");

    let secure = SessionConfig { secure: true, ..SessionConfig::default() };
    let app = TestApp::with_sessions(testing::sqlite().await, &secure);
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    let reply =
        app.call("/api/public/login", None, &[("email", "staff@example.com"), ("password", PASSWORD)]).await;
    let cookie = reply.set_cookie().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-crm_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_past_its_absolute_lifetime_is_signed_out() {
    let short = SessionConfig { absolute_timeout: Duration::from_secs(1), ..SessionConfig::default() };
    let app = TestApp::with_sessions(testing::sqlite().await, &short);
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    let cookie = app.login("staff@example.com", None).await;
    assert_eq!(app.call("/api/staff/dashboard", Some(&cookie), &[]).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.call("/api/staff/dashboard", Some(&cookie), &[]).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_are_refused_and_same_site_ones_work() {
    let app = TestApp::new(testing::sqlite().await);
    app.add_user("staff@example.com", UserKind::Staff, false).await;
    let form = format!("email=staff%40example.com&password={}", PASSWORD.replace(' ', "+"));
    let post = |headers: &[(&str, &str)]| {
        let mut req = Request::post("/api/public/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "crm.example.com");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(Body::from(form.clone())).unwrap()
    };
    let refused = [
        app.send(post(&[("sec-fetch-site", "cross-site")])).await,
        app.send(post(&[("sec-fetch-site", "same-site")])).await,
        app.send(post(&[("origin", "https://evil.example")])).await,
        app.send(post(&[("origin", "null")])).await,
    ];
    for reply in &refused {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(reply.set_cookie().is_none());
    }
    // A form posted from our own page without JavaScript: the browser says same-origin.
    let same = app.send(post(&[("sec-fetch-site", "same-origin"), ("accept", "text/html")])).await;
    assert_eq!(same.status, StatusCode::FOUND, "{}", same.body);
    assert_eq!(same.location(), Some("/staff"));
    let same_origin_header = app.send(post(&[("origin", "https://crm.example.com")])).await;
    assert_eq!(same_origin_header.status, StatusCode::OK, "{}", same_origin_header.body);
    // Reading is never blocked.
    let get = app
        .send(Request::get("/login").header("sec-fetch-site", "cross-site").body(Body::empty()).unwrap())
        .await;
    assert_eq!(get.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_throttle_the_account_and_it_recovers() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("staff@example.com", UserKind::Staff, false).await;
        for _ in 0..5 {
            let r = app
                .call(
                    "/api/public/login",
                    None,
                    &[("email", "staff@example.com"), ("password", "wrong wrong wrong")],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        }
        // Throttled: even the right password is refused, with the same answer as a wrong one.
        let throttled = app
            .call("/api/public/login", None, &[("email", "staff@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(throttled.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", throttled.body);
        // After the back-off (one second after the fifth failure) the right password works.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        app.login("staff@example.com", None).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_makes_the_first_admin_only_with_the_setup_code_then_inactive_staff_without_revealing_emails(
) {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let register = |email: &'static str, display_name: &'static str, password: &'static str| {
            let app = &app;
            async move {
                app.call(
                    "/api/public/register",
                    None,
                    &[("display_name", display_name), ("email", email), ("password", password)],
                )
                .await
            }
        };
        // The attack: the first visitor of a new installation registers to become its owner.
        let mallory = register("mallory@example.com", "Mallory", PASSWORD).await;
        assert_eq!(mallory.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", mallory.body);
        assert!(mallory.body.contains("setup code"), "{name}: {}", mallory.body);
        let code = app::accounts::setup::issue_code(&mut app.db.pool.get().await.unwrap(), app::clock::now())
            .await
            .unwrap()
            .unwrap();
        let guessed = app
            .call(
                "/api/public/register",
                None,
                &[
                    ("display_name", "Mallory"),
                    ("email", "mallory@example.com"),
                    ("password", PASSWORD),
                    ("setup_code", "00000000"),
                ],
            )
            .await;
        assert_eq!(guessed.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: a guessed code");
        assert!(guessed.body.contains("mallory@example.com"), "{name}: what was typed comes back");
        let first = app
            .call(
                "/api/public/register",
                None,
                &[
                    ("display_name", "Ada"),
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("setup_code", &code),
                ],
            )
            .await;
        assert_eq!(first.location(), Some("/login?registered=admin"), "{name}: {}", first.body);
        app.login("ada@example.com", None).await;
        let mallory = app
            .call("/api/public/login", None, &[("email", "mallory@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(
            mallory.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: no account was made for Mallory"
        );

        let second = register("bob@example.com", "Bob", PASSWORD).await;
        assert_eq!(second.location(), Some("/login?registered=pending"), "{name}");
        let taken = register("ADA@example.com", "Impostor", PASSWORD).await;
        assert_eq!(
            (taken.status, taken.location()),
            (second.status, second.location()),
            "{name}: same answer for a taken email"
        );
        let bob = app
            .call("/api/public/login", None, &[("email", "bob@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(bob.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: waits for activation");

        let bad = register("not-an-email", "", "password12345678").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        for message in ["Enter your name", "name@example.com", "too easy to guess"] {
            assert!(bad.body.contains(message), "{name}: {message:?} missing from {}", bad.body);
        }
        assert!(bad.body.contains("not-an-email"), "{name}: the typed email comes back");
        assert!(!bad.body.contains("password12345678"), "{name}: the password does not");
    }
}
