//! Policy losses under veRL's `policy_loss.loss_mode` names, each in its
//! own file, with veRL's exact forward values (`core_algos.py`). Adding one
//! means a file here plus a line in [`LossMode`].

use metaalign_core::Result;
use serde::{Deserialize, Serialize};

use super::agg::AggMode;
use super::masked::check_same_shape;

mod cispo;
mod gpg;
mod gspo;
mod vanilla;

/// Bound on the token log-ratio before `exp` (veRL, vanilla and CISPO).
pub const LOG_RATIO_CLAMP: f64 = 20.0;

/// Inputs of a policy loss, all `(bs, len)`.
#[derive(Clone, Copy, Debug)]
pub struct PolicyLossInput<'a> {
    /// Log-probs under the rollout (old) policy.
    pub old_log_prob: &'a [Vec<f64>],
    /// Log-probs under the current policy.
    pub log_prob: &'a [Vec<f64>],
    /// Per-token advantages.
    pub advantages: &'a [Vec<f64>],
    /// 1 for response tokens.
    pub response_mask: &'a [Vec<f64>],
    /// Aggregation (ignored by `gspo`, which always uses `seq-mean-token-mean`, as veRL).
    pub loss_agg_mode: AggMode,
    /// Clip settings.
    pub clip: ClipRatios,
}

impl PolicyLossInput<'_> {
    /// Checks that all four batches share one rectangular shape.
    pub fn validate(&self) -> Result<()> {
        check_same_shape("log_prob", self.log_prob, "old_log_prob", self.old_log_prob)?;
        check_same_shape("log_prob", self.log_prob, "advantages", self.advantages)?;
        check_same_shape(
            "log_prob",
            self.log_prob,
            "response_mask",
            self.response_mask,
        )
    }
}

/// veRL's clip settings: `clip_ratio_low`/`high` default to `clip_ratio`;
/// `clip_ratio_c` is the dual-clip bound (must exceed 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipRatios {
    /// Lower clip range (ratio ≥ 1 - low).
    pub low: f64,
    /// Upper clip range (ratio ≤ 1 + high).
    pub high: f64,
    /// Dual-clip bound for negative advantages.
    pub c: f64,
}

impl ClipRatios {
    /// From veRL's keys, applying its defaults (`clip_ratio` 0.2, `clip_ratio_c` 3.0).
    pub fn new(
        clip_ratio: Option<f64>,
        low: Option<f64>,
        high: Option<f64>,
        c: Option<f64>,
    ) -> Self {
        let base = clip_ratio.unwrap_or(0.2);
        Self {
            low: low.unwrap_or(base),
            high: high.unwrap_or(base),
            c: c.unwrap_or(3.0),
        }
    }
}

/// The loss and veRL's metrics. Losses without a metric (`gpg`) report 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolicyLossOutput {
    /// Aggregated loss.
    pub pg_loss: f64,
    /// Share of valid tokens where clipping bound.
    pub pg_clipfrac: f64,
    /// `masked_mean(old - new)`, the approximate KL to the old policy.
    pub ppo_kl: f64,
    /// Share of valid tokens where the dual clip bound (negative advantages).
    pub pg_clipfrac_lower: f64,
}

/// A policy loss by veRL name (`policy_loss.loss_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossMode {
    /// `vanilla`: PPO clip with asymmetric ranges and dual clip.
    #[default]
    Vanilla,
    /// `gspo`: sequence-level ratio (geometric mean of token ratios), clipped.
    Gspo,
    /// `cispo`: `-clip(ratio) * A * log_prob` with the clipped ratio detached.
    Cispo,
    /// `gpg`: `-log_prob * A`.
    Gpg,
}

impl LossMode {
    /// Every mode.
    pub const ALL: [LossMode; 4] = [
        LossMode::Vanilla,
        LossMode::Gspo,
        LossMode::Cispo,
        LossMode::Gpg,
    ];

    /// veRL's name.
    pub fn name(self) -> &'static str {
        match self {
            LossMode::Vanilla => "vanilla",
            LossMode::Gspo => "gspo",
            LossMode::Cispo => "cispo",
            LossMode::Gpg => "gpg",
        }
    }

    /// Looks a loss up by veRL name.
    pub fn from_name(name: &str) -> Result<Self> {
        crate::algorithms::by_name(&Self::ALL, Self::name, name, "loss_mode")
    }

    /// Computes the loss and metrics after validating shapes.
    pub fn compute(self, input: &PolicyLossInput<'_>) -> Result<PolicyLossOutput> {
        input.validate()?;
        match self {
            LossMode::Vanilla => vanilla::compute(input),
            LossMode::Gspo => gspo::compute(input),
            LossMode::Cispo => cispo::compute(input),
            LossMode::Gpg => gpg::compute(input),
        }
    }
}

/// 1.0 / 0.0 for a flag.
pub(crate) fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}
