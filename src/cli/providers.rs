//! `admin accredit`: what a provider may award, one scheme at a time.

use std::process::ExitCode;

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::services::audit::Actor;
use crate::services::providers::{self, Accreditation};
use crate::services::schemes::SchemeCatalog;

#[derive(clap::Args, Debug)]
pub struct AccreditArgs {
    /// The provider's id (see `admin list-providers`).
    #[arg(long)]
    provider_id: Uuid,
    /// The scheme, e.g. cissp.
    #[arg(long, value_parser = super::scheme_id)]
    scheme: String,
    /// A category it may award points toward (repeatable); none given: every category.
    #[arg(long = "category")]
    categories: Vec<String>,
    /// An activity type, in the scheme's words, it may award (repeatable); none given: every one.
    #[arg(long = "activity-type")]
    activity_types: Vec<String>,
    /// First completion day covered, YYYY-MM-DD; none: no start.
    #[arg(long, value_parser = super::calendar_date)]
    from: Option<NaiveDate>,
    /// Last completion day covered, YYYY-MM-DD; none: open-ended.
    #[arg(long, value_parser = super::calendar_date)]
    until: Option<NaiveDate>,
    /// Withdraw the provider's accreditation for the scheme instead.
    #[arg(long, conflicts_with_all = ["categories", "activity_types", "from", "until"])]
    withdraw: bool,
}

/// One accreditation as a line: `cissp (categories: group_a; from 2026-01-01)`.
pub fn describe(a: &Accreditation) -> String {
    let mut parts = Vec::new();
    if !a.categories.is_empty() {
        parts.push(format!("categories: {}", a.categories.join(", ")));
    }
    if !a.activity_types.is_empty() {
        parts.push(format!("activity types: {}", a.activity_types.join(", ")));
    }
    match (a.valid_from, a.valid_until) {
        (Some(from), Some(until)) => parts.push(format!("{from} to {until}")),
        (Some(from), None) => parts.push(format!("from {from}")),
        (None, Some(until)) => parts.push(format!("until {until}")),
        (None, None) => {}
    }
    if parts.is_empty() {
        a.scheme_id.clone()
    } else {
        format!("{} ({})", a.scheme_id, parts.join("; "))
    }
}

pub async fn accredit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    operator: &Actor,
    args: AccreditArgs,
) -> anyhow::Result<ExitCode> {
    let provider = providers::get_provider(db, args.provider_id).await?;
    let mut list: Vec<Accreditation> = provider
        .accreditations
        .0
        .into_iter()
        .filter(|a| a.scheme_id != args.scheme)
        .collect();
    if !args.withdraw {
        list.push(Accreditation {
            scheme_id: args.scheme.clone(),
            categories: args.categories,
            activity_types: args.activity_types,
            valid_from: args.from,
            valid_until: args.until,
        });
    }
    let provider = providers::set_accreditations(db, catalog, operator, provider.id, list).await?;
    println!(
        "provider {} ({}) is accredited for:",
        provider.id, provider.name
    );
    if provider.accreditations.0.is_empty() {
        println!("  nothing");
    }
    for a in &provider.accreditations.0 {
        println!("  {}", describe(a));
    }
    Ok(ExitCode::SUCCESS)
}
