//! `admin sample-audit`: draw self-reported credits for evidence, or expire the unanswered.

use std::process::ExitCode;

use crate::app::App;
use crate::services::audit::Actor;
use crate::services::sample_audit::{self, DEFAULT_DAYS_TO_ANSWER, Draw};

#[derive(clap::Args, Debug)]
pub struct SampleAuditArgs {
    /// The scheme whose current cycles are sampled, e.g. cissp.
    #[arg(long, value_parser = super::scheme_id, required_unless_present_any = ["expire", "list"])]
    scheme: Option<String>,
    /// Share of the scheme's self-reported credits to draw, 1 to 100 (rounded up).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100),
        required_unless_present_any = ["expire", "list"])]
    percent: Option<u8>,
    /// Seed of the random draw; the same seed draws the same credits. Printed when left out.
    #[arg(long)]
    seed: Option<u64>,
    /// Days the holders have to answer, from today.
    #[arg(long, default_value_t = DEFAULT_DAYS_TO_ANSWER)]
    days_to_answer: u32,
    /// Instead of drawing: expire the requests whose due day has passed and void their credits.
    #[arg(long, conflicts_with_all = ["percent", "seed", "list"])]
    expire: bool,
    /// Instead of drawing: list the audit requests (of --scheme, if given) and their outcomes.
    #[arg(long, conflicts_with_all = ["percent", "seed"])]
    list: bool,
}

pub async fn run(app: &App, operator: &Actor, args: SampleAuditArgs) -> anyhow::Result<ExitCode> {
    if args.expire {
        let today = sample_audit::office_today();
        let done = sample_audit::expire(&app.db, &app.schemes, operator, today).await?;
        println!(
            "{} requests expired, {} credits voided",
            done.requests, done.voided
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.list {
        let listed = sample_audit::list(&app.db, args.scheme.as_deref()).await?;
        println!(
            "{:<36}  {:<36}  {:<16}  {:<10}  {:<8}  EVIDENCE",
            "REQUEST", "CREDIT", "SCHEME", "DUE_ON", "OUTCOME"
        );
        for v in listed {
            let r = &v.request;
            println!(
                "{:<36}  {:<36}  {:<16}  {:<10}  {:<8}  {}",
                r.id.to_string(),
                r.credit_id.to_string(),
                r.scheme_id,
                r.due_on.to_string(),
                format!("{:?}", r.outcome).to_lowercase(),
                r.evidence_id
                    .map_or_else(|| "-".to_owned(), |e| e.to_string())
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(scheme), Some(percent)) = (args.scheme, args.percent) else {
        anyhow::bail!("--scheme and --percent are required to draw a sample");
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    let drawn = sample_audit::draw(
        &app.db,
        &app.schemes,
        &app.config,
        operator,
        &Draw {
            scheme: scheme.clone(),
            percent,
            seed,
            days_to_answer: args.days_to_answer,
        },
    )
    .await?;
    println!("seed: {}", drawn.seed);
    println!(
        "{} of {} self-reported {scheme} credits drawn; {} holders asked for evidence by {}",
        drawn.credits.len(),
        drawn.candidates,
        drawn.requested,
        drawn.due_on
    );
    for credit in &drawn.credits {
        println!("  credit {credit}");
    }
    Ok(ExitCode::SUCCESS)
}
