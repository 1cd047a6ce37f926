//! `cpe-ledger remind …`: the reminder jobs, run by hand.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;

use crate::config::Config;
use crate::domain::reminders::Reason;
use crate::mail::{self, Email};
use crate::services::reminders::{self, SweepOptions};
use crate::startup;

#[derive(Subcommand, Debug)]
pub enum RemindCommand {
    /// Compute everyone's standing and queue the reminders that are due (one email per person).
    Sweep {
        /// Judge as of this date (YYYY-MM-DD or YYYY/MM/DD) instead of today in each holder's
        /// time zone.
        #[arg(long, value_parser = super::calendar_date)]
        as_of: Option<NaiveDate>,
        /// Print who would be reminded and why, and queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Send what the outbox holds now.
    Drain,
    /// The outbox by state (queued, retrying, sent, failed) and the latest sweep.
    Status,
    /// Render the reminder email with sample data.
    Preview {
        /// lapsed, due, approaching, year_minimum, slot or complete.
        #[arg(long, value_parser = parse_reason)]
        reason: Reason,
        /// ja or en.
        #[arg(long, default_value = "ja", value_parser = ["ja", "en"])]
        locale: String,
    },
}

fn parse_reason(text: &str) -> Result<Reason, String> {
    Reason::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        format!("'{text}' is not one of {}", all.join(", "))
    })
}

pub async fn run(command: RemindCommand, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        RemindCommand::Sweep { as_of, dry_run } => {
            let app = startup::prepare(config).await?;
            let report = reminders::sweep(
                &app.db,
                &app.schemes,
                &app.config,
                SweepOptions {
                    as_of,
                    dry_run,
                    congratulate: app.config.schedule.congratulate,
                },
            )
            .await?;
            for p in &report.planned {
                println!(
                    "{}\t{} {}\t{} {}",
                    p.recipient,
                    p.scheme_id,
                    p.registration_number,
                    p.reason.as_str(),
                    p.threshold
                );
            }
            let verb = if dry_run { "would queue" } else { "queued" };
            let (people, items) = if dry_run {
                let mut people: Vec<&str> = report
                    .planned
                    .iter()
                    .map(|p| p.recipient.as_str())
                    .collect();
                people.sort_unstable();
                people.dedup();
                (people.len(), report.planned.len())
            } else {
                (report.notifications, report.items)
            };
            println!(
                "{} holdings checked, {} skipped; {verb} {people} emails with {items} reminders",
                report.holdings, report.skipped
            );
            Ok(ExitCode::SUCCESS)
        }
        RemindCommand::Drain => {
            let app = startup::prepare(config).await?;
            let sent = crate::jobs::schedule::drain(&app).await;
            println!("{sent} emails sent");
            Ok(ExitCode::SUCCESS)
        }
        RemindCommand::Status => {
            let app = startup::prepare(config).await?;
            let status = crate::services::outbox_status::status(&app.db).await?;
            // `dropped` only when there are some: resets for unknown addresses, not a fault.
            let dropped = match status.dropped {
                0 => String::new(),
                n => format!(", dropped {n}"),
            };
            println!(
                "queued {}, retrying {}, sent {}, failed {}{dropped}",
                status.queued, status.retrying, status.sent, status.failed
            );
            match &status.last_sweep {
                Some(run) => println!(
                    "last sweep: period {}, started {}, {}",
                    run.period,
                    run.started_at.to_rfc3339(),
                    match (&run.finished_at, &run.error) {
                        (_, Some(error)) => format!("failed: {error}"),
                        (Some(at), None) => format!("finished {}", at.to_rfc3339()),
                        (None, None) => "not finished".to_owned(),
                    }
                ),
                None => println!("last sweep: never"),
            }
            Ok(ExitCode::SUCCESS)
        }
        RemindCommand::Preview { reason, locale } => {
            let app = startup::prepare(config).await?;
            let context =
                mail::reminder::sample(reason, &locale, &reminders::dashboard_link(&app.config));
            let email = mail::render(&app.templates, &Email::Reminder(context), &locale)?;
            println!(
                "Subject: {}\n\n{}\n--- HTML ---\n{}",
                email.subject, email.text, email.html
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
