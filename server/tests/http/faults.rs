//! The fault suite: what the server does when the database is busy, away or contended, each
//! fault made to happen (a pool held empty, a TCP proxy cut between the server and PostgreSQL,
//! sixteen writers on one SQLite file). Bounded in time: about 15 s in all.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::accounts::UserKind;
use app::contacts::ContactInput;
use app::db::{testing, DbPool, PoolOptions};
use axum::http::{header, StatusCode};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::TestApp;

/// The threat: a burst takes every connection of the pool. A request that cannot get one within
/// the configured wait is answered 503 with `Retry-After` (not left hanging until the browser
/// gives up), and the server answers normally again as soon as the load is gone.
#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_pool_answers_503_with_retry_after_and_recovers() {
    let db = testing::sqlite().await;
    let pool = DbPool::connect(
        db.sqlite_path().as_deref(),
        &PoolOptions { max_connections: 2, acquire_timeout: Duration::from_millis(300) },
    )
    .unwrap();
    let app = TestApp {
        app: server::router(
            app::api::AppState::new(crate::support::options(), pool.clone()),
            &Default::default(),
        ),
        db,
    };
    let held = vec![pool.get().await.unwrap(), pool.get().await.unwrap()];
    let started = Instant::now();
    let busy = app.call("/api/public/system_status", None, &[]).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{}", busy.body);
    assert_eq!(busy.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
    assert!(started.elapsed() < Duration::from_secs(2), "answered within the wait, not hung");
    drop(held);
    let calm = app.call("/api/public/system_status", None, &[]).await;
    assert_eq!(calm.status, StatusCode::OK, "recovered: {}", calm.body);
}

/// A TCP proxy on loopback between the server and PostgreSQL, which the test can cut (every
/// connection closed, new ones refused) and restore on the same port.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    accept: Option<JoinHandle<()>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Proxy { addr, upstream, accept: None, links: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let (upstream, links) = (self.upstream, self.links.clone());
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links.lock().unwrap().push(link);
            }
        }));
    }

    /// The database is gone: open connections die, new ones are refused.
    fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// The database is back, at the same address.
    async fn restore(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() > deadline => {
                    panic!("the proxy's port {} stayed taken: {e}", self.addr)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.serve(listener);
    }
}

/// The threat: PostgreSQL goes away (a restart, a failover, the network) and comes back. In
/// between, requests fail fast with 503 (a connection that died is not an internal error, and
/// nothing waits for minutes); afterwards they succeed again without restarting the server.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_lost_and_back_answers_503_meanwhile_and_recovers() {
    let Some(db) = testing::postgres().await else { return };
    let url = db.postgres_url().expect("a PostgreSQL test database");
    let (authority, upstream) = testing::postgres_authority(&url).expect("the test server's address");
    let mut proxy = Proxy::start(upstream).await;
    let through = url.replacen(&authority, &proxy.addr.to_string(), 1);
    assert_ne!(through, url, "the proxy is in the way");
    let pool = DbPool::connect(
        Some(&through),
        &PoolOptions { max_connections: 4, acquire_timeout: Duration::from_secs(1) },
    )
    .unwrap();
    let pool_through = pool.clone();
    let app = TestApp {
        app: server::router(app::api::AppState::new(crate::support::options(), pool), &Default::default()),
        db,
    };
    let status = || app.call("/api/public/system_status", None, &[]);
    assert_eq!(status().await.status, StatusCode::OK, "through the proxy");

    // A connection the pool handed out before the cut: its next query meets the dead socket.
    let mut held = pool_through.get().await.unwrap();
    proxy.cut();
    let lost = app::system::repo::status(&mut held).await;
    assert!(
        matches!(lost, Err(app::db::DbError::Unreachable(_))),
        "a lost connection is the database away: {lost:?}"
    );
    drop(held);
    for attempt in 0..3 {
        let started = Instant::now();
        let r = status().await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "attempt {attempt} while PostgreSQL is away: {}",
            r.body
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "attempt {attempt} failed fast: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore().await;
    let back = Instant::now();
    loop {
        let r = status().await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not back 10 s after PostgreSQL returned: {}",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
}

/// The threat: sixteen people saving at once for ten seconds on the embedded SQLite database.
/// SQLite has one writer at a time; a writer that waits past the busy timeout fails with
/// "database is locked". None may, and every save that was answered is there. (One server: its
/// writers take turns in a queue. Two servers on one SQLite file only have SQLite's busy
/// handler between them, and under load one can starve; several servers need PostgreSQL.)
#[tokio::test(flavor = "multi_thread")]
async fn sixteen_writers_for_ten_seconds_lose_nothing_on_sqlite() {
    let db = testing::sqlite().await;
    let owner = {
        let mut conn = db.pool.get().await.unwrap();
        app::users::fixtures::account(&mut conn, "schreiber@example.com", UserKind::Staff, true).await.id
    };
    let server = DbPool::connect(db.sqlite_path().as_deref(), &PoolOptions::default()).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let pool = server.clone();
            tokio::spawn(async move {
                let (mut saved, mut failed) = (Vec::new(), Vec::new());
                let mut n = 0;
                while Instant::now() < until {
                    n += 1;
                    let input = ContactInput {
                        first_name: format!("Schreiberin {w}-{n}"),
                        last_name: "Øster-Ŋ".into(),
                        tags: vec![format!("Welle {}", n % 3)],
                        owner_id: Some(owner),
                        ..Default::default()
                    };
                    let result = match pool.get().await {
                        Ok(mut conn) => app::contacts::repo::create(&mut conn, owner, &input)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match result {
                        Ok(id) => saved.push(id),
                        Err(e) => failed.push(e),
                    }
                }
                (saved, failed)
            })
        })
        .collect();
    let (mut saved, mut failed) = (Vec::new(), Vec::new());
    for writer in writers {
        let (s, f) = writer.await.unwrap();
        saved.extend(s);
        failed.extend(f);
    }
    assert_eq!(failed, Vec::<String>::new(), "no save failed ({} succeeded)", saved.len());
    assert!(saved.len() > 100, "the writers wrote: {}", saved.len());
    let mut conn = db.pool.get().await.unwrap();
    let stored = app::contacts::repo::get_many(&mut conn, &saved).await.unwrap();
    assert_eq!(stored.len(), saved.len(), "every answered save is there");
    eprintln!("16 writers, 10 s: {} contacts saved, none failed", saved.len());
}
