//! Who may read, log and change activities, through every activity server function.

use app::accounts::UserKind;
use app::db::testing;
use axum::http::StatusCode;

use crate::support::{contact_form, TestApp};

/// The id in a redirect like `/staff/contacts/7?saved=1` or `…#activity-3`.
fn id_after(location: Option<&str>, prefix: &str) -> String {
    let rest = location.unwrap_or_default().split(prefix).nth(1).unwrap_or_default();
    rest.chars().take_while(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_functions_check_the_role_the_permission_and_the_author() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.add_user("nogroup@example.com", UserKind::Staff, false).await;
        let member = app.add_user("member@example.com", UserKind::Staff, false).await;
        let manager = app.add_user("manager@example.com", UserKind::Staff, false).await;
        app.add_user("client@example.com", UserKind::Client, false).await;
        app.join_group(admin_id, member, "member@example.com", "Staff").await;
        app.join_group(admin_id, manager, "manager@example.com", "Managers").await;
        let admin = app.login("admin@example.com", None).await;
        let form = contact_form("Grace", "");
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let created = app.call("/api/staff/save_contact", Some(&admin), &form).await;
        let contact = id_after(created.location(), "/staff/contacts/");
        assert!(!contact.is_empty(), "{name}: {}", created.body);

        let callers = [
            ("anonymous", None),
            ("client", Some(app.login("client@example.com", None).await)),
            ("staff without a group", Some(app.login("nogroup@example.com", None).await)),
            ("member of Staff", Some(app.login("member@example.com", None).await)),
            ("admin", Some(admin.clone())),
        ];
        let log = |subject: &'static str, kind: &'static str| {
            vec![
                ("contact_id", contact.clone()),
                ("input[kind]", kind.to_owned()),
                ("input[subject]", subject.to_owned()),
                ("input[body]", "Talked about the roof.".to_owned()),
                ("input[happened_at]", "2026-11-24T10:30".to_owned()),
                ("input[due_on]", "2026-11-30".to_owned()),
            ]
        };
        let timeline = vec![("contact_id", contact.clone())];
        let nothing = Vec::new();
        let table: Vec<crate::contacts::Row> = vec![
            ("/api/staff/timeline", &timeline, [401, 403, 403, 200, 200]),
            ("/api/staff/my_tasks", &nothing, [401, 403, 200, 200, 200]),
        ];
        let none = app.call("/api/staff/my_tasks", callers[2].1.as_deref(), &[]).await;
        assert_eq!(none.body, "null", "{name}: staff who cannot read contacts have no task list");
        for (path, args, expected) in table {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for ((who, cookie), want) in callers.iter().zip(expected) {
                let r = app.call(path, cookie.as_deref(), &args).await;
                assert_eq!(r.status.as_u16(), want, "{name}: {who} calling {path}: {}", r.body);
            }
        }
        // Logging: refused callers leave nothing behind; staff with the permission log.
        let attempt = log("Refused", "call");
        let attempt: Vec<(&str, &str)> = attempt.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for ((who, cookie), want) in callers.iter().zip([401, 403, 403, 200, 200]) {
            let r = app.call("/api/staff/log_activity", cookie.as_deref(), &attempt).await;
            assert_eq!(r.status.as_u16(), want, "{name}: {who} logging: {}", r.body);
        }
        let shown = app.call("/api/staff/timeline", Some(&admin), &[("contact_id", &contact)]).await;
        assert_eq!(shown.body.matches("\"Refused\"").count(), 2, "{name}: only the two allowed calls");

        // An admin's task: the member may read it but not edit, delete or complete it.
        let task = log("Send the quote", "task");
        let task: Vec<(&str, &str)> = task.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(app.call("/api/staff/log_activity", Some(&admin), &task).await.status, StatusCode::OK);
        let tasks = app.call("/api/staff/my_tasks", Some(&admin), &[]).await;
        let task_id: String =
            tasks.body.split("\"id\":").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
        let member_cookie = callers[3].1.clone().unwrap();
        let manager_cookie = app.login("manager@example.com", None).await;
        let edit = [
            ("id", task_id.as_str()),
            ("input[kind]", "task"),
            ("input[subject]", "Send the revised quote"),
            ("input[body]", ""),
            ("input[happened_at]", "2026-11-24T10:30"),
            ("input[due_on]", "2026-12-01"),
        ];
        for path in ["/api/staff/activity", "/api/staff/save_activity"] {
            let r = app.call(path, Some(&member_cookie), &edit).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: member on the admin's task via {path}");
        }
        // Authorization before validation: an invalid edit of someone else's entry is refused
        // for who sends it, not explained field by field (a 422 listed the field messages).
        let invalid = [("id", task_id.as_str()), ("input[kind]", "gossip"), ("input[happened_at]", "soon")];
        let r = app.call("/api/staff/save_activity", Some(&member_cookie), &invalid).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.body);
        let done = [("id", task_id.as_str()), ("done", "yes")];
        let r = app.call("/api/staff/complete_task", Some(&member_cookie), &done).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        let r = app
            .call("/api/staff/delete_activity", Some(&member_cookie), &[("id", &task_id), ("confirm", "yes")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        assert!(
            app.call("/api/staff/my_tasks", Some(&admin), &[]).await.body.contains("Send the quote"),
            "{name}"
        );

        // The manager may change anyone's entries; the admin completes their own task.
        let r = app.call("/api/staff/save_activity", Some(&manager_cookie), &edit).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        let r = app.call("/api/staff/complete_task", Some(&admin), &done).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        assert_eq!(app.call("/api/staff/my_tasks", Some(&admin), &[]).await.body, "[]", "{name}");

        // The member edits and deletes their own entry; deleting needs the confirmation.
        let mine = app.call("/api/staff/log_activity", Some(&member_cookie), &attempt).await;
        assert_eq!(mine.status, StatusCode::OK);
        let timeline = app
            .call("/api/staff/timeline", Some(&member_cookie), &[("contact_id", &contact), ("kind", "call")])
            .await;
        let own_id: String =
            timeline.body.split("\"id\":").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
        let r = app.call("/api/staff/delete_activity", Some(&member_cookie), &[("id", &own_id)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: not confirmed");
        let r = app
            .call("/api/staff/delete_activity", Some(&member_cookie), &[("id", &own_id), ("confirm", "yes")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);

        // History entries are fixed, for everyone.
        let history = app
            .call("/api/staff/timeline", Some(&admin), &[("contact_id", &contact), ("kind", "change")])
            .await;
        let history_id: String =
            history.body.split("\"id\":").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
        let r = app
            .call("/api/staff/delete_activity", Some(&admin), &[("id", &history_id), ("confirm", "yes")])
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{name}: {}", r.body);
    }
}

/// "Log activities" alone is not enough: the contact must be visible to the caller, as for every
/// other activity function, or anyone could attach entries to any contact id.
#[tokio::test(flavor = "multi_thread")]
async fn logging_an_activity_needs_to_see_contacts_too() {
    use app::accounts::Permission;
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        app.staff_with("logger@example.com", &[Permission::ActivitiesCreate]).await;
        let admin = app.login("admin@example.com", None).await;
        let form = contact_form("Søren", "soren@example.dk");
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let created = app.call("/api/staff/save_contact", Some(&admin), &form).await;
        let contact = id_after(created.location(), "/staff/contacts/");
        assert!(!contact.is_empty(), "{name}: {}", created.body);

        let logger = app.login("logger@example.com", None).await;
        let entry = [
            ("contact_id", contact.as_str()),
            ("kind", "note"),
            ("subject", "Blind entry — 盲目"),
            ("body", ""),
            ("happened_at", "2026-11-24T10:30"),
        ];
        let r = app.call("/api/staff/log_activity", Some(&logger), &entry).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.body);
        let shown = app.call("/api/staff/timeline", Some(&admin), &[("contact_id", &contact)]).await;
        assert!(!shown.body.contains("Blind entry"), "{name}: the refused entry was logged: {}", shown.body);
    }
}
