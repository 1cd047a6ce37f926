//! The benchmark harness: `cargo bench --bench harness -- [--size small|1m] [--db
//! sqlite|postgres|all] [--scenario all|import,cold-start,dashboard,verify,ingest,sweep,soak]
//! [--json PATH]`.
//!
//! For each database it starts the app with `startup::Application::build` on a fresh
//! database, loads one synthetic data set (`data.rs`, fixed seed) through the registry import
//! and the bulk-write path, and runs the chosen scenarios on it in a fixed order, each beside
//! its baseline measured in the same run. It prints one table (scenario, database, throughput,
//! p50/p99 latency, peak memory, ratio to the baseline) and can write it as JSON. It asserts
//! nothing about time; a scenario whose answers are wrong (not every row created, a non-200)
//! says so in its `errors` column or fails the run.
//!
//! Other flags: `--professionals N` and `--credits N` (override the size), `--seconds N` (each
//! load target, default 10), `--connections N` and `--batch-connections N` (verify, default 32
//! and 4), `--ingest-rows N` (default 100,000), `--soak-seconds N` (default 600; the soak runs
//! only when named).

mod cold_start;
mod dashboard;
mod data;
mod databases;
mod import;
mod ingest;
mod load;
mod served;
mod soak;
mod sweep;
mod table;
mod verify;

#[path = "../support/args.rs"]
mod args;

use std::time::Instant;

use args::flag;
use data::Size;
use served::Served;
use table::Row;

/// The allocator the server binary runs with (src/main.rs), so the figures are its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The scenarios, in the order they run on one data set (each leaves the data as the next
/// expects: ingestion adds credits, the sweep queues the notifications the soak delivers).
const SCENARIOS: [&str; 7] = [
    "import",
    "cold-start",
    "dashboard",
    "verify",
    "ingest",
    "sweep",
    "soak",
];

struct Plan {
    size: Size,
    scenarios: Vec<&'static str>,
    seconds: u64,
    verify: verify::Load,
    ingest_rows: usize,
    soak_seconds: u64,
}

impl Plan {
    fn from_args() -> anyhow::Result<Self> {
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            flag(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| anyhow::anyhow!("{name}: {v} is not a number"))
            })
        };
        let mut size = Size::named(flag("--size").as_deref().unwrap_or("small"))?;
        size.professionals = number("--professionals", size.professionals as u64)? as usize;
        size.credits = number("--credits", size.credits as u64)? as usize;
        let named = flag("--scenario").unwrap_or_else(|| "all".to_owned());
        let scenarios = if named == "all" {
            SCENARIOS.iter().copied().filter(|s| *s != "soak").collect()
        } else {
            let asked: Vec<&str> = named.split(',').map(str::trim).collect();
            if let Some(unknown) = asked.iter().find(|a| !SCENARIOS.contains(a)) {
                anyhow::bail!("unknown scenario {unknown} (all, {})", SCENARIOS.join(", "));
            }
            SCENARIOS
                .iter()
                .copied()
                .filter(|s| asked.contains(s))
                .collect()
        };
        let seconds = number("--seconds", 10)?;
        Ok(Self {
            size,
            scenarios,
            seconds,
            verify: verify::Load {
                seconds,
                connections: number("--connections", 32)? as usize,
                batch_connections: number("--batch-connections", 4)? as usize,
            },
            ingest_rows: number("--ingest-rows", 100_000)? as usize,
            soak_seconds: number("--soak-seconds", 600)?,
        })
    }

    fn runs(&self, scenario: &str) -> bool {
        self.scenarios.contains(&scenario)
    }
}

fn databases() -> anyhow::Result<Vec<&'static str>> {
    Ok(match flag("--db").as_deref().unwrap_or("sqlite") {
        "all" => vec!["sqlite", "postgres"],
        "sqlite" => vec!["sqlite"],
        "postgres" => vec!["postgres"],
        other => anyhow::bail!("unknown database {other} (sqlite, postgres, all)"),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The harness's own child processes: the sweep, and the cold start's baseline.
    if let Some(backend) = flag("--sweep-in") {
        return sweep::child(&backend).await;
    }
    if std::env::args().any(|a| a == "--open-only") {
        return cold_start::open_only().await;
    }
    let plan = Plan::from_args()?;
    let databases = databases()?;
    println!(
        "{} professionals ({} holdings), {} credits; scenarios {}; {} cores, {:.0} GiB",
        plan.size.professionals,
        plan.size.holdings(),
        plan.size.credits,
        plan.scenarios.join(", "),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib()
    );
    table::print_header();
    let mut rows = Vec::new();
    for database in databases {
        run(database, &plan, &mut rows).await?;
    }
    if let Some(path) = flag("--json") {
        std::fs::write(&path, serde_json::to_string_pretty(&rows)?)?;
        eprintln!("wrote {} rows to {path}", rows.len());
    }
    Ok(())
}

async fn run(database: &'static str, plan: &Plan, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let mut emit = |new: Vec<Row>| {
        for row in &new {
            table::print(row);
        }
        rows.extend(new);
    };
    let served = Served::start(database).await?;
    let loading = Instant::now();
    let records = data::records(plan.size.holdings());
    let csv = data::csv(&records);
    let first = import::first(&served, &records, &csv).await?;
    let credits = data::write_histories(&served.state.db, &records, plan.size.credits).await?;
    eprintln!(
        "{database}: {} holdings and {credits} credits loaded in {:.1} s",
        records.len(),
        loading.elapsed().as_secs_f64()
    );
    if plan.runs("import") {
        emit(import::rest(&served, &records, &csv, first).await?);
    }
    drop(csv);
    if plan.runs("cold-start") {
        emit(cold_start::run(&served).await?);
    }
    if plan.runs("dashboard") {
        emit(dashboard::run(&served, &records, plan.seconds).await?);
    }
    if plan.runs("verify") {
        emit(verify::run(&served, &records, &plan.verify).await?);
    }
    if plan.runs("ingest") {
        emit(ingest::run(&served, &records, plan.ingest_rows).await?);
    }
    if plan.runs("sweep") {
        emit(sweep::run(&served).await?);
    }
    if plan.runs("soak") {
        emit(soak::run(&served, &records, plan.soak_seconds).await?);
    }
    served.finish().await
}

/// The machine's memory, in GiB.
fn memory_gib() -> f64 {
    data::proc_kib("/proc/meminfo", "MemTotal:").map_or(f64::NAN, |kb| kb / 1048576.0)
}
