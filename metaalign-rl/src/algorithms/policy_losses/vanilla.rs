//! `vanilla`: PPO clip. `ratio = exp(clamp(logp - old, ±20))`;
//! `l = max(-A r, -A clip(r, 1-low, 1+high))`, and for `A < 0` also
//! `min(l, -A c)` (dual clip).

use metaalign_core::{Error, Result};

use super::{flag, PolicyLossInput, PolicyLossOutput, LOG_RATIO_CLAMP};
use crate::algorithms::agg::agg_loss;
use crate::algorithms::masked::{masked_mean, Rows};

pub(super) fn compute(input: &PolicyLossInput<'_>) -> Result<PolicyLossOutput> {
    let clip = input.clip;
    if clip.c <= 1.0 {
        return Err(Error::Config {
            message: format!("clip_ratio_c must be greater than 1.0, got {}", clip.c),
        });
    }
    let mut neg_kl = Rows::new();
    let mut losses = Rows::new();
    let mut clipped = Rows::new();
    let mut clipped_lower = Rows::new();
    for ((lp, old), adv) in input
        .log_prob
        .iter()
        .zip(input.old_log_prob)
        .zip(input.advantages)
    {
        let (mut nk, mut l, mut cf, mut cl) = (vec![], vec![], vec![], vec![]);
        for ((&lp, &old), &a) in lp.iter().zip(old).zip(adv) {
            let d = (lp - old).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP);
            let ratio = d.exp();
            let l1 = -a * ratio;
            let l2 = -a * ratio.clamp(1.0 - clip.low, 1.0 + clip.high);
            let clip1 = l1.max(l2);
            let l3 = -a * clip.c;
            let clip2 = l3.min(clip1);
            nk.push(-d);
            cf.push(flag(l2 > l1));
            cl.push(flag(clip1 > l3 && a < 0.0));
            l.push(if a < 0.0 { clip2 } else { clip1 });
        }
        neg_kl.push(nk);
        losses.push(l);
        clipped.push(cf);
        clipped_lower.push(cl);
    }
    let mask = input.response_mask;
    Ok(PolicyLossOutput {
        pg_loss: agg_loss(&losses, mask, input.loss_agg_mode)?,
        pg_clipfrac: masked_mean(&clipped, mask),
        ppo_kl: masked_mean(&neg_kl, mask),
        pg_clipfrac_lower: masked_mean(&clipped_lower, mask),
    })
}
