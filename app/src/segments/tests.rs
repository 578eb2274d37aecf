//! Repository tests of segments, on both backends: every operator with international text,
//! empty values and NULLs, AND/OR nesting, activity facts at their day boundaries, cycles,
//! static members of a deleted contact, snapshots, entries and exits, and the explanation.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::repo::{self, Viewer};
use super::{Condition, Draft, Group, SegmentKind, Why};
use crate::contacts::repo as contacts;
use crate::contacts::{ContactInput, ContactQuery};
use crate::db::schema::{activities, users};
use crate::db::testing::each_backend;
use crate::db::{with_db, DbConn};
use crate::error::AppError;

fn cond(subject: &str, op: &str, values: &[&str]) -> Condition {
    Condition {
        subject: subject.into(),
        op: op.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn all(conditions: Vec<Condition>) -> Group {
    Group { any: false, conditions, groups: Vec::new() }
}

fn any(conditions: Vec<Condition>) -> Group {
    Group { any: true, conditions, groups: Vec::new() }
}

fn dynamic(name: &str, rules: Group) -> Draft {
    Draft { name: name.into(), kind: SegmentKind::Dynamic, rules, ..Draft::default() }
}

async fn viewer(conn: &mut DbConn, email: &str, manage: bool) -> Viewer {
    let account = crate::users::fixtures::staff_with(conn, email, &[]).await;
    Viewer { id: account.id, name: account.display_name, manage }
}

struct People {
    ids: Vec<(String, i64)>,
}

impl People {
    fn id(&self, name: &str) -> i64 {
        self.ids.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1
    }
}

async fn people(conn: &mut DbConn, actor: i64) -> People {
    let rows: [(&str, &str, &str, &str, &[&str]); 6] = [
        ("Jürgen", "Müller", "München", "juergen@example.de", &["VIP", "Neu"]),
        ("Zoë", "Ørsted", "København", "", &["VIP"]),
        ("Ολυμπία", "Παπαδοπούλου", "ΑΘΗΝΑ", "olympia@example.gr", &[]),
        ("İsmail", "Yılmaz", "İstanbul", "ismail@example.tr", &["Neu"]),
        ("美咲", "田中", "東京 🗼", "misaki@example.jp", &[]),
        ("Chloé", "Dubois", "", "chloe@example.fr", &["Presse ✉️"]),
    ];
    let mut ids = Vec::new();
    for (first, last, city, email, tags) in rows {
        let input = ContactInput {
            first_name: first.into(),
            last_name: last.into(),
            city: city.into(),
            email: email.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..ContactInput::default()
        };
        let id = contacts::create(conn, actor, &input).await.unwrap_or_else(|e| panic!("{first}: {e:?}"));
        ids.push((format!("{first} {last}"), id));
    }
    People { ids }
}

/// The names a draft's preview matches, sorted.
async fn matching(conn: &mut DbConn, me: &Viewer, rules: Group) -> Vec<String> {
    let preview = repo::preview(conn, me, &dynamic("probe", rules)).await.unwrap();
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    let mut names: Vec<String> = preview.sample.into_iter().map(|(_, n)| n).collect();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    v.sort();
    v
}

async fn log_activity(
    conn: &mut DbConn,
    contact: i64,
    kind: &str,
    at: NaiveDateTime,
    due: Option<chrono::NaiveDate>,
) {
    with_db!(conn, c => diesel::insert_into(activities::table)
        .values((
            activities::contact_id.eq(contact),
            activities::kind.eq(kind),
            activities::subject.eq("Rückruf ☎️"),
            activities::happened_at.eq(at),
            activities::due_on.eq(due),
            activities::created_at.eq(at),
        ))
        .execute(c)
        .await)
    .unwrap();
}

/// The names the contact list shows for a segment, in its order.
async fn member_names(conn: &mut DbConn, id: i64) -> Vec<String> {
    let q = ContactQuery { segment_id: Some(id), ..Default::default() };
    contacts::list(conn, &q).await.unwrap().rows.into_iter().map(|r| r.name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn text_tags_and_nulls_match_alike_on_both_backends() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "segmente@example.com", true).await;
        let p = people(&mut conn, me.id).await;
        let choices = contacts::choices(&mut conn).await.unwrap();
        let tag = |n: &str| choices.tags.iter().find(|t| t.name == n).unwrap().id.to_string();
        let (vip, neu, presse) = (tag("VIP"), tag("Neu"), tag("Presse ✉️"));
        let cases: Vec<(Condition, Vec<&str>)> = vec![
            // Folded as Rust folds: Greek capitals, Turkish dotted İ, Danish Ø.
            (cond("city", "is", &["athina"]), vec![]),
            (cond("city", "is", &["αθηνα"]), vec!["Ολυμπία Παπαδοπούλου"]),
            (cond("city", "is", &["  i̇stanbul "]), vec!["İsmail Yılmaz"]),
            (cond("city", "contains", &["ØBEN"]), vec!["Zoë Ørsted"]),
            (cond("city", "starts_with", &["mün"]), vec!["Jürgen Müller"]),
            (cond("city", "starts_with", &["ünchen"]), vec![]),
            (cond("city", "contains", &["🗼"]), vec!["美咲 田中"]),
            // A wildcard typed is taken literally.
            (cond("city", "contains", &["%"]), vec![]),
            (cond("city", "empty", &[]), vec!["Chloé Dubois"]),
            // An email left out is NULL: empty too.
            (cond("email", "empty", &[]), vec!["Zoë Ørsted"]),
            (
                cond("email", "not_empty", &[]),
                vec!["Chloé Dubois", "Jürgen Müller", "Ολυμπία Παπαδοπούλου", "İsmail Yılmaz", "美咲 田中"],
            ),
            (cond("tags", "any", &[&vip, &presse]), vec!["Jürgen Müller", "Zoë Ørsted", "Chloé Dubois"]),
            (cond("tags", "all", &[&vip, &neu]), vec!["Jürgen Müller"]),
            (cond("tags", "none", &[&vip, &neu]), vec!["Ολυμπία Παπαδοπούλου", "美咲 田中", "Chloé Dubois"]),
            (
                cond("status", "empty", &[]),
                vec![
                    "Jürgen Müller",
                    "Zoë Ørsted",
                    "Ολυμπία Παπαδοπούλου",
                    "İsmail Yılmaz",
                    "美咲 田中",
                    "Chloé Dubois",
                ],
            ),
            (cond("search", "contains", &["müll"]), vec!["Jürgen Müller"]),
            (
                cond("created", "within", &["1"]),
                vec![
                    "Jürgen Müller",
                    "Zoë Ørsted",
                    "Ολυμπία Παπαδοπούλου",
                    "İsmail Yılmaz",
                    "美咲 田中",
                    "Chloé Dubois",
                ],
            ),
            (cond("created", "before", &["2000-01-01"]), vec![]),
            (
                cond("portal", "none", &[]),
                vec![
                    "Jürgen Müller",
                    "Zoë Ørsted",
                    "Ολυμπία Παπαδοπούλου",
                    "İsmail Yılmaz",
                    "美咲 田中",
                    "Chloé Dubois",
                ],
            ),
        ];
        for (c, want) in cases {
            let got = matching(&mut conn, &me, all(vec![c.clone()])).await;
            assert_eq!(got, sorted(&want), "{name}: {c:?}");
        }
        // "None of" a status includes contacts without one.
        let status = choices.statuses.iter().map(|s| s.id).next().unwrap();
        let mut zoe = contacts::get(&mut conn, p.id("Zoë Ørsted")).await.unwrap().unwrap();
        zoe.input.status_id = Some(status);
        contacts::update(&mut conn, me.id, zoe.id, zoe.version, &zoe.input).await.unwrap();
        let s = status.to_string();
        assert_eq!(
            matching(&mut conn, &me, all(vec![cond("status", "any", &[&s])])).await,
            sorted(&["Zoë Ørsted"]),
            "{name}"
        );
        assert_eq!(
            matching(&mut conn, &me, all(vec![cond("status", "none", &[&s])])).await.len(),
            5,
            "{name}"
        );
        // A client account for Chloé: portal access.
        let client = crate::users::fixtures::staff_with(&mut conn, "chloe.portal@example.fr", &[]).await;
        with_db!(conn, c => diesel::update(users::table.filter(users::id.eq(client.id)))
            .set((users::kind.eq("client"), users::contact_id.eq(Some(p.id("Chloé Dubois")))))
            .execute(c)
            .await)
        .unwrap();
        assert_eq!(
            matching(&mut conn, &me, all(vec![cond("portal", "active", &[])])).await,
            sorted(&["Chloé Dubois"]),
            "{name}"
        );
        assert_eq!(matching(&mut conn, &me, all(vec![cond("portal", "none", &[])])).await.len(), 5, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_nest_and_the_explanation_names_the_branch_that_matched() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "verschachtelt@example.com", true).await;
        let p = people(&mut conn, me.id).await;
        let choices = contacts::choices(&mut conn).await.unwrap();
        let vip = choices.tags.iter().find(|t| t.name == "VIP").unwrap().id.to_string();
        // Has a VIP tag AND (lives in München OR in İstanbul OR has no email).
        let rules = Group {
            any: false,
            conditions: vec![cond("email", "not_empty", &[])],
            groups: vec![any(vec![
                cond("city", "is", &["münchen"]),
                cond("city", "is", &["istanbul"]),
                cond("tags", "any", &[&vip]),
            ])],
        };
        assert_eq!(matching(&mut conn, &me, rules.clone()).await, sorted(&["Jürgen Müller"]), "{name}");
        let id = repo::save(&mut conn, &me, &dynamic("VIPs mit E-Mail", rules)).await.unwrap();
        let (_, why) = repo::why(&mut conn, &me, id, p.id("Jürgen Müller")).await.unwrap();
        let Why::Rules { group, member, .. } = why else { panic!("{name}: {why:?}") };
        assert!(member && group.matched, "{name}");
        assert_eq!(group.conditions, vec![("Email is not empty".to_owned(), true)], "{name}");
        let branch = &group.groups[0];
        assert!(branch.any && branch.matched, "{name}");
        let met: Vec<bool> = branch.conditions.iter().map(|(_, m)| *m).collect();
        assert_eq!(met, vec![true, false, true], "{name}: {:?}", branch.conditions);
        assert_eq!(branch.conditions[0].0, "City is “münchen”", "{name}");
        // Zoë has no email: not a member, and the explanation says which condition failed.
        let (_, why) = repo::why(&mut conn, &me, id, p.id("Zoë Ørsted")).await.unwrap();
        let Why::Rules { group, member, .. } = why else { panic!() };
        assert!(!member && !group.matched, "{name}");
        assert!(!group.conditions[0].1, "{name}");
        // The contact list limited to the segment.
        let page = contacts::list(&mut conn, &ContactQuery { segment_id: Some(id), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(
            page.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["Jürgen Müller"],
            "{name}"
        );
        // The profile lists it.
        let list = repo::memberships(&mut conn, &me, p.id("Jürgen Müller")).await.unwrap();
        assert_eq!(
            list.iter().map(|m| m.segment.name.as_str()).collect::<Vec<_>>(),
            vec!["VIPs mit E-Mail"],
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_facts_turn_at_the_organisations_day_boundary() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "aktivitaet@example.com", true).await;
        let p = people(&mut conn, me.id).await;
        let clock = *conn.clock();
        let today = clock.today();
        let start = |days: i64| clock.to_utc((today - Duration::days(days)).and_hms_opt(0, 0, 0).unwrap());
        // A call at the first second of the 30-day window, one a second before it.
        log_activity(&mut conn, p.id("Jürgen Müller"), "call", start(30), None).await;
        log_activity(&mut conn, p.id("Zoë Ørsted"), "call", start(30) - Duration::seconds(1), None).await;
        // A note is not a call; the change history is no activity at all.
        log_activity(&mut conn, p.id("Ολυμπία Παπαδοπούλου"), "note", start(2), None).await;
        // Tasks: due yesterday and open (overdue), due today (not yet), due yesterday and done.
        log_activity(&mut conn, p.id("İsmail Yılmaz"), "task", start(5), Some(today - Duration::days(1)))
            .await;
        log_activity(&mut conn, p.id("美咲 田中"), "task", start(5), Some(today)).await;
        log_activity(&mut conn, p.id("Chloé Dubois"), "task", start(5), Some(today - Duration::days(1)))
            .await;
        with_db!(conn, c => diesel::update(activities::table.filter(activities::contact_id.eq(p.id("Chloé Dubois"))))
            .set(activities::done_at.eq(Some(start(1))))
            .execute(c)
            .await)
        .unwrap();
        let calls =
            matching(&mut conn, &me, all(vec![cond("activity", "had_within", &["call", "30"])])).await;
        assert_eq!(calls, sorted(&["Jürgen Müller"]), "{name}");
        let quiet = matching(&mut conn, &me, all(vec![cond("activity", "none_within", &["any", "3"])])).await;
        // Everyone but Olympia (a note two days ago); contacts' own "added" history does not count.
        assert_eq!(quiet.len(), 5, "{name}: {quiet:?}");
        assert!(!quiet.contains(&"Ολυμπία Παπαδοπούλου".to_owned()), "{name}");
        let overdue = matching(&mut conn, &me, all(vec![cond("activity", "overdue_task", &[])])).await;
        assert_eq!(overdue, sorted(&["İsmail Yılmaz"]), "{name}");
        // Bad values are refused next to the condition.
        let preview = repo::preview(
            &mut conn,
            &me,
            &dynamic(
                "x",
                all(vec![cond("activity", "had_within", &["call", "0"]), cond("city", "is", &[""])]),
            ),
        )
        .await
        .unwrap();
        let keys: Vec<&str> = preview.problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["c.0", "c.1"], "{name}: {:?}", preview.problems);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_segment_that_would_contain_itself_is_refused() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "zyklus@example.com", true).await;
        people(&mut conn, me.id).await;
        let a = repo::save(&mut conn, &me, &dynamic("A", all(vec![cond("city", "contains", &["ü"])])))
            .await
            .unwrap();
        let b =
            repo::save(&mut conn, &me, &dynamic("B", all(vec![cond("segment", "in", &[&a.to_string()])])))
                .await
                .unwrap();
        assert_eq!(
            matching(&mut conn, &me, all(vec![cond("segment", "in", &[&b.to_string()])])).await,
            sorted(&["Jürgen Müller"]),
            "{name}"
        );
        let stored = |id| Draft {
            id: Some(id),
            version: Some(1),
            name: "A".into(),
            kind: SegmentKind::Dynamic,
            ..Draft::default()
        };
        let err = repo::save(
            &mut conn,
            &me,
            &Draft { rules: all(vec![cond("segment", "in", &[&b.to_string()])]), ..stored(a) },
        )
        .await
        .unwrap_err();
        let AppError::Invalid(errors) = err else { panic!("{name}: {err:?}") };
        assert_eq!(
            errors.get("c.0"),
            Some("“B” uses this segment in its rules: a segment cannot contain itself."),
            "{name}"
        );
        let err = repo::save(
            &mut conn,
            &me,
            &Draft { rules: all(vec![cond("segment", "not_in", &[&a.to_string()])]), ..stored(a) },
        )
        .await
        .unwrap_err();
        let AppError::Invalid(errors) = err else { panic!() };
        assert_eq!(errors.get("c.0"), Some("A segment cannot contain itself."), "{name}");
        // "Not in" a segment.
        let outside = matching(&mut conn, &me, all(vec![cond("segment", "not_in", &[&b.to_string()])])).await;
        assert_eq!(outside.len(), 5, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn static_members_snapshots_and_entries_and_exits() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "listen@example.com", true).await;
        let p = people(&mut conn, me.id).await;
        // Static: added by hand, who and when kept; a deleted contact leaves it.
        let list = repo::save(
            &mut conn,
            &me,
            &Draft { name: "Messe 2026".into(), kind: SegmentKind::Static, ..Draft::default() },
        )
        .await
        .unwrap();
        let (jurgen, zoe, chloe) = (p.id("Jürgen Müller"), p.id("Zoë Ørsted"), p.id("Chloé Dubois"));
        assert_eq!(
            repo::add_members(&mut conn, &me, list, &[jurgen, zoe, jurgen]).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(repo::add_members(&mut conn, &me, list, &[zoe, chloe]).await.unwrap(), 1, "{name}");
        let (_, why) = repo::why(&mut conn, &me, list, zoe).await.unwrap();
        assert!(matches!(&why, Why::Added { by, .. } if *by == me.name), "{name}: {why:?}");
        contacts::delete(&mut conn, chloe).await.unwrap();
        let summary = repo::list(&mut conn, &me).await.unwrap();
        assert_eq!(summary.iter().find(|s| s.id == list).unwrap().members, 2, "{name}");
        assert_eq!(repo::remove_members(&mut conn, &me, list, &[zoe]).await.unwrap(), 1, "{name}");
        // A dynamic segment's rules do not take hand-picked members.
        let munich =
            repo::save(&mut conn, &me, &dynamic("München", all(vec![cond("city", "is", &["münchen"])])))
                .await
                .unwrap();
        assert!(
            matches!(repo::add_members(&mut conn, &me, munich, &[zoe]).await, Err(AppError::Conflict(_))),
            "{name}"
        );

        // Snapshot: frozen until refreshed; the earlier list stays in its history.
        let snap = repo::save(
            &mut conn,
            &me,
            &Draft {
                name: "VIP-Stand".into(),
                kind: SegmentKind::Snapshot,
                rules: all(vec![cond("city", "contains", &["ü", "x"])]),
                ..Draft::default()
            },
        )
        .await;
        let snap = snap.unwrap();
        assert_eq!(member_names(&mut conn, snap).await, vec!["Jürgen Müller"], "{name}");
        let ismail = p.id("İsmail Yılmaz");
        let mut who = contacts::get(&mut conn, ismail).await.unwrap().unwrap();
        who.input.city = "Düsseldorf".into();
        contacts::update(&mut conn, me.id, ismail, who.version, &who.input).await.unwrap();
        assert_eq!(member_names(&mut conn, snap).await, vec!["Jürgen Müller"], "{name}: frozen");
        repo::refresh(&mut conn, &me, snap).await.unwrap();
        assert_eq!(
            member_names(&mut conn, snap).await,
            vec!["Jürgen Müller", "İsmail Yılmaz"],
            "{name}: refreshed"
        );
        let page = repo::get(&mut conn, &me, snap).await.unwrap();
        let sizes: Vec<(i64, bool)> = page.history.iter().map(|g| (g.size, g.current)).collect();
        assert_eq!(sizes, vec![(2, true), (1, false)], "{name}");

        // Dynamic: the first sync records no entries; later ones record who entered and left.
        let page = repo::get(&mut conn, &me, munich).await.unwrap();
        assert!(page.events.is_empty(), "{name}");
        assert_eq!(page.sizes.len(), 1, "{name}");
        let mut jurgen_now = contacts::get(&mut conn, jurgen).await.unwrap().unwrap();
        jurgen_now.input.city = "Berlin".into();
        contacts::update(&mut conn, me.id, jurgen, jurgen_now.version, &jurgen_now.input).await.unwrap();
        let mut zoe_now = contacts::get(&mut conn, zoe).await.unwrap().unwrap();
        zoe_now.input.city = "MÜNCHEN".into();
        contacts::update(&mut conn, me.id, zoe, zoe_now.version, &zoe_now.input).await.unwrap();
        let page = repo::get(&mut conn, &me, munich).await.unwrap();
        let events: Vec<(String, bool)> =
            page.events.iter().map(|e| (e.contact_name.clone(), e.entered)).collect();
        assert_eq!(events.len(), 2, "{name}: {events:?}");
        assert!(
            events.contains(&("Zoë Ørsted".into(), true))
                && events.contains(&("Jürgen Müller".into(), false)),
            "{name}: {events:?}"
        );
        assert_eq!(page.members, 1, "{name}");
        // Nothing changed since: the next view records nothing more.
        repo::sync(&mut conn, munich).await.unwrap();
        assert_eq!(repo::get(&mut conn, &me, munich).await.unwrap().events.len(), 2, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn private_segments_are_their_owners_alone() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let owner = viewer(&mut conn, "eigen@example.com", false).await;
        let other = viewer(&mut conn, "andere@example.com", false).await;
        let manager = viewer(&mut conn, "verwaltung@example.com", true).await;
        people(&mut conn, owner.id).await;
        let mine = repo::save(&mut conn, &owner, &dynamic("Meine", all(vec![]))).await.unwrap();
        assert!(matches!(repo::visible(&mut conn, &other, mine).await, Err(AppError::NotFound)), "{name}");
        assert!(matches!(repo::visible(&mut conn, &manager, mine).await, Err(AppError::NotFound)), "{name}");
        assert!(repo::list(&mut conn, &other).await.unwrap().is_empty(), "{name}");
        assert!(matches!(repo::why(&mut conn, &other, mine, 1).await, Err(AppError::NotFound)), "{name}");
        // Rules cannot name a segment the author cannot see.
        let preview = repo::preview(
            &mut conn,
            &other,
            &dynamic("x", all(vec![cond("segment", "in", &[&mine.to_string()])])),
        )
        .await
        .unwrap();
        assert_eq!(preview.problems.len(), 1, "{name}");
        // Sharing takes "Manage segments"; then all staff see it, and only managers change it.
        let err = repo::save(&mut conn, &owner, &Draft { shared: true, ..dynamic("Geteilt", all(vec![])) })
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Invalid(ref e) if e.get("shared").is_some()), "{name}: {err:?}");
        let shared =
            repo::save(&mut conn, &manager, &Draft { shared: true, ..dynamic("Geteilt", all(vec![])) })
                .await
                .unwrap();
        assert_eq!(repo::get(&mut conn, &other, shared).await.unwrap().members, 6, "{name}");
        assert!(!repo::get(&mut conn, &other, shared).await.unwrap().can_edit, "{name}");
        assert!(matches!(repo::delete(&mut conn, &other, shared).await, Err(AppError::Forbidden)), "{name}");
        // A copy is private to whoever made it.
        let copy = repo::duplicate(&mut conn, &other, shared).await.unwrap();
        let copied = repo::get(&mut conn, &other, copy).await.unwrap();
        assert!(!copied.shared && copied.can_edit && copied.name == "Copy of Geteilt", "{name}");
        repo::delete(&mut conn, &manager, shared).await.unwrap();
        assert!(
            matches!(repo::visible(&mut conn, &manager, shared).await, Err(AppError::NotFound)),
            "{name}"
        );
    }
}

/// A contact of the extra-fields test: name, services, source, owner, extra values.
type Person<'a> = (&'a str, Vec<i64>, Option<i64>, Option<i64>, crate::fields::ExtraInput);

#[tokio::test(flavor = "multi_thread")]
async fn extra_fields_services_sources_owners_and_dates_match_alike_on_both_backends() {
    use crate::fields::{FieldForm, FieldKind};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "felder@example.com", true).await;
        let field = |label: &str, kind: FieldKind, options: &str| FieldForm {
            label: label.into(),
            kind: kind.key().into(),
            portal: "hidden".into(),
            options: options.into(),
            decimals: "2".into(),
            ..FieldForm::default()
        };
        crate::fields::repo::create_field(&mut conn, &field("Tarif", FieldKind::Select, "Basis\nPremium ⭐"))
            .await
            .unwrap();
        crate::fields::repo::create_field(&mut conn, &field("Umsatz", FieldKind::Decimal, "")).await.unwrap();
        crate::fields::repo::create_field(&mut conn, &field("Notiz", FieldKind::Text, "")).await.unwrap();
        crate::fields::repo::create_field(&mut conn, &field("Newsletter", FieldKind::Boolean, ""))
            .await
            .unwrap();
        let catalog = crate::fields::repo::catalog(&mut conn).await.unwrap();
        let def = |label: &str| catalog.fields.iter().find(|f| f.label == label).unwrap().clone();
        let (tarif, umsatz, notiz, news) = (def("Tarif"), def("Umsatz"), def("Notiz"), def("Newsletter"));
        let premium = tarif.options.iter().find(|o| o.label == "Premium ⭐").unwrap().id.to_string();
        let basis = tarif.options.iter().find(|o| o.label == "Basis").unwrap().id.to_string();
        let choices = contacts::choices(&mut conn).await.unwrap();
        let (svc_a, svc_b) = (choices.services[0].id, choices.services[1].id);
        let web = choices.traffic_sources[0].id;
        let extra = |pairs: &[(&crate::fields::FieldDef, &str)]| {
            pairs.iter().map(|(f, v)| (f.key.clone(), vec![(*v).to_owned()])).collect()
        };
        let rows: Vec<Person> = vec![
            (
                "Åsa",
                vec![svc_a, svc_b],
                Some(web),
                Some(me.id),
                extra(&[
                    (&tarif, &premium),
                    (&umsatz, "1250,50"),
                    (&notiz, "Grüße aus Malmö"),
                    (&news, "yes"),
                ]),
            ),
            ("Ngozi", vec![svc_a], None, None, extra(&[(&tarif, &basis), (&umsatz, "99"), (&news, "no")])),
            ("Dmitrij", vec![], Some(web), None, extra(&[])),
        ];
        for (first, services, source, owner, extra) in rows {
            let input = ContactInput {
                first_name: first.into(),
                last_name: "Test".into(),
                service_ids: services,
                traffic_source_id: source,
                owner_id: owner,
                extra,
                ..ContactInput::default()
            };
            contacts::create(&mut conn, me.id, &input).await.unwrap_or_else(|e| panic!("{first}: {e:?}"));
        }
        let f = |d: &crate::fields::FieldDef| format!("f.{}", d.key);
        let (a, b, w, o) = (svc_a.to_string(), svc_b.to_string(), web.to_string(), me.id.to_string());
        let cases: Vec<(Condition, Vec<&str>)> = vec![
            (cond(&f(&tarif), "any", &[&premium]), vec!["Åsa Test"]),
            (cond(&f(&tarif), "empty", &[]), vec!["Dmitrij Test"]),
            (cond(&f(&umsatz), "range", &["100", ""]), vec!["Åsa Test"]),
            (cond(&f(&umsatz), "range", &["", "1250.5"]), vec!["Åsa Test", "Ngozi Test"]),
            (cond(&f(&notiz), "contains", &["GRÜSSE"]), vec![]),
            (cond(&f(&notiz), "contains", &["grüße"]), vec!["Åsa Test"]),
            (cond(&f(&notiz), "not_empty", &[]), vec!["Åsa Test"]),
            (cond(&f(&news), "yes", &[]), vec!["Åsa Test"]),
            (cond(&f(&news), "no", &[]), vec!["Ngozi Test"]),
            (cond("services", "all", &[&a, &b]), vec!["Åsa Test"]),
            (cond("services", "any", &[&a]), vec!["Åsa Test", "Ngozi Test"]),
            (cond("services", "none", &[&a]), vec!["Dmitrij Test"]),
            (cond("source", "any", &[&w]), vec!["Åsa Test", "Dmitrij Test"]),
            (cond("source", "empty", &[]), vec!["Ngozi Test"]),
            (cond("owner", "any", &[&o]), vec!["Åsa Test"]),
            (cond("owner", "none", &[&o]), vec!["Ngozi Test", "Dmitrij Test"]),
            (cond("updated", "after", &["2000-01-01"]), vec!["Åsa Test", "Ngozi Test", "Dmitrij Test"]),
            (cond("updated", "within", &["2"]), vec!["Åsa Test", "Ngozi Test", "Dmitrij Test"]),
            (cond("created", "after", &["2999-12-31"]), vec![]),
        ];
        for (c, want) in cases {
            let got = matching(&mut conn, &me, all(vec![c.clone()])).await;
            assert_eq!(got, sorted(&want), "{name}: {c:?}");
        }
        // An OR group whose branches are extra fields; the explanation names the branch met.
        let rules = Group {
            any: true,
            conditions: vec![cond(&f(&news), "yes", &[]), cond("source", "empty", &[])],
            groups: Vec::new(),
        };
        assert_eq!(matching(&mut conn, &me, rules).await, sorted(&["Åsa Test", "Ngozi Test"]), "{name}");
        // Mistakes are named per condition: a range with no end, nothing picked, a bad date.
        let preview = repo::preview(
            &mut conn,
            &me,
            &dynamic(
                "x",
                all(vec![
                    cond(&f(&umsatz), "range", &["", ""]),
                    cond("services", "any", &[]),
                    cond("created", "before", &["31.12.2026"]),
                ]),
            ),
        )
        .await
        .unwrap();
        let messages: Vec<&str> = preview.problems.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "Enter at least one end of the range.",
                "Pick at least one.",
                "Enter a date like 2026-12-31."
            ],
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn not_in_keeps_empty_values_deletions_are_exits_and_shared_segments_use_only_shared_ones() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = viewer(&mut conn, "randfaelle@example.com", true).await;
        let p = people(&mut conn, me.id).await;
        let choices = contacts::choices(&mut conn).await.unwrap();
        let lead = choices.statuses.iter().find(|s| s.name == "Lead").unwrap().id;
        let mut zoe = contacts::get(&mut conn, p.id("Zoë Ørsted")).await.unwrap().unwrap();
        zoe.input.status_id = Some(lead);
        contacts::update(&mut conn, me.id, zoe.id, zoe.version, &zoe.input).await.unwrap();
        // "Not in" a segment whose rule is unknown for an empty value (no status, no email).
        let leads = repo::save(
            &mut conn,
            &me,
            &dynamic(
                "Leads",
                all(vec![
                    cond("status", "any", &[&lead.to_string()]),
                    cond("email", "is", &["x@example.com"]),
                ]),
            ),
        )
        .await
        .unwrap();
        let outside =
            matching(&mut conn, &me, all(vec![cond("segment", "not_in", &[&leads.to_string()])])).await;
        assert_eq!(outside.len(), 6, "{name}: {outside:?}");

        // Deleting a contact is an exit from the dynamic segments it was in, under its name.
        let munich =
            repo::save(&mut conn, &me, &dynamic("Umlaute", all(vec![cond("city", "contains", &["ü"])])))
                .await
                .unwrap();
        repo::get(&mut conn, &me, munich).await.unwrap();
        contacts::delete(&mut conn, p.id("Jürgen Müller")).await.unwrap();
        let page = repo::get(&mut conn, &me, munich).await.unwrap();
        let events: Vec<(String, bool)> =
            page.events.iter().map(|e| (e.contact_name.clone(), e.entered)).collect();
        assert_eq!(events, vec![("Jürgen Müller".to_owned(), false)], "{name}");

        // Portal access: a new client account moves a synced segment on.
        let portal =
            repo::save(&mut conn, &me, &dynamic("Im Portal", all(vec![cond("portal", "invited", &[])])))
                .await
                .unwrap();
        assert_eq!(repo::get(&mut conn, &me, portal).await.unwrap().members, 0, "{name}");
        let client = crate::users::fixtures::staff_with(&mut conn, "misaki.portal@example.jp", &[]).await;
        with_db!(conn, c => diesel::update(users::table.filter(users::id.eq(client.id)))
            .set((users::kind.eq("client"), users::contact_id.eq(Some(p.id("美咲 田中")))))
            .execute(c)
            .await)
        .unwrap();
        let page = repo::get(&mut conn, &me, portal).await.unwrap();
        assert_eq!((page.members, page.events.len()), (1, 1), "{name}");

        // A shared segment may not take its members from a private one, nor may that one be
        // made private while a shared one uses it.
        let private = repo::save(&mut conn, &me, &dynamic("Privat", all(vec![]))).await.unwrap();
        let err = repo::save(
            &mut conn,
            &me,
            &Draft {
                shared: true,
                ..dynamic("Geteilt", all(vec![cond("segment", "in", &[&private.to_string()])]))
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, AppError::Invalid(e) if e.get("c.0").is_some_and(|m| m.contains("only use shared"))),
            "{name}: {err:?}"
        );
        let open = repo::save(&mut conn, &me, &Draft { shared: true, ..dynamic("Offen", all(vec![])) })
            .await
            .unwrap();
        repo::save(
            &mut conn,
            &me,
            &Draft {
                shared: true,
                ..dynamic("Nutzt Offen", all(vec![cond("segment", "in", &[&open.to_string()])]))
            },
        )
        .await
        .unwrap();
        let err = repo::save(
            &mut conn,
            &me,
            &Draft { id: Some(open), version: Some(1), ..dynamic("Offen", all(vec![])) },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, AppError::Invalid(e) if e.get("shared").is_some_and(|m| m.contains("Nutzt Offen"))),
            "{name}: {err:?}"
        );
    }
}
