//! `cpe-ledger admin renew`: the renewal of cycles, run by hand (the daily sweep of `serve`
//! runs it too).

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::services::audit::Actor;
use crate::services::renewal::{self, RenewOptions, RenewalReport};
use crate::services::schemes::SchemeCatalog;

#[derive(clap::Args, Debug)]
pub struct RenewArgs {
    /// Decide as of this date (YYYY-MM-DD or YYYY/MM/DD) instead of today in each holder's
    /// time zone.
    #[arg(long, value_parser = super::calendar_date)]
    as_of: Option<NaiveDate>,
    /// Print what would change, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    operator: &Actor,
    args: RenewArgs,
) -> anyhow::Result<ExitCode> {
    let report = renewal::run(
        db,
        catalog,
        operator,
        RenewOptions {
            as_of: args.as_of,
            dry_run: args.dry_run,
        },
    )
    .await?;
    print!("{}", render(&report, args.dry_run));
    Ok(ExitCode::SUCCESS)
}

/// One line per cycle closed, then the totals.
pub fn render(report: &RenewalReport, dry_run: bool) -> String {
    let mut out = String::new();
    for c in &report.changes {
        let _ = write!(
            out,
            "{} {}\tcycle {} – {} {}",
            c.scheme_id,
            c.registration_number,
            c.starts_on,
            c.expires_on,
            if dry_run { "would be" } else { "is" },
        );
        match &c.next {
            Some(next) => {
                let _ = writeln!(
                    out,
                    " renewed; next cycle {} – {} (rules {}, carried in {})",
                    next.starts_on, next.expires_on, next.scheme_version, next.carried_in
                );
            }
            None => {
                let _ = writeln!(out, " lapsed; the holding lapses");
            }
        }
    }
    let verb = if dry_run { "would renew" } else { "renewed" };
    let lapse = if dry_run { "would lapse" } else { "lapsed" };
    let _ = writeln!(
        out,
        "{} open cycles checked, {} skipped; {verb} {}, {lapse} {}",
        report.checked,
        report.skipped,
        report.renewed(),
        report.lapsed()
    );
    out
}
