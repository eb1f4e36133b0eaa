//! A miniature of the quickstart recipe, run through the pipeline runner on
//! a real tiny model: warm-up, a stage-A specialist, a merge, stage C from
//! the merged and the warm-up model, evaluation. The first run is
//! interrupted in the middle of the specialist's training; running again
//! resumes it and completes, and the report holds every promised row.

use std::path::Path;
use std::time::Duration;

use metaalign::core::pipeline::{self, CancelFlag, Pipeline, RunOptions, StageStatus};

const PIPELINE: &str = r#"
[run]
name = "mini"
out_dir = "runs"
seed = 3
device = "cpu"

[policy]
kind = "fresh"
preset = "tiny"

[tasks.induction]
kind = "induction"

[tasks.arithmetic]
kind = "arithmetic"
max_level = 2

[[stages]]
name = "warmup"
kind = "sft"
from = "policy"
tasks = ["induction", "arithmetic"]
levels = [1]
trainer = { kind = "sft", learning_rate = 0.003, batch_size = 4, steps_per_level = 4, rationale = false, checkpoint_every = 2 }

[[stages]]
name = "induction"
kind = "align"
from = "warmup.model"
task = "induction"
levels = [1]
trainer = { kind = "reinforce_pp", learning_rate = 0.0003, prompts_per_step = 2, samples_per_prompt = 2, max_new_tokens = 8, steps_per_level = 6, checkpoint_every = 1 }

[[stages]]
name = "merged"
kind = "merge"
models = [{ from = "induction.model", weight = 1.0 }, { from = "warmup.model", weight = 0.2 }]
method = { kind = "linear" }

[[stages]]
name = "domain-rl-meta"
kind = "domain_rl"
from = "merged.model"
tasks = ["arithmetic"]
levels = [1]
trainer = { kind = "grpo", learning_rate = 0.0003, prompts_per_step = 2, samples_per_prompt = 2, max_new_tokens = 6, steps_per_level = 2 }

[[stages]]
name = "domain-rl-ins"
kind = "domain_rl"
from = "warmup.model"
tasks = ["arithmetic"]
levels = [1]
trainer = { kind = "grpo", learning_rate = 0.0003, prompts_per_step = 2, samples_per_prompt = 2, max_new_tokens = 6, steps_per_level = 2 }

[[stages]]
name = "eval"
kind = "evaluate"
models = { warmup = "warmup.model", induction = "induction.model", merged = "merged.model", domain-rl-ins = "domain-rl-ins.model", domain-rl-meta = "domain-rl-meta.model" }
tasks = ["induction", "arithmetic"]
levels = [1]
count = 3
avg_k = 2
max_new_tokens = 8
oracle = ["induction", "warmup"]
tables = [
  { title = "meta", models = ["warmup", "induction", "merged", "oracle"], tasks = ["induction"] },
  { title = "domain", models = ["warmup", "domain-rl-ins", "domain-rl-meta"], tasks = ["arithmetic"] },
]
claims = { warm_start = "warmup", specialists = { induction = "induction" }, merged = "merged", domain = { task = "arithmetic", meta = "domain-rl-meta", ins = "domain-rl-ins" } }
"#;

/// Steps the `induction` stage has logged so far.
fn induction_steps(run_dir: &Path) -> usize {
    std::fs::read_to_string(run_dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"stage\":\"induction\"") && l.contains("\"step\""))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miniature_recipe_interrupted_and_resumed_to_completion() {
    metaalign::install_default_plugins().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mini.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let p = Pipeline::from_file(&file).unwrap();
    let run_dir = p.run_dir();

    // First run: cancel once the specialist has logged two steps.
    let cancel = CancelFlag::default();
    let watcher = {
        let cancel = cancel.clone();
        let run_dir = run_dir.clone();
        std::thread::spawn(move || {
            for _ in 0..6000 {
                if induction_steps(&run_dir) >= 2 {
                    cancel.cancel();
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        })
    };
    let first = pipeline::run(
        &p,
        &RunOptions {
            cancel: cancel.clone(),
            ..RunOptions::default()
        },
    )
    .await;
    assert!(
        watcher.join().unwrap(),
        "the specialist never logged two steps"
    );
    let err = first.expect_err("the first run was interrupted");
    assert!(err.to_string().contains("interrupted"), "{err}");
    let steps_before = induction_steps(&run_dir);
    assert!(
        steps_before < 6,
        "interrupted too late ({steps_before} steps)"
    );
    assert!(
        std::fs::read_to_string(run_dir.join("report.md"))
            .unwrap()
            .contains("interrupted"),
        "report.md says the run was interrupted"
    );

    // Second run: the warm-up is skipped, the specialist resumes.
    let summary = pipeline::run(&p, &RunOptions::default()).await.unwrap();
    let status = |name: &str| summary.stage(name).unwrap().status.clone();
    assert_eq!(status("warmup"), StageStatus::Skipped);
    for name in [
        "induction",
        "merged",
        "domain-rl-meta",
        "domain-rl-ins",
        "eval",
    ] {
        assert_eq!(status(name), StageStatus::Ran, "{name}");
    }
    // the resumed stage did not start over: 6 steps logged in all, each once
    let records: Vec<serde_json::Value> = std::fs::read_to_string(run_dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r["stage"] == "induction" && r.get("step").is_some())
        .collect();
    let mut steps: Vec<u64> = records.iter().filter_map(|r| r["step"].as_u64()).collect();
    steps.sort_unstable();
    steps.dedup();
    assert_eq!(steps.len(), 6, "steps {steps:?}");

    // report.json: every model, per level and over all levels, plus the oracle
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    let rows = report["results"].as_array().unwrap();
    for model in [
        "warmup",
        "induction",
        "merged",
        "domain-rl-ins",
        "domain-rl-meta",
        "oracle",
    ] {
        for task in ["induction", "arithmetic"] {
            let row = rows
                .iter()
                .find(|r| r["model"] == model && r["task"] == task && r["level"].is_null())
                .unwrap_or_else(|| panic!("no all-level row for {model} / {task}"));
            let acc = row["accuracy"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&acc));
            assert!(rows
                .iter()
                .any(|r| r["model"] == model && r["task"] == task && r["level"] == 1));
        }
    }
    let warmup = rows
        .iter()
        .find(|r| r["model"] == "warmup" && r["task"] == "arithmetic" && r["level"].is_null())
        .unwrap();
    assert_eq!(warmup["n"], 3);
    assert_eq!(warmup["k"], 2);
    assert!(warmup["avg_at_k"].is_number() && warmup["pass_at_k"].is_number());
    assert!(warmup["format_ok"].is_number() && warmup["mean_length"].is_number());

    // report.md has the tables, the charts exist
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(md.contains("### meta") && md.contains("### domain"), "{md}");
    assert!(md.contains("| oracle |"), "{md}");
    // the claims summary opens the run's report, before the stage table
    let claims = md
        .find("## Summary (stage `eval`)")
        .expect("claims summary");
    assert!(
        md[claims..].starts_with("## Summary (stage `eval`)\n\n### Claims"),
        "{md}"
    );
    assert!(claims < md.find("| # | stage |").unwrap(), "{md}");
    assert_eq!(md.matches("### Claims").count(), 1, "{md}");
    for line in [
        "1. Specialists gain on their own ability: induction ",
        "2. The merge keeps the gains: merged ",
        "3. Domain RL from the merge (domain-rl-meta) vs from the warm start (domain-rl-ins) on arithmetic: ",
    ] {
        assert!(md.contains(line), "{line}\n{md}");
    }
    let comparisons = report["comparisons"].as_array().unwrap();
    let domain = comparisons
        .iter()
        .find(|c| c["model"] == "domain-rl-meta" && c["baseline"] == "domain-rl-ins")
        .unwrap();
    assert_eq!(domain["n"], 3);
    assert_eq!(domain["stage"], "eval");
    assert!(run_dir.join("eval/accuracy-1.png").is_file());
    assert!(run_dir.join("eval/accuracy-2.png").is_file());
    assert!(run_dir.join("eval/curves-induction.png").is_file());

    // A third run does nothing: everything is up to date.
    let again = pipeline::run(&p, &RunOptions::default()).await.unwrap();
    assert!(again
        .stages
        .iter()
        .all(|s| s.status == StageStatus::Skipped));
}
