//! Outcome advantage estimators under veRL's `adv_estimator` names, each in
//! its own file, with veRL's exact semantics (`core_algos.py`). Adding one
//! means a file here plus a line in [`Estimator`].

use metaalign_core::{Error, Result};

use super::masked::{check_rect, check_same_shape, Rows};

mod gpg;
mod grpo;
mod grpo_passk;
mod opo;
mod reinforce_plus_plus;
mod reinforce_plus_plus_baseline;
mod remax;
mod rloo;

/// Inputs shared by all estimators (veRL's keyword arguments).
#[derive(Clone, Copy, Debug)]
pub struct AdvantageInput<'a> {
    /// `(bs, len)` token-level rewards (outcome reward on the last token).
    pub token_level_rewards: &'a [Vec<f64>],
    /// `(bs, len)` 1 for response tokens, 0 for padding.
    pub response_mask: &'a [Vec<f64>],
    /// Group id (prompt) of each response.
    pub index: &'a [String],
    /// Added to the group std before dividing (veRL default 1e-6).
    pub epsilon: f64,
    /// GRPO: divide by the group std (false = Dr.GRPO).
    pub norm_adv_by_std_in_grpo: bool,
    /// Discount for REINFORCE++ returns (veRL `algorithm.gamma`).
    pub gamma: f64,
    /// ReMax: reward of the greedy baseline rollout, one per response.
    pub reward_baselines: Option<&'a [f64]>,
}

impl AdvantageInput<'_> {
    /// Checks shapes: rectangular rewards, mask of the same shape, one
    /// index (and baseline, when given) per response.
    pub fn validate(&self) -> Result<()> {
        check_rect("token_level_rewards", self.token_level_rewards)?;
        check_same_shape(
            "token_level_rewards",
            self.token_level_rewards,
            "response_mask",
            self.response_mask,
        )?;
        let bs = self.token_level_rewards.len();
        if self.index.len() != bs {
            return Err(Error::Shape(format!(
                "index has {} entries for {bs} responses",
                self.index.len()
            )));
        }
        if let Some(b) = self.reward_baselines {
            if b.len() != bs {
                return Err(Error::Shape(format!(
                    "reward_baselines has {} entries for {bs} responses",
                    b.len()
                )));
            }
        }
        Ok(())
    }
}

/// Advantages and returns, both `(bs, len)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AdvantageOutput {
    /// Per-token advantages.
    pub advantages: Rows,
    /// Per-token returns (equal to the advantages for group estimators, as in veRL).
    pub returns: Rows,
}

impl AdvantageOutput {
    fn same(adv: Rows) -> Self {
        Self {
            returns: adv.clone(),
            advantages: adv,
        }
    }
}

/// An advantage estimator by veRL name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// `grpo`: group mean (and std unless `norm_adv_by_std_in_grpo = false`, Dr.GRPO).
    Grpo,
    /// `rloo`: leave-one-out baseline.
    Rloo,
    /// `reinforce_plus_plus`: discounted returns, batch-whitened.
    ReinforcePlusPlus,
    /// `reinforce_plus_plus_baseline`: group mean subtracted, batch-whitened.
    ReinforcePlusPlusBaseline,
    /// `remax`: returns minus the greedy rollout's reward.
    Remax,
    /// `opo`: length-weighted group baseline.
    Opo,
    /// `gpg`: group mean subtracted, scaled by bs / #non-zero scores.
    Gpg,
    /// `grpo_passk`: only each group's best response gets `r_max - r_2nd`.
    GrpoPassk,
}

impl Estimator {
    /// Every estimator, in registry order.
    pub const ALL: [Estimator; 8] = [
        Estimator::Grpo,
        Estimator::Rloo,
        Estimator::ReinforcePlusPlus,
        Estimator::ReinforcePlusPlusBaseline,
        Estimator::Remax,
        Estimator::Opo,
        Estimator::Gpg,
        Estimator::GrpoPassk,
    ];

    /// veRL's name.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Grpo => "grpo",
            Estimator::Rloo => "rloo",
            Estimator::ReinforcePlusPlus => "reinforce_plus_plus",
            Estimator::ReinforcePlusPlusBaseline => "reinforce_plus_plus_baseline",
            Estimator::Remax => "remax",
            Estimator::Opo => "opo",
            Estimator::Gpg => "gpg",
            Estimator::GrpoPassk => "grpo_passk",
        }
    }

    /// Looks an estimator up by veRL name.
    pub fn from_name(name: &str) -> Result<Self> {
        crate::algorithms::by_name(&Self::ALL, Self::name, name, "advantage estimator")
    }

    /// Runs the estimator after validating shapes.
    pub fn compute(self, input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
        input.validate()?;
        match self {
            Estimator::Grpo => grpo::compute(input),
            Estimator::Rloo => rloo::compute(input),
            Estimator::ReinforcePlusPlus => reinforce_plus_plus::compute(input),
            Estimator::ReinforcePlusPlusBaseline => reinforce_plus_plus_baseline::compute(input),
            Estimator::Remax => remax::compute(input),
            Estimator::Opo => opo::compute(input),
            Estimator::Gpg => gpg::compute(input),
            Estimator::GrpoPassk => grpo_passk::compute(input),
        }
    }
}

/// Response indices per group, groups in order of first appearance,
/// members in batch order.
pub(crate) fn groups(index: &[String]) -> Vec<Vec<usize>> {
    let mut order: Vec<&str> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, id) in index.iter().enumerate() {
        match order.iter().position(|g| *g == id.as_str()) {
            Some(g) => members[g].push(i),
            None => {
                order.push(id);
                members.push(vec![i]);
            }
        }
    }
    members
}

/// Mean of the selected scores.
pub(crate) fn mean(scores: &[f64], members: &[usize]) -> f64 {
    members.iter().map(|&i| scores[i]).sum::<f64>() / members.len() as f64
}

/// Unbiased (Bessel) std of the selected scores, as `torch.std`.
pub(crate) fn std(scores: &[f64], members: &[usize]) -> f64 {
    let m = mean(scores, members);
    let ss: f64 = members.iter().map(|&i| (scores[i] - m).powi(2)).sum();
    (ss / (members.len() as f64 - 1.0)).sqrt()
}

/// Group mean and std as veRL's GRPO uses them: a singleton group gets
/// mean 0 and std 1.
pub(crate) fn group_stats(scores: &[f64], members: &[usize]) -> (f64, f64) {
    if members.len() == 1 {
        (0.0, 1.0)
    } else {
        (mean(scores, members), std(scores, members))
    }
}
