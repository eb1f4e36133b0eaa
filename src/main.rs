use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    metaalign::link_builtins();
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| metaalign_core::progress::LogWriter)
        .init();
    // Two crates registering the same kind in one slot is a start-up error.
    if let Err(err) = metaalign_core::registry::all() {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    match cli.run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
