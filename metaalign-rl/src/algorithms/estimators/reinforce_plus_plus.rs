//! `reinforce_plus_plus`: discounted returns (reset after the end of each
//! response), whitened over the whole batch's valid tokens.

use metaalign_core::Result;

use super::{AdvantageInput, AdvantageOutput};
use crate::algorithms::masked::{masked_whiten, mul};

pub(super) fn compute(input: &AdvantageInput<'_>) -> Result<AdvantageOutput> {
    let rewards = input.token_level_rewards;
    let mask = input.response_mask;
    let returns: Vec<Vec<f64>> = rewards
        .iter()
        .zip(mask)
        .map(|(r, m)| {
            let mut out = vec![0.0; r.len()];
            let mut running = 0.0;
            for t in (0..r.len()).rev() {
                running = r[t] + input.gamma * running;
                out[t] = running;
                running *= m[t];
            }
            out
        })
        .collect();
    let advantages = mul(&masked_whiten(&returns, mask)?, mask);
    Ok(AdvantageOutput {
        advantages,
        returns,
    })
}
