//! Typed configuration, read from command-line flags or `CPE_LEDGER_*` environment variables.
//!
//! Every setting is parsed once at start-up. A bad value stops the process with one line that
//! names the setting, so an operator never has to guess which of several variables is wrong.
//! Secrets (the SMTP password inside `CPE_LEDGER_SMTP_URL`) are never printed: `Debug` redacts.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use clap::builder::BoolishValueParser;
use url::Url;

/// Help heading of the settings only `serve` (and the emails it sends) uses, so that a
/// command's own options are not buried among them.
const SERVER_SETTINGS: &str = "Server settings (flag or environment)";
/// Help heading of the settings every command uses: where the data lives.
const DATA_SETTINGS: &str = "Data settings (flag or environment)";

/// The raw settings as clap collects them from flags and the environment.
#[derive(Args, Clone, Debug, Default)]
pub struct Settings {
    /// Database URL: `sqlite://…`, `postgres://…` or `mysql://…` (default: a SQLite file in the data dir).
    #[arg(
        long,
        env = "CPE_LEDGER_DATABASE_URL",
        help_heading = DATA_SETTINGS,
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Read replica for procurement reads: a URL of the same kind of database as the database
    /// URL. Every write stays on the database URL. Unset: procurement reads the database URL.
    #[arg(
        long,
        env = "CPE_LEDGER_DATABASE_READ_URL",
        help_heading = DATA_SETTINGS,
        global = true,
        hide_env_values = true
    )]
    pub database_read_url: Option<String>,
    /// Folder for the SQLite file, outgoing `.eml` files and other local state.
    #[arg(long, env = "CPE_LEDGER_DATA_DIR",
        help_heading = DATA_SETTINGS, global = true)]
    pub data_dir: Option<String>,
    /// Address the HTTP server listens on.
    #[arg(long, env = "CPE_LEDGER_LISTEN", help_heading = SERVER_SETTINGS, global = true,
        value_parser = listen_address)]
    pub listen: Option<SocketAddr>,
    /// The public base URL, used in emailed links and as the token issuer.
    #[arg(long, env = "CPE_LEDGER_PUBLIC_URL",
        help_heading = SERVER_SETTINGS, global = true)]
    pub public_url: Option<String>,
    /// SMTP server (`smtp://user:pass@host:port`, `smtps://…`); unset writes emails as files.
    #[arg(
        long,
        env = "CPE_LEDGER_SMTP_URL",
        help_heading = SERVER_SETTINGS,
        global = true,
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// Seconds one email's delivery to the SMTP server may take (connect, greeting, commands);
    /// a silent server defers the email to a later pass instead of holding the outbox. Default 30.
    #[arg(long, env = "CPE_LEDGER_SMTP_TIMEOUT", help_heading = SERVER_SETTINGS, global = true)]
    pub smtp_timeout: Option<String>,
    /// Sender of every email, with a display name: `"Name <address@example.org>"`. Default:
    /// `cpe-ledger <no-reply@…>` at the public URL's host.
    #[arg(long, env = "CPE_LEDGER_MAIL_FROM", help_heading = SERVER_SETTINGS, global = true)]
    pub mail_from: Option<String>,
    /// Load balancers or reverse proxies whose `X-Forwarded-For` names the real client
    /// (comma-separated IP addresses). Unset: the header is ignored.
    #[arg(
        long,
        env = "CPE_LEDGER_TRUSTED_PROXIES",
        help_heading = SERVER_SETTINGS,
        global = true,
        value_parser = ip_addresses
    )]
    pub trusted_proxies: Option<ProxyList>,
    /// Extra scheme definition files (`*.toml`); a file here replaces the built-in of the same id and version.
    #[arg(long, env = "CPE_LEDGER_SCHEMES_DIR",
        help_heading = DATA_SETTINGS, global = true)]
    pub schemes_dir: Option<String>,
    /// Folder of template overrides laid out like `templates/` (`emails/<name>/<locale>/…`,
    /// `pages/…`); a file found there replaces the built-in one.
    #[arg(long, env = "CPE_LEDGER_TEMPLATES_DIR",
        help_heading = SERVER_SETTINGS, global = true)]
    pub templates_dir: Option<String>,
    /// Log as JSON lines instead of human-readable text (`--log-json`, or `true`/`false`).
    #[arg(
        long,
        env = "CPE_LEDGER_LOG_JSON",
        help_heading = SERVER_SETTINGS,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = flag
    )]
    pub log_json: Option<bool>,
    /// Run the scheduler (reminder sweep, outbox drain) inside `serve` (`true`/`false`, default true).
    #[arg(long, env = "CPE_LEDGER_SCHEDULER", help_heading = SERVER_SETTINGS, global = true, value_name = "BOOL", value_parser = flag)]
    pub scheduler: Option<bool>,
    /// When the reminder sweep runs: a cron expression with seconds (default `0 0 9 * * *`).
    #[arg(long, env = "CPE_LEDGER_SWEEP_CRON", help_heading = SERVER_SETTINGS, global = true)]
    pub sweep_cron: Option<String>,
    /// When the outbox is drained: a cron expression with seconds (default every minute, `0 * * * * *`).
    #[arg(long, env = "CPE_LEDGER_DRAIN_CRON", help_heading = SERVER_SETTINGS, global = true)]
    pub drain_cron: Option<String>,
    /// The time zone the cron expressions are read in (default `Asia/Tokyo`).
    #[arg(long, env = "CPE_LEDGER_SCHEDULE_TIME_ZONE", help_heading = SERVER_SETTINGS, global = true)]
    pub schedule_time_zone: Option<String>,
    /// Congratulate a holder whose renewal is complete (`true`/`false`, default true).
    #[arg(long, env = "CPE_LEDGER_REMIND_CONGRATULATIONS", help_heading = SERVER_SETTINGS, global = true, value_name = "BOOL", value_parser = flag)]
    pub remind_congratulations: Option<bool>,
    /// Seconds from accepting a connection (or from the end of the previous response) until a
    /// complete request head must have arrived; a connection that sends nothing is closed then.
    #[arg(long, env = "CPE_LEDGER_REQUEST_HEAD_TIMEOUT", help_heading = SERVER_SETTINGS, global = true)]
    pub request_head_timeout: Option<String>,
    /// Seconds an HTTP/1 keep-alive or HTTP/2 connection may stay open with no request in flight.
    #[arg(long, env = "CPE_LEDGER_IDLE_TIMEOUT", help_heading = SERVER_SETTINGS, global = true)]
    pub idle_timeout: Option<String>,
    /// Open connections served at once; a connection beyond it is closed at once.
    /// Default: the open-file limit minus a reserve for the database and files, at most 4096.
    #[arg(long, env = "CPE_LEDGER_MAX_CONNECTIONS", help_heading = SERVER_SETTINGS, global = true)]
    pub max_connections: Option<String>,
    /// Open connections served at once for one peer address (IPv6: one /64).
    #[arg(long, env = "CPE_LEDGER_MAX_CONNECTIONS_PER_ADDRESS", help_heading = SERVER_SETTINGS, global = true)]
    pub max_connections_per_address: Option<String>,
    /// Seconds between re-reads of the signing keys, so a rotation reaches every instance.
    #[arg(long, env = "CPE_LEDGER_KEY_REFRESH_INTERVAL", help_heading = SERVER_SETTINGS, global = true)]
    pub key_refresh_interval: Option<String>,
    /// Most emails one outbox pass sends.
    #[arg(long, env = "CPE_LEDGER_OUTBOX_BATCH", help_heading = SERVER_SETTINGS, global = true)]
    pub outbox_batch: Option<String>,
    /// Seconds an outbox pass holds the emails it claimed; a process that dies mid-pass leaves
    /// them to the next pass after this.
    #[arg(long, env = "CPE_LEDGER_OUTBOX_LEASE", help_heading = SERVER_SETTINGS, global = true)]
    pub outbox_lease: Option<String>,
    /// Requests served at once; one beyond it is answered 503 with `Retry-After` at once
    /// (health and metrics excepted). Default 512.
    #[arg(long, env = "CPE_LEDGER_MAX_CONCURRENT_REQUESTS", help_heading = SERVER_SETTINGS, global = true)]
    pub max_concurrent_requests: Option<String>,
    /// Bearer token a Prometheus scraper sends to `/metrics`. Unset: `/metrics` answers only
    /// callers on this machine that came through no proxy.
    #[arg(
        long,
        env = "CPE_LEDGER_METRICS_TOKEN",
        help_heading = SERVER_SETTINGS,
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
}

/// A setting that could not be used, with the name an operator sets it by.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }
}

/// Which database engine a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
    MySql,
}

/// Where outgoing email goes.
#[derive(Clone, PartialEq, Eq)]
pub enum MailDelivery {
    /// `.eml` files in this folder.
    Files(PathBuf),
    /// An SMTP server, as a URL lettre understands.
    Smtp(String),
}

impl fmt::Debug for MailDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Files(dir) => f.debug_tuple("Files").field(dir).finish(),
            Self::Smtp(url) => f.debug_tuple("Smtp").field(&redact_url(url)).finish(),
        }
    }
}

/// Limits the accept loop enforces on every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub request_head_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

pub const DEFAULT_REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_OUTBOX_BATCH: usize = 50;
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_OUTBOX_LEASE: Duration = Duration::from_secs(10 * 60);
pub const DEFAULT_OUTBOX_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;
/// The shortest metrics token accepted: a guessable one would open `/metrics` to anyone.
const MIN_METRICS_TOKEN_LEN: usize = 16;
/// File descriptors kept back from connections for the database pool, logs and mail files.
const RESERVED_FILES: u64 = 64;

/// The default overall connection cap: what the open-file limit leaves after the reserve.
fn default_max_connections() -> usize {
    let limit = open_file_limit().unwrap_or(1024);
    limit.saturating_sub(RESERVED_FILES).clamp(16, 4096) as usize
}

/// The soft open-file limit of this process, where the platform tells it without `unsafe`.
fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The validated configuration the application runs with.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_kind: DatabaseKind,
    /// The read replica procurement reads go to (`CPE_LEDGER_DATABASE_READ_URL`), of the same
    /// kind as `database_url`; `None`: they read `database_url`.
    pub database_read_url: Option<String>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub public_url: Url,
    pub mail: MailDelivery,
    /// The longest one email's delivery to the SMTP server may take.
    pub smtp_timeout: Duration,
    /// The sender of every email; `None`: the mailer's default, named after the public URL.
    pub mail_from: Option<lettre::message::Mailbox>,
    pub schemes_dir: Option<PathBuf>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub templates_dir: Option<PathBuf>,
    pub log_json: bool,
    pub schedule: Schedule,
    pub connections: ConnectionLimits,
    pub key_refresh_interval: Duration,
    /// Most emails one outbox pass (one drain period, `CPE_LEDGER_DRAIN_CRON`) sends: with the
    /// drain schedule, the outbox's throughput.
    pub outbox_batch: usize,
    /// How long an outbox pass holds what it claimed before another pass may take it: longer
    /// than one pass takes (a batch of sends, each bounded by the SMTP timeouts).
    pub outbox_lease: Duration,
    /// Requests served at once before new ones are shed with 503.
    pub max_concurrent_requests: usize,
    /// What a scraper of `/metrics` must present; `None`: only unproxied local callers.
    pub metrics_token: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_kind", &self.database_kind)
            .field(
                "database_read_url",
                &self.database_read_url.as_deref().map(redact_url),
            )
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("public_url", &self.public_url.as_str())
            .field("mail", &self.mail)
            .field(
                "mail_from",
                &self.mail_from.as_ref().map(ToString::to_string),
            )
            .finish()
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";

impl Config {
    /// Validates raw settings. Relative paths stay relative to the working directory.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let data_dir =
            PathBuf::from(non_empty(settings.data_dir.as_deref()).unwrap_or(DEFAULT_DATA_DIR));

        let listen = match settings.listen {
            Some(listen) => listen,
            None => listen_address(DEFAULT_LISTEN)
                .map_err(|m| ConfigError::new("CPE_LEDGER_LISTEN", m))?,
        };

        let (database_url, database_kind) = match non_empty(settings.database_url.as_deref()) {
            Some(url) => (
                url.to_owned(),
                kind_of_database("CPE_LEDGER_DATABASE_URL", url)?,
            ),
            None => (
                sqlite_url_for(&data_dir.join("cpe-ledger.sqlite")),
                DatabaseKind::Sqlite,
            ),
        };

        let database_read_url = match non_empty(settings.database_read_url.as_deref()) {
            Some(url) => {
                let kind = kind_of_database("CPE_LEDGER_DATABASE_READ_URL", url)?;
                if kind != database_kind {
                    return Err(ConfigError::new(
                        "CPE_LEDGER_DATABASE_READ_URL",
                        format!(
                            "must be the same kind of database as CPE_LEDGER_DATABASE_URL \
                             ({}), not {}",
                            database_kind.name(),
                            kind.name()
                        ),
                    ));
                }
                Some(url.to_owned())
            }
            None => None,
        };

        let public_url = match non_empty(settings.public_url.as_deref()) {
            Some(text) => {
                let url = Url::parse(text).map_err(|e| {
                    ConfigError::new(
                        "CPE_LEDGER_PUBLIC_URL",
                        format!("'{text}' is not a URL: {e}"),
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(ConfigError::new(
                        "CPE_LEDGER_PUBLIC_URL",
                        format!("'{text}' must be an http:// or https:// URL with a host"),
                    ));
                }
                url
            }
            None => Url::parse(&format!("http://{listen}/")).map_err(|e| {
                ConfigError::new(
                    "CPE_LEDGER_LISTEN",
                    format!("cannot form a public URL: {e}"),
                )
            })?,
        };

        let mail = match non_empty(settings.smtp_url.as_deref()) {
            Some(text) => {
                let url = Url::parse(text).map_err(|_| {
                    ConfigError::new(
                        "CPE_LEDGER_SMTP_URL",
                        "is not a URL (expected smtp://host:port)",
                    )
                })?;
                if !matches!(url.scheme(), "smtp" | "smtps") || url.host().is_none() {
                    return Err(ConfigError::new(
                        "CPE_LEDGER_SMTP_URL",
                        "must be smtp://host:port or smtps://host:port",
                    ));
                }
                MailDelivery::Smtp(text.to_owned())
            }
            None => MailDelivery::Files(data_dir.join("outbox")),
        };

        let mail_from = match non_empty(settings.mail_from.as_deref()) {
            Some(text) => Some(text.parse::<lettre::message::Mailbox>().map_err(|_| {
                ConfigError::new(
                    "CPE_LEDGER_MAIL_FROM",
                    format!(
                        "'{text}' is not a sender address (expected \"Name <address@example.org>\")"
                    ),
                )
            })?),
            None => None,
        };

        let schemes_dir = non_empty(settings.schemes_dir.as_deref()).map(PathBuf::from);
        if let Some(dir) = &schemes_dir
            && !dir.is_dir()
        {
            return Err(ConfigError::new(
                "CPE_LEDGER_SCHEMES_DIR",
                format!("'{}' is not a folder", dir.display()),
            ));
        }

        let connections = ConnectionLimits {
            request_head_timeout: seconds(
                "CPE_LEDGER_REQUEST_HEAD_TIMEOUT",
                settings.request_head_timeout.as_deref(),
                DEFAULT_REQUEST_HEAD_TIMEOUT,
            )?,
            idle_timeout: seconds(
                "CPE_LEDGER_IDLE_TIMEOUT",
                settings.idle_timeout.as_deref(),
                DEFAULT_IDLE_TIMEOUT,
            )?,
            max_connections: count(
                "CPE_LEDGER_MAX_CONNECTIONS",
                settings.max_connections.as_deref(),
            )?
            .unwrap_or_else(default_max_connections),
            max_connections_per_address: count(
                "CPE_LEDGER_MAX_CONNECTIONS_PER_ADDRESS",
                settings.max_connections_per_address.as_deref(),
            )?
            .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
        };

        let key_refresh_interval = seconds(
            "CPE_LEDGER_KEY_REFRESH_INTERVAL",
            settings.key_refresh_interval.as_deref(),
            DEFAULT_KEY_REFRESH_INTERVAL,
        )?;

        let outbox_batch = count("CPE_LEDGER_OUTBOX_BATCH", settings.outbox_batch.as_deref())?
            .unwrap_or(DEFAULT_OUTBOX_BATCH);

        let outbox_lease = seconds(
            "CPE_LEDGER_OUTBOX_LEASE",
            settings.outbox_lease.as_deref(),
            DEFAULT_OUTBOX_LEASE,
        )?;

        let max_concurrent_requests = count(
            "CPE_LEDGER_MAX_CONCURRENT_REQUESTS",
            settings.max_concurrent_requests.as_deref(),
        )?
        .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS);

        let metrics_token = match non_empty(settings.metrics_token.as_deref()) {
            Some(token) if token.len() < MIN_METRICS_TOKEN_LEN => {
                return Err(ConfigError::new(
                    "CPE_LEDGER_METRICS_TOKEN",
                    format!("must be at least {MIN_METRICS_TOKEN_LEN} characters long"),
                ));
            }
            token => token.map(str::to_owned),
        };

        let smtp_timeout = seconds(
            "CPE_LEDGER_SMTP_TIMEOUT",
            settings.smtp_timeout.as_deref(),
            DEFAULT_SMTP_TIMEOUT,
        )?;

        Ok(Self {
            smtp_timeout,
            max_concurrent_requests,
            metrics_token,
            outbox_batch,
            outbox_lease,
            key_refresh_interval,
            connections,
            database_url,
            database_kind,
            database_read_url,
            data_dir,
            listen,
            public_url,
            mail,
            mail_from,
            schemes_dir,
            trusted_proxies: settings
                .trusted_proxies
                .clone()
                .map(|list| list.0)
                .unwrap_or_default(),
            templates_dir: non_empty(settings.templates_dir.as_deref()).map(PathBuf::from),
            log_json: settings.log_json.unwrap_or(false),
            schedule: Schedule::from_settings(settings)?,
        })
    }

    /// The issuer named in every token and credential this deployment signs.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}

/// A positive number of seconds (fractions allowed), or `default` when unset.
fn seconds(
    setting: &'static str,
    value: Option<&str>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(text) = non_empty(value) else {
        return Ok(default);
    };
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            ConfigError::new(
                setting,
                format!("'{text}' is not a positive number of seconds"),
            )
        })
}

/// A positive whole number, or `None` when unset.
fn count(setting: &'static str, value: Option<&str>) -> Result<Option<usize>, ConfigError> {
    let Some(text) = non_empty(value) else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ConfigError::new(
            setting,
            format!("'{text}' is not a positive whole number"),
        )),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Typed value parser of `CPE_LEDGER_LISTEN`; the message names the value and the form. An
/// empty value means the default, as if unset.
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = non_empty(Some(text)).unwrap_or(DEFAULT_LISTEN);
    text.parse().map_err(|_| {
        format!("'{text}' is not a socket address (expected host:port, e.g. {DEFAULT_LISTEN})")
    })
}

/// The trusted proxies' addresses, from one comma-separated value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyList(pub Vec<IpAddr>);

impl std::str::FromStr for ProxyList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        ip_addresses(text)
    }
}

/// Typed value parser of `CPE_LEDGER_TRUSTED_PROXIES`; empty means none.
fn ip_addresses(text: &str) -> Result<ProxyList, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("'{s}' is not an IP address")))
        .collect::<Result<_, _>>()
        .map(ProxyList)
}

/// Typed value parser of a boolean setting: clap's [`BoolishValueParser`] spellings (true/false,
/// yes/no, on/off, 1/0, any case); empty means false, as if unset.
fn flag(text: &str) -> Result<bool, String> {
    use clap::builder::TypedValueParser;
    let Some(text) = non_empty(Some(text)) else {
        return Ok(false);
    };
    BoolishValueParser::new()
        .parse_ref(
            &clap::Command::new("cpe-ledger"),
            None,
            std::ffi::OsStr::new(text),
        )
        .map_err(|_| format!("'{text}' is not true or false (or yes/no, on/off, 1/0)"))
}

/// A one-line message naming the setting (its environment variable) for a value clap's typed
/// parsers refused; `None` for any other error, which clap reports itself. Operators set these
/// mostly in an environment file, so the message names the variable rather than the flag.
pub fn invalid_setting(command: &clap::Command, err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        err.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return None;
    }
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    // The argument as clap shows it: `--listen <LISTEN>`, `--log-json[=<BOOL>]`.
    let shown = text(ContextKind::InvalidArg)?;
    let long = shown
        .strip_prefix("--")?
        .split([' ', '[', '='])
        .next()?
        .to_owned();
    let env = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))?
        .get_env()?
        .to_string_lossy()
        .into_owned();
    let message = std::error::Error::source(err)
        .map_or_else(|| "is not an accepted value".to_owned(), |c| c.to_string());
    Some(format!("{env}: {message}"))
}

fn kind_of_database(setting: &'static str, url: &str) -> Result<DatabaseKind, ConfigError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" => Ok(DatabaseKind::Sqlite),
        "postgres" | "postgresql" => Ok(DatabaseKind::Postgres),
        "mysql" | "mariadb" => Ok(DatabaseKind::MySql),
        _ => Err(ConfigError::new(
            setting,
            "must start with sqlite://, postgres:// or mysql://",
        )),
    }
}

impl DatabaseKind {
    /// The engine's name, as an operator knows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL/MariaDB",
        }
    }
}

/// A `sqlite://` URL that creates the file when missing.
pub fn sqlite_url_for(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Hides the password part of a URL so it can be logged.
pub fn redact_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => text.to_owned(),
    }
}

mod schedule;
#[cfg(test)]
mod tests;

pub use schedule::{DEFAULT_DRAIN_CRON, DEFAULT_SWEEP_CRON, Schedule, parse_cron};
