//! Extra fields through the real router: defined in settings, filled in by a form post, filtered
//! and sorted in the list's address, exported, and shown in the portal only when marked so.

use app::accounts::UserKind;
use app::db::testing;
use app::fields::FieldCatalog;
use axum::http::StatusCode;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn extra_fields_work_from_settings_to_form_list_export_and_portal() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("admin@example.com", UserKind::Staff, true).await;
        let admin = app.login("admin@example.com", None).await;
        let define = |label: &'static str,
                      kind: &'static str,
                      portal: &'static str,
                      more: Vec<(&'static str, &'static str)>| {
            let mut form = vec![("input[label]", label), ("input[kind]", kind), ("input[portal]", portal)];
            form.extend(more);
            form
        };
        for form in [
            define("Tarif", "select", "shown", vec![("input[options]", "Basis\nPremium ⭐")]),
            define("Vertragsbeginn", "date", "hidden", vec![]),
            define("Umsatz", "decimal", "hidden", vec![("input[decimals]", "2"), ("input[unit]", "EUR")]),
        ] {
            let r = app.call("/api/staff/create_field", Some(&admin), &form).await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        }
        let catalog = app.call("/api/staff/field_catalog", Some(&admin), &[]).await;
        let catalog: FieldCatalog = serde_json::from_str(&catalog.body).unwrap();
        let plan = catalog.field("tarif").unwrap();
        let premium = plan.options[1].id.to_string();

        // A bad date is refused next to its field, with everything typed given back.
        let mut form = vec![
            ("input[first_name]", "Zoë".to_owned()),
            ("input[last_name]", "Ørsted".to_owned()),
            ("input[email]", "zoe@example.dk".to_owned()),
            ("input[extra][tarif][]", String::new()),
            ("input[extra][tarif][]", premium.clone()),
            ("input[extra][vertragsbeginn][]", "31.12.2026".to_owned()),
            ("input[extra][umsatz][]", "1.234,5".to_owned()),
        ];
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.call("/api/staff/save_contact", Some(&admin), &pairs).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", refused.body);
        assert!(refused.body.contains("Enter a date like 2026-12-31."), "{name}: {}", refused.body);
        assert!(refused.body.contains("1.234,5"), "{name}: what was typed comes back");

        form.retain(|(k, _)| *k != "input[extra][vertragsbeginn][]");
        form.push(("input[extra][vertragsbeginn][]", "2027-03-15".to_owned()));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let saved = app.call("/api/staff/save_contact", Some(&admin), &pairs).await;
        assert_eq!(saved.status, StatusCode::OK, "{name}: {}", saved.body);
        let id = saved
            .location()
            .unwrap()
            .trim_start_matches("/staff/contacts/")
            .trim_end_matches("?saved=1")
            .to_owned();
        let other = [
            ("input[first_name]", "Ünal"),
            ("input[email]", "unal@example.tr"),
            ("input[extra][umsatz][]", "99"),
        ];
        assert_eq!(app.call("/api/staff/save_contact", Some(&admin), &other).await.status, StatusCode::OK);

        // The list's address holds the filter and the sort; its links keep them.
        let page =
            app.get(&format!("/staff/contacts?f.tarif={premium}&sort=f.umsatz&dir=desc"), Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(
            page.body.contains("Zoë Ørsted") && !page.body.contains("Ünal"),
            "{name}: filtered by the select"
        );
        assert!(
            page.body.contains(&format!("href=\"/staff/contacts/export.csv?f.tarif={premium}\"")),
            "{name}: the export link keeps the extra filter"
        );
        let profile = app.get(&format!("/staff/contacts/{id}"), Some(&admin)).await;
        assert!(profile.body.contains("1234.50 EUR") && profile.body.contains("Premium ⭐"), "{name}");

        let export = app.get(&format!("/staff/contacts/export.csv?f.tarif={premium}"), Some(&admin)).await;
        let lines: Vec<&str> = export.body.lines().collect();
        assert_eq!(lines.len(), 2, "{name}: {}", export.body);
        assert!(lines[0].ends_with(",Tarif,Vertragsbeginn,Umsatz"), "{name}: {}", lines[0]);
        assert!(
            lines[1].ends_with(",Premium ⭐,2027-03-15,1234.50"),
            "{name}: values that import back: {}",
            lines[1]
        );

        // The portal shows the field marked "shown", and the hidden one is not in its HTML.
        let link = app.call("/api/staff/invite_to_portal", Some(&admin), &[("id", &id)]).await;
        let url: String = serde_json::from_str(&link.body).unwrap();
        let token = url.split("token=").nth(1).unwrap().to_owned();
        app.call("/api/public/set_password", None, &[("token", &token), ("password", "tidal pools at dawn")])
            .await;
        let client = app
            .call(
                "/api/public/login",
                None,
                &[("email", "zoe@example.dk"), ("password", "tidal pools at dawn")],
            )
            .await
            .session_cookie()
            .unwrap();
        let portal = app.get("/portal/details", Some(&client)).await;
        assert!(portal.body.contains("Tarif") && portal.body.contains("Premium ⭐"), "{name}");
        assert!(
            !portal.body.contains("Vertragsbeginn")
                && !portal.body.contains("2027-03-15")
                && !portal.body.contains("1234.50"),
            "{name}: hidden fields never reach the portal's HTML or hydration data"
        );
    }
}
