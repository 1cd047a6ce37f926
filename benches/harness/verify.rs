//! Procurement verify, single and batch: the authenticated single verify
//! (`GET /v1/procurement/holdings/{scheme}/{number}`, keys spread over the registry) and the
//! authenticated 1,000-pair batch (`POST /v1/procurement/verify`), after every holding's
//! standing projection has been brought up to date. The baselines, measured just before each:
//! a bare axum handler on another port doing the same indexed read of the projection through
//! the same pool (`state.db`), one row by (scheme, number) for the single,
//! `bulk_write::find_by_keys` for the batch, with no token, no consent and no disclosure log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use cpe_ledger::app::AppState;
use cpe_ledger::services::{bulk_write, standing_projection};
use entity::standing_projection as projection;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Value as DbValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::data::{Record, peak_rss_mib, reset_peak_rss};
use crate::load::{Measured, client_token, drive, procurement_client};
use crate::served::Served;
use crate::table::Row;

/// Pairs in one batch request.
const BATCH: usize = 1_000;

pub struct Load {
    pub seconds: u64,
    pub connections: usize,
    pub batch_connections: usize,
}

pub async fn run(served: &Served, registry: &[Record], load: &Load) -> anyhow::Result<Vec<Row>> {
    let (address, state) = (served.address, served.state.clone());
    let started = Instant::now();
    warm_projection(&state, registry).await?;
    let projected = projection::Entity::find().count(&state.db).await?;
    anyhow::ensure!(
        projected as usize == registry.len(),
        "{projected} of {} holdings are in the projection",
        registry.len()
    );
    eprintln!(
        "{}: {} holdings projected in {:.1} s",
        served.backend,
        registry.len(),
        started.elapsed().as_secs_f64()
    );

    // The bound: bare handlers on their own port, the same pool.
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_address = bare.local_addr()?;
    let bare_router = axum::Router::new()
        .route("/bare/holdings/{scheme}/{number}", get(bare_single))
        .route("/bare/verify", post(bare_batch))
        .with_state(state.clone());
    let bare_server = tokio::spawn(async move { axum::serve(bare, bare_router).await });

    let (client_id, secret) = procurement_client(&state, "verify benchmark").await?;
    let token = client_token(&served.base(), &client_id, &secret).await?;
    let keys: Arc<Vec<(String, String)>> = Arc::new(
        registry
            .iter()
            .map(|r| (r.scheme.to_owned(), r.registration_number.clone()))
            .collect(),
    );
    let bodies: Arc<Vec<String>> = Arc::new(batch_bodies(registry));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(load.connections.max(load.batch_connections))
        .build()?;
    let measure = Duration::from_secs(load.seconds);

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
    let row = |run: &str, measured: &Measured, per_request: usize, connections: usize| {
        Row::new("verify", served.backend, run)
            .throughput(
                measured.per_second() * per_request as f64,
                if per_request == 1 {
                    "requests/s"
                } else {
                    "verif./s"
                },
            )
            .latency(measured.p50(), measured.p99())
            .memory(peak_rss_mib(None))
            .errors(measured.errors)
            .note(format!(
                "{connections} connections, {:.0} requests/s",
                measured.per_second()
            ))
    };

    let mut rows = Vec::new();
    reset_peak_rss();
    let bound = drive(
        load.connections,
        measure,
        single(format!("http://{bare_address}/bare/holdings"), None),
    )
    .await;
    let baseline = row(
        "baseline: bare handler, single",
        &bound,
        1,
        load.connections,
    );
    reset_peak_rss();
    let api = drive(
        load.connections,
        measure,
        single(
            format!("http://{address}/v1/procurement/holdings"),
            Some(token.clone()),
        ),
    )
    .await;
    rows.push(row("GET /v1/procurement/holdings/…", &api, 1, load.connections).against(&baseline));
    rows.insert(0, baseline);

    reset_peak_rss();
    let bound = drive(
        load.batch_connections,
        measure,
        batch(format!("http://{bare_address}/bare/verify"), None),
    )
    .await;
    let baseline = row(
        "baseline: bare handler, batch of 1,000",
        &bound,
        BATCH,
        load.batch_connections,
    );
    reset_peak_rss();
    let api = drive(
        load.batch_connections,
        measure,
        batch(
            format!("http://{address}/v1/procurement/verify"),
            Some(token),
        ),
    )
    .await;
    let app = row(
        "POST /v1/procurement/verify (1,000)",
        &api,
        BATCH,
        load.batch_connections,
    )
    .against(&baseline);
    rows.push(baseline);
    rows.push(app);
    bare_server.abort();
    Ok(rows)
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
