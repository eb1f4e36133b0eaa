//! `grpo_passk`: in each group only the best response gets a non-zero
//! advantage, `r_max - r_second_max` (divided by `std_g + eps` when
//! `norm_adv_by_std_in_grpo`); groups need at least two responses.

use metaalign_core::{Error, Result};

use super::{groups, std, AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{broadcast, row_sums};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let scores = row_sums(input.token_level_rewards);
    let mut adv = vec![0.0; scores.len()];
    for members in groups(input.index) {
        if members.len() < 2 {
            return Err(Error::Shape(format!(
                "grpo_passk needs at least 2 responses per group; group {:?} has {}",
                input.index[members[0]],
                members.len()
            )));
        }
        // First best (ties: earliest), then the best of the rest.
        let mut best = members[0];
        for &i in &members[1..] {
            if scores[i] > scores[best] {
                best = i;
            }
        }
        let second = members
            .iter()
            .filter(|&&i| i != best)
            .map(|&i| scores[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let mut a = scores[best] - second;
        if input.norm_adv_by_std_in_grpo {
            a /= std(&scores, &members) + input.epsilon;
        }
        adv[best] = a;
    }
    Ok(AdvantageOutput::same(broadcast(&adv, input.response_mask)))
}
