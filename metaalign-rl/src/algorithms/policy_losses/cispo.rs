//! `cispo`: `-sg(clip(ratio, 1-low, 1+high)) * A * log_prob`, with
//! `ratio = exp(clamp(logp - old, ±20))`; `pg_clipfrac` counts tokens whose
//! ratio was changed by clipping.

use metaalign_core::Result;

use super::{flag, PolicyLossInput, PolicyLossOutput, LOG_RATIO_CLAMP};
use crate::algorithms::agg::agg_loss;
use crate::algorithms::masked::{masked_mean, Rows};

pub(super) fn compute(input: &PolicyLossInput<'_>) -> Result<PolicyLossOutput> {
    let clip = input.clip;
    let mut neg_kl = Rows::new();
    let mut losses = Rows::new();
    let mut clipped = Rows::new();
    for ((lp, old), adv) in input
        .log_prob
        .iter()
        .zip(input.old_log_prob)
        .zip(input.advantages)
    {
        let (mut nk, mut l, mut cf) = (vec![], vec![], vec![]);
        for ((&lp, &old), &a) in lp.iter().zip(old).zip(adv) {
            let d = (lp - old).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP);
            let ratio = d.exp();
            let c = ratio.clamp(1.0 - clip.low, 1.0 + clip.high);
            nk.push(-d);
            l.push(-c * a * lp);
            cf.push(flag(ratio != c));
        }
        neg_kl.push(nk);
        losses.push(l);
        clipped.push(cf);
    }
    let mask = input.response_mask;
    Ok(PolicyLossOutput {
        pg_loss: agg_loss(&losses, mask, input.loss_agg_mode)?,
        pg_clipfrac: masked_mean(&clipped, mask),
        ppo_kl: masked_mean(&neg_kl, mask),
        pg_clipfrac_lower: 0.0,
    })
}
