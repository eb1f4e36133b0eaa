//! `metaalign export`: a whole curriculum for distributed RL engines.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use metaalign_core::registry::{kinds, Slot};
use metaalign_tasks::dataset::export::{
    export_curriculum, parse_levels, ExportFormat, ExportOptions,
};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output directory: `DIR/{Deduction,Induction,Abduction}/{level}/{train,test}.parquet`.
    #[arg(long)]
    pub out: PathBuf,
    /// Task kinds (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "deduction,induction,abduction"
    )]
    pub abilities: Vec<String>,
    /// Levels, e.g. `1-5` or `1,2,4`.
    #[arg(long, default_value = "1-5")]
    pub levels: String,
    /// Training tasks per ability and level.
    #[arg(long, default_value_t = 900)]
    pub train: usize,
    /// Test tasks per ability and level (never the same puzzle as a training task).
    #[arg(long, default_value_t = 100)]
    pub test: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `verl` (parquet, the paper's layout and types plus a `label` column)
    /// or `openrlhf` (JSONL with `prompt` and `label` fields).
    #[arg(long, default_value = "verl")]
    pub format: String,
    /// Policy checkpoint whose chat template renders the `openrlhf` prompts
    /// (default: the built-in Qwen template).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format: ExportFormat = args.format.parse()?;
    let levels = parse_levels(&args.levels)?;
    let known = kinds(Slot::Task);
    let kinds: Vec<String> = args
        .abilities
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    if kinds.is_empty() {
        anyhow::bail!("--abilities is empty");
    }
    for k in &kinds {
        if !known.contains(k) {
            anyhow::bail!("unknown task kind `{k}` (registered: {})", known.join(", "));
        }
    }
    let template = match &args.model {
        Some(dir) => metaalign_tasks::ChatTemplate::from_checkpoint(dir)?,
        None => metaalign_tasks::ChatTemplate::default(),
    };
    let start = std::time::Instant::now();
    let files = export_curriculum(
        &args.out,
        &ExportOptions {
            kinds,
            levels,
            train: args.train,
            test: args.test,
            seed: args.seed,
            format,
            template,
        },
    )?;
    for f in &files {
        println!("{} ({} rows)", f.path.display(), f.rows);
    }
    eprintln!(
        "exported {} files to {} in {:.1} s",
        files.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
