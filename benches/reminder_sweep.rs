//! Reminder sweep benchmark: `cargo bench --bench reminder_sweep -- --holdings 1000000`.
//!
//! Loads a synthetic registry (the shared generator of `support/registry.rs`) through the
//! registry import, gives every third holding three credits in its current cycle through the
//! bulk-write path, and runs the sweep twice on one day: the first queues the digests, the
//! second must queue nothing. Beside it, in the same run, the bound: one SQL aggregate of the
//! points of every holding. Prints time, holdings/s and the peak resident memory of each part
//! (the sweep runs in a process of its own, and the peak is reset before each part); asserts
//! nothing about time.
//!
//! Options: `--holdings N` (default 1000000), `--backend sqlite|postgres` (default sqlite),
//! `--as-of YYYY-MM-DD` (default 2026-12-01).

mod support {
    pub mod args;
    pub mod databases;
    pub mod registry;
}

use std::time::Instant;

/// The allocator the `cpe-ledger` binary runs with, so the sweep is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{Days, NaiveDate, Utc};
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::services::reminders::{self, SweepOptions};
use cpe_ledger::services::{bulk_write, registry_import};
use cpe_ledger::startup;
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, holdings};
use sea_orm::{
    ConnectionTrait, EntityTrait, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};
use support::databases::{create_database, drop_database};
use support::registry::{csv, peak_rss_mib, records, reset_peak_rss};
use uuid::Uuid;

/// The claim a credit makes in each scheme: (activity type, category, points in hundredths).
fn claim_for(scheme: &str) -> (&'static str, &'static str, i64) {
    match scheme {
        "cissp" => ("education", "group_a", 800),
        "cisa" => ("training", "cpe", 800),
        "giac" => ("other_infosec_training", "cpe", 800),
        _ => ("ipa_online_course", "", 0),
    }
}

/// Three credits in the current cycle of every third holding, written a page at a time.
async fn add_credits(db: &sea_orm::DatabaseConnection) -> anyhow::Result<usize> {
    let mut written = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = holdings::Entity::find()
            .order_by_asc(holdings::Column::Id)
            .limit(20_000);
        if let Some(last) = after {
            use sea_orm::{ColumnTrait, QueryFilter};
            page = page.filter(holdings::Column::Id.gt(last));
        }
        let page = page.all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let now = Utc::now();
        let mut credit_rows = Vec::new();
        let mut claim_rows = Vec::new();
        for holding in page.iter().step_by(3) {
            let (activity_type, category, points) = claim_for(&holding.scheme_id);
            for days in [100, 400, 700] {
                let id = Uuid::now_v7();
                credit_rows.push(credits::ActiveModel {
                    id: Set(id),
                    professional_id: Set(holding.professional_id),
                    course_id: Set(None),
                    provider_id: Set(None),
                    provider_reference: Set(None),
                    activity_type: Set(activity_type.to_owned()),
                    title: Set("Incident response".to_owned()),
                    completed_on: Set(holding.certified_on + Days::new(days)),
                    hours: Set(8),
                    source: Set(CreditSource::Admin),
                    completed_at: Set(None),
                    reported_points: Set(None),
                    state: Set(CreditState::Approved),
                    evidence: Set(None),
                    replaces_credit_id: Set(None),
                    voided_at: Set(None),
                    void_reason: Set(None),
                    recorded_by: Set(Some("bench".to_owned())),
                    created_at: Set(now),
                });
                if points > 0 {
                    claim_rows.push(credit_claims::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        credit_id: Set(id),
                        scheme_id: Set(holding.scheme_id.clone()),
                        activity_type: Set(activity_type.to_owned()),
                        category: Set(category.to_owned()),
                        points: Set(points),
                    });
                }
            }
        }
        written += credit_rows.len();
        let txn = db.begin().await?;
        bulk_write::insert(&txn, credit_rows).await?;
        bulk_write::insert(&txn, claim_rows).await?;
        txn.commit().await?;
    }
    Ok(written)
}

/// The bound: the points of every holding in one aggregate, as a database sums them.
async fn aggregate(db: &sea_orm::DatabaseConnection) -> anyhow::Result<i64> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS holdings, CAST(COALESCE(SUM(points), 0) AS BIGINT) AS points FROM ( \
               SELECT h.id, SUM(cc.points) AS points FROM holdings h \
               LEFT JOIN credits c ON c.professional_id = h.professional_id \
               LEFT JOIN credit_claims cc ON cc.credit_id = c.id AND cc.scheme_id = h.scheme_id \
               WHERE h.status = 'active' GROUP BY h.id) AS per_holding",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the aggregate answered no row"))?;
    Ok(row.try_get_by_index(0)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let value = support::args::flag;
    let holdings: usize = value("--holdings").map_or(Ok(1_000_000), |v| v.parse())?;
    let backend = value("--backend").unwrap_or_else(|| "sqlite".to_owned());
    let as_of: NaiveDate = match value("--as-of") {
        Some(text) => text.parse()?,
        None => NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
    };
    // The sweep runs in a process of its own, so that its peak memory is its own and not
    // what the allocator kept from loading the data.
    if let Some(data_dir) = value("--sweep-in") {
        return sweep(&data_dir, value("--database-url"), as_of).await;
    }

    let dir = tempfile::tempdir()?;
    let url = match backend.as_str() {
        "sqlite" => None,
        "postgres" => {
            Some(create_database("postgres://postgres@127.0.0.1:5432", "postgres").await?)
        }
        other => anyhow::bail!("unknown backend {other}"),
    };
    let config = Config::from_settings(&Settings {
        database_url: url.clone(),
        data_dir: Some(dir.path().display().to_string()),
        ..Default::default()
    })?;
    let app = startup::prepare(config).await?;
    let started = Instant::now();
    let csv = csv(&records(holdings));
    let imported =
        registry_import::import(&app.db, &app.schemes, csv.as_bytes(), "bench.csv", &mut ())
            .await?;
    drop(csv);
    let credits = add_credits(&app.db).await?;
    app.db.close().await?;
    println!(
        "{backend}: {} holdings and {credits} credits loaded in {:.1} s; sweeping as of {as_of}",
        imported.inserted,
        started.elapsed().as_secs_f64()
    );
    let mut child = std::process::Command::new(std::env::current_exe()?);
    child
        .args(["--sweep-in", &dir.path().display().to_string()])
        .args(["--as-of", &as_of.to_string()]);
    if let Some(url) = &url {
        child.args(["--database-url", url]);
    }
    let status = child.status()?;
    if let Some(url) = url {
        drop_database(&url).await?;
    }
    anyhow::ensure!(status.success(), "the sweep process failed: {status}");
    Ok(())
}

async fn sweep(data_dir: &str, url: Option<String>, as_of: NaiveDate) -> anyhow::Result<()> {
    let config = Config::from_settings(&Settings {
        database_url: url,
        data_dir: Some(data_dir.to_owned()),
        ..Default::default()
    })?;
    let app = startup::prepare(config.clone()).await?;
    println!(
        "{:<34} {:>9} {:>12} {:>10}  note",
        "run", "seconds", "holdings/s", "peak MiB"
    );
    let options = SweepOptions {
        as_of: Some(as_of),
        dry_run: false,
        congratulate: true,
    };
    for run in ["sweep (first)", "sweep (same day again)"] {
        reset_peak_rss();
        let started = Instant::now();
        let report = reminders::sweep(&app.db, &app.schemes, &config, options).await?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{:<34} {:>9.2} {:>12.0} {:>10.0}  {} judged, {} skipped, {} digests, {} reasons",
            run,
            seconds,
            report.holdings as f64 / seconds,
            peak_rss_mib(),
            report.holdings,
            report.skipped,
            report.notifications,
            report.items
        );
    }
    reset_peak_rss();
    let started = Instant::now();
    let counted = aggregate(&app.db).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<34} {:>9.2} {:>12.0} {:>10.0}  one SQL aggregate over {counted} holdings",
        "bound (SQL aggregate)",
        seconds,
        counted as f64 / seconds,
        peak_rss_mib(),
    );
    app.db.close().await?;
    Ok(())
}
