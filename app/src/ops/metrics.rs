//! The figures `/metrics` reports in Prometheus' text format: requests and their latency per
//! route, the connection pool, database errors, and import jobs per state. Reachable only from
//! the addresses the operator allows or with the operator's token, never by the public
//! ([`Access`]).

use std::sync::LazyLock;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use super::client::{ClientAddr, TrustedProxies};
use crate::db::{with_db, DbPool};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    state: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    db_errors: Counter,
    pool_timeouts: Counter,
    pool: Family<PoolLabels, Gauge>,
    jobs: Family<JobLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("crm");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register("http_requests", "HTTP requests answered, per route and status", requests.clone());
    let latency = LatencyFamily::new_with_constructor(latency_histogram);
    registry.register(
        "http_request_duration_seconds",
        "Time to answer a request, per route",
        latency.clone(),
    );
    let db_errors = Counter::default();
    registry.register(
        "db_errors",
        "Database errors (other than a busy pool) met by requests",
        db_errors.clone(),
    );
    let pool_timeouts = Counter::default();
    registry.register(
        "db_pool_timeouts",
        "Requests that waited their whole limit for a database connection (answered 503)",
        pool_timeouts.clone(),
    );
    let pool = Family::<PoolLabels, Gauge>::default();
    registry.register(
        "db_pool_connections",
        "Database connections: max, open, idle, and callers waiting",
        pool.clone(),
    );
    let jobs = Family::<JobLabels, Gauge>::default();
    registry.register("import_jobs", "Import jobs per state", jobs.clone());
    Metrics { registry, requests, latency, db_errors, pool_timeouts, pool, jobs }
});

/// Counts a request to `route` (a route pattern, never a raw path: the label set stays small).
pub fn record_request(method: &str, route: &str, status: u16, took: Duration) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels { method: method.to_owned(), route: route.to_owned(), status })
        .inc();
    m.latency.get_or_create(&RouteLabels { route: route.to_owned() }).observe(took.as_secs_f64());
}

/// Counts a database error a request met; `busy` when it was the pool's wait running out.
pub fn record_db_error(busy: bool) {
    if busy {
        METRICS.pool_timeouts.inc();
    } else {
        METRICS.db_errors.inc();
    }
}

/// Middleware: times every request and counts it under its route pattern (pages and server
/// functions each have their own). Paths no route matched (static files, unknown addresses)
/// count as one route, `other`.
pub async fn middleware(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    // Any token is a method to HTTP: the label takes the standard ones only, so that a client
    // inventing methods cannot grow the series without bound.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let matched = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
    let res = next.run(req).await;
    let route = matched.unwrap_or_else(|| "other".to_owned());
    record_request(method, &route, res.status().as_u16(), started.elapsed());
    res
}

/// The text `/metrics` answers: the counters, and the pool and the import jobs as they are now.
pub async fn render(pool: &DbPool) -> String {
    let m = &*METRICS;
    let status = pool.status();
    for (state, value) in
        [("max", status.max), ("open", status.open), ("idle", status.idle), ("waiting", status.waiting)]
    {
        m.pool.get_or_create(&PoolLabels { state }).set(value as i64);
    }
    if let Ok(mut conn) = pool.get().await {
        use crate::db::schema::imports;
        let counted: Result<Vec<(String, i64)>, _> = with_db!(&mut conn, c => imports::table
            .group_by(imports::state)
            .select((imports::state, diesel::dsl::count_star()))
            .load(c)
            .await);
        if let Ok(counted) = counted {
            for state in crate::imports::ImportState::ALL {
                let n = counted.iter().find(|(s, _)| s == state.key()).map_or(0, |(_, n)| *n);
                m.jobs.get_or_create(&JobLabels { state: state.key().to_owned() }).set(n);
            }
        }
    }
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &m.registry).is_err() {
        tracing::error!("encoding the metrics failed");
    }
    out
}

/// Who may read `/metrics`: callers from `allow` (checked against the client's address as
/// [`super::client`] works it out), or with `Authorization: Bearer <token>`. With neither set,
/// nobody: the endpoint answers 404 like an unknown page.
#[derive(Clone, Default)]
pub struct Access {
    pub allow: TrustedProxies,
    token: Option<[u8; 32]>,
}

impl Access {
    pub fn new(allow: TrustedProxies, token: Option<&str>) -> Self {
        let token =
            token.map(str::trim).filter(|t| !t.is_empty()).map(|t| Sha256::digest(t.as_bytes()).into());
        Access { allow, token }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether the request with these `headers`, from `client`, may read the metrics. Tokens are
    /// compared as digests, so the comparison takes as long whatever prefix matches.
    pub fn permits(&self, client: Option<ClientAddr>, headers: &axum::http::HeaderMap) -> bool {
        if client.is_some_and(|ClientAddr(addr)| self.allow.trusts(addr)) {
            return true;
        }
        let offered = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        match (self.token, offered) {
            (Some(expected), Some(offered)) => {
                let offered: [u8; 32] = Sha256::digest(offered.trim_ascii()).into();
                expected == offered
            }
            _ => false,
        }
    }
}
