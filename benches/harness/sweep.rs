//! Reminder sweep: the daily sweep over every holding, twice on the data set's day (the
//! first queues the digests, the second must queue nothing), in a process of its own (this
//! harness binary with `--sweep-in`) so that its peak memory is its own and not what the
//! allocator kept from loading the data. The baseline, in the same process right after: one
//! SQL aggregate of the points of every holding.

use std::time::Instant;

use cpe_ledger::config::Config;
use cpe_ledger::services::reminders::{self, SweepOptions};
use cpe_ledger::startup;
use sea_orm::{ConnectionTrait, Statement};

use crate::data::{self, peak_rss_mib, reset_peak_rss};
use crate::served::Served;
use crate::table::Row;

/// What the child prints before each row of JSON on its standard output.
const ROW: &str = "ROW ";

pub async fn run(served: &Served) -> anyhow::Result<Vec<Row>> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["--sweep-in", served.backend])
        .envs(served.env())
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "the sweep process failed: {}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix(ROW))
        .map(|json| Ok(serde_json::from_str(json)?))
        .collect()
}

/// The child's part: both sweeps and the aggregate, each row printed as JSON.
pub async fn child(backend: &str) -> anyhow::Result<()> {
    let settings = Served::settings(&std::env::vars().collect::<Vec<_>>());
    let config = Config::from_settings(&settings)?;
    let app = startup::prepare(config.clone()).await?;
    let options = SweepOptions {
        as_of: Some(data::as_of()),
        dry_run: false,
        congratulate: true,
    };
    let mut rows = Vec::new();
    for run in ["reminder sweep (first)", "reminder sweep (same day again)"] {
        reset_peak_rss();
        let started = Instant::now();
        let report = reminders::sweep(&app.db, &app.schemes, &config, options).await?;
        let seconds = started.elapsed().as_secs_f64();
        rows.push(
            Row::new("sweep", backend, run)
                .throughput(report.holdings as f64 / seconds, "holdings/s")
                .memory(peak_rss_mib(None))
                .note(format!(
                    "{:.1} s; {} judged, {} skipped, {} digests, {} reasons",
                    seconds, report.holdings, report.skipped, report.notifications, report.items
                )),
        );
    }
    reset_peak_rss();
    let started = Instant::now();
    let counted = aggregate(&app.db).await?;
    let seconds = started.elapsed().as_secs_f64();
    let baseline = Row::new("sweep", backend, "baseline: one SQL aggregate")
        .throughput(counted as f64 / seconds, "holdings/s")
        .memory(peak_rss_mib(None))
        .note(format!("{seconds:.1} s over {counted} holdings"));
    for row in
        std::iter::once(baseline.clone()).chain(rows.into_iter().map(|r| r.against(&baseline)))
    {
        println!("{ROW}{}", serde_json::to_string(&row)?);
    }
    app.db.close().await?;
    Ok(())
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
