//! The portal's layout with its three vertical tabs, and its pages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::api::my_details;
use crate::accounts::pages::{AreaLayout, Auth, LogoutButton};
use crate::accounts::UserKind;
use crate::ui::Loaded;

#[component]
pub fn PortalArea() -> impl IntoView {
    view! {
        <AreaLayout kind=UserKind::Client label="Portal">
            <A href="/portal" exact=true>"Dashboard"</A>
            <A href="/portal/details">"Your details"</A>
            <LogoutButton/>
        </AreaLayout>
    }
}

#[component]
pub fn PortalDashboardPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Title text="Your portal"/>
        <h1>{move || format!("Welcome, {}", auth.user().map(|u| u.display_name).unwrap_or_default())}</h1>
        <p class="lead">"This is your portal. Here you can see the details we keep about you."</p>
        <p><a href="/portal/details">"Check your details"</a></p>
    }
}

#[component]
pub fn PortalDetailsPage() -> impl IntoView {
    let details = Resource::new(|| (), |_| my_details());
    view! {
        <Title text="Your details"/>
        <h1>"Your details"</h1>
        <Loaded>
            {move || Suspend::new(async move {
                details.await.map(|d| view! {
                    <dl class="facts">
                        <dt>"Name"</dt><dd>{d.display_name}</dd>
                        <dt>"Email"</dt><dd>{d.email}</dd>
                        <dt>"Client since"</dt><dd>{d.member_since}</dd>
                        <dt>"Last sign-in"</dt><dd>{d.last_sign_in.unwrap_or_else(|| "This is your first visit".into())}</dd>
                    </dl>
                    {d.record.map(|r| view! {
                        <section class="card" aria-labelledby="record-heading">
                            <h2 id="record-heading">"What we have on file"</h2>
                            <dl class="facts">
                                <dt>"Name"</dt><dd>{r.name}</dd>
                                <dt>"Email"</dt><dd>{r.email}</dd>
                                <dt>"Phone"</dt><dd>{r.phone}</dd>
                                <dt>"Company"</dt><dd>{r.company}</dd>
                                <dt>"Address"</dt><dd>{r.address}</dd>
                                {r.fields.into_iter().map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> }).collect_view()}
                            </dl>
                        </section>
                    })}
                })
            })}
        </Loaded>
    }
}
