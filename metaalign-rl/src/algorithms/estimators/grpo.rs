//! `grpo`: `(r - mean_g) / (std_g + eps)`, or `r - mean_g` when
//! `norm_adv_by_std_in_grpo` is false (Dr.GRPO); singletons use mean 0, std 1.

use metaalign_core::Result;

use super::{group_stats, groups, AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{broadcast, row_sums};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let scores = row_sums(input.token_level_rewards);
    let mut adv = scores.clone();
    for members in groups(input.index) {
        let (mean, std) = group_stats(&scores, &members);
        for &i in &members {
            adv[i] = if input.norm_adv_by_std_in_grpo {
                (scores[i] - mean) / (std + input.epsilon)
            } else {
                scores[i] - mean
            };
        }
    }
    Ok(AdvantageOutput::same(broadcast(&adv, input.response_mask)))
}
