//! Throughput of every registered task kind: puzzles generated per second
//! per level (one thread, then all cores with rayon) and verified
//! responses per second (one thread).
//!
//! Verification uses responses shaped like a model's: a reasoning block of
//! 1–3 kB (the task's puzzle text and rationale), then
//! `</think>\n<answer>\n…\n</answer>`. The response only, without the
//! prompt (our `Verifier` receives only the response; the paper's reward
//! also scans the prompt). Per task one correct response and one with one
//! value flipped, verified one after the other (as several rollouts of a
//! prompt are in RL), then the next task: the first 200 tasks of a level
//! (`--verify-tasks`), looped over for `--secs`, as the paper's reward was
//! timed on its test rows (100 per level for deduction and induction, 200
//! for abduction). The "first sight" column repeats the loop with the
//! verifiers' per-task caches voided before each pass (each task's first
//! response then reads its ground truth afresh, as the paper's reward does
//! on every call).
//!
//! ```text
//! cargo run --release -p metaalign-tasks --example bench_tasks
//! cargo run --release -p metaalign-tasks --example bench_tasks -- --secs 2 --levels 1-5 --kinds deduction
//! # verification only (no all-cores column), at most 2000 tasks per level:
//! cargo run --release -p metaalign-tasks --example bench_tasks -- --verify-only --max-tasks 2000
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

/// The paper's own reward functions (veRL's `mix.compute_score` and the
/// task modules `formula.py`, `backward_reasoning.py`, `squence.py`),
/// responses per second on one thread, levels 1–5 (deduction has no level
/// 5 in the paper's data): the faster of two runs of
/// `scripts/paper_reward_bench.py` on realistic veRL inputs, 2026-11-26
/// 04:00–04:03 UTC, this 2-core VM (see docs/tasks-logic.md, "Paper reward
/// functions timed").
const PAPER_VERIFY_DEDUCTION: [f64; 4] = [21_250.0, 19_436.0, 10_888.0, 7_954.0];
const PAPER_VERIFY_ABDUCTION: [f64; 5] = [27_149.0, 25_470.0, 23_122.0, 23_920.0, 24_832.0];
const PAPER_VERIFY_INDUCTION: [f64; 5] = [43_892.0, 45_808.0, 45_008.0, 42_477.0, 40_112.0];

/// The paper's measured reward rate for a task kind and level, if any.
fn paper_verify(kind: &str, level: u32) -> Option<f64> {
    let table: &[f64] = match kind {
        "deduction" => &PAPER_VERIFY_DEDUCTION,
        "abduction" => &PAPER_VERIFY_ABDUCTION,
        "induction" => &PAPER_VERIFY_INDUCTION,
        _ => return None,
    };
    table.get((level as usize).checked_sub(1)?).copied()
}

/// A reasoning block of 1–3 kB: the puzzle text and the rationale,
/// repeated as a model restates and re-checks, cut at 3 kB.
fn reasoning(t: &Task) -> String {
    let rationale = t.rationale.as_deref().unwrap_or("");
    let mut s = format!("Let me restate the puzzle.\n{}\n{rationale}\n", t.puzzle);
    while s.len() < 1024 {
        s.push_str("Let me double-check each step.\n");
        s.push_str(if rationale.is_empty() {
            &t.puzzle
        } else {
            rationale
        });
        s.push('\n');
    }
    let mut cut = s.len().min(3072);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

/// The answer with one value flipped: the first `True`/`False` or
/// `reachable`/`unreachable` label, or an integer answer plus one.
fn flip_one(answer: &str) -> String {
    if let Ok(v) = answer.trim().parse::<i64>() {
        return (v.wrapping_add(1)).to_string();
    }
    let pairs = [
        (" is True", " is False"),
        (" is False", " is True"),
        (" is reachable", " is unreachable"),
        (" is unreachable", " is reachable"),
    ];
    let first = pairs
        .iter()
        .filter_map(|(from, to)| answer.find(from).map(|at| (at, *from, *to)))
        .min_by_key(|(at, _, _)| *at);
    match first {
        Some((at, from, to)) => format!("{}{to}{}", &answer[..at], &answer[at + from.len()..]),
        None => format!("{answer} (flipped)"),
    }
}

struct Args {
    secs: f64,
    levels: (u32, u32),
    kinds: Option<Vec<String>>,
    /// At most this many tasks per level (the generation time then is
    /// shorter than `secs`).
    max_tasks: usize,
    /// Skip the all-cores generation column (for profiling verification).
    verify_only: bool,
    /// Verify responses to the first this many tasks of a level.
    verify_tasks: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        secs: 1.0,
        levels: (1, 5),
        kinds: None,
        max_tasks: usize::MAX,
        verify_only: false,
        verify_tasks: 200,
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
            "--max-tasks" => args.max_tasks = value().parse().expect("--max-tasks takes a count"),
            "--verify-only" => args.verify_only = true,
            "--verify-tasks" => {
                args.verify_tasks = value().parse().expect("--verify-tasks takes a count")
            }
            other => panic!(
                "unknown argument {other} (use --secs, --levels, --kinds, --max-tasks, --verify-only, --verify-tasks)"
            ),
        }
    }
    args
}

/// This thread's time on a CPU (Linux `/proc/thread-self/schedstat`,
/// nanoseconds), to give rates per CPU-second beside the wall-clock ones
/// when other work shares the cores; `None` elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Per task of `range`, a correct response and one with a value flipped.
fn responses_for(tasks: &[Task], range: std::ops::Range<usize>) -> Vec<(usize, String)> {
    range
        .flat_map(|i| {
            let t = &tasks[i];
            let think = reasoning(t);
            let good = format!("{think}</think>\n<answer>\n{}\n</answer>", t.answer.trim());
            let bad = format!(
                "{think}</think>\n<answer>\n{}\n</answer>",
                flip_one(t.answer.trim())
            );
            [(i, good), (i, bad)]
        })
        .collect()
}

fn gen_one(g: &dyn TaskGenerator, level: Level, i: u64) -> Task {
    let label = format!("bench/{}/{}", g.kind(), level.0);
    let mut rng = item_rng(7, &label, i);
    g.generate(level, i, &mut rng).expect("generation failed")
}

fn main() {
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let args = parse_args();
    let budget = Duration::from_secs_f64(args.secs);
    let threads = rayon::current_num_threads();
    let mut task_kinds: Vec<String> = kinds(Slot::Task);
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
        "| task | level | puzzles/s (1 thread) | puzzles/s ({threads} threads) | verified responses/s (1 thread) | per CPU-second | paper's reward, responses/s | ratio | first sight, responses/s (per CPU-second) × paper | response bytes (mean) | generator note |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for kind in &task_kinds {
        let g = match default_task_source(kind) {
            Ok(g) => g,
            Err(e) => {
                println!("| {kind} | - | - | - | - | - | - | - | - | - | cannot build: {e} |");
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
            while tasks.is_empty() || (start.elapsed() < budget && tasks.len() < args.max_tasks) {
                tasks.push(gen_one(g.as_ref(), level, tasks.len() as u64));
            }
            let single = tasks.len() as f64 / start.elapsed().as_secs_f64();
            // All cores: about the same wall time.
            let n = if args.verify_only {
                0
            } else {
                ((single * args.secs * threads as f64) as u64).max(threads as u64)
            };
            let start = Instant::now();
            let par: Vec<Task> = (0..n)
                .into_par_iter()
                .map(|i| gen_one(g.as_ref(), level, 1_000_000 + i))
                .collect();
            let parallel = par.len() as f64 / start.elapsed().as_secs_f64();
            // Verification: per task a correct and a flipped response.
            let warm_n = args.verify_tasks.max(1).min(tasks.len());
            let responses = responses_for(&tasks, 0..warm_n);
            let mean_len =
                responses.iter().map(|(_, r)| r.len()).sum::<usize>() / responses.len().max(1);
            // Check once that the verdicts are what the responses are.
            for (k, (i, r)) in responses.iter().enumerate() {
                let v = verifier.verify(&tasks[*i], r);
                assert!(
                    v.format_ok,
                    "{kind} level {level}: malformed bench response"
                );
                assert_eq!(
                    v.is_correct(),
                    k % 2 == 0,
                    "{kind} level {level}: unexpected verdict {v:?}"
                );
            }
            // First sight: the same loop, but each pass starts with the
            // per-task caches void (deduction's prepared puzzles), so each
            // task's first response pays for reading its ground truth: two
            // rollouts of a prompt, never seen before.
            let cold_cpu = thread_cpu_time();
            let start = Instant::now();
            let mut cold_verified = 0u64;
            while cold_verified == 0 || start.elapsed() < budget {
                metaalign_tasks::deduction::clear_puzzle_cache();
                for (i, r) in &responses {
                    std::hint::black_box(verifier.verify(&tasks[*i], r));
                    cold_verified += 1;
                }
            }
            let cold_wall = cold_verified as f64 / start.elapsed().as_secs_f64();
            let cold_ratio = match paper_verify(kind, level.0) {
                Some(paper) => format!(" ×{:.0}", cold_wall / paper),
                None => String::new(),
            };
            let cold = match (cold_cpu, thread_cpu_time()) {
                (Some(a), Some(b)) if b > a => format!(
                    "{cold_wall:.0} ({:.0}){cold_ratio}",
                    cold_verified as f64 / (b - a).as_secs_f64()
                ),
                _ => format!("{cold_wall:.0}{cold_ratio}"),
            };
            let cpu_start = thread_cpu_time();
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
            let cpu_rate = match (cpu_start, thread_cpu_time()) {
                (Some(a), Some(b)) if b > a => {
                    format!("{:.0}", verified as f64 / (b - a).as_secs_f64())
                }
                _ => "—".to_string(),
            };
            assert_eq!(correct * 2, verified, "{kind} level {level}");
            let vnote = match paper_verify(kind, level.0) {
                Some(paper) => format!("{paper:.0} | ×{:.0}", vrate / paper),
                None => "— | ".to_string(),
            };
            let note = if kind == "deduction" && (1..=5).contains(&level.0) {
                let paper = PAPER_DEDUCTION[level.0 as usize - 1];
                format!("paper {paper}/s; ×{:.0}", single / paper)
            } else {
                String::new()
            };
            println!(
                "| {kind} | {} | {single:.1} | {parallel:.1} | {vrate:.0} | {cpu_rate} | {vnote} | {cold} | {mean_len} | {note} |",
                level.0
            );
        }
    }
}
