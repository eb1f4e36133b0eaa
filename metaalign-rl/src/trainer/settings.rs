//! Settings every trainer kind shares (optimizer, schedule, curriculum,
//! budget, checkpoints) and the macro that puts their keys inline in a
//! trainer's table.

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::optim::LrSchedule;

/// Learning-rate schedule shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The learning rate stays at its value after warmup.
    #[default]
    Constant,
    /// Cosine decay to `min_lr_ratio · learning_rate` over the run.
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
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip (verl: 1.0); unset disables it.
    pub max_grad_norm: Option<f64>,
    /// Optimizer steps of linear learning-rate warmup from 0.
    pub warmup_steps: usize,
    /// Shape of the learning-rate schedule after warmup.
    pub lr_schedule: ScheduleKind,
    /// Cosine schedules decay to `min_lr_ratio · learning_rate`.
    pub min_lr_ratio: f64,
    /// Curriculum: optimizer steps per level before moving to the next.
    pub steps_per_level: usize,
    /// Curriculum: move on early once a step's mean reward (RL) reaches
    /// this value, after at least `min_steps_per_level` steps.
    pub advance_reward: Option<f64>,
    /// Curriculum: steps at a level before `advance_reward` can move on.
    pub min_steps_per_level: usize,
    /// Stop (and save) after this much wall-clock training time, summed
    /// over resumes. Makes the step count machine-dependent.
    pub max_minutes: Option<f64>,
    /// RL: stop once this many responses were sampled (dynamic sampling's
    /// dropped ones included), summed over resumes — for comparing
    /// algorithms at equal rollouts.
    pub max_rollouts: Option<u64>,
    /// Rows per forward/backward pass (gradient accumulation above it).
    pub micro_batch_size: usize,
    /// Save a resumable checkpoint every this many steps (0: only at the end).
    pub checkpoint_every: usize,
    /// Resumable checkpoints kept on disk (the newest ones).
    pub keep_checkpoints: usize,
    /// Consecutive skipped (non-finite) steps that stop the stage.
    pub max_bad_steps: usize,
    /// Train a LoRA adapter on the frozen base instead of every weight
    /// (`adapter = { kind = "lora", r = 16, ... }`).
    pub adapter: Option<crate::adapter::AdapterConfig>,
    /// With an adapter: the frozen base's matrices in memory, `"stored"`
    /// (bf16 / f16 as the checkpoint has them), `"bf16"`, `"f16"` or `"f32"`.
    pub base_dtype: crate::checkpoint::BaseDtype,
    /// Recompute each layer's activations in the backward pass instead of
    /// keeping them: less memory for about a third more compute.
    pub gradient_checkpointing: bool,
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
            max_rollouts: None,
            micro_batch_size: 16,
            checkpoint_every: 10,
            keep_checkpoints: 2,
            max_bad_steps: 3,
            adapter: None,
            base_dtype: crate::checkpoint::BaseDtype::Stored,
            gradient_checkpointing: false,
        }
    }
}

impl CommonSettings {
    /// Checks every range, naming the trainer `kind` in the error.
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
        if self.max_rollouts == Some(0) {
            return bad("max_rollouts must be at least 1".into());
        }
        if let Some(g) = self.max_grad_norm {
            if g.is_nan() || g <= 0.0 {
                return bad(format!("max_grad_norm must be > 0, got {g}"));
            }
        }
        let half_base = matches!(
            self.base_dtype,
            crate::checkpoint::BaseDtype::Bf16 | crate::checkpoint::BaseDtype::F16
        );
        if half_base && self.adapter.is_none() {
            return bad(format!(
                "base_dtype = \"{}\" needs an adapter: full-weight training keeps f32 weights (set `adapter = {{ kind = \"lora\", ... }}` or drop base_dtype)",
                self.base_dtype.name()
            ));
        }
        if let Some(adapter) = &self.adapter {
            let lora = adapter.lora();
            lora.check()
                .map_err(|e| Error::config(format!("trainer `{kind}`: {e}")))?;
            if lora.lora_dropout != 0.0 {
                return bad(format!(
                    "adapter: lora_dropout = {} is not supported for training (resumed runs must replay the same steps); use 0",
                    lora.lora_dropout
                ));
            }
        }
        Ok(())
    }

    /// The learning rate for a model of `parameters` parameters.
    pub fn lr_for(&self, parameters: usize, base_at_7b: f64) -> f64 {
        self.learning_rate
            .unwrap_or_else(|| auto_lr(parameters, base_at_7b))
    }

    /// The optimizer's schedule for a run of `total_steps` optimizer steps.
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
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[$fm])* pub $f: $t, )*
        /// AdamW learning rate. Unset: scaled for the model size from the paper's
        /// 5e-7 at 7.6B parameters (RL) or 1e-5 (SFT) by √(7.6e9 / parameters),
        /// clamped to [1e-7, 1e-3].
        pub learning_rate: Option<f64>,
        /// AdamW's decoupled weight decay.
        pub weight_decay: f64,
        /// Global gradient-norm clip (verl: 1.0); unset disables it.
        pub max_grad_norm: Option<f64>,
        /// Optimizer steps of linear learning-rate warmup from 0.
        pub warmup_steps: usize,
        /// Shape of the learning-rate schedule after warmup.
        pub lr_schedule: $crate::trainer::settings::ScheduleKind,
        /// Cosine schedules decay to `min_lr_ratio · learning_rate`.
        pub min_lr_ratio: f64,
        /// Curriculum: optimizer steps per level before moving to the next.
        pub steps_per_level: usize,
        /// Curriculum: move on early once a step's mean reward (RL) reaches this
        /// value, after at least `min_steps_per_level` steps.
        pub advance_reward: Option<f64>,
        /// Curriculum: steps at a level before `advance_reward` can move on.
        pub min_steps_per_level: usize,
        /// Stop (and save) after this much wall-clock training time, summed over
        /// resumes. Makes the step count machine-dependent.
        pub max_minutes: Option<f64>,
        /// RL: stop once this many responses were sampled (summed over resumes).
        pub max_rollouts: Option<u64>,
        /// Rows per forward/backward pass (gradient accumulation above it).
        pub micro_batch_size: usize,
        /// Save a resumable checkpoint every this many steps (0: only at the end).
        pub checkpoint_every: usize,
        /// Resumable checkpoints kept on disk (the newest ones).
        pub keep_checkpoints: usize,
        /// Consecutive skipped (non-finite) steps that stop the stage.
        pub max_bad_steps: usize,
        /// Train a LoRA adapter on the frozen base instead of every weight
        /// (`adapter = { kind = "lora", r = 16, lora_alpha = 32,
        /// target_modules = "all-linear" }`); the stage's `model` is then a
        /// PEFT adapter folder pointing at the stage's starting model.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub adapter: Option<$crate::adapter::AdapterConfig>,
        /// With an adapter: the frozen base's matrices in memory, `"stored"`
        /// (bf16 / f16 as the checkpoint has them; the default), `"bf16"`,
        /// `"f16"` or `"f32"`. The maths runs in f32 either way.
        #[serde(skip_serializing_if = "crate::checkpoint::BaseDtype::is_stored")]
        pub base_dtype: $crate::checkpoint::BaseDtype,
        /// Recompute each layer's activations in the backward pass instead
        /// of keeping them: less memory for about a third more compute.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub gradient_checkpointing: bool,
        }

        impl Default for $name {
            fn default() -> Self {
                let c: $crate::trainer::settings::CommonSettings = $cd;
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
                    max_rollouts: c.max_rollouts,
                    micro_batch_size: c.micro_batch_size,
                    checkpoint_every: c.checkpoint_every,
                    keep_checkpoints: c.keep_checkpoints,
                    max_bad_steps: c.max_bad_steps,
                    adapter: c.adapter,
                    base_dtype: c.base_dtype,
                    gradient_checkpointing: c.gradient_checkpointing,
                }
            }
        }

        impl $name {
            /// The settings shared by every trainer kind.
            pub fn common(&self) -> $crate::trainer::settings::CommonSettings {
                $crate::trainer::settings::CommonSettings {
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
                    max_rollouts: self.max_rollouts.clone(),
                    micro_batch_size: self.micro_batch_size.clone(),
                    checkpoint_every: self.checkpoint_every.clone(),
                    keep_checkpoints: self.keep_checkpoints.clone(),
                    max_bad_steps: self.max_bad_steps.clone(),
                    adapter: self.adapter.clone(),
                    base_dtype: self.base_dtype,
                    gradient_checkpointing: self.gradient_checkpointing,
                }
            }
        }
    };
}

pub(crate) use settings_with_common;

/// `base · √(7.6e9 / parameters)`, clamped to [1e-7, 1e-3].
pub fn auto_lr(parameters: usize, base_at_7b: f64) -> f64 {
    let n = parameters.max(1) as f64;
    (base_at_7b * (7.6e9 / n).sqrt()).clamp(1e-7, 1e-3)
}
