//! Settings of the RL trainer kinds and how each kind's defaults resolve
//! into one [`RlPlan`].
//!
//! Every RL kind is the same trainer with other defaults: `rl` (the general
//! one, veRL's defaults), the paper's `reinforce_pp`, `grpo` and `rloo`, and
//! the published recipes `dr_grpo`, `dapo` and `gspo`. Keys a kind leaves
//! unset (`None`) take the kind's default; keys set in the table always win.
//! Names follow veRL (`loss_mode`, `clip_ratio_low`, `loss_agg_mode`,
//! `kl_loss_type`, `filter_groups`, `overlong_buffer`), with the older
//! metaalign names kept as aliases.

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::settings::{settings_with_common, CommonSettings};
use crate::algorithms::{AggMode, ClipOptions, Estimator, KlEstimator, LossMode};

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

/// The advantage estimator and its own keys (`estimator = { kind = "grpo",
/// norm_adv_by_std = false }`); `kind` is veRL's `adv_estimator` name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatorSpec {
    /// veRL's `adv_estimator` name, e.g. `grpo`, `rloo`, `reinforce_plus_plus`.
    pub kind: String,
    /// `grpo`, `grpo_passk`: divide by the group std (false: Dr.GRPO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm_adv_by_std: Option<bool>,
    /// `grpo`, `grpo_passk`: added to the group std (veRL 1e-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// `reinforce_plus_plus`: discount of the returns (veRL `gamma`, 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
}

impl EstimatorSpec {
    /// The estimator `kind` with none of its keys set.
    pub fn named(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            norm_adv_by_std: None,
            epsilon: None,
            gamma: None,
        }
    }

    /// The estimator with its settings, refusing keys it does not read.
    pub fn resolve(&self, trainer: &str) -> Result<EstimatorPlan> {
        let estimator = Estimator::from_name(&self.kind)
            .map_err(|e| Error::config(format!("trainer `{trainer}`: estimator: {e}")))?;
        let takes_std = matches!(estimator, Estimator::Grpo | Estimator::GrpoPassk);
        let takes_gamma = estimator == Estimator::ReinforcePlusPlus;
        let foreign: Vec<&str> = [
            (
                "norm_adv_by_std",
                self.norm_adv_by_std.is_some() && !takes_std,
            ),
            ("epsilon", self.epsilon.is_some() && !takes_std),
            ("gamma", self.gamma.is_some() && !takes_gamma),
        ]
        .into_iter()
        .filter_map(|(k, bad)| bad.then_some(k))
        .collect();
        if !foreign.is_empty() {
            return Err(Error::config(format!(
                "trainer `{trainer}`: estimator `{}` does not read {}",
                self.kind,
                foreign.join(", ")
            )));
        }
        let gamma = self.gamma.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&gamma) {
            return Err(Error::config(format!(
                "trainer `{trainer}`: estimator gamma must be in [0, 1], got {gamma}"
            )));
        }
        let epsilon = self.epsilon.unwrap_or(1e-6);
        if !(epsilon >= 0.0 && epsilon.is_finite()) {
            return Err(Error::config(format!(
                "trainer `{trainer}`: estimator epsilon must be >= 0, got {epsilon}"
            )));
        }
        Ok(EstimatorPlan {
            estimator,
            norm_adv_by_std: self.norm_adv_by_std.unwrap_or(true),
            epsilon,
            gamma,
        })
    }
}

/// A resolved estimator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EstimatorPlan {
    /// The estimator.
    pub estimator: Estimator,
    /// Divide group advantages by the group std (false: Dr.GRPO).
    pub norm_adv_by_std: bool,
    /// Added to the group std before dividing.
    pub epsilon: f64,
    /// Discount of the returns (REINFORCE++).
    pub gamma: f64,
}

impl EstimatorPlan {
    /// Estimators whose baseline is the prompt's group.
    pub fn needs_groups(&self) -> bool {
        matches!(
            self.estimator,
            Estimator::Grpo
                | Estimator::Rloo
                | Estimator::GrpoPassk
                | Estimator::Opo
                | Estimator::ReinforcePlusPlusBaseline
        )
    }
}

/// What makes a group uninformative for dynamic sampling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupMetric {
    /// Correctness (veRL `acc`): all right or all wrong.
    #[default]
    Acc,
    /// The reward (veRL `score`, `seq_reward`): all rewards equal.
    #[serde(alias = "seq_reward")]
    Score,
}

/// DAPO's dynamic sampling (veRL `algorithm.filter_groups`): groups whose
/// metric does not vary teach nothing (zero advantage) and are dropped;
/// more prompts are sampled until `prompts_per_step` groups vary or
/// `max_num_gen_batches` rollout batches were drawn (then the step trains
/// on the groups it has, and says so).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterGroups {
    /// Whether dynamic sampling is on.
    pub enable: bool,
    /// What must vary within a group for it to be kept.
    pub metric: GroupMetric,
    /// Most rollout batches drawn in one step (default 10).
    pub max_num_gen_batches: usize,
}

impl Default for FilterGroups {
    fn default() -> Self {
        Self {
            enable: true,
            metric: GroupMetric::Acc,
            max_num_gen_batches: 10,
        }
    }
}

/// DAPO's soft overlong punishment: a response longer than
/// `max_new_tokens − len` tokens loses `penalty_factor · excess / len`
/// (at most `penalty_factor`) of reward.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlongBuffer {
    /// Whether the overlong penalty is on.
    pub enable: bool,
    /// Buffer length in tokens (0: a fifth of `max_new_tokens`, as DAPO's
    /// 4,096 of 20,480).
    pub len: usize,
    /// Largest reward lost, at `max_new_tokens` tokens.
    pub penalty_factor: f64,
}

impl Default for OverlongBuffer {
    fn default() -> Self {
        Self {
            enable: true,
            len: 0,
            penalty_factor: 1.0,
        }
    }
}

impl OverlongBuffer {
    /// The buffer length for responses of at most `max_new_tokens`.
    pub fn buffer_len(&self, max_new_tokens: usize) -> usize {
        if self.len > 0 {
            self.len
        } else {
            (max_new_tokens / 5).max(1)
        }
    }

    /// The (non-positive) reward added to a response of `length` tokens.
    pub fn penalty(&self, length: usize, max_new_tokens: usize) -> f64 {
        let buffer = self.buffer_len(max_new_tokens) as f64;
        let expected = max_new_tokens as f64 - buffer;
        let exceed = length as f64 - expected;
        (-exceed / buffer * self.penalty_factor).min(0.0)
    }
}

settings_with_common! {
    /// Settings of the RL kinds. `None` means "the kind's default"
    /// (`RlKind::defaults`).
    pub struct RlSettings {
        /// Distinct prompts per rollout batch (one rollout batch = one step).
        prompts_per_step: usize = 8,
        /// Rollouts per prompt (the group of GRPO / RLOO).
        samples_per_prompt: usize = 4,
        /// Sampling temperature of the rollouts.
        temperature: f64 = 0.7,
        /// Nucleus threshold of the rollouts (1: off).
        top_p: f64 = 1.0,
        /// Top-k cut-off of the rollouts (`None`: off).
        top_k: Option<usize> = None,
        /// Generation budget per rollout, in tokens.
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
        /// The advantage estimator and its keys (veRL `adv_estimator`).
        estimator: Option<EstimatorSpec> = None,
        /// veRL `policy_loss.loss_mode`: `vanilla`, `gspo`, `cispo`, `gpg`.
        loss_mode: Option<LossMode> = None,
        /// Lower clip range of the ratio, `1 − clip_low` (veRL `clip_ratio_low`;
        /// unset: the kind's default).
        #[serde(alias = "clip_ratio_low")]
        clip_low: Option<f32> = None,
        /// Upper clip range of the ratio, `1 + clip_high` (veRL `clip_ratio_high`;
        /// unset: the kind's default, 0.28 for DAPO).
        #[serde(alias = "clip_ratio_high")]
        clip_high: Option<f32> = None,
        /// Dual clip bound c > 1 for negative advantages (veRL `clip_ratio_c`).
        #[serde(alias = "clip_ratio_c")]
        dual_clip: Option<f32> = None,
        /// Weight of the KL penalty to the frozen reference (unset: the kind's
        /// default, 0.001, or 0 for `dr_grpo`, `dapo` and `gspo`; 0 takes no reference).
        kl_coef: Option<f32> = None,
        /// `k1`/`kl`, `abs`, `k2`/`mse`, `k3`/`low_var_kl` (veRL `kl_loss_type`).
        #[serde(alias = "kl_loss_type")]
        kl_estimator: KlEstimator = KlEstimator::K3,
        /// Where the KL penalty goes: a loss term or the rewards.
        kl_placement: KlPlacement = KlPlacement::Loss,
        /// Entropy bonus (the loss gets `− entropy_coef · agg(entropy)`).
        #[serde(alias = "entropy_coeff")]
        entropy_coef: f32 = 0.0,
        /// veRL `loss_agg_mode` (`gspo` always uses `seq-mean-token-mean`, as veRL).
        #[serde(alias = "loss_agg_mode")]
        loss_agg: Option<AggMode> = None,
        /// Dr.GRPO's constant S (default: `max_new_tokens`).
        loss_scale_factor: Option<f64> = None,
        /// DAPO dynamic sampling.
        filter_groups: Option<FilterGroups> = None,
        /// DAPO soft overlong punishment.
        overlong_buffer: Option<OverlongBuffer> = None,
        /// Truncated responses (no stop before `max_new_tokens`) get no loss.
        mask_truncated: Option<bool> = None,
        /// reinforce_pp: discount of the returns (or `estimator.gamma`).
        gamma: Option<f32> = None,
        /// reinforce_pp: subtract the prompt group's mean score first
        /// (the `reinforce_plus_plus_baseline` estimator).
        group_baseline: Option<bool> = None,
        /// grpo: divide by the group's std (or `estimator.norm_adv_by_std`).
        scale_by_std: Option<bool> = None,
        /// grpo: added to the group std (or `estimator.epsilon`).
        std_eps: Option<f32> = None,
    }
    common = CommonSettings::default();
}

/// The RL trainer kinds: one trainer, other defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RlKind {
    /// General RL with veRL's defaults; pick everything by name.
    Rl,
    /// The paper's stage A: REINFORCE++, KL loss, PPO clip 0.2.
    ReinforcePp,
    /// The paper's stage C: GRPO, KL loss.
    Grpo,
    /// RLOO: leave-one-out group baseline, KL loss.
    Rloo,
    /// Dr.GRPO: no std division, `seq-mean-token-sum-norm`, no KL.
    DrGrpo,
    /// DAPO: clip-higher 0.28, dynamic sampling, overlong buffer, token-mean, no KL.
    Dapo,
    /// GSPO: sequence-level ratio clipped to [1 − 3e-4, 1 + 4e-4], no KL.
    Gspo,
}

/// The defaults a kind gives to the keys left unset.
struct KindDefaults {
    estimator: &'static str,
    loss_mode: LossMode,
    clip: (f32, f32, Option<f32>),
    kl_coef: f32,
    loss_agg: AggMode,
    norm_adv_by_std: bool,
    filter_groups: bool,
    overlong_buffer: bool,
}

impl RlKind {
    /// Every RL kind.
    pub const ALL: [RlKind; 7] = [
        RlKind::Rl,
        RlKind::ReinforcePp,
        RlKind::Grpo,
        RlKind::Rloo,
        RlKind::DrGrpo,
        RlKind::Dapo,
        RlKind::Gspo,
    ];

    /// The kind's name in a trainer table (`kind = "grpo"`).
    pub fn kind(self) -> &'static str {
        match self {
            RlKind::Rl => "rl",
            RlKind::ReinforcePp => "reinforce_pp",
            RlKind::Grpo => "grpo",
            RlKind::Rloo => "rloo",
            RlKind::DrGrpo => "dr_grpo",
            RlKind::Dapo => "dapo",
            RlKind::Gspo => "gspo",
        }
    }

    fn defaults(self) -> KindDefaults {
        let base = KindDefaults {
            estimator: "grpo",
            loss_mode: LossMode::Vanilla,
            clip: (0.2, 0.2, Some(3.0)),
            kl_coef: 0.001,
            loss_agg: AggMode::TokenMean,
            norm_adv_by_std: true,
            filter_groups: false,
            overlong_buffer: false,
        };
        match self {
            RlKind::Rl => base,
            // The paper's kinds keep their historical settings: no dual clip.
            RlKind::ReinforcePp => KindDefaults {
                estimator: "reinforce_plus_plus",
                clip: (0.2, 0.2, None),
                ..base
            },
            RlKind::Grpo => KindDefaults {
                clip: (0.2, 0.2, None),
                ..base
            },
            RlKind::Rloo => KindDefaults {
                estimator: "rloo",
                clip: (0.2, 0.2, None),
                ..base
            },
            RlKind::DrGrpo => KindDefaults {
                kl_coef: 0.0,
                loss_agg: AggMode::SeqMeanTokenSumNorm,
                norm_adv_by_std: false,
                ..base
            },
            // veRL's DAPO recipe: clip 0.2 / 0.28, c = 10, no KL.
            RlKind::Dapo => KindDefaults {
                clip: (0.2, 0.28, Some(10.0)),
                kl_coef: 0.0,
                filter_groups: true,
                overlong_buffer: true,
                ..base
            },
            // veRL's GSPO recipe: clip 3e-4 / 4e-4, seq-mean-token-mean, no KL.
            RlKind::Gspo => KindDefaults {
                loss_mode: LossMode::Gspo,
                clip: (3e-4, 4e-4, None),
                kl_coef: 0.0,
                loss_agg: AggMode::SeqMeanTokenMean,
                ..base
            },
        }
    }

    /// Estimators a kind named after one accepts in its `estimator` table.
    fn fixed_estimators(self) -> Option<&'static [&'static str]> {
        match self {
            RlKind::ReinforcePp => Some(&["reinforce_plus_plus", "reinforce_plus_plus_baseline"]),
            RlKind::Grpo => Some(&["grpo"]),
            RlKind::Rloo => Some(&["rloo"]),
            _ => None,
        }
    }
}

/// Everything the RL step needs, with every default applied.
#[derive(Clone, Debug, PartialEq)]
pub struct RlPlan {
    /// The advantage estimator and its settings.
    pub estimator: EstimatorPlan,
    /// The policy loss (veRL `loss_mode`).
    pub loss_mode: LossMode,
    /// Clip ranges of the ratio.
    pub clip: ClipOptions,
    /// Weight of the KL penalty (0: no reference model).
    pub kl_coef: f32,
    /// How token losses are aggregated (veRL `loss_agg_mode`).
    pub loss_agg: AggMode,
    /// Dynamic sampling, when on.
    pub filter_groups: Option<FilterGroups>,
    /// The overlong penalty, when on.
    pub overlong_buffer: Option<OverlongBuffer>,
    /// Truncated responses get no loss.
    pub mask_truncated: bool,
}

impl RlSettings {
    /// Resolves `kind`'s defaults and checks every range; keys that do not
    /// apply (an estimator option on another estimator, a legacy key next
    /// to an `estimator` table) are refused by name.
    pub fn plan(&self, kind: RlKind) -> Result<RlPlan> {
        let name = kind.kind();
        let bad = |m: String| Err(Error::config(format!("trainer `{name}`: {m}")));
        self.common().validate(name)?;
        let d = kind.defaults();
        let legacy: Vec<&str> = [
            ("gamma", self.gamma.is_some()),
            ("group_baseline", self.group_baseline.is_some()),
            ("scale_by_std", self.scale_by_std.is_some()),
            ("std_eps", self.std_eps.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        let spec = match &self.estimator {
            Some(spec) => {
                if !legacy.is_empty() {
                    return bad(format!(
                        "{} cannot be set next to an `estimator` table; set it inside the table \
                         (gamma, norm_adv_by_std, epsilon)",
                        legacy.join(", ")
                    ));
                }
                if let Some(allowed) = kind.fixed_estimators() {
                    if !allowed.contains(&spec.kind.as_str()) {
                        return bad(format!(
                            "estimator `{}` does not fit this kind (it takes {}); use kind = \"rl\" to pick any estimator",
                            spec.kind,
                            allowed.join(" or ")
                        ));
                    }
                }
                spec.clone()
            }
            None => {
                let rpp = kind == RlKind::ReinforcePp;
                let grpo_like = d.estimator == "grpo" && kind != RlKind::Rl;
                let foreign: Vec<&str> = [
                    ("gamma", self.gamma.is_some() && !rpp),
                    ("group_baseline", self.group_baseline.is_some() && !rpp),
                    ("scale_by_std", self.scale_by_std.is_some() && !grpo_like),
                    ("std_eps", self.std_eps.is_some() && !grpo_like),
                ]
                .into_iter()
                .filter_map(|(k, bad)| bad.then_some(k))
                .collect();
                if !foreign.is_empty() {
                    return bad(format!(
                        "option(s) {} do not apply to this estimator",
                        foreign.join(", ")
                    ));
                }
                let mut spec = EstimatorSpec::named(d.estimator);
                if rpp && self.group_baseline == Some(true) {
                    spec.kind = "reinforce_plus_plus_baseline".into();
                    if self.gamma.is_some() {
                        return bad("gamma does not apply with group_baseline = true".into());
                    }
                } else if rpp {
                    spec.gamma = self.gamma.map(f64::from);
                }
                if grpo_like {
                    spec.norm_adv_by_std = Some(self.scale_by_std.unwrap_or(d.norm_adv_by_std));
                    spec.epsilon = self.std_eps.map(f64::from);
                }
                spec
            }
        };
        let mut estimator = spec.resolve(name)?;
        if self.estimator.is_some() && spec.norm_adv_by_std.is_none() {
            estimator.norm_adv_by_std = d.norm_adv_by_std;
        }
        if self.prompts_per_step == 0 || self.samples_per_prompt == 0 {
            return bad("prompts_per_step and samples_per_prompt must be at least 1".into());
        }
        if estimator.needs_groups() && self.samples_per_prompt < 2 {
            return bad(format!(
                "estimator `{}` needs samples_per_prompt >= 2 to form a group baseline (got {})",
                estimator.estimator.name(),
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
        let clip = ClipOptions {
            clip_low: self.clip_low.unwrap_or(d.clip.0),
            clip_high: self.clip_high.unwrap_or(d.clip.1),
            dual_clip: self.dual_clip.or(d.clip.2),
        };
        clip.validate()
            .map_err(|e| Error::config(format!("trainer `{name}`: {e}")))?;
        let kl_coef = self.kl_coef.unwrap_or(d.kl_coef);
        if !(kl_coef >= 0.0 && kl_coef.is_finite()) {
            return bad(format!("kl_coef must be >= 0, got {kl_coef}"));
        }
        if !(self.entropy_coef >= 0.0 && self.entropy_coef.is_finite()) {
            return bad(format!(
                "entropy_coef must be >= 0, got {}",
                self.entropy_coef
            ));
        }
        if let Some(s) = self.loss_scale_factor {
            if s.is_nan() || s <= 0.0 {
                return bad(format!("loss_scale_factor must be > 0, got {s}"));
            }
        }
        let filter_groups = match &self.filter_groups {
            Some(f) if f.enable => Some(f.clone()),
            Some(_) => None,
            None => d.filter_groups.then(FilterGroups::default),
        };
        if let Some(f) = &filter_groups {
            if f.max_num_gen_batches == 0 {
                return bad("filter_groups.max_num_gen_batches must be at least 1".into());
            }
            if self.samples_per_prompt < 2 {
                return bad("filter_groups needs samples_per_prompt >= 2".into());
            }
        }
        let overlong_buffer = match &self.overlong_buffer {
            Some(o) if o.enable => Some(o.clone()),
            Some(_) => None,
            None => d.overlong_buffer.then(OverlongBuffer::default),
        };
        if let Some(o) = &overlong_buffer {
            if o.buffer_len(self.max_new_tokens) > self.max_new_tokens {
                return bad(format!(
                    "overlong_buffer.len ({}) exceeds max_new_tokens ({})",
                    o.len, self.max_new_tokens
                ));
            }
            if !(o.penalty_factor >= 0.0 && o.penalty_factor.is_finite()) {
                return bad(format!(
                    "overlong_buffer.penalty_factor must be >= 0, got {}",
                    o.penalty_factor
                ));
            }
        }
        Ok(RlPlan {
            estimator,
            loss_mode: self.loss_mode.unwrap_or(d.loss_mode),
            clip,
            kl_coef,
            loss_agg: self.loss_agg.unwrap_or(d.loss_agg),
            filter_groups,
            overlong_buffer,
            mask_truncated: self.mask_truncated.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_expand_to_the_published_settings() {
        let s = RlSettings::default();
        let dr = s.plan(RlKind::DrGrpo).unwrap();
        assert!(!dr.estimator.norm_adv_by_std);
        assert_eq!(dr.loss_agg, AggMode::SeqMeanTokenSumNorm);
        assert_eq!(dr.kl_coef, 0.0);
        let dapo = s.plan(RlKind::Dapo).unwrap();
        assert_eq!((dapo.clip.clip_low, dapo.clip.clip_high), (0.2, 0.28));
        assert!(dapo.filter_groups.is_some() && dapo.overlong_buffer.is_some());
        let gspo = s.plan(RlKind::Gspo).unwrap();
        assert_eq!(gspo.loss_mode, LossMode::Gspo);
        assert_eq!(gspo.loss_agg, AggMode::SeqMeanTokenMean);
        let rpp = s.plan(RlKind::ReinforcePp).unwrap();
        assert_eq!(rpp.estimator.estimator, Estimator::ReinforcePlusPlus);
        assert_eq!(rpp.clip.dual_clip, None);
        // A key set in the table beats the preset.
        let t = RlSettings {
            clip_high: Some(0.3),
            filter_groups: Some(FilterGroups {
                enable: false,
                ..FilterGroups::default()
            }),
            ..RlSettings::default()
        };
        let p = t.plan(RlKind::Dapo).unwrap();
        assert_eq!(p.clip.clip_high, 0.3);
        assert!(p.filter_groups.is_none());
    }

    #[test]
    fn estimator_keys_are_checked_against_the_estimator() {
        let mut s = RlSettings {
            estimator: Some(EstimatorSpec {
                gamma: Some(0.9),
                ..EstimatorSpec::named("grpo")
            }),
            ..RlSettings::default()
        };
        let e = s.plan(RlKind::Rl).unwrap_err().to_string();
        assert!(e.contains("does not read gamma"), "{e}");
        s.estimator = Some(EstimatorSpec::named("rloo"));
        let e = s.plan(RlKind::Grpo).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
        s.estimator = Some(EstimatorSpec::named("gae"));
        let e = s.plan(RlKind::Rl).unwrap_err().to_string();
        assert!(e.contains("unknown advantage estimator \"gae\""), "{e}");
        let s = RlSettings {
            estimator: Some(EstimatorSpec::named("grpo")),
            scale_by_std: Some(false),
            ..RlSettings::default()
        };
        let e = s.plan(RlKind::Rl).unwrap_err().to_string();
        assert!(e.contains("inside the table"), "{e}");
        let s = RlSettings {
            group_baseline: Some(true),
            ..RlSettings::default()
        };
        let p = s.plan(RlKind::ReinforcePp).unwrap();
        assert_eq!(p.estimator.estimator, Estimator::ReinforcePlusPlusBaseline);
    }

    #[test]
    fn overlong_penalty_is_dapos() {
        let o = OverlongBuffer {
            enable: true,
            len: 4,
            penalty_factor: 1.0,
        };
        // max 20: no penalty up to 16 tokens, then −1/4 per token, down to −1.
        assert_eq!(o.penalty(10, 20), 0.0);
        assert_eq!(o.penalty(16, 20), 0.0);
        assert_eq!(o.penalty(18, 20), -0.5);
        assert_eq!(o.penalty(20, 20), -1.0);
        assert_eq!(OverlongBuffer::default().buffer_len(20480), 4096);
    }
}
