//! Soak: mixed load for `--soak-seconds` (default 600) on `cpe-ledger serve` in a process of
//! its own on the loaded database, with its scheduler on (the sweep every two minutes, the
//! outbox drained every ten seconds, emails written as files). Load: procurement single and
//! batch verify and professionals' dashboard reads back to back, and a batch of 200
//! attendance rows every two seconds, every fourth batch sent twice. The process's memory is
//! sampled every five seconds.
//!
//! At the end it answers: how many 5xx (and other failures), whether memory stayed flat, and
//! whether any credit or notification was lost or written twice: every attendance reference
//! sent is one credit, every sent notification one email file. Memory is judged per sweep
//! period (two minutes, one sweep each): the sweep holds a page's ledger while it judges it
//! and the allocator hands that back over the following minute, so within a period memory
//! rises and falls. The row gives the highest point of each whole period, and the last
//! against the second (the first starts cold, before any sweep or cache has filled).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Days;
use entity::notifications::{self, NotificationState};
use entity::{credits, job_periods};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::data::{self, Record, peak_rss_mib, rss_mib};
use crate::load::{client_token, procurement_client, professional_token, provider, publish_course};
use crate::served::{Child, Served};
use crate::table::{Row, percentile};

/// Rows in one attendance batch.
const BATCH: usize = 200;
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How often a batch of attendance is sent.
const ATTENDANCE_EVERY: Duration = Duration::from_secs(2);
/// The scheduler's sweep period, as `SWEEP_CRON` sets it: memory is compared period by period.
const SWEEP_PERIOD: u64 = 120;

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    client_errors: AtomicUsize,
    server_errors: AtomicUsize,
    transport_errors: AtomicUsize,
    latencies: Mutex<Vec<Duration>>,
    /// Each refused answer's status and the start of its body, the first time it is seen.
    refusals: Mutex<std::collections::BTreeMap<u16, (usize, String)>>,
}

impl Tally {
    async fn send(&self, request: reqwest::RequestBuilder) -> Option<Value> {
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => response,
            Err(_) => {
                self.transport_errors.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let status = answer.status();
        let body = answer.bytes().await.ok();
        let elapsed = started.elapsed();
        if status.is_success() {
            self.ok.fetch_add(1, Ordering::Relaxed);
            self.latencies.lock().await.push(elapsed);
            body.and_then(|b| serde_json::from_slice(&b).ok())
        } else {
            if status.is_server_error() {
                self.server_errors.fetch_add(1, Ordering::Relaxed);
            } else {
                self.client_errors.fetch_add(1, Ordering::Relaxed);
            }
            let mut refusals = self.refusals.lock().await;
            let seen = refusals.entry(status.as_u16()).or_insert_with(|| {
                let text = body.map(|b| String::from_utf8_lossy(&b).into_owned());
                (0, text.unwrap_or_default().chars().take(300).collect())
            });
            seen.0 += 1;
            None
        }
    }
}

/// What the attendance worker sent and was told.
#[derive(Default)]
struct Sent {
    references: HashSet<String>,
    created: usize,
    unchanged: usize,
    other: usize,
}

pub async fn run(served: &Served, records: &[Record], seconds: u64) -> anyhow::Result<Vec<Row>> {
    let state = &served.state;
    let mut env = served.env();
    env.push(("CPE_LEDGER_SWEEP_CRON".into(), "0 */2 * * * *".into()));
    env.push(("CPE_LEDGER_DRAIN_CRON".into(), "*/10 * * * * *".into()));
    let mut child = Child::spawn(&env)?;
    child.wait_ready(Duration::from_secs(60))?;
    let pid = child.process.id();
    let base = child.base();

    let (_, provider_client, provider_secret) = provider(state, "Soak Academy").await?;
    let provider_token = client_token(&base, &provider_client, &provider_secret).await?;
    publish_course(&base, &provider_token, "SOAK-1").await?;
    let (procurement, procurement_secret) = procurement_client(state, "soak procurement").await?;
    let procurement_token = client_token(&base, &procurement, &procurement_secret).await?;
    let reader = &records[2];
    let holding = cpe_ledger::services::holdings::by_registration(
        &state.db,
        reader.scheme,
        &reader.registration_number,
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("the soak's reader was not imported"))?;
    let reader_token =
        professional_token(state, holding.professional_id, &data::email(reader.person)).await?;

    let keys: Arc<Vec<(String, String)>> = Arc::new(
        records
            .iter()
            .map(|r| (r.scheme.to_owned(), r.registration_number.clone()))
            .collect(),
    );
    let tally = Arc::new(Tally::default());
    let sent = Arc::new(Mutex::new(Sent::default()));
    let http = reqwest::Client::new();
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for worker in 0..6usize {
        let (tally, keys, http, token, base) = (
            Arc::clone(&tally),
            Arc::clone(&keys),
            http.clone(),
            procurement_token.clone(),
            base.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = worker * 7_919;
            while Instant::now() < stop_at {
                let (scheme, number) = &keys[n % keys.len()];
                let url = format!("{base}/v1/procurement/holdings/{scheme}/{number}");
                tally.send(http.get(url).bearer_auth(&token)).await;
                n += 104_729;
            }
        }));
    }
    {
        let (tally, keys, http, token, base) = (
            Arc::clone(&tally),
            Arc::clone(&keys),
            http.clone(),
            procurement_token.clone(),
            base.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < stop_at {
                let pairs: Vec<Value> = (0..100)
                    .map(|i| {
                        let (scheme, number) = &keys[(n + i * 997) % keys.len()];
                        json!({"scheme": scheme, "registration_number": number})
                    })
                    .collect();
                let request = http
                    .post(format!("{base}/v1/procurement/verify"))
                    .bearer_auth(&token)
                    .json(&json!({ "holdings": pairs }));
                tally.send(request).await;
                n += 1;
            }
        }));
    }
    for _ in 0..2 {
        let (tally, http, token) = (Arc::clone(&tally), http.clone(), reader_token.clone());
        let url = format!("{base}/v1/me/holdings/{}/standing", holding.id);
        workers.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                tally.send(http.get(&url).bearer_auth(&token)).await;
            }
        }));
    }
    {
        let (tally, http, token, sent) = (
            Arc::clone(&tally),
            http.clone(),
            provider_token.clone(),
            Arc::clone(&sent),
        );
        let url = format!("{base}/v1/provider/attendance");
        let attendees: Arc<Vec<(String, String, chrono::NaiveDate)>> = Arc::new(
            records
                .iter()
                .skip(100)
                .map(|r| {
                    let on = (r.cycle_start + Days::new(30)).min(data::as_of());
                    (r.scheme.to_owned(), r.registration_number.clone(), on)
                })
                .collect(),
        );
        workers.push(tokio::spawn(async move {
            let mut k = 0usize;
            let mut previous: Option<Value> = None;
            // A provider's steady stream, not a bulk load: in ten minutes the ledger grows by
            // three quarters of the data set's credits, enough for memory kept per credit
            // written to show.
            let mut pace = tokio::time::interval(ATTENDANCE_EVERY);
            while Instant::now() < stop_at {
                pace.tick().await;
                // Every fourth batch is the one before, sent again: it must create nothing.
                let (body, again) = match previous.take() {
                    Some(body) if k % 4 == 3 => (body, true),
                    _ => {
                        let rows: Vec<Value> = (0..BATCH)
                            .map(|i| {
                                let (scheme, number, on) =
                                    &attendees[(k * BATCH + i) % attendees.len()];
                                json!({
                                    "reference": format!("SOAK-{k}-{i}"),
                                    "course": "SOAK-1",
                                    "scheme": scheme,
                                    "registration_number": number,
                                    "completed": on.to_string(),
                                })
                            })
                            .collect();
                        (json!({ "rows": rows }), false)
                    }
                };
                let references: Vec<String> = body["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["reference"].as_str().map(str::to_owned))
                    .collect();
                let request = http.post(&url).bearer_auth(&token).json(&body);
                let answer = tally.send(request).await;
                let mut sent = sent.lock().await;
                let summary = answer.as_ref().map(|a| &a["summary"]);
                let count = |field: &str| {
                    summary.and_then(|s| s[field].as_u64()).unwrap_or_default() as usize
                };
                sent.created += count("created");
                sent.unchanged += count("unchanged");
                sent.other += references.len()
                    - (count("created") + count("unchanged")).min(references.len());
                if !again {
                    sent.references.extend(references);
                    previous = Some(body);
                }
                k += 1;
            }
        }));
    }
    let mut samples = Vec::new();
    let started = Instant::now();
    while Instant::now() < stop_at {
        tokio::time::sleep(SAMPLE_EVERY).await;
        samples.push((started.elapsed().as_secs(), rss_mib(pid)));
    }
    for worker in workers {
        worker.await?;
    }
    let requests = tally.ok.load(Ordering::Relaxed);
    let peak = peak_rss_mib(Some(pid));

    // The outbox drains every ten seconds: wait until nothing is due, for at most two minutes.
    let due = [NotificationState::Pending, NotificationState::Sending];
    let settle = Instant::now();
    while notifications::Entity::find()
        .filter(notifications::Column::State.is_in(due))
        .count(&state.db)
        .await?
        > 0
        && settle.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    drop(child);

    let sent = sent.lock().await;
    let soaked =
        credits::Entity::find().filter(credits::Column::ProviderReference.starts_with("SOAK-"));
    let credits_written = soaked.clone().count(&state.db).await? as usize;
    let distinct: Vec<Option<String>> = soaked
        .select_only()
        .column(credits::Column::ProviderReference)
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await?;
    let notifications_sent = notifications::Entity::find()
        .filter(notifications::Column::State.eq(NotificationState::Sent))
        .count(&state.db)
        .await? as usize;
    let outbox = std::path::Path::new(
        &env.iter()
            .find(|(k, _)| k == "CPE_LEDGER_DATA_DIR")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    )
    .join("outbox");
    let files = std::fs::read_dir(&outbox).map_or(0, |d| d.filter_map(Result::ok).count());
    let periods = job_periods::Entity::find()
        .filter(job_periods::Column::Job.eq(cpe_ledger::jobs::schedule::SWEEP))
        .count(&state.db)
        .await?;

    // The highest point of each sweep period; the last period counts only when whole.
    let peaks: Vec<f64> = samples
        .chunk_by(|a, b| a.0 / SWEEP_PERIOD == b.0 / SWEEP_PERIOD)
        .filter(|period| {
            period
                .last()
                .is_some_and(|(s, _)| s % SWEEP_PERIOD + SAMPLE_EVERY.as_secs() >= SWEEP_PERIOD)
        })
        .map(|period| period.iter().map(|(_, m)| *m).fold(f64::NAN, f64::max))
        .collect();
    eprintln!(
        "soak memory (s, MiB): {}",
        samples
            .iter()
            .step_by(6)
            .map(|(s, m)| format!("{s}:{m:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (second, last) = (
        peaks.get(1).copied().unwrap_or(f64::NAN),
        peaks.last().copied().unwrap_or(f64::NAN),
    );
    for (status, (count, body)) in tally.refusals.lock().await.iter() {
        eprintln!("soak: {count} answers {status}, the first: {body}");
    }
    let mut latencies = std::mem::take(&mut *tally.latencies.lock().await);
    latencies.sort_unstable();
    let server_errors = tally.server_errors.load(Ordering::Relaxed);
    let transport = tally.transport_errors.load(Ordering::Relaxed);
    let lost_or_doubled_credits =
        credits_written.abs_diff(sent.references.len()) + credits_written.abs_diff(distinct.len());
    let row = Row::new(
        "soak",
        served.backend,
        format!("mixed load for {seconds} s"),
    )
    .throughput(requests as f64 / seconds as f64, "requests/s")
    .latency(percentile(&latencies, 0.5), percentile(&latencies, 0.99))
    .memory(peak)
    .errors(server_errors + transport)
    .note(format!(
        "5xx {server_errors}, transport {transport}, 4xx {}; RSS highest per sweep period {} \
             MiB (last against second {:+.1} %); credits {credits_written} for {} references \
             ({} created, {} unchanged on resend, {} other; {lost_or_doubled_credits} lost or \
             doubled); notifications {notifications_sent} sent, {files} files; {periods} sweeps",
        tally.client_errors.load(Ordering::Relaxed),
        peaks
            .iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        (last / second - 1.0) * 100.0,
        sent.references.len(),
        sent.created,
        sent.unchanged,
        sent.other,
    ));
    Ok(vec![row])
}
