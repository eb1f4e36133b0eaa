//! `reinforce_plus_plus_baseline`: score minus group mean (singletons: 0
//! baseline), spread over the response, whitened over the batch.

use metaalign_core::Result;

use super::{groups, mean, AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{broadcast, masked_whiten, mul, row_sums};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let scores = row_sums(input.token_level_rewards);
    let mut centered = scores.clone();
    for members in groups(input.index) {
        if members.len() > 1 {
            let m = mean(&scores, &members);
            for &i in &members {
                centered[i] = scores[i] - m;
            }
        }
    }
    let mask = input.response_mask;
    let spread = broadcast(&centered, mask);
    Ok(AdvantageOutput::same(mul(
        &masked_whiten(&spread, mask)?,
        mask,
    )))
}
