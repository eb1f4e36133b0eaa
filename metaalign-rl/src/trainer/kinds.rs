//! The trainer kinds as pipeline configs: each RL kind is the one RL
//! trainer with its own defaults ([`RlKind`]); `sft` is the warm-up.

use metaalign_core::{register, Result, Trainer, TrainerConfig};
use serde::{Deserialize, Serialize};

use super::rl::RlTrainer;
use super::rl_settings::{RlKind, RlSettings};
use super::sft::SftTrainer;
use super::sft_settings::SftSettings;

macro_rules! rl_kind {
    ($ty:ident, $kind:literal, $rl:expr, $desc:literal, $example:literal) => {
        #[doc = concat!("`kind = \"", $kind, "\"`: ", $desc)]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub RlSettings);

        impl $ty {
            pub const KIND: RlKind = $rl;
        }

        #[typetag::serde(name = $kind)]
        impl TrainerConfig for $ty {
            fn build(&self) -> Result<Box<dyn Trainer>> {
                let plan = self.0.plan($rl)?;
                Ok(Box::new(RlTrainer::new($rl, self.0.clone(), plan)))
            }
        }

        register! {
            slot: Trainer,
            kind: $kind,
            description: $desc,
            example: $example,
        }
    };
}

rl_kind!(
    RlConfig,
    "rl",
    RlKind::Rl,
    "general RL with veRL's names: estimator = { kind = \"grpo\" | \"rloo\" | \"reinforce_plus_plus\" | \"reinforce_plus_plus_baseline\" | \"remax\" | \"opo\" | \"gpg\" | \"grpo_passk\" }, loss_mode (vanilla, gspo, cispo, gpg), loss_agg_mode, kl_loss_type, filter_groups, overlong_buffer",
    "kind = \"rl\"\nestimator = { kind = \"grpo\", norm_adv_by_std = true }\nloss_mode = \"vanilla\"\nclip_ratio_low = 0.2\nclip_ratio_high = 0.28\nloss_agg_mode = \"token-mean\"\nkl_coef = 0.001\nkl_loss_type = \"low_var_kl\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nmax_new_tokens = 128\nsteps_per_level = 20\n"
);
rl_kind!(
    ReinforcePpConfig,
    "reinforce_pp",
    RlKind::ReinforcePp,
    "REINFORCE++: outcome reward on the last token, KL to a frozen reference, batch-whitened returns, PPO clip (stage A)",
    "kind = \"reinforce_pp\"\nlearning_rate = 0.0002\nprompts_per_step = 8\nsamples_per_prompt = 4\ntemperature = 0.7\nmax_new_tokens = 128\nkl_coef = 0.001\nkl_estimator = \"k3\"\nkl_placement = \"loss\"\nsteps_per_level = 20\n"
);
rl_kind!(
    GrpoConfig,
    "grpo",
    RlKind::Grpo,
    "GRPO: per-prompt group mean/std advantages, PPO clip, KL loss (stage C)",
    "kind = \"grpo\"\nlearning_rate = 0.0002\nprompts_per_step = 8\nsamples_per_prompt = 4\ntemperature = 0.7\nmax_new_tokens = 128\nscale_by_std = true\nloss_agg = \"token-mean\"\nsteps_per_level = 20\n"
);
rl_kind!(
    RlooConfig,
    "rloo",
    RlKind::Rloo,
    "RLOO: leave-one-out group baseline, PPO clip, KL loss",
    "kind = \"rloo\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nsteps_per_level = 20\n"
);
rl_kind!(
    DrGrpoConfig,
    "dr_grpo",
    RlKind::DrGrpo,
    "Dr.GRPO preset: GRPO without the std division, seq-mean-token-sum-norm aggregation, no KL",
    "kind = \"dr_grpo\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nmax_new_tokens = 128\nsteps_per_level = 20\n"
);
rl_kind!(
    DapoConfig,
    "dapo",
    RlKind::Dapo,
    "DAPO preset: clip-higher (0.2 / 0.28), dynamic sampling of groups whose correctness varies, overlong buffer penalty, token-mean, no KL",
    "kind = \"dapo\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nmax_new_tokens = 128\nfilter_groups = { metric = \"acc\", max_num_gen_batches = 10 }\noverlong_buffer = { len = 32, penalty_factor = 1.0 }\nsteps_per_level = 20\n"
);
rl_kind!(
    GspoConfig,
    "gspo",
    RlKind::Gspo,
    "GSPO preset: sequence-level importance ratio clipped to [1 - 3e-4, 1 + 4e-4], seq-mean-token-mean, no KL",
    "kind = \"gspo\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nmax_new_tokens = 128\nsteps_per_level = 20\n"
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
}

register! {
    slot: Trainer,
    kind: "sft",
    description: "supervised warm-up on generated tasks: <think>rationale</think><answer>…</answer>, loss on response tokens",
    example: "kind = \"sft\"\nlearning_rate = 0.001\nbatch_size = 16\nsteps_per_level = 100\nrationale = true\n",
}
