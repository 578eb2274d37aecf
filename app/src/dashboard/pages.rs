//! The staff area's layout and its dashboard page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::api::load_dashboard;
use crate::accounts::pages::{AreaLayout, Auth};
use crate::accounts::Permission;
use crate::accounts::UserKind;
use crate::activities::pages::MyOpenTasks;
use crate::contacts::pages::StatusBadge;
use crate::contacts::ContactListParams;
use crate::ui::Loaded;

/// Every staff page sits inside this: the guard, then the staff navigation beside the page.
#[component]
pub fn StaffArea() -> impl IntoView {
    let auth = expect_context::<Auth>();
    // Only a convenience: the server refuses these pages' data to anyone without the permission.
    let can = move |p: Permission| auth.can(p);
    let can_manage_users = move || can(Permission::UsersManage);
    let can_view_contacts = move || can(Permission::ContactsView);
    let can_manage_settings = move || can(Permission::SettingsManage);
    let can_manage_fields = move || can(Permission::FieldsManage);
    let can_import = move || can(Permission::ContactsImport);
    let is_admin = move || auth.user().is_some_and(|u| u.is_admin);
    view! {
        <AreaLayout kind=UserKind::Staff label="Staff">
            <A href="/staff" exact=true>"Dashboard"</A>
            <Show when=can_view_contacts>
                <A href="/staff/contacts">"Contacts"</A>
                <A href="/staff/tags">"Tags"</A>
                <A href="/staff/segments">"Segments"</A>
            </Show>
            <Show when=can_import>
                <A href="/staff/imports">"Import"</A>
            </Show>
            <Show when=can_manage_users>
                <A href="/staff/users">"Users"</A>
                <A href="/staff/groups">"Groups"</A>
                <A href="/staff/audit">"Audit log"</A>
            </Show>
            <Show when=can_manage_settings>
                <A href="/staff/settings" exact=true>"Settings"</A>
            </Show>
            <Show when=can_manage_fields>
                <A href="/staff/settings/fields">"Contact fields"</A>
            </Show>
            <Show when=is_admin>
                <A href="/staff/settings/organisation">"Organisation"</A>
            </Show>
            <A href="/staff/profile">"Your profile"</A>
        </AreaLayout>
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let summary = Resource::new(|| (), |_| load_dashboard());
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <Loaded>
            {move || Suspend::new(async move {
                summary.await.map(|s| view! {
                    <p class="lead">{format!("Good to see you, {}.", s.display_name)}</p>
                    <p>{format!("You are working in {}.", s.organization_name)}</p>
                    {s.contacts.map(|(total, statuses)| view! {
                        <section class="card" aria-labelledby="contacts-heading">
                            <h2 id="contacts-heading">"Contacts"</h2>
                            <p class="big-number">{match total { 1 => "1 contact".to_owned(), n => format!("{n} contacts") }}</p>
                            <p>
                                {s.can_add_contacts.then(|| view! { <a class="button" href="/staff/contacts/new">"Add contact"</a> " " })}
                                <a class="button secondary" href="/staff/contacts">"View all contacts"</a>
                            </p>
                            <table>
                                <caption>"Contacts by status"</caption>
                                <thead><tr><th scope="col">"Status"</th><th scope="col">"Contacts"</th></tr></thead>
                                <tbody>
                                    {statuses.into_iter().map(|row| view! {
                                        <tr>
                                            <td><StatusBadge status=row.status.clone()/></td>
                                            <td><a href=ContactListParams { status: Some(row.status.id.to_string()), ..Default::default() }.href("/staff/contacts")>{row.contacts}</a></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    })}
                    {s.pending_activations.map(|n| view! {
                        <p class="alert alert-ok" role="status">
                            {match n {
                                0 => "No staff accounts are waiting for activation.".to_owned(),
                                1 => "1 staff account is waiting for activation.".to_owned(),
                                n => format!("{n} staff accounts are waiting for activation."),
                            }}
                        </p>
                    })}
                })
            })}
        </Loaded>
        <MyOpenTasks/>
    }
}
