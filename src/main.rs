use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cpe_ledger::cli::Cli::parse();
    cpe_ledger::cli::run(cli).await
}
