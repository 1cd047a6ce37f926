//! `serve --demo`: serve a ledger seeded with the demo data set, and say how to sign in to it.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::config::Config;
use crate::services::demo_data::{self, DemoLogin};
use crate::startup;

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Seed demo providers, courses and four professionals with histories (on track, at
    /// risk, a RISS course missing, complete) unless they are there already, and print their
    /// logins once the server listens. Refuses a ledger with holders of its own.
    #[arg(long)]
    pub demo: bool,
}

/// Builds and binds the server, seeds the demo data, serves, and prints the logins.
pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = startup::Application::build(config).await?;
    let address = app.local_addr()?;
    let state = app.state();
    let seeded = demo_data::seed(&state.db, &state.schemes).await?;
    tracing::info!(address = %address, "serving");
    let server = tokio::spawn(app.run_until_stopped(startup::shutdown_signal()));
    print!("{}", render(&seeded, &format!("http://{address}/")));
    server.await??;
    Ok(ExitCode::SUCCESS)
}

/// What `serve --demo` prints: whether it seeded, where to go, and one line per login.
pub fn render(seeded: &demo_data::Seeded, url: &str) -> String {
    let mut out = String::new();
    if seeded.wrote {
        out.push_str("demo data seeded\n");
    } else {
        out.push_str("demo data already present: nothing seeded\n");
    }
    let _ = writeln!(out, "open {url} and sign in as one of:");
    let email_w = seeded
        .logins
        .iter()
        .map(|l| l.email.len())
        .max()
        .unwrap_or_default();
    for login in &seeded.logins {
        let _ = writeln!(
            out,
            "  {:<email_w$}  password: {}  shows: {:<17}  {}",
            login.email,
            login.password,
            login.shows,
            standings(login)
        );
    }
    out
}

fn standings(login: &DemoLogin) -> String {
    login
        .standings
        .iter()
        .map(|s| {
            let open = if s.unmet_slots.is_empty() {
                String::new()
            } else {
                format!(" (open: {})", s.unmet_slots.join(", "))
            };
            format!("{} {}: {}{open}", s.scheme, s.registration_number, s.state)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
