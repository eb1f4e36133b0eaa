//! RL throughput benchmark: rollout tokens/s and update seconds per step
//! of `reinforce_pp` and `grpo` (and SFT step seconds) on a fresh model,
//! with real induction puzzles (short prompts).
//!
//! ```text
//! cargo run --release -p metaalign-rl --example bench_rl -- [preset] [steps]
//! ```
//! `preset` is `tiny` (default) or `small`; `steps` defaults to 4.

use std::collections::BTreeMap;
use std::sync::Arc;

use metaalign_core::pipeline::{CancelFlag, MetricsSink};
use metaalign_core::{Level, Policy, TaskConfig, TrainInputs, TrainerConfig};
use metaalign_rl::policy::FreshPolicyConfig;
use metaalign_rl::trainer::short_prompt::ShortPromptConfig;
use metaalign_rl::trainer::Layout;

fn mean(records: &[serde_json::Value], key: &str) -> f64 {
    let v: Vec<f64> = records
        .iter()
        .filter_map(|r| r.get(key)?.as_f64())
        .collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() -> metaalign_core::Result<()> {
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let args: Vec<String> = std::env::args().collect();
    let preset = args.get(1).cloned().unwrap_or_else(|| "tiny".into());
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let tmp = std::env::temp_dir().join(format!("metaalign-bench-rl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let start = tmp.join("start");
    let policy = FreshPolicyConfig {
        preset: Some(preset.clone()),
        ..FreshPolicyConfig::default()
    }
    .build(1, "cpu")?;
    let params = policy.num_parameters();
    policy.save(&start)?;
    let source = ShortPromptConfig {
        inner: Box::new(metaalign_tasks::induction::InductionConfig::default()),
        instruction: String::new(),
    }
    .build()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| metaalign_core::Error::msg(e.to_string()))?;
    println!(
        "model: preset {preset}, {params} parameters; {steps} steps each; threads: {}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
    );
    println!(
        "{:<14} {:>16} {:>12} {:>12} {:>14}",
        "trainer", "rollout tok/s", "rollout s", "update s", "step s"
    );
    for (name, toml_cfg) in [
        ("reinforce_pp", format!("kind = \"reinforce_pp\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nmax_new_tokens = 48\nsteps_per_level = {steps}\ncheckpoint_every = 0\nlearning_rate = 0.0005\n")),
        ("grpo", format!("kind = \"grpo\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nmax_new_tokens = 48\nsteps_per_level = {steps}\ncheckpoint_every = 0\nlearning_rate = 0.0005\n")),
        ("sft", format!("kind = \"sft\"\nbatch_size = 32\nsteps_per_level = {steps}\ncheckpoint_every = 0\nrationale = false\n")),
    ] {
        let cfg: Box<dyn TrainerConfig> = metaalign_core::config::from_toml_str(&toml_cfg, name)?;
        let out = tmp.join(name);
        let mut tasks = BTreeMap::new();
        tasks.insert("induction".to_string(), source.clone());
        let inputs = TrainInputs {
            start: start.clone(),
            tasks,
            levels: vec![Level(1)],
            reward: Arc::new(metaalign_tasks::PaperReward::default()),
            out_dir: out.clone(),
            seed: 3,
            holdout: metaalign_core::HoldOut::default(),
            device: "cpu".into(),
            metrics: MetricsSink::discard(),
            cancel: CancelFlag::default(),
        };
        let trainer = cfg.build()?;
        rt.block_on(trainer.train(inputs))?;
        let recs = Layout::new(&out).read_steps()?;
        println!(
            "{:<14} {:>16} {:>12} {:>12} {:>14}",
            name,
            mean(&recs, "rollout_tokens_per_s"),
            mean(&recs, "rollout_s"),
            mean(&recs, "update_s"),
            mean(&recs, "step_s"),
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
