//! The trainer kinds as pipeline configs: each RL kind is the one RL
//! trainer with its own defaults ([`RlKind`]); `sft` is the warm-up.

use metaalign_core::memory::MemoryPlan;
use metaalign_core::{Result, Trainer, TrainerConfig};
use serde::{Deserialize, Serialize};

use super::rl::RlTrainer;
use super::rl_settings::{RlKind, RlSettings};
use super::sft::SftTrainer;
use super::sft_settings::SftSettings;
use crate::memory::{estimate, model_config, TrainingShape};

macro_rules! rl_kind {
    ($ty:ident, $kind:literal, $rl:expr, $desc:literal) => {
        #[doc = concat!("`kind = \"", $kind, "\"`: ", $desc)]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub RlSettings);

        impl $ty {
            /// The RL kind this config trains with.
            pub const KIND: RlKind = $rl;
            /// One line for `metaalign list`.
            pub const DESCRIPTION: &'static str = $desc;
        }

        #[typetag::serde(name = $kind)]
        impl TrainerConfig for $ty {
            fn build(&self) -> Result<Box<dyn Trainer>> {
                let plan = self.0.plan($rl)?;
                Ok(Box::new(RlTrainer::new($rl, self.0.clone(), plan)))
            }

            fn memory_plan(&self, architecture: &serde_json::Value) -> Result<Option<MemoryPlan>> {
                let plan = self.0.plan($rl)?;
                let s = &self.0;
                let shape = TrainingShape {
                    prompt_tokens: crate::memory::ASSUMED_PROMPT_TOKENS,
                    rollout_rows: s.prompts_per_step * s.samples_per_prompt,
                    new_tokens: s.max_new_tokens,
                    micro_batch: s.micro_batch_size,
                    reference: plan.kl_coef > 0.0,
                    adapter: s.adapter.as_ref().map(|a| a.lora()),
                    half_base: crate::memory::half_base(
                        architecture,
                        s.adapter.is_some(),
                        s.base_dtype,
                    ),
                    checkpointing: s.gradient_checkpointing,
                };
                Ok(Some(estimate(&model_config(architecture)?, &shape)))
            }
        }
    };
}

rl_kind!(
    RlConfig,
    "rl",
    RlKind::Rl,
    "general RL with veRL's names: estimator = { kind = \"grpo\" | \"rloo\" | \"reinforce_plus_plus\" | \"reinforce_plus_plus_baseline\" | \"remax\" | \"opo\" | \"gpg\" | \"grpo_passk\" }, loss_mode (vanilla, gspo, cispo, gpg), loss_agg_mode, kl_loss_type, filter_groups, overlong_buffer"
);
rl_kind!(
    ReinforcePpConfig,
    "reinforce_pp",
    RlKind::ReinforcePp,
    "REINFORCE++: outcome reward on the last token, KL to a frozen reference, batch-whitened returns, PPO clip (stage A)"
);
rl_kind!(
    GrpoConfig,
    "grpo",
    RlKind::Grpo,
    "GRPO: per-prompt group mean/std advantages, PPO clip, KL loss (stage C)"
);
rl_kind!(
    RlooConfig,
    "rloo",
    RlKind::Rloo,
    "RLOO: leave-one-out group baseline, PPO clip, KL loss"
);
rl_kind!(
    DrGrpoConfig,
    "dr_grpo",
    RlKind::DrGrpo,
    "Dr.GRPO preset: GRPO without the std division, seq-mean-token-sum-norm aggregation, no KL"
);
rl_kind!(
    DapoConfig,
    "dapo",
    RlKind::Dapo,
    "DAPO preset: clip-higher (0.2 / 0.28), dynamic sampling of groups whose correctness varies, overlong buffer penalty, token-mean, no KL"
);
rl_kind!(
    GspoConfig,
    "gspo",
    RlKind::Gspo,
    "GSPO preset: sequence-level importance ratio clipped to [1 - 3e-4, 1 + 4e-4], seq-mean-token-mean, no KL"
);

/// `kind = "sft"` (the trainer kind; the `sft` stage wraps it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SftConfig(pub SftSettings);

#[typetag::serde(name = "sft")]
impl TrainerConfig for SftConfig {
    fn build(&self) -> Result<Box<dyn Trainer>> {
        self.0.validate()?;
        Ok(Box::new(SftTrainer::new(self.0.clone())))
    }

    fn memory_plan(&self, architecture: &serde_json::Value) -> Result<Option<MemoryPlan>> {
        let s = &self.0;
        let shape = TrainingShape {
            prompt_tokens: crate::memory::ASSUMED_PROMPT_TOKENS,
            rollout_rows: 0,
            new_tokens: crate::memory::ASSUMED_PROMPT_TOKENS,
            micro_batch: s.micro_batch_size.min(s.batch_size),
            reference: false,
            adapter: s.adapter.as_ref().map(|a| a.lora()),
            half_base: crate::memory::half_base(architecture, s.adapter.is_some(), s.base_dtype),
            checkpointing: s.gradient_checkpointing,
        };
        Ok(Some(estimate(&model_config(architecture)?, &shape)))
    }
}
