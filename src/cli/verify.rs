//! `metaalign verify`: scores responses (`{"id", "response"}` JSONL)
//! against a dataset's tasks, or, with `--task`, against a benchmark file
//! read by a file-backed task kind (`math`, `choice`, or a plugin's).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use metaalign_core::Task;
use metaalign_tasks::dataset::read_tasks;
use metaalign_tasks::dataset::score::{
    index_tasks, read_responses, read_sampled_responses, Scorer, VerdictRecord,
};
use rayon::prelude::*;

use super::task_file;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Dataset the responses answer: our JSONL/parquet or the paper's
    /// parquet; with `--task`, a benchmark file (JSONL, JSON array or
    /// parquet) in that kind's layout.
    #[arg(long)]
    pub data: PathBuf,
    /// Responses, one JSON object `{"id", "response"}` per line (with
    /// `--task`, an id may repeat: several samples of one problem).
    #[arg(long)]
    pub responses: PathBuf,
    /// Verdicts, one JSON object per response (input order): `id`,
    /// `correct`, `reward`, `parsed` (the extracted answer), `format_ok`,
    /// `outcome`, `details`.
    #[arg(long)]
    pub out: PathBuf,
    /// Read `--data` with this task kind (`math`, `choice`, ...) instead
    /// of as a task dataset.
    #[arg(long)]
    pub task: Option<String>,
    /// A setting of the `--task` source, as in a pipeline's `[tasks.*]`
    /// table: `--set preset=aime`, `--set answer_field=final_answer`,
    /// `--set float_rounding=4` (repeatable; the value is read as TOML,
    /// or as a string when it is not TOML).
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "task")]
    pub settings: Vec<String>,
    /// Run seed the prompts were made with (multiple-choice options are
    /// shuffled from it, so it must match to read the letters right).
    #[arg(long, default_value_t = 0, requires = "task")]
    pub seed: u64,
    /// Reward scheme kind: `paper` or `binary` (or a plugin's); default
    /// `binary` with `--task`, `paper` without.
    #[arg(long)]
    pub reward: Option<String>,
}

/// The tasks of a benchmark file read by a file-backed kind, and that
/// source's own verifier installed in `scorer`.
fn benchmark_tasks(args: &VerifyArgs, kind: &str, scorer: &Scorer) -> anyhow::Result<Vec<Task>> {
    let source = task_file::load(kind, &args.data, &args.settings, args.seed)?;
    scorer.use_verifier(source.kind(), source.verifier());
    Ok(source.fixed_tasks().unwrap_or_default().to_vec())
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let reward = args.reward.clone().unwrap_or_else(|| {
        if args.task.is_some() {
            "binary"
        } else {
            "paper"
        }
        .into()
    });
    let scorer = Scorer::with_reward_kind(&reward)?;
    let (tasks, responses) = match &args.task {
        Some(kind) => (
            benchmark_tasks(&args, kind, &scorer)?,
            read_sampled_responses(&args.responses)?,
        ),
        None => (read_tasks(&args.data)?, read_responses(&args.responses)?),
    };
    let by_id = index_tasks(&tasks).with_context(|| args.data.display().to_string())?;
    let mut pairs = Vec::with_capacity(responses.len());
    for (line, rec) in &responses {
        let task = by_id.get(rec.id.as_str()).ok_or_else(|| {
            anyhow::anyhow!(
                "{}:{line}: unknown id `{}` (no task with this id in {})",
                args.responses.display(),
                rec.id,
                args.data.display()
            )
        })?;
        pairs.push((*task, rec));
    }
    let verdicts: Vec<VerdictRecord> = pairs
        .par_iter()
        .map(|(task, rec)| {
            scorer
                .score(task, &rec.response)
                .map(|s| VerdictRecord::new(rec.id.clone(), &s))
        })
        .collect::<Result<_, _>>()?;
    write_verdicts(&args.out, &verdicts)?;
    let n = verdicts.len().max(1) as f64;
    let correct = verdicts.iter().filter(|v| v.correct == Some(true)).count();
    let format_ok = verdicts.iter().filter(|v| v.format_ok).count();
    let mean: f64 = verdicts.iter().map(|v| v.reward).sum::<f64>() / n;
    println!(
        "{} responses: {} correct ({:.1}%), {} well-formed ({:.1}%), mean {} reward {:.3}",
        verdicts.len(),
        correct,
        100.0 * correct as f64 / n,
        format_ok,
        100.0 * format_ok as f64 / n,
        reward,
        mean
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the verdicts next to their final name, then renames, so an
/// earlier verdicts file is never left half-overwritten.
fn write_verdicts(out: &Path, verdicts: &[VerdictRecord]) -> anyhow::Result<()> {
    metaalign_core::atomic::write_buffered(out, |w| {
        for v in verdicts {
            serde_json::to_writer(&mut *w, v)?;
            w.write_all(b"\n")
                .map_err(|e| metaalign_core::Error::io(out, e))?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", out.display()))
}
