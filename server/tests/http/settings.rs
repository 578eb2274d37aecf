//! Who may change the settings lists and the organisation, and what the organisation changes.

use app::accounts::UserKind;
use app::db::testing;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn settings_lists_need_the_settings_permission() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        let staff = app.add_user("staff@example.com", UserKind::Staff, false).await;
        let manager = app.add_user("manager@example.com", UserKind::Staff, false).await;
        app.add_user("client@example.com", UserKind::Client, false).await;
        app.join_group(admin_id, staff, "staff@example.com", "Staff").await;
        app.join_group(admin_id, manager, "manager@example.com", "Managers").await;
        let callers = [
            ("anonymous", None, 401),
            ("client", Some(app.login("client@example.com", None).await), 403),
            ("Staff group", Some(app.login("staff@example.com", None).await), 403),
            ("Managers group", Some(app.login("manager@example.com", None).await), 200),
            ("admin", Some(app.login("admin@example.com", None).await), 200),
        ];
        for (who, cookie, want) in &callers {
            let r = app.call("/api/staff/settings_lists", cookie.as_deref(), &[]).await;
            assert_eq!(r.status.as_u16(), *want, "{name}: {who}");
            let r = app
                .call(
                    "/api/staff/add_setting",
                    cookie.as_deref(),
                    &[("list", "services"), ("name", &format!("By {who}"))],
                )
                .await;
            assert_eq!(r.status.as_u16(), *want, "{name}: {who}: {}", r.body);
        }
        let lists = app.call("/api/staff/settings_lists", callers[4].1.as_deref(), &[]).await;
        assert!(
            lists.body.contains("By Managers group") && lists.body.contains("By admin"),
            "{name}: {}",
            lists.body
        );
        assert!(
            !lists.body.contains("By Staff group") && !lists.body.contains("By client"),
            "{name}: refused adds changed nothing"
        );
        let dup = app
            .call(
                "/api/staff/add_setting",
                callers[4].1.as_deref(),
                &[("list", "services"), ("name", "by ADMIN")],
            )
            .await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            dup.body.contains(r#"["list","services"]"#),
            "{name}: the error names its list: {}",
            dup.body
        );
    }
}

/// The time zone's abbreviation now ("WET" in winter, "WEST" in summer for Lisbon).
fn zone_label_now(zone: &str) -> String {
    let clock = app::clock::Clock { tz: app::clock::time_zone(zone).unwrap(), ..Default::default() };
    clock.stamp(app::clock::now()).rsplit(' ').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admins_change_the_organisation_and_times_follow_its_zone() {
    use app::accounts::Permission;

    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.staff_with("trusted@example.com", &Permission::ALL).await;
        app.add_user("client@example.com", UserKind::Client, false).await;
        let callers = [
            ("anonymous", None, 401),
            ("client", Some(app.login("client@example.com", None).await), 403),
            ("staff with every permission", Some(app.login("trusted@example.com", None).await), 403),
            ("admin", Some(app.login("admin@example.com", None).await), 200),
        ];
        let admin = callers[3].1.as_deref();
        let lisbon =
            [("name", "Padaria São João 🥖"), ("time_zone", "Europe/Lisbon"), ("date_format", "dmy")];
        let refused = [("name", "Übernommen"), ("time_zone", "Asia/Tokyo"), ("date_format", "mdy")];

        let users = app.call("/api/staff/users", admin, &[]).await;
        assert!(users.body.contains(" UTC"), "{name}: sign-ins are shown in UTC at first: {}", users.body);

        for (who, cookie, want) in &callers {
            let r = app.call("/api/staff/organisation_settings", cookie.as_deref(), &[]).await;
            assert_eq!(r.status.as_u16(), *want, "{name}: {who} reading: {}", r.body);
            if *want != 200 {
                let r = app.call("/api/staff/save_organisation", cookie.as_deref(), &refused).await;
                assert_eq!(r.status.as_u16(), *want, "{name}: {who} saving: {}", r.body);
            }
        }
        let current = app.call("/api/staff/organisation_settings", admin, &[]).await;
        assert!(
            current.body.contains(r#""name":"Your company""#)
                && current.body.contains(r#""time_zone":"UTC""#)
                && current.body.contains(r#""Europe/Lisbon""#)
                && current.body.contains(r#""Asia/Kolkata""#),
            "{name}: refused saves changed nothing; every zone is offered: {}",
            current.body
        );

        let saved = app.call("/api/staff/save_organisation", admin, &lisbon).await;
        assert_eq!(saved.status, StatusCode::OK, "{name}: {}", saved.body);

        let label = zone_label_now("Europe/Lisbon");
        let users = app.call("/api/staff/users", admin, &[]).await;
        assert!(
            users.body.contains(&format!(" {label}\"")) && !users.body.contains(" UTC\""),
            "{name}: sign-ins are shown in Lisbon time at once: {}",
            users.body
        );
        let portal = app.call("/api/portal/my_details", callers[1].1.as_deref(), &[]).await;
        assert!(
            portal.body.contains(&format!(" {label}\"")),
            "{name}: clients see their last sign-in in Lisbon time too: {}",
            portal.body
        );
        let home = app.get("/", None).await;
        assert!(home.body.contains("Welcome to Padaria São João 🥖"), "{name}: {}", home.body);
        let page = app.get("/staff/settings/organisation", admin).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(
            page.body.contains(r#"<option value="Europe/Lisbon" selected"#)
                && page.body.contains(r#"<option value="dmy" selected"#)
                && page.body.contains(r#"value="Padaria São João 🥖""#),
            "{name}: the form shows what is stored: {}",
            page.body
        );
        assert!(page.body.contains(&format!("{label}.")), "{name}: the page shows the time now in Lisbon");

        let wrong = app
            .call(
                "/api/staff/save_organisation",
                admin,
                &[("name", "Padaria"), ("time_zone", "Atlantis/Poseidonis"), ("date_format", "dmy")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", wrong.body);
        assert!(
            wrong.body.contains(r#"["time_zone","Choose a time zone"#)
                && wrong.body.contains(r#"["time_zone","Atlantis/Poseidonis"]"#),
            "{name}: a message on the field, and what was typed kept: {}",
            wrong.body
        );
        let after = app.call("/api/staff/organisation_settings", admin, &[]).await;
        assert!(after.body.contains(r#""time_zone":"Europe/Lisbon""#), "{name}: {}", after.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_organisation_page_and_its_link_are_for_admins() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.add_user("staff@example.com", UserKind::Staff, false).await;
        let admin = app.login("admin@example.com", None).await;
        let staff = app.login("staff@example.com", None).await;

        let page = app.get("/staff/settings/organisation", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert_eq!(page.body.matches("<h1").count(), 1, "{name}: one heading");
        for label in [
            r#"<label for="field-name">Name"#,
            r#"<label for="field-time_zone">Time zone"#,
            r#"<label for="field-date_format">Date format"#,
        ] {
            assert!(page.body.contains(label), "{name}: {label} in {}", page.body);
        }
        assert!(
            page.body.contains(r#"href="/staff/settings/organisation""#),
            "{name}: the admin's menu links it"
        );

        // Without JavaScript: the form posts, the browser follows the redirect.
        let post = |form: &str| {
            Request::post("/api/staff/save_organisation")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .header(header::REFERER, "http://localhost/staff/settings/organisation")
                .header("sec-fetch-site", "same-origin")
                .header(header::COOKIE, &admin)
                .body(Body::from(form.to_owned()))
                .unwrap()
        };
        let wrong = app.send(post("name=Caf%C3%A9+Tokio&time_zone=Asia%2FEdo&date_format=iso")).await;
        assert_eq!(wrong.status, StatusCode::FOUND, "{name}: {}", wrong.body);
        let browser = wrong.cookie_named("crm_form_error").expect("the form error's cookie");
        let back = app.get(wrong.location().unwrap(), Some(&format!("{admin}; {browser}"))).await;
        assert!(
            back.body.contains("Choose a time zone from the list")
                && back.body.contains(r#"value="Café Tokio""#),
            "{name}: the message, and the name as typed: {}",
            back.body
        );
        let saved = app.send(post("name=Caf%C3%A9+Tokio&time_zone=Asia%2FTokyo&date_format=iso")).await;
        assert_eq!(saved.status, StatusCode::FOUND, "{name}: {}", saved.body);
        assert_eq!(saved.location(), Some("/staff/settings/organisation?saved=1"), "{name}");
        let back = app.get("/staff/settings/organisation?saved=1", Some(&admin)).await;
        assert!(
            back.body.contains("Changes saved.")
                && back.body.contains(r#"<option value="Asia/Tokyo" selected"#),
            "{name}: {}",
            back.body
        );

        let page = app.get("/staff/settings/organisation", Some(&staff)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}");
        assert!(!page.body.contains("field-time_zone"), "{name}: no form for staff: {}", page.body);
        assert!(page.body.contains("You do not have access to this."), "{name}: {}", page.body);
        let home = app.get("/staff", Some(&staff)).await;
        assert!(!home.body.contains(r#"href="/staff/settings/organisation""#), "{name}: no link for staff");
        let anonymous = app.get("/staff/settings/organisation", None).await;
        assert_eq!(
            anonymous.location(),
            Some("/login?next=/staff/settings/organisation"),
            "{name}: anonymous visitors are sent to sign in"
        );
    }
}
