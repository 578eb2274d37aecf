//! Who may read and change contacts, through every contacts server function.

use app::accounts::UserKind;
use app::db::testing;
use axum::http::StatusCode;

use crate::support::{contact_form as contact, TestApp};

/// A server function, its arguments, and the status each caller should get.
pub type Row<'a> = (&'a str, &'a Vec<(&'a str, String)>, [u16; 5]);

#[tokio::test(flavor = "multi_thread")]
async fn contact_functions_follow_the_permissions_and_refusals_change_nothing() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.add_user("nogroup@example.com", UserKind::Staff, false).await;
        let member = app.add_user("member@example.com", UserKind::Staff, false).await;
        app.add_user("client@example.com", UserKind::Client, false).await;
        app.join_group(admin_id, member, "member@example.com", "Staff").await;
        let admin = app.login("admin@example.com", None).await;
        let grace = contact("Grace", "grace@navy.mil");
        let grace: Vec<(&str, &str)> = grace.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let created = app.call("/api/staff/save_contact", Some(&admin), &grace).await;
        assert_eq!(created.status, StatusCode::OK, "{name}: {}", created.body);
        let id = created
            .location()
            .unwrap()
            .trim_start_matches("/staff/contacts/")
            .trim_end_matches("?saved=1")
            .to_owned();

        let callers = [
            ("anonymous", None),
            ("client", Some(app.login("client@example.com", None).await)),
            ("staff without a group", Some(app.login("nogroup@example.com", None).await)),
            ("member of Staff", Some(app.login("member@example.com", None).await)),
            ("admin", Some(admin.clone())),
        ];
        let mut edit = contact("Grace B.", "grace@navy.mil");
        edit.push(("id", id.clone()));
        edit.push(("version", "1".into()));
        let new_one = contact("Ada", "");
        let delete = [("id", id.clone()), ("confirm", "yes".to_owned())];
        let only_id = vec![("id", id.clone())];
        let nothing = Vec::new();
        let table: Vec<Row> = vec![
            ("/api/staff/contact_choices", &nothing, [401, 403, 403, 200, 200]),
            ("/api/staff/contacts", &nothing, [401, 403, 403, 200, 200]),
            ("/api/staff/contact", &only_id, [401, 403, 403, 200, 200]),
            ("/api/staff/save_contact", &new_one, [401, 403, 403, 200, 200]),
        ];
        for (path, args, expected) in table {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for ((who, cookie), want) in callers.iter().zip(expected) {
                let r = app.call(path, cookie.as_deref(), &args).await;
                assert_eq!(r.status.as_u16(), want, "{name}: {who} calling {path}: {}", r.body);
            }
        }
        // Edits: refused callers change nothing, then the member's edit lands.
        let edit_args: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (who, cookie) in &callers[..3] {
            let r = app.call("/api/staff/save_contact", cookie.as_deref(), &edit_args).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{name}: {who}");
        }
        let shown = app.call("/api/staff/contact", Some(&admin), &[("id", &id)]).await;
        assert!(
            shown.body.contains(r#""first_name":"Grace""#) && shown.body.contains(r#""version":1"#),
            "{name}: {}",
            shown.body
        );
        let r = app.call("/api/staff/save_contact", callers[3].1.as_deref(), &edit_args).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        // The admin's form was opened at version 1 too: a conflict, and the typed values come back.
        let stale = app.call("/api/staff/save_contact", Some(&admin), &edit_args).await;
        assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            stale.body.contains("Someone else saved this contact") && stale.body.contains("Grace B."),
            "{name}: {}",
            stale.body
        );

        // Deleting needs its own permission: the Staff group does not have it.
        let delete_args: Vec<(&str, &str)> = delete.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (who, cookie) in &callers[..4] {
            let r = app.call("/api/staff/delete_contact", cookie.as_deref(), &delete_args).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{name}: {who}");
        }
        assert_eq!(
            app.call("/api/staff/contact", Some(&admin), &[("id", &id)]).await.status,
            StatusCode::OK,
            "{name}: still there"
        );
        let r = app.call("/api/staff/delete_contact", Some(&admin), &delete_args).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        assert_eq!(
            app.call("/api/staff/contact", Some(&admin), &[("id", &id)]).await.status,
            StatusCode::NOT_FOUND,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_contact_signs_in_to_the_portal_and_sees_only_their_own_record() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.add_user("nogroup@example.com", UserKind::Staff, false).await;
        let admin = app.login("admin@example.com", None).await;
        let mut ids = Vec::new();
        for (first, email, phone) in
            [("Grace", "grace@navy.mil", "+1 555 0100"), ("Other", "other@example.com", "+1 555 0199")]
        {
            let mut fields = contact(first, email);
            fields.retain(|(k, _)| *k != "input[phone]");
            fields.push(("input[phone]", phone.to_owned()));
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.call("/api/staff/save_contact", Some(&admin), &fields).await;
            ids.push(
                r.location()
                    .unwrap()
                    .trim_start_matches("/staff/contacts/")
                    .trim_end_matches("?saved=1")
                    .to_owned(),
            );
        }
        let nogroup = app.login("nogroup@example.com", None).await;
        for (who, cookie, want) in
            [("anonymous", None, 401), ("staff without a group", Some(nogroup.as_str()), 403)]
        {
            let r = app.call("/api/staff/invite_to_portal", cookie, &[("id", &ids[0])]).await;
            assert_eq!(r.status.as_u16(), want, "{name}: {who}");
        }
        let link = app.call("/api/staff/invite_to_portal", Some(&admin), &[("id", &ids[0])]).await;
        assert_eq!(link.status, StatusCode::OK, "{name}: {}", link.body);
        let url: String = serde_json::from_str(&link.body).unwrap();
        let token = url.split("token=").nth(1).unwrap().to_owned();
        let set = app
            .call("/api/public/set_password", None, &[("token", &token), ("password", "tidal pools at dawn")])
            .await;
        assert_eq!(set.status, StatusCode::OK, "{name}: {}", set.body);

        let client = app
            .call(
                "/api/public/login",
                None,
                &[("email", "grace@navy.mil"), ("password", "tidal pools at dawn")],
            )
            .await;
        assert_eq!(client.location(), Some("/portal"), "{name}: {}", client.body);
        let client = client.session_cookie().unwrap();
        let details = app.call("/api/portal/my_details", Some(&client), &[]).await;
        assert!(details.body.contains("+1 555 0100"), "{name}: {}", details.body);
        assert!(!details.body.contains("other@example.com") && !details.body.contains("0199"), "{name}");
        let page = app.get("/portal/details", Some(&client)).await;
        assert!(
            page.body.contains("+1 555 0100") && !page.body.contains("other@example.com"),
            "{name}: not in the HTML or its hydration data"
        );
        for path in ["/api/staff/contact", "/api/staff/contacts"] {
            let r = app.call(path, Some(&client), &[("id", &ids[1])]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {path}");
        }
        let staff_view = app.call("/api/staff/contact", Some(&admin), &[("id", &ids[0])]).await;
        assert!(staff_view.body.contains(r#""is_active":true"#), "{name}: {}", staff_view.body);

        let revoked = app.call("/api/staff/revoke_portal", Some(&admin), &[("id", &ids[0])]).await;
        assert_eq!(revoked.status, StatusCode::OK, "{name}: {}", revoked.body);
        assert_eq!(
            app.call("/api/portal/my_details", Some(&client), &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
        // A contact without an email cannot be invited.
        let no_email = contact("Nomail", "");
        let no_email: Vec<(&str, &str)> = no_email.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.call("/api/staff/save_contact", Some(&admin), &no_email).await;
        let id = r
            .location()
            .unwrap()
            .trim_start_matches("/staff/contacts/")
            .trim_end_matches("?saved=1")
            .to_owned();
        let r = app.call("/api/staff/invite_to_portal", Some(&admin), &[("id", &id)]).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{name}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_streams_the_filtered_list_as_safe_csv() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        let member = app.add_user("member@example.com", UserKind::Staff, false).await;
        app.join_group(admin_id, member, "member@example.com", "Staff").await;
        let admin = app.login("admin@example.com", None).await;
        for (first, company) in
            [("Grace", "=HYPERLINK(\"http://evil\")"), ("Alan", "Bletchley"), ("Ada", "Analytical")]
        {
            let mut fields = contact(first, &format!("{}@example.com", first.to_lowercase()));
            fields.retain(|(k, _)| *k != "input[company]");
            fields.push(("input[company]", company.to_owned()));
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(
                app.call("/api/staff/save_contact", Some(&admin), &fields).await.status,
                StatusCode::OK
            );
        }
        let all = app.get("/staff/contacts/export.csv", Some(&admin)).await;
        assert_eq!(all.status, StatusCode::OK, "{name}: {}", all.body);
        assert_eq!(all.headers.get("content-type").unwrap(), "text/csv; charset=utf-8");
        assert!(all.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment;"));
        let lines: Vec<&str> = all.body.lines().collect();
        assert_eq!(lines.len(), 4, "{name}: a header and three contacts: {}", all.body);
        assert!(lines[0].starts_with("ID,First name,Last name,Email"), "{name}");
        assert!(
            all.body.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{name}: formulas are neutralized: {}",
            all.body
        );
        assert!(all.body.contains("\"Navy, VIP\""), "{name}: tags");

        let filtered = app.get("/staff/contacts/export.csv?q=bletch", Some(&admin)).await;
        assert_eq!(filtered.body.lines().count(), 2, "{name}: {}", filtered.body);
        assert!(filtered.body.contains("Alan"), "{name}");

        // The seeded Staff group may view but not export; clients and visitors get nothing.
        let member = app.login("member@example.com", None).await;
        assert_eq!(
            app.get("/staff/contacts/export.csv", Some(&member)).await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
        assert!(app.get("/staff/contacts/export.csv", None).await.status.is_redirection(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_actions_need_edit_or_delete_permission() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.add_user("nogroup@example.com", UserKind::Staff, false).await;
        let member = app.add_user("member@example.com", UserKind::Staff, false).await;
        app.join_group(admin_id, member, "member@example.com", "Staff").await;
        let admin = app.login("admin@example.com", None).await;
        let grace = contact("Grace", "grace@navy.mil");
        let grace: Vec<(&str, &str)> = grace.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.call("/api/staff/save_contact", Some(&admin), &grace).await;
        let id = r
            .location()
            .unwrap()
            .trim_start_matches("/staff/contacts/")
            .trim_end_matches("?saved=1")
            .to_owned();
        let tag = [
            ("ids[]", id.as_str()),
            ("action", "add_tag"),
            ("tag", "Newsletter"),
            ("back", "/staff/contacts?q=grace"),
        ];
        let delete = [("ids[]", id.as_str()), ("action", "delete"), ("confirm", "yes")];
        let member = app.login("member@example.com", None).await;
        let nogroup = app.login("nogroup@example.com", None).await;
        assert_eq!(
            app.call("/api/staff/bulk_contacts", None, &tag).await.status,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
        assert_eq!(
            app.call("/api/staff/bulk_contacts", Some(&nogroup), &tag).await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
        let ok = app.call("/api/staff/bulk_contacts", Some(&member), &tag).await;
        assert_eq!(ok.status, StatusCode::OK, "{name}: {}", ok.body);
        assert_eq!(ok.location(), Some("/staff/contacts?q=grace&saved=1"), "{name}");
        let sneaky = [
            ("ids[]", id.as_str()),
            ("action", "add_tag"),
            ("tag", "Newsletter"),
            ("back", "/staff/contacts\r\nX-Evil: 1"),
        ];
        let r = app.call("/api/staff/bulk_contacts", Some(&member), &sneaky).await;
        assert_eq!(
            r.location(),
            Some("/staff/contacts?saved=1"),
            "{name}: a return address with line breaks is ignored"
        );
        assert_eq!(
            app.call("/api/staff/bulk_contacts", Some(&member), &delete).await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
        let shown = app.call("/api/staff/contact", Some(&admin), &[("id", &id)]).await;
        assert!(shown.body.contains("Newsletter"), "{name}: {}", shown.body);
        let none = app
            .call("/api/staff/bulk_contacts", Some(&admin), &[("action", "delete"), ("confirm", "yes")])
            .await;
        assert!(none.body.contains("Select at least one contact."), "{name}: {}", none.body);
        assert_eq!(
            app.call("/api/staff/bulk_contacts", Some(&admin), &delete).await.status,
            StatusCode::OK,
            "{name}"
        );
        assert_eq!(
            app.call("/api/staff/contact", Some(&admin), &[("id", &id)]).await.status,
            StatusCode::NOT_FOUND,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_are_listed_for_viewers_and_managed_only_with_the_permission() {
    let app = TestApp::new(testing::sqlite().await);
    let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
    let member = app.add_user("member@example.com", UserKind::Staff, false).await;
    app.add_user("client@example.com", UserKind::Client, false).await;
    app.join_group(admin_id, member, "member@example.com", "Staff").await;
    let admin = app.login("admin@example.com", None).await;
    let grace = contact("Grace", "grace@navy.mil");
    let grace: Vec<(&str, &str)> = grace.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.call("/api/staff/save_contact", Some(&admin), &grace).await;
    let member = app.login("member@example.com", None).await;
    let client = app.login("client@example.com", None).await;
    assert_eq!(app.call("/api/staff/tags", None, &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call("/api/staff/tags", Some(&client), &[]).await.status, StatusCode::FORBIDDEN);
    let listed = app.call("/api/staff/tags", Some(&member), &[]).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(listed.body.contains("Navy") && listed.body.contains("VIP"), "{}", listed.body);
    let id =
        serde_json::from_str::<Vec<(serde_json::Value, i64)>>(&listed.body).unwrap()[0].0["id"].to_string();
    for (path, args) in [
        ("/api/staff/rename_tag", vec![("id", id.as_str()), ("name", "Fleet")]),
        ("/api/staff/delete_tag", vec![("id", id.as_str()), ("confirm", "yes")]),
    ] {
        assert_eq!(app.call(path, Some(&member), &args).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        app.call("/api/staff/rename_tag", Some(&admin), &[("id", &id), ("name", "Fleet")]).await.status,
        StatusCode::OK
    );
    assert!(app.call("/api/staff/tags", Some(&admin), &[]).await.body.contains("Fleet"));
}

/// The add-contact form posted by a browser without JavaScript: brackets percent-encoded in the
/// names, a field repeated for each ticked chip and service, and names typed into "Add tags".
#[tokio::test(flavor = "multi_thread")]
async fn a_plain_form_post_keeps_every_ticked_tag_and_service() {
    use axum::body::Body;
    use axum::http::{header, Request};
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        let choices = app.call("/api/staff/contact_choices", Some(&admin), &[]).await;
        let choices: app::contacts::Choices = serde_json::from_str(&choices.body).unwrap();
        let service = |n: &str| choices.services.iter().find(|s| s.name == n).unwrap().id;
        let (support, consulting) = (service("Support"), service("Consulting"));
        let body = [
            "input%5Bfirst_name%5D=Zo%C3%AB",
            "input%5Blast_name%5D=M%C3%BCller-%E5%B1%B1%E7%94%B0",
            "input%5Bemail%5D=zoe%40example.com",
            "input%5Bstatus_id%5D=",
            "input%5Btags%5D%5B%5D=Caf%C3%A9",
            "input%5Btags%5D%5B%5D=%F0%9F%9A%80+Launch",
            &format!("input%5Bservice_ids%5D%5B%5D={support}"),
            &format!("input%5Bservice_ids%5D%5B%5D={consulting}"),
            "add_tags=Ni%C3%B1o%2C+%E6%9D%B1%E4%BA%AC",
        ]
        .join("&");
        let req = Request::post("/api/staff/save_contact")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, "http://localhost/staff/contacts/new")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, &admin)
            .body(Body::from(body))
            .unwrap();
        let saved = app.send(req).await;
        assert!(saved.status.is_redirection(), "{name}: {} {}", saved.status, saved.body);
        let location = saved.location().unwrap_or_default();
        let id = location.trim_start_matches("/staff/contacts/").trim_end_matches("?saved=1");
        assert!(id.parse::<i64>().is_ok(), "{name}: redirected to {location}");
        let shown = app.call("/api/staff/contact", Some(&admin), &[("id", id)]).await;
        let contact: app::contacts::Contact = serde_json::from_str(&shown.body).unwrap();
        assert_eq!(contact.display_name(), "Zoë Müller-山田", "{name}");
        let mut tags: Vec<String> = contact.tags.iter().map(|t| t.name.clone()).collect();
        tags.sort();
        assert_eq!(tags, ["Café", "Niño", "東京", "🚀 Launch"].map(String::from).to_vec(), "{name}");
        let mut services = contact.input.service_ids.clone();
        services.sort();
        let mut want = vec![support, consulting];
        want.sort();
        assert_eq!(services, want, "{name}");
        assert_eq!(contact.status, None, "{name}: \"None\" is no status");
    }
}

/// The list's address holds its state: filters (an "Any" sends an empty value), and the sort and
/// export links keep them.
#[tokio::test(flavor = "multi_thread")]
async fn the_contact_list_reads_its_filters_from_the_address_and_keeps_them_in_its_links() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        for (first, company) in [("Jürgen", "Zürich Versicherung"), ("Ada", "Analytical Engines")] {
            let mut fields = contact(first, "");
            fields.retain(|(k, _)| *k != "input[company]");
            fields.push(("input[company]", company.to_owned()));
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(
                app.call("/api/staff/save_contact", Some(&admin), &fields).await.status,
                StatusCode::OK
            );
        }
        let page = app.get("/staff/contacts?q=z%C3%BCrich&status=&tag=&sort=bogus", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(page.body.contains("Jürgen") && !page.body.contains("Analytical"), "{name}: {}", page.body);
        assert!(page.body.contains("1 contact<"), "{name}");
        assert!(
            page.body.contains(r#"href="/staff/contacts/export.csv?q=z%C3%BCrich""#),
            "{name}: the export link keeps the search"
        );
        assert!(
            page.body.contains(r#"href="/staff/contacts?q=z%C3%BCrich&amp;sort=company&amp;dir=asc""#),
            "{name}: a column header keeps the search"
        );
        let r = app.call("/api/staff/contacts", Some(&admin), &[("list[q]", "analytical")]).await;
        assert!(r.body.contains("Ada") && !r.body.contains("Jürgen"), "{name}: {}", r.body);
    }
}

/// A caller without the permission learns nothing about the input: the refusal comes before any
/// validation of the action, the selection or the confirmation.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_actions_refuse_before_they_validate() {
    use app::accounts::Permission;
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.staff_with("viewer@example.com", &[Permission::ContactsView]).await;
        let viewer = app.login("viewer@example.com", None).await;
        for form in [
            vec![("action", "explode"), ("ids[]", "1")],
            vec![("action", "add_tag"), ("tag", "Größe")],
            vec![("action", "delete"), ("ids[]", "1")],
        ] {
            let r = app.call("/api/staff/bulk_contacts", Some(&viewer), &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {form:?}: {}", r.body);
        }
    }
}

/// Whatever a person pastes into the search box gets a page: a NUL answered 500 on SQLite (its
/// full-text index read it as an unterminated string).
#[tokio::test(flavor = "multi_thread")]
async fn a_search_with_a_nul_character_gets_a_page() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        for q in ["abc%00def", "%00", "%22%00%22", "%F0%9F%8E%89%00"] {
            let page = app.get(&format!("/staff/contacts?q={q}"), Some(&admin)).await;
            assert_eq!(page.status, StatusCode::OK, "{name}: ?q={q}");
            let r = app.call("/api/staff/contacts", Some(&admin), &[("list[q]", "abc\0def")]).await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        }
    }
}
