// The command futures (serve with its scheduler, the admin commands) nest deeper than the
// compiler's default limit allows when it computes their layout.
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cpe_ledger::cli::Cli;

/// Rows read from the database are handed from the driver's thread to another and freed there,
/// and bulk requests and the reminder sweep allocate many small values; the system allocator
/// spent a fifth to two fifths of their time in its locks and consolidation, mimalloc does not
/// (see the attendance and reminder sweep benchmarks in README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A bad setting is one line naming it, like the settings checked after parsing.
        Err(e) => match cpe_ledger::config::invalid_setting(&Cli::command(), &e) {
            Some(line) => {
                eprintln!("error: {line}");
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    cpe_ledger::cli::run(cli).await
}
