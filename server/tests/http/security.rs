//! Security controls at the HTTP boundary, each with the attack it stops: framing and injected
//! scripts (headers), cached personal data, forged bulk requests, absurd page numbers and
//! oversized sign-ins.

use app::accounts::auth::SessionConfig;
use app::accounts::UserKind;
use app::contacts::ContactInput;
use app::db::testing;
use axum::http::{header, StatusCode};

use crate::support::TestApp;

fn header_of<'a>(reply: &'a crate::support::Reply, name: &str) -> &'a str {
    reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The attacks: a page of another site (or a same-site page an attacker controls) frames the
/// app invisibly and makes a signed-in user click "Delete" in it; a script injected into a page
/// runs with the user's session. A page's policy forbids framing and runs only scripts with the
/// page's own nonce (each render a new one), which Leptos puts on every script it writes.
#[tokio::test(flavor = "multi_thread")]
async fn pages_run_only_their_own_scripts_and_nothing_frames_them() {
    let app = TestApp::new(testing::sqlite().await);
    let page = app.get("/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = header_of(&page, "content-security-policy");
    for directive in ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "'wasm-unsafe-eval'"]
    {
        assert!(policy.contains(directive), "{directive} missing from {policy}");
    }
    let scripts_rule = policy.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
    let loose = scripts_rule.split_whitespace().any(|t| t == "'unsafe-inline'" || t == "'unsafe-eval'");
    assert!(!loose, "no inline or eval'd scripts: {policy}");
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    let scripts = page.body.matches("<script").count();
    assert!(scripts > 0, "{}", page.body);
    assert_eq!(
        page.body.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + page.body.matches(&format!("<script type=\"module\" nonce=\"{nonce}\"")).count(),
        scripts,
        "every script carries the page's nonce: {}",
        page.body
    );
    let again = app.get("/login", None).await;
    assert_ne!(header_of(&again, "content-security-policy"), policy, "a new nonce for each page");

    assert_eq!(header_of(&page, "x-frame-options"), "DENY");
    assert_eq!(header_of(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header_of(&page, "referrer-policy"), "same-origin");
    assert_eq!(header_of(&page, "cross-origin-opener-policy"), "same-origin");
    assert_eq!(header_of(&page, "strict-transport-security"), "", "no HSTS over plain HTTP");

    // Everything else (a server function's answer, a probe) runs nothing and frames nothing.
    let api = app.call("/api/public/current_user", None, &[]).await;
    assert_eq!(header_of(&api, "content-security-policy"), app::ops::headers::OTHER_POLICY);
    assert_eq!(header_of(&api, "x-content-type-options"), "nosniff");
    let probe = app.get("/healthz", None).await;
    assert_eq!(header_of(&probe, "x-frame-options"), "DENY");
}

/// Served over HTTPS (CRM_PUBLIC_URL=https://…), browsers are told to use nothing else: a
/// network attacker cannot downgrade a later visit to plain HTTP.
#[tokio::test(flavor = "multi_thread")]
async fn https_sites_send_hsts() {
    let sessions = SessionConfig { secure: true, ..SessionConfig::default() };
    let app = TestApp::with_sessions(testing::sqlite().await, &sessions);
    let page = app.get("/login", None).await;
    assert_eq!(header_of(&page, "strict-transport-security"), "max-age=31536000");
}

/// The attack: somebody at a shared computer opens the browser's cache (or a shared proxy
/// keeps a copy) and finds the export of every contact. Exports are never stored.
#[tokio::test(flavor = "multi_thread")]
async fn exports_are_never_cached() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        let export = app.get("/staff/contacts/export.csv", Some(&admin)).await;
        assert_eq!(export.status, StatusCode::OK, "{name}");
        assert_eq!(header_of(&export, header::CACHE_CONTROL.as_str()), "no-store", "{name}");
    }
}

/// The attack: a hand-made link with `page=9223372036854775807`. The offset overflowed (a panic
/// in a debug build, a page that never answered); now it is an empty page.
#[tokio::test(flavor = "multi_thread")]
async fn paging_far_past_the_end_answers_an_empty_page() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        let far = i64::MAX.to_string();
        for path in ["/staff/users", "/staff/audit", "/staff/contacts", "/staff/imports"] {
            let page = app.get(&format!("{path}?page={far}"), Some(&admin)).await;
            assert_eq!(page.status, StatusCode::OK, "{name}: {path}: {}", page.body);
        }
        for (function, args) in [
            ("/api/staff/users", vec![("page", far.as_str())]),
            ("/api/staff/audit", vec![("page", far.as_str())]),
            ("/api/staff/import_history", vec![("page", far.as_str())]),
        ] {
            let r = app.call(function, Some(&admin), &args).await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {function}: {}", r.body);
        }
    }
}

/// The attack: a forged bulk request hands contacts to a client's account, to a colleague who
/// was deactivated, or to an id that does not exist (which answered 500). The form's rule holds
/// for the bulk action too: an active staff member, or a message on the field and no change.
/// And a list of ids too long for one statement is refused, not sent to the database.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_set_owner_takes_only_active_staff() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        let client = app.add_user("kunde@example.com", UserKind::Client, false).await;
        let gone = app.add_user("ehemalig@example.com", UserKind::Staff, false).await;
        let admin = app.login("admin@example.com", None).await;
        let mut conn = app.db.pool.get().await.unwrap();
        let actor = app::users::repo::Actor { id: admin_id, name: "Admin".into() };
        app::users::repo::set_active(
            &mut conn,
            &actor,
            gone,
            false,
            app::users::repo::Through::UserManagement,
        )
        .await
        .unwrap();
        let input =
            ContactInput { first_name: "Žofie".into(), owner_id: Some(admin_id), ..Default::default() };
        let contact = app::contacts::repo::create(&mut conn, admin_id, &input).await.unwrap();
        let contact_id = contact.to_string();
        for owner in [client.to_string(), gone.to_string(), "987654321".to_owned()] {
            let r = app
                .call(
                    "/api/staff/bulk_contacts",
                    Some(&admin),
                    &[("ids[]", &contact_id), ("action", "set_owner"), ("owner_id", &owner)],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: owner {owner}: {}", r.body);
            assert!(r.body.contains("active staff member"), "{name}: {}", r.body);
        }
        let stored = app::contacts::repo::get(&mut conn, contact).await.unwrap().unwrap();
        assert_eq!(stored.input.owner_id, Some(admin_id), "{name}: unchanged");

        let many: Vec<String> = (1..=1001).map(|i| i.to_string()).collect();
        let mut form: Vec<(&str, &str)> = many.iter().map(|id| ("ids[]", id.as_str())).collect();
        form.extend([("action", "add_tag"), ("tag", "Massenware")]);
        let r = app.call("/api/staff/bulk_contacts", Some(&admin), &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", r.body);
        assert!(r.body.contains("at most 1,000"), "{name}: {}", r.body);
    }
}

/// The attack: megabytes typed as the email at sign-in were stored, logged and sent back. An
/// email no account can have is refused before any lookup, hashing or logging.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_email_at_sign_in_is_refused_and_not_echoed() {
    let app = TestApp::new(testing::sqlite().await);
    let huge = format!("{}@example.com", "ä".repeat(5000));
    let r = app.call("/api/public/login", None, &[("email", &huge), ("password", "irgendwas")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("at most 254"), "{}", r.body);
    assert!(!r.body.contains(&huge[..200]), "not echoed back");
    let mut conn = app.db.pool.get().await.unwrap();
    let since = app::clock::now() - chrono::Duration::hours(1);
    let stored = app::accounts::repo::failures_for_email(&mut conn, &huge, since).await.unwrap();
    assert_eq!(stored.count, 0, "not stored");
}

/// The reconnaissance: an anonymous visitor read which database (and which schema version) a
/// server runs, and `/readyz` passed the database's error text on. Staff still see both on the
/// status page; the probe says only whether the server is ready.
#[tokio::test(flavor = "multi_thread")]
async fn anonymous_visitors_do_not_learn_the_backend_or_the_schema() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("staff@example.com", UserKind::Staff, false).await;
        app.add_user("kundin@example.com", UserKind::Client, false).await;
        let staff = app.login("staff@example.com", None).await;
        let client = app.login("kundin@example.com", None).await;
        for cookie in [None, Some(client.as_str())] {
            let status = app.call("/api/public/system_status", cookie, &[]).await;
            assert_eq!(status.status, StatusCode::OK, "{name}");
            assert!(
                !status.body.contains(name) && status.body.contains(r#""database":null"#),
                "{name}: {}",
                status.body
            );
            let page = app.get("/status", cookie).await;
            assert!(!page.body.contains(name) && !page.body.contains("Schema version"), "{name}");
        }
        let status = app.call("/api/public/system_status", Some(&staff), &[]).await;
        assert!(status.body.contains(name), "{name}: staff see it: {}", status.body);
        assert_eq!(app.get("/readyz", None).await.body, r#"{"status":"ready"}"#, "{name}");
    }
}

/// The attack: a link to the sign-in page with a crafted `__err` (the way a form posted without
/// JavaScript gets its error back) made the app show the attacker's text in its own alert.
/// Errors in an address are shown only as the server signed them; anything else is dropped.
#[tokio::test(flavor = "multi_thread")]
async fn form_errors_in_the_address_are_shown_only_as_the_server_signed_them() {
    use axum::body::Body;
    use axum::http::Request;
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let post = Request::post("/api/public/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, "http://localhost/login")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from("email=nobody%40example.com&password=falsch-falsch"))
            .unwrap();
        let failed = app.send(post).await;
        assert!(failed.status.is_redirection(), "{name}: {} {}", failed.status, failed.body);
        let location =
            failed.location().unwrap_or_default().trim_start_matches("http://localhost").to_owned();
        assert!(location.contains("__err=") && location.contains("__sig="), "{name}: {location}");
        let browser = failed.cookie_named("crm_form_error").expect("the posting browser's form-error cookie");
        let shown = app.get(&location, Some(&browser)).await;
        assert_eq!(shown.status, StatusCode::OK, "{name}");
        assert!(shown.body.contains("do not match an active account"), "{name}: the genuine error is shown");
        assert!(shown.body.contains("nobody@example.com"), "{name}: with what was typed");

        let unsigned: String =
            location.split('&').filter(|p| !p.starts_with("__sig=")).collect::<Vec<_>>().join("&");
        let altered = location.replacen("__err=", "__err=A", 1);
        // The name written encoded, as Leptos decodes it before reading it.
        let encoded = unsigned.replace("__err=", "%5F%5Ferr=");
        // A genuine signature moved to another page.
        let moved = location.replacen("/login?", "/register?", 1);
        // The genuine link opened in another browser (sent to a victim: its message may echo
        // what the attacker typed) shows nothing either.
        let elsewhere = location.clone();
        for (crafted, back) in [
            (unsigned, "/login"),
            (altered, "/login"),
            (encoded, "/login"),
            (moved, "/register"),
            (elsewhere, "/login"),
        ] {
            let cookie = if crafted == location { None } else { Some(browser.as_str()) };
            let r = app.get(&crafted, cookie).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{name}: {crafted}");
            assert_eq!(r.location(), Some(back), "{name}: the page without the error");
        }
        // `//elsewhere` is another site's address: the way back stays on this one.
        let r = app.get(&format!("//evil.example/{}", &location[location.find('?').unwrap()..]), None).await;
        assert_eq!(r.location(), Some("/evil.example/"), "{name}: no open redirect");

        // The server signs only the way back to the form posted: an error planted in a `next=`
        // (a sign-in's own redirect, chosen by whoever posts) is taken out, not signed.
        app.add_user("kunde@example.com", UserKind::Client, false).await;
        let planted = crate::support::PASSWORD.replace(' ', "+");
        let body = format!(
            "email=kunde%40example.com&password={planted}&next=%2Fportal%3F__path%3D%2Fapi%2Fpublic%2Flogin%26__err%3DRVZJTA"
        );
        let post = Request::post("/api/public/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, "http://localhost/login")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .unwrap();
        let signed_in = app.send(post).await;
        let went = signed_in.location().unwrap_or_default();
        assert!(!went.contains("__err") && !went.contains("__sig"), "{name}: {} {went}", signed_in.status);
    }
}

/// The attack: someone at a colleague's unlocked computer guesses the current password on
/// "change password" (observed: 15 wrong guesses, then a change accepted). The guesses are
/// throttled like sign-ins: after the free ones even the right password waits.
#[tokio::test(flavor = "multi_thread")]
async fn guessing_the_current_password_is_throttled_like_sign_in() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("kollegin@example.com", UserKind::Staff, false).await;
        let session = app.login("kollegin@example.com", None).await;
        let change = |current: &'static str| {
            let (app, session) = (&app, session.clone());
            async move {
                app.call(
                    "/api/staff/change_password",
                    Some(&session),
                    &[("current_password", current), ("new_password", "Übernahme durch einen Fremden")],
                )
                .await
            }
        };
        // Guesses until three in a row are refused unchecked (the free ones, and any let through
        // as a wait ran out on a slow machine, are checked and wrong), then the right password.
        let (mut checked, mut refused) = (0, 0);
        while refused < 3 {
            let r = change("vielleicht-dieses").await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
            if r.body.contains("Too many wrong passwords") {
                refused += 1;
            } else {
                assert!(r.body.contains("not your current password"), "{name}: {}", r.body);
                (checked, refused) = (checked + 1, 0);
            }
            assert!(checked <= 8, "{name}: {checked} guesses were checked");
        }
        assert!(checked >= 5, "{name}: the free guesses are checked");
        let r = change(crate::support::PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", r.body);
        assert!(r.body.contains("Too many wrong passwords"), "{name}: {}", r.body);
        let mut conn = app.db.pool.get().await.unwrap();
        let stored =
            app::accounts::repo::find_by_email(&mut conn, "kollegin@example.com").await.unwrap().unwrap();
        assert!(
            app::accounts::password::verify(crate::support::PASSWORD, &stored.password_hash).await,
            "{name}: unchanged"
        );
    }
}

/// The attack: staff who may edit contacts (not manage users) bring back a client's portal
/// account that was deactivated in user management, by inviting the contact again (observed).
/// They still may invite again after revoking the access themselves.
#[tokio::test(flavor = "multi_thread")]
async fn editing_contacts_does_not_undo_a_deactivation_in_user_management() {
    use app::accounts::Permission;
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.staff_with("vertrieb@example.com", &[Permission::ContactsView, Permission::ContactsEdit]).await;
        let admin = app.login("admin@example.com", None).await;
        let sales = app.login("vertrieb@example.com", None).await;
        let mut conn = app.db.pool.get().await.unwrap();
        let input = ContactInput {
            first_name: "Siobhán".into(),
            email: "siobhan@example.ie".into(),
            ..Default::default()
        };
        let contact = app::contacts::repo::create(&mut conn, admin_id, &input).await.unwrap().to_string();
        let invite = |cookie: String| {
            let (app, contact) = (&app, contact.clone());
            async move { app.call("/api/staff/invite_to_portal", Some(&cookie), &[("id", &contact)]).await }
        };
        assert_eq!(invite(sales.clone()).await.status, StatusCode::OK, "{name}");
        let client =
            app::accounts::repo::find_by_email(&mut conn, "siobhan@example.ie").await.unwrap().unwrap();
        let r = app
            .call(
                "/api/staff/set_user_active",
                Some(&admin),
                &[("id", &client.id.to_string()), ("active", "false")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);

        let again = invite(sales.clone()).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{name}: {}", again.body);
        assert!(again.body.contains("deactivated in user management"), "{name}: {}", again.body);
        let stored = app::accounts::repo::find_by_id(&mut conn, client.id).await.unwrap().unwrap();
        assert!(!stored.is_active, "{name}: still deactivated");

        assert_eq!(invite(admin.clone()).await.status, StatusCode::OK, "{name}: an administrator may");
        assert_eq!(
            app.call("/api/staff/revoke_portal", Some(&sales), &[("id", &contact)]).await.status,
            StatusCode::OK
        );
        assert_eq!(invite(sales.clone()).await.status, StatusCode::OK, "{name}: after their own revocation");
    }
}

/// The attack: DNS rebinding. An attacker's page at rebind.example makes its name resolve to
/// the server's address; the browser then sends the attacker's requests (with the attacker's
/// page as their origin, so no cross-site check applies) to the CRM. A request for a host the
/// site does not answer to is refused before anything else; the configured and loopback names
/// (probes, `server healthcheck`) are answered.
#[tokio::test(flavor = "multi_thread")]
async fn requests_for_other_host_names_are_refused() {
    use axum::body::Body;
    use axum::http::Request;
    let deployment = server::Deployment {
        allowed_hosts: app::ops::hosts::AllowedHosts::only(["https://crm.example.com", "intranet.local"]),
        ..server::Deployment::default()
    };
    let app = TestApp::with_deployment(testing::sqlite().await, &deployment);
    let get = |host: &'static str| {
        let app = &app;
        async move {
            app.send(Request::get("/login").header(header::HOST, host).body(Body::empty()).unwrap()).await
        }
    };
    for refused in ["rebind.example", "rebind.example:3000", "crm.example.com.rebind.example"] {
        let r = get(refused).await;
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "{refused}");
        assert_eq!(header_of(&r, "x-frame-options"), "DENY", "the refusal has the security headers too");
    }
    for answered in
        ["crm.example.com", "CRM.example.com:443", "intranet.local:3000", "127.0.0.1:3000", "localhost"]
    {
        assert_eq!(get(answered).await.status, StatusCode::OK, "{answered}");
    }
    // A load balancer's probe by the server's private address is answered.
    let probe = Request::get("/readyz").header(header::HOST, "10.0.3.7:3000").body(Body::empty()).unwrap();
    assert_eq!(app.send(probe).await.status, StatusCode::OK);
}

/// The attacks: a 1.9 MB job title was saved (and went out with every list page after); a 3 MB
/// body answered 500 after the server had read it all. Every text of a contact has a bound with
/// its message next to the field, and a body announced too large is refused at once with 413.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_fields_get_a_message_and_oversized_bodies_413() {
    use axum::body::Body;
    use axum::http::Request;
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        let long_title = "Geschäftsführerin ".repeat(12);
        let mut form = crate::support::contact_form("Ingrid", "ingrid@example.se");
        form.retain(|(k, _)| *k != "input[job_title]");
        form.push(("input[job_title]", long_title.clone()));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.call("/api/staff/save_contact", Some(&admin), &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", r.body);
        assert!(
            r.body.contains("at most 200 characters") && r.body.contains("job_title"),
            "{name}: {}",
            r.body
        );
        assert!(r.body.contains("Geschäftsführerin"), "{name}: what was typed comes back");

        let huge = format!("input%5Bfirst_name%5D={}", "a".repeat(server::MAX_BODY_BYTES as usize + 1));
        let req = Request::post("/api/staff/save_contact")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, huge.len())
            .header(header::COOKIE, &admin)
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(huge))
            .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::PAYLOAD_TOO_LARGE, "{name}");
    }
}
