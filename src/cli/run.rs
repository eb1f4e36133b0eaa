//! `metaalign run [--dry-run] [--force STAGE] FILE`: validates a pipeline
//! file and runs it (or prints its plan).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use metaalign_core::pipeline::{self, Pipeline, RunOptions, StageStatus};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline TOML file.
    pub file: PathBuf,

    /// Check the file and print the plan (stages, inputs, outputs, whether
    /// each would run or be skipped) without running anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Run this stage again even if it is up to date (repeatable; `policy`
    /// re-creates the starting policy). Stages reading its outputs re-run too.
    #[arg(long, value_name = "STAGE")]
    pub force: Vec<String>,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let pipeline = Pipeline::from_file(&args.file).map_err(plain)?;
    let options = RunOptions {
        force: args.force,
        ..RunOptions::default()
    };
    if args.dry_run {
        let plan = pipeline::dry_run(&pipeline, &options).map_err(plain)?;
        print!("{plan}");
        println!("dry run: nothing was executed");
        return Ok(ExitCode::SUCCESS);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let cancel = options.cancel.clone();
    let result = runtime.block_on(async {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupt received: stopping after the current step (press Ctrl-C again to abort at once)"
                );
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        pipeline::run(&pipeline, &options).await
    });
    match result {
        Ok(summary) => {
            for s in &summary.stages {
                let status = match &s.status {
                    StageStatus::Ran => format!("ran in {:.1} s", s.duration.as_secs_f64()),
                    StageStatus::Skipped => "skipped (up to date)".to_string(),
                    other => format!("{other:?}"),
                };
                println!("{:<20} {status}", s.name);
            }
            println!(
                "run directory: {} (report: {})",
                summary.run_dir.display(),
                summary.run_dir.join("report.md").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(metaalign_core::Error::Interrupted) => {
            eprintln!(
                "interrupted: finished stages are kept in {}; run the same command again to resume",
                pipeline.run_dir().display()
            );
            Ok(ExitCode::from(130))
        }
        Err(err) => Err(plain(err)),
    }
}

/// Our errors already include their causes in their message; keep anyhow
/// from printing them a second time.
fn plain(err: metaalign_core::Error) -> anyhow::Error {
    anyhow::Error::msg(err.to_string())
}
