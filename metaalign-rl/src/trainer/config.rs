//! Trainer configs: the `reinforce_pp`, `grpo`, `rloo` and `sft` kinds.
//!
//! The three RL kinds share one settings struct ([`RlSettings`]); the kind
//! picks the advantage estimator, and options of another estimator are
//! refused with an error that names them. Defaults follow the paper's
//! stage-A scripts where they apply (4 rollouts per prompt, temperature
//! 0.7, KL 0.001 with the low-variance k3 estimator as a loss term, PPO
//! clip 0.2, one update per rollout batch), scaled down for CPU.

use metaalign_core::trainer::TrainOutput;
use metaalign_core::{register, Error, Result, Trainer, TrainerConfig};
use serde::{Deserialize, Serialize};

use crate::algorithms::{ClipOptions, KlEstimator, LossAgg, Singleton, Variance, Whitening};
use crate::optim::LrSchedule;

/// Which advantage estimator an RL kind uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    ReinforcePp,
    Grpo,
    Rloo,
}

impl Estimator {
    pub fn kind(self) -> &'static str {
        match self {
            Estimator::ReinforcePp => "reinforce_pp",
            Estimator::Grpo => "grpo",
            Estimator::Rloo => "rloo",
        }
    }
}

/// Where the KL penalty to the frozen reference goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlPlacement {
    /// A separate loss term `kl_coef · agg(kl)` on the current log-probs
    /// (verl `use_kl_loss`; what the paper's scripts use).
    #[default]
    Loss,
    /// Folded into the token rewards, `r_t −= kl_coef · kl_t`, on the
    /// rollout-time log-probs (verl `use_kl_in_reward`, OpenRLHF default).
    Reward,
}

/// Whitening of REINFORCE++ returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhitenMode {
    /// Mean/std over all valid tokens, Bessel-corrected (verl).
    #[default]
    Bessel,
    /// Mean/std over all valid tokens, population variance (OpenRLHF).
    Population,
    /// Subtract the batch mean only.
    Mean,
    /// Raw returns.
    None,
}

impl WhitenMode {
    pub fn whitening(self) -> Option<Whitening> {
        match self {
            WhitenMode::Bessel => Some(Whitening::default()),
            WhitenMode::Population => Some(Whitening {
                variance: Variance::Population,
                ..Whitening::default()
            }),
            WhitenMode::Mean => Some(Whitening {
                scale: false,
                ..Whitening::default()
            }),
            WhitenMode::None => None,
        }
    }
}

/// Learning-rate schedule shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    #[default]
    Constant,
    Cosine,
}

/// Optimisation, curriculum and checkpoint settings shared by the RL and
/// SFT trainers (their TOML keys sit inline in each trainer table).
#[derive(Clone, Debug, PartialEq)]
pub struct CommonSettings {
    /// AdamW learning rate. Unset: scaled for the model size from the
    /// paper's 5e-7 at 7.6B parameters (RL) or 1e-5 (SFT) by
    /// √(7.6e9 / parameters), clamped to [1e-7, 1e-3].
    pub learning_rate: Option<f64>,
    pub weight_decay: f64,
    /// Global gradient-norm clip (verl: 1.0); unset disables it.
    pub max_grad_norm: Option<f64>,
    pub warmup_steps: usize,
    pub lr_schedule: ScheduleKind,
    /// Cosine schedules decay to `min_lr_ratio · learning_rate`.
    pub min_lr_ratio: f64,
    /// Curriculum: optimizer steps per level before moving to the next.
    pub steps_per_level: usize,
    /// Curriculum: move on early once a step's mean reward (RL) reaches
    /// this value, after at least `min_steps_per_level` steps.
    pub advance_reward: Option<f64>,
    pub min_steps_per_level: usize,
    /// Stop (and save) after this much wall-clock training time, summed
    /// over resumes. Makes the step count machine-dependent.
    pub max_minutes: Option<f64>,
    /// Rows per forward/backward pass (gradient accumulation above it).
    pub micro_batch_size: usize,
    /// Save a resumable checkpoint every this many steps (0: only at the end).
    pub checkpoint_every: usize,
    /// Resumable checkpoints kept on disk (the newest ones).
    pub keep_checkpoints: usize,
    /// Consecutive skipped (non-finite) steps that stop the stage.
    pub max_bad_steps: usize,
}

impl Default for CommonSettings {
    fn default() -> Self {
        Self {
            learning_rate: None,
            weight_decay: 0.01,
            max_grad_norm: Some(1.0),
            warmup_steps: 0,
            lr_schedule: ScheduleKind::Constant,
            min_lr_ratio: 0.0,
            steps_per_level: 20,
            advance_reward: None,
            min_steps_per_level: 1,
            max_minutes: None,
            micro_batch_size: 16,
            checkpoint_every: 10,
            keep_checkpoints: 2,
            max_bad_steps: 3,
        }
    }
}

impl CommonSettings {
    pub fn validate(&self, kind: &str) -> Result<()> {
        let bad = |m: String| Err(Error::config(format!("trainer `{kind}`: {m}")));
        if let Some(lr) = self.learning_rate {
            if !(lr > 0.0 && lr.is_finite()) {
                return bad(format!("learning_rate must be > 0, got {lr}"));
            }
        }
        if self.steps_per_level == 0 {
            return bad("steps_per_level must be at least 1".into());
        }
        if self.micro_batch_size == 0 {
            return bad("micro_batch_size must be at least 1".into());
        }
        if self.keep_checkpoints == 0 {
            return bad("keep_checkpoints must be at least 1".into());
        }
        if self.max_bad_steps == 0 {
            return bad("max_bad_steps must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return bad(format!(
                "min_lr_ratio must be in [0, 1], got {}",
                self.min_lr_ratio
            ));
        }
        if let Some(m) = self.max_minutes {
            if m.is_nan() || m <= 0.0 {
                return bad(format!("max_minutes must be > 0, got {m}"));
            }
        }
        if let Some(g) = self.max_grad_norm {
            if g.is_nan() || g <= 0.0 {
                return bad(format!("max_grad_norm must be > 0, got {g}"));
            }
        }
        Ok(())
    }

    /// The learning rate for a model of `parameters` parameters.
    pub fn lr_for(&self, parameters: usize, base_at_7b: f64) -> f64 {
        self.learning_rate
            .unwrap_or_else(|| auto_lr(parameters, base_at_7b))
    }

    pub fn schedule(&self, total_steps: usize) -> LrSchedule {
        match self.lr_schedule {
            ScheduleKind::Constant => LrSchedule::Constant {
                warmup_steps: self.warmup_steps,
            },
            ScheduleKind::Cosine => {
                LrSchedule::warmup_cosine(self.warmup_steps, total_steps, self.min_lr_ratio)
            }
        }
    }
}

/// Declares a settings struct whose TOML table has the [`CommonSettings`]
/// keys inline next to its own (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`, and unknown keys must be errors).
macro_rules! settings_with_common {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* $f:ident : $t:ty = $d:expr ),* $(,)?
        }
        common = $cd:expr;
    ) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[$fm])* pub $f: $t, )*
        /// AdamW learning rate. Unset: scaled for the model size from the paper's
        /// 5e-7 at 7.6B parameters (RL) or 1e-5 (SFT) by √(7.6e9 / parameters),
        /// clamped to [1e-7, 1e-3].
        pub learning_rate: Option<f64>,
        pub weight_decay: f64,
        /// Global gradient-norm clip (verl: 1.0); unset disables it.
        pub max_grad_norm: Option<f64>,
        pub warmup_steps: usize,
        pub lr_schedule: ScheduleKind,
        /// Cosine schedules decay to `min_lr_ratio · learning_rate`.
        pub min_lr_ratio: f64,
        /// Curriculum: optimizer steps per level before moving to the next.
        pub steps_per_level: usize,
        /// Curriculum: move on early once a step's mean reward (RL) reaches this
        /// value, after at least `min_steps_per_level` steps.
        pub advance_reward: Option<f64>,
        pub min_steps_per_level: usize,
        /// Stop (and save) after this much wall-clock training time, summed over
        /// resumes. Makes the step count machine-dependent.
        pub max_minutes: Option<f64>,
        /// Rows per forward/backward pass (gradient accumulation above it).
        pub micro_batch_size: usize,
        /// Save a resumable checkpoint every this many steps (0: only at the end).
        pub checkpoint_every: usize,
        /// Resumable checkpoints kept on disk (the newest ones).
        pub keep_checkpoints: usize,
        /// Consecutive skipped (non-finite) steps that stop the stage.
        pub max_bad_steps: usize,
        }

        impl Default for $name {
            fn default() -> Self {
                let c: CommonSettings = $cd;
                Self {
                    $( $f: $d, )*
                    learning_rate: c.learning_rate,
                    weight_decay: c.weight_decay,
                    max_grad_norm: c.max_grad_norm,
                    warmup_steps: c.warmup_steps,
                    lr_schedule: c.lr_schedule,
                    min_lr_ratio: c.min_lr_ratio,
                    steps_per_level: c.steps_per_level,
                    advance_reward: c.advance_reward,
                    min_steps_per_level: c.min_steps_per_level,
                    max_minutes: c.max_minutes,
                    micro_batch_size: c.micro_batch_size,
                    checkpoint_every: c.checkpoint_every,
                    keep_checkpoints: c.keep_checkpoints,
                    max_bad_steps: c.max_bad_steps,
                }
            }
        }

        impl $name {
            /// The settings shared by every trainer kind.
            pub fn common(&self) -> CommonSettings {
                CommonSettings {
                    learning_rate: self.learning_rate.clone(),
                    weight_decay: self.weight_decay.clone(),
                    max_grad_norm: self.max_grad_norm.clone(),
                    warmup_steps: self.warmup_steps.clone(),
                    lr_schedule: self.lr_schedule.clone(),
                    min_lr_ratio: self.min_lr_ratio.clone(),
                    steps_per_level: self.steps_per_level.clone(),
                    advance_reward: self.advance_reward.clone(),
                    min_steps_per_level: self.min_steps_per_level.clone(),
                    max_minutes: self.max_minutes.clone(),
                    micro_batch_size: self.micro_batch_size.clone(),
                    checkpoint_every: self.checkpoint_every.clone(),
                    keep_checkpoints: self.keep_checkpoints.clone(),
                    max_bad_steps: self.max_bad_steps.clone(),
                }
            }
        }
    };
}

/// `base · √(7.6e9 / parameters)`, clamped to [1e-7, 1e-3].
pub fn auto_lr(parameters: usize, base_at_7b: f64) -> f64 {
    let n = parameters.max(1) as f64;
    (base_at_7b * (7.6e9 / n).sqrt()).clamp(1e-7, 1e-3)
}

settings_with_common! {
    /// Settings of the RL kinds (`reinforce_pp`, `grpo`, `rloo`).
    pub struct RlSettings {
        /// Distinct prompts per rollout batch (one rollout batch = one step).
        prompts_per_step: usize = 8,
        /// Rollouts per prompt (the group of GRPO / RLOO).
        samples_per_prompt: usize = 4,
        temperature: f64 = 0.7,
        top_p: f64 = 1.0,
        top_k: Option<usize> = None,
        max_new_tokens: usize = 256,
        /// Generation stops after any of these (besides EOS).
        stop: Vec<String> = vec!["</answer>".to_string()],
        /// Passes over each rollout batch.
        ppo_epochs: usize = 1,
        /// Optimizer updates per pass (the rollout batch is split in this
        /// many mini-batches).
        mini_batches: usize = 1,
        /// Shuffle rollouts before splitting them into mini-batches.
        shuffle: bool = true,
        clip_low: f32 = 0.2,
        clip_high: f32 = 0.2,
        dual_clip: Option<f32> = None,
        kl_coef: f32 = 0.001,
        kl_estimator: KlEstimator = KlEstimator::K3,
        kl_placement: KlPlacement = KlPlacement::Loss,
        /// Entropy bonus (the loss gets `− entropy_coef · agg(entropy)`).
        entropy_coef: f32 = 0.0,
        loss_agg: LossAgg = LossAgg::TokenMean,
        /// Dr.GRPO's constant S (default: `max_new_tokens`).
        loss_scale_factor: Option<f64> = None,
        /// reinforce_pp: discount of the returns (default 1).
        gamma: Option<f32> = None,
        /// reinforce_pp: subtract the prompt group's mean score first
        /// (REINFORCE++-baseline).
        group_baseline: Option<bool> = None,
        /// reinforce_pp: batch whitening of the returns (default `bessel`).
        whiten: Option<WhitenMode> = None,
        /// grpo: divide by the group's std (default true; false = Dr.GRPO).
        scale_by_std: Option<bool> = None,
        /// grpo: added to the group std (default 1e-6, verl).
        std_eps: Option<f32> = None,
        /// grpo: `bessel` (default) or `population` group std.
        std_variance: Option<Variance> = None,
        /// grpo / rloo: what a group of one response gets (default `raw`).
        singleton: Option<Singleton> = None,
    }
    common = CommonSettings::default();
}

impl RlSettings {
    pub fn clip(&self) -> ClipOptions {
        ClipOptions {
            clip_low: self.clip_low,
            clip_high: self.clip_high,
            dual_clip: self.dual_clip,
        }
    }

    /// Checks ranges and that no option of another estimator is set.
    pub fn validate(&self, est: Estimator) -> Result<()> {
        let kind = est.kind();
        self.common().validate(kind)?;
        self.clip()
            .validate()
            .map_err(|e| Error::config(format!("trainer `{kind}`: {e}")))?;
        let bad = |m: String| Err(Error::config(format!("trainer `{kind}`: {m}")));
        if self.prompts_per_step == 0 || self.samples_per_prompt == 0 {
            return bad("prompts_per_step and samples_per_prompt must be at least 1".into());
        }
        if matches!(est, Estimator::Grpo | Estimator::Rloo)
            && self.samples_per_prompt < 2
            && self.singleton != Some(Singleton::Raw)
            && self.singleton != Some(Singleton::Zero)
        {
            return bad(format!(
                "{kind} needs samples_per_prompt >= 2 to form a group baseline (got {})",
                self.samples_per_prompt
            ));
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad(format!(
                "temperature must be > 0 for rollouts, got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top_p must be in (0, 1], got {}", self.top_p));
        }
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens must be at least 1".into());
        }
        if self.ppo_epochs == 0 || self.mini_batches == 0 {
            return bad("ppo_epochs and mini_batches must be at least 1".into());
        }
        let batch = self.prompts_per_step * self.samples_per_prompt;
        if self.mini_batches > batch {
            return bad(format!(
                "mini_batches ({}) exceeds the rollout batch ({batch} = prompts_per_step × samples_per_prompt)",
                self.mini_batches
            ));
        }
        if !(self.kl_coef >= 0.0 && self.kl_coef.is_finite()) {
            return bad(format!("kl_coef must be >= 0, got {}", self.kl_coef));
        }
        if let Some(g) = self.gamma {
            if !(0.0..=1.0).contains(&g) {
                return bad(format!("gamma must be in [0, 1], got {g}"));
            }
        }
        if let Some(s) = self.loss_scale_factor {
            if s.is_nan() || s <= 0.0 {
                return bad(format!("loss_scale_factor must be > 0, got {s}"));
            }
        }
        let set = |name: &'static str, is_set: bool| if is_set { Some(name) } else { None };
        let foreign: Vec<&str> = match est {
            Estimator::ReinforcePp => [
                set("scale_by_std", self.scale_by_std.is_some()),
                set("std_eps", self.std_eps.is_some()),
                set("std_variance", self.std_variance.is_some()),
                set("singleton", self.singleton.is_some()),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Estimator::Grpo | Estimator::Rloo => {
                let mut v: Vec<&str> = [
                    set("gamma", self.gamma.is_some()),
                    set("group_baseline", self.group_baseline.is_some()),
                    set("whiten", self.whiten.is_some()),
                ]
                .into_iter()
                .flatten()
                .collect();
                if est == Estimator::Rloo {
                    v.extend(
                        [
                            set("scale_by_std", self.scale_by_std.is_some()),
                            set("std_eps", self.std_eps.is_some()),
                            set("std_variance", self.std_variance.is_some()),
                        ]
                        .into_iter()
                        .flatten(),
                    );
                }
                v
            }
        };
        if !foreign.is_empty() {
            return bad(format!(
                "option(s) {} do not apply to this estimator",
                foreign.join(", ")
            ));
        }
        Ok(())
    }
}

macro_rules! rl_kind {
    ($ty:ident, $kind:literal, $est:expr, $desc:literal, $example:literal) => {
        #[doc = concat!("`kind = \"", $kind, "\"`: ", $desc)]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub RlSettings);

        impl $ty {
            pub const ESTIMATOR: Estimator = $est;
        }

        #[typetag::serde(name = $kind)]
        impl TrainerConfig for $ty {
            fn build(&self) -> Result<Box<dyn Trainer>> {
                self.0.validate($est)?;
                Ok(Box::new(super::rl::RlTrainer::new($est, self.0.clone())))
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
    ReinforcePpConfig,
    "reinforce_pp",
    Estimator::ReinforcePp,
    "REINFORCE++: outcome reward on the last token, KL to a frozen reference, batch-whitened returns, PPO clip (stage A)",
    "kind = \"reinforce_pp\"\nlearning_rate = 0.0002\nprompts_per_step = 8\nsamples_per_prompt = 4\ntemperature = 0.7\nmax_new_tokens = 128\nkl_coef = 0.001\nkl_estimator = \"k3\"\nkl_placement = \"loss\"\nwhiten = \"bessel\"\nsteps_per_level = 20\n"
);
rl_kind!(
    GrpoConfig,
    "grpo",
    Estimator::Grpo,
    "GRPO: per-prompt group mean/std advantages (Dr.GRPO with scale_by_std = false), PPO clip, KL loss (stage C)",
    "kind = \"grpo\"\nlearning_rate = 0.0002\nprompts_per_step = 8\nsamples_per_prompt = 4\ntemperature = 0.7\nmax_new_tokens = 128\nscale_by_std = true\nloss_agg = \"token-mean\"\nsteps_per_level = 20\n"
);
rl_kind!(
    RlooConfig,
    "rloo",
    Estimator::Rloo,
    "RLOO: leave-one-out group baseline, PPO clip, KL loss",
    "kind = \"rloo\"\nprompts_per_step = 8\nsamples_per_prompt = 4\nsteps_per_level = 20\n"
);

settings_with_common! {
    /// `kind = "sft"`: supervised warm-up on generated tasks; the target is
    /// `rationale</think><answer>answer</answer>` after the prompt's `<think>`.
    pub struct SftSettings {
        /// Tasks per optimizer step.
        batch_size: usize = 16,
        /// Put the task's rationale inside the think block (else leave it empty).
        rationale: bool = true,
        /// Rationales longer than this many characters are cut (0: no limit).
        max_rationale_chars: usize = 0,
        /// End the target with the chat template's end-of-turn text (`<|im_end|>`
        /// built in, `<|eot_id|>` for Llama-3, ...) so the model learns to stop.
        end_of_turn: bool = true,
    }
    common = CommonSettings {
        steps_per_level: 100,
        ..CommonSettings::default()
    };
}

impl SftSettings {
    pub fn validate(&self) -> Result<()> {
        self.common().validate("sft")?;
        if self.batch_size == 0 {
            return Err(Error::config(
                "trainer `sft`: batch_size must be at least 1",
            ));
        }
        Ok(())
    }
}

/// `kind = "sft"` (the trainer kind; the `sft` stage wraps it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SftConfig(pub SftSettings);

#[typetag::serde(name = "sft")]
impl TrainerConfig for SftConfig {
    fn build(&self) -> Result<Box<dyn Trainer>> {
        self.0.validate()?;
        Ok(Box::new(super::sft::SftTrainer::new(self.0.clone())))
    }
}

register! {
    slot: Trainer,
    kind: "sft",
    description: "supervised warm-up on generated tasks: <think>rationale</think><answer>…</answer>, loss on response tokens",
    example: "kind = \"sft\"\nlearning_rate = 0.001\nbatch_size = 16\nsteps_per_level = 100\nrationale = true\n",
}

/// Runs a blocking trainer body on tokio's blocking pool.
pub(crate) async fn run_blocking<F>(f: F) -> Result<TrainOutput>
where
    F: FnOnce() -> Result<TrainOutput> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::msg(format!("trainer thread failed: {e}")))?
}
