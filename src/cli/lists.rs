//! `admin list-holders`, `admin list-providers` and `admin list-clients`: what the ledger holds,
//! narrowed by the filters staff ask for, as a table to read or JSON to feed another tool.

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, DatabaseConnection, Iterable};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::email::EmailAddress;
use crate::services;
use crate::services::clients::{Client, ClientKind};
use crate::services::holdings::{HoldingFilter, HoldingStatus, ListedHolding};
use crate::services::providers::ProviderStatus;
use crate::services::schemes::SchemeCatalog;

/// Rows fetched per query; the lists themselves are not limited.
const PAGE: u64 = 500;

#[derive(clap::Args, Debug)]
pub struct HolderListArgs {
    /// Only holdings of this scheme, e.g. `riss` (any case).
    #[arg(long, value_parser = super::scheme_id)]
    scheme: Option<String>,
    /// Only holdings with this status: active, suspended, lapsed or revoked.
    #[arg(long, value_parser = one_of::<HoldingStatus>)]
    status: Option<HoldingStatus>,
    /// Only the holdings of the professional with this email address.
    #[arg(long, value_parser = email_address)]
    email: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ProviderListArgs {
    /// Only providers with this status: pending, approved or suspended.
    #[arg(long, value_parser = one_of::<ProviderStatus>)]
    status: Option<ProviderStatus>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ClientListArgs {
    /// Only clients of this kind: provider, procurement or admin.
    #[arg(long, value_parser = one_of::<ClientKind>)]
    kind: Option<ClientKind>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn email_address(text: &str) -> Result<String, String> {
    EmailAddress::parse(text)
        .map(|e| e.as_str().to_owned())
        .map_err(|e| e.to_string())
}

/// One of a stored enumeration's values as the database spells them, in any case; the error
/// lists them all.
fn one_of<E: ActiveEnum<Value = String> + Iterable>(text: &str) -> Result<E, String> {
    let wanted = text.trim().to_ascii_lowercase();
    E::iter().find(|v| v.to_value() == wanted).ok_or_else(|| {
        let known: Vec<String> = E::iter().map(|v| v.to_value()).collect();
        format!("expected one of {}", known.join(", "))
    })
}

/// A plain table: columns as wide as their widest cell, the last one unpadded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                let _ = write!(text, "{cell}{:pad$}  ", "");
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

pub async fn holders(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    args: HolderListArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(scheme) = &args.scheme
        && !catalog.contains(scheme)
    {
        anyhow::bail!("scheme: {}", catalog.unknown(scheme));
    }
    let filter = HoldingFilter {
        scheme: args.scheme,
        status: args.status,
        email: args.email,
    };
    let mut listed: Vec<ListedHolding> = Vec::new();
    loop {
        let after = listed
            .last()
            .map(|h| (h.scheme.clone(), h.registration_number.clone()));
        let page = services::holdings::list(
            db,
            &filter,
            after.as_ref().map(|(s, n)| (s.as_str(), n.as_str())),
            PAGE,
        )
        .await?;
        let full = page.len() as u64 == PAGE;
        listed.extend(page);
        if !full {
            break;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|h| {
            vec![
                h.scheme.clone(),
                h.registration_number.clone(),
                h.status.to_value(),
                or_dash(h.expires_on),
                or_dash(h.email.as_deref()),
                h.display_name
                    .clone()
                    .unwrap_or_else(|| h.legal_name.clone()),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "SCHEME",
                "REGISTRATION",
                "STATUS",
                "EXPIRES_ON",
                "EMAIL",
                "NAME"
            ],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn providers(
    db: &DatabaseConnection,
    args: ProviderListArgs,
) -> anyhow::Result<ExitCode> {
    let mut listed = Vec::new();
    loop {
        let after = listed.last().map(|p: &services::providers::Provider| p.id);
        let page =
            services::providers::list_providers_with_status(db, args.status, after, PAGE).await?;
        let full = page.len() as u64 == PAGE;
        listed.extend(page);
        if !full {
            break;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.status.to_value(),
                or_dash(p.contact_email.as_deref()),
                or_dash(
                    Some(
                        p.accreditations
                            .0
                            .iter()
                            .map(super::providers::describe)
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                    .filter(|s| !s.is_empty()),
                ),
                p.name.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "PROVIDER_ID",
                "STATUS",
                "CONTACT_EMAIL",
                "ACCREDITED_FOR",
                "NAME"
            ],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// A client as `list-clients --json` shows it: never its secret or the secret's hash.
#[derive(Serialize)]
struct ListedClient<'a> {
    client_id: &'a str,
    name: &'a str,
    kind: String,
    state: &'static str,
    scopes: Vec<&'a str>,
    rate_limit_per_minute: i32,
    provider_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

impl<'a> From<&'a Client> for ListedClient<'a> {
    fn from(c: &'a Client) -> Self {
        Self {
            client_id: &c.client_id,
            name: &c.name,
            kind: c.kind.to_value(),
            state: if c.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            },
            scopes: c.scopes.split_whitespace().collect(),
            rate_limit_per_minute: c.rate_limit_per_minute,
            provider_id: c.provider_id,
            created_at: c.created_at,
            disabled_at: c.disabled_at,
        }
    }
}

pub async fn clients(db: &DatabaseConnection, args: ClientListArgs) -> anyhow::Result<ExitCode> {
    let mut found: Vec<Client> = Vec::new();
    loop {
        let after = found.last().map(|c| c.id);
        let page = services::clients::list_clients_of_kind(db, args.kind, after, PAGE).await?;
        let full = page.len() as u64 == PAGE;
        found.extend(page);
        if !full {
            break;
        }
    }
    let listed: Vec<ListedClient<'_>> = found.iter().map(ListedClient::from).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|c| {
            vec![
                c.client_id.to_owned(),
                c.kind.clone(),
                c.state.to_owned(),
                c.rate_limit_per_minute.to_string(),
                c.scopes.join(" "),
                c.name.to_owned(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["CLIENT_ID", "KIND", "STATE", "RPM", "SCOPES", "NAME"],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn a_table_pads_every_column_but_the_last_to_its_widest_cell() {
        let text = table(
            &["A", "BB", "NAME"],
            &[
                vec!["xyz".into(), "1".into(), "山田 太郎".into()],
                vec!["x".into(), "-".into(), "Taro".into()],
            ],
        );
        assert_eq!(text, "A    BB  NAME\nxyz  1   山田 太郎\nx    -   Taro\n");
    }

    #[test]
    fn a_status_is_read_in_any_case_and_a_wrong_one_lists_the_valid_ones() {
        assert_eq!(
            one_of::<HoldingStatus>("Active").unwrap(),
            HoldingStatus::Active
        );
        assert_eq!(
            one_of::<ClientKind>("buyer").unwrap_err(),
            "expected one of provider, procurement, admin"
        );
    }
}
