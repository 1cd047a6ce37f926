//! Renewal planner benchmark: `cargo bench --bench renewal_plan -- --credits 200
//! --candidates 40,200,1000 --runs 20`.
//!
//! A professional holding CISSP and CISA, two years into both cycles, with `--credits` credits
//! already in the ledger (short of the requirement), and a catalogue of random courses (one to
//! two schemes each, 1 to 40 points, a day in the remaining cycle, a cost in hours), one size
//! per `--candidates` entry (fixed seed). For each size it times `planner::plan` for the CISSP
//! holding (the median of `--runs`) and, as its bound, the engine alone: one allocation and
//! one standing evaluation of the same ledger, which the planner repeats for every set it
//! weighs. Prints the plan time, the bound, the ratio, the evaluations the search spent (as
//! plan time ÷ bound) and whether it finished within its budget; asserts nothing about time.

mod support {
    pub mod args;
}

use std::time::{Duration, Instant};

use chrono::{Days, Months, NaiveDate};
use cpe_ledger::domain::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use cpe_ledger::domain::planner::{Candidate, PlanInput, plan};
use cpe_ledger::domain::points::Points;
use cpe_ledger::domain::scheme::SchemeDefinition;
use cpe_ledger::domain::standing::{Claim, CreditState, CyclePeriod, StandingInput, evaluate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn scheme(text: &str) -> anyhow::Result<SchemeDefinition> {
    SchemeDefinition::parse(text, "bench").map_err(|e| anyhow::anyhow!("{e:?}"))
}

fn claim(scheme: &str, activity_type: &str, category: &str, points: i64) -> SchemeClaim {
    SchemeClaim {
        scheme_id: scheme.to_owned(),
        activity_type: activity_type.to_owned(),
        claims: vec![Claim {
            category: category.to_owned(),
            points: Points::from_hundredths(points),
        }],
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let flag = support::args::flag;
    let credits: usize = flag("--credits").map_or(Ok(200), |v| v.parse())?;
    let runs: usize = flag("--runs").map_or(Ok(20), |v| v.parse())?;
    let sizes: Vec<usize> = flag("--candidates")
        .unwrap_or_else(|| "40,200,1000".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let cissp = scheme(include_str!("../schemes/cissp.toml"))?;
    let cisa = scheme(include_str!("../schemes/cisa.toml"))?;
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
    let start = today - Months::new(24);
    let cycle = CyclePeriod {
        starts_on: start,
        ends_on: start + Months::new(36),
    };
    let holdings = [
        HoldingCycle {
            holding_id: "cissp".into(),
            scheme_id: "cissp".into(),
            scheme_version: cissp.version.clone(),
            cycle,
            previous_cycle: None,
        },
        HoldingCycle {
            holding_id: "cisa".into(),
            scheme_id: "cisa".into(),
            scheme_version: cisa.version.clone(),
            cycle,
            previous_cycle: None,
        },
    ];
    let schemes = [cissp, cisa];
    let mut rng = StdRng::seed_from_u64(20_261_201);
    // Small credits spread over the two years so far: 60 hundredths to 2 points each.
    let ledger: Vec<MultiCredit> = (0..credits)
        .map(|i| MultiCredit {
            id: format!("c{i}"),
            completed_on: start + Days::new(rng.random_range(0..700)),
            state: CreditState::Approved,
            schemes: vec![
                claim("cissp", "education", "group_a", rng.random_range(10..40)),
                claim("cisa", "training", "cpe", rng.random_range(10..40)),
            ],
        })
        .collect();

    println!("credits in the ledger: {credits}; runs per size: {runs}");
    println!(
        "{:>10} {:>12} {:>14} {:>8} {:>8} {:>8} {:>8}",
        "candidates", "plan", "bound (engine)", "ratio", "courses", "hours", "optimal"
    );
    for size in sizes {
        let candidates: Vec<Candidate> = (0..size)
            .map(|i| {
                let points = rng.random_range(1..=40) * 100;
                let mut schemes = vec![claim("cissp", "education", "group_a", points)];
                if rng.random_bool(0.5) {
                    schemes.push(claim("cisa", "training", "cpe", points));
                }
                Candidate {
                    group: Some(format!("course{i}")),
                    on: today + Days::new(rng.random_range(1..360)),
                    cost: points + rng.random_range(0..400),
                    schemes,
                }
            })
            .collect();
        let targets = ["cissp".to_owned()];
        let input = PlanInput {
            holdings: &holdings,
            schemes: &schemes,
            credits: &ledger,
            targets: &targets,
            candidates: &candidates,
            today,
        };
        let mut plan_times = Vec::new();
        let mut proposed = None;
        for _ in 0..runs {
            let began = Instant::now();
            proposed = Some(plan(&input));
            plan_times.push(began.elapsed());
        }
        let mut bound_times = Vec::new();
        for _ in 0..runs {
            let began = Instant::now();
            let mut allocated = allocate(&holdings, &ledger, &schemes);
            let entries = allocated.remove("cissp").unwrap_or_default();
            let standing = evaluate(&StandingInput {
                scheme: &schemes[0],
                cycle,
                previous_cycle: None,
                credits: &entries,
                as_of: today,
            });
            std::hint::black_box(standing);
            bound_times.push(began.elapsed());
        }
        let (p, b) = (median(plan_times), median(bound_times));
        let proposed = proposed.ok_or_else(|| anyhow::anyhow!("no run"))?;
        println!(
            "{size:>10} {:>10.2}ms {:>12.3}ms {:>8.0} {:>8} {:>8} {:>8}",
            p.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            p.as_secs_f64() / b.as_secs_f64().max(1e-9),
            proposed.chosen.len(),
            Points::from_hundredths(proposed.cost).to_string(),
            proposed.optimal
        );
    }
    Ok(())
}
