use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cpe_ledger::cli::Cli;

/// Bulk requests allocate many small values (rows, cells, statement values); mimalloc serves
/// them faster than the system allocator and without its lock contention across threads.
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
