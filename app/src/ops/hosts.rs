//! Which names the site answers to. A request for any other host is refused before anything
//! else: links built from it would point elsewhere, and a browser tricked by DNS rebinding (an
//! attacker's domain made to resolve to 127.0.0.1) would otherwise reach a local installation
//! with the attacker's page as its origin.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The allowed host names (without ports), or any.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts(Option<Vec<String>>);

/// Names that always reach a server on its own machine (probes, `server healthcheck`).
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl AllowedHosts {
    /// Any host (a server that listens beyond loopback with no public address configured).
    pub fn any() -> Self {
        AllowedHosts(None)
    }

    /// Only `names` (and the loopback names); each is a host name, an IP address, or a URL or
    /// `host:port` whose host is taken.
    pub fn only<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut list: Vec<String> = names.into_iter().filter_map(host_of).collect();
        list.extend(LOOPBACK.iter().map(|n| (*n).to_owned()));
        AllowedHosts(Some(list))
    }

    /// For `server config`.
    pub fn describe(&self) -> String {
        self.0.as_ref().map_or_else(|| "(any)".to_owned(), |names| names.join(", "))
    }

    /// Whether a request whose `Host` is `host` may be answered. Without a `Host` (HTTP/1.0, or
    /// a test calling the router) there is nothing to check.
    pub fn permits(&self, host: Option<&str>) -> bool {
        match (&self.0, host.and_then(host_of)) {
            (None, _) | (_, None) => true,
            (Some(list), Some(name)) => list.contains(&name),
        }
    }
}

/// The lower-cased host name of a `Host` header, URL or `host:port`.
fn host_of(text: &str) -> Option<String> {
    let text = text.trim();
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let name = if authority.starts_with('[') {
        authority.split_inclusive(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

/// The probes answer whatever the name: a cloud load balancer asks by the server's private
/// address, and they tell nothing; so does `/metrics`, for a scraper (it has an allow list and a
/// token of its own).
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

pub async fn middleware(allowed: AllowedHosts, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("\u{fffd}"));
    if !allowed.permits(host) && !PROBES.contains(&req.uri().path()) {
        tracing::warn!(host = ?host, "request for a host this site does not answer to");
        return (StatusCode::MISDIRECTED_REQUEST, "This site does not answer to that host name.")
            .into_response();
    }
    next.run(req).await
}
