//! Procurement verify benchmark: `cargo bench --bench verify -- --holders 100000
//! --backend sqlite|postgres|all --seconds 10 --connections 32 --batch-connections 4`.
//!
//! Loads a synthetic registry (the shared generator of `support/registry.rs`), brings every
//! holding's standing projection up to date, and starts the app with
//! `startup::Application::build`. A load generator in this process (tokio tasks sharing one
//! reqwest client, one keep-alive connection per task) then drives over loopback, each target
//! for `--seconds` after a one-second warm-up:
//! - the authenticated single verify, `GET /v1/procurement/holdings/{scheme}/{number}`, and
//!   its bound: a bare axum handler on another port reading the same projection row through
//!   the same pool (`state.db`), with no token, no consent and no disclosure log;
//! - the authenticated 1,000-pair batch, `POST /v1/procurement/verify`, and its bound: a bare
//!   handler reading the same 1,000 rows with the same lookup (`bulk_write::find_by_keys`).
//!
//! Prints requests/s, p50/p99 latency, verifications/s and the ratio to the bound measured in
//! the same run; asserts nothing about time. Any answer other than 200 is counted and printed.

mod support {
    pub mod args;
    pub mod databases;
    pub mod registry;
    pub mod served;
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use cpe_ledger::app::AppState;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::clients::{self, NewClient};
use cpe_ledger::services::{bulk_write, registry_import, standing_projection};
use entity::standing_projection as projection;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Value as DbValue};
use serde::Deserialize;
use serde_json::{Value, json};
use support::registry::{Record, csv, peak_rss_mib, records};
use support::served::Served;

/// Pairs in one batch request.
const BATCH: usize = 1_000;

struct Plan {
    holders: usize,
    seconds: u64,
    connections: usize,
    batch_connections: usize,
}

/// The allocator the server binary runs with (src/main.rs), so the figures are its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let value = support::args::flag;
    let settings = Plan {
        holders: value("--holders").map_or(Ok(100_000), |v| v.parse())?,
        seconds: value("--seconds").map_or(Ok(10), |v| v.parse())?,
        connections: value("--connections").map_or(Ok(32), |v| v.parse())?,
        batch_connections: value("--batch-connections").map_or(Ok(4), |v| v.parse())?,
    };
    let backends = support::args::backends()?;
    println!(
        "{} holders, {} s per target after 1 s of warm-up, {} connections (single), {} (batch of {BATCH}), {} cores",
        settings.holders,
        settings.seconds,
        settings.connections,
        settings.batch_connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "{:<9} {:<34} {:>9} {:>10} {:>8} {:>8} {:>11} {:>6} {:>7}",
        "database",
        "target",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "verif./s",
        "ratio",
        "errors"
    );
    for backend in backends {
        run(backend, &settings).await?;
    }
    Ok(())
}

async fn run(backend: &str, settings: &Plan) -> anyhow::Result<()> {
    let served = Served::start(backend, |s| {
        s.max_connections_per_address = Some("100000".to_owned());
    })
    .await?;
    let (address, state) = (served.address, served.state.clone());

    let registry = records(settings.holders);
    let text = csv(&registry);
    let loaded = Instant::now();
    registry_import::import(
        &state.db,
        &state.schemes,
        text.as_bytes(),
        "bench.csv",
        &mut (),
    )
    .await?;
    drop(text);
    warm_projection(&state, &registry).await?;
    let projected = projection::Entity::find().count(&state.db).await?;
    anyhow::ensure!(
        projected as usize == registry.len(),
        "{projected} of {} holdings are in the projection",
        registry.len()
    );
    eprintln!(
        "{backend}: {} holders loaded and projected in {:.1} s",
        registry.len(),
        loaded.elapsed().as_secs_f64()
    );

    // The bound: bare handlers on their own port, the same pool.
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_address = bare.local_addr()?;
    let bare_router = axum::Router::new()
        .route("/bare/holdings/{scheme}/{number}", get(bare_single))
        .route("/bare/verify", post(bare_batch))
        .with_state(state.clone());
    let bare_server = tokio::spawn(async move { axum::serve(bare, bare_router).await });

    let token = procurement_token(&state, &format!("http://{address}")).await?;
    let keys: Arc<Vec<(String, String)>> = Arc::new(
        registry
            .iter()
            .map(|r| (r.scheme.to_owned(), r.registration_number.clone()))
            .collect(),
    );
    let bodies: Arc<Vec<String>> = Arc::new(batch_bodies(&registry));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.connections.max(settings.batch_connections))
        .build()?;
    let measure = Duration::from_secs(settings.seconds);

    let single = |base: String, auth: Option<String>| {
        let keys = Arc::clone(&keys);
        let http = http.clone();
        move |n: usize| {
            let (scheme, number) = &keys[n % keys.len()];
            let request = http.get(format!("{base}/{scheme}/{number}"));
            match &auth {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        }
    };
    let batch = |url: String, auth: Option<String>| {
        let bodies = Arc::clone(&bodies);
        let http = http.clone();
        move |n: usize| {
            let request = http
                .post(url.clone())
                .header("content-type", "application/json")
                .body(bodies[n % bodies.len()].clone());
            match &auth {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        }
    };

    let bound = drive(
        settings.connections,
        measure,
        single(format!("http://{bare_address}/bare/holdings"), None),
    )
    .await;
    bound.print(backend, "bare handler (single)", 1, None);
    let api = drive(
        settings.connections,
        measure,
        single(
            format!("http://{address}/v1/procurement/holdings"),
            Some(token.clone()),
        ),
    )
    .await;
    api.print(backend, "GET /v1/procurement/holdings/…", 1, Some(&bound));

    let bound = drive(
        settings.batch_connections,
        measure,
        batch(format!("http://{bare_address}/bare/verify"), None),
    )
    .await;
    bound.print(backend, "bare handler (batch)", BATCH, None);
    let api = drive(
        settings.batch_connections,
        measure,
        batch(
            format!("http://{address}/v1/procurement/verify"),
            Some(token),
        ),
    )
    .await;
    api.print(backend, "POST /v1/procurement/verify", BATCH, Some(&bound));

    eprintln!("{backend}: peak memory {:.0} MiB", peak_rss_mib());
    bare_server.abort();
    served.finish().await?;
    Ok(())
}

/// Judges every holding once, so that the measured reads find their projection rows current.
async fn warm_projection(state: &AppState, registry: &[Record]) -> anyhow::Result<()> {
    for chunk in registry.chunks(10_000) {
        let keys: Vec<(String, String)> = chunk
            .iter()
            .map(|r| (r.scheme.to_owned(), r.registration_number.clone()))
            .collect();
        standing_projection::current(&state.db, &state.schemes, &keys).await?;
    }
    Ok(())
}

/// A procurement client with a budget the benchmark cannot exhaust, and a token for it.
async fn procurement_token(state: &AppState, base: &str) -> anyhow::Result<String> {
    let created = clients::create_client(
        &state.db,
        &Actor::cli("bench"),
        NewClient {
            name: "verify benchmark".to_owned(),
            kind: "procurement".to_owned(),
            scopes: vec![],
            provider_id: None,
            rate_limit_per_minute: i32::MAX,
        },
    )
    .await?;
    let token: Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .basic_auth(&created.client.client_id, Some(&created.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token: {token}"))?
        .to_owned())
}

/// Batch bodies of 1,000 pairs each, spread over the whole registry.
fn batch_bodies(registry: &[Record]) -> Vec<String> {
    let count = (registry.len() / BATCH).clamp(1, 64);
    (0..count)
        .map(|b| {
            let pairs: Vec<Value> = (0..BATCH)
                .map(|i| {
                    let r = &registry[(b + i * count) % registry.len()];
                    json!({"scheme": r.scheme, "registration_number": r.registration_number})
                })
                .collect();
            json!({ "holdings": pairs }).to_string()
        })
        .collect()
}

fn row_json(row: projection::Model) -> Value {
    json!({
        "scheme": row.scheme_id,
        "registration_number": row.registration_number,
        "status": row.status,
        "standing": row.state,
        "valid_until": row.valid_until,
    })
}

async fn bare_single(
    State(state): State<AppState>,
    Path((scheme, number)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    let row = projection::Entity::find()
        .filter(projection::Column::SchemeId.eq(scheme))
        .filter(projection::Column::RegistrationNumber.eq(number))
        .one(&state.db)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(row_json(row)))
}

#[derive(Deserialize)]
struct BareBatch {
    holdings: Vec<BarePair>,
}

#[derive(Deserialize)]
struct BarePair {
    scheme: String,
    registration_number: String,
}

async fn bare_batch(
    State(state): State<AppState>,
    Json(body): Json<BareBatch>,
) -> Result<Json<Value>, StatusCode> {
    let keys = body
        .holdings
        .into_iter()
        .map(|p| {
            vec![
                DbValue::from(p.scheme),
                DbValue::from(p.registration_number),
            ]
        })
        .collect();
    let rows = bulk_write::find_by_keys::<projection::Entity>(
        &state.db,
        &[
            projection::Column::SchemeId,
            projection::Column::RegistrationNumber,
        ],
        keys,
    )
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(json!({
        "results": rows.into_iter().map(row_json).collect::<Vec<_>>()
    })))
}

/// What one target did in its measured window.
struct Measured {
    requests: usize,
    errors: usize,
    seconds: f64,
    /// Latencies of the successful requests, sorted.
    latencies: Vec<Duration>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[at.min(self.latencies.len() - 1)].as_secs_f64() * 1000.0
    }

    fn print(&self, backend: &str, target: &str, per_request: usize, bound: Option<&Measured>) {
        let ratio = bound
            .map(|b| format!("{:.2}", self.per_second() / b.per_second()))
            .unwrap_or_default();
        println!(
            "{:<9} {:<34} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>11.0} {:>6} {:>7}",
            backend,
            target,
            self.requests,
            self.per_second(),
            self.percentile(0.50),
            self.percentile(0.99),
            self.per_second() * per_request as f64,
            ratio,
            self.errors
        );
    }
}

/// Runs `connections` tasks, each sending the request `make` builds and awaiting its answer,
/// back to back: one second of warm-up, then `measure` counted.
async fn drive<F>(connections: usize, measure: Duration, make: F) -> Measured
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let warm_until = Instant::now() + Duration::from_secs(1);
    let stop_at = warm_until + measure;
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let make = Arc::clone(&make);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                // Each worker walks the keys with its own stride, so they do not move in step.
                let mut n = worker.wrapping_mul(7_919);
                loop {
                    let started = Instant::now();
                    if started >= stop_at {
                        break;
                    }
                    let ok = match make(n).send().await {
                        Ok(response) => {
                            let ok = response.status() == StatusCode::OK;
                            // Read the whole body: the answer is not complete until then.
                            response.bytes().await.is_ok() && ok
                        }
                        Err(_) => false,
                    };
                    n = n.wrapping_add(104_729);
                    if started >= warm_until {
                        if ok {
                            latencies.push(started.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mut own, failed)) = task.await {
            latencies.append(&mut own);
            errors += failed;
        }
    }
    latencies.sort_unstable();
    Measured {
        requests: latencies.len(),
        errors,
        seconds: measure.as_secs_f64(),
        latencies,
    }
}
