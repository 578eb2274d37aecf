//! The field settings pages (every contact field, sections, adding and editing extra fields),
//! and the extra-field inputs and facts the contact pages show.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    field_settings, preview_field_type, AddFieldOption, AddSection, ChangeFieldType, CreateField,
    DeleteField, DeleteSection, MoveField, MoveFieldOption, MoveSection, RenameSection, RetireFieldOption,
    UpdateField, UpdateFieldOption,
};
use super::{ExtraInput, FieldCatalog, FieldDef, FieldForm, FieldKind, Section, BUILT_IN_FIELDS};
use crate::error::AppError;
use crate::ui::{error_of, id_param, saved_notice, FormAlert, FormField, Loaded};

/// A field's message, if the last post of the form had one.
fn message(
    error: Signal<Option<AppError>>,
    name: &'static str,
) -> impl Fn() -> Option<AnyView> + Send + Sync {
    move || {
        error
            .get()
            .and_then(|e| e.field(name))
            .map(|m| view! { <p class="field-error" role="alert">{m}</p> }.into_any())
    }
}

fn section_options(sections: &[Section], current: Option<i64>) -> impl IntoView {
    let options = sections
        .iter()
        .map(|s| view! { <option value=s.id.to_string() selected=current == Some(s.id)>{s.name.clone()}</option> })
        .collect_view();
    view! {
        <option value="" selected=current.is_none()>"Other details (no section)"</option>
        {options}
    }
}

/// The part of the field form both pages share: label, help, rules, default, section, search,
/// portal, unit.
#[component]
fn FieldSettings(
    form: FieldForm,
    kind: Option<FieldKind>,
    sections: Vec<Section>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let value = move |name: &'static str, stored: String| {
        move || error.get().and_then(|e| e.value(name)).unwrap_or_else(|| stored.clone())
    };
    let section = form.section_id.parse().ok();
    let checked = |v: &Option<String>| v.is_some();
    let decimal = kind.is_none_or(|k| k == FieldKind::Decimal);
    view! {
        <FormField label="Label" name="label" of="input" required=true value=form.label.clone() error/>
        <FormField label="Help text" name="help" of="input" hint="Shown under the field on the forms." value=form.help.clone() error/>
        <div class="field">
            <label for="field-default_value">"Default value"</label>
            <p class="hint" id="field-default_value-hint">"New contacts start with it. For select fields, the option's label."</p>
            <input id="field-default_value" name="input[default_value]" aria-describedby="field-default_value-hint" value=value("default_value", form.default_value.clone())/>
            {message(error, "default_value")}
        </div>
        <div class="field">
            <label for="field-section">"Section"</label>
            <select id="field-section" name="input[section_id]">{section_options(&sections, section)}</select>
            {message(error, "section_id")}
        </div>
        <div class="field">
            <label for="field-portal">"In the client portal"</label>
            <select id="field-portal" name="input[portal]">
                <option value="hidden" selected=form.portal != "shown">"Hidden from the client"</option>
                <option value="shown" selected=form.portal == "shown">"Shown to the client"</option>
            </select>
        </div>
        {decimal.then(|| view! {
            <div class="field">
                <label for="field-unit">"Unit or currency (decimal numbers)"</label>
                <input id="field-unit" name="input[unit]" value=value("unit", form.unit.clone()) placeholder="EUR, kg …"/>
                {message(error, "unit")}
            </div>
        })}
        <fieldset>
            <legend>"Rules"</legend>
            <div class="checkbox">
                <input type="checkbox" id="field-required" name="input[required]" value="yes" checked=checked(&form.required)/>
                <label for="field-required">"Required: a contact cannot be saved without it"</label>
            </div>
            <div class="checkbox">
                <input type="checkbox" id="field-unique" name="input[unique]" value="yes" checked=checked(&form.unique)/>
                <label for="field-unique">"Unique: no two contacts have the same value (text ignores case)"</label>
            </div>
            {message(error, "unique")}
            <div class="checkbox">
                <input type="checkbox" id="field-searchable" name="input[searchable]" value="yes" checked=checked(&form.searchable)/>
                <label for="field-searchable">"Searchable: the contact list's search looks in it (text types)"</label>
            </div>
        </fieldset>
    }
}

/// `/staff/settings/fields`: every contact field in form order, the sections, and a form to add
/// a field.
#[component]
pub fn FieldsPage() -> impl IntoView {
    let create = ServerAction::<CreateField>::new();
    let reorder = ServerAction::<MoveField>::new();
    let add_section = ServerAction::<AddSection>::new();
    let rename_section = ServerAction::<RenameSection>::new();
    let move_section = ServerAction::<MoveSection>::new();
    let delete_section = ServerAction::<DeleteSection>::new();
    let settings = Resource::new(
        move || {
            (
                reorder.version().get(),
                add_section.version().get(),
                rename_section.version().get(),
                move_section.version().get(),
                delete_section.version().get(),
            )
        },
        |_| field_settings(),
    );
    let create_error = error_of(create.value());
    let section_error = Signal::derive(move || {
        add_section
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| rename_section.value().get().and_then(Result::err))
            .or_else(|| delete_section.value().get().and_then(Result::err))
    });
    view! {
        <Title text="Contact fields"/>
        <h1>"Contact fields"</h1>
        {saved_notice()}
        <Loaded>
            {move || Suspend::new(async move {
                settings.await.map(|(catalog, holding): (FieldCatalog, Vec<(i64, i64)>)| {
                    let sections = catalog.sections.clone();
                    let holding_of = move |id: i64| holding.iter().find(|(f, _)| *f == id).map(|(_, n)| *n).unwrap_or(0);
                    let section_name = move |id: Option<i64>| {
                        id.and_then(|id| sections.iter().find(|s| s.id == id)).map(|s| s.name.clone()).unwrap_or_else(|| "Other details".into())
                    };
                    let sections = catalog.sections.clone();
                    let no_fields = catalog.fields.is_empty();
                    let rows = catalog.fields.clone().into_iter().map(|f| {
                        let (up, down) = (format!("Move {} up", f.label), format!("Move {} down", f.label));
                        let edit = format!("Edit {}", f.label);
                        let mut rules = Vec::new();
                        if f.required { rules.push("required"); }
                        if f.unique { rules.push("unique"); }
                        if f.searchable { rules.push("searchable"); }
                        if f.portal_visible { rules.push("shown in the portal"); }
                        view! {
                            <tr>
                                <td><a href=format!("/staff/settings/fields/{}", f.id) aria-label=edit>{f.label.clone()}</a></td>
                                <td>{f.kind.label()}</td>
                                <td><code>{f.key.clone()}</code></td>
                                <td>{section_name(f.section_id)}</td>
                                <td>{rules.join(", ")}</td>
                                <td>{holding_of(f.id)}</td>
                                <td class="order">
                                    <ActionForm action=reorder>
                                        <input type="hidden" name="id" value=f.id.to_string()/>
                                        <input type="hidden" name="direction" value="up"/>
                                        <button type="submit" class="secondary" aria-label=up>"↑"</button>
                                    </ActionForm>
                                    <ActionForm action=reorder>
                                        <input type="hidden" name="id" value=f.id.to_string()/>
                                        <input type="hidden" name="direction" value="down"/>
                                        <button type="submit" class="secondary" aria-label=down>"↓"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view();
                    let section_rows = catalog.sections.clone().into_iter().map(|s| {
                        let (up, down) = (format!("Move section {} up", s.name), format!("Move section {} down", s.name));
                        view! {
                            <tr>
                                <td>{s.name.clone()}</td>
                                <td class="order">
                                    <ActionForm action=move_section>
                                        <input type="hidden" name="id" value=s.id.to_string()/>
                                        <input type="hidden" name="direction" value="up"/>
                                        <button type="submit" class="secondary" aria-label=up>"↑"</button>
                                    </ActionForm>
                                    <ActionForm action=move_section>
                                        <input type="hidden" name="id" value=s.id.to_string()/>
                                        <input type="hidden" name="direction" value="down"/>
                                        <button type="submit" class="secondary" aria-label=down>"↓"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view();
                    let pick = |sections: &[Section]| sections.iter().map(|s| view! { <option value=s.id.to_string()>{s.name.clone()}</option> }).collect_view();
                    let (for_rename, for_delete) = (pick(&sections), pick(&sections));
                    let has_sections = !sections.is_empty();
                    view! {
                        <section class="card" aria-labelledby="fields-heading">
                            <h2 id="fields-heading">"Extra fields"</h2>
                            {if no_fields {
                                view! { <p>"No extra fields yet. Add one below: it appears on every contact's form and profile."</p> }.into_any()
                            } else {
                                view! {
                                    <table>
                                        <thead><tr>
                                            <th scope="col">"Label"</th><th scope="col">"Type"</th><th scope="col">"Key"</th>
                                            <th scope="col">"Section"</th><th scope="col">"Rules"</th><th scope="col">"Contacts with a value"</th><th scope="col">"Order"</th>
                                        </tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                        <section class="card" aria-labelledby="add-field-heading">
                            <h2 id="add-field-heading">"Add a field"</h2>
                            <ActionForm action=create attr:class="contact-form">
                                <FormAlert error=create_error/>
                                <div class="field">
                                    <label for="field-kind">"Type"</label>
                                    <select id="field-kind" name="input[kind]">
                                        {FieldKind::ALL.into_iter().map(|k| view! { <option value=k.key()>{k.label()}</option> }).collect_view()}
                                    </select>
                                    {message(create_error, "kind")}
                                </div>
                                <FieldSettings form=FieldForm { portal: "hidden".into(), ..FieldForm::default() } kind=None sections=sections.clone() error=create_error/>
                                <div class="field">
                                    <label for="field-decimals">"Decimals (decimal numbers)"</label>
                                    <input id="field-decimals" name="input[decimals]" type="number" min="0" max="6" value="2"/>
                                    {message(create_error, "decimals")}
                                </div>
                                <div class="field">
                                    <label for="field-options">"Options (select fields), one per line"</label>
                                    <textarea id="field-options" name="input[options]" rows="4">
                                        {move || create_error.get().and_then(|e| e.value("options")).unwrap_or_default()}
                                    </textarea>
                                    {message(create_error, "options")}
                                </div>
                                <button type="submit">"Add field"</button>
                            </ActionForm>
                        </section>
                        <section class="card" aria-labelledby="sections-heading">
                            <h2 id="sections-heading">"Sections"</h2>
                            <p>"Sections group the extra fields on the forms and the profile, in this order."</p>
                            {has_sections.then(|| view! {
                                <table>
                                    <thead><tr><th scope="col">"Section"</th><th scope="col">"Order"</th></tr></thead>
                                    <tbody>{section_rows}</tbody>
                                </table>
                            })}
                            <FormAlert error=section_error/>
                            <h3>"Add a section"</h3>
                            <ActionForm action=add_section attr:class="filters">
                                <div class="field">
                                    <label for="section-add-name">"Name"</label>
                                    <input id="section-add-name" name="section_name" required=true/>
                                </div>
                                <button type="submit">"Add section"</button>
                            </ActionForm>
                            {message(section_error, "section_name")}
                            {has_sections.then(|| view! {
                                <h3>"Rename a section"</h3>
                                <ActionForm action=rename_section attr:class="filters">
                                    <div class="field">
                                        <label for="section-rename-id">"Section to rename"</label>
                                        <select id="section-rename-id" name="id">{for_rename}</select>
                                    </div>
                                    <div class="field">
                                        <label for="section-rename-name">"New name"</label>
                                        <input id="section-rename-name" name="section_name" required=true/>
                                    </div>
                                    <button type="submit">"Rename"</button>
                                </ActionForm>
                                <h3>"Delete a section"</h3>
                                <p>"Its fields stay, under “Other details”."</p>
                                <ActionForm action=delete_section attr:class="filters">
                                    <div class="field">
                                        <label for="section-delete-id">"Section to delete"</label>
                                        <select id="section-delete-id" name="id">{for_delete}</select>
                                    </div>
                                    <div class="checkbox">
                                        <input type="checkbox" id="section-delete-confirm" name="confirm" value="yes" required=true/>
                                        <label for="section-delete-confirm">"Yes, delete the section"</label>
                                    </div>
                                    <button type="submit" class="danger">"Delete section"</button>
                                </ActionForm>
                                {message(section_error, "section_confirm")}
                            })}
                        </section>
                        <section class="card" aria-labelledby="built-in-heading">
                            <h2 id="built-in-heading">"Built-in fields"</h2>
                            <p>"Every contact has these, before the extra fields."</p>
                            <table>
                                <thead><tr><th scope="col">"Field"</th><th scope="col">"Type"</th></tr></thead>
                                <tbody>
                                    {BUILT_IN_FIELDS.iter().map(|(label, kind)| view! { <tr><td>{*label}</td><td>{*kind}</td></tr> }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }
                })
            })}
        </Loaded>
    }
}

/// `/staff/settings/fields/:id`: a field's settings, its options, its type and its deletion.
/// The type change preview is the page's own URL (`?to=decimal&decimals=2`), so it works
/// without JavaScript too.
#[component]
pub fn FieldEditPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let update = ServerAction::<UpdateField>::new();
    let add_option = ServerAction::<AddFieldOption>::new();
    let update_option = ServerAction::<UpdateFieldOption>::new();
    let move_option = ServerAction::<MoveFieldOption>::new();
    let retire_option = ServerAction::<RetireFieldOption>::new();
    let change_type = ServerAction::<ChangeFieldType>::new();
    let delete = ServerAction::<DeleteField>::new();
    let settings = Resource::new(
        move || {
            (
                update.version().get(),
                add_option.version().get(),
                update_option.version().get(),
                move_option.version().get(),
                retire_option.version().get(),
                change_type.version().get(),
            )
        },
        |_| field_settings(),
    );
    let target = Memo::new(move |_| {
        let q = query.read();
        q.get("to").filter(|t| !t.is_empty()).map(|to| (to, q.get("decimals").unwrap_or_default()))
    });
    let preview = Resource::new(
        move || (id.get(), target.get(), change_type.version().get()),
        |(id, target, _)| async move {
            match (id, target) {
                (Some(id), Some((to, decimals))) => preview_field_type(id, to, decimals).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    let (update_error, change_error, delete_error) =
        (error_of(update.value()), error_of(change_type.value()), error_of(delete.value()));
    let option_error = Signal::derive(move || {
        add_option
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| update_option.value().get().and_then(Result::err))
    });
    view! {
        <Loaded heading="Field">
            {move || Suspend::new(async move {
                // A preview that is refused (an incompatible type) is a message in its section,
                // not an error page.
                let (preview, refused) = match preview.await {
                    Ok(preview) => (preview, None),
                    Err(e) => (None, Some(e.field("kind").unwrap_or_else(|| e.to_string()))),
                };
                settings.await.and_then(|(catalog, holding)| {
                    let id = id.get_untracked().ok_or(AppError::NotFound)?;
                    let field = catalog.fields.iter().find(|f| f.id == id).cloned().ok_or(AppError::NotFound)?;
                    let holding = holding.iter().find(|(f, _)| *f == id).map(|(_, n)| *n).unwrap_or(0);
                    let title = format!("Field: {}", field.label);
                    let compatible = field.kind.compatible();
                    let kind = field.kind;
                    let decimals_now = field.decimals;
                    let current_target = target.get_untracked();
                    let options = field.kind.has_options().then(|| view! { <OptionsEditor field=field.clone() add_option update_option move_option retire_option error=option_error/> });
                    let delete_label = format!("Yes, delete {} and its values on {holding} contacts", field.label);
                    Ok(view! {
                        <Title text=title.clone()/>
                        <h1>{title}</h1>
                        <p><a href="/staff/settings/fields">"Back to all fields"</a></p>
                        {saved_notice()}
                        <p>{format!("Type: {}. Key: {} (imports, exports and list filters use it; a new label does not change it). {holding} contacts have a value.", field.kind.label(), field.key)}</p>
                        <section class="card" aria-labelledby="settings-heading">
                            <h2 id="settings-heading">"Settings"</h2>
                            <ActionForm action=update attr:class="contact-form">
                                <FormAlert error=update_error/>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <FieldSettings form=FieldForm::from_def(&field) kind=Some(field.kind) sections=catalog.sections.clone() error=update_error/>
                                <button type="submit">"Save field"</button>
                            </ActionForm>
                        </section>
                        {options}
                        <section class="card" aria-labelledby="type-heading">
                            <h2 id="type-heading">"Change the type"</h2>
                            {if compatible.is_empty() && kind != FieldKind::Decimal {
                                view! { <p>{format!("A {} field cannot change its type. Add a new field instead.", kind.label().to_lowercase())}</p> }.into_any()
                            } else {
                                let mut kinds: Vec<FieldKind> = compatible.to_vec();
                                if kind == FieldKind::Decimal { kinds.insert(0, FieldKind::Decimal); }
                                let chosen = current_target.as_ref().map(|(to, _)| to.clone());
                                view! {
                                    <p>"First see what the change would do to the stored values; then confirm it."</p>
                                    <form method="get" action=format!("/staff/settings/fields/{id}") class="filters">
                                        <div class="field">
                                            <label for="type-to">"New type"</label>
                                            <select id="type-to" name="to">
                                                {kinds.into_iter().map(|k| {
                                                    let label = if k == kind { format!("{} (other decimals)", k.label()) } else { k.label().to_owned() };
                                                    view! { <option value=k.key() selected=chosen.as_deref() == Some(k.key())>{label}</option> }
                                                }).collect_view()}
                                            </select>
                                        </div>
                                        <div class="field">
                                            <label for="type-decimals">"Decimals (decimal numbers)"</label>
                                            <input id="type-decimals" name="decimals" type="number" min="0" max="6" value=current_target.as_ref().map(|(_, d)| d.clone()).unwrap_or_else(|| decimals_now.max(2).to_string())/>
                                        </div>
                                        <button type="submit" class="secondary">"Preview the change"</button>
                                    </form>
                                }.into_any()
                            }}
                            {refused.map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                            {preview.map(|p| {
                                let fits = p.failing.is_empty();
                                let (to, decimals) = current_target.clone().unwrap_or_default();
                                view! {
                                    <div class="preview" role="status">
                                        <p>{format!("From {} to {}: {} of {} stored values convert.", p.from.label().to_lowercase(), p.to.label().to_lowercase(), p.converting, p.holding)}</p>
                                        {(!fits).then(|| view! {
                                            <p>"These do not, so the change is refused until they are changed:"</p>
                                            <table>
                                                <thead><tr><th scope="col">"Contact"</th><th scope="col">"Value"</th><th scope="col">"Why"</th></tr></thead>
                                                <tbody>
                                                    {p.failing.iter().map(|(cid, name, value, why)| view! {
                                                        <tr><td><a href=format!("/staff/contacts/{cid}")>{name.clone()}</a></td><td>{value.clone()}</td><td>{why.clone()}</td></tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                        })}
                                    </div>
                                    {fits.then(|| view! {
                                        <ActionForm action=change_type attr:class="filters">
                                            <input type="hidden" name="id" value=id.to_string()/>
                                            <input type="hidden" name="kind" value=to/>
                                            <input type="hidden" name="decimals" value=decimals/>
                                            <div class="checkbox">
                                                <input type="checkbox" id="type-confirm" name="confirm" value="yes" required=true/>
                                                <label for="type-confirm">"Yes, change the type and convert the values"</label>
                                            </div>
                                            <button type="submit">"Change the type"</button>
                                        </ActionForm>
                                    })}
                                }
                            })}
                            <FormAlert error=change_error/>
                            {message(change_error, "kind")}
                        </section>
                        <section class="card danger" aria-labelledby="delete-heading">
                            <h2 id="delete-heading">"Delete the field"</h2>
                            <p>{format!("{holding} contacts have a value. Deleting the field removes these values; each contact's change history keeps what it had.")}</p>
                            <ActionForm action=delete attr:class="filters">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <div class="checkbox">
                                    <input type="checkbox" id="delete-confirm" name="confirm" value="yes" required=true/>
                                    <label for="delete-confirm">{delete_label}</label>
                                </div>
                                <button type="submit" class="danger">"Delete field"</button>
                            </ActionForm>
                            <FormAlert error=delete_error/>
                        </section>
                    })
                })
            })}
        </Loaded>
    }
}

#[component]
fn OptionsEditor(
    field: FieldDef,
    add_option: ServerAction<AddFieldOption>,
    update_option: ServerAction<UpdateFieldOption>,
    move_option: ServerAction<MoveFieldOption>,
    retire_option: ServerAction<RetireFieldOption>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let rows = field
        .options
        .clone()
        .into_iter()
        .map(|o| {
            let (label_id, color_id) = (format!("option-{}-label", o.id), format!("option-{}-color", o.id));
            let (up, down) = (format!("Move {} up", o.label), format!("Move {} down", o.label));
            let (retire_label, retire_value) = if o.retired {
                (format!("Offer {} again", o.label), "no")
            } else {
                (format!("Retire {}", o.label), "yes")
            };
            let style = format!("--badge: {}", o.color);
            view! {
                <tr>
                    <td>
                        <span class="badge" style=style>{o.label.clone()}</span>
                        {o.retired.then_some(" (retired: stays on contacts, not offered)")}
                    </td>
                    <td>
                        <ActionForm action=update_option attr:class="filters">
                            <input type="hidden" name="id" value=o.id.to_string()/>
                            <div class="field">
                                <label for=label_id.clone()>{format!("New label for {}", o.label)}</label>
                                <input id=label_id name="option_label" value=o.label.clone() required=true/>
                            </div>
                            <div class="field">
                                <label for=color_id.clone()>{format!("Colour of {}", o.label)}</label>
                                <input id=color_id name="option_color" type="color" value=o.color.clone()/>
                            </div>
                            <button type="submit" class="secondary">"Save option"</button>
                        </ActionForm>
                    </td>
                    <td class="order">
                        <ActionForm action=move_option>
                            <input type="hidden" name="id" value=o.id.to_string()/>
                            <input type="hidden" name="direction" value="up"/>
                            <button type="submit" class="secondary" aria-label=up>"↑"</button>
                        </ActionForm>
                        <ActionForm action=move_option>
                            <input type="hidden" name="id" value=o.id.to_string()/>
                            <input type="hidden" name="direction" value="down"/>
                            <button type="submit" class="secondary" aria-label=down>"↓"</button>
                        </ActionForm>
                    </td>
                    <td>
                        <ActionForm action=retire_option>
                            <input type="hidden" name="id" value=o.id.to_string()/>
                            <input type="hidden" name="retired" value=retire_value/>
                            <button type="submit" class="secondary">{retire_label}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="options-heading">
            <h2 id="options-heading">"Options"</h2>
            <p>"Renaming an option changes it on every contact that has it. A retired option stays on those contacts but is not offered for new values."</p>
            <table>
                <thead><tr><th scope="col">"Option"</th><th scope="col">"Label and colour"</th><th scope="col">"Order"</th><th scope="col">"Offered"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <FormAlert error/>
            {message(error, "option_label")}
            <h3>"Add an option"</h3>
            <ActionForm action=add_option attr:class="filters">
                <input type="hidden" name="field_id" value=field.id.to_string()/>
                <div class="field">
                    <label for="option-add-label">"Label"</label>
                    <input id="option-add-label" name="option_label" required=true/>
                </div>
                <div class="field">
                    <label for="option-add-color">"Colour"</label>
                    <input id="option-add-color" name="option_color" type="color" value="#64748b"/>
                </div>
                <button type="submit">"Add option"</button>
            </ActionForm>
        </section>
    }
}

/// The inputs of one extra field on the contact form, named `input[extra][<key>][]`, with an
/// empty one first so that a field emptied by the person is sent (and stored empty).
#[component]
pub fn ExtraFieldInput(
    field: FieldDef,
    /// What the contact has now (or the default, on a new contact).
    current: Vec<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let error_key = format!("extra.{}", field.key);
    let name = format!("input[extra][{}][]", field.key);
    let id = format!("extra-{}", field.key);
    let (hint_id, error_id) = (format!("{id}-hint"), format!("{id}-error"));
    // After a failed post, what was typed (a multi select's values one per line).
    let typed = {
        let (key, multi) = (error_key.clone(), field.kind == FieldKind::MultiSelect);
        error.get_untracked().and_then(|e| e.value(&key)).map(|v| match multi {
            true => v.lines().map(str::to_owned).collect::<Vec<_>>(),
            // A long text keeps its lines.
            false => vec![v],
        })
    };
    let values = typed.unwrap_or(current);
    let first = values.first().cloned().unwrap_or_default();
    let message = {
        let key = error_key.clone();
        move || error.get().and_then(|e| e.field(&key))
    };
    let invalid = {
        let message = message.clone();
        move || message().is_some().then_some("true")
    };
    let described = {
        let (hint_id, error_id, message) = (hint_id.clone(), error_id.clone(), message.clone());
        let has_hint = !field.help.is_empty();
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let label = if field.required { format!("{} (required)", field.label) } else { field.label.clone() };
    let hint = (!field.help.is_empty())
        .then(|| view! { <p class="hint" id=hint_id.clone()>{field.help.clone()}</p> });
    let error_view = {
        let message = message.clone();
        move || message().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })
    };
    let marker = view! { <input type="hidden" name=name.clone() value=""/> };
    let input = match field.kind {
        FieldKind::MultiSelect => {
            // The chosen options first, in the contact's order (the form posts them in this
            // order, so a save keeps it), then the others in the options' order.
            let position = |o: &&super::FieldOption| {
                values.iter().position(|v| *v == o.id.to_string()).unwrap_or(usize::MAX)
            };
            let mut ordered: Vec<&super::FieldOption> = field.options.iter().collect();
            ordered.sort_by_key(position);
            let chips = ordered
                .into_iter()
                .filter(|o| !o.retired || values.contains(&o.id.to_string()))
                .map(|o| {
                    let chip_id = format!("{id}-{}", o.id);
                    let label = if o.retired { format!("{} (retired)", o.label) } else { o.label.clone() };
                    let checked = values.contains(&o.id.to_string());
                    view! {
                        <span class="chip">
                            <input type="checkbox" id=chip_id.clone() name=name.clone() value=o.id.to_string() checked=checked/>
                            <label for=chip_id>{label}</label>
                        </span>
                    }
                })
                .collect_view();
            return view! {
                <fieldset class="tag-picker" aria-describedby=described aria-invalid=invalid>
                    <legend>{label}</legend>
                    {hint}
                    {marker}
                    <div class="chips">{chips}</div>
                    {error_view}
                </fieldset>
            }
            .into_any();
        }
        FieldKind::Select => {
            let options = field
                .options
                .iter()
                .filter(|o| !o.retired || first == o.id.to_string())
                .map(|o| {
                    let label = if o.retired { format!("{} (retired)", o.label) } else { o.label.clone() };
                    view! { <option value=o.id.to_string() selected=first == o.id.to_string()>{label}</option> }
                })
                .collect_view();
            view! {
                <select id=id.clone() name=name.clone() aria-describedby=described aria-invalid=invalid required=field.required>
                    <option value="">"None"</option>
                    {options}
                </select>
            }
            .into_any()
        }
        FieldKind::Boolean => view! {
            <select id=id.clone() name=name.clone() aria-describedby=described aria-invalid=invalid required=field.required>
                <option value="" selected=first.is_empty()>"Not set"</option>
                <option value="yes" selected=first == "yes">"Yes"</option>
                <option value="no" selected=first == "no">"No"</option>
            </select>
        }
        .into_any(),
        FieldKind::LongText => view! {
            <textarea id=id.clone() name=name.clone() rows="4" aria-describedby=described aria-invalid=invalid required=field.required>{first.clone()}</textarea>
        }
        .into_any(),
        kind => {
            let (input_type, step) = match kind {
                FieldKind::Integer => ("number", Some("1".to_owned())),
                FieldKind::Decimal => {
                    let step = if field.decimals > 0 { format!("0.{}1", "0".repeat(field.decimals as usize - 1)) } else { "1".into() };
                    ("text", Some(step))
                }
                FieldKind::Date => ("date", None),
                FieldKind::DateTime => ("datetime-local", None),
                FieldKind::Email => ("email", None),
                FieldKind::Url => ("url", None),
                FieldKind::Phone => ("tel", None),
                _ => ("text", None),
            };
            // Decimals are typed as text (any separator), but phones get a numeric keypad.
            let inputmode = (kind == FieldKind::Decimal).then_some("decimal");
            let step = step.filter(|_| input_type == "number");
            // URLs are checked by the server (example.com without a scheme is fine).
            let input_type = if kind == FieldKind::Url { "text" } else { input_type };
            view! {
                <input id=id.clone() name=name.clone() type=input_type step=step inputmode=inputmode value=first.clone()
                    aria-describedby=described aria-invalid=invalid required=field.required/>
            }
            .into_any()
        }
    };
    let unit = (field.kind == FieldKind::Decimal && !field.unit.is_empty())
        .then(|| view! { <span class="unit">{field.unit.clone()}</span> });
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint}
            {marker}
            {input}
            {unit}
            {error_view}
        </div>
    }
    .into_any()
}

/// The extra fields of the contact form, by section: the values the contact has (or, for a new
/// contact, the defaults).
#[component]
pub fn ExtraFieldsForm(
    catalog: FieldCatalog,
    values: ExtraInput,
    new_contact: bool,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    catalog
        .grouped()
        .into_iter()
        .map(|(section, fields)| {
            let inputs = fields
                .into_iter()
                .map(|f| {
                    let current = match values.get(&f.key) {
                        Some(v) => v.clone(),
                        None if new_contact && !f.default_value.is_empty() => {
                            // A select's default is an option label; its input wants the id.
                            match f.options.iter().find(|o| {
                                !o.retired && o.label.to_lowercase() == f.default_value.to_lowercase()
                            }) {
                                Some(o) => vec![o.id.to_string()],
                                None if f.kind.has_options() => Vec::new(),
                                None => vec![f.default_value.clone()],
                            }
                        }
                        None => Vec::new(),
                    };
                    view! { <ExtraFieldInput field=f current error/> }
                })
                .collect_view();
            view! {
                <fieldset class="extra-section">
                    <legend>{section}</legend>
                    <div class="form-grid">{inputs}</div>
                </fieldset>
            }
        })
        .collect_view()
}

/// The extra fields on a profile, by section: those with a value, or all of them for someone who
/// can edit (an empty one says so).
#[component]
pub fn ExtraFieldFacts(catalog: FieldCatalog, shown: super::ExtraShown, show_empty: bool) -> impl IntoView {
    catalog
        .grouped()
        .into_iter()
        .enumerate()
        .filter_map(|(i, (section, fields))| {
            let facts: Vec<_> = fields
                .into_iter()
                .filter_map(|f| match shown.get(&f.key) {
                    Some(value) => {
                        Some(view! { <dt>{f.label.clone()}</dt><dd>{value.clone()}</dd> }.into_any())
                    }
                    None if show_empty => Some(
                        view! { <dt>{f.label.clone()}</dt><dd class="empty">"Not filled in"</dd> }.into_any(),
                    ),
                    None => None,
                })
                .collect();
            (!facts.is_empty()).then(|| {
                // By position: two section names may look alike once made an id.
                let heading = format!("extra-section-{i}");
                let labelled = heading.clone();
                view! {
                    <section class="card" aria-labelledby=labelled>
                        <h2 id=heading>{section}</h2>
                        <dl class="facts">{facts}</dl>
                    </section>
                }
            })
        })
        .collect_view()
}
