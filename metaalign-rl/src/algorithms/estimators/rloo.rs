//! `rloo`: `n/(n-1) * (r - mean_g)`, the leave-one-out baseline; singletons
//! keep their raw score.

use metaalign_core::Result;

use super::{groups, mean, AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{broadcast, row_sums};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let scores = row_sums(input.token_level_rewards);
    let mut adv = scores.clone();
    for members in groups(input.index) {
        let n = members.len() as f64;
        if members.len() > 1 {
            let m = mean(&scores, &members);
            for &i in &members {
                adv[i] = scores[i] * n / (n - 1.0) - m * n / (n - 1.0);
            }
        }
    }
    Ok(AdvantageOutput::same(broadcast(&adv, input.response_mask)))
}
