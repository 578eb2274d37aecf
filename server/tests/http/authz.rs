//! The authorization matrix: every server function and the CSV export, called by each kind of
//! caller, each expecting one exact status. The function's own check is what is tested for staff
//! without the permission: they pass the /api/staff guard and must still be refused.
//!
//! A server function without a row fails `every_server_function_has_a_row`.

use std::collections::{BTreeSet, HashMap};

use app::accounts::Permission;
use app::accounts::UserKind;
use app::contacts::ContactInput;
use app::db::testing;
use app::users::repo::Actor;

use crate::support::{TestApp, PASSWORD};

/// The callers, in the order of every row's expected statuses.
const CALLERS: [&str; 5] = ["anonymous", "client", "staff without the permission", "staff with it", "admin"];

/// A function behind a permission check.
const GUARDED: [u16; 5] = [401, 403, 403, 200, 200];
/// A function any signed-in staff member may call.
const ANY_STAFF: [u16; 5] = [401, 403, 200, 200, 200];
/// An administrator's function: no permission a staff member holds is enough.
const ADMIN_ONLY: [u16; 5] = [401, 403, 403, 403, 200];
/// A portal function: clients only.
const CLIENTS: [u16; 5] = [401, 200, 403, 403, 403];
/// A public function.
const ANYONE: [u16; 5] = [200; 5];

/// A strong passphrase for the functions that set one.
const NEW_PASSWORD: &str = "Zwölf Boxkämpfer jagen Viktor quer über den Sylter Deich";

/// The add-contact form as `save_contact` takes it: one `ContactInput` argument (`input[…]`).
const CONTACT_FORM: &[(&str, &str)] = &[
    ("input[first_name]", "Zoë"),
    ("input[last_name]", "Ørsted"),
    ("input[phone]", "+45 33 12 34 56"),
    ("input[company]", "Ørsted & Søn"),
    ("input[job_title]", "Indehaver"),
    ("input[street]", "Nørregade 7"),
    ("input[city]", "København"),
    ("input[postal_code]", "1165"),
    ("input[country]", "Danmark"),
    ("input[website]", ""),
    ("input[notes]", "Ringer helst om formiddagen ☕"),
];
/// The email field of [`CONTACT_FORM`], filled per call: two contacts cannot share an address.
const CONTACT_EMAIL_FIELD: &str = "input[email]";
/// The edit form adds these to [`CONTACT_FORM`]: the contact and the version it was opened at.
const CONTACT_EDIT_FIELDS: [&str; 2] = ["id", "version"];

/// Who may call: what "staff without the permission" lacks and "staff with it" holds.
#[derive(Clone, Copy)]
enum Needs {
    /// Public: the staff callers hold no permission / every permission.
    Nothing,
    /// Any signed-in staff member: the staff callers hold no permission / every permission.
    Staff,
    /// A signed-in client: the staff callers hold no permission / every permission.
    Client,
    /// An administrator: the staff callers hold no permission / every permission, and neither is
    /// enough.
    Admin,
    /// Staff holding all of these. "Without" is tried once per permission, with every other
    /// permission held; "with" holds exactly these.
    All(&'static [Permission]),
}

type Form = Vec<(&'static str, String)>;

/// One server function (or page handler), the form it is sent, and the status each caller gets.
struct Row {
    path: &'static str,
    needs: Needs,
    expect: [u16; 5],
    /// The arguments, for the fixture and the caller's index (rows that consume what they change
    /// use a target of the caller's own).
    body: fn(&Fixture, usize) -> Form,
    /// Signs in anew for the call (with an account like the caller's): the call ends or replaces
    /// its session.
    fresh: bool,
    /// A GET handler with the form as its query, not a server function.
    get: bool,
}

fn row(path: &'static str, needs: Needs, expect: [u16; 5], body: fn(&Fixture, usize) -> Form) -> Row {
    Row { path, needs, expect, body, fresh: false, get: false }
}

impl Row {
    fn fresh(self) -> Self {
        Row { fresh: true, ..self }
    }

    fn get(self) -> Self {
        Row { get: true, ..self }
    }
}

fn confirmed(id: i64) -> Form {
    vec![("id", id.to_string()), ("confirm", "yes".into())]
}

/// The add-contact form with an email of its own.
fn contact_form(email: String) -> Form {
    let mut form: Form = CONTACT_FORM.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    form.push((CONTACT_EMAIL_FIELD, email));
    form
}

fn contact_edit(f: &Fixture, slot: usize) -> Form {
    let mut form = contact_form(format!("zoe.bearbeitet{slot}@example.dk"));
    form.push((CONTACT_EDIT_FIELDS[0], f.edited[slot].to_string()));
    form.push((CONTACT_EDIT_FIELDS[1], "1".into()));
    form
}

/// The matrix. Rows run in this order, so a row may rely on an earlier one (revoke after invite).
fn table() -> Vec<Row> {
    use Permission::*;
    vec![
        // Contacts and tags.
        row("/api/staff/contact_choices", Needs::All(&[ContactsView]), GUARDED, |_, _| vec![]),
        row("/api/staff/contacts", Needs::All(&[ContactsView]), GUARDED, |_, _| {
            vec![("list[q]", "Ørsted".into())]
        }),
        row("/api/staff/contact", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("id", f.contact.to_string())]
        }),
        row("/api/staff/save_contact", Needs::All(&[ContactsCreate]), GUARDED, |_, s| {
            contact_form(format!("zoe.neu{s}@example.dk"))
        }),
        row("/api/staff/save_contact", Needs::All(&[ContactsEdit]), GUARDED, contact_edit),
        row("/api/staff/delete_contact", Needs::All(&[ContactsDelete]), GUARDED, |f, s| {
            confirmed(f.doomed[s])
        }),
        row("/api/staff/invite_to_portal", Needs::All(&[ContactsEdit]), GUARDED, |f, _| {
            vec![("id", f.contact.to_string())]
        }),
        row("/api/staff/revoke_portal", Needs::All(&[ContactsEdit]), GUARDED, |f, _| {
            vec![("id", f.contact.to_string())]
        }),
        // Imports: everything is "Import contacts". Each caller gets imports of its own where a
        // call moves one on (a dry run started, a run started, cancelled or undone).
        row("/api/staff/import_history", Needs::All(&[ContactsImport]), GUARDED, |_, _| {
            vec![("page", "1".into())]
        }),
        row("/api/staff/load_import", Needs::All(&[ContactsImport]), GUARDED, |f, _| {
            vec![("id", f.imports.first.to_string()), ("outcome", "error".into()), ("page", "1".into())]
        }),
        row("/api/staff/import_progress", Needs::All(&[ContactsImport]), GUARDED, |f, _| {
            vec![("id", f.imports.first.to_string())]
        }),
        row("/api/staff/save_import_mapping", Needs::All(&[ContactsImport]), GUARDED, |f, s| {
            let (id, version) = f.imports.uploaded[s];
            vec![
                ("id", id.to_string()),
                ("version", version.to_string()),
                ("input[columns][]", "field:first_name".into()),
                ("input[columns][]", "field:email".into()),
                ("input[mode]", "both".into()),
                ("input[empty]", "keep".into()),
                ("input[separator]", ",".into()),
                ("input[then]", "check".into()),
            ]
        }),
        row("/api/staff/edit_import_mapping", Needs::All(&[ContactsImport]), GUARDED, |f, s| {
            let (id, version) = f.imports.to_edit[s];
            vec![("id", id.to_string()), ("version", version.to_string())]
        }),
        row("/api/staff/start_import", Needs::All(&[ContactsImport]), GUARDED, |f, s| {
            let (id, version) = f.imports.checked[s];
            vec![("id", id.to_string()), ("version", version.to_string())]
        }),
        row("/api/staff/cancel_import", Needs::All(&[ContactsImport]), GUARDED, |f, s| {
            vec![("id", f.imports.checking[s].0.to_string())]
        }),
        row("/api/staff/undo_import", Needs::All(&[ContactsImport]), GUARDED, |f, s| {
            let (id, version) = f.imports.done[s];
            vec![("id", id.to_string()), ("version", version.to_string()), ("confirm", "yes".into())]
        }),
        // The fixture's first import is number 1 (a fresh database): its rows with errors.
        row(
            "/staff/imports/1/errors.csv",
            Needs::All(&[ContactsImport]),
            [303, 403, 403, 200, 200],
            |_, _| vec![],
        )
        .get(),
        row("/api/staff/bulk_contacts", Needs::All(&[ContactsEdit]), GUARDED, |f, _| {
            vec![("ids[]", f.contact.to_string()), ("action", "add_tag".into()), ("tag", "Größe XL".into())]
        }),
        row("/api/staff/bulk_contacts", Needs::All(&[ContactsDelete]), GUARDED, |f, s| {
            vec![
                ("ids[]", f.bulk_doomed[s].to_string()),
                ("action", "delete".into()),
                ("confirm", "yes".into()),
            ]
        }),
        row("/api/staff/tags", Needs::All(&[ContactsView]), GUARDED, |_, _| vec![]),
        row("/api/staff/rename_tag", Needs::All(&[TagsSegmentsManage]), GUARDED, |f, s| {
            vec![("id", f.tag.to_string()), ("name", format!("Stammkundin {s} ★"))]
        }),
        row("/api/staff/merge_tags", Needs::All(&[TagsSegmentsManage]), GUARDED, |f, s| {
            vec![("from", f.merged_tags[s].to_string()), ("into", f.tag.to_string())]
        }),
        row("/api/staff/delete_tag", Needs::All(&[TagsSegmentsManage]), GUARDED, |f, s| {
            confirmed(f.doomed_tags[s])
        }),
        row(
            "/staff/contacts/export.csv",
            Needs::All(&[ContactsExport]),
            [303, 403, 403, 200, 200],
            |_, _| vec![("q", "Ørsted".into())],
        )
        .get(),
        row("/api/staff/bulk_contacts", Needs::All(&[ContactsEdit]), GUARDED, |f, _| {
            vec![
                ("ids[]", f.contact.to_string()),
                ("action", "set_field".into()),
                ("field", f.text_field_key.clone()),
                ("value", "Größe L — 大".into()),
            ]
        }),
        row("/api/staff/list_columns", Needs::All(&[ContactsView]), GUARDED, |_, _| vec![]),
        row("/api/staff/save_list_columns", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![
                ("keys[]", "email".into()),
                ("positions[]", "2".into()),
                ("shown[]", "email".into()),
                ("keys[]", format!("f.{}", f.text_field_key)),
                ("positions[]", "1".into()),
                ("shown[]", format!("f.{}", f.text_field_key)),
            ]
        }),
        // Extra fields: reading them comes with the contacts; defining them is its own permission.
        row("/api/staff/field_catalog", Needs::All(&[ContactsView]), GUARDED, |_, _| vec![]),
        row("/api/staff/field_settings", Needs::All(&[FieldsManage]), GUARDED, |_, _| vec![]),
        row("/api/staff/create_field", Needs::All(&[FieldsManage]), GUARDED, |_, s| {
            vec![
                ("input[label]", format!("Lieblingsfarbe {s} 🎨")),
                ("input[kind]", "select".into()),
                ("input[portal]", "hidden".into()),
                ("input[options]", "Grün\nRot".into()),
            ]
        }),
        row("/api/staff/update_field", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            vec![
                ("id", f.text_field.to_string()),
                ("input[label]", format!("Größe {s}")),
                ("input[help]", "Konfektionsgröße".into()),
                ("input[portal]", "shown".into()),
            ]
        }),
        row("/api/staff/move_field", Needs::All(&[FieldsManage]), GUARDED, |f, _| {
            vec![("id", f.text_field.to_string()), ("direction", "down".into())]
        }),
        row("/api/staff/delete_field", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            confirmed(f.doomed_fields[s])
        }),
        row("/api/staff/preview_field_type", Needs::All(&[FieldsManage]), GUARDED, |f, _| {
            vec![("id", f.text_field.to_string()), ("kind", "long_text".into())]
        }),
        row("/api/staff/change_field_type", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            vec![
                ("id", f.type_fields[s].to_string()),
                ("kind", "long_text".into()),
                ("confirm", "yes".into()),
            ]
        }),
        row("/api/staff/add_section", Needs::All(&[FieldsManage]), GUARDED, |_, s| {
            vec![("section_name", format!("Abrechnung {s} — 請求"))]
        }),
        row("/api/staff/rename_section", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            vec![("id", f.section.to_string()), ("section_name", format!("Vorlieben {s}"))]
        }),
        row("/api/staff/move_section", Needs::All(&[FieldsManage]), GUARDED, |f, _| {
            vec![("id", f.section.to_string()), ("direction", "up".into())]
        }),
        row("/api/staff/delete_section", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            confirmed(f.doomed_sections[s])
        }),
        row("/api/staff/add_field_option", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            vec![
                ("field_id", f.select_field.to_string()),
                ("option_label", format!("Blau {s}")),
                ("option_color", "#2563eb".into()),
            ]
        }),
        row("/api/staff/update_field_option", Needs::All(&[FieldsManage]), GUARDED, |f, s| {
            vec![
                ("id", f.option.to_string()),
                ("option_label", format!("Gelb {s}")),
                ("option_color", "#ca8a04".into()),
            ]
        }),
        row("/api/staff/move_field_option", Needs::All(&[FieldsManage]), GUARDED, |f, _| {
            vec![("id", f.option.to_string()), ("direction", "down".into())]
        }),
        row("/api/staff/retire_field_option", Needs::All(&[FieldsManage]), GUARDED, |f, _| {
            vec![("id", f.option.to_string()), ("retired", "no".into())]
        }),
        // Segments: any staff with contact access keeps private ones; shared ones (the fixture's)
        // are changed with "Manage segments".
        row("/api/staff/segments", Needs::All(&[ContactsView]), GUARDED, |_, _| vec![]),
        row("/api/staff/segment_refs", Needs::All(&[ContactsView]), GUARDED, |_, _| vec![]),
        row("/api/staff/segment", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("id", f.segments.dynamic.to_string())]
        }),
        row("/api/staff/preview_segment", Needs::All(&[ContactsView]), GUARDED, |_, _| {
            vec![("draft", SEGMENT_DRAFT.into())]
        }),
        row("/api/staff/segment_editor", Needs::All(&[ContactsView]), GUARDED, |_, _| {
            vec![("kind", "dynamic".into())]
        }),
        row("/api/staff/segment_editor", Needs::All(&[ContactsView, SegmentsManage]), GUARDED, |f, _| {
            vec![("id", f.segments.dynamic.to_string())]
        }),
        row("/api/staff/edit_segment", Needs::All(&[ContactsView]), GUARDED, |_, s| {
            segment_form(format!("Meine Liste {s} — 私の"), false)
        }),
        row("/api/staff/edit_segment", Needs::All(&[ContactsView, SegmentsManage]), GUARDED, |_, s| {
            segment_form(format!("Geteilte Liste {s}"), true)
        }),
        row("/api/staff/edit_segment", Needs::All(&[ContactsView, SegmentsManage]), GUARDED, |f, _| {
            let mut form = segment_form("Münchner VIPs".into(), true);
            form.push(("id", f.segments.dynamic.to_string()));
            form.retain(|(k, _)| *k != "intent");
            form.push(("intent", "add:0".into()));
            form
        }),
        row("/api/staff/delete_segment", Needs::All(&[ContactsView, SegmentsManage]), GUARDED, |f, s| {
            confirmed(f.segments.doomed[s])
        }),
        row("/api/staff/duplicate_segment", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("id", f.segments.dynamic.to_string())]
        }),
        row("/api/staff/refresh_segment", Needs::All(&[ContactsView, SegmentsManage]), GUARDED, |f, _| {
            vec![("id", f.segments.snapshot.to_string())]
        }),
        row("/api/staff/save_list_as_segment", Needs::All(&[ContactsView]), GUARDED, |_, s| {
            vec![("list[q]", "Haruki".into()), ("name", format!("Gespeichert {s}"))]
        }),
        row("/api/staff/contact_segments", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("id", f.contact.to_string())]
        }),
        row("/api/staff/why_in_segment", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("id", f.segments.dynamic.to_string()), ("contact", f.contact.to_string())]
        }),
        row("/api/staff/bulk_contacts", Needs::All(&[ContactsView, SegmentsManage]), GUARDED, |f, _| {
            vec![
                ("ids[]", f.contact.to_string()),
                ("action", "add_to_segment".into()),
                ("segment", f.segments.fixed.to_string()),
            ]
        }),
        row("/api/staff/contacts", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("list[segment]", f.segments.dynamic.to_string())]
        }),
        // Settings lists.
        row("/api/staff/settings_lists", Needs::All(&[SettingsManage]), GUARDED, |_, _| vec![]),
        row("/api/staff/add_setting", Needs::All(&[SettingsManage]), GUARDED, |_, s| {
            vec![("list", "services".into()), ("name", format!("Beratung {s} — 相談"))]
        }),
        row("/api/staff/rename_setting", Needs::All(&[SettingsManage]), GUARDED, |f, s| {
            vec![("list", "services".into()), ("id", f.service.to_string()), ("name", format!("Wartung {s}"))]
        }),
        row("/api/staff/move_setting", Needs::All(&[SettingsManage]), GUARDED, |f, _| {
            vec![("list", "services".into()), ("id", f.service.to_string()), ("direction", "down".into())]
        }),
        row("/api/staff/delete_setting", Needs::All(&[SettingsManage]), GUARDED, |f, s| {
            let mut form = confirmed(f.doomed_services[s]);
            form.push(("list", "services".into()));
            form
        }),
        // Activities: changing someone else's entry needs "Edit or delete anyone's activities".
        row("/api/staff/timeline", Needs::All(&[ContactsView]), GUARDED, |f, _| {
            vec![("contact_id", f.contact.to_string())]
        }),
        row("/api/staff/log_activity", Needs::All(&[ContactsView, ActivitiesCreate]), GUARDED, |f, _| {
            vec![
                ("contact_id", f.contact.to_string()),
                ("input[kind]", "call".into()),
                ("input[subject]", "Rückruf — 折り返し電話".into()),
                ("input[body]", "Über das Angebot gesprochen.".into()),
                ("input[happened_at]", "2026-11-24T10:30".into()),
            ]
        }),
        row("/api/staff/activity", Needs::All(&[ContactsView, ActivitiesManageAll]), GUARDED, |f, _| {
            vec![("id", f.activity.to_string())]
        }),
        row("/api/staff/save_activity", Needs::All(&[ContactsView, ActivitiesManageAll]), GUARDED, |f, _| {
            vec![
                ("id", f.activity.to_string()),
                ("input[kind]", "note".into()),
                ("input[subject]", "Notiz über Zoë".into()),
                ("input[body]", "".into()),
                ("input[happened_at]", "2026-11-24T11:00".into()),
            ]
        }),
        row(
            "/api/staff/delete_activity",
            Needs::All(&[ContactsView, ActivitiesManageAll]),
            GUARDED,
            |f, s| confirmed(f.doomed_activities[s]),
        ),
        row("/api/staff/complete_task", Needs::All(&[ContactsView, ActivitiesManageAll]), GUARDED, |f, _| {
            vec![("id", f.task.to_string()), ("done", "yes".into())]
        }),
        row("/api/staff/my_tasks", Needs::Staff, ANY_STAFF, |_, _| vec![]),
        row("/api/staff/dashboard", Needs::Staff, ANY_STAFF, |_, _| vec![]),
        // Users and groups.
        row("/api/staff/users", Needs::All(&[UsersManage]), GUARDED, |_, _| vec![]),
        row("/api/staff/user", Needs::All(&[UsersManage]), GUARDED, |f, _| {
            vec![("id", f.target.to_string())]
        }),
        row("/api/staff/save_user", Needs::All(&[UsersManage]), GUARDED, |f, _| {
            vec![
                ("id", f.target.to_string()),
                ("display_name", "Zielperson Ümit".into()),
                ("email", TARGET_EMAIL.into()),
            ]
        }),
        row("/api/staff/set_user_active", Needs::All(&[UsersManage]), GUARDED, |f, _| {
            vec![("id", f.target.to_string()), ("active", "true".into())]
        }),
        row("/api/staff/reset_password", Needs::All(&[UsersManage]), GUARDED, |f, _| {
            vec![("id", f.target.to_string()), ("password", NEW_PASSWORD.into())]
        }),
        row("/api/staff/delete_user", Needs::All(&[UsersManage]), GUARDED, |f, s| {
            confirmed(f.doomed_users[s])
        }),
        row("/api/staff/password_link", Needs::All(&[UsersManage]), GUARDED, |f, _| {
            vec![("id", f.target.to_string())]
        }),
        row("/api/staff/groups", Needs::All(&[UsersManage]), GUARDED, |_, _| vec![]),
        row("/api/staff/group", Needs::All(&[UsersManage]), GUARDED, |_, _| vec![]),
        row("/api/staff/save_group", Needs::All(&[UsersManage]), GUARDED, |_, s| {
            vec![("name", format!("Vertrieb Ærø {s}")), ("description", "Team im Norden".into())]
        }),
        row("/api/staff/delete_group", Needs::All(&[UsersManage]), GUARDED, |f, s| {
            confirmed(f.doomed_groups[s])
        }),
        row("/api/staff/audit", Needs::All(&[UsersManage]), GUARDED, |_, _| vec![]),
        // One's own profile.
        // The organisation: administrators only, whatever a staff member's permissions.
        row("/api/staff/organisation_settings", Needs::Admin, ADMIN_ONLY, |_, _| vec![]),
        // UTC and ISO, as the database starts: the save changes the clock of the whole test pool.
        row("/api/staff/save_organisation", Needs::Admin, ADMIN_ONLY, |_, _| {
            vec![("name", "Zoë & Søn".into()), ("time_zone", "UTC".into()), ("date_format", "iso".into())]
        }),
        row("/api/staff/profile", Needs::Staff, ANY_STAFF, |_, _| vec![]),
        row("/api/staff/rename", Needs::Staff, ANY_STAFF, |_, s| {
            vec![("display_name", format!("Señora {s}"))]
        }),
        row("/api/staff/change_password", Needs::Staff, ANY_STAFF, |_, _| {
            vec![("current_password", PASSWORD.into()), ("new_password", NEW_PASSWORD.into())]
        })
        .fresh(),
        // The portal.
        row("/api/portal/my_details", Needs::Client, CLIENTS, |_, _| vec![]),
        // Public functions.
        row("/api/public/system_status", Needs::Nothing, ANYONE, |_, _| vec![]),
        row("/api/public/current_user", Needs::Nothing, ANYONE, |_, _| vec![]),
        row("/api/public/login", Needs::Nothing, ANYONE, |_, _| {
            vec![("email", VISITOR_EMAIL.into()), ("password", PASSWORD.into())]
        })
        .fresh(),
        row("/api/public/register", Needs::Nothing, ANYONE, |_, s| {
            vec![
                ("display_name", format!("Neue Kollegin {s}")),
                ("email", format!("neu{s}@example.com")),
                ("password", NEW_PASSWORD.into()),
            ]
        }),
        row("/api/public/set_password", Needs::Nothing, ANYONE, |f, s| {
            vec![("token", f.tokens[s].clone()), ("password", NEW_PASSWORD.into())]
        }),
        row("/api/public/logout", Needs::Nothing, ANYONE, |_, _| vec![]).fresh(),
    ]
}

const TARGET_EMAIL: &str = "zielperson@example.com";

/// A draft for the builder's preview: contacts whose first name contains "haruki".
const SEGMENT_DRAFT: &str = r#"{"name":"Vorschau","kind":"Dynamic","rules":{"any":false,"conditions":[{"subject":"first_name","op":"contains","values":["haruki"]}],"groups":[]}}"#;

/// The builder's form saving a new dynamic segment with one condition and an OR group.
fn segment_form(name: String, shared: bool) -> Form {
    let mut form: Form = vec![
        ("name", name),
        ("kind", "dynamic".into()),
        ("join", "all".into()),
        ("c[0][group]", "0".into()),
        ("c[0][subject]", "first_name".into()),
        ("c[0][was]", "first_name".into()),
        ("c[0][op]", "contains".into()),
        ("c[0][values][]", "Haruki".into()),
        ("g[]", "any".into()),
        ("c[1][group]", "1".into()),
        ("c[1][subject]", "city".into()),
        ("c[1][was]", "city".into()),
        ("c[1][op]", "is".into()),
        ("c[1][values][]", "Tōkyō".into()),
        ("intent", "save".into()),
    ];
    if shared {
        form.push(("shared", "yes".into()));
    }
    form
}
const VISITOR_EMAIL: &str = "besucher@example.com";

/// Rows the matrix acts on; `[_; 5]` holds one per caller, for rows that use up their target.
struct Fixture {
    /// A contact with an email (for the portal invitation).
    contact: i64,
    edited: [i64; 5],
    doomed: [i64; 5],
    bulk_doomed: [i64; 5],
    tag: i64,
    merged_tags: [i64; 5],
    doomed_tags: [i64; 5],
    service: i64,
    doomed_services: [i64; 5],
    /// The admin's note and task.
    activity: i64,
    task: i64,
    doomed_activities: [i64; 5],
    target: i64,
    doomed_users: [i64; 5],
    doomed_groups: [i64; 5],
    /// Unused set-password links, each for an account of its own.
    tokens: [String; 5],
    /// A text field and its key, a select field and one of its options.
    text_field: i64,
    text_field_key: String,
    select_field: i64,
    option: i64,
    doomed_fields: [i64; 5],
    /// Text fields that become long text.
    type_fields: [i64; 5],
    section: i64,
    doomed_sections: [i64; 5],
    imports: Imports,
    segments: Segments,
}

/// Shared segments of the administrator's.
struct Segments {
    dynamic: i64,
    fixed: i64,
    snapshot: i64,
    doomed: [i64; 5],
}

/// Imports at each step, as (id, version): one per caller where a call moves it on.
struct Imports {
    first: i64,
    uploaded: [(i64, i64); 5],
    to_edit: [(i64, i64); 5],
    checked: [(i64, i64); 5],
    checking: [(i64, i64); 5],
    done: [(i64, i64); 5],
}

/// An import of a small file (one good row, one with a bad email) taken to `state` by a worker
/// of the test's own.
async fn import_at(app: &TestApp, admin: i64, state: app::imports::ImportState, n: usize) -> (i64, i64) {
    use app::imports::{job, mapping, repo, ImportState};
    let mut conn = app.db.pool.get().await.unwrap();
    let dir = std::env::temp_dir().join(format!("crm-authz-imports-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kunden.csv");
    let csv = format!("first_name,email\nZoë {n},zoe{n}@example.com\nBad,not-an-email\n");
    std::fs::write(&path, &csv).unwrap();
    let (settings, preview) = mapping::first_settings(&path, &[]).unwrap();
    let sha = format!("{n:064}");
    let file =
        repo::UploadedFile { name: "Kunden Ü.csv", path: &path, size: csv.len() as u64, sha256: &sha };
    let id = repo::create(&mut conn, admin, &file, &settings, &preview).await.unwrap();
    let worker = job::Worker { name: "authz".into(), dir: dir.clone(), dies_after: None };
    let steps: &[(ImportState, ImportState)] = match state {
        ImportState::Uploaded => &[],
        ImportState::Checking => &[(ImportState::Uploaded, ImportState::Checking)],
        ImportState::Checked => &[(ImportState::Uploaded, ImportState::Checking)],
        _ => &[(ImportState::Uploaded, ImportState::Checking), (ImportState::Checked, ImportState::Running)],
    };
    for (from, to) in steps {
        let v = repo::summary(&mut conn, id).await.unwrap().unwrap().version;
        repo::request(&mut conn, id, Some(v), &[*from], *to).await.unwrap();
        if state != ImportState::Checking {
            while job::work_once(&app.db.pool, &worker).await.unwrap() {}
        }
    }
    let summary = repo::summary(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(summary.state, state, "fixture import {n}: {}", summary.message);
    (id, summary.version)
}

async fn fixture(app: &TestApp, admin: &Actor) -> Fixture {
    use app::activities::ActivityInput;
    use app::settings::SettingsList;
    use app::{activities, contacts, settings, users};

    let mut conn = app.db.pool.get().await.unwrap();
    let tag_names = |prefix: &str| (0..5).map(|i| format!("{prefix} {i}")).collect::<Vec<_>>();
    let mut tags = vec!["Stammkunde".to_owned()];
    tags.extend(tag_names("Zusammenführen"));
    tags.extend(tag_names("Wegwerfen"));
    let input = ContactInput {
        first_name: "Haruki 春樹".into(),
        email: "haruki@example.jp".into(),
        tags,
        ..Default::default()
    };
    let contact = contacts::repo::create(&mut conn, admin.id, &input).await.unwrap();
    let mut ids = [[0; 5]; 3];
    for (label, ids) in ["Bearbeitet", "Gelöscht", "Massenweise"].into_iter().zip(&mut ids) {
        for (i, id) in ids.iter_mut().enumerate() {
            let input = ContactInput { first_name: format!("{label} {i}"), ..Default::default() };
            *id = contacts::repo::create(&mut conn, admin.id, &input).await.unwrap();
        }
    }
    let [edited, doomed, bulk_doomed] = ids;

    let all_tags = contacts::repo::tag_counts(&mut conn).await.unwrap();
    let tag_id = |name: &str| all_tags.iter().find(|(c, _)| c.name == name).unwrap().0.id;
    let ids_of = |prefix: &str| {
        let names = tag_names(prefix);
        std::array::from_fn(|i| tag_id(&names[i]))
    };

    let service = settings::repo::add(&mut conn, SettingsList::Services, "Montage", None).await.unwrap();
    let mut doomed_services = [0; 5];
    for (i, id) in doomed_services.iter_mut().enumerate() {
        *id = settings::repo::add(&mut conn, SettingsList::Services, &format!("Abbau {i}"), None)
            .await
            .unwrap();
    }

    let entry = |kind: &str, subject: String, due_on: &str| ActivityInput {
        kind: kind.into(),
        subject,
        body: String::new(),
        happened_at: "2026-11-24T09:15".into(),
        due_on: due_on.into(),
    };
    let activity =
        activities::repo::create(&mut conn, admin, contact, &entry("note", "Erstkontakt".into(), ""))
            .await
            .unwrap();
    let task = activities::repo::create(
        &mut conn,
        admin,
        contact,
        &entry("task", "Angebot senden".into(), "2026-12-01"),
    )
    .await
    .unwrap();
    let mut doomed_activities = [0; 5];
    for (i, id) in doomed_activities.iter_mut().enumerate() {
        *id = activities::repo::create(&mut conn, admin, contact, &entry("note", format!("Entwurf {i}"), ""))
            .await
            .unwrap();
    }

    let target = app.add_user(TARGET_EMAIL, UserKind::Staff, false).await;
    app.add_user(VISITOR_EMAIL, UserKind::Staff, false).await;
    let mut doomed_users = [0; 5];
    let mut doomed_groups = [0; 5];
    let mut tokens: [String; 5] = Default::default();
    for i in 0..5 {
        doomed_users[i] =
            app.add_user(&format!("ausgeschieden{i}@example.com"), UserKind::Staff, false).await;
        let group = users::repo::GroupInput {
            name: format!("Aufgelöst {i}"),
            description: String::new(),
            permissions: BTreeSet::new(),
            member_ids: BTreeSet::new(),
        };
        doomed_groups[i] = users::repo::save_group(&mut conn, admin, None, &group).await.unwrap();
        let holder = app.add_user(&format!("link{i}@example.com"), UserKind::Staff, false).await;
        tokens[i] = users::repo::create_password_token(&mut conn, admin, holder).await.unwrap();
    }
    use app::fields::{repo as fields, FieldForm};
    let field = |label: String, kind: &str| FieldForm {
        label,
        kind: kind.into(),
        portal: "hidden".into(),
        options: "Orange\nViolett".into(),
        ..FieldForm::default()
    };
    let text_field = fields::create_field(&mut conn, &field("Größe".into(), "text")).await.unwrap();
    let select_field = fields::create_field(&mut conn, &field("Farbe".into(), "select")).await.unwrap();
    let catalog = fields::catalog(&mut conn).await.unwrap();
    let text_field_key = catalog.fields.iter().find(|f| f.id == text_field).unwrap().key.clone();
    let option = catalog.fields.iter().find(|f| f.id == select_field).unwrap().options[0].id;
    let (mut doomed_fields, mut type_fields, mut doomed_sections) = ([0; 5], [0; 5], [0; 5]);
    for i in 0..5 {
        doomed_fields[i] = fields::create_field(&mut conn, &field(format!("Alt {i}"), "date")).await.unwrap();
        type_fields[i] = fields::create_field(&mut conn, &field(format!("Kurz {i}"), "text")).await.unwrap();
        doomed_sections[i] = fields::create_section(&mut conn, &format!("Weg {i}")).await.unwrap();
    }
    let section = fields::create_section(&mut conn, "Vorlieben").await.unwrap();
    use app::imports::ImportState;
    let first = import_at(app, admin.id, ImportState::Checked, 0).await.0;
    assert_eq!(first, 1, "the errors.csv row names import 1");
    let mut imports = Imports {
        first,
        uploaded: [(0, 0); 5],
        to_edit: [(0, 0); 5],
        checked: [(0, 0); 5],
        checking: [(0, 0); 5],
        done: [(0, 0); 5],
    };
    for i in 0..5 {
        imports.uploaded[i] = import_at(app, admin.id, ImportState::Uploaded, 10 + i).await;
        imports.to_edit[i] = import_at(app, admin.id, ImportState::Checked, 20 + i).await;
        imports.checked[i] = import_at(app, admin.id, ImportState::Checked, 30 + i).await;
        imports.done[i] = import_at(app, admin.id, ImportState::Done, 50 + i).await;
    }
    // Last: the workers above would take up a dry run waiting for a server.
    for i in 0..5 {
        imports.checking[i] = import_at(app, admin.id, ImportState::Checking, 40 + i).await;
    }
    use app::segments::{repo as segments, Draft, SegmentKind};
    let owner = segments::Viewer { id: admin.id, name: "Admin".into(), manage: true };
    let shared = |name: &str, kind: SegmentKind| Draft {
        name: name.into(),
        kind,
        shared: true,
        rules: serde_json::from_str::<Draft>(SEGMENT_DRAFT).unwrap().rules,
        ..Draft::default()
    };
    let segment = |name: &str, kind| {
        let draft = shared(name, kind);
        let owner = owner.clone();
        let pool = app.db.pool.clone();
        async move { segments::save(&mut pool.get().await.unwrap(), &owner, &draft).await.unwrap() }
    };
    let dynamic = segment("Haruki und Co.", SegmentKind::Dynamic).await;
    let fixed = segment("Messe Tōkyō", SegmentKind::Static).await;
    let snapshot = segment("Stand 1. Dezember", SegmentKind::Snapshot).await;
    let mut doomed_segments = [0; 5];
    for (i, id) in doomed_segments.iter_mut().enumerate() {
        *id = segment(&format!("Wegwerfliste {i}"), SegmentKind::Dynamic).await;
    }
    Fixture {
        segments: Segments { dynamic, fixed, snapshot, doomed: doomed_segments },
        imports,
        text_field,
        text_field_key,
        select_field,
        option,
        doomed_fields,
        type_fields,
        section,
        doomed_sections,
        contact,
        edited,
        doomed,
        bulk_doomed,
        tag: tag_id("Stammkunde"),
        merged_tags: ids_of("Zusammenführen"),
        doomed_tags: ids_of("Wegwerfen"),
        service,
        doomed_services,
        activity,
        task,
        doomed_activities,
        target,
        doomed_users,
        doomed_groups,
        tokens,
    }
}

/// A caller of the matrix: the accounts behind one column.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Subject {
    Anonymous,
    Client,
    Staff(BTreeSet<Permission>),
    Admin,
}

impl Subject {
    /// The subjects standing for caller `slot` of a row with `needs`.
    fn for_slot(needs: Needs, slot: usize) -> Vec<Subject> {
        let all = || Permission::ALL.into_iter().collect::<BTreeSet<_>>();
        match (slot, needs) {
            (0, _) => vec![Subject::Anonymous],
            (1, _) => vec![Subject::Client],
            (2, Needs::All(needed)) => needed
                .iter()
                .map(|p| Subject::Staff(all().into_iter().filter(|q| q != p).collect()))
                .collect(),
            (2, _) => vec![Subject::Staff(BTreeSet::new())],
            (3, Needs::All(needed)) => vec![Subject::Staff(needed.iter().copied().collect())],
            (3, _) => vec![Subject::Staff(all())],
            _ => vec![Subject::Admin],
        }
    }

    fn describe(&self) -> String {
        match self {
            Subject::Staff(held) => {
                let keys: Vec<&str> = held.iter().map(|p| p.key()).collect();
                format!("staff holding [{}]", keys.join(", "))
            }
            Subject::Anonymous => "anonymous".into(),
            Subject::Client => "client".into(),
            Subject::Admin => "admin".into(),
        }
    }
}

/// Signed-in sessions, one account per subject (and a new one for every fresh call).
struct Sessions<'a> {
    app: &'a TestApp,
    cookies: HashMap<Subject, Option<String>>,
    accounts: usize,
}

impl Sessions<'_> {
    async fn cookie(&mut self, subject: &Subject, fresh: bool) -> Option<String> {
        if !fresh {
            if let Some(cookie) = self.cookies.get(subject) {
                return cookie.clone();
            }
        }
        self.accounts += 1;
        let email = format!("aufrufer{}@example.com", self.accounts);
        let cookie = match subject {
            Subject::Anonymous => None,
            Subject::Client => {
                self.app.add_user(&email, UserKind::Client, false).await;
                Some(self.app.login(&email, None).await)
            }
            Subject::Staff(held) => {
                self.app.staff_with(&email, &held.iter().copied().collect::<Vec<_>>()).await;
                Some(self.app.login(&email, None).await)
            }
            Subject::Admin => {
                self.app.add_user(&email, UserKind::Staff, true).await;
                Some(self.app.login(&email, None).await)
            }
        };
        if !fresh {
            self.cookies.insert(subject.clone(), cookie.clone());
        }
        cookie
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_caller_gets_exactly_the_expected_status() {
    for db in testing::each_backend().await {
        let name = db.backend().name();
        let app = TestApp::new(db);
        let admin_id = app.add_user("gruenderin@example.com", UserKind::Staff, true).await;
        let fixture = fixture(&app, &Actor { id: admin_id, name: "Gründerin".into() }).await;
        let mut sessions = Sessions { app: &app, cookies: HashMap::new(), accounts: 0 };
        let mut wrong = Vec::new();
        for row in table() {
            for (slot, want) in row.expect.iter().enumerate() {
                let form = (row.body)(&fixture, slot);
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                for subject in Subject::for_slot(row.needs, slot) {
                    let cookie = sessions.cookie(&subject, row.fresh).await;
                    let reply = if row.get {
                        let query: Vec<String> = form
                            .iter()
                            .map(|(k, v)| format!("{k}={}", app::ui::encode_query_value(v)))
                            .collect();
                        app.get(&format!("{}?{}", row.path, query.join("&")), cookie.as_deref()).await
                    } else {
                        app.call(row.path, cookie.as_deref(), &form).await
                    };
                    if reply.status.as_u16() != *want {
                        let body: String = reply.body.chars().take(200).collect();
                        wrong.push(format!(
                            "{name}: {} ({}) calling {}: {} instead of {want}: {body}",
                            CALLERS[slot],
                            subject.describe(),
                            row.path,
                            reply.status.as_u16(),
                        ));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{} unexpected statuses:\n{}", wrong.len(), wrong.join("\n"));
    }
}

/// The server functions registered in this binary, compared with the table both ways; and their
/// number with the `#[server` attributes in app/src, so none escapes the registry either.
#[test]
fn every_server_function_has_a_row() {
    let registered: BTreeSet<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect();
    let in_table: BTreeSet<String> =
        table().into_iter().filter(|r| !r.get).map(|r| r.path.to_owned()).collect();
    let missing: Vec<_> = registered.difference(&in_table).collect();
    assert!(missing.is_empty(), "server functions without a row in the authorization matrix: {missing:?}");
    let unknown: Vec<_> = in_table.difference(&registered).collect();
    assert!(unknown.is_empty(), "rows for paths that are no server function: {unknown:?}");

    fn count_attributes(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .map(|path| {
                if path.is_dir() {
                    count_attributes(&path)
                } else if path.extension().is_some_and(|e| e == "rs") {
                    std::fs::read_to_string(&path)
                        .unwrap()
                        .lines()
                        .map(str::trim)
                        // The functions' attributes, not `#[server(default)]` on an argument.
                        .filter(|line| line.starts_with("#[server(") && line.ends_with(")]"))
                        .count()
                } else {
                    0
                }
            })
            .sum()
    }
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    assert_eq!(
        count_attributes(&source),
        registered.len(),
        "#[server] attributes in app/src vs registered paths"
    );
}
