//! The security headers of every response: what a browser may load and run for the app's pages
//! (a Content-Security-Policy with a nonce per page), and that nothing else may frame, sniff or
//! read them.

/// The policy of a page: its own scripts (the hydration script carries the page's `nonce`, as
/// Leptos' other inline scripts do), the wasm, its own stylesheet and images, requests to itself
/// only; no plugins, no `<base>`, no framing by any site (a same-site page framing the app
/// invisibly made two clicks delete a contact), forms posting to itself only.
/// Inline `style` attributes stay allowed: tag and status badges carry their colour in one.
pub fn page_policy(nonce: &str) -> String {
    // `cargo leptos watch` reloads pages over a websocket of its own.
    let reload =
        if std::env::var_os("LEPTOS_WATCH").is_some() { " ws://127.0.0.1:* ws://localhost:*" } else { "" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// The policy of every other response (server functions, exports, files): nothing in it runs,
/// and nothing frames it.
pub const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// HSTS for a site served over HTTPS: browsers use HTTPS only, for a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Sets the page's policy, with the nonce Leptos gave this render; called by the shell.
pub fn send_page_policy() {
    use axum::http::{header, HeaderValue};
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}
