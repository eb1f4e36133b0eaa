//! `metaalign generate`: a dataset of one task kind and level, or, with
//! `--data`, the tasks of a benchmark file (the prompts to answer, with
//! the ids `verify --task` and offline evaluation match responses on).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use metaalign_core::config::default_task_source;
use metaalign_core::registry::{kinds, Slot};
use metaalign_core::Level;
use metaalign_tasks::dataset::write_tasks;
use metaalign_tasks::generate::generate_tasks;

use super::task_file;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Registered task kind (`deduction`, `induction`, `abduction`, or a plugin's).
    #[arg(long)]
    pub task: String,
    /// Difficulty level (1 = easiest).
    #[arg(long, required_unless_present = "data")]
    pub level: Option<u32>,
    /// Number of tasks.
    #[arg(long, required_unless_present = "data")]
    pub count: Option<usize>,
    /// A benchmark file read by a file-backed kind (`--task math` or
    /// `choice`): every task of the file is written, in file order.
    #[arg(long, conflicts_with_all = ["level", "count"])]
    pub data: Option<PathBuf>,
    /// A setting of the `--data` source (`--set preset=aime`; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "data")]
    pub settings: Vec<String>,
    /// Seed of generated tasks; with `--data`, the run seed that shuffles
    /// multiple-choice options.
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
    let known = kinds(Slot::Task);
    if !known.contains(&args.task) {
        anyhow::bail!(
            "unknown task kind `{}` (registered: {})",
            args.task,
            known.join(", ")
        );
    }
    let start = std::time::Instant::now();
    let (tasks, what) = match (&args.data, args.level, args.count) {
        (Some(data), _, _) => {
            let source = task_file::load(&args.task, data, &args.settings, args.seed)?;
            let tasks = source.fixed_tasks().unwrap_or_default().to_vec();
            (tasks, format!("from {}", data.display()))
        }
        (None, Some(level), Some(count)) => {
            if level == 0 {
                anyhow::bail!("--level must be at least 1");
            }
            let generator = default_task_source(&args.task)?;
            let tasks = generate_tasks(generator.as_ref(), Level(level), count, args.seed)?;
            (tasks, format!("level {level}"))
        }
        _ => anyhow::bail!("give --level and --count, or --data"),
    };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_tasks(&args.out, &tasks, &args.split)?;
    eprintln!(
        "wrote {} {} tasks ({what}, seed {}) to {} in {:.2} s",
        tasks.len(),
        args.task,
        args.seed,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
