//! The CRM server binary: `server` serves, `server migrate` migrates, `server create-admin`
//! creates or resets an administrator.

use std::time::Duration;

use app::accounts::auth::SessionConfig;
use app::api::AppState;
use app::db::{DbPool, PoolOptions};
use clap::{Parser, Subcommand};
use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "server",
    about = "The CRM web server",
    after_help = "Environment:\n  \
        DATABASE_URL       unset: SQLite file data/crm.sqlite3; a path or sqlite://path: that SQLite file;\n                     \
        postgres://user@host/db: PostgreSQL\n  \
        LEPTOS_SITE_ADDR   address to listen on (default 127.0.0.1:3000)\n  \
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
    /// The site is served over HTTPS: Secure cookie named `__Host-crm_session`.
    #[arg(long, env = "CRM_SECURE_COOKIES", default_value_t = false, global = true)]
    secure_cookies: bool,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "CRM_SESSION_IDLE_MINUTES", default_value_t = 8 * 60, global = true)]
    session_idle_minutes: u64,
    /// Hours after sign-in at which a session ends, however active.
    #[arg(long, env = "CRM_SESSION_MAX_HOURS", default_value_t = 24, global = true)]
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
    let cli = Cli::parse();
    tracing_subscriber::fmt().with_env_filter(EnvFilter::try_new(&cli.log)?).init();

    let pool = DbPool::connect(
        cli.database_url.as_deref(),
        &PoolOptions {
            max_connections: cli.db_max_connections,
            acquire_timeout: Duration::from_secs(cli.db_acquire_timeout),
        },
    )?;
    let applied = pool.migrate().await?;
    tracing::info!(database = pool.backend().name(), applied = ?applied, "migrations applied");
    let clock = app::settings::organisation::repo::load_clock(&mut pool.get().await?).await?;
    tracing::info!(time_zone = clock.tz.name(), "times are shown in the organisation's zone");

    let sessions = SessionConfig {
        secure: cli.secure_cookies,
        idle_timeout: Duration::from_secs(cli.session_idle_minutes * 60),
        absolute_timeout: Duration::from_secs(cli.session_max_hours * 60 * 60),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => Ok(()),
        Command::Serve => serve(pool, &sessions).await,
        Command::CreateAdmin { email, name } => create_admin(&pool, &email, &name).await,
        Command::CreateUser { email, name, kind } => create_user(&pool, &email, &name, &kind).await,
        Command::SeedDemo { contacts } => {
            let started = std::time::Instant::now();
            let added = app::contacts::demo::seed(&mut pool.get().await?, contacts).await?;
            println!("Added {added} demo contacts in {:.1} s.", started.elapsed().as_secs_f64());
            Ok(())
        }
    }
}

async fn serve(pool: DbPool, sessions: &SessionConfig) -> Result<(), BoxError> {
    let leptos_options = get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    let state = AppState { leptos_options, pool };
    server::spawn_session_cleanup(&state, Duration::from_secs(10 * 60));
    server::spawn_clock_refresh(&state, app::settings::organisation::CLOCK_REFRESH);
    server::spawn_segment_sync(&state, Duration::from_secs(5 * 60));
    // Import jobs: this server carries any it finds, including those of a server that stopped.
    let worker = app::imports::job::Worker::new(app::imports::files::work_dir());
    tracing::info!(worker = %worker.name, "carrying import jobs");
    app::imports::job::spawn(state.pool.clone(), worker, Duration::from_millis(500));
    let app = server::router(state, sessions);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(server::shutdown_signal())
        .await?;
    Ok(())
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
