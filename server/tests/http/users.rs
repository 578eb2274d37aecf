//! Who may manage users and groups: every server function of the users slice, called by each
//! kind of caller, and proof that a refused call changes nothing.

use app::accounts::Permission;
use app::accounts::UserKind;
use app::db::testing;
use axum::http::StatusCode;

use crate::support::TestApp;

/// A server function, its arguments, and the status each caller should get.
type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, [u16; 5]);

#[tokio::test(flavor = "multi_thread")]
async fn user_management_needs_the_permission_and_refusals_change_nothing() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.add_user("plain@example.com", UserKind::Staff, false).await;
        app.staff_with("manager@example.com", &[Permission::UsersManage]).await;
        let client_id = app.add_user("client@example.com", UserKind::Client, false).await;
        let target = app.add_user("target@example.com", UserKind::Staff, false).await;
        let cookies = [
            ("anonymous", None),
            ("client", Some(app.login("client@example.com", None).await)),
            ("staff without the permission", Some(app.login("plain@example.com", None).await)),
            ("staff with the permission", Some(app.login("manager@example.com", None).await)),
            ("admin", Some(app.login("admin@example.com", None).await)),
        ];
        let target_s = target.to_string();
        let client_s = client_id.to_string();
        // (server function, arguments, expected status per caller, in the order above)
        let table: Vec<Row> = vec![
            ("/api/staff/users", vec![], [401, 403, 403, 200, 200]),
            ("/api/staff/user", vec![("id", &target_s)], [401, 403, 403, 200, 200]),
            ("/api/staff/groups", vec![], [401, 403, 403, 200, 200]),
            ("/api/staff/group", vec![], [401, 403, 403, 200, 200]),
            ("/api/staff/audit", vec![], [401, 403, 403, 200, 200]),
            (
                "/api/staff/save_group",
                vec![("name", "Refused"), ("description", "")],
                [401, 403, 403, 200, 200],
            ),
        ];
        for (path, args, expected) in &table {
            for ((who, cookie), want) in cookies.iter().zip(expected) {
                let reply = app.call(path, cookie.as_deref(), args).await;
                // A second successful save_group hits the unique name: that is a 422, not a refusal.
                let status = reply.status.as_u16();
                let ok = status == *want || (*want == 200 && status == 422 && path.ends_with("save_group"));
                assert!(ok, "{name}: {who} calling {path}: {status} {}", reply.body);
            }
        }

        // Refused writes leave everything as it was.
        for (who, cookie) in &cookies[..3] {
            let c = cookie.as_deref();
            let r =
                app.call("/api/staff/set_user_active", c, &[("id", &target_s), ("active", "false")]).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{name}: {who}");
            let r = app
                .call(
                    "/api/staff/save_user",
                    c,
                    &[
                        ("id", &target_s),
                        ("display_name", "Hacked"),
                        ("email", "hacked@example.com"),
                        ("is_admin", "true"),
                    ],
                )
                .await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{name}: {who}");
            let r = app
                .call(
                    "/api/staff/reset_password",
                    c,
                    &[("id", &target_s), ("password", "an entirely new passphrase")],
                )
                .await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{name}: {who}");
            let r = app.call("/api/staff/delete_user", c, &[("id", &client_s), ("confirm", "yes")]).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{name}: {who}");
        }
        let mut conn = app.db.pool.get().await.unwrap();
        let t = app::accounts::repo::find_by_id(&mut conn, target).await.unwrap().unwrap();
        assert_eq!(
            (t.display_name.as_str(), t.email.as_str(), t.is_admin, t.is_active),
            ("target", "target@example.com", false, true),
            "{name}"
        );
        assert!(app::accounts::repo::find_by_id(&mut conn, client_id).await.unwrap().is_some(), "{name}");
        drop(conn);
        app.login("target@example.com", None).await;

        // The manager may, and the change is audited.
        let manager = cookies[3].1.as_deref();
        let r =
            app.call("/api/staff/set_user_active", manager, &[("id", &target_s), ("active", "false")]).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        let audit = app.call("/api/staff/audit", manager, &[]).await;
        assert!(
            audit.body.contains("user.deactivate") && audit.body.contains("target@example.com"),
            "{name}: {}",
            audit.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_user_is_signed_out_at_once() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let staff = app.add_user("staff@example.com", UserKind::Staff, false).await;
        let admin = app.login("admin@example.com", None).await;
        let session = app.login("staff@example.com", None).await;
        assert_eq!(
            app.call("/api/staff/dashboard", Some(&session), &[]).await.status,
            StatusCode::OK,
            "{name}"
        );
        let r = app
            .call(
                "/api/staff/set_user_active",
                Some(&admin),
                &[("id", &staff.to_string()), ("active", "false")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        assert_eq!(
            app.call("/api/staff/dashboard", Some(&session), &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_your_password_needs_the_current_one_and_ends_your_other_sessions() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("staff@example.com", UserKind::Staff, false).await;
        app.add_user("client@example.com", UserKind::Client, false).await;
        let laptop = app.login("staff@example.com", None).await;
        let phone = app.login("staff@example.com", None).await;
        let client = app.login("client@example.com", None).await;

        for (who, cookie, want) in [("anonymous", None, 401), ("client", Some(client.as_str()), 403)] {
            for path in ["/api/staff/profile", "/api/staff/rename", "/api/staff/change_password"] {
                let r = app
                    .call(
                        path,
                        cookie,
                        &[
                            ("display_name", "X"),
                            ("current_password", crate::support::PASSWORD),
                            ("new_password", "x"),
                        ],
                    )
                    .await;
                assert_eq!(r.status.as_u16(), want, "{name}: {who} calling {path}");
            }
        }

        let wrong = app
            .call(
                "/api/staff/change_password",
                Some(&laptop),
                &[("current_password", "not it at all"), ("new_password", "a completely new passphrase")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(wrong.body.contains("That is not your current password."), "{name}: {}", wrong.body);

        let ok = app
            .call(
                "/api/staff/change_password",
                Some(&laptop),
                &[
                    ("current_password", crate::support::PASSWORD),
                    ("new_password", "a completely new passphrase"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{name}: {}", ok.body);
        assert_eq!(
            app.call("/api/staff/profile", Some(&laptop), &[]).await.status,
            StatusCode::OK,
            "{name}: this session stays"
        );
        assert_eq!(
            app.call("/api/staff/profile", Some(&phone), &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "{name}: the other one ends"
        );

        let renamed =
            app.call("/api/staff/rename", Some(&laptop), &[("display_name", "  Sam the Great ")]).await;
        assert_eq!(renamed.status, StatusCode::OK, "{name}: {}", renamed.body);
        assert!(
            app.call("/api/staff/profile", Some(&laptop), &[])
                .await
                .body
                .contains(r#""display_name":"Sam the Great""#),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_time_link_lets_a_user_choose_a_password() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let staff = app.add_user("staff@example.com", UserKind::Staff, false).await;
        let plain = app.login("staff@example.com", None).await;
        let refused = app.call("/api/staff/password_link", Some(&plain), &[("id", &staff.to_string())]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{name}");

        let admin = app.login("admin@example.com", None).await;
        let link = app.call("/api/staff/password_link", Some(&admin), &[("id", &staff.to_string())]).await;
        assert_eq!(link.status, StatusCode::OK, "{name}: {}", link.body);
        let url: String = serde_json::from_str(&link.body).unwrap();
        let token = url.split("token=").nth(1).unwrap().to_owned();
        assert!(url.contains("/set-password?token="), "{name}: {url}");

        let set = app
            .call(
                "/api/public/set_password",
                None,
                &[("token", &token), ("password", "the river bends twice")],
            )
            .await;
        assert_eq!(set.status, StatusCode::OK, "{name}: {}", set.body);
        assert_eq!(
            app.call("/api/staff/dashboard", Some(&plain), &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "{name}: old sessions end"
        );
        let reuse = app
            .call(
                "/api/public/set_password",
                None,
                &[("token", &token), ("password", "another fine passphrase")],
            )
            .await;
        assert_eq!(reuse.status, StatusCode::CONFLICT, "{name}");
        let login = app
            .call(
                "/api/public/login",
                None,
                &[("email", "staff@example.com"), ("password", "the river bends twice")],
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{name}: {}", login.body);
    }
}

/// "Manage users and groups" is not an administrator's power: a staff member holding it tried to
/// make themselves an administrator (and then open the administrators' pages), and to take over
/// or lock out an administrator by resetting their password, sending a link, deactivating or
/// deleting them. Every attempt is refused and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn managing_users_does_not_make_or_touch_administrators() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin = app.add_user("admin@example.com", UserKind::Staff, true).await;
        let me = app.staff_with("jozef@example.com", &[Permission::UsersManage]).await;
        let colleague = app.add_user("colleague@example.com", UserKind::Staff, false).await;
        let cookie = app.login("jozef@example.com", None).await;
        let (me_id, admin_id, colleague_id) = (me.to_string(), admin.to_string(), colleague.to_string());
        let attempts: [(&str, Vec<(&str, &str)>); 6] = [
            (
                "/api/staff/save_user",
                vec![
                    ("id", &me_id),
                    ("display_name", "Józef"),
                    ("email", "jozef@example.com"),
                    ("is_admin", "on"),
                ],
            ),
            (
                "/api/staff/save_user",
                vec![("id", &admin_id), ("display_name", "Admin"), ("email", "admin@example.com")],
            ),
            (
                "/api/staff/reset_password",
                vec![("id", &admin_id), ("password", "Zwölf Boxkämpfer jagen Viktor")],
            ),
            ("/api/staff/password_link", vec![("id", &admin_id)]),
            ("/api/staff/set_user_active", vec![("id", &admin_id), ("active", "false")]),
            ("/api/staff/delete_user", vec![("id", &admin_id), ("confirm", "yes")]),
        ];
        for (path, form) in &attempts {
            let r = app.call(path, Some(&cookie), form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {path} {form:?}: {}", r.body);
        }
        let mut conn = app.db.pool.get().await.unwrap();
        let mine = app::accounts::repo::find_by_id(&mut conn, me).await.unwrap().unwrap();
        assert!(!mine.is_admin, "{name}: still not an administrator");
        let theirs = app::accounts::repo::find_by_id(&mut conn, admin).await.unwrap().unwrap();
        assert!(theirs.is_admin && theirs.is_active, "{name}: the administrator is untouched");
        assert!(!app.login("admin@example.com", None).await.is_empty(), "{name}: and signs in");
        // Other staff stay theirs to manage.
        let r = app
            .call(
                "/api/staff/save_user",
                Some(&cookie),
                &[
                    ("id", &colleague_id),
                    ("display_name", "Kolega Ślązak"),
                    ("email", "colleague@example.com"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        let r = app.call("/api/staff/organisation_settings", Some(&cookie), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
    }
}
