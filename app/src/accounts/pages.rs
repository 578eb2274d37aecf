//! The login and registration pages, the signed-in user's menu, and the guard of each area.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use super::api::{current_user, Login, Logout, Register};
use super::{SessionUser, UserKind};
use crate::error::AppError;
use crate::ui::{href, ErrorList, ForbiddenPage, FormAlert, FormField};

/// The signed-in user. The server loads them before it renders a page
/// (`middleware::load_page_user`) and sends them with it, so the page, its area guard and its
/// permission-dependent buttons render at once, the same on the server and in the hydrating
/// browser. After a sign-in or sign-out in this tab (`version` changes) they are loaded again.
#[derive(Clone, Copy)]
pub struct Auth {
    version: RwSignal<u32>,
    first: StoredValue<Result<Option<SessionUser>, AppError>>,
    reloaded: Resource<(u32, Result<Option<SessionUser>, AppError>)>,
}

impl Auth {
    pub fn provide() -> Self {
        let first = StoredValue::new(SharedValue::new(first_user).into_inner());
        let version = RwSignal::new(0u32);
        let reloaded = Resource::new(
            move || version.get(),
            move |version| {
                let first = first.get_value();
                async move {
                    match version {
                        0 => (0, first),
                        _ => (version, current_user().await),
                    }
                }
            },
        );
        let auth = Auth { version, first, reloaded };
        provide_context(auth);
        auth
    }

    /// The signed-in user without waiting: the page's own until this tab signs in or out, then
    /// the one loaded since (`None` while that load is under way).
    pub fn now(&self) -> Option<Result<Option<SessionUser>, AppError>> {
        match self.version.get() {
            0 => Some(self.first.get_value()),
            version => self.reloaded.get().filter(|(loaded, _)| *loaded == version).map(|(_, user)| user),
        }
    }

    /// The signed-in user, or `None` for a visitor, a failed load, or while a load is under way.
    pub fn user(&self) -> Option<SessionUser> {
        self.now().and_then(Result::ok).flatten()
    }

    /// Whether the signed-in user holds `permission`, for what a page offers.
    pub fn can(&self, permission: crate::accounts::Permission) -> bool {
        self.user().is_some_and(|u| u.can(permission))
    }

    fn changed(&self) {
        self.version.update(|v| *v += 1);
    }
}

/// The user the server loaded for this page; in the browser only a stand-in that hydration
/// replaces with what the server sent.
fn first_user() -> Result<Option<SessionUser>, AppError> {
    #[cfg(feature = "ssr")]
    if let Some(user) = crate::accounts::auth::page_user() {
        return user;
    }
    Ok(None)
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
    // The link the server writes to its log on a new installation carries the setup code; the
    // field also shows when a registration was refused for want of one.
    let code = use_query_map().with_untracked(|q| q.get("setup"));
    let asks_for_code = {
        let code = code.clone();
        move || code.is_some() || error.get().is_some_and(|e| e.field("setup_code").is_some())
    };
    view! {
        <Title text="Register"/>
        <div class="card narrow">
            <h1>"Register a staff account"</h1>
            <p class="hint">
                "An administrator activates new accounts. On a new installation, the setup code from the server's log makes the first account the administrator."
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
                    hint="At least 15 characters. A few unrelated words make a strong, memorable passphrase."
                    required=true
                    secret=true
                    error
                />
                <Show when=asks_for_code.clone()>
                    <FormField
                        label="Setup code"
                        name="setup_code"
                        autocomplete="off"
                        hint="Written to the server's log when it started without an administrator."
                        value=code.clone().unwrap_or_default()
                        error
                    />
                </Show>
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
    move || match auth.now() {
        Some(Ok(Some(user))) => {
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
        // Loading again after a sign-in or sign-out in this tab, or the user could not be
        // loaded (the page itself says so): no "Sign in" to someone who may be signed in.
        None | Some(Err(_)) => view! { <div class="user-menu"></div> }.into_any(),
        Some(Ok(None)) => view! {
            <div class="user-menu">
                <a href="/login" class="button">"Sign in"</a>
            </div>
        }
        .into_any(),
    }
}

/// Renders `children` only for a signed-in user of `kind`. The server has already refused
/// everyone else (see `middleware::guard_areas`); this keeps in-browser navigation honest. It
/// decides at once from `Auth::now`: a guard that waited inside a `<Transition>` made Leptos
/// create the page three times per request (a Suspense walks its children again to find what
/// they read), and each time the page fetched all its data.
#[component]
pub fn RequireKind(kind: UserKind, children: ChildrenFn) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = use_location();
    move || match auth.now() {
        Some(Ok(Some(user))) if user.kind == kind => children().into_any(),
        Some(Ok(Some(_))) => view! { <ForbiddenPage/> }.into_any(),
        Some(Ok(None)) => {
            let next = location.pathname.get_untracked();
            let href = href("/login", &[("next", &next)]);
            view! {
                <h1>"Please sign in"</h1>
                <p><a href=href>"Sign in to continue"</a></p>
            }
            .into_any()
        }
        Some(Err(e)) => {
            let errors = ArcRwSignal::new(Errors::default());
            errors.update(|list| list.insert_with_default_key(e));
            view! { <ErrorList errors/> }.into_any()
        }
        None => view! { <p>"Loading…"</p> }.into_any(),
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
