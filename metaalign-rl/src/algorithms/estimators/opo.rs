//! `opo`: score minus the group's length-weighted mean score
//! (`sum(len * r) / sum(len)`); singletons get baseline 0.

use metaalign_core::Result;

use super::{groups, AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{broadcast, row_sums};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let scores = row_sums(input.token_level_rewards);
    let lengths = row_sums(input.response_mask);
    let mut adv = scores.clone();
    for members in groups(input.index) {
        if members.len() > 1 {
            let num: f64 = members.iter().map(|&i| lengths[i] * scores[i]).sum();
            let den: f64 = members.iter().map(|&i| lengths[i]).sum();
            let baseline = num / den;
            for &i in &members {
                adv[i] = scores[i] - baseline;
            }
        }
    }
    Ok(AdvantageOutput::same(broadcast(&adv, input.response_mask)))
}
