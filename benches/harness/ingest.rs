//! Attendance ingestion: rows reported through the provider API (`POST /v1/provider/attendance`,
//! JSON batches of 5,000, bearer token), one row per holding of the first `rows` registry
//! rows, for one course that awards in every generated scheme. Every row must come back
//! `created`. The API runs twice, under references of their own: one upload at a time, then
//! two at a time (one batch is judged while the other is written). The baseline, measured first on the same database: a raw batched insert of the
//! same credits and claims (one transaction per 5,000 rows, through the same bulk-write
//! path), with nothing looked up or judged.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Days, Utc};
use cpe_ledger::services::bulk_write;
use entity::credits::{CreditSource, CreditState};
use entity::{courses, credit_claims, credits};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::data::{self, Record, peak_rss_mib, person_ids, reset_peak_rss};
use crate::load::{client_token, course_points, provider, publish_course};
use crate::served::Served;
use crate::table::Row;

const BATCH: usize = 5_000;
/// Uploads in flight at once in the second API run: one being written while the next is judged.
const UPLOADS_AT_ONCE: usize = 2;

/// The day each row completes on: a month into the holding's current cycle.
pub fn completed_on(record: &Record) -> chrono::NaiveDate {
    record.cycle_start + Days::new(30)
}

pub async fn run(served: &Served, registry: &[Record], rows: usize) -> anyhow::Result<Vec<Row>> {
    let state = &served.state;
    let registry = &registry[..rows.min(registry.len())];
    let rows = registry.len();
    let (provider_id, client_id, secret) = provider(state, "Bench Academy").await?;
    let base = served.base();
    let token = client_token(&base, &client_id, &secret).await?;
    let course_id = publish_course(&base, &token, "BENCH-1").await?;

    reset_peak_rss();
    let started = Instant::now();
    raw_insert(&state.db, registry, provider_id, course_id).await?;
    let seconds = started.elapsed().as_secs_f64();
    let baseline = Row::new("ingest", served.backend, "baseline: raw batched insert")
        .throughput(rows as f64 / seconds, "rows/s")
        .memory(peak_rss_mib(None))
        .note(format!("{rows} rows in {seconds:.2} s"));

    let mut rows_out = vec![baseline.clone()];
    for (lanes, prefix) in [(1, "API"), (UPLOADS_AT_ONCE, "API2")] {
        let bodies: Vec<String> = registry
            .chunks(BATCH)
            .map(|chunk| {
                json!({"rows": chunk.iter().map(|r| json!({
                    "reference": format!("{prefix}-{}", r.registration_number),
                    "course": "BENCH-1",
                    "scheme": r.scheme,
                    "registration_number": r.registration_number,
                    "completed": completed_on(r).to_string(),
                })).collect::<Vec<_>>()})
                .to_string()
            })
            .collect();
        reset_peak_rss();
        let started = Instant::now();
        let created = upload(
            &format!("{base}/v1/provider/attendance"),
            &token,
            bodies,
            lanes,
        )
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        let run = if lanes == 1 {
            "POST /v1/provider/attendance".to_owned()
        } else {
            format!("POST /v1/provider/attendance, {lanes} at once")
        };
        rows_out.push(
            Row::new("ingest", served.backend, &run)
                .throughput(rows as f64 / seconds, "rows/s")
                .memory(peak_rss_mib(None))
                .errors(rows - created.min(rows))
                .against(&baseline)
                .note(format!(
                    "{rows} rows in {seconds:.2} s, batches of {BATCH}, {lanes} upload(s) at a time"
                )),
        );
        anyhow::ensure!(
            created == rows,
            "{created} of {rows} rows were created through the API"
        );
    }
    Ok(rows_out)
}

/// Posts every body, `lanes` requests at a time (each lane sends its share one after
/// another), and answers how many rows the reports say were created.
async fn upload(
    url: &str,
    token: &str,
    bodies: Vec<String>,
    lanes: usize,
) -> anyhow::Result<usize> {
    let http = reqwest::Client::new();
    let mut shares: Vec<Vec<String>> = vec![Vec::new(); lanes.max(1)];
    for (i, body) in bodies.into_iter().enumerate() {
        shares[i % lanes.max(1)].push(body);
    }
    let mut lanes = tokio::task::JoinSet::new();
    for share in shares {
        let (http, url, token) = (http.clone(), url.to_owned(), token.to_owned());
        lanes.spawn(async move {
            let mut created = 0;
            for body in share {
                let report: Value = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?
                    .json()
                    .await?;
                created += report["summary"]["created"].as_u64().unwrap_or_default() as usize;
            }
            anyhow::Ok(created)
        });
    }
    let mut created = 0;
    while let Some(lane) = lanes.join_next().await {
        created += lane??;
    }
    Ok(created)
}

/// The same credits and claims as the API writes for the rows (a claim in every scheme the
/// person holds that counts points), under references of their own, inserted as they are.
async fn raw_insert(
    db: &sea_orm::DatabaseConnection,
    registry: &[Record],
    provider_id: Uuid,
    course_id: Uuid,
) -> anyhow::Result<()> {
    let mut held: HashMap<usize, Vec<&'static str>> = HashMap::new();
    for r in registry {
        held.entry(r.person).or_default().push(r.scheme);
    }
    let course = courses::Entity::find()
        .filter(courses::Column::Id.eq(course_id))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no course"))?;
    let ids = person_ids(db).await?;
    let now = Utc::now();
    for chunk in registry.chunks(BATCH) {
        let mut credit_rows = Vec::with_capacity(chunk.len());
        let mut claim_rows = Vec::with_capacity(chunk.len());
        for r in chunk {
            let id = Uuid::now_v7();
            let professional_id = ids
                .get(&r.person)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("person {} was not imported", r.person))?;
            credit_rows.push(credits::ActiveModel {
                id: Set(id),
                professional_id: Set(professional_id),
                course_id: Set(Some(course_id)),
                provider_id: Set(Some(provider_id)),
                provider_reference: Set(Some(format!("RAW-{}", r.registration_number))),
                activity_type: Set(course.activity_type.clone()),
                title: Set(course.title.clone()),
                completed_on: Set(completed_on(r)),
                completed_at: Set(None),
                hours: Set(course.hours),
                source: Set(CreditSource::Provider),
                reported_points: Set(None),
                state: Set(CreditState::Approved),
                evidence: Set(None),
                replaces_credit_id: Set(None),
                voided_at: Set(None),
                void_reason: Set(None),
                recorded_by: Set(Some("bench".into())),
                created_at: Set(now),
            });
            for scheme in held.get(&r.person).into_iter().flatten() {
                if let (activity_type, Some(category)) = data::claim_for(scheme) {
                    claim_rows.push(credit_claims::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        credit_id: Set(id),
                        scheme_id: Set((*scheme).to_owned()),
                        activity_type: Set(activity_type.to_owned()),
                        category: Set(category.to_owned()),
                        points: Set(course_points(scheme)),
                    });
                }
            }
        }
        let txn = db.begin().await?;
        bulk_write::insert(&txn, credit_rows).await?;
        bulk_write::insert(&txn, claim_rows).await?;
        txn.commit().await?;
    }
    Ok(())
}
