//! Small components every slice uses: loading and error display, form fields, the pager, links
//! with a query, the 404 page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::error::AppError;

/// Renders the errors an `<ErrorBoundary>` caught, in words a person can act on.
#[component]
pub fn ErrorList(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="alert alert-error" role="alert">
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, e)| view! { <li>{e.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

/// A part of a page that waits for its data, the same way everywhere: `loading` while the data
/// comes (or, once shown, the old view until the new one is ready), the errors if it fails, the
/// children's view when it is there. Pages whose `<h1>` comes with the data give `heading`, so
/// that a loading or failed page still has its one `<h1>`. Children are the usual
/// `move || Suspend::new(async move { resource.await.map(|data| view! { … }) })`.
#[component]
pub fn Loaded(
    #[prop(optional)] heading: Option<&'static str>,
    #[prop(default = "Loading…")] loading: &'static str,
    children: Children,
) -> impl IntoView {
    let heading = move || heading.map(|h| view! { <h1>{h}</h1> });
    view! {
        <Transition fallback=move || view! { {heading()} <p>{loading}</p> }>
            <ErrorBoundary fallback=move |errors| view! { {heading()} <ErrorList errors/> }>
                {children()}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <h1>"Page not found"</h1>
        <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
        <p><a href="/">"Go to the home page"</a></p>
    }
}

/// Shown when a signed-in person opens a page of the other area. The server also answers 403.
#[component]
pub fn ForbiddenPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="No access"/>
        <h1>"You do not have access to this page"</h1>
        <p>"You are signed in with an account that cannot open this part of the site."</p>
        <p><a href="/">"Go to the home page"</a></p>
    }
}

/// A labelled input with its error message underneath. After a failed submission the message
/// comes from `error`; without JavaScript the typed value comes back from it too.
#[component]
pub fn FormField(
    label: &'static str,
    /// The field's key: its id, its error message and its echoed value go by it.
    name: &'static str,
    /// The server function's struct argument the field belongs to: the input is then named
    /// `of[name]` (e.g. `input[first_name]`).
    #[prop(optional)]
    of: Option<&'static str>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    /// Passwords are never echoed back.
    #[prop(optional)]
    secret: bool,
    /// The value the field starts with (what is stored now).
    #[prop(optional, into)]
    value: Option<String>,
    #[prop(into)] error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let initial = value;
    let input_name = of.map(|arg| format!("{arg}[{name}]")).unwrap_or_else(|| name.to_owned());
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let message = move || error.get().and_then(|e| e.field(name));
    let value = move || {
        if secret {
            None
        } else {
            error.get().and_then(|e| e.value(name)).or_else(|| initial.clone())
        }
    };
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=input_name
                type=input_type
                autocomplete=autocomplete
                required=required
                value=value
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described_by
            />
            {move || message().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// The message of a failed form submission, above the form.
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<crate::error::AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <div class="alert alert-error" role="alert">{e.form_message()}</div> }
        })
    }
}

/// The error of a server action's last call, for the form components.
pub fn error_of<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> Signal<Option<AppError>> {
    Signal::derive(move || value.get().and_then(Result::err))
}

/// "Changes saved." / "Deleted." after a redirect with `?saved=1` / `?deleted=1`.
pub fn saved_notice() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let text = if q.get("saved").is_some() {
            Some("Changes saved.")
        } else if q.get("logged").is_some() {
            Some("Activity logged.")
        } else if q.get("deleted").is_some() {
            Some("Deleted.")
        } else {
            None
        };
        text.map(|t| view! { <div class="alert alert-ok" role="status">{t}</div> })
    }
}

/// What a query value keeps as it is: letters, digits, RFC 3986's unreserved `-_.~`, and `/`
/// (allowed in a query, and it keeps `?next=/staff` readable).
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// One value for a URL's query, percent-encoded (UTF-8), the same on the server and in the browser.
pub fn encode_query_value(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// `path?key=value&…`, with the values encoded and the empty ones left out; just `path` when
/// nothing is left. Every link with a query is built here.
pub fn href(path: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Previous/next links of a paged list; `href` gives the address of a page.
#[component]
pub fn Pager(href: impl Fn(i64) -> String + 'static, page: i64, pages: i64) -> impl IntoView {
    (pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {(page > 1).then(|| view! { <a href=href(page - 1)>"Previous page"</a> })}
                <span>{format!("Page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a href=href(page + 1)>"Next page"</a> })}
            </nav>
        }
    })
}

/// The `:id` of the current route.
pub fn id_param() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::href;

    #[test]
    fn links_encode_their_values_and_leave_out_empty_ones() {
        assert_eq!(href("/staff/contacts", &[("q", ""), ("tag", "")]), "/staff/contacts");
        assert_eq!(
            href("/staff/contacts", &[("q", "Müller & Söhne"), ("status", ""), ("page", "2")]),
            "/staff/contacts?q=M%C3%BCller%20%26%20S%C3%B6hne&page=2"
        );
        assert_eq!(
            href("/login", &[("next", "/portal/details?tab=1")]),
            "/login?next=/portal/details%3Ftab%3D1"
        );
        assert_eq!(href("/x", &[("q", "O'Brien (🚀)")]), "/x?q=O%27Brien%20%28%F0%9F%9A%80%29");
    }
}
