//! The staff area's layout and its dashboard page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::api::load_dashboard;
use crate::accounts::pages::{AreaLayout, Auth};
use crate::accounts::UserKind;
use crate::ui::ErrorList;
use crate::users::Permission;

/// Every staff page sits inside this: the guard, then the staff navigation beside the page.
#[component]
pub fn StaffArea() -> impl IntoView {
    let auth = expect_context::<Auth>();
    // Only a convenience: the server refuses these pages' data to anyone without the permission.
    let can_manage_users = move || {
        auth.user.get().and_then(Result::ok).flatten().is_some_and(|u| u.can(Permission::UsersManage))
    };
    view! {
        <AreaLayout kind=UserKind::Staff label="Staff">
            <A href="/staff" exact=true>"Dashboard"</A>
            <Show when=can_manage_users>
                <A href="/staff/users">"Users"</A>
                <A href="/staff/groups">"Groups"</A>
                <A href="/staff/audit">"Audit log"</A>
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
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorList errors/> }>
                {move || Suspend::new(async move {
                    summary.await.map(|s| view! {
                        <p class="lead">{format!("Good to see you, {}.", s.display_name)}</p>
                        <p>{format!("You are working in {}.", s.organization_name)}</p>
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
            </ErrorBoundary>
        </Transition>
    }
}
