//! Benchmark of the `code` checker: tests per second over a problem file
//! and labelled responses at a given parallelism, per-sample verdicts (for
//! comparison with LiveCodeBench's `testing_util`, see
//! `scripts/code_bench.sh`), and the per-test overheads: interpreter
//! start-up, the sandbox's isolation, the harness.
//!
//! ```sh
//! cargo run --release -p metaalign-domain-code --example bench_code -- \
//!     --data examples/data/livecodebench-sample.jsonl \
//!     --responses examples/data/responses/code-sample.jsonl \
//!     --concurrency 2 --repeat 5 --out target/code-bench/ours.json
//! ```

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use metaalign_core::{TaskContext, TaskGenerator};
use metaalign_domain_code::extract::blocks;
use metaalign_domain_code::runner::HARNESS;
use metaalign_domain_code::sandbox::Line;
use metaalign_domain_code::{
    run_tests, CodeConfig, CodeTasks, Mode, Problem, RunOptions, TestCase,
};
use serde_json::{json, Value};

struct Args {
    data: PathBuf,
    responses: PathBuf,
    concurrency: usize,
    repeat: usize,
    out: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        data: "examples/data/livecodebench-sample.jsonl".into(),
        responses: "examples/data/responses/code-sample.jsonl".into(),
        concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        repeat: 3,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => a.data = value.into(),
            "--responses" => a.responses = value.into(),
            "--concurrency" => a.concurrency = value.parse().expect("--concurrency N"),
            "--repeat" => a.repeat = value.parse().expect("--repeat N"),
            "--out" => a.out = Some(value.into()),
            _ => panic!("unknown flag {flag}"),
        }
    }
    a
}

fn mean_ms(samples: &[Duration]) -> f64 {
    samples.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / samples.len().max(1) as f64
}

fn main() {
    let a = args();
    let config = CodeConfig {
        path: Some(a.data.clone()),
        concurrency: a.concurrency,
        ..CodeConfig::default()
    };
    let tasks = CodeTasks::load(&config, &TaskContext::default()).expect("reads the data");
    let verifier = tasks.code_verifier().clone();
    let sandbox = verifier.sandbox().expect("the sandbox").clone();
    let by_id: std::collections::HashMap<&str, &metaalign_core::Task> = tasks
        .fixed_tasks()
        .unwrap()
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect();
    let text = std::fs::read_to_string(&a.responses).expect("reads the responses");
    let mut work = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let response = v["response"].as_str().unwrap_or("").to_string();
        // Only responses with a code block: LiveCodeBench has nothing to run
        // for the others.
        if blocks(&response).is_empty() {
            continue;
        }
        let id = v["id"].as_str().unwrap_or("").to_string();
        if by_id.contains_key(id.as_str()) {
            work.push((n, id, response));
        }
    }

    // Overheads, one program at a time.
    let interp = sandbox.interpreter().to_path_buf();
    let mut bare = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let ok = Command::new(&interp)
            .args(["-I", "-S", "-c", "pass"])
            .env_clear()
            .stdin(Stdio::null())
            .status()
            .expect("runs python");
        assert!(ok.success());
        bare.push(t.elapsed());
    }
    let mut isolated = Vec::new();
    let scratch = tempfile::tempdir().unwrap();
    for _ in 0..20 {
        let slot = sandbox.slot();
        let t = Instant::now();
        let args: Vec<OsString> = vec!["-I".into(), "-S".into(), "-c".into(), "print(1)".into()];
        let mut run = sandbox
            .spawn(&slot, scratch.path(), &args, 5, false)
            .expect("spawns");
        let line = run.next_line(Instant::now() + Duration::from_secs(10), &|| false);
        assert_eq!(line, Line::Text(b"1".to_vec()));
        run.finish();
        isolated.push(t.elapsed());
    }
    let trivial = |n: usize| Problem {
        mode: Mode::Stdin,
        tests: (0..n)
            .map(|i| TestCase {
                input: format!("{i}\n"),
                output: format!("{i}\n"),
            })
            .collect(),
        fn_name: None,
        test_code: None,
        entry_point: None,
        prefix_code: None,
        public: 0,
    };
    let opts = RunOptions::default();
    let mut one = Vec::new();
    let mut many = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        assert!(run_tests(&sandbox, &trivial(1), "print(input())", &opts, &|| false).all_passed());
        one.push(t.elapsed());
        let t = Instant::now();
        assert!(run_tests(&sandbox, &trivial(21), "print(input())", &opts, &|| false).all_passed());
        many.push(t.elapsed());
    }
    let per_test = (mean_ms(&many) - mean_ms(&one)) / 20.0;
    let _ = HARNESS.len();

    // The workload, `repeat` times, on `concurrency` threads.
    let items: Vec<(usize, usize)> = (0..a.repeat)
        .flat_map(|r| (0..work.len()).map(move |i| (r, i)))
        .collect();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.concurrency {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(rep, i)) = items.get(k) else { break };
                let (line, id, response) = &work[i];
                let task = by_id[id.as_str()];
                let (passed, tests_run, detail) = match verifier.run(task, response) {
                    Ok((_, report)) => {
                        let run = match report.first_failure() {
                            Some((j, _)) => j + 1,
                            None => report.total,
                        };
                        let why = report.first_failure().map(|(_, w)| w.to_string());
                        (report.all_passed(), run, why)
                    }
                    Err((_, why)) => (false, 0, Some(why)),
                };
                results.lock().unwrap().push(json!({
                    "repeat": rep, "line": line + 1, "id": id, "passed": passed,
                    "tests_run": tests_run, "detail": detail,
                }));
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| (r["repeat"].as_u64(), r["line"].as_u64()));
    let tests: u64 = results
        .iter()
        .map(|r| r["tests_run"].as_u64().unwrap_or(0))
        .sum();
    let summary = json!({
        "checker": "metaalign",
        "isolation": format!("{:?}", sandbox.isolation()),
        "concurrency": a.concurrency,
        "samples": results.len(),
        "tests": tests,
        "seconds": seconds,
        "tests_per_s": tests as f64 / seconds,
        "samples_per_s": results.len() as f64 / seconds,
        "overhead_ms": {
            "bare_python_start": mean_ms(&bare),
            "isolated_python_start": mean_ms(&isolated),
            "isolation": mean_ms(&isolated) - mean_ms(&bare),
            "sample_with_1_test": mean_ms(&one),
            "per_extra_test": per_test,
        },
    });
    println!("{}", serde_json::to_string_pretty(&summary).unwrap());
    if let Some(out) = &a.out {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let doc = json!({"summary": summary, "verdicts": results});
        std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
}
