//! `gspo`: one ratio per sequence, `s = exp(min(mean_valid(logp - old), 10))`,
//! clipped like PPO (no dual clip) and always aggregated
//! `seq-mean-token-mean`, as veRL does whatever `loss_agg_mode` says.

use metaalign_core::Result;

use super::{flag, PolicyLossInput, PolicyLossOutput};
use crate::algorithms::agg::{agg_loss, AggMode};
use crate::algorithms::masked::{masked_mean, zip_map, Rows};

pub(super) fn compute(input: &PolicyLossInput<'_>) -> Result<PolicyLossOutput> {
    let clip = input.clip;
    let neg_kl = zip_map(input.log_prob, input.old_log_prob, |a, b| a - b);
    let mut losses = Rows::new();
    let mut clipped = Rows::new();
    for ((nk, m), adv) in neg_kl.iter().zip(input.response_mask).zip(input.advantages) {
        let len = m.iter().sum::<f64>().max(1.0);
        let seq: f64 = nk.iter().zip(m).map(|(k, m)| k * m).sum::<f64>() / len;
        let ratio = seq.min(10.0).exp();
        let (mut l, mut cf) = (vec![], vec![]);
        for &a in adv {
            let l1 = -a * ratio;
            let l2 = -a * ratio.clamp(1.0 - clip.low, 1.0 + clip.high);
            l.push(l1.max(l2));
            cf.push(flag(l2 > l1));
        }
        losses.push(l);
        clipped.push(cf);
    }
    let mask = input.response_mask;
    let ppo_kl = -masked_mean(&neg_kl, mask);
    Ok(PolicyLossOutput {
        pg_loss: agg_loss(&losses, mask, AggMode::SeqMeanTokenMean)?,
        pg_clipfrac: masked_mean(&clipped, mask),
        ppo_kl,
        pg_clipfrac_lower: 0.0,
    })
}
