//! `remax`: reverse cumulative sum of the masked rewards minus the greedy
//! baseline's reward on every valid token.

use metaalign_core::{Error, Result};

use super::{AdvantageInput, AdvantageOutput};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let baselines = input.reward_baselines.ok_or_else(|| Error::Config {
        message: "remax needs reward_baselines (one per response)".into(),
    })?;
    let mut returns = Vec::with_capacity(baselines.len());
    let mut advantages = Vec::with_capacity(baselines.len());
    for ((r, m), b) in input
        .token_level_rewards
        .iter()
        .zip(input.response_mask)
        .zip(baselines)
    {
        let mut ret = vec![0.0; r.len()];
        let mut acc = 0.0;
        for t in (0..r.len()).rev() {
            acc += r[t] * m[t];
            ret[t] = acc;
        }
        advantages.push(ret.iter().zip(m).map(|(g, m)| g - b * m).collect());
        returns.push(ret);
    }
    Ok(AdvantageOutput {
        advantages,
        returns,
    })
}
