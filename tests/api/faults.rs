//! Failing dependencies: the database server goes away under load and comes back, and an
//! unreachable one at start. The "restart" is a TCP relay between the app and the real server
//! that drops every connection and refuses new ones for a while, as a restarting server does,
//! without disturbing the server the other tests share.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use sea_orm::EntityTrait;

use crate::harness::{Backend, TestApp, run_cli};
use crate::support_accounts::PASSWORD;

/// A relay to `upstream` that can be taken down and brought back.
struct Relay {
    address: std::net::SocketAddr,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
    _accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let accept = {
            let (down, links) = (Arc::clone(&down), Arc::clone(&links));
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let upstream = upstream.clone();
                    links.lock().await.spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            })
        };
        Self {
            address,
            down,
            links,
            _accept: accept,
        }
    }

    /// Every open connection is cut and new ones are closed at once.
    async fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.links.lock().await.abort_all();
    }

    fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

async fn the_database_restarting_under_load_answers_503_fast_and_recovers(backend: Backend) {
    let upstream = match backend {
        Backend::Postgres => "127.0.0.1:5432",
        Backend::MySql => "127.0.0.1:3306",
        Backend::Sqlite => unreachable!("a file has no server to restart"),
    };
    let relay = Relay::start(upstream.to_owned()).await;
    let through = relay.address.to_string();
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.database_url = s
            .database_url
            .as_ref()
            .map(|url| url.replace(upstream, &through));
    })
    .await
    else {
        return;
    };
    let app = Arc::new(app);
    let holder = app.active_holder().await;
    let token = app.login_as(&holder.email, PASSWORD).await;
    assert_eq!(app.get_as("/v1/me/holdings", &token).await.status(), 200);

    let stop = Arc::new(AtomicBool::new(false));
    let mut load = JoinSet::new();
    for _ in 0..4 {
        let (app, token, stop) = (Arc::clone(&app), token.clone(), Arc::clone(&stop));
        load.spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let status = app
                    .get_as("/v1/me/holdings", &token)
                    .await
                    .status()
                    .as_u16();
                seen.push((status, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.go_down().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    relay.come_back();
    // Without a restart of the app, reads succeed again.
    let back = Instant::now();
    loop {
        if app.get_as("/v1/me/holdings", &token).await.status() == 200 {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    while let Some(seen) = load.join_next().await {
        all.extend(seen.unwrap());
    }
    let statuses: std::collections::BTreeSet<u16> = all.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 503)),
        "only answers or 503s: {statuses:?}"
    );
    assert!(
        statuses.contains(&503),
        "the outage was noticed: {statuses:?}"
    );
    let slowest = all.iter().map(|(_, took)| *took).max().unwrap();
    assert!(
        slowest < Duration::from_secs(8),
        "every request was answered promptly: {slowest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_under_load_is_answered_with_quick_503s_and_the_service_recovers_by_itself()
 {
    the_database_restarting_under_load_answers_503_fast_and_recovers(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_restarting_under_load_is_answered_with_quick_503s_and_the_service_recovers_by_itself()
 {
    the_database_restarting_under_load_answers_503_fast_and_recovers(Backend::MySql).await;
}

#[test]
fn an_unreachable_database_at_start_stops_serve_within_seconds_with_one_line_naming_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    for url in [
        format!("postgres://postgres@127.0.0.1:{closed}/cpe"),
        format!("mysql://root@127.0.0.1:{closed}/cpe"),
    ] {
        let started = Instant::now();
        let output = run_cli(
            &["serve"],
            &[
                ("CPE_LEDGER_DATABASE_URL", url.as_str()),
                ("CPE_LEDGER_DATA_DIR", &dir.path().display().to_string()),
                ("CPE_LEDGER_LISTEN", "127.0.0.1:0"),
            ],
            None,
        );
        let took = started.elapsed();
        assert!(!output.status.success());
        assert!(took < Duration::from_secs(6), "{url}: {took:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{url}: {stderr}");
        assert!(
            lines[0].contains("CPE_LEDGER_DATABASE_URL")
                && lines[0].contains(&format!("127.0.0.1:{closed}"))
                && lines[0].contains("refused"),
            "{}",
            lines[0]
        );
    }
}

crate::db_test! {
    async fn evidence_refused_by_full_storage_is_a_clear_answer_that_leaves_nothing_and_the_next_upload_works(app: TestApp) {
        use crate::self_report::{PDF, reporter, upload};
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let holder = reporter(&app, &[("cissp", "558801")]).await;
        let real_disk_full = app.fill_storage_for("evidence").await;
        let (status, body) = upload(&app, &holder.token, PDF.to_vec(), Some("certificate.pdf"), "application/pdf").await;
        if real_disk_full {
            assert_eq!(status, 507, "{body}");
            assert_eq!(body["type"], "/problems/storage-full");
            assert!(body["detail"].as_str().unwrap().contains("nothing was saved"), "{body}");
        } else {
            assert_eq!(status, 500, "{body}");
        }
        assert!(body["request_id"].is_string(), "{body}");
        let stored = entity::evidence::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(stored, 0, "no evidence row");
        let audited = entity::audit_events::Entity::find()
            .filter(entity::audit_events::Column::Action.eq("evidence.uploaded"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(audited, 0, "no audit row of an upload that was not kept");

        app.stop_refusing("evidence").await;
        let (status, body) = upload(&app, &holder.token, PDF.to_vec(), Some("certificate.pdf"), "application/pdf").await;
        assert_eq!(status, 201, "{body}");
    }
}

/// SQLite has no server to restart; what takes it away from the app is another process
/// holding the file's write lock (an operator's `sqlite3` shell in a transaction, a backup
/// tool). For 3 s under load: reads go on (WAL), writes wait for the lock instead of failing,
/// every answer is a success or a 503 within seconds, and afterwards every write the app
/// acknowledged is there, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_process_under_load_keeps_answering_and_loses_no_acknowledged_write()
 {
    use sea_orm::sqlx::Connection as _;
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let app = Arc::new(app);
    let holder = app.active_holder().await;
    let token = app.login_as(&holder.email, PASSWORD).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut load = JoinSet::new();
    for worker in 0..4 {
        let (app, token, stop) = (Arc::clone(&app), token.clone(), Arc::clone(&stop));
        load.spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                // Three readers, and one writer of the caller's language.
                let (status, wrote) = if worker != 1 {
                    let status = app.get_as("/v1/me/holdings", &token).await.status();
                    (status.as_u16(), None)
                } else {
                    let locale = if n.is_multiple_of(2) { "en" } else { "ja" };
                    let status = app
                        .client
                        .put(app.url("/v1/me/locale"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({ "locale": locale }))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    (status.as_u16(), Some(locale))
                };
                seen.push((status, started.elapsed(), wrote, Instant::now()));
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut other = sea_orm::sqlx::SqliteConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    sea_orm::sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    let locked_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    sea_orm::sqlx::query("COMMIT")
        .execute(&mut other)
        .await
        .unwrap();
    let released_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    while let Some(seen) = load.join_next().await {
        all.extend(seen.unwrap());
    }

    let statuses: std::collections::BTreeSet<u16> = all.iter().map(|(s, ..)| *s).collect();
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 503)),
        "only answers or 503s: {statuses:?}"
    );
    let slowest = all.iter().map(|(_, took, ..)| *took).max().unwrap();
    assert!(
        slowest < Duration::from_secs(8),
        "every request was answered promptly: {slowest:?}"
    );
    // Reads went on while the lock was held; a write answered after the lock went waited for it.
    assert!(
        all.iter().any(|(s, _, wrote, at)| *s == 200
            && wrote.is_none()
            && *at > locked_at
            && *at < released_at),
        "reads were answered during the lock"
    );
    assert!(
        all.iter().any(|(s, took, wrote, at)| *s == 200
            && wrote.is_some()
            && *at >= released_at
            && *took > Duration::from_secs(1)),
        "a write waited for the lock and then succeeded"
    );
    // The last acknowledged write is what the ledger holds.
    let last = all
        .iter()
        .filter(|(s, _, wrote, _)| *s == 200 && wrote.is_some())
        .max_by_key(|(.., at)| *at)
        .and_then(|(_, _, wrote, _)| *wrote)
        .unwrap();
    // A professional's language is kept on the professional.
    let person = entity::professionals::Entity::find_by_id(holder.professional_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.locale, last);
}
