//! The example pipelines parse, plan and validate (`metaalign run --dry-run`)
//! on any machine, with the model names the report promises.

use std::path::{Path, PathBuf};

use metaalign::core::pipeline::{self, Pipeline, RunOptions};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/pipelines")
        .join(name)
}

fn dry_run(name: &str) -> pipeline::Plan {
    metaalign::install_default_plugins().unwrap();
    let p = Pipeline::from_file(example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    pipeline::dry_run(&p, &RunOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn quickstart_plans_the_three_stage_recipe() {
    let plan = dry_run("quickstart.toml");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let stages: Vec<(&str, &str)> = plan
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.kind.as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            ("warmup", "sft"),
            ("deduction", "align"),
            ("induction", "align"),
            ("abduction", "align"),
            ("merged", "merge"),
            ("merged-search", "merge_search"),
            ("domain-rl-meta", "domain_rl"),
            ("domain-rl-ins", "domain_rl"),
            ("eval", "evaluate"),
        ]
    );
    // The evaluation reads every model the report names (the oracle is computed).
    let eval = plan.stages.last().unwrap();
    let mut roles: Vec<&str> = eval.inputs.iter().map(|i| i.role.as_str()).collect();
    roles.sort_unstable();
    assert_eq!(
        roles,
        [
            "models.abduction",
            "models.deduction",
            "models.domain-rl-ins",
            "models.domain-rl-meta",
            "models.induction",
            "models.merged",
            "models.merged-search",
            "models.warmup",
        ]
    );
    let text = std::fs::read_to_string(example("quickstart.toml")).unwrap();
    assert!(text.contains("oracle = [\"deduction\", \"induction\", \"abduction\"]"));
    // the claims name its models (validated by the dry run above)
    assert!(text.contains("claims = { warm_start = \"warmup\""));
    // the merge uses the paper's weights
    assert!(
        text.contains("weight = 1.0")
            && text.contains("weight = 0.2")
            && text.contains("weight = 0.1")
    );
}

#[test]
fn paper_pipeline_validates_with_a_missing_model_as_a_warning() {
    let plan = dry_run("paper-qwen2.5-7b.toml");
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("Qwen2.5-7B-Instruct")),
        "{:?}",
        plan.warnings
    );
    assert!(plan
        .policy
        .as_deref()
        .unwrap_or("")
        .contains("HF checkpoint"));
    let kinds: Vec<&str> = plan.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "align").count(), 3);
    assert!(
        kinds.contains(&"merge") && kinds.contains(&"domain_rl") && kinds.contains(&"evaluate")
    );
    // the paper's published settings are what the file says
    let text = std::fs::read_to_string(example("paper-qwen2.5-7b.toml")).unwrap();
    for needle in [
        "learning_rate = 5e-7",
        "samples_per_prompt = 4",
        "temperature = 0.7",
        "kl_coef = 0.001",
        "kl_estimator = \"k3\"",
        "levels = [1, 2]",
        "count = 200",
        "kind = \"grpo\"",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
}

#[test]
fn plugins_pipeline_uses_the_plugin_kinds() {
    let plan = dry_run("plugins.toml");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let text = std::fs::read_to_string(example("plugins.toml")).unwrap();
    for kind in ["length_penalty", "median", "arithmetic"] {
        assert!(text.contains(&format!("kind = \"{kind}\"")), "{kind}");
    }
    assert_eq!(plan.stages.len(), 5);
}

#[test]
fn plugin_kinds_are_registered_through_the_public_registry() {
    metaalign::install_default_plugins().unwrap();
    use metaalign::core::registry::{find, Slot};
    for (slot, kind) in [
        (Slot::Task, "arithmetic"),
        (Slot::Merge, "median"),
        (Slot::Reward, "length_penalty"),
        (Slot::Stage, "evaluate"),
        (Slot::Stage, "merge_search"),
    ] {
        let reg = find(slot, kind).unwrap_or_else(|| panic!("{slot} kind {kind} not registered"));
        metaalign::core::registry::check_example(&reg).unwrap();
    }
    // the arithmetic domain's verifier is found from a task record's kind
    let verifier = metaalign::core::config::verifier_for_kind("arithmetic").unwrap();
    let source = metaalign::core::config::default_task_source("arithmetic").unwrap();
    let task = source
        .generate(
            metaalign::Level(1),
            0,
            &mut metaalign::core::seed::item_rng(1, "x", 0),
        )
        .unwrap();
    let ok = verifier.verify(
        &task,
        &format!("</think><answer>\\boxed{{{}}}</answer>", task.answer),
    );
    assert!(ok.is_correct(), "{ok:?}");
}

#[test]
fn math_domain_plans_stage_c_and_table_1_on_the_samples() {
    let plan = dry_run("math-domain.toml");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let stages: Vec<(&str, &str)> = plan
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.kind.as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            ("warmup", "sft"),
            ("domain-rl", "domain_rl"),
            ("eval", "evaluate")
        ]
    );
    let eval = plan.stages.last().unwrap();
    assert_eq!(eval.tasks, ["math500", "aime", "gpqa"]);
    // Every file the pipeline names ships with the project.
    let text = std::fs::read_to_string(example("math-domain.toml")).unwrap();
    for file in [
        "math-train.jsonl",
        "math500-sample.jsonl",
        "aime-sample.jsonl",
        "gpqa-sample.jsonl",
    ] {
        assert!(text.contains(file), "{file}");
        assert!(example("../data").join(file).is_file(), "{file}");
    }
    for source in ["math500", "aime", "gpqa"] {
        let f = example("../data/responses/reference").join(format!("{source}.jsonl"));
        assert!(f.is_file(), "{}", f.display());
    }
}

#[test]
fn code_domain_plans_training_and_evaluation() {
    let plan = dry_run("code-domain.toml");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let stages: Vec<(&str, &str)> = plan
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.kind.as_str()))
        .collect();
    assert_eq!(stages, [("domain-rl", "domain_rl"), ("eval", "evaluate")]);
    assert_eq!(plan.stages.last().unwrap().tasks, ["code"]);
    let text = std::fs::read_to_string(example("code-domain.toml")).unwrap();
    for file in ["code-train.jsonl", "livecodebench-sample.jsonl"] {
        assert!(text.contains(file), "{file}");
        assert!(example("../data").join(file).is_file(), "{file}");
    }
    assert!(example("../data/responses/reference/code.jsonl").is_file());
}

#[test]
fn every_example_pipeline_plans() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipelines");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            name.ends_with(".toml").then_some(name)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        dry_run(name);
    }
}

#[test]
fn rl_sweep_compares_the_five_algorithms_on_one_warm_start() {
    let plan = dry_run("rl-sweep.toml");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let aligned: Vec<&str> = plan
        .stages
        .iter()
        .filter(|s| s.kind == "align")
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(aligned, ["reinforce_pp", "grpo", "dr_grpo", "dapo", "gspo"]);
    let text = std::fs::read_to_string(example("rl-sweep.toml")).unwrap();
    for kind in ["reinforce_pp", "grpo", "dr_grpo", "dapo", "gspo"] {
        assert!(
            text.contains(&format!("kind = \"{kind}\", learning_rate = 0.0001")),
            "{kind}"
        );
    }
    assert_eq!(text.matches("max_rollouts = 13312").count(), 5);
}
