//! Dashboard standing for a holder with 1,000 credits: the professional's
//! `GET /v1/me/holdings/{id}/standing`, one connection, requests back to back (so a latency
//! is one request's time in the server plus a loopback round trip). The baseline: the engine
//! alone judging the same holding on its ledger already loaded in memory
//! (`LedgerSlice::judge`).

use std::time::{Duration, Instant};

use cpe_ledger::services::holdings::by_registration;
use cpe_ledger::services::standing::{LedgerSlice, today_for};
use entity::professionals;
use sea_orm::EntityTrait;

use crate::data::{self, Record, peak_rss_mib, reset_peak_rss};
use crate::load::{drive, professional_token};
use crate::served::Served;
use crate::table::{Row, percentile};

pub async fn run(served: &Served, records: &[Record], seconds: u64) -> anyhow::Result<Vec<Row>> {
    let state = &served.state;
    let record = &records[data::LONG_HISTORY_ROW];
    let holding = by_registration(&state.db, record.scheme, &record.registration_number)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the long-history holding was not imported"))?;
    let professional = professionals::Entity::find_by_id(holding.professional_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no professional for the long-history holding"))?;

    reset_peak_rss();
    let slice = LedgerSlice::load(&state.db, &[professional.id]).await?;
    let as_of = today_for(&professional);
    let mut judged = Vec::new();
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < stop_at {
        let started = Instant::now();
        let standing = slice.judge(&state.schemes, &holding, as_of)?;
        judged.push(started.elapsed());
        std::hint::black_box(standing);
    }
    judged.sort_unstable();
    let engine_p50 = percentile(&judged, 0.5);
    let baseline = Row::new(
        "dashboard",
        served.backend,
        "baseline: engine on loaded ledger",
    )
    .throughput(judged.len() as f64 / seconds as f64, "judgements/s")
    .latency(engine_p50, percentile(&judged, 0.99))
    .memory(peak_rss_mib(None))
    .note(format!("{} credits", data::LONG_HISTORY_CREDITS));

    let token = professional_token(state, professional.id, &data::email(record.person)).await?;
    let url = format!("{}/v1/me/holdings/{}/standing", served.base(), holding.id);
    let http = reqwest::Client::new();
    reset_peak_rss();
    let measured = drive(1, Duration::from_secs(seconds), move |_| {
        http.get(&url).bearer_auth(&token)
    })
    .await;
    let app = Row::new(
        "dashboard",
        served.backend,
        "GET /v1/me/holdings/{id}/standing",
    )
    .throughput(measured.per_second(), "requests/s")
    .latency(measured.p50(), measured.p99())
    .memory(peak_rss_mib(None))
    .errors(measured.errors)
    .against(&baseline)
    .note("1 connection; latency is the server's time plus a loopback round trip");
    Ok(vec![baseline, app])
}
