//! The home page and the system status page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::system_status;
use crate::ui::{ErrorList, Loaded};

#[component]
pub fn HomePage() -> impl IntoView {
    let status = Resource::new(|| (), |_| system_status());
    view! {
        <Title text="Welcome"/>
        <Transition fallback=|| view! { <h1>"Welcome"</h1> }>
            <ErrorBoundary fallback=|errors| view! { <h1>"Welcome"</h1> <ErrorList errors/> }>
                {move || Suspend::new(async move {
                    status.await.map(|s| view! { <h1>{format!("Welcome to {}", s.organization_name)}</h1> })
                })}
            </ErrorBoundary>
        </Transition>
        <p class="lead">"Customer relationships for small teams: contacts, activities, segments and a client portal."</p>
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
                        <dt>"Database"</dt><dd>{format!("{}, reachable", s.database)}</dd>
                        <dt>"Schema version"</dt><dd>{s.schema_version.unwrap_or_else(|| "none".into())}</dd>
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
