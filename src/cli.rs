//! The `cpe-ledger` command line: one binary for serving, migrating and the certification
//! body's staff work. Every command reads the same configuration as `serve`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use sea_orm::ActiveEnum;

use crate::config::{Config, Settings};
use crate::domain::points::Points;
use crate::domain::scheme::SchemeDefinition;
use crate::services;
use crate::services::schemes::SchemeCatalog;
use crate::startup;

mod demo;
mod lists;
mod providers;
mod registry_import;
mod remind;
mod renew;
mod sample_audit;
mod scheme_show;

#[derive(Parser, Debug)]
#[command(
    name = "cpe-ledger",
    version,
    about = "Continuing-education ledger for certified professionals"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrate, load schemes, make sure a signing key exists, and serve HTTP.
    Serve(demo::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Scheme definitions.
    #[command(subcommand)]
    Schemes(SchemesCommand),
    /// Accounts, machine clients and keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Bulk imports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Ledger entries recorded by the certification body's staff.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Reminders: sweep, drain the outbox, preview the email.
    #[command(subcommand)]
    Remind(remind::RemindCommand),
    /// Print a holding's standing as the engine computes it.
    Standing {
        /// Scheme id, e.g. `cissp` (any case).
        #[arg(value_parser = scheme_id)]
        scheme: String,
        /// The holder's registration number in that scheme.
        registration_number: String,
        /// Judge as of this date (YYYY-MM-DD or YYYY/MM/DD) instead of today in the holder's
        /// time zone.
        #[arg(long, value_parser = calendar_date)]
        as_of: Option<NaiveDate>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SchemesCommand {
    /// List the scheme definitions this deployment loads.
    List,
    /// One scheme's rules: activity types, categories and slots (named in ja and en), caps,
    /// deadline and grace.
    Show {
        /// Scheme id, e.g. `riss` (any case; see `schemes list`).
        #[arg(value_parser = scheme_id)]
        scheme: String,
        /// Print JSON (the definition as its TOML has it) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate a scheme definition file without loading it.
    Check {
        /// The scheme definition (TOML) to check.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a login account. The password is read from standard input when piped,
    /// otherwise a random one is generated and printed once.
    CreateUser {
        /// The address the person signs in with.
        #[arg(long)]
        email: String,
        /// `admin` or `professional`.
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Create a machine client and print its id and secret once.
    CreateClient {
        /// A name staff recognise the client by (e.g. the system it runs in).
        #[arg(long)]
        name: String,
        /// `provider`, `procurement` or `admin`.
        #[arg(long)]
        kind: String,
        /// Scopes to grant (repeatable); defaults to the kind's usual scopes.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The provider this client acts for (provider clients).
        #[arg(long)]
        provider_id: Option<uuid::Uuid>,
        /// Requests per minute before the client is throttled.
        #[arg(long, default_value_t = 600)]
        rate_limit: i32,
    },
    /// Register a course provider (approved) and print its id.
    CreateProvider {
        /// The provider's name as holders know it.
        #[arg(long)]
        name: String,
        /// Where to reach the provider about its courses.
        #[arg(long)]
        contact_email: Option<String>,
    },
    /// Accredit a provider for one scheme, replacing what it had there: what it may award and
    /// for which completion days. Its other schemes stay as they are.
    Accredit(providers::AccreditArgs),
    /// List holdings with their holders and current expiry, by scheme and registration number.
    ListHolders(lists::HolderListArgs),
    /// List course providers, with the ids `create-client --provider-id` takes.
    ListProviders(lists::ProviderListArgs),
    /// List machine clients (never their secrets).
    ListClients(lists::ClientListArgs),
    /// Disable a machine client; its tokens stop working at once.
    DisableClient {
        /// The client's `client_id` (`cl_…`).
        client_id: String,
    },
    /// Give a machine client a new secret and print it once; the old secret and the tokens
    /// issued with it stop working at once.
    RotateClientSecret {
        /// The client's `client_id` (`cl_…`).
        client_id: String,
    },
    /// Rotate every signing key: a new token key and a new credential key, each retiring the
    /// current one. Running servers sign with the new keys within
    /// CPE_LEDGER_KEY_REFRESH_INTERVAL (default 60 s). The retired token key verifies access
    /// tokens only until the last it can have signed expire (15 minutes plus that interval and
    /// 30 s of clock leeway); the retired credential key keeps verifying the credentials it
    /// signed. Both public halves stay in the JWKS for 400 days.
    RotateKeys,
    /// Rotate only the RS256 key that signs status credentials. Credentials signed with the
    /// retired key still verify (route, page and JWKS) for 400 days, far longer than any of
    /// them lives.
    RotateCredentialKey,
    /// Distrust a retired signing key that leaked, at once: it leaves the JWKS, and the tokens
    /// and credentials it signed are refused (running servers re-read their keys within
    /// CPE_LEDGER_KEY_REFRESH_INTERVAL). The active key cannot be distrusted: rotate first.
    DistrustKey {
        /// The key's `kid` as the JWKS lists it (a credential key's URL form or its thumbprint).
        kid: String,
    },
    /// Give every imported holder with an email and no account an account and queue an
    /// emailed activation link (the outbox of `serve` sends them). Running it again invites
    /// nobody twice.
    InviteHolders,
    /// Close every open cycle that has ended: renewed (the next cycle opens, carrying any
    /// rollover) when its requirements are met, lapsed (and the holding with it) once its
    /// grace period has passed. Prints what changed; running it again changes nothing.
    Renew(renew::RenewArgs),
    /// Draw self-reported credits of a scheme's current cycles at random and ask their holders
    /// for evidence by email; `--expire` voids the credits whose evidence did not come in time.
    SampleAudit(sample_audit::SampleAuditArgs),
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import the certification body's registry of holders (CSV, UTF-8 or Shift_JIS).
    ///
    /// Columns: scheme, registration_number, email, legal_name, legal_name_kana, display_name,
    /// certified_on, cycle_start (optional: locale, time_zone). Running it again changes nothing.
    Holders {
        /// The registry file (CSV) to import.
        file: PathBuf,
        /// Where to write the rejected rows (default: `<file>.rejected.csv`).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Also invite the holders who have no account yet (see `admin invite-holders`).
        #[arg(long)]
        invite: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CreditsCommand {
    /// Record an approved credit for a holder.
    #[command(after_help = CREDITS_ADD_EXAMPLE)]
    Add(CreditArgs),
    /// List a holder's credits (voided ones too), with the ids `void` and `correct` take.
    List {
        /// Scheme of the holding that identifies the professional (any case).
        #[arg(long, value_parser = scheme_id)]
        scheme: String,
        /// The holder's registration number in that scheme.
        #[arg(long)]
        registration_number: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Void a credit (it stays in the ledger, marked voided, with the reason).
    Void {
        /// The credit's id, as `credits add` printed it.
        credit_id: uuid::Uuid,
        /// Why, kept with the voided entry and in the audit log.
        #[arg(long)]
        reason: String,
        /// Who voided it, for the audit log.
        #[arg(long, default_value = "cli")]
        recorded_by: String,
    },
    /// Void a credit and record its corrected version in its place, in one step.
    Correct {
        /// The credit's id, as `credits add` printed it.
        credit_id: uuid::Uuid,
        /// Why, kept with the voided entry and in the audit log.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        credit: CreditArgs,
    },
}

const CREDITS_ADD_EXAMPLE: &str = "\
Example: one 8-hour incident-response course that CISSP calls education (Group A) and CISA
calls training (CPE hours), logged once for a professional who holds both:

  cpe-ledger credits add --scheme cissp --registration-number 123456 \\
      --title \"Incident response course\" --date 2026-05-10 --hours 8 \\
      --claim cissp:education:group_a=8 --claim cisa:training:cpe=8";

/// A credit as staff record it: one activity, logged once, with what it claims in each scheme
/// classified in that scheme's own words (see [`CREDITS_ADD_EXAMPLE`]).
#[derive(clap::Args, Debug)]
pub struct CreditArgs {
    /// Scheme of the holding that identifies the professional (any case).
    #[arg(long, value_parser = scheme_id)]
    scheme: String,
    /// The holder's registration number in that scheme.
    #[arg(long)]
    registration_number: String,
    /// Activity type as the holding's scheme names it (e.g. `education`,
    /// `ipa_online_course`). May be left out when a `--claim` for that scheme names it.
    #[arg(long)]
    activity_type: Option<String>,
    /// The activity's title, e.g. the course name.
    #[arg(long)]
    title: String,
    /// Completion date, YYYY-MM-DD (or YYYY/MM/DD).
    #[arg(long, value_parser = calendar_date)]
    date: NaiveDate,
    /// Hours the activity took, e.g. `8` or `1.5`.
    #[arg(long, value_parser = parse_hours, allow_negative_numbers = true)]
    hours: Points,
    /// What the activity counts for, in each scheme's own words (repeatable):
    /// `scheme:activity_type:category=points` (`cisa:training:cpe=8`);
    /// `scheme:category=points` uses `--activity-type`; `category=points` also means the
    /// holding's scheme. A claim its scheme cannot place is refused. A slot-only activity
    /// (the RISS online course) needs none.
    #[arg(long = "claim", visible_alias = "points", value_name = "CLAIM")]
    claims: Vec<String>,
    /// Who recorded it, for the audit log.
    #[arg(long, default_value = "cli")]
    recorded_by: String,
}

/// A scheme id as typed, in the catalog's form (`RISS` is `riss`).
pub(crate) fn scheme_id(text: &str) -> Result<String, String> {
    let id = crate::domain::scheme::normalise_scheme_id(text);
    if id.is_empty() {
        return Err("expected a scheme id, e.g. riss (see `schemes list`)".to_owned());
    }
    Ok(id)
}

/// A date option read by the one rule of [`crate::domain::calendar_date`].
pub(crate) fn calendar_date(text: &str) -> Result<NaiveDate, String> {
    crate::domain::calendar_date::parse_date(text).map_err(|e| e.to_string())
}

/// `--hours` as a number of hours, with errors that talk about hours.
fn parse_hours(text: &str) -> Result<Points, String> {
    use crate::domain::points::PointsError;
    text.parse::<Points>().map_err(|e| match e {
        PointsError::Negative(_) => "hours must be more than 0".to_owned(),
        PointsError::TooPrecise(_) => "hours may have at most two decimals, e.g. 1.25".to_owned(),
        PointsError::TooLarge(_) => "hours are too large".to_owned(),
        PointsError::Empty | PointsError::Malformed(_) => {
            "expected a number of hours, e.g. 8 or 1.5".to_owned()
        }
    })
}

impl CreditArgs {
    fn into_staff_credit(
        self,
    ) -> Result<services::ledger::StaffCredit, services::ledger::LedgerError> {
        let claims = self
            .claims
            .iter()
            .map(|p| services::ledger::ClaimSpec::parse(p, &self.scheme))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(services::ledger::StaffCredit {
            scheme: self.scheme,
            registration_number: self.registration_number,
            activity_type: self.activity_type,
            title: self.title,
            completed_on: self.date,
            hours: self.hours,
            claims,
            recorded_by: self.recorded_by,
        })
    }
}

/// Rejected rows printed after an import; the report file has them all.
const SHOWN_REJECTIONS: usize = 20;

/// Runs a parsed command line; prints errors as one line and returns the exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let config = match Config::from_settings(&cli.settings) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(line) = missing_database(&cli.command, &config) {
        eprintln!("error: {line}");
        return ExitCode::from(2);
    }
    init_tracing(&config, matches!(cli.command, Command::Serve(_)));
    match dispatch(cli.command, config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Only `serve` and `migrate` create a database; every other command that opens one refuses a
/// missing SQLite file (a command run from the wrong folder would otherwise answer from a new,
/// empty ledger). The line names the path looked at and the settings that move it.
fn missing_database(command: &Command, config: &Config) -> Option<String> {
    let creates_or_needs_none = matches!(
        command,
        Command::Serve(_) | Command::Migrate | Command::Schemes(_)
    );
    if creates_or_needs_none || config.database_kind != crate::config::DatabaseKind::Sqlite {
        return None;
    }
    let path = sqlite_file(&config.database_url)?;
    if path.exists() {
        return None;
    }
    Some(format!(
        "no database at {}: run `cpe-ledger migrate` to create one there, or point \
         CPE_LEDGER_DATABASE_URL or CPE_LEDGER_DATA_DIR at an existing one",
        path.display()
    ))
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

fn init_tracing(config: &Config, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("CPE_LEDGER_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default},sqlx=warn,sea_orm=warn,tokio_cron_scheduler=warn"
        ))
    });
    // Colour codes only for a person at a terminal; a file or a log collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn dispatch(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) if args.demo => demo::serve(config).await,
        Command::Serve(_) => {
            let app = startup::Application::build(config).await?;
            tracing::info!(address = %app.local_addr()?, "serving");
            app.run_until_stopped(startup::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let db = startup::connect(&config).await?;
            use migration::MigratorTrait;
            migration::Migrator::up(&db, None).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Schemes(SchemesCommand::List) => {
            let catalog = SchemeCatalog::load(config.schemes_dir.as_deref())?;
            let width = |column: &str, cell: fn(&SchemeDefinition) -> usize| {
                catalog
                    .all()
                    .map(|l| cell(&l.definition))
                    .chain([column.len()])
                    .max()
                    .unwrap_or_default()
            };
            let id_w = width("SCHEME", |d| d.id.len());
            let version_w = width("VERSION", |d| d.version.len());
            println!(
                "{:<id_w$}  {:<version_w$}  {:<10}  {:<9}  NAME",
                "SCHEME", "VERSION", "FROM", "STATUS"
            );
            for loaded in catalog.all() {
                let d = &loaded.definition;
                println!(
                    "{:<id_w$}  {:<version_w$}  {:<10}  {:<9}  {}",
                    d.id,
                    d.version,
                    d.effective_from.to_string(),
                    services::schemes::status_label(d),
                    d.name.en
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schemes(SchemesCommand::Show { scheme, json }) => {
            let catalog = SchemeCatalog::load(config.schemes_dir.as_deref())?;
            let today = chrono::Utc::now().date_naive();
            let Some(loaded) = catalog.in_force_on(&scheme, today) else {
                anyhow::bail!("scheme: {}", catalog.unknown(&scheme));
            };
            let definition = &loaded.definition;
            if json {
                let shown = scheme_show::Shown {
                    definition,
                    date_convention: scheme_show::DATE_CONVENTION,
                };
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                print!("{}", scheme_show::render_text(definition));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schemes(SchemesCommand::Check { file }) => {
            match services::schemes::check_file(&file) {
                Ok(loaded) => {
                    println!(
                        "{}: ok ({} version {})",
                        file.display(),
                        loaded.definition.id,
                        loaded.definition.version
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Admin(admin) => run_admin(admin, config).await,
        Command::Remind(remind) => remind::run(remind, config).await,
        Command::Import(ImportCommand::Holders {
            file,
            report,
            invite,
        }) => {
            let app = startup::prepare(config).await?;
            let report_path = report.unwrap_or_else(|| {
                let mut name = file.clone().into_os_string();
                name.push(".rejected.csv");
                PathBuf::from(name)
            });
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut progress = registry_import::Bar::new(std::io::stderr().is_terminal());
            let file_name = file.display().to_string();
            let summary = services::registry_import::import(
                &app.db,
                &app.schemes,
                &bytes,
                &file_name,
                &mut progress,
            )
            .await?;
            println!("{summary}");
            if summary.rejected.is_empty() {
                // A report left by an earlier run would describe rows this file no longer has.
                match std::fs::remove_file(&report_path) {
                    Ok(()) => println!(
                        "removed {}, the rejected rows of an earlier run",
                        report_path.display()
                    ),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(anyhow::anyhow!(
                            "cannot remove the earlier report {}: {e}",
                            report_path.display()
                        ));
                    }
                }
            } else {
                registry_import::write_rejections(&report_path, &summary.rejected)?;
                for r in summary.rejected.iter().take(SHOWN_REJECTIONS) {
                    println!("  line {}: {}: {}", r.line, r.field, r.message);
                }
                if summary.rejected.len() > SHOWN_REJECTIONS {
                    println!("  … and {} more", summary.rejected.len() - SHOWN_REJECTIONS);
                }
                println!(
                    "{} rejected rows written to {}",
                    summary.rejected_rows(),
                    report_path.display()
                );
            }
            if invite {
                print_invitations(&app.db).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Credits(CreditsCommand::Add(credit)) => {
            let app = startup::prepare(config).await?;
            let input = credit.into_staff_credit()?;
            let credit =
                services::ledger::record_staff_credit(&app.db, &app.schemes, input).await?;
            println!("credit {} recorded", credit.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Credits(CreditsCommand::List {
            scheme,
            registration_number,
            json,
        }) => {
            let app = startup::prepare(config).await?;
            let listed = services::ledger::credits_of_holder(
                &app.db,
                &app.schemes,
                &scheme,
                &registration_number,
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
            } else {
                print!("{}", render_credits(&listed));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Credits(CreditsCommand::Void {
            credit_id,
            reason,
            recorded_by,
        }) => {
            let app = startup::prepare(config).await?;
            let actor = services::audit::Actor::cli(&recorded_by);
            services::ledger::void_credit(&app.db, &app.schemes, credit_id, &reason, &actor)
                .await?;
            println!("credit {credit_id} voided");
            Ok(ExitCode::SUCCESS)
        }
        Command::Credits(CreditsCommand::Correct {
            credit_id,
            reason,
            credit,
        }) => {
            let app = startup::prepare(config).await?;
            let input = credit.into_staff_credit()?;
            let replacement = services::ledger::correct_staff_credit(
                &app.db,
                &app.schemes,
                credit_id,
                &reason,
                input,
            )
            .await?;
            println!(
                "credit {credit_id} voided; credit {} recorded in its place",
                replacement.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Standing {
            scheme,
            registration_number,
            as_of,
            json,
        } => {
            let app = startup::prepare(config).await?;
            if !app.schemes.contains(&scheme) {
                anyhow::bail!("scheme: {}", app.schemes.unknown(&scheme));
            }
            let standing = services::standing::for_registration(
                &app.db,
                &app.schemes,
                &scheme,
                &registration_number,
                as_of,
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&standing)?);
            } else {
                print!("{}", services::standing::render_text(&standing));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The `credits list` table: one line per credit, claims as `scheme:type:category=points`.
fn render_credits(listed: &[services::ledger::ListedCredit]) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<36}  {:<10}  {:<8}  {:>6}  {:<20}  {:<40}  TITLE\n",
        "ID", "DATE", "STATE", "HOURS", "ACTIVITY_TYPE", "CLAIMS"
    );
    for c in listed {
        let claims: Vec<String> = c
            .claims
            .iter()
            .map(|k| {
                format!(
                    "{}:{}:{}={}",
                    k.scheme, k.activity_type, k.category, k.points
                )
            })
            .collect();
        let claims = if claims.is_empty() {
            "-".to_owned()
        } else {
            claims.join(" ")
        };
        let reason = c
            .void_reason
            .as_deref()
            .map(|r| format!(" (voided: {r})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<36}  {:<10}  {:<8}  {:>6}  {:<20}  {:<40}  {}{reason}",
            c.id.to_string(),
            c.completed_on.to_string(),
            c.state.to_value(),
            c.hours.to_string(),
            c.activity_type,
            claims,
            c.title
        );
    }
    out
}

async fn run_admin(command: AdminCommand, config: Config) -> anyhow::Result<ExitCode> {
    let app = startup::prepare(config).await?;
    let operator = services::audit::Actor::cli("admin");
    match command {
        AdminCommand::CreateUser { email, role } => {
            let stdin = std::io::stdin();
            let (password, generated) = if stdin.is_terminal() {
                (crate::auth::password::generate_password(), true)
            } else {
                let mut text = String::new();
                stdin
                    .lock()
                    .read_to_string(&mut text)
                    .context("reading the password from standard input")?;
                (text.trim_end_matches(['\r', '\n']).to_owned(), false)
            };
            let user = services::accounts::create_user(&app.db, &email, &role, &password).await?;
            println!("user {} created ({}, {:?})", user.id, user.email, user.role);
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::CreateClient {
            name,
            kind,
            scopes,
            provider_id,
            rate_limit,
        } => {
            let created = services::clients::create_client(
                &app.db,
                &operator,
                services::clients::NewClient {
                    name,
                    kind,
                    scopes,
                    provider_id,
                    rate_limit_per_minute: rate_limit,
                },
            )
            .await?;
            println!("client_id:     {}", created.client.client_id);
            println!("client_secret: {}", created.secret);
            println!("scopes:        {}", created.client.scopes);
            println!("The secret is shown once; store it now.");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::CreateProvider {
            name,
            contact_email,
        } => {
            let provider = services::providers::create_provider(
                &app.db,
                &operator,
                services::providers::NewProvider {
                    name,
                    contact_email,
                },
            )
            .await?;
            println!("provider {} created ({})", provider.id, provider.name);
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Accredit(args) => {
            providers::accredit(&app.db, &app.schemes, &operator, args).await
        }
        AdminCommand::ListHolders(args) => lists::holders(&app.db, &app.schemes, args).await,
        AdminCommand::ListProviders(args) => lists::providers(&app.db, args).await,
        AdminCommand::ListClients(args) => lists::clients(&app.db, args).await,
        AdminCommand::DisableClient { client_id } => {
            let client = services::clients::disable_client(&app.db, &operator, &client_id).await?;
            println!("client {} disabled", client.client_id);
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::RotateClientSecret { client_id } => {
            let rotated = services::clients::rotate_secret(&app.db, &operator, &client_id).await?;
            println!("client_id:     {}", rotated.client.client_id);
            println!("client_secret: {}", rotated.secret);
            println!("The secret is shown once; store it now. The old secret no longer works.");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::RotateKeys => {
            let key = crate::auth::keys::rotate(&app.db).await?;
            println!("new signing key {} is active", key.kid);
            let credential = crate::auth::credential_keys::rotate(&app.db).await?;
            println!("new credential key {} is active", credential.kid);
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::RotateCredentialKey => {
            let credential = crate::auth::credential_keys::rotate(&app.db).await?;
            println!("new credential key {} is active", credential.kid);
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::DistrustKey { kid } => {
            let key = crate::auth::keys::distrust(&app.db, &kid).await?;
            services::audit::record(
                &app.db,
                &operator,
                services::audit::Event {
                    action: "signing_key.distrusted",
                    subject_kind: "signing_key",
                    subject_id: Some(key.kid.clone()),
                    before: None,
                    after: None,
                },
            )
            .await?;
            println!(
                "signing key {} is distrusted: it is no longer published and nothing it signed verifies",
                key.kid
            );
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::InviteHolders => {
            print_invitations(&app.db).await?;
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Renew(args) => renew::run(&app.db, &app.schemes, &operator, args).await,
        AdminCommand::SampleAudit(args) => sample_audit::run(&app, &operator, args).await,
    }
}

async fn print_invitations(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    let summary =
        services::accounts::invite_holders(db, &services::audit::Actor::cli("admin")).await?;
    println!(
        "invitations: {} queued, {} existing accounts linked, {} left for an administrator",
        summary.invited, summary.linked, summary.conflicts
    );
    Ok(())
}
