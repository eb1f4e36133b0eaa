//! `metaalign solve`: our exact solvers answer every task of a dataset;
//! `--check` verifies the stored answers too.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use metaalign_core::config::default_task_source;
use metaalign_core::{Task, TaskGenerator};
use metaalign_tasks::dataset::score::{solution_response, Scorer};
use metaalign_tasks::dataset::{parquet_files_under, read_tasks};
use metaalign_tasks::PaperReward;
use rayon::prelude::*;

#[derive(Debug, Args)]
pub struct SolveArgs {
    /// Dataset: our `.jsonl` or `.parquet`, or one of the paper's parquet
    /// files; a directory means every `.parquet` file under it.
    #[arg(long)]
    pub data: PathBuf,
    /// Also verify each stored answer, and that ours verifies; exit non-zero
    /// on any mismatch.
    #[arg(long)]
    pub check: bool,
    /// Write `{"id", "response"}` per task (input order), each response a
    /// well-formed `<think>…</think><answer>…</answer>` holding our answer.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How many problems to print.
    #[arg(long, default_value_t = 5)]
    pub show: usize,
}

struct Outcome {
    response: Option<String>,
    problem: Option<String>,
}

fn solve_one(
    task: &Task,
    generators: &HashMap<String, Arc<dyn TaskGenerator>>,
    scorer: &Scorer,
    check: bool,
) -> Outcome {
    let Some(gen) = generators.get(&task.kind) else {
        return Outcome {
            response: None,
            problem: Some(format!("task kind `{}` is not registered", task.kind)),
        };
    };
    let solution = match gen.solve(task) {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                response: None,
                problem: Some(format!("solver failed: {e}")),
            }
        }
    };
    let response = solution_response(&solution);
    let mut problems = Vec::new();
    if check {
        match scorer.score(task, &response) {
            Ok(s) if s.verdict.is_correct() => {}
            Ok(s) => problems.push(format!(
                "our answer does not verify ({:?}: {}); our answer: {:?}",
                s.verdict.outcome, s.verdict.details, solution.answer
            )),
            Err(e) => problems.push(e.to_string()),
        }
        let stored = solution_response(&metaalign_core::Solution {
            answer: task.answer.clone(),
            rationale: None,
        });
        match scorer.score(task, &stored) {
            Ok(s) if s.verdict.is_correct() => {}
            Ok(s) => problems.push(format!(
                "the stored answer does not verify ({:?}: {}); stored answer: {:?}",
                s.verdict.outcome, s.verdict.details, task.answer
            )),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Outcome {
        response: Some(response),
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

pub fn run(args: SolveArgs) -> anyhow::Result<ExitCode> {
    let files = if args.data.is_dir() {
        let files = parquet_files_under(&args.data)?;
        if files.is_empty() {
            anyhow::bail!(
                "{}: no .parquet files under this directory",
                args.data.display()
            );
        }
        files
    } else {
        vec![args.data.clone()]
    };
    let mut writer = match &args.out {
        Some(out) => Some(BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        )),
        None => None,
    };
    let scorer = Scorer::new(Arc::new(PaperReward::default()));
    let mut generators: HashMap<String, Arc<dyn TaskGenerator>> = HashMap::new();
    let (mut total, mut failed, mut shown) = (0usize, 0usize, 0usize);
    for file in &files {
        let start = std::time::Instant::now();
        let tasks = read_tasks(file)?;
        for t in &tasks {
            if !generators.contains_key(&t.kind) {
                if let Ok(g) = default_task_source(&t.kind) {
                    generators.insert(t.kind.clone(), g);
                }
            }
        }
        let outcomes: Vec<Outcome> = tasks
            .par_iter()
            .map(|t| solve_one(t, &generators, &scorer, args.check))
            .collect();
        if let Some(w) = writer.as_mut() {
            for (t, o) in tasks.iter().zip(&outcomes) {
                if let Some(r) = &o.response {
                    serde_json::to_writer(
                        &mut *w,
                        &serde_json::json!({"id": t.id, "response": r}),
                    )?;
                    w.write_all(b"\n")?;
                }
            }
        }
        let problems: Vec<(&Task, &String)> = tasks
            .iter()
            .zip(&outcomes)
            .filter_map(|(t, o)| o.problem.as_ref().map(|p| (t, p)))
            .collect();
        let solved = outcomes.iter().filter(|o| o.response.is_some()).count();
        println!(
            "{}: {} tasks, {} solved{}, {} problem(s) in {:.2} s",
            file.display(),
            tasks.len(),
            solved,
            if args.check { " and checked" } else { "" },
            problems.len(),
            start.elapsed().as_secs_f64()
        );
        for (t, p) in &problems {
            if shown < args.show {
                println!("  {}: {}", t.id, p);
                shown += 1;
            }
        }
        total += tasks.len();
        failed += problems.len();
    }
    if let Some(mut w) = writer {
        w.flush()?;
    }
    if files.len() > 1 {
        println!(
            "total: {} files, {total} tasks, {failed} problem(s)",
            files.len()
        );
    }
    if failed > shown {
        println!(
            "  ({} more problem(s) not shown; use --show N)",
            failed - shown
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
