//! Deterministic demo data (`server seed-demo`): the same contacts, tags and assignments every
//! time, in batches, so a database of 100,000 contacts is minutes of nobody's time.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::{
    activities, contact_field_values as values, contact_services, contact_tags, contacts,
};
use crate::db::{insert_rows, with_db, DbConn, DbError};
use crate::fields::{FieldForm, FieldKind};

const FIRST: [&str; 24] = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Dorothy",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "Jean",
    "Ken",
    "Linus",
    "Margaret",
    "Niklaus",
    "Ole",
    "Radia",
    "Rosalind",
    "Sophie",
    "Tim",
    "Ursula",
    "Vint",
    "Whitfield",
    "Yukihiro",
];
const LAST: [&str; 20] = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Vaughan",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Sutherland",
    "Bartik",
    "Thompson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Dahl",
    "Perlman",
    "Franklin",
    "Wilson",
    "Berners-Lee",
];
const COMPANIES: [&str; 12] = [
    "Acme Plumbing",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Dental",
    "Stark Bakery",
    "Wayne Florists",
    "Hooli Cafe",
    "Vandelay Imports",
    "Soylent Farms",
    "Cyberdyne Repairs",
    "Tyrell Gardens",
];
const CITIES: [&str; 8] = ["Lisbon", "Leeds", "Lyon", "Leipzig", "Turin", "Tampere", "Ghent", "Cork"];
pub const DEMO_TAGS: [&str; 10] = [
    "VIP",
    "Newsletter",
    "Wholesale",
    "Referral partner",
    "Event 2026",
    "Trial",
    "Late payer",
    "Local",
    "Abroad",
    "Press",
];

/// xorshift64*: tiny, deterministic, and plenty for demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Insertable)]
#[diesel(table_name = contacts)]
struct DemoContact {
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: String,
    company: String,
    city: String,
    country: String,
    status_id: Option<i64>,
    traffic_source_id: Option<i64>,
    owner_id: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    search_text: String,
}

/// The demo's extra fields: a select, a decimal, a date and a unique text.
struct DemoFields {
    plan: i64,
    plans: Vec<i64>,
    revenue: i64,
    start: i64,
    number: i64,
}

/// One demo contact's extra values: plan option, revenue in cents, contract start (days after
/// 2017-01-01), and its number.
type DemoValues = (Option<i64>, Option<u64>, Option<i64>, i64);

/// The demo's extra fields, defined the first time.
async fn demo_fields(conn: &mut DbConn) -> Result<DemoFields, DbError> {
    let wanted = [
        ("Plan", FieldKind::Select, "Basic\nPlus\nEnterprise", false),
        ("Annual revenue", FieldKind::Decimal, "", false),
        ("Contract start", FieldKind::Date, "", false),
        ("Customer number", FieldKind::Text, "", true),
    ];
    for (label, kind, options, unique) in wanted {
        if crate::fields::repo::catalog(conn).await?.fields.iter().any(|f| f.label == label) {
            continue;
        }
        let form = FieldForm {
            label: label.into(),
            kind: kind.key().into(),
            options: options.into(),
            decimals: "2".into(),
            unit: if kind == FieldKind::Decimal { "EUR".into() } else { String::new() },
            unique: unique.then(|| "yes".into()),
            searchable: unique.then(|| "yes".into()),
            portal: "hidden".into(),
            ..FieldForm::default()
        };
        crate::fields::repo::create_field(conn, &form)
            .await
            .map_err(|e| DbError::Migration(format!("demo field {label}: {e}")))?;
    }
    let catalog = crate::fields::repo::catalog(conn).await?;
    let id = |label: &str| catalog.fields.iter().find(|f| f.label == label).map(|f| f.id).unwrap_or(0);
    let plans = catalog
        .fields
        .iter()
        .find(|f| f.label == "Plan")
        .map(|f| f.options.iter().map(|o| o.id).collect())
        .unwrap_or_default();
    Ok(DemoFields {
        plan: id("Plan"),
        plans,
        revenue: id("Annual revenue"),
        start: id("Contract start"),
        number: id("Customer number"),
    })
}

/// Adds `count` demo contacts (after those already there) and returns how many were added.
pub async fn seed(conn: &mut DbConn, count: usize) -> Result<usize, DbError> {
    let fields = demo_fields(conn).await?;
    let choices = super::repo::choices(conn).await?;
    let mut tag_ids = Vec::new();
    for name in DEMO_TAGS {
        tag_ids.push(
            conn.write_tx(async |c: &mut DbConn| super::repo::find_or_create_tag(c, name).await).await?,
        );
    }
    let start: i64 = with_db!(conn, c => contacts::table.count().get_result(c).await)?;
    let ids = |list: &[super::Choice]| list.iter().map(|c| c.id).collect::<Vec<_>>();
    let (statuses, sources, services, owners) =
        (ids(&choices.statuses), ids(&choices.traffic_sources), ids(&choices.services), ids(&choices.owners));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let base = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default().naive_utc();
    const BATCH: usize = 500;
    let mut added = 0;
    while added < count {
        let size = BATCH.min(count - added);
        let mut batch = Vec::with_capacity(size);
        for k in 0..size {
            let n = start + (added + k) as i64;
            let (first, last) = (*rng.pick(&FIRST), *rng.pick(&LAST));
            let email = format!("{}.{}.{n}@demo.example", first.to_lowercase(), last.to_lowercase());
            let phone = format!("+44 20 {:04} {:04}", rng.next() % 10_000, rng.next() % 10_000);
            let company = if rng.chance(70) { rng.pick(&COMPANIES).to_string() } else { String::new() };
            let at = base + chrono::Duration::minutes((n * 7) % 500_000);
            batch.push(DemoContact {
                search_text: format!(
                    "{} {} {email} {phone} {} c-{n:07}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    company.to_lowercase()
                ),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                email: Some(email),
                phone,
                company,
                city: rng.pick(&CITIES).to_string(),
                country: "United Kingdom".to_owned(),
                status_id: (!statuses.is_empty()).then(|| *rng.pick(&statuses)),
                traffic_source_id: (!sources.is_empty() && rng.chance(80)).then(|| *rng.pick(&sources)),
                owner_id: (!owners.is_empty() && rng.chance(60)).then(|| *rng.pick(&owners)),
                created_at: at,
                updated_at: at,
            });
        }
        let emails: Vec<String> = batch.iter().filter_map(|c| c.email.clone()).collect();
        let mut links: HashMap<String, (Vec<i64>, Vec<i64>)> = HashMap::new();
        // Extra values per email: plan option, revenue in cents, contract start day, number.
        let mut extra: HashMap<String, DemoValues> = HashMap::new();
        for (k, email) in emails.iter().enumerate() {
            let n = start + (added + k) as i64;
            let plan = (!fields.plans.is_empty() && rng.chance(85)).then(|| *rng.pick(&fields.plans));
            let revenue = rng.chance(70).then(|| rng.next() % 1_000_000_000);
            let day = rng.chance(60).then(|| (rng.next() % 3_650) as i64);
            extra.insert(email.clone(), (plan, revenue, day, n));
        }
        // About a third had a call in the last 60 days (counted back from today, so that a
        // segment's "a call in the last 30 days" finds some whenever the demo is seeded).
        let now = crate::clock::now();
        let mut calls: HashMap<String, NaiveDateTime> = HashMap::new();
        for email in &emails {
            if rng.chance(33) {
                calls.insert(
                    email.clone(),
                    now - chrono::Duration::minutes((rng.next() % (60 * 24 * 60)) as i64),
                );
            }
        }
        for email in &emails {
            let tags_for: Vec<i64> = (0..rng.next() % 3).map(|_| *rng.pick(&tag_ids)).collect();
            let services_for: Vec<i64> = if services.is_empty() {
                Vec::new()
            } else {
                (0..rng.next() % 3).map(|_| *rng.pick(&services)).collect()
            };
            links.insert(email.clone(), (tags_for, services_for));
        }
        conn.contacts_tx(async |c: &mut DbConn| {
            insert_rows!(c, contacts::table, &batch)?;
            let inserted: Vec<(i64, Option<String>)> = with_db!(c, c => contacts::table
                .filter(contacts::email.eq_any(&emails))
                .select((contacts::id, contacts::email))
                .load(c)
                .await)?;
            let mut tag_rows = Vec::new();
            let mut service_rows = Vec::new();
            let mut value_rows = Vec::new();
            let mut call_rows = Vec::new();
            let day_one = chrono::NaiveDate::from_ymd_opt(2017, 1, 1).unwrap_or_default();
            for (id, email) in inserted {
                if let Some((plan, revenue, day, n)) = email.as_ref().and_then(|e| extra.get(e)) {
                    let mut row = |field: i64,
                                   value: String,
                                   number: Option<f64>,
                                   option: Option<i64>,
                                   unique: bool| {
                        let key = value.to_lowercase();
                        value_rows.push((
                            values::contact_id.eq(id),
                            values::field_id.eq(field),
                            values::position.eq(0),
                            values::value.eq(value),
                            values::value_key.eq(key.clone()),
                            values::value_number.eq(number),
                            values::option_id.eq(option),
                            values::unique_key.eq(unique.then_some(key)),
                        ));
                    };
                    if let Some(plan) = plan {
                        row(fields.plan, plan.to_string(), None, Some(*plan), false);
                    }
                    if let Some(cents) = revenue {
                        let value = format!("{}.{:02}", cents / 100, cents % 100);
                        let number = value.parse().ok();
                        row(fields.revenue, value, number, None, false);
                    }
                    if let Some(day) = day {
                        let date = (day_one + chrono::Duration::days(*day)).format("%Y-%m-%d").to_string();
                        row(fields.start, date, None, None, false);
                    }
                    row(fields.number, format!("C-{n:07}"), None, None, true);
                }
                if let Some(at) = email.as_ref().and_then(|e| calls.get(e)) {
                    call_rows.push((
                        activities::contact_id.eq(id),
                        activities::kind.eq("call"),
                        activities::subject.eq("Demo call"),
                        activities::happened_at.eq(*at),
                        activities::author_name.eq("Demo"),
                        activities::created_at.eq(*at),
                    ));
                }
                let Some((t, s)) = email.and_then(|e| links.get(&e)) else { continue };
                let mut t = t.clone();
                t.sort_unstable();
                t.dedup();
                let mut s = s.clone();
                s.sort_unstable();
                s.dedup();
                tag_rows.extend(
                    t.into_iter().map(|tag| (contact_tags::contact_id.eq(id), contact_tags::tag_id.eq(tag))),
                );
                service_rows.extend(
                    s.into_iter().map(|svc| {
                        (contact_services::contact_id.eq(id), contact_services::service_id.eq(svc))
                    }),
                );
            }
            insert_rows!(c, contact_tags::table, &tag_rows)?;
            insert_rows!(c, contact_services::table, &service_rows)?;
            insert_rows!(c, values::table, &value_rows)?;
            insert_rows!(c, activities::table, &call_rows)?;
            Ok::<_, DbError>(())
        })
        .await?;
        added += size;
    }
    conn.analyze_after_load(&[
        "contacts",
        "contact_tags",
        "contact_services",
        "contact_field_values",
        "activities",
    ])
    .await?;
    crate::segments::repo::seed_demo(conn)
        .await
        .map_err(|e| DbError::Migration(format!("demo segments: {e}")))?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactQuery;
    use crate::db::testing::each_backend;

    #[tokio::test(flavor = "multi_thread")]
    async fn demo_data_is_deterministic_and_searchable() {
        let mut first_names = Vec::new();
        for db in each_backend().await {
            let name = db.backend().name();
            let mut conn = db.pool.get().await.unwrap();
            assert_eq!(seed(&mut conn, 1200).await.unwrap(), 1200, "{name}");
            assert_eq!(seed(&mut conn, 30).await.unwrap(), 30, "{name}: seeding again adds more");
            let page = crate::contacts::repo::list(
                &mut conn,
                &ContactQuery { sort: crate::contacts::SortKey::Updated, ..Default::default() },
            )
            .await
            .unwrap();
            assert_eq!(page.total, 1230, "{name}");
            first_names.push(page.rows[0].name.clone());
            let tagged = crate::contacts::repo::list(
                &mut conn,
                &ContactQuery { search: "@demo.example".into(), ..Default::default() },
            )
            .await
            .unwrap();
            assert_eq!(tagged.total, 1230, "{name}");
            let vip = crate::contacts::repo::choices(&mut conn)
                .await
                .unwrap()
                .tags
                .into_iter()
                .find(|t| t.name == "VIP")
                .unwrap();
            let with_vip = crate::contacts::repo::list(
                &mut conn,
                &ContactQuery { tag_id: Some(vip.id), ..Default::default() },
            )
            .await
            .unwrap();
            assert!(with_vip.total > 100 && with_vip.total < 400, "{name}: {}", with_vip.total);
            // The demo's segments, made once however often it is seeded.
            let viewer = crate::segments::repo::Viewer { id: 0, name: String::new(), manage: true };
            let segments = crate::segments::repo::list(&mut conn, &viewer).await.unwrap();
            let sizes: Vec<i64> = segments.iter().map(|s| s.members).collect();
            assert_eq!(segments.len(), 3, "{name}: {sizes:?}");
            assert!(sizes.iter().all(|n| *n > 0), "{name}: every demo segment has members: {sizes:?}");
        }
        first_names.dedup();
        assert_eq!(first_names.len(), 1, "the same data on every backend: {first_names:?}");
    }
}
