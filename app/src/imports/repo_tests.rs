//! Import jobs on both backends: the dry run's report, the run doing exactly what it showed,
//! undo, cancel, a failure part-way, a server killed part-way, and data changed in between.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::job::{work_once, Worker};
use super::{repo, ColumnTarget, ImportMode, ImportSettings, ImportState, MatchBy, Outcome};
use crate::contacts::repo as contacts;
use crate::contacts::ContactInput;
use crate::db::schema::{activities, contacts as contacts_table, imports};
use crate::db::testing::{each_backend, TestDb};
use crate::db::{with_db, DbConn};
use crate::fields::{FieldForm, FieldKind};

fn worker(name: &str) -> Worker {
    // A directory of its own: tests run side by side, each database numbering its imports from 1.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("crm-import-tests-{}/{nanos}", std::process::id()));
    Worker { name: name.to_owned(), dir, dies_after: None }
}

fn write_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crm-import-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{}-{name}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

async fn staff(conn: &mut DbConn) -> i64 {
    crate::users::fixtures::staff_with(conn, "importer@example.com", &[]).await.id
}

/// Uploads `csv` as an import with its suggested settings changed by `adjust`; returns its id.
async fn upload(conn: &mut DbConn, me: i64, csv: &str, adjust: impl FnOnce(&mut ImportSettings)) -> i64 {
    let path = write_file("contacts.csv", csv);
    let catalog = crate::fields::repo::catalog(conn).await.unwrap();
    let (mut settings, preview) = super::mapping::first_settings(&path, &catalog.fields).unwrap();
    adjust(&mut settings);
    let size = std::fs::metadata(&path).unwrap().len();
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(csv.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let file = repo::UploadedFile { name: "Kunden 2026 (Zoë).csv", path: &path, size, sha256: &sha };
    let id = repo::create(conn, me, &file, &settings, &preview).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    id
}

/// Does every job there is, as one server would.
async fn work(db: &TestDb, worker: &Worker) {
    while work_once(&db.pool, worker).await.unwrap() {}
}

async fn state(conn: &mut DbConn, id: i64) -> super::ImportSummary {
    repo::summary(conn, id).await.unwrap().unwrap()
}

async fn dry_run(db: &TestDb, conn: &mut DbConn, id: i64) -> super::ImportSummary {
    let version = state(conn, id).await.version;
    repo::request(
        conn,
        id,
        Some(version),
        &[ImportState::Uploaded, ImportState::Checked],
        ImportState::Checking,
    )
    .await
    .unwrap();
    work(db, &worker("a")).await;
    state(conn, id).await
}

async fn run(db: &TestDb, conn: &mut DbConn, id: i64, worker: &Worker) -> super::ImportSummary {
    let version = state(conn, id).await.version;
    repo::request(conn, id, Some(version), &[ImportState::Checked], ImportState::Running).await.unwrap();
    work(db, worker).await;
    state(conn, id).await
}

async fn undo(db: &TestDb, conn: &mut DbConn, id: i64) -> super::ImportSummary {
    let version = state(conn, id).await.version;
    repo::request(conn, id, Some(version), &[ImportState::Done], ImportState::Undoing).await.unwrap();
    work(db, &worker("a")).await;
    state(conn, id).await
}

async fn contact_count(conn: &mut DbConn) -> i64 {
    with_db!(conn, c => contacts_table::table.count().get_result(c).await).unwrap()
}

async fn by_email(conn: &mut DbConn, email: &str) -> Option<crate::contacts::Contact> {
    let id: Option<i64> = with_db!(conn, c => contacts_table::table
        .filter(contacts_table::email.eq(email))
        .select(contacts_table::id)
        .first(c)
        .await
        .optional())
    .unwrap();
    match id {
        Some(id) => contacts::get(conn, id).await.unwrap(),
        None => None,
    }
}

fn person(first: &str, last: &str, email: &str, phone: &str) -> ContactInput {
    ContactInput {
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        phone: phone.into(),
        ..Default::default()
    }
}

async fn outcomes(conn: &mut DbConn, id: i64) -> Vec<(i64, Outcome, String, String)> {
    repo::report(conn, id, None, 1000, 0)
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|r| (r.row, r.outcome, r.column, r.message))
        .collect()
}

const MIXED: &str = "Telefon;Nachname;E-Mail;Vorname;Status;Schlagworte\n\
    +49 30 2;Ångström;ZOE@example.com;Zoë;Customer;VIP\n\
    +81 3 1234;山田;yamada@example.jp;太郎;Lead;\"VIP, 🎉 Party\"\n\
    1;Bad;not-an-email;Mail;;\n\
    +81 3 9999;Yamada;Yamada@Example.JP;Taro;;\n\
    2;Wizard;merlin@example.com;Merlin;Wizard;\n\
    +33 1 5;Lefèvre;chloe@example.fr;Chloé;;\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_dry_run_reports_every_row_and_writes_nothing() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        contacts::create(&mut conn, me, &person("Zoë", "Ångström", "zoe@example.com", "+49 30 1"))
            .await
            .unwrap();
        contacts::create(&mut conn, me, &person("Chloé", "Lefèvre", "chloe@example.fr", "+33 1 5"))
            .await
            .unwrap();
        let before = contact_count(&mut conn).await;
        let id = upload(&mut conn, me, MIXED, |_| {}).await;
        let uploaded = state(&mut conn, id).await;
        assert_eq!(uploaded.state, ImportState::Uploaded, "{name}");
        assert_eq!(
            uploaded.settings.mapping,
            vec![
                ColumnTarget::Field("phone".into()),
                ColumnTarget::Field("last_name".into()),
                ColumnTarget::Field("email".into()),
                ColumnTarget::Field("first_name".into()),
                ColumnTarget::Status,
                ColumnTarget::Tags,
            ],
            "{name}: columns in another order and named in German are recognised"
        );

        let checked = dry_run(&db, &mut conn, id).await;
        assert_eq!(checked.state, ImportState::Checked, "{name}: {}", checked.message);
        assert_eq!(
            (checked.total_rows, checked.created, checked.updated, checked.unchanged, checked.errors),
            (6, 1, 1, 1, 3),
            "{name}"
        );
        let rows = outcomes(&mut conn, id).await;
        assert_eq!(rows[0].1, Outcome::Update, "{name}: the email matches whatever its case");
        assert_eq!(rows[1].1, Outcome::Create, "{name}");
        assert_eq!((rows[2].1, rows[2].2.as_str()), (Outcome::Error, "E-Mail"), "{name}: {:?}", rows[2]);
        assert_eq!(rows[3].1, Outcome::Error, "{name}");
        assert!(rows[3].3.contains("Row 3"), "{name}: a repeated email names the first row: {:?}", rows[3]);
        assert_eq!((rows[4].1, rows[4].2.as_str()), (Outcome::Error, "Status"), "{name}");
        assert!(rows[4].3.contains("Wizard") && rows[4].3.contains("Customer"), "{name}: {}", rows[4].3);
        assert_eq!(rows[5].1, Outcome::Unchanged, "{name}");

        let (updates, n) = repo::report(&mut conn, id, Some(Outcome::Update), 10, 0).await.unwrap();
        assert_eq!(n, 1, "{name}");
        let changes: Vec<(String, String, String)> =
            updates[0].changes.iter().map(|c| (c.field.clone(), c.before.clone(), c.after.clone())).collect();
        assert_eq!(
            changes,
            vec![
                ("Phone".to_owned(), "+49 30 1".to_owned(), "+49 30 2".to_owned()),
                ("Status".to_owned(), String::new(), "Customer".to_owned()),
                ("Tags".to_owned(), String::new(), "VIP".to_owned()),
            ],
            "{name}: an update shows each field before and after"
        );
        let errors = repo::error_rows(&mut conn, id, 0, 10).await.unwrap();
        assert_eq!(errors.len(), 3, "{name}");
        assert_eq!(errors[0].1[2], "not-an-email", "{name}: an error row keeps its cells for the download");

        assert_eq!(contact_count(&mut conn).await, before, "{name}: a dry run writes no contact");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_does_what_the_dry_run_showed_and_undo_puts_everything_back() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let zoe = contacts::create(&mut conn, me, &person("Zoë", "Ångström", "zoe@example.com", "+49 30 1"))
            .await
            .unwrap();
        contacts::create(&mut conn, me, &person("Chloé", "Lefèvre", "chloe@example.fr", "+33 1 5"))
            .await
            .unwrap();
        let before = contact_count(&mut conn).await;
        let id = upload(&mut conn, me, MIXED, |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        let done = run(&db, &mut conn, id, &worker("a")).await;
        assert_eq!(done.state, ImportState::Done, "{name}: {}", done.message);
        assert_eq!((done.created, done.updated, done.changed), (1, 1, 0), "{name}");
        assert_eq!(contact_count(&mut conn).await, before + 1, "{name}");

        let taro = by_email(&mut conn, "yamada@example.jp").await.expect("created");
        assert_eq!(taro.display_name(), "太郎 山田", "{name}");
        assert_eq!(taro.status.as_ref().map(|s| s.name.as_str()), Some("Lead"), "{name}");
        let tags: Vec<&str> = taro.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tags, ["VIP", "🎉 Party"], "{name}");
        let updated = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        assert_eq!((updated.input.phone.as_str(), updated.version), ("+49 30 2", 2), "{name}");
        let subjects: Vec<String> = with_db!(conn, c => activities::table
            .filter(activities::contact_id.eq_any([zoe, taro.id]))
            .order(activities::id)
            .select(activities::subject)
            .load(c)
            .await)
        .unwrap();
        assert!(
            subjects.contains(&format!("Changed by import {id} (Kunden 2026 (Zoë).csv)"))
                && subjects.contains(&format!("Added by import {id} (Kunden 2026 (Zoë).csv)")),
            "{name}: the history names the import: {subjects:?}"
        );

        let undone = undo(&db, &mut conn, id).await;
        assert_eq!(undone.state, ImportState::Undone, "{name}: {}", undone.message);
        assert_eq!(contact_count(&mut conn).await, before, "{name}: the created contact is gone");
        let back = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        assert_eq!(back.input.phone, "+49 30 1", "{name}");
        assert_eq!((back.status, back.tags.len()), (None, 0), "{name}");
        let undo_results = repo::result_counts(&mut conn, id, true).await.unwrap();
        assert_eq!(undo_results, vec![("deleted".to_owned(), 1), ("restored".to_owned(), 1)], "{name}");
        assert!(
            repo::request(&mut conn, id, None, &[ImportState::Done], ImportState::Undoing).await.is_err(),
            "{name}: an undone import cannot be undone again"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_the_same_file_again_changes_nothing() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let csv = "first_name,last_name,email,tags,status\nAda,Lovelace,ada@example.com,\"Mathe, Ärztin\",Lead\nJosé,Núñez,JOSE@example.es,,\n";
        let first = upload(&mut conn, me, csv, |_| {}).await;
        dry_run(&db, &mut conn, first).await;
        assert_eq!(run(&db, &mut conn, first, &worker("a")).await.created, 2, "{name}");
        let second = upload(&mut conn, me, csv, |_| {}).await;
        let checked = dry_run(&db, &mut conn, second).await;
        assert_eq!(
            (checked.unchanged, checked.created, checked.updated),
            (2, 0, 0),
            "{name}: {:?}",
            outcomes(&mut conn, second).await
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_cells_keep_or_clear_as_chosen_and_modes_skip_what_they_do_not_do() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let zoe = contacts::create(&mut conn, me, &person("Zoë", "Ångström", "zoe@example.com", "+49 30 1"))
            .await
            .unwrap();
        let csv = "email,phone,first_name\nzoe@example.com,,Zoë\nnew@example.com,5,Neu\n";
        let keep = upload(&mut conn, me, csv, |s| s.mode = ImportMode::Update).await;
        let checked = dry_run(&db, &mut conn, keep).await;
        assert_eq!(
            (checked.unchanged, checked.skipped),
            (1, 1),
            "{name}: an empty cell keeps the phone; update only skips the new row"
        );

        let clear = upload(&mut conn, me, csv, |s| {
            s.mode = ImportMode::Update;
            s.empty_clears = true;
        })
        .await;
        dry_run(&db, &mut conn, clear).await;
        run(&db, &mut conn, clear, &worker("a")).await;
        assert_eq!(contacts::get(&mut conn, zoe).await.unwrap().unwrap().input.phone, "", "{name}: cleared");

        let create_only = upload(&mut conn, me, csv, |s| s.mode = ImportMode::Create).await;
        let checked = dry_run(&db, &mut conn, create_only).await;
        assert_eq!((checked.created, checked.skipped), (1, 1), "{name}");
    }
}

async fn define(conn: &mut DbConn, label: &str, kind: FieldKind, unique: bool, options: &str) -> String {
    let form = FieldForm {
        label: label.into(),
        kind: kind.key().into(),
        portal: "hidden".into(),
        unique: unique.then(|| "yes".to_owned()),
        options: options.into(),
        ..FieldForm::default()
    };
    let id = crate::fields::repo::create_field(conn, &form).await.unwrap();
    crate::fields::repo::catalog(conn).await.unwrap().fields.into_iter().find(|f| f.id == id).unwrap().key
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_match_by_a_unique_extra_field_and_fill_extra_fields() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let number = define(&mut conn, "Kundennummer", FieldKind::Text, true, "").await;
        let plan = define(&mut conn, "Tarif", FieldKind::Select, false, "Basis\nPremium ✨").await;
        let since = define(&mut conn, "Kunde seit", FieldKind::Date, false, "").await;
        let mut input = person("Zoë", "Ångström", "zoe@example.com", "");
        input.extra.insert(number.clone(), vec!["K-001".into()]);
        let zoe = contacts::create(&mut conn, me, &input).await.unwrap();
        let csv = "Kundennummer,Tarif,Kunde seit,Vorname\nk-001,premium ✨,2024-02-29,Zoë\nK-002,Basis,2025-13-01,Neu\nK-003,Gold,,Neu\n";
        let id = upload(&mut conn, me, csv, |s| s.match_by = MatchBy::Extra(number.clone())).await;
        assert_eq!(
            state(&mut conn, id).await.settings.mapping[1],
            ColumnTarget::Extra(plan.clone()),
            "{name}"
        );
        let checked = dry_run(&db, &mut conn, id).await;
        let rows = outcomes(&mut conn, id).await;
        assert_eq!(rows[0].1, Outcome::Update, "{name}: matched case-insensitively: {rows:?}");
        assert_eq!((rows[1].1, rows[1].2.as_str()), (Outcome::Error, "Kunde seit"), "{name}: {rows:?}");
        assert_eq!((rows[2].1, rows[2].2.as_str()), (Outcome::Error, "Tarif"), "{name}: {rows:?}");
        assert_eq!(checked.updated, 1, "{name}");
        run(&db, &mut conn, id, &worker("a")).await;
        let after = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        assert_eq!(after.extra_shown.get(&plan).map(String::as_str), Some("Premium ✨"), "{name}");
        assert_eq!(after.extra_shown.get(&since).map(String::as_str), Some("2024-02-29"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_changed_after_the_dry_run_is_left_alone_and_named() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let zoe = contacts::create(&mut conn, me, &person("Zoë", "Ångström", "zoe@example.com", "1"))
            .await
            .unwrap();
        let id = upload(
            &mut conn,
            me,
            "email,phone,first_name\nzoe@example.com,2,Zoë\nsomeone@example.com,3,Ana\n",
            |_| {},
        )
        .await;
        dry_run(&db, &mut conn, id).await;
        // Someone edits Zoë, and someone else adds a contact with the email the file creates.
        contacts::update(&mut conn, me, zoe, 1, &person("Zoë", "Ångström", "zoe@example.com", "7"))
            .await
            .unwrap();
        contacts::create(&mut conn, me, &person("Ana", "Šimić", "someone@example.com", "")).await.unwrap();
        let done = run(&db, &mut conn, id, &worker("a")).await;
        assert_eq!(
            (done.state, done.changed, done.created, done.updated),
            (ImportState::Done, 2, 0, 0),
            "{name}"
        );
        assert_eq!(contacts::get(&mut conn, zoe).await.unwrap().unwrap().input.phone, "7", "{name}");
        let rows = repo::report(&mut conn, id, None, 10, 0).await.unwrap().0;
        assert!(rows.iter().all(|r| r.result == "changed" && !r.message.is_empty()), "{name}: {rows:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn undo_restores_only_what_nobody_changed_since() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let zoe = contacts::create(&mut conn, me, &person("Zoë", "Ångström", "zoe@example.com", "1"))
            .await
            .unwrap();
        let id = upload(
            &mut conn,
            me,
            "email,phone,city,first_name\nzoe@example.com,2,Zürich,Zoë\nnew@example.com,3,Köln,Jürgen\n",
            |_| {},
        )
        .await;
        dry_run(&db, &mut conn, id).await;
        run(&db, &mut conn, id, &worker("a")).await;
        let mut edited = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        edited.input.city = "Genève".into();
        contacts::update(&mut conn, me, zoe, edited.version, &edited.input).await.unwrap();
        let created = by_email(&mut conn, "new@example.com").await.unwrap();
        let mut touched = created.input.clone();
        touched.notes = "Called back 📞".into();
        contacts::update(&mut conn, me, created.id, created.version, &touched).await.unwrap();

        let undone = undo(&db, &mut conn, id).await;
        assert_eq!(undone.state, ImportState::Undone, "{name}");
        let back = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        assert_eq!((back.input.phone.as_str(), back.input.city.as_str()), ("1", "Genève"), "{name}");
        assert!(
            by_email(&mut conn, "new@example.com").await.is_some(),
            "{name}: a created contact someone changed stays"
        );
        let rows = repo::report(&mut conn, id, None, 10, 0).await.unwrap().0;
        assert!(
            rows[0].undo_result.starts_with("partly restored: City"),
            "{name}: {:?}",
            rows[0].undo_result
        );
        assert!(rows[1].undo_result.starts_with("kept"), "{name}: {:?}", rows[1].undo_result);
    }
}

fn many(n: usize) -> String {
    let mut csv = String::from("first_name,last_name,email,status\n");
    for i in 0..n {
        csv.push_str(&format!("Zoë {i},Ødegård,person{i}@example.com,Lead\n"));
    }
    csv
}

/// A run writes this many rows per batch; the crash tests stop a server after one or two.
const BATCH: i64 = super::job::WRITE_BATCH;
/// Two and a half batches.
const ROWS: usize = (BATCH * 5 / 2) as usize;

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_part_way_leaves_the_run_to_another_which_finishes_it() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let id = upload(&mut conn, me, &many(ROWS), |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        let dying = Worker { dies_after: Some(1), ..worker("dying") };
        let partway = run(&db, &mut conn, id, &dying).await;
        assert_eq!(
            (partway.state, partway.rows_done),
            (ImportState::Running, BATCH),
            "{name}: one batch written"
        );
        assert_eq!(contact_count(&mut conn).await, BATCH, "{name}");
        // Another server finds the job only once the dead one's heartbeat is old.
        let other = worker("other");
        assert!(!work_once(&db.pool, &other).await.unwrap(), "{name}: a live heartbeat keeps the job");
        let old = crate::clock::now() - chrono::Duration::seconds(repo::LEASE_SECONDS + 1);
        with_db!(conn, c => diesel::update(imports::table.find(id)).set(imports::heartbeat_at.eq(Some(old))).execute(c).await).unwrap();
        work(&db, &other).await;
        let done = state(&mut conn, id).await;
        assert_eq!(
            (done.state, done.created, done.rows_done),
            (ImportState::Done, ROWS as i64, ROWS as i64),
            "{name}: {} {:?}",
            done.message,
            repo::result_counts(&mut conn, id, false).await.unwrap()
        );
        assert!(done.message.contains("another server finished it"), "{name}: the history says how it ended");
        assert_eq!(contact_count(&mut conn).await, ROWS as i64, "{name}: every row written once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_run_takes_back_what_it_wrote() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let id = upload(&mut conn, me, &many(ROWS), |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        let dying = Worker { dies_after: Some(2), ..worker("dying") };
        run(&db, &mut conn, id, &dying).await;
        assert_eq!(contact_count(&mut conn).await, 2 * BATCH, "{name}");
        repo::request_cancel(&mut conn, id).await.unwrap();
        let old = crate::clock::now() - chrono::Duration::seconds(repo::LEASE_SECONDS + 1);
        with_db!(conn, c => diesel::update(imports::table.find(id)).set(imports::heartbeat_at.eq(Some(old))).execute(c).await).unwrap();
        work(&db, &worker("other")).await;
        let cancelled = state(&mut conn, id).await;
        assert_eq!(cancelled.state, ImportState::Cancelled, "{name}: {}", cancelled.message);
        assert_eq!(contact_count(&mut conn).await, 0, "{name}: nothing half-written stays");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_part_way_takes_back_everything_written() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let mut csv = many(2 * BATCH as usize - 50);
        csv.push_str("Last,Row,last@example.com,Prospect\n");
        let id = upload(&mut conn, me, &csv, |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        // The status only the last row uses disappears between the dry run and the run, behind
        // the application's back: writing that row fails on its foreign key.
        use crate::db::schema::contact_statuses;
        with_db!(conn, c => diesel::delete(contact_statuses::table.filter(contact_statuses::name.eq("Prospect"))).execute(c).await).unwrap();
        let failed = run(&db, &mut conn, id, &worker("a")).await;
        assert_eq!(failed.state, ImportState::Failed, "{name}: {}", failed.message);
        assert!(failed.message.contains("What it had written was taken back"), "{name}: {}", failed.message);
        assert_eq!(contact_count(&mut conn).await, 0, "{name}: the rows of the first batch were taken back");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_cannot_be_read_to_its_end_goes_back_to_its_mapping_with_the_reason() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        // A quote that never closes is found when the file arrives, before any mapping.
        let path = write_file(
            "broken.csv",
            "first_name,email\nAda,ada@example.com\n\"Unclosed,x@example.com\nBob,bob@example.com\n",
        );
        let refused = super::mapping::first_settings(&path, &[]).unwrap_err();
        assert!(refused.to_string().contains("line 3"), "{name}: {refused}");

        let header_only = upload(&mut conn, me, "first_name,email\n", |_| {}).await;
        let checked = dry_run(&db, &mut conn, header_only).await;
        assert_eq!(checked.state, ImportState::Uploaded, "{name}");
        assert!(checked.message.contains("no rows"), "{name}: {}", checked.message);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_changed_after_the_dry_run_sends_the_import_back_to_its_mapping() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let id = upload(&mut conn, me, "first_name,email\nAda,ada@example.com\n", |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        define(&mut conn, "Größe", FieldKind::Integer, false, "").await;
        let after = run(&db, &mut conn, id, &worker("a")).await;
        assert_eq!(after.state, ImportState::Uploaded, "{name}");
        assert!(after.message.contains("dry run again"), "{name}: {}", after.message);
        assert_eq!(contact_count(&mut conn).await, 0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn formula_cells_stay_text_repeated_headers_fill_once_and_an_export_imports_back() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        // As our export writes them: a leading apostrophe keeps a spreadsheet from running the cell.
        let csv = "first_name,notes,phone,notes\nZoë,=HYPERLINK(\"http://evil.example\"),'+49 30 1,zweite Spalte\nAda,'=SUM(A1:A9),-5,\n";
        let id = upload(&mut conn, me, csv, |_| {}).await;
        let mapping = state(&mut conn, id).await.settings.mapping;
        assert_eq!(mapping[3], ColumnTarget::Ignore, "{name}: a repeated header is suggested once");
        dry_run(&db, &mut conn, id).await;
        assert_eq!(run(&db, &mut conn, id, &worker("a")).await.created, 2, "{name}");
        let zoe: i64 = with_db!(conn, c => contacts_table::table
            .filter(contacts_table::first_name.eq("Zoë"))
            .select(contacts_table::id)
            .first(c)
            .await)
        .unwrap();
        let zoe = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        assert_eq!(
            zoe.input.notes, "=HYPERLINK(\"http://evil.example\")",
            "{name}: stored as the text it is"
        );
        assert_eq!(zoe.input.phone, "+49 30 1", "{name}: the export's guard is taken off");
        assert_eq!(
            crate::contacts::export::neutralize(&zoe.input.notes),
            "'=HYPERLINK(\"http://evil.example\")",
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn undo_keeps_a_created_contact_someone_used_and_skips_a_restore_that_no_longer_fits() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let zoe = contacts::create(&mut conn, me, &person("Zoë", "Ångström", "zoe@example.com", "1"))
            .await
            .unwrap();
        let csv = "email,first_name,phone\nzoe@example.com,Zoë,2\nneu@example.com,Jürgen,3\nauch@example.com,Åsa,4\n";
        let id = upload(&mut conn, me, csv, |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        run(&db, &mut conn, id, &worker("a")).await;
        // A call is logged on one of the new contacts.
        let jurgen = by_email(&mut conn, "neu@example.com").await.unwrap();
        let actor = crate::users::repo::Actor { id: me, name: "Importer".into() };
        let call = crate::activities::ActivityInput {
            kind: "call".into(),
            subject: "Rückruf ☎".into(),
            body: String::new(),
            happened_at: "2026-12-01T10:00".into(),
            due_on: String::new(),
        };
        crate::activities::repo::create(&mut conn, &actor, jurgen.id, &call).await.unwrap();
        let undone = undo(&db, &mut conn, id).await;
        assert_eq!(undone.state, ImportState::Undone, "{name}: {}", undone.message);
        assert!(by_email(&mut conn, "neu@example.com").await.is_some(), "{name}: the called contact stays");
        assert!(by_email(&mut conn, "auch@example.com").await.is_none(), "{name}: the untouched one goes");
        assert_eq!(contacts::get(&mut conn, zoe).await.unwrap().unwrap().input.phone, "1", "{name}");
        let rows = repo::report(&mut conn, id, None, 10, 0).await.unwrap().0;
        assert!(rows[1].undo_result.contains("logged activities"), "{name}: {:?}", rows[1].undo_result);

        // An import that changed an email, undone after another contact took the old one: that
        // row is not restored, and the undo still finishes.
        let mut renamed = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        let number = define(&mut conn, "Kundennummer", FieldKind::Text, true, "").await;
        renamed.input.extra.insert(number.clone(), vec!["K-1".into()]);
        contacts::update(&mut conn, me, zoe, renamed.version, &renamed.input).await.unwrap();
        let by_number = upload(&mut conn, me, "Kundennummer,email\nK-1,zoe.neu@example.com\n", |s| {
            s.match_by = MatchBy::Extra(number.clone());
        })
        .await;
        dry_run(&db, &mut conn, by_number).await;
        assert_eq!(run(&db, &mut conn, by_number, &worker("a")).await.updated, 1, "{name}");
        contacts::create(&mut conn, me, &person("Ana", "Šimić", "zoe@example.com", "")).await.unwrap();
        let undone = undo(&db, &mut conn, by_number).await;
        assert_eq!(undone.state, ImportState::Undone, "{name}: {}", undone.message);
        let rows = repo::report(&mut conn, by_number, None, 10, 0).await.unwrap().0;
        assert!(rows[0].undo_result.contains("old email"), "{name}: {:?}", rows[0].undo_result);
        assert_eq!(
            contacts::get(&mut conn, zoe).await.unwrap().unwrap().input.email,
            "zoe.neu@example.com",
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_run_whose_fields_changed_takes_back_what_was_written() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let id = upload(&mut conn, me, &many(ROWS), |_| {}).await;
        dry_run(&db, &mut conn, id).await;
        let dying = Worker { dies_after: Some(1), ..worker("dying") };
        run(&db, &mut conn, id, &dying).await;
        assert_eq!(contact_count(&mut conn).await, BATCH, "{name}");
        define(&mut conn, "Größe", FieldKind::Integer, false, "").await;
        let old = crate::clock::now() - chrono::Duration::seconds(repo::LEASE_SECONDS + 1);
        with_db!(conn, c => diesel::update(imports::table.find(id)).set(imports::heartbeat_at.eq(Some(old))).execute(c).await).unwrap();
        work(&db, &worker("other")).await;
        let after = state(&mut conn, id).await;
        assert_eq!(after.state, ImportState::Failed, "{name}: {}", after.message);
        assert!(after.message.contains("taken back"), "{name}: {}", after.message);
        assert_eq!(
            contact_count(&mut conn).await,
            0,
            "{name}: nothing of it is left, and nothing lost track of"
        );
        assert_eq!(
            repo::result_counts(&mut conn, id, true).await.unwrap(),
            vec![("deleted".to_owned(), BATCH)],
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_contact_of_an_import_joins_the_static_segment_chosen_and_undo_takes_them_out() {
    use crate::segments::{repo as segments, Draft, SegmentKind, Why};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let viewer = segments::Viewer { id: me, name: "Importer".into(), manage: true };
        let fair = Draft { name: "Messe Köln 2026".into(), kind: SegmentKind::Static, ..Draft::default() };
        let fair = segments::save(&mut conn, &viewer, &fair).await.unwrap();
        // Björk is in the segment already, added by hand: the import leaves her entry alone.
        let bjork = crate::contacts::repo::create(
            &mut conn,
            me,
            &person("Björk", "Guðmundsdóttir", "bjork@example.is", ""),
        )
        .await
        .unwrap();
        segments::add_members(&mut conn, &viewer, fair, &[bjork]).await.unwrap();
        let csv = "first_name,last_name,email\nBjörk,Guðmundsdóttir,bjork@example.is\n美咲,田中,misaki@example.jp\nChloé,Dubois,chloe@example.fr\nBad,Row,not-an-email\n";
        let id = upload(&mut conn, me, csv, |s| s.segment_id = Some(fair)).await;
        dry_run(&db, &mut conn, id).await;
        let done = run(&db, &mut conn, id, &worker("a")).await;
        assert_eq!(done.state, ImportState::Done, "{name}: {}", done.message);
        let q = crate::contacts::ContactQuery { segment_id: Some(fair), ..Default::default() };
        let mut names: Vec<String> = crate::contacts::repo::list(&mut conn, &q)
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.sort();
        assert_eq!(names, vec!["Björk Guðmundsdóttir", "Chloé Dubois", "美咲 田中"], "{name}");
        let misaki = by_email(&mut conn, "misaki@example.jp").await.unwrap().id;
        let (_, why) = segments::why(&mut conn, &viewer, fair, misaki).await.unwrap();
        assert!(
            matches!(&why, Why::Added { by, .. } if by == "Import #1" || by.starts_with("Import #")),
            "{name}: {why:?}"
        );
        let (_, why) = segments::why(&mut conn, &viewer, fair, bjork).await.unwrap();
        assert!(matches!(&why, Why::Added { by, .. } if by == "Importer"), "{name}: {why:?}");
        // Undo: the import's contacts go, and so do the memberships it added; Björk stays.
        undo(&db, &mut conn, id).await;
        let names: Vec<String> = crate::contacts::repo::list(&mut conn, &q)
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, vec!["Björk Guðmundsdóttir"], "{name}");
    }
}
