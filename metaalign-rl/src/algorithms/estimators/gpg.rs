//! `gpg`: `alpha * (r - mean_g) / f_norm` with `alpha = bs / max(1,
//! #non-zero scores)` and `f_norm = 1` (veRL's defaults); singletons use
//! mean 0.

use metaalign_core::Result;

use super::{group_stats, groups, AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{broadcast, row_sums};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let scores = row_sums(input.token_level_rewards);
    let bs = scores.len() as f64;
    let nonzero = scores.iter().filter(|s| **s != 0.0).count().max(1) as f64;
    let alpha = bs / nonzero;
    let f_norm = 1.0;
    let mut adv = scores.clone();
    for members in groups(input.index) {
        let (mean, _) = group_stats(&scores, &members);
        for &i in &members {
            adv[i] = alpha * (scores[i] - mean) / f_norm;
        }
    }
    Ok(AdvantageOutput::same(broadcast(&adv, input.response_mask)))
}
