//! The `metaalign` command line. One file per subcommand; add yours as a
//! variant of [`Command`] and an arm in [`Cli::run`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod list;
pub mod merge;
pub mod model;
pub mod run;

#[derive(Debug, Parser)]
#[command(
    name = "metaalign",
    version,
    about = "Meta-ability alignment for reasoning models"
)]
pub struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info`, `debug`, `metaalign_rl=debug`.
    #[arg(long, global = true, default_value = "info", env = "METAALIGN_LOG")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every registered kind, grouped by slot (plugins included).
    List(list::ListArgs),
    /// Merge checkpoints (TOML merge file or mergekit YAML), streamed tensor by tensor.
    Merge(merge::MergeArgs),
    /// Create, sample from and score candle policies (HF checkpoint directories).
    Model(model::ModelArgs),
    /// Run a pipeline file (or check it and print its plan with --dry-run).
    Run(run::RunArgs),
}

impl Cli {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::List(args) => list::run(args),
            Command::Merge(args) => merge::run(args),
            Command::Run(args) => run::run(args),
            Command::Model(args) => model::run(args),
        }
    }
}
