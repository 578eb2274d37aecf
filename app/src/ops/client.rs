//! The client's address, as throttling and the logs need it. Behind a reverse proxy every
//! connection comes from the proxy: its `X-Forwarded-For` says who the client was, but anybody
//! can send that header. It is believed only from the proxies the operator configured
//! (`CRM_TRUSTED_PROXIES`), and only as far as the chain of trusted proxies reaches.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use ipnet::IpNet;

/// The address a request came from, worked out once per request (see [`middleware`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed: addresses or networks.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// From a comma- or space-separated list such as `127.0.0.1, 10.0.0.0/8, ::1`; the entry that
    /// is neither an address nor a network is named in the error.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("{entry:?} is neither an IP address nor a network such as 10.0.0.0/8")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(Arc::new(nets)))
    }

    pub fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn list(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then, walking the
/// `X-Forwarded-For` entries from the nearest (last) back, the first address that is not a
/// trusted proxy. Entries further left were written by whoever sent the request first and are
/// not believed. An entry that is no address, where the walk reaches it, is an unknown client:
/// the unspecified address (`0.0.0.0`), never trusted, never the proxy's own.
pub fn client_addr(peer: IpAddr, forwarded_for: &[&str], trusted: &TrustedProxies) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.trusts(client) {
        return client;
    }
    let hops = forwarded_for.iter().flat_map(|h| h.split(',')).map(str::trim).filter(|h| !h.is_empty());
    let hops: Vec<&str> = hops.collect();
    for hop in hops.into_iter().rev() {
        let Ok(addr) = hop.parse::<IpAddr>() else { return UNKNOWN };
        client = canonical(addr);
        if !trusted.trusts(client) {
            break;
        }
    }
    client
}

/// A client whose address the proxies' header does not say.
pub const UNKNOWN: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

/// The throttling key of `addr`: the address itself for IPv4, its /64 network for IPv6 (one
/// subscriber gets a whole /64 and could otherwise try again from each of its addresses).
pub fn throttle_key(addr: IpAddr) -> String {
    match canonical(addr) {
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc().to_string());
            net.unwrap_or_else(|_| v6.to_string())
        }
        v4 => v4.to_string(),
    }
}

/// Middleware: records the request's [`ClientAddr`] for [`crate::accounts::auth::client_ip`]
/// and the metrics' access check.
pub async fn middleware(
    trusted: TrustedProxies,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        // Read as bytes: a header with a byte that is not ASCII still ends with the address the
        // proxy appended.
        let headers: Vec<String> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let addr = client_addr(peer.ip(), &headers, &trusted);
        req.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(req).await
}
