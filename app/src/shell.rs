//! The document, the router and the layout every page shares.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes, A};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

use crate::accounts::pages::{Auth, LoginPage, RegisterPage, UserMenu};
use crate::activities::pages::ActivityEditPage;
use crate::contacts::pages::{ContactFormPage, ContactProfilePage, ContactsPage, TagsPage};
use crate::dashboard::pages::{DashboardPage, StaffArea};
use crate::fields::pages::{FieldEditPage, FieldsPage};
use crate::imports::pages::{ImportPage, ImportsPage};
use crate::portal::pages::{PortalArea, PortalDashboardPage, PortalDetailsPage};
use crate::segments::pages::{SegmentEditPage, SegmentPage, SegmentsPage, WhyPage};
use crate::settings::organisation::OrganisationPage;
use crate::settings::pages::SettingsPage;
use crate::system::pages::{HomePage, StatusPage};
use crate::ui::NotFoundPage;
use crate::users::pages::{
    AuditLogPage, GroupEditPage, GroupsPage, ProfilePage, SetPasswordPage, UserEditPage, UsersPage,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // A release names the stylesheet, the wasm and its script by their hashes.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Auth::provide();
    // Every route renders completely on the server before it is sent (SsrMode::Async): pages
    // must work without JavaScript, and out-of-order streaming needs a script to put the
    // resolved parts in place.
    // Effects run only in the browser, so this flips once the wasm has hydrated the page.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title formatter=|page: String| format!("{page} · CRM")/>
        <Router>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                <header class="site-header">
                    <A href="/" attr:class="brand">"CRM"</A>
                    <nav aria-label="Main">
                        <A href="/status">"System status"</A>
                    </nav>
                    <UserMenu/>
                </header>
                <main id="main">
                    <Routes fallback=NotFoundPage>
                        <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("status") view=StatusPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("login") view=LoginPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("register") view=RegisterPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("set-password") view=SetPasswordPage ssr=SsrMode::Async/>
                        <ParentRoute path=StaticSegment("staff") view=StaffArea ssr=SsrMode::Async>
                            <Route path=StaticSegment("") view=DashboardPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("contacts") view=ContactsPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("contacts"), StaticSegment("new")) view=ContactFormPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("contacts"), ParamSegment("id")) view=ContactProfilePage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("contacts"), ParamSegment("id"), StaticSegment("edit")) view=ContactFormPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("activities"), ParamSegment("id")) view=ActivityEditPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("tags") view=TagsPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("segments") view=SegmentsPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("segments"), StaticSegment("new")) view=SegmentEditPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("segments"), ParamSegment("id")) view=SegmentPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("segments"), ParamSegment("id"), StaticSegment("edit")) view=SegmentEditPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("segments"), ParamSegment("id"), StaticSegment("why"), ParamSegment("contact")) view=WhyPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("imports") view=ImportsPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("imports"), ParamSegment("id")) view=ImportPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("settings") view=SettingsPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("settings"), StaticSegment("organisation")) view=OrganisationPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("settings"), StaticSegment("fields")) view=FieldsPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("settings"), StaticSegment("fields"), ParamSegment("id")) view=FieldEditPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("users") view=UsersPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("users"), ParamSegment("id")) view=UserEditPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("groups") view=GroupsPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("groups"), StaticSegment("new")) view=GroupEditPage ssr=SsrMode::Async/>
                            <Route path=(StaticSegment("groups"), ParamSegment("id")) view=GroupEditPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("audit") view=AuditLogPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("profile") view=ProfilePage ssr=SsrMode::Async/>
                        </ParentRoute>
                        <ParentRoute path=StaticSegment("portal") view=PortalArea ssr=SsrMode::Async>
                            <Route path=StaticSegment("") view=PortalDashboardPage ssr=SsrMode::Async/>
                            <Route path=StaticSegment("details") view=PortalDetailsPage ssr=SsrMode::Async/>
                        </ParentRoute>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}
