//! The CRM server binary: `server` serves, `server migrate` migrates, `server create-admin`
//! creates or resets an administrator, `server backup` copies the SQLite database while it
//! serves, `server config` shows the configuration in effect.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::accounts::auth::SessionConfig;
use app::api::AppState;
use app::db::{DbPool, PoolOptions};
use app::ops::client::TrustedProxies;
use app::ops::metrics::Access;
use clap::{Parser, Subcommand};
use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "server",
    about = "The CRM web server",
    version = server::LONG_VERSION,
    after_help = "Environment:\n  \
        DATABASE_URL       unset: SQLite file data/crm.sqlite3; a path or sqlite://path: that SQLite file;\n                     \
        postgres://user@host/db: PostgreSQL\n  \
        LEPTOS_SITE_ADDR   address to listen on (default 127.0.0.1:3000)\n  \
        LEPTOS_SITE_ROOT   the site's files (default target/site, else site/ beside the binary)\n  \
        CRM_LOG            log filter, tracing's EnvFilter syntax (default info)\n  \
        CRM_ADMIN_PASSWORD password for create-admin (otherwise prompted)"
)]
struct Cli {
    /// Database to use (see Environment below).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Log filter, e.g. `info` or `debug,tower_http=info`.
    #[arg(long, env = "CRM_LOG", default_value = "info", global = true)]
    log: String,
    /// Most database connections the pool opens.
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    db_max_connections: usize,
    /// Seconds a request waits for a free database connection before it gets 503.
    #[arg(long, env = "CRM_DB_ACQUIRE_TIMEOUT", default_value_t = 3, global = true)]
    db_acquire_timeout: u64,
    /// Where people reach the site, e.g. `https://crm.example.com`: the links the CRM sends
    /// (set-password links) use it, and with `https://` the session cookie is Secure and named
    /// `__Host-crm_session`.
    #[arg(long, env = "CRM_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// The site is served over HTTPS (implied by an `https://` public URL).
    #[arg(long, env = "CRM_SECURE_COOKIES", default_value_t = false, global = true)]
    secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed: addresses or networks, comma-separated
    /// (e.g. `127.0.0.1, 10.0.0.0/8`). Unset: the connection's address is the client's.
    #[arg(long, env = "CRM_TRUSTED_PROXIES", default_value = "", global = true)]
    trusted_proxies: String,
    /// Host names the site answers to besides CRM_PUBLIC_URL's, comma-separated; any other gets
    /// 421. Unset and without a public address: the loopback names when the server listens on
    /// loopback (no DNS rebinding), any name otherwise.
    #[arg(long, env = "CRM_ALLOWED_HOSTS", default_value = "", global = true)]
    allowed_hosts: String,
    /// Addresses or networks allowed to read `/metrics` (comma-separated). Unset, and without a
    /// token, `/metrics` answers 404 to everybody.
    #[arg(long, env = "CRM_METRICS_ALLOW", default_value = "", global = true)]
    metrics_allow: String,
    /// A token that opens `/metrics` from anywhere: `Authorization: Bearer <token>`.
    #[arg(long, env = "CRM_METRICS_TOKEN", global = true, hide_env_values = true)]
    metrics_token: Option<String>,
    /// `text` for people, `json` for log collectors (one object per line, with the request id).
    #[arg(long, env = "CRM_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    log_format: String,
    /// Seconds between the stop signal and closing the listener, during which `/readyz` answers
    /// 503 so a load balancer takes the server out first. In-flight requests finish either way.
    #[arg(long, env = "CRM_SHUTDOWN_DRAIN_SECONDS", default_value_t = 0, global = true)]
    shutdown_drain_seconds: u64,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "CRM_SESSION_IDLE_MINUTES", default_value_t = 30, global = true)]
    session_idle_minutes: u64,
    /// Hours after sign-in at which a session ends, however active.
    #[arg(long, env = "CRM_SESSION_MAX_HOURS", default_value_t = 12, global = true)]
    session_max_hours: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the app (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator, or make an existing account one and reset its password.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// The name colleagues see.
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Add deterministic demo contacts (with tags, statuses, services and owners).
    SeedDemo {
        #[arg(long, default_value_t = 1000)]
        contacts: usize,
    },
    /// Copy the SQLite database to PATH, consistently, while servers go on using it.
    Backup { path: PathBuf },
    /// Put a backup in place of the SQLite database (stop every server first). The file it
    /// replaces is kept beside it.
    Restore { from: PathBuf },
    /// Print the configuration in effect (without secrets) and exit.
    Config,
    /// Exit 0 when the server on LEPTOS_SITE_ADDR answers /readyz with 200 (for container
    /// health checks in images without curl).
    Healthcheck,
    /// Create an active staff or client account (password from CRM_USER_PASSWORD, or prompted).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["staff", "client"])]
        kind: String,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut cli = Cli::parse();
    init_logs(&cli)?;
    let command = cli.command.take().unwrap_or(Command::Serve);
    let options = PoolOptions {
        max_connections: cli.db_max_connections,
        acquire_timeout: Duration::from_secs(cli.db_acquire_timeout),
    };
    // The commands that do not touch the database, or must not migrate it.
    match &command {
        Command::Config => return print_config(&cli),
        Command::Healthcheck => return healthcheck().await,
        Command::Restore { from } => return restore(cli.database_url.as_deref(), from),
        Command::Backup { path } => {
            // Opening a SQLite file that is not there would create an empty database.
            let (backend, file) = app::db::resolve_url(cli.database_url.as_deref())?;
            if backend == app::db::Backend::Sqlite && !Path::new(&file).is_file() {
                return Err(format!("{file} does not exist: nothing to back up (check DATABASE_URL)").into());
            }
            let pool = DbPool::connect(cli.database_url.as_deref(), &options)?;
            let bytes =
                app::ops::backup::sqlite(&mut pool.get().await?, path).await.map_err(|e| e.to_string())?;
            println!("Backed up to {} ({bytes} bytes), checked whole.", path.display());
            return Ok(());
        }
        _ => {}
    }

    let pool = DbPool::connect(cli.database_url.as_deref(), &options)?;
    let applied = pool.migrate().await?;
    tracing::info!(database = pool.backend().name(), applied = ?applied, "migrations applied");
    let clock = app::settings::organisation::repo::load_clock(&mut pool.get().await?).await?;
    tracing::info!(time_zone = clock.tz.name(), "times are shown in the organisation's zone");

    match command {
        Command::Migrate => Ok(()),
        Command::Serve => serve(pool, &cli).await,
        Command::CreateAdmin { email, name } => create_admin(&pool, &email, &name).await,
        Command::CreateUser { email, name, kind } => create_user(&pool, &email, &name, &kind).await,
        Command::SeedDemo { contacts } => {
            let started = std::time::Instant::now();
            let added = app::contacts::demo::seed(&mut pool.get().await?, contacts).await?;
            println!("Added {added} demo contacts in {:.1} s.", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Config | Command::Healthcheck | Command::Restore { .. } | Command::Backup { .. } => Ok(()),
    }
}

fn init_logs(cli: &Cli) -> Result<(), BoxError> {
    let filter = EnvFilter::try_new(&cli.log)?;
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if cli.log_format == "json" {
        // Every line carries the spans it was written in: a request's, with its id.
        logs.json().with_current_span(true).with_span_list(false).init();
    } else {
        logs.init();
    }
    Ok(())
}

/// The deployment settings from the command line and the environment.
fn deployment(cli: &Cli) -> Result<server::Deployment, BoxError> {
    let https =
        cli.public_url.as_deref().is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
    if let Some(url) = cli.public_url.as_deref() {
        let lower = url.trim().to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(format!("CRM_PUBLIC_URL {url:?} must start with https:// or http://").into());
        }
    }
    let sessions = SessionConfig {
        secure: cli.secure_cookies || https,
        idle_timeout: Duration::from_secs(cli.session_idle_minutes * 60),
        absolute_timeout: Duration::from_secs(cli.session_max_hours * 60 * 60),
    };
    let trusted_proxies =
        TrustedProxies::parse(&cli.trusted_proxies).map_err(|e| format!("CRM_TRUSTED_PROXIES: {e}"))?;
    let allow = TrustedProxies::parse(&cli.metrics_allow).map_err(|e| format!("CRM_METRICS_ALLOW: {e}"))?;
    Ok(server::Deployment {
        sessions,
        trusted_proxies,
        metrics: Access::new(allow, cli.metrics_token.as_deref()),
        allowed_hosts: allowed_hosts(cli, leptos_options()?.site_addr),
    })
}

/// The names the site answers to: CRM_ALLOWED_HOSTS and CRM_PUBLIC_URL's host (and loopback);
/// with neither, loopback only on a loopback listener, any name on another.
fn allowed_hosts(cli: &Cli, listen: std::net::SocketAddr) -> app::ops::hosts::AllowedHosts {
    let mut names: Vec<&str> =
        cli.allowed_hosts.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    names.extend(cli.public_url.as_deref());
    if names.is_empty() && !listen.ip().is_loopback() {
        return app::ops::hosts::AllowedHosts::any();
    }
    app::ops::hosts::AllowedHosts::only(names)
}

/// Leptos' options, with the site's files found when the server runs from a release bundle:
/// `target/site` in a checkout, otherwise `site/` beside the binary.
fn leptos_options() -> Result<leptos::config::LeptosOptions, BoxError> {
    let mut options = get_configuration(None)?.leptos_options;
    // Without /proc (a bare chroot) the binary's folder is unknown: `target/site` or
    // LEPTOS_SITE_ROOT, and no hashed names, as Leptos itself then assumes.
    let exe_dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    let exe_dir = exe_dir.unwrap_or_default();
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() && !Path::new(options.site_root.as_ref()).is_dir() {
        let site = exe_dir.join("site");
        if site.is_dir() {
            options.site_root = site.display().to_string().into();
        }
    }
    // A release build leaves the hashes of the files' names beside the binary (hash.txt).
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() && exe_dir.join(options.hash_file.as_ref()).is_file() {
        options.hash_files = true;
    }
    Ok(options)
}

async fn serve(pool: DbPool, cli: &Cli) -> Result<(), BoxError> {
    let deployment = deployment(cli)?;
    let leptos_options = leptos_options()?;
    let addr = leptos_options.site_addr;
    let state = AppState::new(leptos_options, pool).with_public_url(cli.public_url.as_deref());
    // Import jobs: this server carries any it finds, including those of a server that stopped.
    let worker = app::imports::job::Worker::new(app::imports::files::work_dir());
    tracing::info!(worker = %worker.name, version = server::VERSION, commit = server::COMMIT, "starting");
    let holder: Arc<str> = Arc::from(worker.name.as_str());
    server::spawn_session_cleanup(&state, holder.clone(), Duration::from_secs(10 * 60));
    server::spawn_clock_refresh(&state, app::settings::organisation::CLOCK_REFRESH);
    server::spawn_segment_sync(&state, holder, Duration::from_secs(5 * 60));
    app::imports::job::spawn(state.pool.clone(), worker, Duration::from_millis(500));
    let setup_code =
        app::accounts::setup::issue_code(&mut state.pool.get().await?, app::clock::now()).await?;
    let app = server::router_with(state, &deployment);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{addr}");
    if let Some(code) = setup_code {
        // The way in for whoever runs the server, and only them: registering first is not
        // enough to become the administrator of a new installation.
        let base = cli.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        tracing::warn!(
            "No administrator yet. To create the first one, open {}/register?setup={code} (the code works for {} hours, until an administrator exists), or run `server create-admin`.",
            base.trim_end_matches('/'),
            app::accounts::setup::SETUP_CODE_HOURS
        );
    }
    let drain = Duration::from_secs(cli.shutdown_drain_seconds);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(server::shutdown_signal(drain))
        .await?;
    Ok(())
}

/// `server config`: what this server would run with. Secrets (the metrics token, a database
/// password) are shown as set or not, never their value.
fn print_config(cli: &Cli) -> Result<(), BoxError> {
    let deployment = deployment(cli)?;
    let (backend, url) = app::db::resolve_url(cli.database_url.as_deref())?;
    let leptos = leptos_options()?;
    let shown_url = hide_password(&url);
    let list = |p: &TrustedProxies| if p.is_empty() { "(none)".to_owned() } else { p.list().join(", ") };
    let rows = [
        ("version", server::LONG_VERSION.to_owned()),
        ("database", format!("{} {shown_url}", backend.name())),
        ("db max connections", cli.db_max_connections.to_string()),
        ("db acquire timeout", format!("{} s", cli.db_acquire_timeout)),
        ("listen address", leptos.site_addr.to_string()),
        ("site files", leptos.site_root.to_string()),
        ("public url", cli.public_url.clone().unwrap_or_else(|| "(the request's own address)".into())),
        ("allowed hosts", deployment.allowed_hosts.describe()),
        (
            "session cookie",
            if deployment.sessions.secure {
                "__Host-crm_session, Secure"
            } else {
                "crm_session (not Secure)"
            }
            .into(),
        ),
        ("session idle timeout", format!("{} min", cli.session_idle_minutes)),
        ("session max age", format!("{} h", cli.session_max_hours)),
        ("trusted proxies", list(&deployment.trusted_proxies)),
        ("metrics allowed from", list(&deployment.metrics.allow)),
        ("metrics token", if deployment.metrics.has_token() { "set (hidden)" } else { "not set" }.into()),
        ("log filter", cli.log.clone()),
        ("log format", cli.log_format.clone()),
        ("shutdown drain", format!("{} s", cli.shutdown_drain_seconds)),
        ("import files", app::imports::files::work_dir().display().to_string()),
    ];
    for (name, value) in rows {
        println!("{name:<22} {value}");
    }
    Ok(())
}

/// `postgres://user:secret@host/db` shown as `postgres://user:***@host/db`.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// `server restore FROM`: the backup replaces the SQLite file `DATABASE_URL` names.
fn restore(database_url: Option<&str>, from: &Path) -> Result<(), BoxError> {
    let (backend, path) = app::db::resolve_url(database_url)?;
    if backend != app::db::Backend::Sqlite {
        return Err("this server uses PostgreSQL: restore it with pg_restore (README, \"Backups\")".into());
    }
    let kept = app::ops::backup::restore(from, Path::new(&path)).map_err(|e| e.to_string())?;
    println!("Restored {} to {path}.", from.display());
    if let Some(kept) = kept {
        println!("The database it replaced is kept as {}.", kept.display());
    }
    Ok(())
}

/// `server healthcheck`: one `GET /readyz` to the address this server listens on.
async fn healthcheck() -> Result<(), BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = get_configuration(None)?.leptos_options.site_addr;
    // Listening on every address (0.0.0.0, a container): ask on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    match tokio::time::timeout(Duration::from_secs(5), check).await {
        Ok(Ok(head)) if head.starts_with(b"HTTP/1.1 200") => {
            println!("ready");
            Ok(())
        }
        Ok(Ok(head)) => Err(format!("not ready: {}", String::from_utf8_lossy(&head)).into()),
        Ok(Err(err)) => Err(format!("no answer from {addr}: {err}").into()),
        Err(_) => Err(format!("no answer from {addr} within 5 s").into()),
    }
}

/// A new password from `env_var`, or typed twice on the terminal; checked against the rules.
async fn new_password_hash(
    env_var: &str,
    email: &str,
    name: &str,
) -> Result<app::accounts::password::PasswordHash, BoxError> {
    use app::accounts::{api::validate_email, password};
    validate_email(email.trim())?;
    let password = match std::env::var(env_var) {
        Ok(p) => p,
        Err(_) => {
            let first = rpassword::prompt_password(format!("Password for {email}: "))?;
            let again = rpassword::prompt_password("Repeat the password: ")?;
            if first != again {
                return Err("the two passwords differ".into());
            }
            first
        }
    };
    password::check_rules(&password, &[email, name])?;
    Ok(password::hash(&password).await)
}

async fn create_user(pool: &DbPool, email: &str, name: &str, kind: &str) -> Result<(), BoxError> {
    use app::accounts::repo::{self, NewAccount};
    use app::accounts::UserKind;
    let kind = UserKind::parse(kind).ok_or("kind must be staff or client")?;
    let hash = new_password_hash("CRM_USER_PASSWORD", email, name).await?;
    let mut conn = pool.get().await?;
    let new = NewAccount {
        email,
        display_name: name,
        password_hash: &hash,
        kind,
        is_active: true,
        is_admin: false,
    };
    match repo::create(&mut conn, &new).await {
        Ok(user) => {
            println!("{} account {} (id {}) is active and can sign in.", kind.as_str(), user.email, user.id);
            Ok(())
        }
        Err(e) if e.is_unique_violation() => Err(format!("{email} already has an account").into()),
        Err(e) => Err(e.into()),
    }
}

async fn create_admin(pool: &DbPool, email: &str, name: &str) -> Result<(), BoxError> {
    use app::accounts::repo;
    let hash = new_password_hash("CRM_ADMIN_PASSWORD", email, name).await?;
    let mut conn = pool.get().await?;
    let admin = repo::upsert_admin(&mut conn, email, name, &hash).await?;
    println!("Administrator {} (id {}) is active and can sign in.", admin.email, admin.id);
    Ok(())
}
