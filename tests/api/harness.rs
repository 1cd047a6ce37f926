//! `TestApp`: the application booted exactly as `serve` boots it, on a fresh database of the
//! kind the test asks for. SQLite always runs; PostgreSQL and MariaDB run when reachable
//! (under CI, unreachable means failure, never a silent skip). A local run says once, in one
//! line, what it skips (see [`skipped`]).
//!
//! When a test ends, its app checks that the outbox holds nothing pending or half-sent: a test
//! that queues an email deals with it (sends it, or says it expects it left, see
//! [`TestApp::expect_left_in_outbox`]).

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

use cpe_ledger::app::AppState;
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::startup::Application;
use entity::notifications::{self, NotificationState};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use tempfile::TempDir;
use tokio::sync::{OnceCell, oneshot};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    fn server_url(self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                std::env::var("CPE_LEDGER_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned()),
            ),
            Backend::MySql => Some(
                std::env::var("CPE_LEDGER_TEST_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned()),
            ),
        }
    }

    fn admin_database(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            _ => "",
        }
    }

    fn admin_url(self) -> Option<String> {
        self.server_url()
            .map(|server| format!("{server}/{}", self.admin_database()))
    }
}

/// What a test may need that a developer's machine may lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Server(Backend),
    /// `/usr/bin/chromedriver`, for the browser tests.
    Browser,
    /// `python3` with jwcrypto, for the independent token check.
    Jwcrypto,
    /// `node` and the stock xAPI client installed in `tests/xapi-client` (`npm ci`).
    XapiClient,
    /// `pdftotext` (Debian's poppler-utils), to read back a PDF transcript.
    Pdftotext,
}

/// The node project that drives a stock xAPI client against the ledger.
pub const XAPI_CLIENT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xapi-client");

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Why each need is missing on this machine, found once per test run.
struct Missing(Vec<(Needs, String)>);

async fn connect_admin(backend: Backend) -> Result<sea_orm::DatabaseConnection, String> {
    let Some(url) = backend.admin_url() else {
        return Err("no server".to_owned());
    };
    match tokio::time::timeout(Duration::from_secs(5), Database::connect(&url)).await {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

async fn missing() -> &'static Missing {
    static MISSING: OnceCell<Missing> = OnceCell::const_new();
    MISSING
        .get_or_init(|| async {
            let mut missing = Vec::new();
            for backend in [Backend::Postgres, Backend::MySql] {
                match connect_admin(backend).await {
                    Ok(db) => {
                        let _ = db.close().await;
                    }
                    Err(why) => missing.push((Needs::Server(backend), why)),
                }
            }
            if !Path::new(CHROMEDRIVER).exists() {
                missing.push((Needs::Browser, format!("no {CHROMEDRIVER}")));
            }
            let jwcrypto = std::process::Command::new("python3")
                .args(["-c", "import jwcrypto"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !jwcrypto {
                missing.push((Needs::Jwcrypto, "python3 cannot import jwcrypto".to_owned()));
            }
            let node = std::process::Command::new("node")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            let installed = Path::new(XAPI_CLIENT_DIR)
                .join("node_modules/@xapi/xapi/package.json")
                .exists();
            if !node {
                missing.push((Needs::XapiClient, "no node".to_owned()));
            } else if !installed {
                missing.push((
                    Needs::XapiClient,
                    "tests/xapi-client has no node_modules; run npm ci there".to_owned(),
                ));
            }
            let pdftotext = std::process::Command::new("pdftotext")
                .arg("-v")
                .output()
                .is_ok();
            if !pdftotext {
                missing.push((Needs::Pdftotext, "no pdftotext (poppler-utils)".to_owned()));
            }
            if !missing.is_empty() && std::env::var_os("CI").is_none() {
                let named: Vec<String> = missing
                    .iter()
                    .map(|(need, why)| {
                        let what = match need {
                            Needs::Server(Backend::Postgres) => "PostgreSQL tests",
                            Needs::Server(Backend::MySql) => "MariaDB tests",
                            Needs::Server(Backend::Sqlite) => "SQLite tests",
                            Needs::Browser => "browser tests",
                            Needs::Jwcrypto => "the jwcrypto check",
                            Needs::XapiClient => "the stock xAPI client test",
                            Needs::Pdftotext => "the PDF transcript's text check",
                        };
                        format!("{what} ({why})")
                    })
                    .collect();
                // Straight to the terminal: the test harness would hold back `eprintln!` of a
                // passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "notice: this run skips {}; under CI they are required",
                    named.join(", ")
                );
            }
            Missing(missing)
        })
        .await
}

/// Whether a test should skip for want of `need`: only outside CI, where the one notice line
/// says so. Under CI nothing is skipped, so the test fails on what is missing.
pub async fn skipped(need: Needs) -> bool {
    if std::env::var_os("CI").is_some() {
        return false;
    }
    missing().await.0.iter().any(|(n, _)| *n == need)
}

/// A database created for one test and dropped after it.
pub struct TestDatabase {
    pub url: String,
    server: Option<(Backend, String, String)>,
}

impl TestDatabase {
    /// A fresh, empty database; `None` when the server is unreachable outside CI.
    pub async fn create(backend: Backend, dir: &Path) -> Option<Self> {
        let (Some(server), Some(admin_url)) = (backend.server_url(), backend.admin_url()) else {
            return Some(Self {
                url: cpe_ledger::config::sqlite_url_for(&dir.join("test.sqlite")),
                server: None,
            });
        };
        if skipped(Needs::Server(backend)).await {
            return None;
        }
        let admin = match connect_admin(backend).await {
            Ok(db) => db,
            Err(why) => panic!("{backend:?} is unreachable: {why}"),
        };
        let name = format!("cpe_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        Some(Self {
            url: format!("{server}/{name}"),
            server: Some((backend, admin_url, name)),
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((backend, admin_url, name)) = self.server.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee; use a small one of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let sql = match backend {
                        Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        _ => format!("DROP DATABASE IF EXISTS {name}"),
                    };
                    let _ = admin.execute_unprepared(&sql).await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    pub config: Config,
    pub backend: Backend,
    stop: Option<oneshot::Sender<()>>,
    /// Recipients whose notifications the test means to leave in the outbox.
    left_in_outbox: Mutex<Vec<String>>,
    // Dropped last: the database and the data dir outlive the server.
    _database: TestDatabase,
    pub data_dir: TempDir,
}

impl TestApp {
    /// Boots the app on a fresh database; `None` when that backend is skipped. Email goes to
    /// the in-process SMTP server of `support_accounts`.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with a chance to change the settings first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::create(backend, data_dir.path()).await?;
        let mut settings = Settings {
            database_url: Some(database.url.clone()),
            data_dir: Some(data_dir.path().display().to_string()),
            listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            smtp_url: Some(crate::support_accounts::mail_server().smtp_url()),
            // Tests run the jobs themselves; a test of the scheduler turns it on.
            scheduler: Some(false),
            ..Default::default()
        };
        adjust(&mut settings);
        let config = Config::from_settings(&settings).expect("test configuration is valid");
        Some(Self::serving(config, backend, database, data_dir).await)
    }

    /// Serves `config` and answers the app, which owns `database` and `data_dir`.
    async fn serving(
        config: Config,
        backend: Backend,
        database: TestDatabase,
        data_dir: TempDir,
    ) -> Self {
        let (address, state, stop) = serve(config.clone()).await;
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            state,
            config,
            backend,
            stop: Some(stop),
            left_in_outbox: Mutex::new(Vec::new()),
            _database: database,
            data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Runs the `cpe-ledger` binary against this app's database and data dir.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, None)
    }

    pub fn cli_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(
            args,
            &[
                ("CPE_LEDGER_DATABASE_URL", self.config.database_url.as_str()),
                (
                    "CPE_LEDGER_DATA_DIR",
                    &self.data_dir.path().display().to_string(),
                ),
            ],
            stdin,
        )
    }

    /// Says that notifications to `recipient` are meant to be pending when the test ends (a
    /// deferred retry, say), so the end-of-test check lets them be.
    pub fn expect_left_in_outbox(&self, recipient: &str) {
        self.left_in_outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(recipient.to_owned());
    }

    /// A path inside this app's data dir, for files a test hands to the command line.
    /// Makes the database itself refuse any row of `table` whose `column` equals `value`, as
    /// a full disk or a dropped connection would in the middle of a write: the app's own
    /// checks let the row through, and the failure comes from inside the write. Undone by
    /// [`TestApp::stop_refusing`].
    pub async fn refuse_inserts(&self, table: &str, column: &str, value: &str) {
        let sql = match self.backend {
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN NEW.{column} = '{value}' \
                 BEGIN SELECT RAISE(ABORT, 'refused inside the write'); END"
            )],
            Backend::Postgres => vec![
                format!(
                    "CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.{column} = '{value}' THEN RAISE EXCEPTION 'refused inside the write'; END IF; \
                     RETURN NEW; END $$"
                ),
                format!(
                    "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW \
                     EXECUTE FUNCTION refuse_{table}()"
                ),
            ],
            Backend::MySql => vec![format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW BEGIN \
                 IF NEW.{column} = '{value}' THEN \
                 SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused inside the write'; END IF; END"
            )],
        };
        for statement in sql {
            self.state.db.execute_unprepared(&statement).await.unwrap();
        }
    }

    /// Makes the database refuse every row of `table` as a full disk does, with the engine's own
    /// disk-full error (PostgreSQL 53100, MySQL 1021). SQLite cannot raise SQLITE_FULL from a
    /// trigger, so there the refusal is the plain one of [`TestApp::refuse_inserts`]. Returns
    /// whether the refusal is a real disk-full error. Undone by [`TestApp::stop_refusing`].
    pub async fn fill_storage_for(&self, table: &str) -> bool {
        let sql = match self.backend {
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'refused inside the write'); END"
            )],
            Backend::Postgres => vec![
                format!(
                    "CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     RAISE EXCEPTION 'could not extend file: No space left on device' \
                     USING ERRCODE = '53100'; END $$"
                ),
                format!(
                    "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW \
                     EXECUTE FUNCTION refuse_{table}()"
                ),
            ],
            Backend::MySql => vec![format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW \
                 SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1021, MESSAGE_TEXT = 'Disk full'"
            )],
        };
        for statement in sql {
            self.state.db.execute_unprepared(&statement).await.unwrap();
        }
        self.backend != Backend::Sqlite
    }

    /// Undoes [`TestApp::refuse_inserts`] for `table`.
    pub async fn stop_refusing(&self, table: &str) {
        let sql = match self.backend {
            Backend::Postgres => format!("DROP TRIGGER refuse_{table} ON {table}"),
            _ => format!("DROP TRIGGER refuse_{table}"),
        };
        self.state.db.execute_unprepared(&sql).await.unwrap();
    }

    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.data_dir.path().join(name)
    }
}

/// Runs the `cpe-ledger` binary with a clean environment plus `env`, as an operator would.
pub fn run_cli(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cpe-ledger");
    // Dropping the pipe closes it, so a command reading standard input sees its end.
    if let Some(mut pipe) = child.stdin.take()
        && let Some(text) = stdin
    {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("cpe-ledger finished")
}

/// A problem body without its `request_id`, which differs on every request: for tests that
/// two answers are the same answer.
pub fn without_request_id(mut body: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = body.as_object_mut() {
        let id = fields.remove("request_id");
        assert!(
            id.is_some_and(|id| id.is_string()),
            "a problem names its request"
        );
    }
    body
}

/// Standard error of a command that must have failed, with its exit code.
pub fn failure_of(output: &Output) -> (i32, String) {
    assert!(
        !output.status.success(),
        "command should have failed:\nstdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A failing test has already said what went wrong; a second panic would abort.
        if std::thread::panicking() {
            return;
        }
        let expected = std::mem::take(
            &mut *self
                .left_in_outbox
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let leftovers = unfinished_notifications(self.config.database_url.clone());
        let unexpected: Vec<&String> = leftovers
            .iter()
            .filter(|(recipient, _)| !expected.contains(recipient))
            .map(|(_, line)| line)
            .collect();
        assert!(
            unexpected.is_empty(),
            "the test left {} notification(s) pending or half-sent; send them \
             (dispatch_pending_emails) or say they are expected (expect_left_in_outbox):\n  {}",
            unexpected.len(),
            unexpected
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}

/// Every notification still `pending` or stuck in `sending`, as (recipient, description).
/// Runs on a runtime and connection of its own: `Drop` cannot await.
fn unfinished_notifications(database_url: String) -> Vec<(String, String)> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the end-of-test check");
        rt.block_on(async move {
            let db = Database::connect(&database_url)
                .await
                .expect("connect for the end-of-test outbox check");
            let rows = notifications::Entity::find()
                .filter(
                    notifications::Column::State
                        .is_in([NotificationState::Pending, NotificationState::Sending]),
                )
                .all(&db)
                .await
                .expect("read the outbox at the end of the test");
            let _ = db.close().await;
            rows.into_iter()
                .map(|n| {
                    let line = format!(
                        "{:?} {} ({}) to {}, key {}, {} attempt(s), last error: {}",
                        n.state,
                        n.template,
                        n.locale,
                        n.recipient,
                        n.dedupe_key,
                        n.attempts,
                        n.last_error.as_deref().unwrap_or("none"),
                    );
                    (n.recipient, line)
                })
                .collect()
        })
    })
    .join()
    .expect("the end-of-test outbox check ran")
}

/// Successful output as text, or a panic that shows what the command said.
pub fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Declares one test per database backend: `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::harness::{Backend, TestApp};

            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::spawn(Backend::Sqlite).await {
                    run(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn(Backend::Postgres).await {
                    run(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                if let Some(app) = TestApp::spawn(Backend::MySql).await {
                    run(app).await;
                }
            }
        }
    };
}

impl TestApp {
    /// A second instance of this app on the same database, as behind a load balancer: the same
    /// settings, its own listener, data dir and in-memory state. The database stays this app's
    /// (dropped with it), so drop the second instance first.
    pub async fn another_instance(&self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = self.config.clone();
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir.path().to_path_buf();
        let database = TestDatabase {
            url: self.config.database_url.clone(),
            server: None,
        };
        TestApp::serving(config, self.backend, database, data_dir).await
    }
}

/// Builds the app on `config` and serves it until the returned sender fires (or drops).
async fn serve(
    config: Config,
) -> (
    std::net::SocketAddr,
    cpe_ledger::app::AppState,
    oneshot::Sender<()>,
) {
    let app = Application::build(config).await.expect("the app builds");
    let address = app.local_addr().expect("bound");
    let state = app.state();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (address, state, stop)
}
