//! Repository tests of contacts, on both backends.

use super::*;
use crate::contacts::{ContactPage, ContactQuery, SortKey, CONTACTS_PER_PAGE};
use crate::db::testing::each_backend;

/// A staff member whose name is their whole email (the owner column shows it).
async fn staff(conn: &mut DbConn, email: &str) -> i64 {
    let id = crate::users::fixtures::staff_with(conn, email, &[]).await.id;
    crate::accounts::repo::rename(conn, id, email).await.unwrap();
    id
}

fn person(first: &str, last: &str, email: &str, company: &str) -> ContactInput {
    ContactInput {
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        company: company.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn contacts_round_trip_with_tags_services_and_unique_emails() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let all = choices(&mut conn).await.unwrap();
        assert_eq!(
            all.statuses.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["Lead", "Prospect", "Customer", "Inactive"],
            "{name}"
        );
        let mut input = person(" Grace ", "Hopper", "Grace@Navy.MIL", "US Navy");
        input.status_id = Some(all.statuses[2].id);
        input.service_ids = vec![all.services[0].id, all.services[1].id, all.services[0].id];
        input.tags = vec!["VIP".into(), " vip ".into(), "Compilers".into(), "".into()];
        input.owner_id = Some(me);
        let id = create(&mut conn, me, &input).await.unwrap();

        let c = get(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(c.display_name(), "Grace Hopper", "{name}");
        assert_eq!(c.input.email, "grace@navy.mil", "{name}: emails are stored lower-cased");
        assert_eq!(c.status.as_ref().map(|s| s.name.as_str()), Some("Customer"), "{name}");
        assert_eq!(c.services.len(), 2, "{name}");
        assert_eq!(
            c.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["Compilers", "VIP"],
            "{name}"
        );
        assert_eq!(
            (c.owner.as_ref().map(|o| o.id), c.created_by.as_deref(), c.version),
            (Some(me), Some("me@example.com"), 1),
            "{name}"
        );

        // A second contact reuses the existing tag, whatever its case.
        let mut other = person("Ada", "Lovelace", "", "");
        other.tags = vec!["vip".into()];
        create(&mut conn, me, &other).await.unwrap();
        assert_eq!(choices(&mut conn).await.unwrap().tags.len(), 2, "{name}");
        // Contacts without email do not clash; the same email does, in any case.
        create(&mut conn, me, &person("No", "Email", "  ", "")).await.unwrap();
        let dup = create(&mut conn, me, &person("Fake", "Grace", "GRACE@navy.mil", "")).await.unwrap_err();
        assert_eq!(dup.field("email").as_deref(), Some(EMAIL_TAKEN), "{name}");

        // Choices must exist, and owners must be staff.
        let stale = ContactInput { first_name: "X".into(), status_id: Some(9999), ..Default::default() };
        assert!(matches!(create(&mut conn, me, &stale).await, Err(AppError::Conflict(_))), "{name}");
        let stale = ContactInput { first_name: "X".into(), service_ids: vec![9999], ..Default::default() };
        assert!(matches!(create(&mut conn, me, &stale).await, Err(AppError::Conflict(_))), "{name}");
        let nobody = ContactInput { first_name: "X".into(), owner_id: Some(9999), ..Default::default() };
        assert!(create(&mut conn, me, &nobody).await.unwrap_err().field("owner_id").is_some(), "{name}");

        delete(&mut conn, id).await.unwrap();
        assert!(get(&mut conn, id).await.unwrap().is_none(), "{name}");
        assert_eq!(delete(&mut conn, id).await.unwrap_err(), AppError::NotFound, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_save_based_on_an_old_version_is_refused() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let id = create(&mut conn, me, &person("Alan", "Turing", "alan@example.com", "")).await.unwrap();
        let mut first_tab = person("Alan M.", "Turing", "alan@example.com", "");
        first_tab.tags = vec!["Maths".into()];
        update(&mut conn, me, id, 1, &first_tab).await.unwrap();
        let second_tab = person("Alan", "Turing", "alan@example.com", "Bletchley Park");
        let conflict = update(&mut conn, me, id, 1, &second_tab).await.unwrap_err();
        assert!(matches!(conflict, AppError::Conflict(_)), "{name}: {conflict:?}");
        let saved = get(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(
            (saved.input.first_name.as_str(), saved.input.company.as_str(), saved.version),
            ("Alan M.", "", 2),
            "{name}: the first save stands"
        );
        assert_eq!(saved.input.tags, vec!["Maths".to_owned()], "{name}");
        update(&mut conn, me, id, 2, &second_tab).await.unwrap();
        assert_eq!(
            get(&mut conn, id).await.unwrap().unwrap().input.tags,
            Vec::<String>::new(),
            "{name}: tags are replaced"
        );
        assert_eq!(
            update(&mut conn, me, 9999, 1, &second_tab).await.unwrap_err(),
            AppError::NotFound,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_actions_change_only_the_selected_contacts() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let all = choices(&mut conn).await.unwrap();
        let a = create(&mut conn, me, &person("A", "One", "a@example.com", "")).await.unwrap();
        let b = create(&mut conn, me, &person("B", "Two", "b@example.com", "")).await.unwrap();
        let untouched = create(&mut conn, me, &person("C", "Three", "c@example.com", "")).await.unwrap();

        assert_eq!(
            bulk_change(&mut conn, me, &[a, b], &BulkChange::AddTag("Newsletter".into())).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            bulk_change(&mut conn, me, &[a, b], &BulkChange::AddTag("newsletter".into())).await.unwrap(),
            0,
            "{name}: already tagged"
        );
        bulk_change(&mut conn, me, &[a, b], &BulkChange::SetStatus(Some(all.statuses[1].id))).await.unwrap();
        bulk_change(&mut conn, me, &[b], &BulkChange::SetOwner(Some(me))).await.unwrap();
        bulk_change(&mut conn, me, &[b], &BulkChange::RemoveTag("NEWSLETTER".into())).await.unwrap();
        let (ca, cb, cc) = (
            get(&mut conn, a).await.unwrap().unwrap(),
            get(&mut conn, b).await.unwrap().unwrap(),
            get(&mut conn, untouched).await.unwrap().unwrap(),
        );
        assert_eq!(ca.input.tags, vec!["Newsletter".to_owned()], "{name}");
        assert!(cb.input.tags.is_empty(), "{name}");
        assert_eq!((ca.input.status_id, cb.input.owner_id), (Some(all.statuses[1].id), Some(me)), "{name}");
        assert_eq!((ca.version, cb.version, cc.version), (3, 5, 1), "{name}: each change is a new version");
        assert_eq!((cc.input.status_id, cc.input.tags.len()), (None, 0), "{name}");
        assert!(
            bulk_change(&mut conn, me, &[a], &BulkChange::AddTag("  ".into()))
                .await
                .unwrap_err()
                .field("tag")
                .is_some(),
            "{name}"
        );

        assert_eq!(bulk_change(&mut conn, me, &[a, b], &BulkChange::Delete).await.unwrap(), 2, "{name}");
        assert_eq!(list(&mut conn, &ContactQuery::default()).await.unwrap().total, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_are_counted_renamed_merged_and_deleted() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let mut a = person("A", "One", "", "");
        a.tags = vec!["Clients".into(), "Customers".into()];
        let a = create(&mut conn, me, &a).await.unwrap();
        let mut b = person("B", "Two", "", "");
        b.tags = vec!["Customers".into()];
        let b = create(&mut conn, me, &b).await.unwrap();
        let counts = tag_counts(&mut conn).await.unwrap();
        assert_eq!(
            counts.iter().map(|(t, n)| (t.name.as_str(), *n)).collect::<Vec<_>>(),
            [("Clients", 1), ("Customers", 2)],
            "{name}"
        );
        let (clients, customers) = (counts[0].0.id, counts[1].0.id);

        assert!(
            rename_tag(&mut conn, clients, "CUSTOMERS").await.unwrap_err().field("name").is_some(),
            "{name}"
        );
        rename_tag(&mut conn, clients, "Clients (old)").await.unwrap();
        merge_tags(&mut conn, clients, customers).await.unwrap();
        let counts = tag_counts(&mut conn).await.unwrap();
        assert_eq!(
            counts.iter().map(|(t, n)| (t.name.as_str(), *n)).collect::<Vec<_>>(),
            [("Customers", 2)],
            "{name}: no duplicate on A"
        );
        assert_eq!(
            get(&mut conn, a).await.unwrap().unwrap().input.tags,
            vec!["Customers".to_owned()],
            "{name}"
        );
        delete_tag(&mut conn, customers).await.unwrap();
        assert!(get(&mut conn, b).await.unwrap().unwrap().input.tags.is_empty(), "{name}");
        assert_eq!(delete_tag(&mut conn, customers).await.unwrap_err(), AppError::NotFound, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_shows_every_change_at_once_whoever_made_it() {
    use crate::settings::{repo as settings, SettingsList};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let all = choices(&mut conn).await.unwrap();
        let (lead, prospect) = (all.statuses[0].id, all.statuses[1].id);
        let mut ada = person("Ada", "Lovelace", "ada@example.com", "");
        ada.status_id = Some(prospect);
        let ada = create(&mut conn, me, &ada).await.unwrap();
        let mut alan = person("Alan", "Turing", "alan@example.com", "");
        alan.status_id = Some(lead);
        let alan = create(&mut conn, me, &alan).await.unwrap();
        let names = |page: &ContactPage| page.rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let by_name = ContactQuery::default();
        let by_status = ContactQuery { sort: SortKey::Status, ..Default::default() };
        let tagged = |tag: i64| ContactQuery { tag_id: Some(tag), ..Default::default() };
        let search = ContactQuery { search: "lovelace".into(), ..Default::default() };
        // Seen once, so the server keeps each list.
        assert_eq!(
            names(&list(&mut conn, &by_name).await.unwrap()),
            ["Ada Lovelace", "Alan Turing"],
            "{name}"
        );
        assert_eq!(
            names(&list(&mut conn, &by_status).await.unwrap()),
            ["Alan Turing", "Ada Lovelace"],
            "{name}"
        );
        assert_eq!(list(&mut conn, &search).await.unwrap().total, 1, "{name}");

        // A form edit renames Ada: the kept order and search are not used again.
        let mut renamed = person("Ada", "Byron", "ada@example.com", "");
        renamed.status_id = Some(prospect);
        update(&mut conn, me, ada, 1, &renamed).await.unwrap();
        assert_eq!(names(&list(&mut conn, &by_name).await.unwrap()), ["Ada Byron", "Alan Turing"], "{name}");
        assert_eq!(
            list(&mut conn, &search).await.unwrap().total,
            0,
            "{name}: the old name no longer matches"
        );

        // Reordering statuses reorders the list sorted by status.
        settings::move_item(&mut conn, SettingsList::Statuses, prospect, true).await.unwrap();
        assert_eq!(
            names(&list(&mut conn, &by_status).await.unwrap()),
            ["Ada Byron", "Alan Turing"],
            "{name}"
        );

        // A bulk tag shows in the tag filter.
        bulk_change(&mut conn, me, &[alan], &BulkChange::AddTag("Pioneer".into())).await.unwrap();
        let pioneer = choices(&mut conn).await.unwrap().tags[0].id;
        assert_eq!(names(&list(&mut conn, &tagged(pioneer)).await.unwrap()), ["Alan Turing"], "{name}");
        bulk_change(&mut conn, me, &[alan], &BulkChange::RemoveTag("Pioneer".into())).await.unwrap();
        assert_eq!(list(&mut conn, &tagged(pioneer)).await.unwrap().total, 0, "{name}");
        // Deleting a tag takes it off its contacts (a cascade in the database).
        bulk_change(&mut conn, me, &[alan], &BulkChange::AddTag("Pioneer".into())).await.unwrap();
        assert_eq!(list(&mut conn, &tagged(pioneer)).await.unwrap().total, 1, "{name}");
        delete_tag(&mut conn, pioneer).await.unwrap();
        assert_eq!(list(&mut conn, &tagged(pioneer)).await.unwrap().total, 0, "{name}");

        // A change made outside the app (another tool, a person at the SQL prompt) counts too.
        with_db!(&mut conn, c => diesel::delete(contacts::table.find(alan)).execute(c).await).unwrap();
        assert_eq!(names(&list(&mut conn, &by_name).await.unwrap()), ["Ada Byron"], "{name}");
        assert_eq!(list(&mut conn, &by_status).await.unwrap().total, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_changes_creating_the_same_new_tags_all_succeed() {
    // A bulk change and form saves that create the same new tag at the same moment: each
    // takes the contacts counter first, so they queue (no deadlock, no lost tag).
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let bulk_target =
            create(&mut conn, me, &person("Ada", "Lovelace", "ada@example.com", "")).await.unwrap();
        let mut saved = Vec::new();
        for i in 0..6 {
            let email = format!("p{i}@example.com");
            saved.push(create(&mut conn, me, &person("P", &format!("{i}"), &email, "")).await.unwrap());
        }
        drop(conn);
        let mut tasks = Vec::new();
        for (i, id) in saved.iter().copied().enumerate() {
            let tag = format!("Fresh {i}");
            let pool = db.pool.clone();
            let bulk_tag = tag.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                bulk_change(&mut conn, me, &[bulk_target], &BulkChange::AddTag(bulk_tag)).await.map(|_| ())
            }));
            let pool = db.pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                let mut input = person("P", &format!("{i}"), &format!("p{i}@example.com"), "");
                input.tags = vec![tag];
                update(&mut conn, me, id, 1, &input).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
        let mut conn = db.pool.get().await.unwrap();
        assert_eq!(get(&mut conn, bulk_target).await.unwrap().unwrap().input.tags.len(), 6, "{name}");
        assert_eq!(choices(&mut conn).await.unwrap().tags.len(), 6, "{name}: one tag per name");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_past_the_kept_ids_follow_the_same_order() {
    use crate::contacts::list_cache::{KEPT_IDS, MAX_KEPT_IDS};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        staff(&mut conn, "me@example.com").await;
        let n = KEPT_IDS + 3 * CONTACTS_PER_PAGE;
        super::super::demo::seed(&mut conn, n as usize).await.unwrap();
        let query = |page: i64| ContactQuery { page, sort: SortKey::Email, ..Default::default() };
        let last = (n + CONTACTS_PER_PAGE - 1) / CONTACTS_PER_PAGE;
        let kept_pages = KEPT_IDS / CONTACTS_PER_PAGE;
        assert!(last * CONTACTS_PER_PAGE > MAX_KEPT_IDS, "the last page is past any kept list");
        // In this order: kept at first; past the kept ids and past what a list keeps (OFFSET);
        // then just past the kept ids, which extends the list.
        let mut pages = std::collections::BTreeMap::new();
        for page in [kept_pages - 1, kept_pages, last, last - 1, kept_pages + 1, last] {
            let found = list(&mut conn, &query(page)).await.unwrap();
            assert_eq!((found.total, found.pages), (n, last), "{name}");
            assert_eq!(found.rows.len(), CONTACTS_PER_PAGE as usize, "{name}: page {page}");
            let emails: Vec<String> = found.rows.into_iter().map(|r| r.email.unwrap_or_default()).collect();
            if let Some(before) = pages.insert(page, emails.clone()) {
                assert_eq!(before, emails, "{name}: page {page} read twice");
            }
        }
        let emails: Vec<String> = pages.into_values().flatten().collect();
        let mut sorted = emails.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(emails.len(), 5 * CONTACTS_PER_PAGE as usize, "{name}");
        assert_eq!(emails, sorted, "{name}: ascending across kept, extended and OFFSET pages");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_searches_filters_sorts_and_pages() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let all = choices(&mut conn).await.unwrap();
        for i in 0..30 {
            let mut c = person(
                &format!("Person{i:02}"),
                &format!("Zed{:02}", 29 - i),
                &format!("p{i}@example.com"),
                "Acme",
            );
            c.status_id = Some(all.statuses[i % 2].id);
            if i % 3 == 0 {
                c.tags = vec!["Even-ish".into()];
            }
            create(&mut conn, me, &c).await.unwrap();
        }
        let mut grace = person("Grace", "Hopper", "grace@navy.mil", "US Navy");
        grace.phone = "+1 555 0100".into();
        grace.service_ids = vec![all.services[3].id];
        grace.traffic_source_id = Some(all.traffic_sources[1].id);
        grace.owner_id = Some(me);
        let grace_id = create(&mut conn, me, &grace).await.unwrap();

        let q = |f: fn(&mut ContactQuery)| {
            let mut q = ContactQuery::default();
            f(&mut q);
            q
        };
        let first = list(&mut conn, &ContactQuery::default()).await.unwrap();
        assert_eq!((first.total, first.pages, first.rows.len()), (31, 2, 25), "{name}");
        assert_eq!(first.rows[0].name, "Grace Hopper", "{name}: by last name");
        assert_eq!(first.rows[1].name, "Person29 Zed00", "{name}");
        let last = list(&mut conn, &q(|q| q.page = 2)).await.unwrap();
        assert_eq!(last.rows.len(), 6, "{name}");
        assert_eq!(
            list(&mut conn, &q(|q| q.page = 9)).await.unwrap().rows.len(),
            0,
            "{name}: past the end is empty"
        );
        let far = list(&mut conn, &q(|q| q.page = i64::MAX)).await.unwrap();
        assert_eq!((far.total, far.rows.len()), (31, 0), "{name}: far past the end is empty too");
        let desc = list(&mut conn, &q(|q| q.descending = true)).await.unwrap();
        assert_eq!(desc.rows[0].name, "Person00 Zed29", "{name}");

        // Short terms are below a trigram: still found (SQLite reads every row for them).
        for term in ["HOPPER", "navy.mil", "555 0100", "us nav", "Ho"] {
            let found =
                list(&mut conn, &ContactQuery { search: term.into(), ..Default::default() }).await.unwrap();
            assert_eq!(found.rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![grace_id], "{name}: {term}");
        }
        for term in ["%", "hop\"per", "\"hopper\"", "hopper*"] {
            assert_eq!(
                list(&mut conn, &ContactQuery { search: term.into(), ..Default::default() })
                    .await
                    .unwrap()
                    .total,
                0,
                "{name}: {term} is taken literally"
            );
        }

        let lead = all.statuses[0].id;
        assert_eq!(
            list(&mut conn, &ContactQuery { status_id: Some(lead), ..Default::default() })
                .await
                .unwrap()
                .total,
            15,
            "{name}"
        );
        let tag = choices(&mut conn).await.unwrap().tags[0].id;
        assert_eq!(
            list(&mut conn, &ContactQuery { tag_id: Some(tag), ..Default::default() }).await.unwrap().total,
            10,
            "{name}"
        );
        for query in [
            ContactQuery { service_id: Some(all.services[3].id), ..Default::default() },
            ContactQuery { traffic_source_id: Some(all.traffic_sources[1].id), ..Default::default() },
            ContactQuery { owner_id: Some(me), ..Default::default() },
        ] {
            let found = list(&mut conn, &query).await.unwrap();
            assert_eq!(
                found.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
                vec![grace_id],
                "{name}: {query:?}"
            );
            assert_eq!(found.rows[0].owner.as_deref(), Some("me@example.com"), "{name}");
        }
        let by_status =
            list(&mut conn, &ContactQuery { sort: SortKey::Status, ..Default::default() }).await.unwrap();
        assert_eq!(by_status.rows[0].status.as_ref().map(|s| s.name.as_str()), Some("Lead"), "{name}");

        let (table, total) = status_counts(&mut conn).await.unwrap();
        assert_eq!(total, 31, "{name}");
        assert_eq!(table.iter().map(|s| s.contacts).collect::<Vec<_>>(), [15, 15, 0, 0], "{name}");
    }
}

/// SQLite's `lower()` folds only ASCII: before the stored keys, a tag "Ärzte" was never found
/// again as "ärzte", the second insert broke the unique index, and the form blamed the email.
#[tokio::test(flavor = "multi_thread")]
async fn names_with_non_ascii_letters_are_found_again_in_any_case_on_every_backend() {
    use crate::settings::{repo as settings, SettingsList};
    use crate::users::repo::{save_group, Actor, GroupInput};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "zoë@example.com").await;
        let pairs = [
            ("Ärzte", "ärzte"),
            ("ÉCOLE", "école"),
            ("İstanbul", "i\u{307}stanbul"),
            ("Straße", "STRAßE"),
            ("Ωμέγα 🎉", "ωμέγα 🎉"),
        ];
        // Through the form: a second contact reuses each tag, whatever its case.
        let mut first = person("Jürgen", "Groß", "jurgen@example.com", "Ärztehaus");
        first.tags = pairs.iter().map(|(a, _)| a.to_string()).collect();
        let a = create(&mut conn, me, &first).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut second = person("Åsa", "Öberg", "asa@example.com", "");
        second.tags = pairs.iter().map(|(_, b)| b.to_string()).collect();
        let b = create(&mut conn, me, &second).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let tags = choices(&mut conn).await.unwrap().tags;
        assert_eq!(tags.len(), pairs.len(), "{name}: no duplicate tags: {tags:?}");
        let shown = get(&mut conn, b).await.unwrap().unwrap();
        assert!(shown.tags.iter().any(|t| t.name == "Ärzte"), "{name}: the first spelling is kept");
        // Through the bulk action: adding "ärzte" to both finds the existing tag.
        bulk_change(&mut conn, me, &[a, b], &BulkChange::AddTag("ÄRZTE".into()))
            .await
            .unwrap_or_else(|e| panic!("{name}: bulk add: {e:?}"));
        assert_eq!(choices(&mut conn).await.unwrap().tags.len(), pairs.len(), "{name}");
        let removed =
            bulk_change(&mut conn, me, &[a, b], &BulkChange::RemoveTag("ärzte".into())).await.unwrap();
        assert_eq!(removed, 2, "{name}: removed by its other case");
        // Renaming a tag to another's name in a different case is a message on the name.
        let ecole = tags.iter().find(|t| t.name == "ÉCOLE").unwrap().id;
        let err = rename_tag(&mut conn, ecole, "straße").await.unwrap_err();
        assert!(err.field("name").is_some(), "{name}: {err:?}");
        // Settings lists and groups follow the same rule.
        settings::add(&mut conn, SettingsList::Statuses, "Überfällig", None).await.unwrap();
        let err = settings::add(&mut conn, SettingsList::Statuses, "überfällig", None).await.unwrap_err();
        assert_eq!(
            err.field("name").as_deref(),
            Some("This list already has an entry with that name."),
            "{name}"
        );
        let admin = crate::accounts::repo::find_by_id(&mut conn, me).await.unwrap().unwrap();
        let group = |n: &str| GroupInput {
            name: n.into(),
            description: String::new(),
            permissions: Default::default(),
            member_ids: Default::default(),
        };
        save_group(&mut conn, &Actor::from(&admin), None, &group("Ärzte")).await.unwrap();
        let err = save_group(&mut conn, &Actor::from(&admin), None, &group("ÄRZTE")).await.unwrap_err();
        assert!(err.field("name").is_some(), "{name}: {err:?}");
    }
}

/// A NUL pasted into the search box made SQLite's FTS5 fail ("unterminated string"): a 500.
#[tokio::test(flavor = "multi_thread")]
async fn any_search_text_a_person_can_paste_gets_a_page() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        create(&mut conn, me, &person("Abc", "Def", "abcdef@example.com", "")).await.unwrap();
        for term in ["abc\0def", "\0", "ab\0", "\"\0\"", "🎉\0🎉", "a\u{202e}b"] {
            let page = list(&mut conn, &ContactQuery { search: term.into(), ..Default::default() })
                .await
                .unwrap_or_else(|e| panic!("{name}: {term:?}: {e}"));
            assert!(page.total <= 1, "{name}: {term:?}");
        }
        let found =
            list(&mut conn, &ContactQuery { search: "abc\0def".into(), ..Default::default() }).await.unwrap();
        assert_eq!(found.total, 1, "{name}: the NUL is ignored");
    }
}

/// An import writes its contacts a batch per statement (`db::batch`, rows as JSON): what it
/// stores must read back exactly as a contact saved through the form, whatever the text holds
/// (quotes, backslashes, line breaks, non-Latin scripts, emoji), and its new ids must never be
/// one a deleted contact had.
#[tokio::test(flavor = "multi_thread")]
async fn contacts_written_in_a_batch_read_back_as_saved_through_the_form() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn, "me@example.com").await;
        let all = choices(&mut conn).await.unwrap();
        let mut input = person("Zoë \"Zee\"", "O'Brien\\Ωμέγα", "", "株式会社 🎉");
        input.notes = "line one\nline two\t\"quoted\" \\ back".into();
        input.status_id = Some(all.statuses[1].id);
        input.service_ids = vec![all.services[0].id];
        input.tags = vec!["Kunde 🌟".into(), "VIP".into()];
        input.owner_id = Some(me);
        let mut form = input.clone();
        form.email = "form@example.com".into();
        // The batch's time is earlier than the form's: the list must order the two as times.
        let at = now() - chrono::Duration::seconds(1);
        let by_form = create(&mut conn, me, &form).await.unwrap();
        let gone = create(&mut conn, me, &person("Gone", "Soon", "", "")).await.unwrap();
        delete(&mut conn, gone).await.unwrap();

        let catalog = crate::fields::repo::catalog(&mut conn).await.unwrap();
        let empty: crate::fields::repo::Parsed = Vec::new();
        let mut second = input.clone();
        second.email = "Batch@Example.com".into();
        // Two without an email: no email is NULL, not an empty text the unique index would refuse.
        let new = [(&input, &empty), (&second, &empty), (&input, &empty)];
        let ids = conn
            .contacts_tx(async |c: &mut DbConn| {
                insert_many(c, &catalog, me, &new, at, "Added by a test").await
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(ids.len(), 3, "{name}");
        assert!(ids.iter().all(|id| *id > gone), "{name}: {ids:?} after the deleted {gone}");

        let form_read = get(&mut conn, by_form).await.unwrap().unwrap();
        for (id, email) in ids.iter().zip(["", "batch@example.com", ""]) {
            let read = get(&mut conn, *id).await.unwrap().unwrap();
            let mut expected = form_read.input.clone();
            expected.email = email.into();
            assert_eq!(read.input, expected, "{name}: contact {id}");
            assert_eq!(
                (read.tags.len(), read.services.len(), read.version, read.created_by.as_deref()),
                (2, 1, 1, Some("me@example.com")),
                "{name}"
            );
        }
        // The search finds them by their words, and the list orders their times with the form's.
        let found =
            list(&mut conn, &ContactQuery { search: "ωμέγα".into(), ..Default::default() }).await.unwrap();
        assert_eq!(found.total, 4, "{name}");
        let oldest_first = ContactQuery { sort: SortKey::Updated, ..Default::default() };
        let rows = list(&mut conn, &oldest_first).await.unwrap().rows;
        assert_eq!(
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [ids[0], ids[1], ids[2], by_form],
            "{name}"
        );

        // An overwrite writes only the contacts still at the version it read; a contact given
        // twice is written once, by the row that read its version, as row by row would.
        let mut changed = second.clone();
        changed.city = "Köln".into();
        let mut again = input.clone();
        again.city = "Zürich".into();
        let overwrites = [
            (ids[0], 7, &input, &empty),
            (ids[1], 1, &changed, &empty),
            (ids[2], 1, &again, &empty),
            (ids[2], 1, &input, &empty),
        ];
        let versions = conn
            .contacts_tx(async |c: &mut DbConn| {
                overwrite_many(c, &catalog, me, &overwrites, now(), "Changed by a test").await
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(versions, [None, Some(2), Some(2), None], "{name}");
        let read = get(&mut conn, ids[1]).await.unwrap().unwrap();
        assert_eq!((read.input.city.as_str(), read.version), ("Köln", 2), "{name}");
        let read = get(&mut conn, ids[2]).await.unwrap().unwrap();
        assert_eq!((read.input.city.as_str(), read.version, read.tags.len()), ("Zürich", 2, 2), "{name}");
        assert_eq!(get(&mut conn, ids[0]).await.unwrap().unwrap().version, 1, "{name}");
    }
}
