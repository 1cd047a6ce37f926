//! Cold start to ready: `cpe-ledger serve` started on the loaded database, timed from the
//! process's start to its first 200 from `/health/ready`. The baseline: the start of a
//! process that only opens the same database (this harness binary with `--open-only`: the
//! same pool settings, one `SELECT 1`, exit).

use std::time::{Duration, Instant};

use cpe_ledger::config::Config;
use sea_orm::ConnectionTrait;

use crate::data::peak_rss_mib;
use crate::served::{Child, Served};
use crate::table::{Row, percentile};

const STARTS: usize = 10;

pub async fn run(served: &Served) -> anyhow::Result<Vec<Row>> {
    let env = served.env();
    let mut opened = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let started = Instant::now();
        let status = std::process::Command::new(std::env::current_exe()?)
            .arg("--open-only")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .status()?;
        anyhow::ensure!(status.success(), "the open-only process failed: {status}");
        opened.push(started.elapsed());
    }
    let mut ready = Vec::with_capacity(STARTS);
    let mut peak = 0.0f64;
    for _ in 0..STARTS {
        let started = Instant::now();
        let mut child = Child::spawn(&env)?;
        child.wait_ready(Duration::from_secs(60))?;
        ready.push(started.elapsed());
        peak = peak.max(peak_rss_mib(Some(child.process.id())));
    }
    opened.sort_unstable();
    ready.sort_unstable();
    let row = |run: &str, times: &[Duration]| {
        let p50 = percentile(times, 0.5);
        Row::new("cold-start", served.backend, run)
            .throughput(1000.0 / p50, "starts/s")
            .latency(p50, percentile(times, 0.99))
            .note(format!(
                "{STARTS} starts; fastest {:.1} ms",
                times.first().map_or(f64::NAN, |t| t.as_secs_f64() * 1000.0)
            ))
    };
    let baseline = row("baseline: process that opens the database", &opened).memory(f64::NAN);
    let app = row("cpe-ledger serve to /health/ready 200", &ready)
        .memory(peak)
        .against(&baseline);
    Ok(vec![baseline, app])
}

/// The baseline's process: opens the database the environment names, asks it one thing, and
/// exits.
pub async fn open_only() -> anyhow::Result<()> {
    let settings = Served::settings(&std::env::vars().collect::<Vec<_>>());
    let config = Config::from_settings(&settings)?;
    let db = cpe_ledger::startup::connect(&config).await?;
    db.execute_unprepared("SELECT 1").await?;
    db.close().await?;
    Ok(())
}
