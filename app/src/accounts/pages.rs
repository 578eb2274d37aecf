//! The login and registration pages, the signed-in user's menu, and the guard of each area.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use super::api::{current_user, Login, Logout, Register};
use super::{SessionUser, UserKind};
use crate::error::AppError;
use crate::ui::{href, ErrorList, ForbiddenPage, FormAlert, FormField};

/// The signed-in user, loaded with the page and reloaded whenever `version` changes (after a
/// sign-in or sign-out in this tab).
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<SessionUser>, AppError>>,
    pub version: RwSignal<u32>,
}

impl Auth {
    pub fn provide() -> Self {
        let version = RwSignal::new(0u32);
        let user = Resource::new(move || version.get(), |_| current_user());
        let auth = Auth { user, version };
        provide_context(auth);
        auth
    }

    fn changed(&self) {
        self.version.update(|v| *v += 1);
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            auth.changed();
        }
    });
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let notice = move || {
        let q = query.read();
        match (q.get("registered").as_deref(), q.get("signed_out").is_some()) {
            (Some("admin"), _) => Some("Your administrator account is ready. Sign in to continue."),
            (Some(_), _) => Some(
                "Thank you for registering. An administrator must activate your account before you can sign in.",
            ),
            (None, true) => Some("You have been signed out."),
            (None, false) if q.get("password_set").is_some() => Some("Your new password is set. Sign in with it."),
            (None, false) => None,
        }
    };
    let next = move || {
        error.get().and_then(|e| e.value("next")).or_else(|| query.read().get("next")).unwrap_or_default()
    };
    view! {
        <Title text="Sign in"/>
        <div class="card narrow">
            <h1>"Sign in"</h1>
            {move || notice().map(|n| view! { <div class="alert alert-ok" role="status">{n}</div> })}
            <ActionForm action>
                <FormAlert error/>
                <input type="hidden" name="next" prop:value=next value=next/>
                <FormField label="Email" name="email" input_type="email" autocomplete="username" required=true error/>
                <FormField
                    label="Password"
                    name="password"
                    input_type="password"
                    autocomplete="current-password"
                    required=true
                    secret=true
                    error
                />
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <p>"New to the team? " <a href="/register">"Register a staff account"</a></p>
        </div>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Register"/>
        <div class="card narrow">
            <h1>"Register a staff account"</h1>
            <p class="hint">
                "An administrator activates new accounts. On a new installation, the first account becomes the administrator."
            </p>
            <ActionForm action>
                <FormAlert error/>
                <FormField label="Your name" name="display_name" autocomplete="name" required=true error/>
                <FormField label="Email" name="email" input_type="email" autocomplete="email" required=true error/>
                <FormField
                    label="Password"
                    name="password"
                    input_type="password"
                    autocomplete="new-password"
                    hint="At least 10 characters. A few unrelated words make a strong, memorable passphrase."
                    required=true
                    secret=true
                    error
                />
                <button type="submit">"Register"</button>
            </ActionForm>
            <p>"Already have an account? " <a href="/login">"Sign in"</a></p>
        </div>
    }
}

/// A sign-out button; a real form, so it works without JavaScript too.
#[component]
pub fn LogoutButton(#[prop(optional)] class: &'static str) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let action = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            auth.changed();
        }
    });
    view! {
        <ActionForm action attr:class="logout-form">
            <button type="submit" class=class>"Log out"</button>
        </ActionForm>
    }
}

/// The right-hand side of the header: the signed-in user and the way out, or the way in.
#[component]
pub fn UserMenu() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) => {
                        let home = user.kind.home();
                        let area = match user.kind {
                            UserKind::Staff => "Dashboard",
                            UserKind::Client => "Your portal",
                        };
                        view! {
                            <div class="user-menu">
                                <a href=home>{area}</a>
                                <span class="user-name">{user.display_name}</span>
                                <LogoutButton class="secondary"/>
                            </div>
                        }
                            .into_any()
                    }
                    _ => view! {
                        <div class="user-menu">
                            <a href="/login" class="button">"Sign in"</a>
                        </div>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

/// Renders `children` only for a signed-in user of `kind`. The server has already refused
/// everyone else (see `middleware::guard_areas`); this keeps in-browser navigation honest.
#[component]
pub fn RequireKind(kind: UserKind, children: ChildrenFn) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = use_location();
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) if user.kind == kind => children().into_any(),
                        Ok(Some(_)) => view! { <ForbiddenPage/> }.into_any(),
                        Ok(None) => {
                            let next = location.pathname.get_untracked();
                            let href = href("/login", &[("next", &next)]);
                            view! {
                                <h1>"Please sign in"</h1>
                                <p><a href=href>"Sign in to continue"</a></p>
                            }
                                .into_any()
                        }
                        Err(e) => {
                            let errors = ArcRwSignal::new(Errors::default());
                            errors.update(|list| list.insert_with_default_key(e));
                            view! { <ErrorList errors/> }.into_any()
                        }
                    }
                })
            }}
        </Transition>
    }
}

/// The frame of an area: the guard, the area's vertical navigation (`children`), and the page.
#[component]
pub fn AreaLayout(kind: UserKind, label: &'static str, children: ChildrenFn) -> impl IntoView {
    view! {
        <RequireKind kind>
            <div class="tabs-layout">
                <nav class="tabs" aria-label=label>
                    {children()}
                </nav>
                <section>
                    <leptos_router::components::Outlet/>
                </section>
            </div>
        </RequireKind>
    }
}
