//! Who may change the settings lists.

use app::accounts::UserKind;
use app::db::testing;
use axum::http::StatusCode;

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
