//! Pages of the contacts slice: the list, a contact's profile, and the add/edit form.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use super::api::{
    contact_choices, list_columns, list_contacts, list_tags, load_contact, BulkContacts, DeleteContact,
    DeleteTag, InviteToPortal, MergeTags, RenameTag, RevokePortal, SaveContact, SaveListColumns,
};
use super::{Choice, Choices, Contact, ContactListParams, ContactPage, ContactRow, SortKey};
use crate::accounts::pages::Auth;
use crate::accounts::Permission;
use crate::activities::pages::{timeline_resource, ActivitySection, TimelineActions};
use crate::activities::Timeline;
use crate::error::AppError;
use crate::fields::api::load_field_catalog;
use crate::fields::pages::{ExtraFieldFacts, ExtraFieldsForm};
use crate::fields::{FieldCatalog, FieldDef, FieldKind, BUILT_IN_COLUMNS};
use crate::segments::api::{segment_refs, SaveListAsSegment};
use crate::segments::SegmentKind;
use crate::ui::{error_of, id_param, saved_notice, FormAlert, FormField, Loaded, Pager};

/// Whether the signed-in user holds `permission` (for showing buttons; the server checks again).
fn can(permission: Permission) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let auth = expect_context::<Auth>();
    move || auth.can(permission)
}

#[component]
fn FilterSelect(
    label: &'static str,
    name: &'static str,
    options: Vec<Choice>,
    #[prop(into)] selected: Signal<String>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                <option value="">"Any"</option>
                {options.into_iter().map(|o| {
                    let value = o.id.to_string();
                    let is = value.clone();
                    view! { <option value=value selected=move || selected.get() == is>{o.name}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    view! {
        <Title text="Contacts"/>
        <h1>"Contacts"</h1>
        {saved_notice()}
        <ContactList base="/staff/contacts".to_owned() segment=None/>
    }
}

/// The contact list: search, filters, columns, sorting, paging, bulk actions and export. `base`
/// is the page it sits on (its links keep to it); `segment` limits it to a segment's members
/// (the segment's page), whose rows then say why each contact is there.
#[component]
pub fn ContactList(base: String, segment: Option<i64>) -> impl IntoView {
    let base = StoredValue::new(base);
    let query = use_query::<ContactListParams>();
    // Every field is optional text, so the URL always parses.
    let list = Memo::new(move |_| query.get().unwrap_or_default());
    // What is read and exported: on a segment's page, its members (its links keep to the page).
    let scoped = Memo::new(move |_| {
        let mut list = list.get();
        if let Some(id) = segment {
            list.segment = Some(id.to_string());
        }
        list
    });
    let param = move |value: fn(&ContactListParams) -> &Option<String>| {
        move || value(&list.read()).clone().unwrap_or_default()
    };
    let bulk = ServerAction::<BulkContacts>::new();
    let save_columns = ServerAction::<SaveListColumns>::new();
    let bulk_error = error_of(bulk.value());
    let contacts =
        Resource::new(move || (scoped.get(), bulk.version().get()), |(list, _)| list_contacts(list));
    let choices = Resource::new(|| (), |_| contact_choices());
    let catalog = Resource::new(|| (), |_| load_field_catalog());
    let columns = Resource::new(move || save_columns.version().get(), |_| list_columns());
    let can_create = can(Permission::ContactsCreate);
    let can_export = can(Permission::ContactsExport);
    let export_href = move || scoped.read().filters().href("/staff/contacts/export.csv");
    // A column header links to the list sorted by it; a second click reverses the order.
    let sort_href = move |key: SortKey| list.read().sorted_by(key).href(&base.get_value());
    let sort_state = move |key: &SortKey| {
        let query = list.read().query();
        (query.sort == *key).then_some(if query.descending { "descending" } else { "ascending" })
    };
    let header = move |key: SortKey, label: String| {
        let state = key.clone();
        view! {
            <th scope="col" aria-sort=move || sort_state(&state).unwrap_or("none")>
                <a href=move || sort_href(key.clone())>{label}</a>
            </th>
        }
        .into_any()
    };
    let segments = Resource::new(|| (), |_| segment_refs());
    let save_as = ServerAction::<SaveListAsSegment>::new();
    view! {
        <p class="actions">
            <Show when=can_create>
                <a class="button" href="/staff/contacts/new">"Add contact"</a>
            </Show>
            " "
            <Show when=can_export>
                // A plain link: the browser downloads the file the server streams.
                <a class="button secondary" href=export_href rel="external" download="">"Export CSV"</a>
            </Show>
        </p>
        <form method="get" action=base.get_value() class="filters" role="search" aria-label="Find contacts">
            <div class="field">
                <label for="filter-q">"Search"</label>
                <input id="filter-q" name="q" type="search" placeholder="Name, email, phone or company" value=param(|l| &l.q)/>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let c: Choices = choices.await.unwrap_or_default();
                    view! {
                        <FilterSelect label="Status" name="status" options=c.statuses selected=Signal::derive(param(|l| &l.status))/>
                        <FilterSelect label="Tag" name="tag" options=c.tags selected=Signal::derive(param(|l| &l.tag))/>
                        <FilterSelect label="Service" name="service" options=c.services selected=Signal::derive(param(|l| &l.service))/>
                        <FilterSelect label="Traffic source" name="source" options=c.traffic_sources selected=Signal::derive(param(|l| &l.source))/>
                        <FilterSelect label="Owner" name="owner" options=c.owners selected=Signal::derive(param(|l| &l.owner))/>
                    }
                })}
            </Transition>
            {segment.is_none().then(|| view! {
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let options: Vec<Choice> = segments.await.unwrap_or_default().into_iter().map(|s| Choice { id: s.id, name: s.name, color: None }).collect();
                        view! { <FilterSelect label="Segment" name="segment" options selected=Signal::derive(param(|l| &l.segment))/> }
                    })}
                </Transition>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let catalog: FieldCatalog = catalog.await.unwrap_or_default();
                    let shown = list.get_untracked();
                    (!catalog.fields.is_empty()).then(|| {
                        let open = !shown.extra.is_empty();
                        view! {
                            <details class="extra-filters" open=open>
                                <summary>"Filter by extra fields"</summary>
                                <div class="filters">
                                    {catalog.fields.into_iter().map(|f| view! { <ExtraFilter field=f list=shown.clone()/> }).collect_view()}
                                </div>
                            </details>
                        }
                    })
                })}
            </Transition>
            <input type="hidden" name="sort" value=param(|l| &l.sort)/>
            <input type="hidden" name="dir" value=param(|l| &l.dir)/>
            <button type="submit">"Search"</button>
        </form>
        <Loaded>
            {move || Suspend::new(async move {
                let shown = list.get_untracked();
                let c: Choices = choices.await.unwrap_or_default();
                let catalog: FieldCatalog = catalog.await.unwrap_or_default();
                let cols: Vec<String> = columns.await.unwrap_or_else(|_| crate::fields::default_columns());
                let picker = view! { <ColumnPicker catalog=catalog.clone() columns=cols.clone() back=shown.href(&base.get_value()) action=save_columns/> };
                let static_segments: Vec<(i64, String)> = segments.await.unwrap_or_default().into_iter().filter(|s| s.kind == SegmentKind::Static && s.editable).map(|s| (s.id, s.name)).collect();
                let heads = cols.iter().filter_map(|key| column_header(&catalog, key).map(|(sort, label)| match sort {
                    Some(sort) => header(sort, label),
                    None => view! { <th scope="col">{label}</th> }.into_any(),
                })).collect_view();
                let field_choices: Vec<(String, String)> = catalog.fields.iter().map(|f| (f.key.clone(), f.label.clone())).collect();
                // After a bulk action, back to the same list (and page).
                let back = shown.href(&base.get_value());
                let field_error = move |name: &'static str| {
                    move || bulk_error.get().and_then(|e| e.field(name)).map(|m| view! { <p class="field-error" role="alert">{m}</p> })
                };
                contacts.await.map(|page: ContactPage| view! {
                    <p>{match page.total { 1 => "1 contact".to_owned(), n => format!("{n} contacts") }}</p>
                    {picker}
                    <ActionForm action=bulk attr:class="bulk-form">
                    <input type="hidden" name="back" value=back/>
                    <table>
                        <thead>
                            <tr>
                                <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                {header(SortKey::Name, "Name".to_owned())}
                                {heads}
                                {segment.map(|_| view! { <th scope="col">"Why here"</th> })}
                            </tr>
                        </thead>
                        <tbody>
                            {page.rows.into_iter().map(|r| {
                                let cells = cols.iter().filter(|key| column_header(&catalog, key).is_some()).map(|key| view! { <td>{cell(&r, key)}</td> }).collect_view();
                                view! {
                                    <tr>
                                        <td><input type="checkbox" name="ids[]" value=r.id.to_string() aria-label=format!("Select {}", r.name)/></td>
                                        <td><a href=format!("/staff/contacts/{}", r.id)>{r.name.clone()}</a></td>
                                        {cells}
                                        {segment.map(|s| view! { <td><a href=format!("/staff/segments/{s}/why/{}", r.id) aria-label=format!("Why is {} in this segment?", r.name)>"Why?"</a></td> })}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    {field_error("ids")}
                    <fieldset class="bulk">
                        <legend>"With the selected contacts"</legend>
                        <div class="filters">
                            <div class="field">
                                <label for="bulk-action">"Action"</label>
                                <select id="bulk-action" name="action">
                                    <option value="add_tag">"Add a tag"</option>
                                    <option value="remove_tag">"Remove a tag"</option>
                                    <option value="set_status">"Set the status"</option>
                                    <option value="set_owner">"Change the owner"</option>
                                    {(!field_choices.is_empty()).then(|| view! { <option value="set_field">"Set a field"</option> })}
                                    {(!static_segments.is_empty()).then(|| view! {
                                        <option value="add_to_segment">"Add to a static segment"</option>
                                        <option value="remove_from_segment">"Remove from a static segment"</option>
                                    })}
                                    <option value="delete">"Delete"</option>
                                </select>
                            </div>
                            <div class="field">
                                <label for="bulk-tag">"Tag name"</label>
                                <input id="bulk-tag" name="tag" type="text"/>
                            </div>
                            <div class="field">
                                <label for="bulk-status">"New status"</label>
                                <select id="bulk-status" name="status_id">
                                    <option value="">"None"</option>
                                    {c.statuses.into_iter().map(|o| view! { <option value=o.id.to_string()>{o.name}</option> }).collect_view()}
                                </select>
                            </div>
                            <div class="field">
                                <label for="bulk-owner">"New owner"</label>
                                <select id="bulk-owner" name="owner_id">
                                    <option value="">"Nobody"</option>
                                    {c.owners.into_iter().map(|o| view! { <option value=o.id.to_string()>{o.name}</option> }).collect_view()}
                                </select>
                            </div>
                            {(!field_choices.is_empty()).then(|| view! {
                                <div class="field">
                                    <label for="bulk-field">"Field to set"</label>
                                    <select id="bulk-field" name="field">
                                        {field_choices.iter().map(|(key, label)| view! { <option value=key.clone()>{label.clone()}</option> }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="bulk-value">"New value"</label>
                                    <p class="hint" id="bulk-value-hint">"Empty clears it. Options by their label (several separated by commas), yes or no, dates like 2026-12-31."</p>
                                    <input id="bulk-value" name="value" type="text" aria-describedby="bulk-value-hint"/>
                                </div>
                            })}
                            {(!static_segments.is_empty()).then(|| view! {
                                <div class="field">
                                    <label for="bulk-segment">"Static segment"</label>
                                    <select id="bulk-segment" name="segment">
                                        {static_segments.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                                    </select>
                                </div>
                            })}
                            <div class="checkbox">
                                <input type="checkbox" id="bulk-confirm" name="confirm" value="yes"/>
                                <label for="bulk-confirm">"Yes, delete the selected contacts"</label>
                            </div>
                            <button type="submit">"Apply to selected"</button>
                        </div>
                        {field_error("tag")}
                        {field_error("field")}
                        {field_error("value")}
                        {field_error("confirm")}
                        {field_error("segment")}
                        {move || bulk_error.get().filter(|e| !matches!(e, AppError::Invalid(_))).map(|e| view! { <p class="field-error" role="alert">{e.to_string()}</p> })}
                    </fieldset>
                    </ActionForm>
                    <Pager href=move |n| shown.at_page(n).href(&base.get_value()) page=page.page pages=page.pages/>
                })
            })}
        </Loaded>
        {segment.is_none().then(|| {
            let save_error = error_of(save_as.value());
            let hidden = move || {
                let l = list.get();
                let mut pairs: Vec<(String, String)> = [("q", &l.q), ("status", &l.status), ("tag", &l.tag), ("service", &l.service), ("source", &l.source), ("owner", &l.owner), ("segment", &l.segment)]
                    .into_iter()
                    .filter_map(|(k, v)| v.clone().filter(|v| !v.trim().is_empty()).map(|v| (format!("list[{k}]"), v)))
                    .collect();
                pairs.extend(l.extra.iter().map(|e| ("list[extra][]".to_owned(), e.clone())));
                pairs.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()
            };
            view! {
                <ActionForm action=save_as attr:class="save-as-segment">
                    <fieldset>
                        <legend>"Save this list as a segment"</legend>
                        <p class="hint">"Its search and filters become the rules of a new dynamic segment, private to you until you share it."</p>
                        {hidden}
                        <div class="filters">
                            <div class="field">
                                <label for="save-as-name">"Segment name"</label>
                                <input id="save-as-name" name="name" type="text" maxlength="100"/>
                            </div>
                            <button type="submit">"Save as segment"</button>
                        </div>
                        {move || save_error.get().map(|e| view! { <p class="field-error" role="alert">{e.field("name").unwrap_or_else(|| e.to_string())}</p> })}
                    </fieldset>
                </ActionForm>
            }
        })}
    }
}

/// A list column's header: the sort it links to (if any) and its label; `None` for a column
/// whose extra field no longer exists.
fn column_header(catalog: &FieldCatalog, key: &str) -> Option<(Option<SortKey>, String)> {
    if let Some(field) = key.strip_prefix("f.") {
        let def = catalog.field(field)?;
        return Some((Some(SortKey::Field(def.key.clone())), def.label.clone()));
    }
    let label = BUILT_IN_COLUMNS.iter().find(|(k, _)| *k == key)?.1.to_owned();
    let sort = match key {
        "email" => Some(SortKey::Email),
        "company" => Some(SortKey::Company),
        "status" => Some(SortKey::Status),
        "updated" => Some(SortKey::Updated),
        _ => None,
    };
    Some((sort, label))
}

/// A row's cell in column `key`.
fn cell(r: &ContactRow, key: &str) -> AnyView {
    match key {
        "email" => r.email.clone().unwrap_or_default().into_any(),
        "phone" => r.phone.clone().into_any(),
        "company" => r.company.clone().into_any(),
        "status" => r.status.clone().map(|s| view! { <StatusBadge status=s/> }).into_any(),
        "tags" => r.tags.join(", ").into_any(),
        "owner" => r.owner.clone().unwrap_or_default().into_any(),
        "updated" => r.updated_at.clone().into_any(),
        other => {
            other.strip_prefix("f.").and_then(|k| r.fields.get(k)).cloned().unwrap_or_default().into_any()
        }
    }
}

/// Which columns the list shows and in what order, saved for the signed-in staff member: a
/// checkbox and a position per column (the chosen ones first, in their order).
#[component]
fn ColumnPicker(
    catalog: FieldCatalog,
    columns: Vec<String>,
    back: String,
    action: ServerAction<SaveListColumns>,
) -> impl IntoView {
    let mut all: Vec<(String, String)> =
        BUILT_IN_COLUMNS.iter().map(|(k, l)| ((*k).to_owned(), (*l).to_owned())).collect();
    all.extend(catalog.fields.iter().map(|f| (f.param(), f.label.clone())));
    all.sort_by_key(|(k, _)| columns.iter().position(|c| c == k).unwrap_or(usize::MAX));
    let rows = all
        .into_iter()
        .enumerate()
        .map(|(i, (key, label))| {
            let shown = columns.contains(&key);
            let id = format!("column-{}", key.replace('.', "-"));
            let position_id = format!("{id}-position");
            view! {
                <tr>
                    <td>
                        <input type="hidden" name="keys[]" value=key.clone()/>
                        <div class="checkbox">
                            <input type="checkbox" id=id.clone() name="shown[]" value=key checked=shown/>
                            <label for=id>{label.clone()}</label>
                        </div>
                    </td>
                    <td>
                        <label class="visually-hidden" for=position_id.clone()>{format!("Position of {label}")}</label>
                        <input id=position_id type="number" name="positions[]" min="1" value=(i + 1).to_string() class="position"/>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="column-picker">
            <summary>"Columns"</summary>
            <ActionForm action>
                <input type="hidden" name="back" value=back/>
                <table>
                    <thead><tr><th scope="col">"Show"</th><th scope="col">"Position"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <button type="submit">"Save columns"</button>
            </ActionForm>
        </details>
    }
}

/// The filter inputs of one extra field in the list's filter form, named as the URL holds them
/// (`f.<key>`, `f.<key>.op`, `f.<key>.min`, `f.<key>.max`).
#[component]
fn ExtraFilter(field: FieldDef, list: ContactListParams) -> impl IntoView {
    let param = field.param();
    let id = format!("filter-f-{}", field.key);
    let values = list.extra_values(&param);
    let first = values.first().cloned().unwrap_or_default();
    let op = list.extra_values(&format!("{param}.op")).pop().unwrap_or_default();
    let (min, max) = (
        list.extra_values(&format!("{param}.min")).pop().unwrap_or_default(),
        list.extra_values(&format!("{param}.max")).pop().unwrap_or_default(),
    );
    let ops: Vec<(&str, &str)> = if field.kind.is_text() {
        vec![
            // "contains" is the empty choice, so an untouched filter adds nothing to the URL.
            ("", "contains"),
            ("is", "is exactly"),
            ("empty", "is empty"),
            ("not_empty", "is not empty"),
        ]
    } else {
        vec![("", "any value or none"), ("empty", "is empty"), ("not_empty", "is not empty")]
    };
    let op_select = {
        let op_id = format!("{id}-op");
        view! {
            <div class="field">
                <label for=op_id.clone()>"Condition"</label>
                <select id=op_id name=format!("{param}.op")>
                    {ops.into_iter().map(|(value, label)| view! { <option value=value selected=op == value>{label}</option> }).collect_view()}
                </select>
            </div>
        }
    };
    let range = |input_type: &'static str| {
        let (min_id, max_id) = (format!("{id}-min"), format!("{id}-max"));
        view! {
            <div class="field">
                <label for=min_id.clone()>"From"</label>
                <input id=min_id name=format!("{param}.min") type=input_type value=min.clone()/>
            </div>
            <div class="field">
                <label for=max_id.clone()>"To"</label>
                <input id=max_id name=format!("{param}.max") type=input_type value=max.clone()/>
            </div>
        }
        .into_any()
    };
    let value_inputs = match field.kind {
        k if k.is_text() => view! {
            <div class="field">
                <label for=id.clone()>"Text"</label>
                <input id=id.clone() name=param.clone() type="text" value=first.clone()/>
            </div>
        }
        .into_any(),
        k if k.is_number() => range("text"),
        k if k.is_date() => range("date"),
        FieldKind::Boolean => view! {
            <div class="field">
                <label for=id.clone()>"Value"</label>
                <select id=id.clone() name=param.clone()>
                    <option value="" selected=first.is_empty()>"Any"</option>
                    <option value="yes" selected=first == "yes">"Yes"</option>
                    <option value="no" selected=first == "no">"No"</option>
                </select>
            </div>
        }
        .into_any(),
        _ => field
            .options
            .iter()
            .map(|o| {
                let option_id = format!("{id}-{}", o.id);
                let checked = values.contains(&o.id.to_string());
                let label = if o.retired { format!("{} (retired)", o.label) } else { o.label.clone() };
                view! {
                    <div class="checkbox">
                        <input type="checkbox" id=option_id.clone() name=param.clone() value=o.id.to_string() checked=checked/>
                        <label for=option_id>{label}</label>
                    </div>
                }
            })
            .collect_view()
            .into_any(),
    };
    view! {
        <fieldset class="extra-filter">
            <legend>{field.label.clone()}</legend>
            {op_select}
            {value_inputs}
        </fieldset>
    }
}

#[component]
pub fn StatusBadge(status: Choice) -> impl IntoView {
    let style = format!("--badge: {}", status.color.unwrap_or_else(|| "#64748b".into()));
    view! { <span class="badge" style=style>{status.name}</span> }
}

#[component]
pub fn ContactProfilePage() -> impl IntoView {
    let id = id_param();
    let invite = ServerAction::<InviteToPortal>::new();
    let revoke = ServerAction::<RevokePortal>::new();
    let contact = Resource::new(
        move || (id.get(), invite.version().get(), revoke.version().get()),
        |(id, ..)| async move {
            match id {
                Some(id) => load_contact(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    TimelineActions::provide();
    let timeline = timeline_resource(id);
    let catalog = Resource::new(|| (), |_| load_field_catalog());
    let delete = ServerAction::<DeleteContact>::new();
    let delete_error = error_of(delete.value());
    let (can_edit, can_delete) = (can(Permission::ContactsEdit), can(Permission::ContactsDelete));
    view! {
        <Loaded heading="Contact">
            {move || Suspend::new(async move {
                let loaded = match (contact.await, timeline.await, catalog.await) {
                    (Ok(contact), Ok(timeline), Ok(catalog)) => Ok((contact, timeline, catalog)),
                    (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => Err(e),
                };
                loaded.map(|(c, timeline, catalog): (Contact, Timeline, FieldCatalog)| {
                    let name = c.display_name();
                    let i = c.input.clone();
                    let id = c.id;
                    let delete_label = format!("Yes, delete {name} for good");
                    let fact = |label: &'static str, value: String| {
                        (!value.trim().is_empty()).then(|| view! { <dt>{label}</dt><dd>{value}</dd> })
                    };
                    let address = i.address_line();
                    view! {
                        <Title text=name.clone()/>
                        <h1>{name.clone()}</h1>
                        <p><a href="/staff/contacts">"Back to all contacts"</a></p>
                        {saved_notice()}
                        <Show when=can_edit>
                            <p><a class="button" href=format!("/staff/contacts/{id}/edit")>"Edit contact"</a></p>
                        </Show>
                        <dl class="facts">
                            {fact("Email", i.email.clone())}
                            {fact("Phone", i.phone.clone())}
                            {fact("Company", i.company.clone())}
                            {fact("Job title", i.job_title.clone())}
                            {fact("Address", address)}
                            {fact("Website", i.website.clone())}
                            <dt>"Status"</dt>
                            <dd>{c.status.clone().map(|s| view! { <StatusBadge status=s/> }.into_any()).unwrap_or_else(|| "None".into_any())}</dd>
                            {fact("Services", c.services.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", "))}
                            {fact("Traffic source", c.traffic_source.clone().map(|s| s.name).unwrap_or_default())}
                            {fact("Tags", c.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "))}
                            {fact("Owner", c.owner.clone().map(|o| o.name).unwrap_or_default())}
                            {fact("Notes", i.notes.clone())}
                            <dt>"Added"</dt><dd>{format!("{} by {}", c.created_at, c.created_by.clone().unwrap_or_else(|| "someone no longer here".into()))}</dd>
                            <dt>"Last changed"</dt><dd>{format!("{} by {}", c.updated_at, c.updated_by.clone().unwrap_or_else(|| "someone no longer here".into()))}</dd>
                        </dl>
                        <ExtraFieldFacts catalog shown=c.extra_shown.clone() show_empty=can_edit()/>
                        <crate::segments::pages::ContactSegments contact_id=id/>
                        <ActivitySection contact_id=id timeline/>
                        {can_edit().then(|| {
                            let state = match &c.portal {
                                None => "This contact has no portal access.".to_owned(),
                                Some(p) if p.is_active => format!(
                                    "{} can sign in to the portal. Last sign-in: {}.",
                                    p.email,
                                    p.last_sign_in.clone().unwrap_or_else(|| "never".into())
                                ),
                                Some(p) => format!("Portal access for {} is revoked.", p.email),
                            };
                            let active = c.portal.as_ref().is_some_and(|p| p.is_active);
                            view! {
                                <section class="card" aria-labelledby="portal-heading">
                                    <h2 id="portal-heading">"Client portal"</h2>
                                    <p>{state}</p>
                                    <ActionForm action=invite>
                                        <input type="hidden" name="id" value=id.to_string()/>
                                        <button type="submit" class="secondary">
                                            {if active { "Create a new set-password link" } else { "Invite to portal" }}
                                        </button>
                                    </ActionForm>
                                    {move || invite.value().get().map(|r| match r {
                                        Ok(url) => view! {
                                            <div class="field">
                                                <label for="portal-link">"Link to send"</label>
                                                <input id="portal-link" type="text" readonly=true value=url/>
                                                <p class="hint">"It works once, for 24 hours. Send it to the client yourself."</p>
                                            </div>
                                        }.into_any(),
                                        Err(e) => view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }.into_any(),
                                    })}
                                    {active.then(|| view! {
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="id" value=id.to_string()/>
                                            <button type="submit" class="secondary">"Revoke portal access"</button>
                                        </ActionForm>
                                    })}
                                </section>
                            }
                        })}
                        {can_delete().then(|| view! {
                            <section class="card danger" aria-labelledby="delete-heading">
                                <h2 id="delete-heading">"Delete"</h2>
                                <ActionForm action=delete>
                                    <FormAlert error=delete_error/>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <div class="checkbox">
                                        <input type="checkbox" id="field-confirm" name="confirm" value="yes" required=true/>
                                        <label for="field-confirm">{delete_label.clone()}</label>
                                    </div>
                                    <button type="submit" class="danger">"Delete contact"</button>
                                </ActionForm>
                            </section>
                        })}
                    }
                })
            })}
        </Loaded>
    }
}

/// The contact's tags as chips (ticked checkboxes: untick one to remove the tag) and a field to
/// add more. With JavaScript, Enter or a comma turns what was typed into a chip; without it, the
/// typed names are sent as they are. Names that do not exist yet become new tags.
#[component]
fn TagPicker(
    initial: Vec<String>,
    suggestions: Vec<Choice>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    // After a failed post without JavaScript, the tags sent come back with the error.
    let start = error
        .get_untracked()
        .and_then(|e| e.value("tags"))
        .map(|joined| joined.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect())
        .unwrap_or(initial);
    let chips = RwSignal::new(start.into_iter().enumerate().collect::<Vec<(usize, String)>>());
    let draft = RwSignal::new(String::new());
    let add_draft = move || {
        let typed = draft.get_untracked();
        chips.update(|list| {
            for name in typed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if !list.iter().any(|(_, t)| t.to_lowercase() == name.to_lowercase()) {
                    list.push((list.len(), name.to_owned()));
                }
            }
        });
        draft.set(String::new());
    };
    let message = move || error.get().and_then(|e| e.field("tags"));
    view! {
        <fieldset class="tag-picker">
            <legend>"Tags"</legend>
            <div class="chips">
                <For each=move || chips.get() key=|(_, name)| name.to_lowercase() let((i, name))>
                    <span class="chip">
                        <input type="checkbox" id=format!("tag-chip-{i}") name="input[tags][]" value=name.clone() checked=true/>
                        <label for=format!("tag-chip-{i}")>{name}</label>
                    </span>
                </For>
            </div>
            <div class="field">
                <label for="field-tags">"Add tags"</label>
                <p class="hint" id="field-tags-hint">
                    "Type a name and press Enter, or several separated by commas. New names become new tags. Untick a tag to remove it."
                </p>
                <input
                    id="field-tags"
                    name="add_tags"
                    type="text"
                    list="tag-suggestions"
                    autocomplete="off"
                    aria-describedby="field-tags-hint"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" || ev.key() == "," {
                            ev.prevent_default();
                            add_draft();
                        }
                    }
                />
                <datalist id="tag-suggestions">
                    {suggestions.into_iter().map(|t| view! { <option value=t.name/> }).collect_view()}
                </datalist>
                {move || message().map(|m| view! { <p class="field-error">{m}</p> })}
            </div>
        </fieldset>
    }
}

/// Adds a contact (at `/staff/contacts/new`) or edits one (at `/staff/contacts/:id/edit`).
#[component]
pub fn ContactFormPage() -> impl IntoView {
    let id = id_param();
    let save = ServerAction::<SaveContact>::new();
    let error = error_of(save.value());
    // Two resources, not one future with two calls: on the server, a server function called
    // after another one's `.await` in the same future no longer sees the request's context.
    let choices = Resource::new(|| (), |_| contact_choices());
    let catalog = Resource::new(|| (), |_| load_field_catalog());
    let contact = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => load_contact(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Loaded heading="Contact">
            {move || Suspend::new(async move {
                let loaded = match (choices.await, contact.await, catalog.await) {
                    (Ok(choices), Ok(contact), Ok(catalog)) => Ok((choices, contact, catalog)),
                    (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => Err(e),
                };
                loaded.map(|(choices, contact, catalog): (Choices, Option<Contact>, FieldCatalog)| {
                    let title = contact.as_ref().map(|c| format!("Edit {}", c.display_name())).unwrap_or_else(|| "Add contact".into());
                    let input = contact.as_ref().map(|c| c.input.clone()).unwrap_or_default();
                    let (contact_id, version) = (contact.as_ref().map(|c| c.id), contact.as_ref().map(|c| c.version));
                    let cancel = contact_id.map(|id| format!("/staff/contacts/{id}")).unwrap_or_else(|| "/staff/contacts".into());
                    let select = move |label: &'static str, name: &'static str, options: Vec<Choice>, current: Option<i64>| {
                        let field = format!("field-{name}");
                        view! {
                            <div class="field">
                                <label for=field.clone()>{label}</label>
                                <select id=field name=format!("input[{name}]")>
                                    <option value="">"None"</option>
                                    {options.into_iter().map(|o| view! {
                                        <option value=o.id.to_string() selected=current == Some(o.id)>{o.name}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                        }
                    };
                    let text = move |label: &'static str, name: &'static str, value: String| {
                        view! { <FormField label name of="input" value error/> }
                    };
                    view! {
                        <Title text=title.clone()/>
                        <h1>{title}</h1>
                        <ActionForm action=save attr:class="contact-form">
                            <FormAlert error/>
                            {contact_id.map(|id| view! { <input type="hidden" name="id" value=id.to_string()/> })}
                            {version.map(|v| view! { <input type="hidden" name="version" value=v.to_string()/> })}
                            <div class="form-grid">
                                {text("First name", "first_name", input.first_name.clone())}
                                {text("Last name", "last_name", input.last_name.clone())}
                                <FormField label="Email" name="email" of="input" input_type="email" value=input.email.clone() error/>
                                <FormField label="Phone" name="phone" of="input" input_type="tel" value=input.phone.clone() error/>
                                {text("Company", "company", input.company.clone())}
                                {text("Job title", "job_title", input.job_title.clone())}
                                {text("Street", "street", input.street.clone())}
                                {text("City", "city", input.city.clone())}
                                {text("Postal code", "postal_code", input.postal_code.clone())}
                                {text("Country", "country", input.country.clone())}
                                {text("Website", "website", input.website.clone())}
                                {select("Status", "status_id", choices.statuses.clone(), input.status_id)}
                                {select("Traffic source", "traffic_source_id", choices.traffic_sources.clone(), input.traffic_source_id)}
                                {select("Owner", "owner_id", choices.owners.clone(), input.owner_id)}
                            </div>
                            <TagPicker initial=input.tags.clone() suggestions=choices.tags.clone() error/>
                            <fieldset>
                                <legend>"Services"</legend>
                                {choices.services.iter().map(|s| {
                                    let field = format!("service-{}", s.id);
                                    view! {
                                        <div class="checkbox">
                                            <input type="checkbox" id=field.clone() name="input[service_ids][]" value=s.id.to_string() checked=input.service_ids.contains(&s.id)/>
                                            <label for=field>{s.name.clone()}</label>
                                        </div>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <ExtraFieldsForm catalog values=input.extra.clone() new_contact=contact_id.is_none() error/>
                            <div class="field">
                                <label for="field-notes">"Notes"</label>
                                <textarea id="field-notes" name="input[notes]" rows="5">
                                    {move || error.get().and_then(|e| e.value("notes")).unwrap_or_else(|| input.notes.clone())}
                                </textarea>
                                {move || error.get().and_then(|e| e.field("notes")).map(|m| view! { <p class="field-error">{m}</p> })}
                            </div>
                            <button type="submit">"Save contact"</button>
                            " "
                            <a href=cancel>"Cancel"</a>
                        </ActionForm>
                    }
                })
            })}
        </Loaded>
    }
}

/// All tags with their contact counts (each count opens the list filtered by the tag), and for
/// staff who manage tags: rename, merge and delete.
#[component]
pub fn TagsPage() -> impl IntoView {
    let rename = ServerAction::<RenameTag>::new();
    let merge = ServerAction::<MergeTags>::new();
    let delete = ServerAction::<DeleteTag>::new();
    let tags = Resource::new(
        move || (rename.version().get(), merge.version().get(), delete.version().get()),
        |_| list_tags(),
    );
    let (rename_error, merge_error, delete_error) =
        (error_of(rename.value()), error_of(merge.value()), error_of(delete.value()));
    let can_manage = can(Permission::TagsSegmentsManage);
    let options = |tags: Vec<(i64, String)>| {
        tags.into_iter()
            .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> })
            .collect_view()
    };
    view! {
        <Title text="Tags"/>
        <h1>"Tags"</h1>
        {saved_notice()}
        <Loaded>
            {move || Suspend::new(async move {
                tags.await.map(|tags| {
                    let names: Vec<(i64, String)> = tags.iter().map(|(t, _)| (t.id, t.name.clone())).collect();
                    let (to_rename, from, into, to_delete) = (names.clone(), names.clone(), names.clone(), names);
                    let manage = can_manage().then(|| view! {
                        <section class="card" aria-labelledby="rename-heading">
                            <h2 id="rename-heading">"Rename a tag"</h2>
                            <ActionForm action=rename attr:class="filters">
                                <div class="field">
                                    <label for="rename-id">"Tag to rename"</label>
                                    <select id="rename-id" name="id">{options(to_rename)}</select>
                                </div>
                                <FormField label="New name" name="name" required=true error=rename_error/>
                                <button type="submit">"Rename"</button>
                            </ActionForm>
                        </section>
                        <section class="card" aria-labelledby="merge-heading">
                            <h2 id="merge-heading">"Merge two tags"</h2>
                            <ActionForm action=merge attr:class="filters">
                                <div class="field">
                                    <label for="merge-from">"Move contacts from"</label>
                                    <select id="merge-from" name="from">{options(from)}</select>
                                </div>
                                <div class="field">
                                    <label for="merge-into">"Into"</label>
                                    <select id="merge-into" name="into">{options(into)}</select>
                                </div>
                                <button type="submit">"Merge"</button>
                            </ActionForm>
                            <FormAlert error=merge_error/>
                            {move || merge_error.get().and_then(|e| e.field("into")).map(|m| view! { <p class="field-error">{m}</p> })}
                        </section>
                        <section class="card danger" aria-labelledby="delete-heading">
                            <h2 id="delete-heading">"Delete a tag"</h2>
                            <ActionForm action=delete attr:class="filters">
                                <div class="field">
                                    <label for="delete-id">"Tag to delete"</label>
                                    <select id="delete-id" name="id">{options(to_delete)}</select>
                                </div>
                                <div class="checkbox">
                                    <input type="checkbox" id="delete-confirm" name="confirm" value="yes" required=true/>
                                    <label for="delete-confirm">"Yes, remove it from every contact"</label>
                                </div>
                                <button type="submit" class="danger">"Delete tag"</button>
                            </ActionForm>
                            <FormAlert error=delete_error/>
                        </section>
                    });
                    view! {
                        <table>
                            <thead><tr><th scope="col">"Tag"</th><th scope="col">"Contacts"</th></tr></thead>
                            <tbody>
                                {tags.iter().map(|(t, n)| view! {
                                    <tr>
                                        <td>{t.name.clone()}</td>
                                        <td><a href=ContactListParams { tag: Some(t.id.to_string()), ..Default::default() }.href("/staff/contacts") aria-label=format!("{n} contacts tagged {}", t.name)>{*n}</a></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {manage}
                    }
                })
            })}
        </Loaded>
    }
}
