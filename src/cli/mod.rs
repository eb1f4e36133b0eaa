//! The `metaalign` command line. One file per subcommand; add yours as a
//! variant of [`Command`] and an arm in [`Cli::run`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod export;
pub mod generate;
pub mod list;
pub mod merge;
pub mod model;
pub mod run;
pub mod serve;
pub mod solve;
pub mod task_file;
pub mod verify;

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
    /// Run a pipeline file (or check it and print its plan with --dry-run).
    Run(run::RunArgs),
    /// Generate a dataset of one task kind and level (.jsonl or .parquet).
    Generate(generate::GenerateArgs),
    /// Solve every task of a dataset with our exact solvers (--check verifies stored answers).
    Solve(solve::SolveArgs),
    /// Score responses ({"id", "response"} JSONL) against a dataset.
    Verify(verify::VerifyArgs),
    /// Export a curriculum for veRL (parquet) or OpenRLHF (JSONL).
    Export(export::ExportArgs),
    /// Create, sample from and score candle policies (HF checkpoint directories).
    Model(model::ModelArgs),
    /// Merge checkpoints (TOML merge file or mergekit YAML), streamed tensor by tensor.
    Merge(merge::MergeArgs),
    /// Serve our verifiers as an OpenRLHF-compatible remote reward service.
    ServeReward(serve::ServeArgs),
}

impl Cli {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::List(args) => list::run(args),
            Command::Merge(args) => merge::run(args),
            Command::Run(args) => run::run(args),
            Command::Generate(args) => generate::run(args),
            Command::Solve(args) => solve::run(args),
            Command::Verify(args) => verify::run(args),
            Command::Export(args) => export::run(args),
            Command::ServeReward(args) => serve::run(args),
            Command::Model(args) => model::run(args),
        }
    }
}
