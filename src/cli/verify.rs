//! `metaalign verify`: scores responses (`{"id", "response"}` JSONL)
//! against a dataset's tasks.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use metaalign_tasks::dataset::read_tasks;
use metaalign_tasks::dataset::score::{index_tasks, read_responses, Scorer, VerdictRecord};
use rayon::prelude::*;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Dataset the responses answer (our JSONL/parquet or the paper's parquet).
    #[arg(long)]
    pub data: PathBuf,
    /// Responses, one JSON object `{"id", "response"}` per line.
    #[arg(long)]
    pub responses: PathBuf,
    /// Verdicts, one JSON object per response (input order).
    #[arg(long)]
    pub out: PathBuf,
    /// Reward scheme kind: `paper` (default) or `binary` (or a plugin's).
    #[arg(long, default_value = "paper")]
    pub reward: String,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let scorer = Scorer::with_reward_kind(&args.reward)?;
    let tasks = read_tasks(&args.data)?;
    let by_id = index_tasks(&tasks).with_context(|| args.data.display().to_string())?;
    let responses = read_responses(&args.responses)?;
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
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut w = BufWriter::new(file);
    for v in &verdicts {
        serde_json::to_writer(&mut w, v)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
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
        args.reward,
        mean
    );
    Ok(ExitCode::SUCCESS)
}
