//! Repository tests of extra fields, on both backends: definitions, values of every type, rules,
//! the list's filters and sorts, option changes, type changes and deletion.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::repo::*;
use super::{FieldForm, FieldKind};
use crate::contacts::repo as contacts;
use crate::contacts::{ContactInput, ContactQuery, SortKey};
use crate::db::testing::each_backend;
use crate::db::{with_db, DbConn};
use crate::error::AppError;
use crate::fields::FieldFilter;

fn form(label: &str, kind: FieldKind) -> FieldForm {
    FieldForm {
        label: label.into(),
        kind: kind.key().into(),
        portal: "hidden".into(),
        ..FieldForm::default()
    }
}

async fn define(conn: &mut DbConn, form: FieldForm) -> (i64, String) {
    let id = create_field(conn, &form).await.unwrap_or_else(|e| panic!("{}: {e:?}", form.label));
    let key = catalog(conn).await.unwrap().fields.into_iter().find(|f| f.id == id).unwrap().key;
    (id, key)
}

fn person(first: &str, last: &str, extra: &[(&str, &[&str])]) -> ContactInput {
    ContactInput {
        first_name: first.into(),
        last_name: last.into(),
        extra: extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect(),
        ..Default::default()
    }
}

async fn staff(conn: &mut DbConn) -> i64 {
    crate::users::fixtures::staff_with(conn, "fields@example.com", &[]).await.id
}

async fn names(conn: &mut DbConn, query: &ContactQuery) -> Vec<String> {
    contacts::list(conn, query).await.unwrap().rows.into_iter().map(|r| r.name).collect()
}

fn filter(key: &str, op: &str, values: &[&str]) -> FieldFilter {
    FieldFilter { key: key.into(), op: op.into(), values: values.iter().map(|v| (*v).to_owned()).collect() }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_type_round_trips_as_typed() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let billing = create_section(&mut conn, "Facturación").await.unwrap();
        let mut amount = form("Jahresumsatz", FieldKind::Decimal);
        amount.decimals = "2".into();
        amount.unit = "EUR".into();
        amount.section_id = billing.to_string();
        let (_, amount) = define(&mut conn, amount).await;
        let (_, seats) = define(&mut conn, form("Plätze", FieldKind::Integer)).await;
        let (_, since) = define(&mut conn, form("Kunde seit", FieldKind::Date)).await;
        let (_, call) = define(&mut conn, form("Rückruf", FieldKind::DateTime)).await;
        let (_, vip) = define(&mut conn, form("VIP", FieldKind::Boolean)).await;
        let mut colours = form("Farben", FieldKind::MultiSelect);
        colours.options = "Grün\nRot\nBlau 🔵".into();
        let (colours_id, colours) = define(&mut conn, colours).await;
        let (_, bio) = define(&mut conn, form("Über", FieldKind::LongText)).await;
        let (_, site) = define(&mut conn, form("Shop", FieldKind::Url)).await;
        let (_, fax) = define(&mut conn, form("Fax", FieldKind::Phone)).await;
        let (_, billing_email) = define(&mut conn, form("Rechnungs-E-Mail", FieldKind::Email)).await;
        assert_eq!(amount, "jahresumsatz", "{name}");
        assert_eq!(seats, "platze", "{name}: keys are ASCII");
        let options = catalog(&mut conn)
            .await
            .unwrap()
            .fields
            .into_iter()
            .find(|f| f.id == colours_id)
            .unwrap()
            .options;
        let (green, blue) = (options[0].id.to_string(), options[2].id.to_string());

        let input = person(
            "Jürgen",
            "Groß",
            &[
                (&amount, &["1.234,5"]),
                (&seats, &["12"]),
                (&since, &["2026-03-29"]),
                (&call, &["2026-12-01T09:30"]),
                (&vip, &["yes"]),
                (&colours, &["", blue.as_str(), green.as_str()]),
                (&bio, &["Zwei\nZeilen ✨"]),
                (&site, &["example.de"]),
                (&fax, &["+49 30 1234567"]),
                (&billing_email, &["Rechnung@Example.de"]),
            ],
        );
        let id = contacts::create(&mut conn, me, &input).await.unwrap();
        let c = contacts::get(&mut conn, id).await.unwrap().unwrap();
        let value = |key: &str| c.input.extra.get(key).cloned().unwrap_or_default();
        assert_eq!(value(&amount), ["1234.50"], "{name}: a decimal is text, never a float");
        assert_eq!(value(&since), ["2026-03-29"], "{name}: no time zone shift");
        assert_eq!(value(&call), ["2026-12-01T09:30"], "{name}");
        assert_eq!(value(&colours), [blue.clone(), green.clone()], "{name}: the order picked");
        assert_eq!(value(&bio), ["Zwei\nZeilen ✨"], "{name}");
        let shown = |key: &str| c.extra_shown.get(key).cloned().unwrap_or_default();
        assert_eq!(shown(&amount), "1234.50 EUR", "{name}");
        assert_eq!(shown(&vip), "Yes", "{name}");
        assert_eq!(shown(&colours), "Blau 🔵, Grün", "{name}");
        assert_eq!(shown(&billing_email), "Rechnung@Example.de", "{name}");

        // Editing with the values the form shows keeps them exactly.
        let mut again = c.input.clone();
        again.first_name = "Jürgen W.".into();
        contacts::update(&mut conn, me, id, c.version, &again).await.unwrap();
        let c2 = contacts::get(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(c2.input.extra, c.input.extra, "{name}: nothing drifts through an edit");

        // Bad values are refused next to their field, and nothing is stored.
        let bad =
            person("X", "Y", &[(&amount, &["12.3456"]), (&since, &["31.12.2026"]), (&seats, &["zwölf"])]);
        let AppError::Invalid(errors) = contacts::create(&mut conn, me, &bad).await.unwrap_err() else {
            panic!("{name}: expected field errors")
        };
        assert_eq!(errors.get(&format!("extra.{amount}")), Some("Use at most 2 decimals."), "{name}");
        assert!(errors.get(&format!("extra.{since}")).is_some(), "{name}");
        assert!(errors.get(&format!("extra.{seats}")).is_some(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn required_and_unique_values_are_enforced_even_between_two_saves_at_once() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let mut number = form("Kundennummer", FieldKind::Text);
        number.unique = Some("yes".into());
        number.required = Some("yes".into());
        let (_, number) = define(&mut conn, number).await;
        let missing = contacts::create(&mut conn, me, &person("Ana", "Ñúñez", &[])).await.unwrap_err();
        assert_eq!(
            missing.field(&format!("extra.{number}")).as_deref(),
            Some("Enter Kundennummer."),
            "{name}"
        );
        contacts::create(&mut conn, me, &person("Ana", "Ñúñez", &[(&number, &["ÄB-1"])])).await.unwrap();
        let clash = contacts::create(&mut conn, me, &person("Bo", "Öberg", &[(&number, &["äb-1"])]))
            .await
            .unwrap_err();
        assert_eq!(
            clash.field(&format!("extra.{number}")).as_deref(),
            Some("Ana Ñúñez already has this Kundennummer."),
            "{name}: compared case-insensitively, beyond ASCII"
        );

        // Two saves of the same new value at the same moment: one wins, the other is told.
        let (mut a, mut b) = (db.pool.get().await.unwrap(), db.pool.get().await.unwrap());
        let (chloe, zoe) =
            (person("Chloé", "One", &[(&number, &["Z-9"])]), person("Zoë", "Two", &[(&number, &["z-9"])]));
        let (first, second) =
            tokio::join!(contacts::create(&mut a, me, &chloe), contacts::create(&mut b, me, &zoe));
        let outcomes = [first.is_ok(), second.is_ok()];
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{name}: {first:?} {second:?}");
        let loser = first.err().or(second.err()).unwrap();
        assert!(loser.field(&format!("extra.{number}")).is_some(), "{name}: {loser:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_filters_and_sorts_by_extra_fields_with_empty_values_last() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let mut plan = form("Tarif", FieldKind::Select);
        plan.options = "Basis\nPremium".into();
        let (plan_id, plan) = define(&mut conn, plan).await;
        let options =
            catalog(&mut conn).await.unwrap().fields.into_iter().find(|f| f.id == plan_id).unwrap().options;
        let (basis, premium) = (options[0].id.to_string(), options[1].id.to_string());
        let mut amount = form("Umsatz", FieldKind::Decimal);
        amount.decimals = "2".into();
        let (_, amount) = define(&mut conn, amount).await;
        let mut branch = form("Branche", FieldKind::Text);
        branch.searchable = Some("yes".into());
        let (_, branch) = define(&mut conn, branch).await;
        for (first, p, a, b) in [
            ("Ärzte", basis.as_str(), "10.50", "Ärzte & Kliniken"),
            ("Zahnärzte", premium.as_str(), "9.75", "ZAHNÄRZTE"),
            ("École", premium.as_str(), "", "École privée"),
            ("東京", "", "100", ""),
        ] {
            let input = person(first, "Test", &[(&plan, &[p]), (&amount, &[a]), (&branch, &[b])]);
            contacts::create(&mut conn, me, &input).await.unwrap();
        }
        let by = |fields: Vec<FieldFilter>, sort: SortKey, descending: bool| ContactQuery {
            fields,
            sort,
            descending,
            ..Default::default()
        };
        assert_eq!(
            names(
                &mut conn,
                &by(vec![filter(&plan, "value", &[premium.as_str()])], SortKey::Field(amount.clone()), false)
            )
            .await,
            ["Zahnärzte Test", "École Test"],
            "{name}: premium, by amount, empty last"
        );
        assert_eq!(
            names(&mut conn, &by(vec![], SortKey::Field(amount.clone()), true)).await,
            ["東京 Test", "Ärzte Test", "Zahnärzte Test", "École Test"],
            "{name}: descending, empty still last"
        );
        assert_eq!(
            names(&mut conn, &by(vec![filter(&amount, "range", &["9,80", ""])], SortKey::Name, false))
                .await
                .len(),
            2,
            "{name}: from 9.80 up"
        );
        assert_eq!(
            names(
                &mut conn,
                &by(vec![filter(&branch, "contains", &["ärzte"])], SortKey::Field(branch.clone()), false)
            )
            .await,
            ["Zahnärzte Test", "Ärzte Test"],
            "{name}: contains folds beyond ASCII; sorted alike on both backends (by code point)"
        );
        assert_eq!(
            names(&mut conn, &by(vec![filter(&plan, "empty", &[])], SortKey::Name, false)).await,
            ["東京 Test"],
            "{name}"
        );
        assert_eq!(
            names(&mut conn, &by(vec![filter(&branch, "is", &["école PRIVÉE"])], SortKey::Name, false)).await,
            ["École Test"],
            "{name}"
        );
        let search = ContactQuery { search: "kliniken".into(), ..Default::default() };
        assert_eq!(names(&mut conn, &search).await, ["Ärzte Test"], "{name}: searchable fields are searched");
        // Not searchable any more: the search text is rewritten.
        let def = catalog(&mut conn).await.unwrap().field(&branch).cloned().unwrap();
        update_field(&mut conn, def.id, &FieldForm { searchable: None, ..FieldForm::from_def(&def) })
            .await
            .unwrap();
        assert!(names(&mut conn, &search).await.is_empty(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retired_options_stay_on_contacts_and_renames_rewrite_nothing() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let mut size = form("Größe", FieldKind::Select);
        size.options = "Klein\nGroß".into();
        let (size_id, size) = define(&mut conn, size).await;
        let options =
            catalog(&mut conn).await.unwrap().fields.into_iter().find(|f| f.id == size_id).unwrap().options;
        let small = options[0].id;
        let id =
            contacts::create(&mut conn, me, &person("Ada", "A", &[(&size, &[small.to_string().as_str()])]))
                .await
                .unwrap();
        retire_option(&mut conn, small, true).await.unwrap();
        update_option(&mut conn, small, "Winzig", "#16a34a").await.unwrap();
        let c = contacts::get(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(c.extra_shown.get(&size).map(String::as_str), Some("Winzig (retired)"), "{name}");
        // The contact keeps it through an edit; a new contact cannot pick it.
        contacts::update(&mut conn, me, id, c.version, &c.input).await.unwrap();
        let refused =
            contacts::create(&mut conn, me, &person("Bo", "B", &[(&size, &[small.to_string().as_str()])]))
                .await
                .unwrap_err();
        assert!(refused.field(&format!("extra.{size}")).unwrap().contains("retired"), "{name}");
        let stored: Vec<String> = with_db!(conn, c => crate::db::schema::contact_field_values::table
            .select(crate::db::schema::contact_field_values::value)
            .load(c)
            .await)
        .unwrap();
        assert_eq!(stored, [small.to_string()], "{name}: the stored value is the option, not its label");
        let dup = update_option(&mut conn, options[1].id, "WINZIG", "#000000").await.unwrap_err();
        assert!(dup.field("option_label").is_some(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_type_change_is_previewed_and_refused_while_values_do_not_fit() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let mut price = form("Preis", FieldKind::Decimal);
        price.decimals = "2".into();
        let (price_id, price) = define(&mut conn, price).await;
        let fits =
            contacts::create(&mut conn, me, &person("Ein", "Euro", &[(&price, &["1"])])).await.unwrap();
        let odd =
            contacts::create(&mut conn, me, &person("Zwei", "Cent", &[(&price, &["0.02"])])).await.unwrap();
        let preview = preview_type_change(&mut conn, price_id, "integer", "").await.unwrap();
        assert_eq!((preview.holding, preview.converting), (2, 1), "{name}");
        assert_eq!(preview.failing[0].0, odd, "{name}");
        assert_eq!(preview.failing[0].1, "Zwei Cent", "{name}");
        assert!(
            change_type(&mut conn, price_id, "integer", "").await.unwrap_err().field("kind").is_some(),
            "{name}"
        );
        let bool_field = define(&mut conn, form("Aktiv", FieldKind::Boolean)).await.0;
        let refused = preview_type_change(&mut conn, bool_field, "text", "").await.unwrap_err();
        assert!(refused.field("kind").unwrap().contains("cannot change"), "{name}");
        // More decimals always fit; then the odd value goes and the change goes through.
        change_type(&mut conn, price_id, "decimal", "3").await.unwrap();
        let c = contacts::get(&mut conn, odd).await.unwrap().unwrap();
        assert_eq!(c.input.extra.get(&price).unwrap(), &["0.020"], "{name}");
        let mut cleared = c.input.clone();
        cleared.extra.insert(price.clone(), vec![String::new()]);
        contacts::update(&mut conn, me, odd, c.version, &cleared).await.unwrap();
        change_type(&mut conn, price_id, "integer", "").await.unwrap();
        let c = contacts::get(&mut conn, fits).await.unwrap().unwrap();
        assert_eq!(c.input.extra.get(&price).unwrap(), &["1"], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_field_removes_its_values_and_the_history_keeps_them() {
    use crate::db::schema::activities;
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let (field_id, hobby) = define(&mut conn, form("Hobby", FieldKind::Text)).await;
        let id = contacts::create(&mut conn, me, &person("Mía", "Ö", &[(&hobby, &["Klettern 🧗"])]))
            .await
            .unwrap();
        let c = contacts::get(&mut conn, id).await.unwrap().unwrap();
        let mut edited = c.input.clone();
        edited.extra.insert(hobby.clone(), vec!["Segeln ⛵".into()]);
        contacts::update(&mut conn, me, id, c.version, &edited).await.unwrap();
        assert_eq!(holding(&mut conn, field_id).await.unwrap(), 1, "{name}");
        assert_eq!(delete_field(&mut conn, field_id).await.unwrap(), 1, "{name}");
        assert!(catalog(&mut conn).await.unwrap().fields.is_empty(), "{name}");
        assert!(contacts::get(&mut conn, id).await.unwrap().unwrap().input.extra.is_empty(), "{name}");
        let changes: Vec<Option<String>> = with_db!(conn, c => activities::table
            .filter(activities::contact_id.eq(id))
            .select(activities::changes)
            .load(c)
            .await)
        .unwrap();
        let history = changes.into_iter().flatten().collect::<Vec<_>>().join(" ");
        assert!(
            history.contains("Hobby") && history.contains("Klettern 🧗") && history.contains("Segeln ⛵"),
            "{name}: {history}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn turning_unique_on_is_refused_while_contacts_share_a_value() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let (field_id, vat) = define(&mut conn, form("USt-IdNr", FieldKind::Text)).await;
        for first in ["Élodie", "Søren"] {
            contacts::create(&mut conn, me, &person(first, "Dup", &[(&vat, &["DE123"])])).await.unwrap();
        }
        let def = catalog(&mut conn).await.unwrap().field(&vat).cloned().unwrap();
        let unique = FieldForm { unique: Some("yes".into()), ..FieldForm::from_def(&def) };
        let refused = update_field(&mut conn, field_id, &unique).await.unwrap_err();
        let message = refused.field("unique").unwrap();
        assert!(message.contains("Élodie Dup") && message.contains("Søren Dup"), "{name}: {message}");
        // Bulk-setting a different value on one of them clears the way.
        let ids: Vec<i64> = contacts::list(&mut conn, &ContactQuery::default())
            .await
            .unwrap()
            .rows
            .iter()
            .map(|r| r.id)
            .collect();
        contacts::bulk_change(
            &mut conn,
            me,
            &ids[..1],
            &contacts::BulkChange::SetField(vat.clone(), "DE999".into()),
        )
        .await
        .unwrap();
        update_field(&mut conn, field_id, &unique).await.unwrap();
        let refused = contacts::bulk_change(
            &mut conn,
            me,
            &ids,
            &contacts::BulkChange::SetField(vat.clone(), "DE1".into()),
        )
        .await
        .unwrap_err();
        assert!(refused.field("value").is_some(), "{name}: one unique value for two contacts");
    }
}

/// The definitions are kept in memory, and several app servers share one database: a change any
/// of them (or a person at the SQL prompt) commits to a field, an option or a section is seen on
/// the next read. A transaction that read its own uncommitted change and was rolled back leaves
/// nothing behind that a later change could be mistaken for.
#[tokio::test(flavor = "multi_thread")]
async fn kept_definitions_follow_every_change_made_anywhere() {
    use crate::db::schema::{contact_fields, field_options, field_sections};
    let label_of = async |conn: &mut DbConn, id: i64| {
        catalog(conn).await.unwrap().fields.into_iter().find(|f| f.id == id).unwrap().label
    };
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let (id, _) = define(&mut conn, form("Größe", FieldKind::Text)).await;
        assert_eq!(label_of(&mut conn, id).await, "Größe", "{name}");

        // Another server renames the field, adds an option and a section, straight in SQL.
        with_db!(&mut conn, c => diesel::update(contact_fields::table.find(id))
            .set(contact_fields::label.eq("Umfang 📏"))
            .execute(c)
            .await)
        .unwrap();
        assert_eq!(label_of(&mut conn, id).await, "Umfang 📏", "{name}: a rename elsewhere");
        with_db!(&mut conn, c => diesel::insert_into(field_options::table)
            .values((
                field_options::field_id.eq(id),
                field_options::label.eq("Groß"),
                field_options::label_key.eq("groß"),
                field_options::color.eq("#336699"),
                field_options::position.eq(0),
            ))
            .execute(c)
            .await)
        .unwrap();
        let options =
            catalog(&mut conn).await.unwrap().fields.into_iter().find(|f| f.id == id).unwrap().options;
        assert_eq!(options.len(), 1, "{name}: an option added elsewhere");
        with_db!(&mut conn, c => diesel::insert_into(field_sections::table)
            .values((field_sections::name.eq("Доставка"), field_sections::name_key.eq("доставка"), field_sections::position.eq(0)))
            .execute(c)
            .await)
        .unwrap();
        let sections: Vec<String> =
            catalog(&mut conn).await.unwrap().sections.into_iter().map(|s| s.name).collect();
        assert_eq!(sections, ["Доставка"], "{name}: a section added elsewhere");

        // A transaction reads its own rename, then rolls back; the next committed change moves
        // the counter to the number that transaction had seen.
        let rolled_back: Result<(), diesel::result::Error> = conn
            .write_tx(async |c: &mut DbConn| {
                with_db!(c, c => diesel::update(contact_fields::table.find(id))
                    .set(contact_fields::label.eq("Never saved"))
                    .execute(c)
                    .await)?;
                assert_eq!(label_of(c, id).await, "Never saved");
                Err(diesel::result::Error::RollbackTransaction)
            })
            .await;
        assert!(rolled_back.is_err());
        with_db!(&mut conn, c => diesel::update(contact_fields::table.find(id))
            .set(contact_fields::label.eq("Breite"))
            .execute(c)
            .await)
        .unwrap();
        assert_eq!(label_of(&mut conn, id).await, "Breite", "{name}: after a rolled-back read");
    }
}

/// Turning "unique" on writes its keys a batch at a time after the setting is saved. A run cut
/// short (the person closed the tab, the server stopped) must not let duplicates in: the save's
/// check compares the values themselves, and the next save of the field's settings completes
/// the keys.
#[tokio::test(flavor = "multi_thread")]
async fn a_unique_field_whose_keys_were_cut_short_still_refuses_duplicates_and_is_completed() {
    use crate::db::schema::{contact_field_values, contact_fields};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let me = staff(&mut conn).await;
        let (field_id, number) = define(&mut conn, form("Kundennummer", FieldKind::Text)).await;
        contacts::create(&mut conn, me, &person("Zoë", "Ünal", &[(&number, &["K-Ω1"])])).await.unwrap();
        // The setting saved, its keys never written: what an interrupted run leaves.
        with_db!(&mut conn, c => diesel::update(contact_fields::table.find(field_id))
            .set(contact_fields::is_unique.eq(true))
            .execute(c)
            .await)
        .unwrap();
        let refused = contacts::create(&mut conn, me, &person("Ōta", "Ken", &[(&number, &["k-ω1"])]))
            .await
            .unwrap_err();
        let message = refused.field(&format!("extra.{number}")).unwrap();
        assert!(message.contains("Zoë Ünal"), "{name}: {message}");

        let def = catalog(&mut conn).await.unwrap().field(&number).cloned().unwrap();
        let renamed = FieldForm { label: "Kundennr.".into(), ..FieldForm::from_def(&def) };
        update_field(&mut conn, field_id, &renamed).await.unwrap();
        let keys: Vec<Option<String>> = with_db!(&mut conn, c => contact_field_values::table
            .filter(contact_field_values::field_id.eq(field_id))
            .select(contact_field_values::unique_key)
            .load(c)
            .await)
        .unwrap();
        assert_eq!(keys, [Some("k-ω1".to_owned())], "{name}: the next save wrote the missing key");
    }
}
