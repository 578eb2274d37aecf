//! Imports over HTTP: the upload (a multipart form post that works without JavaScript), who may
//! upload, what a refused file says, and the pages of an import from mapping to undo.

use app::accounts::{Permission, UserKind};
use app::db::testing;
use axum::body::Body;
use axum::http::{header, Request};

use crate::support::TestApp;

const BOUNDARY: &str = "----crmtestboundary7MA4YWxkTrZu0gW";

fn multipart(file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    app: &TestApp,
    cookie: Option<&str>,
    file_name: &str,
    content: &[u8],
) -> crate::support::Reply {
    let mut req = Request::post("/api/staff/imports/upload")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("sec-fetch-site", "same-origin");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    app.send(req.body(Body::from(multipart(file_name, content))).unwrap()).await
}

const CSV: &str = "Vorname;Nachname;E-Mail;Firma\nZoë;Ångström;zoe@example.com;Ørsted & Søn\n太郎;山田;taro@example.jp;東京商事\n";

#[tokio::test(flavor = "multi_thread")]
async fn only_staff_who_may_import_can_upload_and_a_refused_file_says_why() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        app.add_user("kundin@example.com", UserKind::Client, false).await;
        let client = app.login("kundin@example.com", None).await;
        app.staff_with("ohne@example.com", &[Permission::ContactsView]).await;
        let without = app.login("ohne@example.com", None).await;
        app.staff_with("mit@example.com", &[Permission::ContactsImport]).await;
        let with = app.login("mit@example.com", None).await;
        app.add_user("chefin@example.com", UserKind::Staff, true).await;
        let admin = app.login("chefin@example.com", None).await;

        // Each caller sends the same file; the refusals come before the body is read.
        let statuses = [
            upload(&app, None, "kunden.csv", CSV.as_bytes()).await.status.as_u16(),
            upload(&app, Some(&client), "kunden.csv", CSV.as_bytes()).await.status.as_u16(),
            upload(&app, Some(&without), "kunden.csv", CSV.as_bytes()).await.status.as_u16(),
        ];
        assert_eq!(statuses, [401, 403, 403], "{name}");
        for cookie in [&with, &admin] {
            let reply = upload(&app, Some(cookie), "Kunden Zoë.csv", CSV.as_bytes()).await;
            assert_eq!(reply.status.as_u16(), 303, "{name}: {}", reply.body);
            let location = reply.location().unwrap().to_owned();
            assert!(location.starts_with("/staff/imports/"), "{name}: {location}");
            let page = app.get(&location, Some(cookie)).await;
            assert_eq!(page.status.as_u16(), 200, "{name}");
            assert!(page.body.contains("“E-Mail” goes to"), "{name}: the mapping names each column");
            assert!(
                page.body.contains("Ørsted &amp; Søn") && page.body.contains("東京商事"),
                "{name}: the preview"
            );
        }

        // A file that is no table goes back to the form, which says why in its own words.
        let reply = upload(&app, Some(&with), "bild.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01").await;
        assert_eq!(reply.status.as_u16(), 303, "{name}");
        let back = reply.location().unwrap().to_owned();
        assert_eq!(back, "/staff/imports?error=not_tabular", "{name}");
        let page = app.get(&back, Some(&with)).await;
        assert!(page.body.contains("neither a CSV file nor an Excel workbook"), "{name}");
        let empty = upload(&app, Some(&with), "leer.csv", b"").await;
        assert_eq!(empty.location(), Some("/staff/imports?error=empty"), "{name}");
        // A link cannot put words of its own on the page: only known reasons are shown.
        let forged = app.get("/staff/imports?error=Call%20us%20at%20555", Some(&with)).await;
        assert!(!forged.body.contains("Call us at 555"), "{name}");
    }
}
