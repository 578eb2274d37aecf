//! The settings page: statuses (with colours), services and traffic sources, each with its
//! contact counts, and forms to add, rename, reorder and delete entries.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{settings_lists, AddSetting, DeleteSetting, MoveSetting, RenameSetting};
use super::{SettingItem, SettingsList};
use crate::ui::{error_of, saved_notice, FormAlert, Loaded};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let add = ServerAction::<AddSetting>::new();
    let rename = ServerAction::<RenameSetting>::new();
    let reorder = ServerAction::<MoveSetting>::new();
    let delete = ServerAction::<DeleteSetting>::new();
    let lists = Resource::new(
        move || {
            (add.version().get(), rename.version().get(), reorder.version().get(), delete.version().get())
        },
        |_| settings_lists(),
    );
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        {saved_notice()}
        <Loaded>
            {move || Suspend::new(async move {
                lists.await.map(|lists| {
                    lists
                        .into_iter()
                        .map(|(list, items)| view! { <ListSection list items add rename reorder delete/> })
                        .collect_view()
                })
            })}
        </Loaded>
    }
}

#[component]
fn ListSection(
    list: SettingsList,
    items: Vec<SettingItem>,
    add: ServerAction<AddSetting>,
    rename: ServerAction<RenameSetting>,
    reorder: ServerAction<MoveSetting>,
    delete: ServerAction<DeleteSetting>,
) -> impl IntoView {
    let key = list.key();
    let (heading, labelled_by) = (format!("{key}-heading"), format!("{key}-heading"));
    let colored = list == SettingsList::Statuses;
    let (add_error, rename_error, delete_error) =
        (error_of(add.value()), error_of(rename.value()), error_of(delete.value()));
    // A form error names the list whose form was sent; only that section shows it.
    let mine = move |e: Signal<Option<crate::error::AppError>>| {
        Signal::derive(move || e.get().filter(|e| e.value("list").is_none_or(|l| l == key)))
    };
    let (add_error, rename_error, delete_error) = (mine(add_error), mine(rename_error), mine(delete_error));
    let names: Vec<(i64, String)> = items.iter().map(|i| (i.id, i.name.clone())).collect();
    let options = move |names: Vec<(i64, String)>| {
        names
            .into_iter()
            .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> })
            .collect_view()
    };
    let (n1, n2, n3) = (names.clone(), names.clone(), names);
    let field = move |what: &str| format!("{key}-{what}");
    let message = move |e: Signal<Option<crate::error::AppError>>, name: &'static str| {
        move || e.get().and_then(|e| e.field(name)).map(|m| view! { <p class="field-error">{m}</p> })
    };
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading>{list.title()}</h2>
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Contacts"</th>
                        <th scope="col">"Order"</th>
                    </tr>
                </thead>
                <tbody>
                    {items.into_iter().map(|item| {
                        let style = item.color.clone().map(|c| format!("--badge: {c}"));
                        let name = item.name.clone();
                        let count_label = format!("{} contacts: {}", item.contacts, item.name);
                        let (up_label, down_label) = (format!("Move {} up", item.name), format!("Move {} down", item.name));
                        view! {
                            <tr>
                                <td>{match style {
                                    Some(style) => view! { <span class="badge" style=style>{name.clone()}</span> }.into_any(),
                                    None => name.clone().into_any(),
                                }}</td>
                                <td><a href=format!("/staff/contacts?{}={}", list.filter(), item.id) aria-label=count_label>{item.contacts}</a></td>
                                <td class="order">
                                    <ActionForm action=reorder>
                                        <input type="hidden" name="list" value=key/>
                                        <input type="hidden" name="id" value=item.id.to_string()/>
                                        <input type="hidden" name="direction" value="up"/>
                                        <button type="submit" class="secondary" aria-label=up_label>"↑"</button>
                                    </ActionForm>
                                    <ActionForm action=reorder>
                                        <input type="hidden" name="list" value=key/>
                                        <input type="hidden" name="id" value=item.id.to_string()/>
                                        <input type="hidden" name="direction" value="down"/>
                                        <button type="submit" class="secondary" aria-label=down_label>"↓"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h3>{format!("Add a {}", list.singular().to_lowercase())}</h3>
            <ActionForm action=add attr:class="filters">
                <input type="hidden" name="list" value=key/>
                <div class="field">
                    <label for=field("add-name")>"Name"</label>
                    <input id=field("add-name") name="name" required=true/>
                </div>
                {colored.then(|| view! {
                    <div class="field">
                        <label for=field("add-color")>"Colour"</label>
                        <input id=field("add-color") name="color" type="color" value="#64748b"/>
                    </div>
                })}
                <button type="submit">"Add"</button>
            </ActionForm>
            <FormAlert error=add_error/>
            {message(add_error, "name")}
            {message(add_error, "color")}
            <h3>{format!("Rename a {}", list.singular().to_lowercase())}</h3>
            <ActionForm action=rename attr:class="filters">
                <input type="hidden" name="list" value=key/>
                <div class="field">
                    <label for=field("rename-id")>{format!("{} to rename", list.singular())}</label>
                    <select id=field("rename-id") name="id">{options(n1)}</select>
                </div>
                <div class="field">
                    <label for=field("rename-name")>"New name"</label>
                    <input id=field("rename-name") name="name" required=true/>
                </div>
                {colored.then(|| view! {
                    <div class="field">
                        <label for=field("rename-color")>"New colour"</label>
                        <input id=field("rename-color") name="color" type="color" value="#64748b"/>
                    </div>
                })}
                <button type="submit">"Rename"</button>
            </ActionForm>
            <FormAlert error=rename_error/>
            {message(rename_error, "name")}
            <h3>{format!("Delete a {}", list.singular().to_lowercase())}</h3>
            <ActionForm action=delete attr:class="filters">
                <input type="hidden" name="list" value=key/>
                <div class="field">
                    <label for=field("delete-id")>{format!("{} to delete", list.singular())}</label>
                    <select id=field("delete-id") name="id">{options(n2)}</select>
                </div>
                <div class="field">
                    <label for=field("delete-move")>"Move its contacts to"</label>
                    <select id=field("delete-move") name="move_to">
                        <option value="">"None"</option>
                        {options(n3)}
                    </select>
                </div>
                <div class="checkbox">
                    <input type="checkbox" id=field("delete-confirm") name="confirm" value="yes" required=true/>
                    <label for=field("delete-confirm")>"Yes, delete it"</label>
                </div>
                <button type="submit" class="danger">"Delete"</button>
            </ActionForm>
            <FormAlert error=delete_error/>
            {message(delete_error, "move_to")}
        </section>
    }
}
