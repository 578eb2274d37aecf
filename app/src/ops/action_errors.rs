//! Errors that a form posted without JavaScript carries back in the address: Leptos redirects to
//! the form with `__path` and `__err` (the error, serialised) in the query, and the page shows
//! it, with the values typed. Anybody can write such a link, so a crafted one made the app show
//! a message of the attacker's choosing in its own alert ("Your account is locked: call …").
//!
//! The server that answers the post signs what it wrote (`__sig`: the time and an HMAC-SHA256 of
//! the time, `__path` and `__err`), with a key kept in the database so that every app server
//! accepts the others' signatures; a page asked for with an unsigned, altered or stale error is
//! sent to the same address without it.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::OnceCell;

use crate::db::{DbError, DbPool};

/// How long after the post a signed error is still shown: enough to follow the redirect, too
/// short to send the link of one's own failed post to others.
pub const VALID_FOR_SECONDS: i64 = 600;

/// The setting that holds the key (hex); written once, by whichever server needs it first.
const KEY_SETTING: &str = "security.action_error_key";

/// What signs and checks the errors; cheap to clone (one key per database, read once).
#[derive(Clone)]
pub struct ActionErrors {
    pool: DbPool,
    key: Arc<OnceCell<Vec<u8>>>,
}

impl ActionErrors {
    pub fn new(pool: DbPool) -> Self {
        ActionErrors { pool, key: Arc::new(OnceCell::new()) }
    }

    async fn key(&self) -> Result<&[u8], DbError> {
        let key = self
            .key
            .get_or_try_init(|| async {
                use argon2::password_hash::rand_core::{OsRng, RngCore};
                let mut fresh = [0u8; 32];
                OsRng.fill_bytes(&mut fresh);
                let mut conn = self.pool.get().await?;
                let stored =
                    crate::system::repo::setting_or_insert(&mut conn, KEY_SETTING, &hex(&fresh)).await?;
                Ok::<_, DbError>(unhex(&stored).unwrap_or_else(|| stored.into_bytes()))
            })
            .await?;
        Ok(key)
    }
}

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

fn mac(key: &[u8], stamp: i64, path: &str, err: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in [stamp.to_string().as_str(), path, err] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// `__sig` for an error written at `stamp` (seconds since the epoch).
pub fn signature(key: &[u8], stamp: i64, path: &str, err: &str) -> String {
    format!("{stamp}.{}", hex(&mac(key, stamp, path, err).finalize().into_bytes()))
}

/// Whether `sig` signs `path` and `err` and is still fresh at `now`.
pub fn verify(key: &[u8], sig: &str, path: &str, err: &str, now: i64) -> bool {
    let Some((stamp, digest)) = sig.split_once('.') else { return false };
    let (Ok(stamp), Some(digest)) = (stamp.parse::<i64>(), unhex(digest)) else { return false };
    (0..=VALID_FOR_SECONDS).contains(&(now - stamp))
        && mac(key, stamp, path, err).verify_slice(&digest).is_ok()
}

/// The query's `__path`, `__err` and `__sig`, and the query without them.
fn split_query(query: &str) -> (Option<String>, Option<String>, Option<String>, String) {
    let (mut path, mut err, mut sig) = (None, None, None);
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "__path" => path = Some(v.into_owned()),
            "__err" => err = Some(v.into_owned()),
            "__sig" => sig = Some(v.into_owned()),
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    (path, err, sig, rest.finish())
}

/// Signs the errors of answers to posts, and drops unsigned ones from pages' addresses.
pub async fn middleware(errors: ActionErrors, req: Request, next: Next) -> Response {
    let now = chrono::Utc::now().timestamp();
    let query = req.uri().query().unwrap_or_default().to_owned();
    if req.method() == Method::GET && query.contains("__err") {
        let (path, err, sig, rest) = split_query(&query);
        if let Some(err) = err {
            let path = path.unwrap_or_default();
            let genuine = match (errors.key().await, sig) {
                (Ok(key), Some(sig)) => verify(key, &sig, &path, &err, now),
                _ => false,
            };
            if !genuine {
                tracing::warn!(page = %req.uri().path(), "a form error in the address without a valid signature was dropped");
                let target = match rest.is_empty() {
                    true => req.uri().path().to_owned(),
                    false => format!("{}?{rest}", req.uri().path()),
                };
                return (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
            }
        }
    }
    let post = req.method() == Method::POST;
    let mut res = next.run(req).await;
    if !post {
        return res;
    }
    let Some(location) = res.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()) else {
        return res;
    };
    let Some((base, query)) = location.split_once('?') else { return res };
    let (path, Some(err), _, _) = split_query(query) else { return res };
    let Ok(key) = errors.key().await else {
        // Without the key the error cannot be shown: the form comes back as it was sent.
        return res;
    };
    let signed = format!(
        "{base}?{query}&{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("__sig", &signature(key, now, &path.unwrap_or_default(), &err))
            .finish()
    );
    if let Ok(value) = HeaderValue::from_str(&signed) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    res
}
