//! The training stages run end to end through the pipeline runner on a tiny
//! fresh model and real puzzles, and the evidence pipeline plans.

use std::path::Path;

use metaalign_core::pipeline::{self, Pipeline, RunOptions, StageStatus};

fn link() {
    metaalign_core::registry::ensure(&metaalign_rl::RlPlugin).unwrap();
    // The evidence pipeline's second task is the arithmetic plugin domain.
    metaalign_core::registry::ensure(&metaalign_domain_arithmetic::ArithmeticPlugin).unwrap();
}

#[test]
fn sft_align_and_domain_rl_stages_chain_and_output_models() {
    link();
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
[run]
name = "chain"
out_dir = "runs"
seed = 3

[policy]
kind = "fresh"
preset = "tiny"

[tasks.induction]
kind = "short_prompt"
inner = { kind = "induction" }

[[stages]]
name = "warmup"
kind = "sft"
from = "policy"
tasks = ["induction"]
trainer = { kind = "sft", batch_size = 4, steps_per_level = 3, learning_rate = 0.003, rationale = false }

[[stages]]
name = "spec"
kind = "align"
from = "warmup.model"
task = "induction"
levels = [1]
trainer = { kind = "reinforce_pp", prompts_per_step = 2, samples_per_prompt = 2, max_new_tokens = 8, steps_per_level = 2 }

[[stages]]
name = "domain"
kind = "domain_rl"
from = "spec.model"
tasks = ["induction"]
trainer = { kind = "grpo", prompts_per_step = 2, samples_per_prompt = 2, max_new_tokens = 8, steps_per_level = 1 }
"#;
    let p = Pipeline::parse(text, "chain.toml", tmp.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let summary = rt
        .block_on(pipeline::run(&p, &RunOptions::default()))
        .unwrap();
    for (stage, steps) in [("warmup", 3), ("spec", 2), ("domain", 1)] {
        assert_eq!(
            summary.stage(stage).unwrap().status,
            StageStatus::Ran,
            "{stage}"
        );
        let dir = summary.run_dir.join(stage);
        assert!(dir.join("model/config.json").is_file(), "{stage}: no model");
        let n = std::fs::read_to_string(dir.join("steps.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(n, steps, "{stage}");
    }
    let metrics = std::fs::read_to_string(summary.run_dir.join("metrics.jsonl")).unwrap();
    assert!(metrics
        .lines()
        .any(|l| l.contains("\"stage\":\"spec\"") && l.contains("\"reward\"")));
    // A second run finds every stage up to date.
    let again = rt
        .block_on(pipeline::run(&p, &RunOptions::default()))
        .unwrap();
    assert_eq!(again.stage("domain").unwrap().status, StageStatus::Skipped);
}

#[test]
fn the_evidence_pipeline_plans() {
    link();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pipelines/rl-evidence.toml");
    let p = Pipeline::from_file(&path).unwrap();
    let plan = pipeline::dry_run(&p, &RunOptions::default()).unwrap();
    let kinds: Vec<&str> = plan.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "sft",
            "sft",
            "align",
            "domain_rl",
            "sft",
            "sft",
            "evaluate",
            "evaluate",
            "evaluate"
        ]
    );
    // Every model of an ability is scored in one stage, on the same tasks.
    let test_induction = plan
        .stages
        .iter()
        .find(|s| s.name == "test_induction")
        .expect("a test_induction stage");
    let inputs: Vec<&str> = test_induction
        .inputs
        .iter()
        .map(|i| i.reference.as_str())
        .collect();
    assert_eq!(
        inputs.len(),
        3,
        "warm start, reinforce_pp and its control: {inputs:?}"
    );
}

#[test]
fn stage_config_errors_name_the_problem() {
    link();
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
[run]
name = "bad"
[policy]
kind = "fresh"
[tasks.induction]
kind = "induction"
[[stages]]
name = "warmup"
kind = "sft"
from = "policy"
tasks = ["induction"]
trainer = { kind = "grpo" }
"#;
    let p = Pipeline::parse(text, "bad.toml", tmp.path()).unwrap();
    let err = pipeline::dry_run(&p, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("grpo") && err.contains("sft"), "{err}");
}
