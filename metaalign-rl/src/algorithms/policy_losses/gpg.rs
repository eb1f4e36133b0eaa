//! `gpg`: `-log_prob * A`, aggregated by `loss_agg_mode`; veRL reports no
//! metrics for it, so they are 0 here.

use metaalign_core::Result;

use super::{PolicyLossInput, PolicyLossOutput};
use crate::algorithms::agg::agg_loss;
use crate::algorithms::masked::zip_map;

pub(super) fn compute(input: &PolicyLossInput<'_>) -> Result<PolicyLossOutput> {
    let losses = zip_map(input.log_prob, input.advantages, |lp, a| -lp * a);
    Ok(PolicyLossOutput {
        pg_loss: agg_loss(&losses, input.response_mask, input.loss_agg_mode)?,
        pg_clipfrac: 0.0,
        ppo_kl: 0.0,
        pg_clipfrac_lower: 0.0,
    })
}
