//! A drain killed in the middle of a send (SIGKILL, the real binary) loses no reminder and sends
//! none twice but the one whose SMTP transaction was under way: the server had taken it, the
//! process died before recording that. What the killed pass had claimed waits for its lease
//! (`CPE_LEDGER_OUTBOX_LEASE`) and goes out with the next pass.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use cpe_ledger::services::reminders::{self, SweepOptions};
use entity::notifications::{self, NotificationState};
use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use sea_orm::EntityTrait;

use crate::db_test;
use crate::harness::{TestApp, run_cli, stdout_of};
use crate::support_accounts::{ReceivedEmail, unique_email};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start,locale";
/// Reminders queued, the outbox batch, and which message the server holds while the sender is
/// killed (the third of the second batch).
const PEOPLE: usize = 24;
const BATCH: &str = "10";
const HOLD_AT: usize = 13;
/// The killed pass's lease: long enough that the drain right after the kill still finds it
/// held, short enough not to keep the test waiting.
const LEASE_SECONDS: u64 = 10;

/// What the slow server has received, and whether it is holding a message unanswered.
#[derive(Default)]
struct Inbox {
    received: Vec<ReceivedEmail>,
    holding: bool,
    released: bool,
}

/// An SMTP server that takes its time over each message (as a busy relay does) and keeps the
/// `HOLD_AT`-th message unanswered after storing it, until released: the moment a sender can
/// die after the server has the message and before it hears "250".
#[derive(Clone)]
struct SlowServer {
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    delay: Duration,
    hold_at: Option<usize>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for SlowServer {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        let (lock, wake) = &*self.inbox;
        let mut inbox = lock.lock().unwrap();
        inbox.received.push(ReceivedEmail {
            to: std::mem::take(&mut self.to),
            raw: String::from_utf8_lossy(&self.data).into_owned(),
        });
        if Some(inbox.received.len()) == self.hold_at {
            inbox.holding = true;
            wake.notify_all();
            let _ = wake.wait_timeout_while(inbox, Duration::from_secs(60), |i| !i.released);
        }
        response::OK
    }
}

impl SlowServer {
    /// Serves on a free port, taking `delay` over each message and holding the `hold_at`-th;
    /// returns what it received and its SMTP URL.
    fn start(delay: Duration, hold_at: Option<usize>) -> (Arc<(Mutex<Inbox>, Condvar)>, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let handler = SlowServer {
            inbox: inbox.clone(),
            delay,
            hold_at,
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("slow.test")
                .with_num_threads(4)
                .with_tcp_listener(listener);
            let _ = server.with_ssl(SslConfig::None);
            let _ = server.serve();
        });
        (inbox, format!("smtp://127.0.0.1:{port}"))
    }
}

/// Imports CISSP holders (cycle 2023-10-01 .. 2026-09-30) and sweeps on 2026-04-15: one
/// reminder each.
async fn queue_one_reminder_each(app: &TestApp, emails: &[String], first_number: usize) {
    let lines: Vec<String> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let number = first_number + i;
            format!("cissp,{number},{e},山田 花子,,Hanako,2023-10-01,2023-10-01,en")
        })
        .collect();
    let path = app.file("holders.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
    stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    let report = reminders::sweep(
        &app.state.db,
        &app.state.schemes,
        &app.config,
        SweepOptions {
            as_of: Some("2026-04-15".parse::<NaiveDate>().unwrap()),
            dry_run: false,
            congratulate: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.notifications, emails.len());
}

async fn rows(app: &TestApp) -> Vec<notifications::Model> {
    notifications::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
}

fn count(rows: &[notifications::Model], state: NotificationState) -> usize {
    rows.iter().filter(|r| r.state == state).count()
}

db_test! {
    async fn a_drain_killed_mid_send_loses_no_reminder_and_repeats_only_the_one_in_flight(app: TestApp) {
        let emails: Vec<String> = (0..PEOPLE).map(|_| unique_email("killed-drain")).collect();
        queue_one_reminder_each(&app, &emails, 730000).await;

        let (inbox, smtp) = SlowServer::start(Duration::from_millis(20), Some(HOLD_AT));
        let data_dir = app.data_dir.path().display().to_string();
        let lease = LEASE_SECONDS.to_string();
        let env = [
            ("CPE_LEDGER_DATABASE_URL", app.config.database_url.as_str()),
            ("CPE_LEDGER_DATA_DIR", data_dir.as_str()),
            ("CPE_LEDGER_SMTP_URL", smtp.as_str()),
            ("CPE_LEDGER_OUTBOX_BATCH", BATCH),
            ("CPE_LEDGER_OUTBOX_LEASE", lease.as_str()),
        ];
        let mut drain = Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
            .args(["remind", "drain"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();

        // The server has message HOLD_AT and has not answered: kill the sender there.
        let (lock, wake) = &*inbox;
        {
            let inbox = lock.lock().unwrap();
            let (inbox, waited) = wake
                .wait_timeout_while(inbox, Duration::from_secs(120), |i| !i.holding)
                .unwrap();
            assert!(!waited.timed_out(), "the drain never reached message {HOLD_AT}: {} received", inbox.received.len());
        }
        drain.kill().unwrap();
        drain.wait().unwrap();
        let killed_at = Instant::now();
        let in_flight = {
            let mut inbox = lock.lock().unwrap();
            inbox.released = true;
            wake.notify_all();
            inbox.received[HOLD_AT - 1].clone()
        };

        // What the killed process left: the first HOLD_AT - 1 recorded as sent, the rest of its
        // second batch (the one in flight included) still leased, the last batch untouched.
        let left = rows(&app).await;
        assert_eq!(count(&left, NotificationState::Sent), HOLD_AT - 1);
        assert_eq!(count(&left, NotificationState::Sending), 20 - (HOLD_AT - 1));
        assert_eq!(count(&left, NotificationState::Pending), PEOPLE - 20);

        // A drain at once sends only what nobody holds.
        let first = stdout_of(&run_cli(&["remind", "drain"], &env, None));
        assert!(killed_at.elapsed() < Duration::from_secs(LEASE_SECONDS), "the machine is too slow for this lease");
        assert_eq!(first.trim(), format!("{} emails sent", PEOPLE - 20));
        assert_eq!(count(&rows(&app).await, NotificationState::Sending), 20 - (HOLD_AT - 1));

        // Once the lease has run out, the next drain sends the rest.
        let lease_ends = rows(&app)
            .await
            .iter()
            .filter(|r| r.state == NotificationState::Sending)
            .map(|r| r.next_attempt_at)
            .max()
            .unwrap();
        let wait = (lease_ends - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_millis(200)).await;
        let second = stdout_of(&run_cli(&["remind", "drain"], &env, None));
        assert_eq!(second.trim(), format!("{} emails sent", 20 - (HOLD_AT - 1)));

        // Nothing lost: every reminder recorded as sent, every person has theirs.
        let done = rows(&app).await;
        assert_eq!(count(&done, NotificationState::Sent), PEOPLE, "{done:#?}");
        let received = lock.lock().unwrap().received.clone();
        let mut per_person: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for mail in &received {
            for to in &mail.to {
                per_person.entry(to.clone()).or_default().push(mail.header("message-id").unwrap_or_default());
            }
        }
        for email in &emails {
            assert!(per_person.contains_key(email), "{email} got nothing");
        }
        // Nothing twice but the one in flight at the kill, with the same Message-ID both times.
        let twice: Vec<(&String, &Vec<String>)> = per_person.iter().filter(|(_, ids)| ids.len() > 1).collect();
        assert_eq!(twice.len(), 1, "{twice:?}");
        assert_eq!(twice[0].0, &in_flight.to[0]);
        assert_eq!(twice[0].1[0], twice[0].1[1]);
        let row = done.iter().find(|r| r.recipient == in_flight.to[0]).unwrap();
        assert_eq!(Some(twice[0].1[0].as_str()), row.message_id.as_deref());
        assert_eq!(received.len(), PEOPLE + 1);
    }
}

db_test! {
    async fn a_pass_that_outlives_its_lease_stops_there_so_no_reminder_goes_out_twice(app: TestApp) {
        let emails: Vec<String> = (0..6).map(|_| unique_email("lease-overrun")).collect();
        queue_one_reminder_each(&app, &emails, 740000).await;

        // An instance whose relay takes 0.4 s a message, with a 1 s lease on its batch of 6.
        let (inbox, smtp) = SlowServer::start(Duration::from_millis(400), None);
        let mut config = app.config.clone();
        config.mail = cpe_ledger::config::MailDelivery::Smtp(smtp);
        config.outbox_lease = Duration::from_secs(1);
        config.outbox_batch = 6;
        let slow = cpe_ledger::startup::Application::build(config).await.unwrap().state();
        let slow_pass = tokio::spawn(async move { cpe_ledger::jobs::outbox::drain_once(&slow).await });
        // Its lease over, another instance (a quick relay) claims what it had not sent.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let quick = app.dispatch_pending_emails().await;
        let slow_sent = slow_pass.await.unwrap();
        assert!(slow_sent < emails.len(), "the slow pass stops when its lease runs out");
        assert_eq!(slow_sent + quick, emails.len());

        let slow_received = inbox.0.lock().unwrap().received.clone();
        for email in &emails {
            let times = slow_received.iter().filter(|m| m.to.contains(email)).count()
                + app.emails_to(email).len();
            assert_eq!(times, 1, "{email}");
        }
        assert_eq!(count(&rows(&app).await, NotificationState::Sent), emails.len());
    }
}
