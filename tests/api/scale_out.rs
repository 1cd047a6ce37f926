//! Three `cpe-ledger serve` processes on one PostgreSQL database, each with its scheduler on
//! (a sweep every five seconds, a drain every second), under a short mixed load spread
//! round-robin over them: attendance batches (each sent to two instances at once, some sent
//! again later to the third), procurement reads single and batch, and professionals' dashboards.
//! Afterwards the instances answer alike, each sweep period ran on one instance only, every
//! reminder was delivered once, and every attendance reference was credited once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, Months, Utc};
use entity::notifications::{self, NotificationState};
use entity::{credits, job_periods};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::support_accounts::{PASSWORD, mail_server, unique_email};
use crate::support_clients::{TestClient, make_client};
use crate::support_process::Served;
use crate::support_providers::{accredited_provider, publish_course};

/// What every instance calls itself, as instances behind one load balancer do: tokens any of
/// them signs name this issuer, so each accepts the others'.
const PUBLIC_URL: &str = "http://ledger.test/";
const INSTANCES: usize = 3;
/// Holders in the registry, each due a reminder today.
const HOLDERS: usize = 30;
/// Professionals who sign in and read their dashboards.
const PROFESSIONALS: usize = 3;
/// How long the mixed load runs.
const LOAD_FOR: Duration = Duration::from_secs(16);
/// The guard on waiting for the instances to settle after the load; never reached when they do.
const SETTLE_WITHIN: Duration = Duration::from_secs(30);
const SWEEP_CRON: &str = "*/5 * * * * *";
const COURSE: &str = "SCALE-101";

/// The registry rows: CISSP holders whose deadline is about 100 days away, so the first sweep
/// reminds each of them once.
fn registry(emails: &[String]) -> String {
    let start = Utc::now().date_naive() - Months::new(36) + Days::new(100);
    let mut csv = String::from(
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start,locale\n",
    );
    for (i, email) in emails.iter().enumerate() {
        csv.push_str(&format!(
            "cissp,{},{email},山田 花子,,,{start},{start},en\n",
            number(i)
        ));
    }
    csv
}

fn number(i: usize) -> String {
    format!("0099{i:04}")
}

/// A token for `client` from the instance at `base`.
async fn token_at(http: &reqwest::Client, base: &str, client: &TestClient) -> String {
    let response = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(&client.client_id, Some(&client.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "token request refused at {base}");
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn login_at(http: &reqwest::Client, base: &str, email: &str) -> String {
    let response = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "login of {email} at {base} refused");
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The status and body of one call, for the load's record.
async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(e) => (0, Value::String(e.to_string())),
    }
}

/// `body` without the fields that say when it was answered.
fn redacted(mut body: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                fields.remove("answered_at");
                fields.remove("request_id");
                fields.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut body);
    body
}

/// `cpe_ledger_job_runs_total{job=…,outcome=…}` summed over the instances.
async fn job_runs(http: &reqwest::Client, bases: &[String], job: &str, outcome: &str) -> u64 {
    let wanted = format!(r#"cpe_ledger_job_runs_total{{job="{job}",outcome="{outcome}"}} "#);
    let mut total = 0;
    for base in bases {
        let response = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200, "/metrics of {base}");
        let text = response.text().await.unwrap();
        total += text
            .lines()
            .find_map(|line| line.strip_prefix(&wanted))
            .map_or(0, |n| n.trim().parse::<u64>().unwrap());
    }
    total
}

/// What the load saw: calls that were not answered as they should have been, and how many
/// times each attendance reference was answered `created`.
#[derive(Default)]
struct Seen {
    calls: usize,
    wrong: Vec<String>,
    created: HashMap<String, usize>,
    accepted: HashSet<String>,
}

impl Seen {
    fn expect(&mut self, what: &str, (status, body): &(u16, Value), wanted: u16) -> bool {
        self.calls += 1;
        if *status != wanted {
            self.wrong.push(format!("{what}: {status} {body}"));
            return false;
        }
        true
    }

    fn attendance(&mut self, what: &str, rows: &[Value], answer: &(u16, Value)) {
        if !self.expect(what, answer, 200) {
            return;
        }
        let results = answer.1["results"].as_array().cloned().unwrap_or_default();
        if results.len() != rows.len() {
            self.wrong.push(format!(
                "{what}: {} results for {} rows",
                results.len(),
                rows.len()
            ));
            return;
        }
        for (row, result) in rows.iter().zip(results) {
            let reference = row["reference"].as_str().unwrap().to_owned();
            match result["outcome"].as_str() {
                Some("created") => {
                    *self.created.entry(reference.clone()).or_default() += 1;
                    self.accepted.insert(reference);
                }
                Some("unchanged") => {
                    self.accepted.insert(reference);
                }
                other => self.wrong.push(format!(
                    "{what}: row {reference} answered {other:?}: {result}"
                )),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_under_mixed_load_answer_alike_and_run_each_job_and_write_each_credit_once()
{
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |s| {
        s.public_url = Some(PUBLIC_URL.to_owned());
    })
    .await
    else {
        return;
    };

    // Seed, through the in-process app (its scheduler is off).
    let mut professionals = Vec::new();
    for _ in 0..PROFESSIONALS {
        professionals.push(app.active_holder().await);
    }
    let provider = accredited_provider(&app, "Scale-Out Academy").await;
    publish_course(&app, &provider, COURSE).await;
    let emails: Vec<String> = (0..HOLDERS).map(|_| unique_email("scale")).collect();
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        registry(&emails).as_bytes(),
        "registry.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    let buyer = make_client(&app, "procurement", &[], 100_000).await;

    // Three instances on the same database, schedulers on.
    let smtp = mail_server().smtp_url();
    let data_dirs: Vec<tempfile::TempDir> = (0..INSTANCES)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let started_at = Utc::now();
    let instances: Vec<Served> = data_dirs
        .iter()
        .map(|dir| {
            let dir = dir.path().display().to_string();
            Served::start(&[
                ("CPE_LEDGER_DATABASE_URL", app.config.database_url.as_str()),
                ("CPE_LEDGER_DATA_DIR", dir.as_str()),
                ("CPE_LEDGER_PUBLIC_URL", PUBLIC_URL),
                ("CPE_LEDGER_SMTP_URL", smtp.as_str()),
                ("CPE_LEDGER_SCHEDULER", "true"),
                ("CPE_LEDGER_SWEEP_CRON", SWEEP_CRON),
                ("CPE_LEDGER_DRAIN_CRON", "* * * * * *"),
            ])
        })
        .collect();
    let bases: Vec<String> = instances.iter().map(|i| i.url("")).collect();
    let http = reqwest::Client::new();

    // Tokens from one instance are good at the others: the signing keys live in the database.
    let provider_token = token_at(&http, &bases[0], &provider.client).await;
    let buyer_token = token_at(&http, &bases[1], &buyer).await;
    let mut sessions = Vec::new();
    for (i, who) in professionals.iter().enumerate() {
        let token = login_at(&http, &bases[(i + 2) % INSTANCES], &who.email).await;
        sessions.push((token, who.holding_id));
    }
    let yesterday = (Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
        - Days::new(1))
    .to_string();

    // The mixed load, for a bounded time.
    let until = Instant::now() + LOAD_FOR;
    let bases = Arc::new(bases);
    let attendance = {
        let (http, bases, token) = (http.clone(), Arc::clone(&bases), provider_token.clone());
        tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut earlier: Vec<Vec<Value>> = Vec::new();
            let mut round = 0usize;
            while Instant::now() < until {
                let rows: Vec<Value> = (0..6)
                    .map(|j| {
                        json!({
                            "reference": format!("SO-{round}-{j}"),
                            "course": COURSE,
                            "scheme": "cissp",
                            "registration_number": number((round * 6 + j) % HOLDERS),
                            "completed": yesterday,
                        })
                    })
                    .collect();
                let send = |at: usize, rows: &[Value]| {
                    http.post(format!("{}/v1/provider/attendance", bases[at % INSTANCES]))
                        .bearer_auth(&token)
                        .json(&json!({ "rows": rows }))
                };
                // The same batch to two instances at once, as a client retrying on a timeout.
                let (a, b) = tokio::join!(call(send(round, &rows)), call(send(round + 1, &rows)));
                seen.attendance(
                    &format!("batch {round} at instance {}", round % INSTANCES),
                    &rows,
                    &a,
                );
                seen.attendance(
                    &format!("batch {round} at instance {}", (round + 1) % INSTANCES),
                    &rows,
                    &b,
                );
                // Every other round, an earlier batch comes again, to the third instance,
                // alongside the next batch's pair.
                if round % 2 == 1
                    && let Some(old) = earlier.get(round / 2)
                {
                    let again = call(send(round + 2, old)).await;
                    seen.attendance(&format!("batch {} again", round / 2), old, &again);
                }
                earlier.push(rows);
                round += 1;
            }
            seen
        })
    };
    let procurement = {
        let (http, bases, token) = (http.clone(), Arc::clone(&bases), buyer_token.clone());
        tokio::spawn(async move {
            let mut seen = Seen::default();
            let all: Vec<Value> = (0..HOLDERS)
                .map(|i| json!({"scheme": "cissp", "registration_number": number(i)}))
                .collect();
            let mut i = 0usize;
            while Instant::now() < until {
                let single = call(
                    http.get(format!(
                        "{}/v1/procurement/holdings/cissp/{}",
                        bases[i % INSTANCES],
                        number(i % HOLDERS)
                    ))
                    .bearer_auth(&token),
                )
                .await;
                seen.expect(&format!("single verify {i}"), &single, 200);
                let batch = call(
                    http.post(format!(
                        "{}/v1/procurement/verify",
                        bases[(i + 1) % INSTANCES]
                    ))
                    .bearer_auth(&token)
                    .json(&json!({ "holdings": all })),
                )
                .await;
                if seen.expect(&format!("batch verify {i}"), &batch, 200) {
                    let found = batch.1["results"]
                        .as_array()
                        .map_or(0, |r| r.iter().filter(|a| a["found"] == true).count());
                    if found != HOLDERS {
                        seen.wrong
                            .push(format!("batch verify {i}: {found} of {HOLDERS} found"));
                    }
                }
                i += 1;
            }
            seen
        })
    };
    let dashboards = {
        let (http, bases, sessions) = (http.clone(), Arc::clone(&bases), sessions.clone());
        tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut i = 0usize;
            while Instant::now() < until {
                let (token, holding) = &sessions[i % sessions.len()];
                let base = &bases[i % INSTANCES];
                let standing = call(
                    http.get(format!("{base}/v1/me/holdings/{holding}/standing"))
                        .bearer_auth(token),
                )
                .await;
                seen.expect(&format!("dashboard {i}"), &standing, 200);
                let holdings = call(
                    http.get(format!("{base}/v1/me/holdings"))
                        .bearer_auth(token),
                )
                .await;
                seen.expect(&format!("holdings {i}"), &holdings, 200);
                i += 1;
            }
            seen
        })
    };
    let attendance = attendance.await.unwrap();
    let procurement = procurement.await.unwrap();
    let dashboards = dashboards.await.unwrap();
    let load_ended = Utc::now();
    for (load, seen) in [
        ("attendance", &attendance),
        ("procurement", &procurement),
        ("dashboard", &dashboards),
    ] {
        assert!(seen.calls > 0, "the {load} load made no call");
        assert!(
            seen.wrong.is_empty(),
            "{} of {} {load} calls were not answered as expected:\n  {}",
            seen.wrong.len(),
            seen.calls,
            seen.wrong.join("\n  ")
        );
    }

    // Every instance answers the same for the same holding, and the same standing.
    let ask = |at: usize, path: String, token: &str| {
        let request = http.get(format!("{}{path}", bases[at])).bearer_auth(token);
        async move {
            let (status, body) = call(request).await;
            assert_eq!(status, 200, "{path} at instance {at}: {body}");
            redacted(body)
        }
    };
    for i in [0, HOLDERS / 2, HOLDERS - 1] {
        let path = format!("/v1/procurement/holdings/cissp/{}", number(i));
        let first = ask(0, path.clone(), &buyer_token).await;
        for at in 1..INSTANCES {
            assert_eq!(
                ask(at, path.clone(), &buyer_token).await,
                first,
                "instance {at} answers {path} as instance 0 does"
            );
        }
    }
    let batch: Vec<Value> = (0..HOLDERS)
        .map(|i| json!({"scheme": "cissp", "registration_number": number(i)}))
        .collect();
    let mut batches = Vec::new();
    for base in bases.iter() {
        let (status, body) = call(
            http.post(format!("{base}/v1/procurement/verify"))
                .bearer_auth(&buyer_token)
                .json(&json!({ "holdings": batch })),
        )
        .await;
        assert_eq!(status, 200, "batch verify at {base}: {body}");
        batches.push(redacted(body));
    }
    assert!(
        batches.iter().all(|b| *b == batches[0]),
        "every instance answers the batch alike"
    );
    for (token, holding) in &sessions {
        let path = format!("/v1/me/holdings/{holding}/standing");
        let first = ask(0, path.clone(), token).await;
        for at in 1..INSTANCES {
            assert_eq!(
                ask(at, path.clone(), token).await,
                first,
                "instance {at} shows the professional the standing instance 0 shows"
            );
        }
    }

    // Every reminder was delivered, once. The first sweep queued one per registry holder, a
    // later one a congratulation to each holder the load's credits completed; a sweep that
    // began after the load finds the ledger as it stays, and the instances' drains send what
    // it queued.
    let recipients: HashSet<&str> = emails.iter().map(String::as_str).collect();
    let settle = Instant::now() + SETTLE_WITHIN;
    let queued = loop {
        let swept_since = job_periods::Entity::find()
            .filter(job_periods::Column::Job.eq("reminder_sweep"))
            .filter(job_periods::Column::StartedAt.gt(load_ended))
            .filter(job_periods::Column::FinishedAt.is_not_null())
            .all(&app.state.db)
            .await
            .unwrap();
        let rows: Vec<notifications::Model> = notifications::Entity::find()
            .filter(notifications::Column::Recipient.is_in(emails.iter().cloned()))
            .all(&app.state.db)
            .await
            .unwrap();
        let all_sent = rows.iter().all(|n| n.state == NotificationState::Sent);
        if (!swept_since.is_empty() && all_sent) || Instant::now() > settle {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let states: BTreeMap<String, usize> = queued.iter().fold(BTreeMap::new(), |mut m, n| {
        *m.entry(format!("{:?}", n.state)).or_default() += 1;
        m
    });
    assert!(
        queued.iter().all(|n| n.state == NotificationState::Sent),
        "every reminder was sent: {states:?}"
    );
    let reminded: HashSet<&str> = queued.iter().map(|n| n.recipient.as_str()).collect();
    assert_eq!(
        reminded, recipients,
        "every registry holder was reminded: {states:?}"
    );
    let keys: HashSet<&str> = queued.iter().map(|n| n.dedupe_key.as_str()).collect();
    assert_eq!(
        keys.len(),
        queued.len(),
        "no two notifications share a dedupe key"
    );
    let mut by_message_id: HashMap<String, usize> = HashMap::new();
    let mut by_subject: HashMap<(String, String), usize> = HashMap::new();
    let mut delivered = 0;
    for email in &recipients {
        for message in mail_server().messages_to(email) {
            delivered += 1;
            *by_message_id
                .entry(message.header("message-id").unwrap_or_default())
                .or_default() += 1;
            *by_subject
                .entry(((*email).to_owned(), message.subject()))
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = by_message_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "emails delivered more than once: {twice:?}"
    );
    let twice: Vec<_> = by_subject.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "recipients who got the same email twice: {twice:?}"
    );
    assert_eq!(
        delivered,
        queued.len(),
        "the SMTP server received one email per notification sent"
    );

    // Each sweep period ran on one instance: one row per period, at least two periods, and
    // the instances' `done` counters add up to the periods claimed. The counters are read on
    // both sides of the table, and again until no sweep ran in between.
    let settle = Instant::now() + SETTLE_WITHIN;
    let (periods, done) = loop {
        let before = job_runs(&http, &bases, "reminder_sweep", "done").await;
        let periods: Vec<job_periods::Model> = job_periods::Entity::find()
            .filter(job_periods::Column::Job.eq("reminder_sweep"))
            .all(&app.state.db)
            .await
            .unwrap();
        let after = job_runs(&http, &bases, "reminder_sweep", "done").await;
        let settled = before == after && periods.iter().all(|p| p.finished_at.is_some());
        if (settled && after == periods.len() as u64) || Instant::now() > settle {
            break (periods, after);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let labels: HashSet<(&str, &str)> = periods
        .iter()
        .map(|p| (p.job.as_str(), p.period.as_str()))
        .collect();
    assert_eq!(
        labels.len(),
        periods.len(),
        "at most one row per job and period"
    );
    assert!(
        periods.len() >= 2,
        "at least two sweep periods passed during the test: {periods:?}"
    );
    assert!(
        periods
            .iter()
            .all(|p| p.started_at >= started_at - chrono::Duration::seconds(1)),
        "only the instances swept: {periods:?}"
    );
    assert!(
        periods.iter().all(|p| p.error.is_none()),
        "every sweep period finished without error: {periods:?}"
    );
    assert_eq!(
        done,
        periods.len() as u64,
        "the sweeps the instances ran add up to the periods claimed, each once: {periods:?}"
    );
    assert_eq!(
        job_runs(&http, &bases, "reminder_sweep", "failed").await,
        0,
        "no sweep failed"
    );
    assert!(
        job_runs(&http, &bases, "reminder_sweep", "skipped").await > 0,
        "the instances competed for the periods: some found a period already claimed"
    );

    // Each accepted reference was credited once.
    let written: Vec<credits::Model> = credits::Entity::find()
        .filter(credits::Column::ProviderId.eq(provider.id))
        .all(&app.state.db)
        .await
        .unwrap();
    let mut per_reference: HashMap<String, usize> = HashMap::new();
    for credit in &written {
        *per_reference
            .entry(credit.provider_reference.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_reference.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "references credited more than once: {twice:?}"
    );
    assert_eq!(
        written.len(),
        attendance.accepted.len(),
        "one credit per distinct accepted reference"
    );
    let reported: HashSet<&String> = per_reference.keys().collect();
    assert_eq!(
        reported,
        attendance.accepted.iter().collect(),
        "the credits are the accepted references"
    );
    let not_once: Vec<_> = attendance
        .accepted
        .iter()
        .filter(|r| attendance.created.get(*r) != Some(&1))
        .collect();
    assert!(
        not_once.is_empty(),
        "each reference answered `created` exactly once across instances and retries: {not_once:?}"
    );
    drop(instances);
}
