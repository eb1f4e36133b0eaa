//! Throughput of every registered task kind: puzzles generated per second
//! per level (one thread, then all cores with rayon) and verified
//! responses per second (one thread).
//!
//! ```text
//! cargo run --release -p metaalign-tasks --example bench_tasks
//! cargo run --release -p metaalign-tasks --example bench_tasks -- --secs 2 --levels 1-5 --kinds deduction
//! ```

use std::time::{Duration, Instant};

use metaalign_core::config::default_task_source;
use metaalign_core::registry::{kinds, Slot};
use metaalign_core::seed::item_rng;
use metaalign_core::{Level, Task, TaskGenerator};
use rayon::prelude::*;

/// The paper's own deduction generator, puzzles per second (levels 1–5),
/// as measured on this kind of machine (see docs/tasks-logic.md).
const PAPER_DEDUCTION: [f64; 5] = [680.0, 54.0, 3.3, 0.24, 0.011];

struct Args {
    secs: f64,
    levels: (u32, u32),
    kinds: Option<Vec<String>>,
}

fn parse_args() -> Args {
    let mut args = Args {
        secs: 1.0,
        levels: (1, 5),
        kinds: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--secs" => args.secs = value().parse().expect("--secs takes a number"),
            "--levels" => {
                let v = value();
                let (lo, hi) = v.split_once('-').unwrap_or((&v, &v));
                args.levels = (
                    lo.parse().expect("--levels takes L or L1-L2"),
                    hi.parse().expect("--levels takes L or L1-L2"),
                );
            }
            "--kinds" => args.kinds = Some(value().split(',').map(str::to_string).collect()),
            other => panic!("unknown argument {other} (use --secs, --levels, --kinds)"),
        }
    }
    args
}

fn gen_one(g: &dyn TaskGenerator, level: Level, i: u64) -> Task {
    let label = format!("bench/{}/{}", g.kind(), level.0);
    let mut rng = item_rng(7, &label, i);
    g.generate(level, i, &mut rng).expect("generation failed")
}

fn main() {
    metaalign_tasks::link();
    let args = parse_args();
    let budget = Duration::from_secs_f64(args.secs);
    let threads = rayon::current_num_threads();
    let mut task_kinds: Vec<String> = kinds(Slot::Task).into_iter().map(str::to_string).collect();
    for k in ["deduction", "induction", "abduction"] {
        if !task_kinds.iter().any(|x| x == k) && default_task_source(k).is_ok() {
            task_kinds.push(k.to_string());
        }
    }
    if let Some(only) = &args.kinds {
        task_kinds.retain(|k| only.contains(k));
    }
    println!(
        "# bench_tasks: {} s per measurement, {threads} threads for the parallel column",
        args.secs
    );
    println!(
        "| task | level | puzzles/s (1 thread) | puzzles/s ({threads} threads) | verified responses/s (1 thread) | note |"
    );
    println!("|---|---|---|---|---|---|");
    for kind in &task_kinds {
        let g = match default_task_source(kind) {
            Ok(g) => g,
            Err(e) => {
                println!("| {kind} | - | - | - | - | cannot build: {e} |");
                continue;
            }
        };
        let verifier = g.verifier();
        for level in g.levels() {
            if level.0 < args.levels.0 || level.0 > args.levels.1 {
                continue;
            }
            // One thread.
            let start = Instant::now();
            let mut tasks = Vec::new();
            while tasks.is_empty() || start.elapsed() < budget {
                tasks.push(gen_one(g.as_ref(), level, tasks.len() as u64));
            }
            let single = tasks.len() as f64 / start.elapsed().as_secs_f64();
            // All cores: about the same wall time.
            let n = ((single * args.secs * threads as f64) as u64).max(threads as u64);
            let start = Instant::now();
            let par: Vec<Task> = (0..n)
                .into_par_iter()
                .map(|i| gen_one(g.as_ref(), level, 1_000_000 + i))
                .collect();
            let parallel = par.len() as f64 / start.elapsed().as_secs_f64();
            // Verification: the reference answer and a corrupted one per task.
            let responses: Vec<(usize, String)> = tasks
                .iter()
                .enumerate()
                .flat_map(|(i, t)| {
                    let good = format!("<think>reasoning</think><answer>{}</answer>", t.answer);
                    let bad = format!(
                        "<think>reasoning</think><answer>{}</answer>",
                        t.answer.replacen("True", "False", 1).replacen(
                            "unreachable",
                            "reachable",
                            1
                        )
                    );
                    [(i, good), (i, bad)]
                })
                .collect();
            let start = Instant::now();
            let mut verified = 0u64;
            let mut correct = 0u64;
            while verified == 0 || start.elapsed() < budget {
                for (i, r) in &responses {
                    correct += u64::from(verifier.verify(&tasks[*i], r).is_correct());
                    verified += 1;
                }
            }
            let vrate = verified as f64 / start.elapsed().as_secs_f64();
            assert!(
                correct > 0,
                "no reference answer verified for {kind} level {level}"
            );
            let note = if kind == "deduction" && (1..=5).contains(&level.0) {
                let paper = PAPER_DEDUCTION[level.0 as usize - 1];
                format!("paper {paper}/s; ×{:.0}", single / paper)
            } else {
                String::new()
            };
            println!(
                "| {kind} | {} | {single:.1} | {parallel:.1} | {vrate:.0} | {note} |",
                level.0
            );
        }
    }
}
