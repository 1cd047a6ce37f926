//! Building the application: database, migrations, schemes, signing keys, router.
//!
//! Tests call [`Application::build`] exactly as `serve` does, on a database of their choosing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::net::TcpListener;

use crate::app::{App, AppState};
use crate::auth::credential_keys::CredentialKeys;
use crate::auth::keys;
use crate::auth::tokens::KeyRing;
use crate::config::{Config, DatabaseKind};
use crate::mail::Mailer;
use crate::services::schemes::{self, SchemeCatalog};
use crate::templates::Templates;

/// Opens the connection pool with the settings each engine needs.
///
/// SQLite runs in WAL mode with `synchronous=NORMAL`; writes that span several statements take
/// the write lock up front (`BEGIN IMMEDIATE`, see `services::begin_write`) so a reader never has
/// to upgrade and fail with `SQLITE_BUSY`.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    open(config, &config.database_url, "CPE_LEDGER_DATABASE_URL").await
}

/// The read replica of `CPE_LEDGER_DATABASE_READ_URL`, opened as [`connect`] opens the
/// database; without one, `primary` itself (the same pool). Never migrated: a replica is a copy
/// of the primary, and takes its schema from it.
pub async fn connect_read(
    config: &Config,
    primary: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    match &config.database_read_url {
        Some(url) => open(config, url, "CPE_LEDGER_DATABASE_READ_URL").await,
        None => Ok(primary.clone()),
    }
}

/// Opens a pool on `url`, of the configured kind; errors name `setting`.
async fn open(
    config: &Config,
    url: &str,
    setting: &'static str,
) -> anyhow::Result<DatabaseConnection> {
    if config.database_kind == DatabaseKind::Sqlite {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "CPE_LEDGER_DATA_DIR: cannot create {}",
                config.data_dir.display()
            )
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(DATABASE_CONNECT_TIMEOUT)
        .acquire_timeout(Duration::from_secs(30));
    match config.database_kind {
        DatabaseKind::Sqlite => {
            // A local file has no server or network that could drop a connection, so a pooled
            // connection is never pinged before use (the ping costs a thread hop per query).
            options
                .max_connections(8)
                .min_connections(1)
                .test_before_acquire(false)
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(15))
                        .foreign_keys(true)
                        .create_if_missing(true)
                        .row_buffer_size(SQLITE_ROW_CHANNEL)
                });
        }
        DatabaseKind::Postgres | DatabaseKind::MySql => {
            // Ping a pooled connection only when it has been idle long enough for the server,
            // a proxy or a firewall to have dropped it; a hot connection goes straight through.
            // A request waits at most DATABASE_CONNECT_TIMEOUT for a connection: while the
            // server restarts, callers get a prompt 503 instead of hanging (see `Problem`).
            options
                .max_connections(16)
                .min_connections(1)
                .acquire_timeout(DATABASE_CONNECT_TIMEOUT)
                .test_before_acquire_if_idle_for(Duration::from_secs(30));
            reachable(url, setting).await?;
        }
    }
    Database::connect(options).await.map_err(|e| {
        anyhow::anyhow!(
            "{setting}: cannot connect to the database: {}",
            innermost(&e)
        )
    })
}

/// Rows a SQLite connection's thread may read ahead of the task that takes them. Each query
/// runs on the connection's own thread and hands its rows over through a channel of this
/// size; with sqlx's default of 50, a query of thousands of rows (a sweep page's ledger) stops
/// and wakes the two threads every few dozen rows, and those switches showed in a profile of
/// the sweep. Rows held are small, and only as many as a query answers.
const SQLITE_ROW_CHANNEL: usize = 4_096;

/// The longest a connection to a database server may take to open, at start and later.
pub const DATABASE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the database server's port answers at all, within [`DATABASE_CONNECT_TIMEOUT`]. The
/// pool would retry a refused connection until its own timeout and then report only that it
/// timed out; this says at once what is wrong, in one line.
async fn reachable(database_url: &str, setting: &str) -> anyhow::Result<()> {
    let Ok(url) = url::Url::parse(database_url) else {
        return Ok(());
    };
    let (Some(host), Some(port)) = (
        url.host_str(),
        url.port_or_known_default().or(match url.scheme() {
            "postgres" | "postgresql" => Some(5432),
            "mysql" | "mariadb" => Some(3306),
            _ => None,
        }),
    ) else {
        return Ok(());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(
        DATABASE_CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "{setting}: cannot reach the database server at {host}:{port}: {e}"
        )),
        Err(_) => Err(anyhow::anyhow!(
            "{setting}: the database server at {host}:{port} did not answer within {} s",
            DATABASE_CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// The deepest cause of an error, whose words are the most specific (the outer layers of a
/// driver error repeat them).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Connects, applies migrations, loads scheme definitions and makes sure a signing key exists.
pub async fn prepare(config: Config) -> anyhow::Result<App> {
    let db = connect(&config).await?;
    Migrator::up(&db, None)
        .await
        .context("applying database migrations")?;
    let read_db = connect_read(&config, &db).await?;
    let catalog = SchemeCatalog::load(config.schemes_dir.as_deref())?;
    schemes::record_versions(&db, &catalog)
        .await
        .context("recording scheme versions")?;
    keys::ensure_signing_key(&db)
        .await
        .context("preparing the token signing key")?;
    let keys = KeyRing::load(&db, config.issuer(), config.key_refresh_interval)
        .await
        .context("loading the token signing keys")?;
    let credential_keys = CredentialKeys::load(&db, config.public_url.clone())
        .await
        .context("preparing the credential signing key")?;
    let templates = Templates::load(config.templates_dir.as_deref())
        .context("CPE_LEDGER_TEMPLATES_DIR: loading template overrides")?;
    let mailer = Mailer::from_config(&config).context("preparing outgoing email")?;
    let disclosure_log = crate::services::disclosures::DisclosureLog::start(db.clone());
    let client_limits = crate::auth::client_limits::ClientLimits::start(db.clone());
    let capacity = crate::http::overload::Capacity::new(config.max_concurrent_requests);
    Ok(App {
        config,
        disclosure_log,
        db,
        read_db,
        schemes: catalog,
        keys,
        credential_keys,
        client_limits,
        metrics: crate::telemetry::Metrics::new(),
        capacity,
        jobs: Default::default(),
        dashboards: Default::default(),
        mailer,
        templates,
        started_at: chrono::Utc::now(),
    })
}

/// A prepared application bound to its listening socket.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Prepares everything and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen;
        let app = prepare(config).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("CPE_LEDGER_LISTEN: cannot listen on {listen}"))?;
        Ok(Self {
            listener,
            state: AppState(Arc::new(app)),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then drains open connections. The scheduler (the
    /// reminder sweep and the outbox drain) runs beside the server for as long as it serves,
    /// unless `CPE_LEDGER_SCHEDULER` turns it off.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let router = crate::http::router(self.state.clone());
        let scheduler = crate::jobs::schedule::start(self.state.clone())
            .await
            .map_err(|e| std::io::Error::other(format!("cannot start the scheduler: {e}")))?;
        let key_refresh = tokio::spawn(crate::auth::tokens::refresh_periodically(
            self.state.clone(),
        ));
        let served = crate::http::server::serve(
            self.listener,
            router,
            self.state.config.connections,
            &self.state.config.trusted_proxies,
            shutdown,
        )
        .await;
        key_refresh.abort();
        // Requests are drained; now the jobs: none begins, the running ones finish (an outbox
        // drain its current batch) within the grace.
        if !self
            .state
            .jobs
            .stop(crate::jobs::running::SHUTDOWN_GRACE)
            .await
        {
            tracing::warn!(
                grace_s = crate::jobs::running::SHUTDOWN_GRACE.as_secs(),
                "scheduled jobs still running at shutdown; the next period or outbox pass takes up their work"
            );
        }
        // What this instance spent of the clients' shared budgets since its last write.
        if let Err(e) = self.state.client_limits.flush().await {
            tracing::warn!(error = %e, "cannot write the request budgets spent at shutdown");
        }
        if let Some(mut scheduler) = scheduler
            && let Err(e) = scheduler.shutdown().await
        {
            tracing::warn!(error = %e, "the scheduler did not stop cleanly");
        }
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
