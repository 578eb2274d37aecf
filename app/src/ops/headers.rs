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

/// The nonce of one page request: made before the page renders and put in the request's
/// extensions, given to Leptos (which writes it on every script of the page) and sent in the
/// page's policy by [`middleware`]. (Setting the header from the shell left it out of a page
/// now and then, under load on PostgreSQL: the page's own scripts were then refused.)
#[derive(Clone, Debug)]
pub struct PageNonce(pub String);

impl PageNonce {
    fn new() -> Self {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        PageNonce(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// The nonce, before anything renders, and the page's policy on whatever is sent back as HTML.
pub async fn middleware(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    // Every request: an HTML answer to anything (a 404 for a path with a dot) is a page.
    let nonce = PageNonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let html =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if let (true, Ok(value)) = (html, HeaderValue::from_str(&page_policy(&nonce.0))) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res
}

/// Inside the render of a page (the router's context): hands Leptos this request's nonce.
pub fn provide_page_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce =
        use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<PageNonce>().cloned());
    if let Some(PageNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}
