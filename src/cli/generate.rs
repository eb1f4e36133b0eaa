//! `metaalign generate`: a dataset of one task kind and level.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use metaalign_core::config::default_task_source;
use metaalign_core::registry::{kinds, Slot};
use metaalign_core::Level;
use metaalign_tasks::dataset::write_tasks;
use metaalign_tasks::generate::generate_tasks;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Registered task kind (`deduction`, `induction`, `abduction`, or a plugin's).
    #[arg(long)]
    pub task: String,
    /// Difficulty level (1 = easiest).
    #[arg(long)]
    pub level: u32,
    /// Number of tasks.
    #[arg(long)]
    pub count: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file: `.jsonl` (task records) or `.parquet` (veRL layout).
    #[arg(long)]
    pub out: PathBuf,
    /// `extra_info.split` written to parquet rows.
    #[arg(long, default_value = "train")]
    pub split: String,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    if args.level == 0 {
        anyhow::bail!("--level must be at least 1");
    }
    let known = kinds(Slot::Task);
    if !known.contains(&args.task.as_str()) {
        anyhow::bail!(
            "unknown task kind `{}` (registered: {})",
            args.task,
            known.join(", ")
        );
    }
    let generator = default_task_source(&args.task)?;
    let start = std::time::Instant::now();
    let tasks = generate_tasks(generator.as_ref(), Level(args.level), args.count, args.seed)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_tasks(&args.out, &tasks, &args.split)?;
    eprintln!(
        "wrote {} {} tasks (level {}, seed {}) to {} in {:.2} s",
        tasks.len(),
        args.task,
        args.level,
        args.seed,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
