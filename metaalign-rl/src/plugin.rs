//! [`RlPlugin`]: the trainers, the starting policies, the training and
//! evaluation stages, and the `short_prompt` task layer.

use metaalign_core::{Plugin, Registry};
use metaalign_tasks::{BinaryReward, PaperReward, TasksPlugin};

use crate::eval::stage::ModelMap;
use crate::eval::EvaluateStage;
use crate::policy::{FreshPolicyConfig, HfPolicyConfig};
use crate::stages::{AlignStage, DomainRlStage, SftStage};
use crate::trainer::rl_settings::EstimatorSpec;
use crate::trainer::short_prompt::ShortPromptConfig;
use crate::trainer::{
    DapoConfig, DrGrpoConfig, GrpoConfig, GspoConfig, ReinforcePpConfig, RlConfig, RlSettings,
    RlooConfig, SftConfig, SftSettings,
};

/// The kinds of `metaalign-rl` (its stages use the tasks and rewards of
/// [`TasksPlugin`], which it adds too).
#[derive(Clone, Copy, Debug, Default)]
pub struct RlPlugin;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Plugin for RlPlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_plugin(&TasksPlugin);
        let rl_example = RlSettings {
            estimator: Some(EstimatorSpec::named("grpo")),
            clip_low: Some(0.2),
            clip_high: Some(0.28),
            kl_coef: Some(0.001),
            ..RlSettings::default()
        };
        registry
            .add_trainer(RlConfig::DESCRIPTION, RlConfig(rl_example))
            .add_trainer(ReinforcePpConfig::DESCRIPTION, ReinforcePpConfig::default())
            .add_trainer(GrpoConfig::DESCRIPTION, GrpoConfig::default())
            .add_trainer(RlooConfig::DESCRIPTION, RlooConfig::default())
            .add_trainer(DrGrpoConfig::DESCRIPTION, DrGrpoConfig::default())
            .add_trainer(DapoConfig::DESCRIPTION, DapoConfig::default())
            .add_trainer(GspoConfig::DESCRIPTION, GspoConfig::default())
            .add_trainer(
                "supervised warm-up on generated tasks: <think>rationale</think><answer>…</answer>, loss on response tokens",
                SftConfig::default(),
            )
            .add_task(
                "layer: the inner source's tasks with the puzzle alone as the prompt (cheap prompts for tiny-model experiments)",
                ShortPromptConfig::default(),
            )
            .add_policy(
                "a new seeded Qwen2-architecture model (preset tiny/small or an explicit spec) with a character tokenizer",
                FreshPolicyConfig {
                    preset: Some("tiny".into()),
                    ..FreshPolicyConfig::default()
                },
            )
            .add_policy(
                "an existing Hugging Face checkpoint directory (Qwen2 / Llama architecture, safetensors)",
                HfPolicyConfig {
                    path: "models/Qwen2.5-1.5B-Instruct".into(),
                },
            )
            .add_stage(
                "supervised warm-up: <think>rationale</think><answer>…</answer> on generated tasks; outputs `model`",
                SftStage {
                    from: "policy".into(),
                    tasks: names(&["deduction", "induction", "abduction"]),
                    levels: vec![1],
                    trainer: Box::new(SftConfig(SftSettings {
                        learning_rate: Some(0.001),
                        ..SftSettings::default()
                    })),
                },
            )
            .add_stage(
                "stage A: RL one specialist on one meta-ability with a level curriculum (reinforce_pp + paper reward by default); outputs `model`",
                AlignStage {
                    from: "warmup.model".into(),
                    task: "deduction".into(),
                    levels: vec![1, 2],
                    trainer: Box::new(ReinforcePpConfig(RlSettings {
                        learning_rate: Some(0.0002),
                        ..RlSettings::default()
                    })),
                    reward: Box::new(PaperReward::default()),
                },
            )
            .add_stage(
                "stage C: RL on a downstream domain (grpo + binary reward by default); outputs `model`",
                DomainRlStage {
                    from: "merged.model".into(),
                    tasks: names(&["arithmetic"]),
                    levels: Vec::new(),
                    trainer: Box::new(GrpoConfig::default()),
                    reward: Box::new(BinaryReward::default()),
                },
            )
            .add_stage(
                "greedy pass@1, avg@k, pass@k, oracle ensemble, format and length of models on held-out tasks; report.json, report.md tables and PNG charts",
                EvaluateStage {
                    levels: Some(vec![1]),
                    count: 50,
                    avg_k: 4,
                    oracle: names(&["base", "trained"]),
                    ..EvaluateStage::new(
                        ModelMap(vec![
                            ("base".into(), "policy".into()),
                            ("trained".into(), "train.model".into()),
                        ]),
                        names(&["deduction"]),
                    )
                },
            );
    }
}
