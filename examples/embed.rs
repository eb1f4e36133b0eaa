//! Embedding metaalign as a library: the three-stage recipe built and run
//! in code — generators, verifiers, trainers, a merger and the evaluation —
//! without any TOML.
//!
//! ```text
//! cargo run --release --example embed -- [OUT_DIR]    # default runs/embed
//! ```
//!
//! Sizes are tiny so it finishes in a few minutes on a laptop CPU; the
//! numbers it prints are real measurements of that run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use metaalign::core::merge::{MergeInputs, MergeModel, MergeOptions};
use metaalign::core::pipeline::{CancelFlag, MetricsSink};
use metaalign::core::{HoldOut, Level, TrainerConfig};
use metaalign::core::{MergeConfig, Policy, RewardScheme, TaskConfig, TaskGenerator, TrainInputs};
use metaalign::merge::methods::LinearConfig;
use metaalign::rl::eval::report::{build_rows, EvalSettings, ModelResults, Report, TableSpec};
use metaalign::rl::eval::{build_sets, evaluate_policy, EvalOptions, Split};
use metaalign::rl::policy::{device_from_str, FreshPolicyConfig, QwenPolicy};
use metaalign::rl::trainer::{GrpoConfig, ReinforcePpConfig, RlSettings, SftConfig, SftSettings};
use metaalign::tasks::deduction::DeductionConfig;
use metaalign::tasks::{BinaryReward, PaperReward};
use metaalign_domain_arithmetic::ArithmeticConfig;

const SEED: u64 = 7;

/// Trains `trainer` from `start` on `tasks` into `out`; returns the final checkpoint.
async fn train(
    trainer: &dyn TrainerConfig,
    start: &Path,
    tasks: &[(&str, &Arc<dyn TaskGenerator>)],
    reward: Arc<dyn RewardScheme>,
    out: &Path,
    metrics: &MetricsSink,
    cancel: &CancelFlag,
) -> anyhow::Result<PathBuf> {
    let trainer = trainer.build()?;
    let output = trainer
        .train(TrainInputs {
            start: start.to_path_buf(),
            tasks: tasks
                .iter()
                .map(|(n, g)| (n.to_string(), Arc::clone(g)))
                .collect(),
            levels: vec![Level(1)],
            reward,
            out_dir: out.to_path_buf(),
            seed: SEED,
            holdout: HoldOut::default(),
            device: "cpu".into(),
            metrics: metrics.for_stage(out.file_name().unwrap_or_default().to_string_lossy()),
            cancel: cancel.clone(),
        })
        .await?;
    println!(
        "trained {} ({} steps) -> {}",
        trainer.kind(),
        output.steps,
        output.checkpoint.display()
    );
    Ok(output.checkpoint)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Registrations of built-in kinds and plugins (only needed for configs
    // read from text; harmless here).
    metaalign::install_default_plugins()?;
    let out: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("runs/embed"));
    std::fs::create_dir_all(&out)?;
    let metrics = MetricsSink::open(&out.join("metrics.jsonl"), "embed")?;
    let cancel = CancelFlag::default();

    // 1. A fresh tiny policy (character tokenizer, ~0.1M parameters).
    let base = out.join("base");
    if !base.join("config.json").is_file() {
        let policy = FreshPolicyConfig::default().build(SEED, "cpu")?;
        println!("fresh policy: {} parameters", policy.num_parameters());
        policy.save(&base)?;
    }

    // 2. Task generators (each knows its verifier): a meta-ability and the
    //    arithmetic domain from the plugin crate.
    let deduction: Arc<dyn TaskGenerator> = DeductionConfig::default().build()?;
    let arithmetic: Arc<dyn TaskGenerator> = ArithmeticConfig::default().build()?;

    // 3. Supervised warm-up on both.
    let sft = SftConfig(SftSettings {
        learning_rate: Some(2e-3),
        batch_size: 8,
        steps_per_level: 60,
        ..SftSettings::default()
    });
    let warmup = train(
        &sft,
        &base,
        &[("deduction", &deduction), ("arithmetic", &arithmetic)],
        Arc::new(PaperReward::default()),
        &out.join("warmup"),
        &metrics,
        &cancel,
    )
    .await?;

    // 4. Stage A: a deduction specialist (REINFORCE++, paper reward).
    let rl = RlSettings {
        learning_rate: Some(2e-4),
        prompts_per_step: 4,
        samples_per_prompt: 4,
        max_new_tokens: 96,
        steps_per_level: 4,
        ..RlSettings::default()
    };
    let specialist = train(
        &ReinforcePpConfig(rl.clone()),
        &warmup,
        &[("deduction", &deduction)],
        Arc::new(PaperReward::default()),
        &out.join("deduction"),
        &metrics,
        &cancel,
    )
    .await?;

    // 5. Stage B: merge the specialist with the warm-up model (linear 1.0 / 0.2).
    let merged = out.join("merged");
    if !merged.join("config.json").is_file() {
        let merger = LinearConfig::default().build()?;
        let summary = merger
            .merge(&MergeInputs {
                models: vec![
                    MergeModel::new("deduction", &specialist).with_param("weight", 1.0),
                    MergeModel::new("warmup", &warmup).with_param("weight", 0.2),
                ],
                base: None,
                out: merged.clone(),
                seed: SEED,
                options: MergeOptions::default(),
            })
            .await?;
        println!(
            "merged {} tensors in {:.2}s",
            summary.tensors, summary.seconds
        );
    }

    // 6. Stage C: GRPO with the binary reward on the arithmetic domain.
    let domain = train(
        &GrpoConfig(rl),
        &merged,
        &[("arithmetic", &arithmetic)],
        Arc::new(BinaryReward::default()),
        &out.join("domain"),
        &metrics,
        &cancel,
    )
    .await?;

    // 7. Evaluate every model on held-out tasks and print the report.
    let opts = EvalOptions {
        count: 20,
        levels: Some(vec![1]),
        max_new_tokens: 96,
        seed: SEED,
        ..EvalOptions::default()
    };
    let sources = vec![
        ("deduction".to_string(), deduction.clone()),
        ("arithmetic".to_string(), arithmetic.clone()),
    ];
    let sets = build_sets(&sources, &opts, Split::Test)?;
    let device = device_from_str("cpu")?;
    let mut all: Vec<(String, ModelResults)> = Vec::new();
    for (name, dir) in [
        ("base", &base),
        ("warmup", &warmup),
        ("deduction", &specialist),
        ("merged", &merged),
        ("domain-rl", &domain),
    ] {
        let mut policy = QwenPolicy::load(dir, &device)?;
        let results = evaluate_policy(&mut policy, &sets, &opts, &cancel, |_| {})?;
        all.push((name.to_string(), results));
    }
    let report = Report {
        results: build_rows(&all, &["warmup".into(), "deduction".into()])?,
        models: BTreeMap::new(),
        settings: EvalSettings {
            count: opts.count,
            levels: vec![1],
            avg_k: 0,
            temperature: opts.temperature,
            top_p: opts.top_p,
            max_new_tokens: opts.max_new_tokens,
            seed: SEED,
            fixed: Default::default(),
        },
        tables: vec![TableSpec::new(
            "Greedy pass@1 (%), held-out level 1",
            [
                "base",
                "warmup",
                "deduction",
                "merged",
                "oracle",
                "domain-rl",
            ]
            .map(String::from)
            .to_vec(),
            vec!["deduction".into(), "arithmetic".into()],
        )],
        comparisons: Vec::new(),
        claims: None,
        extra: BTreeMap::new(),
    };
    report.write_json(&out.join("report.json"))?;
    println!("\n{}", report.to_markdown());
    Ok(())
}
