//! Errors that a form posted without JavaScript carries back in the address: Leptos redirects to
//! the form with `__path` and `__err` (the error, serialised) in the query, and the page shows
//! it, with the values typed. Anybody can write such a link, so a crafted one made the app show
//! a message of the attacker's choosing in its own alert ("Your account is locked: call …").
//!
//! The server that answers the post signs what Leptos wrote (`__sig`: the time and an
//! HMAC-SHA256 of the time, the page, `__path` and `__err`) with the database's key
//! ([`DbPool::server_key`]), so every app server accepts the others' signatures. It signs only
//! the redirect back to the form the post came from (the `Referer` with the pair appended); an
//! `__err` in any other redirect (a `next=` or `back=` chosen by the poster) is taken out. A page
//! asked for with an unsigned, altered, moved or stale error is sent to the same address
//! without it.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::DbPool;

/// How long after the post a signed error is still shown: enough to follow the redirect, too
/// short to send the link of one's own failed post to others. Servers' clocks may differ by
/// [`CLOCK_SKEW_SECONDS`].
pub const VALID_FOR_SECONDS: i64 = 600;
pub const CLOCK_SKEW_SECONDS: i64 = 60;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    text.len()
        .is_multiple_of(2)
        .then(|| {
            (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
        })
        .flatten()
}

/// The cookie that ties a signed error to the browser that posted the form: a link with
/// somebody else's error (a genuine one, whose message echoes what its poster typed) shows
/// nothing in another browser.
pub const BROWSER_COOKIE: &str = "crm_form_error";

fn mac(key: &[u8], stamp: i64, browser: &str, page: &str, path: &str, err: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in ["form error", stamp.to_string().as_str(), browser, page, path, err] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// `__sig` for an error written at `stamp` (seconds since the epoch) for the form at `page`
/// (its path and the rest of its query).
pub fn signature(key: &[u8], stamp: i64, browser: &str, page: &str, path: &str, err: &str) -> String {
    format!("{stamp}.{}", hex(&mac(key, stamp, browser, page, path, err).finalize().into_bytes()))
}

/// Whether `sig` signs `err` of `path` for `page` and is still fresh at `now`.
pub fn verify(key: &[u8], sig: &str, browser: &str, page: &str, path: &str, err: &str, now: i64) -> bool {
    let Some((stamp, digest)) = sig.split_once('.') else { return false };
    let (Ok(stamp), Some(digest)) = (stamp.parse::<i64>(), unhex(digest)) else { return false };
    (-CLOCK_SKEW_SECONDS..=VALID_FOR_SECONDS).contains(&(now - stamp))
        && mac(key, stamp, browser, page, path, err).verify_slice(&digest).is_ok()
}

/// This browser's [`BROWSER_COOKIE`], if it sent one.
fn browser_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == BROWSER_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A query's `__path`, `__err` and `__sig` (the last of each, as the newest error is appended
/// last), and the query without them, re-encoded. Names are compared decoded, as Leptos reads
/// them (`%5F%5Ferr` is `__err`).
struct Split {
    path: Option<String>,
    err: Option<String>,
    sig: Option<String>,
    rest: String,
}

fn split_query(query: &str) -> Split {
    let mut split = Split { path: None, err: None, sig: None, rest: String::new() };
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "__path" => split.path = Some(v.into_owned()),
            "__err" => split.err = Some(v.into_owned()),
            "__sig" => split.sig = Some(v.into_owned()),
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    split.rest = rest.finish();
    split
}

/// `path?rest`, or `path` alone.
fn with_query(path: &str, rest: &str) -> String {
    if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{rest}")
    }
}

/// The page a URL or path-and-query names (path and the query without the error's parts), for
/// comparing a redirect with the form it came from.
fn page_of(target: &str) -> (String, Split) {
    let target = target.split('#').next().unwrap_or_default();
    let without_origin = match target.split_once("://") {
        Some((_, rest)) if !target.starts_with('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => target,
    };
    let (path, query) = without_origin.split_once('?').unwrap_or((without_origin, ""));
    let split = split_query(query);
    (with_query(path, &split.rest), split)
}

/// Signs the errors of answers to posts, and drops unsigned ones from pages' addresses.
pub async fn middleware(pool: DbPool, req: Request, next: Next) -> Response {
    let now = chrono::Utc::now().timestamp();
    if req.method() == Method::GET {
        if let Some(query) = req.uri().query().filter(|q| !q.is_empty()) {
            let split = split_query(query);
            if let Some(err) = &split.err {
                let page = with_query(req.uri().path(), &split.rest);
                let browser = browser_of(req.headers()).unwrap_or_default();
                let genuine = match (pool.server_key().await, &split.sig) {
                    (Ok(key), Some(sig)) => {
                        verify(key, sig, &browser, &page, split.path.as_deref().unwrap_or_default(), err, now)
                    }
                    _ => false,
                };
                if !genuine {
                    tracing::warn!(page = %req.uri().path(), "a form error in the address without a valid signature was dropped");
                    // A path of `//elsewhere` would be another site's address: one slash only.
                    let local = format!("/{}", req.uri().path().trim_start_matches(['/', '\\']));
                    return (StatusCode::SEE_OTHER, [(header::LOCATION, with_query(&local, &split.rest))])
                        .into_response();
                }
            }
        }
    }
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let referer = req.headers().get(header::REFERER).and_then(|r| r.to_str().ok()).map(page_of);
    let browser = browser_of(req.headers());
    let mut res = next.run(req).await;
    let Some(location) = res.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()) else {
        return res;
    };
    let (page, split) = page_of(location);
    let Some(err) = split.err else { return res };
    let origin = location.split_once("://").map(|(scheme, rest)| {
        let host = rest.split('/').next().unwrap_or_default();
        format!("{scheme}://{host}")
    });
    let path = split.path.unwrap_or_default();
    // Leptos' own error redirect: its error answer names the server function (and only an error
    // answer does), and it goes back to the page the form was posted from. Anything else with an
    // `__err` (in a `next=` the poster chose) is not signed.
    let from_the_function =
        res.headers().get("serverfnerror").is_some_and(|f| f.as_bytes() == path.as_bytes());
    let back_to_the_form = from_the_function && referer.as_ref().is_some_and(|(form, _)| *form == page);
    let key = pool.server_key().await;
    let target = match (back_to_the_form, key) {
        (true, Ok(key)) => {
            let browser = browser
                .filter(|b| b.len() == 32 && b.bytes().all(|c| c.is_ascii_hexdigit()))
                .unwrap_or_else(|| {
                    use argon2::password_hash::rand_core::{OsRng, RngCore};
                    let mut bytes = [0u8; 16];
                    OsRng.fill_bytes(&mut bytes);
                    hex(&bytes)
                });
            let cookie = format!(
                "{BROWSER_COOKIE}={browser}; Max-Age={VALID_FOR_SECONDS}; Path=/; HttpOnly; SameSite=Lax"
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, value);
            }
            let signed = form_urlencoded::Serializer::new(split.rest.clone())
                .append_pair("__path", &path)
                .append_pair("__err", &err)
                .append_pair("__sig", &signature(key, now, &browser, &page, &path, &err))
                .finish();
            let (page_path, _) = page.split_once('?').unwrap_or((&page, ""));
            with_query(page_path, &signed)
        }
        // Someone else's error (in a `next=` the poster chose), or no key to sign with: the
        // redirect goes where it was going, without it.
        _ => page,
    };
    let target = format!("{}{target}", origin.unwrap_or_default());
    if let Ok(value) = HeaderValue::from_str(&target) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    res
}
