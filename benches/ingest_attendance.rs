//! Attendance ingestion benchmark: `cargo bench --bench ingest_attendance -- --rows 100000
//! --backend sqlite|postgres|all`.
//!
//! Loads a synthetic registry (the shared generator of `support/registry.rs`) with one holding
//! per attendance row, accredits a provider and publishes one course that awards in every
//! built-in scheme, then reports the rows through the HTTP API (`POST /v1/provider/attendance`,
//! JSON batches of 5,000, bearer token) of the app started by `startup::Application::build`.
//! The bound, measured in the same run on the same database before the API run: a raw batched
//! insert of the same credits and claims (one transaction per 5,000 rows, multi-row `INSERT`,
//! `unnest` arrays on PostgreSQL), with nothing judged. Prints rows/s, the ratio
//! API / bound and the peak resident memory; asserts nothing about time.

mod support {
    pub mod args;
    pub mod databases;
    pub mod registry;
    pub mod served;
}

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Days, Utc};
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::clients::{self, NewClient};
use cpe_ledger::services::providers::{self, Accreditation, NewProvider};
use cpe_ledger::services::{bulk_write, registry_import};
use entity::credits::{CreditSource, CreditState};
use entity::{courses, credit_claims, credits};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::{Value, json};
use support::registry::{Record, csv, peak_rss_mib, records, reset_peak_rss};
use support::served::Served;
use uuid::Uuid;

const BATCH: usize = 5_000;

/// What the course awards in each scheme: (activity type, category, points in hundredths).
fn award(scheme: &str) -> (&'static str, Option<&'static str>, i64) {
    match scheme {
        "cissp" => ("education", Some("group_a"), 800),
        "cisa" => ("training", Some("cpe"), 800),
        "giac" => ("other_infosec_training", Some("cpe"), 800),
        _ => ("ipa_practical_course", None, 0),
    }
}

/// The day each row completes on: a month into the holding's current cycle.
fn completed_on(record: &Record) -> chrono::NaiveDate {
    record.cycle_start + Days::new(30)
}

/// The allocator the server binary runs with (src/main.rs), so the figures are its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let value = support::args::flag;
    let rows: usize = value("--rows").map_or(Ok(100_000), |v| v.parse())?;
    let backends = support::args::backends()?;
    println!(
        "{:<10} {:<30} {:>8} {:>9} {:>10} {:>7} {:>9}",
        "database", "run", "rows", "seconds", "rows/s", "ratio", "peak MiB"
    );
    for backend in backends {
        run(backend, rows).await?;
    }
    Ok(())
}

async fn run(backend: &str, rows: usize) -> anyhow::Result<()> {
    let served = Served::start(backend, |_| {}).await?;
    let (address, state) = (served.address, served.state.clone());

    let registry = records(rows);
    let text = csv(&registry);
    registry_import::import(
        &state.db,
        &state.schemes,
        text.as_bytes(),
        "bench.csv",
        &mut (),
    )
    .await?;
    drop(text);
    let (provider_id, client_id, secret) = provider(&state).await?;
    let http = reqwest::Client::new();
    let base = format!("http://{address}");
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token: {token}"))?
        .to_owned();
    let course: Value = http
        .post(format!("{base}/v1/provider/courses"))
        .bearer_auth(&token)
        .json(&course_body())
        .send()
        .await?
        .json()
        .await?;
    let course_id: Uuid = course["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the course was refused: {course}"))?;

    reset_peak_rss();
    let started = Instant::now();
    raw_insert(&state.db, &registry, provider_id, course_id).await?;
    let bound = started.elapsed().as_secs_f64();
    print_line(backend, "bound (raw batched insert)", rows, bound, None);

    let bodies: Vec<String> = registry
        .chunks(BATCH)
        .map(|chunk| {
            json!({"rows": chunk.iter().map(|r| json!({
                "reference": format!("API-{}", r.registration_number),
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
    let mut created = 0;
    for body in bodies {
        let report: Value = http
            .post(format!("{base}/v1/provider/attendance"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        created += report["summary"]["created"].as_u64().unwrap_or_default();
    }
    let api = started.elapsed().as_secs_f64();
    print_line(
        backend,
        "POST /v1/provider/attendance",
        rows,
        api,
        Some(bound / api),
    );
    anyhow::ensure!(
        created as usize == rows,
        "{created} of {rows} rows were created through the API"
    );

    served.finish().await?;
    Ok(())
}

fn print_line(backend: &str, run: &str, rows: usize, seconds: f64, ratio: Option<f64>) {
    println!(
        "{:<10} {:<30} {:>8} {:>9.2} {:>10.0} {:>7} {:>9.0}",
        backend,
        run,
        rows,
        seconds,
        rows as f64 / seconds,
        ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
        peak_rss_mib()
    );
}

/// A provider accredited for every built-in scheme, and a `provider:write` client for it.
async fn provider(state: &cpe_ledger::app::AppState) -> anyhow::Result<(Uuid, String, String)> {
    let actor = Actor::cli("bench");
    let provider = providers::create_provider(
        &state.db,
        &actor,
        NewProvider {
            name: "Bench Academy".into(),
            contact_email: None,
        },
    )
    .await?;
    let accreditations = support::registry::SCHEMES
        .iter()
        .map(|scheme| Accreditation {
            scheme_id: (*scheme).to_owned(),
            categories: vec![],
            activity_types: vec![],
            valid_from: None,
            valid_until: None,
        })
        .collect();
    providers::set_accreditations(
        &state.db,
        &state.schemes,
        &actor,
        provider.id,
        accreditations,
    )
    .await?;
    let created = clients::create_client(
        &state.db,
        &actor,
        NewClient {
            name: "Bench LMS".into(),
            kind: "provider".into(),
            scopes: vec!["provider:write".into()],
            provider_id: Some(provider.id),
            rate_limit_per_minute: 1_000_000,
        },
    )
    .await?;
    Ok((provider.id, created.client.client_id, created.secret))
}

fn course_body() -> Value {
    let awards: Vec<Value> = support::registry::SCHEMES
        .iter()
        .map(|scheme| {
            let (activity_type, category, points) = award(scheme);
            match category {
                Some(category) => json!({"scheme": scheme, "activity_type": activity_type,
                    "category": category, "points": points as f64 / 100.0}),
                None => json!({"scheme": scheme, "activity_type": activity_type}),
            }
        })
        .collect();
    json!({
        "code": "BENCH-1",
        "title": {"en": "Incident response in practice"},
        "hours": 8,
        "delivery": "online",
        "awards": awards,
    })
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
                let (activity_type, category, points) = award(scheme);
                if let Some(category) = category {
                    claim_rows.push(credit_claims::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        credit_id: Set(id),
                        scheme_id: Set((*scheme).to_owned()),
                        activity_type: Set(activity_type.to_owned()),
                        category: Set(category.to_owned()),
                        points: Set(points),
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

/// Each generated person's professional id, by the email the registry CSV gave them.
async fn person_ids(db: &sea_orm::DatabaseConnection) -> anyhow::Result<HashMap<usize, Uuid>> {
    use entity::professionals;
    Ok(professionals::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|p| {
            let email = p.email?;
            let index = email
                .strip_prefix("person")?
                .strip_suffix("@example.jp")?
                .parse()
                .ok()?;
            Some((index, p.id))
        })
        .collect())
}
