//! The home page and the system status page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::api::system_status;
use crate::accounts::pages::Auth;
use crate::ui::Loaded;

/// The site's front door. Signed-in staff go on to their dashboard and clients to their portal
/// (a redirect from the server, so without JavaScript too); everyone else reads what this is and
/// finds the way in.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let status = Resource::new(|| (), |_| system_status());
    view! {
        <Title text="Welcome"/>
        {move || auth.user().map(|user| view! { <Redirect path=user.kind.home()/> })}
        <Loaded heading="Welcome">
            {move || Suspend::new(async move {
                status.await.map(|s| view! { <h1>{format!("Welcome to {}", s.organization_name)}</h1> })
            })}
        </Loaded>
        <p class="lead">
            "The customer-relationship manager of this business: staff keep contacts, their history and their tasks here; clients sign in to a portal to see the details kept about them."
        </p>
        <p><a class="button" href="/login">"Sign in"</a></p>
        <p>
            "No account yet? "
            <a href="/register">"Register"</a>
            ": the first account of a new installation becomes its administrator, later ones wait until an administrator activates them."
        </p>
    }
}

/// Proves the whole stack: rendered on the server, hydrated in the browser, and the button calls a
/// server function that reads the database again.
#[component]
pub fn StatusPage() -> impl IntoView {
    let checks = RwSignal::new(0u32);
    let status = Resource::new(move || checks.get(), |_| system_status());
    view! {
        <Title text="System status"/>
        <h1>"System status"</h1>
        <Loaded loading="Checking…">
            {move || Suspend::new(async move {
                status.await.map(|s| view! {
                    <dl class="facts">
                        <dt>"Organization"</dt><dd>{s.organization_name}</dd>
                        <dt>"Database"</dt>
                        <dd>{s.database.clone().map(|d| format!("{d}, reachable")).unwrap_or_else(|| "Reachable".into())}</dd>
                        {s.database.is_some().then(|| view! {
                            <dt>"Schema version"</dt>
                            <dd>{s.schema_version.clone().unwrap_or_else(|| "none".into())}</dd>
                        })}
                        <dt>"Checked at"</dt><dd data-testid="checked-at">{s.checked_at}</dd>
                    </dl>
                })
            })}
        </Loaded>
        <button type="button" class="button" on:click=move |_| checks.update(|n| *n += 1)>
            "Check again"
        </button>
        <p role="status">
            {move || match checks.get() {
                0 => "Checked when the page loaded.".to_owned(),
                1 => "Checked again once from this page.".to_owned(),
                n => format!("Checked again {n} times from this page."),
            }}
        </p>
    }
}
