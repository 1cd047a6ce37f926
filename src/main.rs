use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cpe_ledger::cli::Cli;

/// Every row read from the database is handed from its driver thread to another and freed
/// there, and the reminder sweep allocates and frees many small values per holding; the system
/// allocator spent much of the sweep in locks and consolidation, mimalloc does not (see the
/// reminder sweep benchmark in README).
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
