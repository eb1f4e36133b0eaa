//! Differentiable candle versions of the loss pieces: per-token KL, the
//! policy losses (`vanilla`, `gspo`, `cispo`, `gpg`) and loss aggregation. Inputs are [B, T] f32 tensors
//! with an f32 0/1 mask; masked positions are zeroed with `where_cond`
//! (never by multiplying, so a NaN in padding cannot leak). Each function
//! is tested against its veRL unit (`tests/verl_units_agree.rs`).

use candle_core::{DType, Tensor, D};
use metaalign_core::{Error, Result};

use super::agg::AggMode;
use super::kl::{KlEstimator, K3_EXP_CLAMP, KL_CLAMP};
use super::loss::{AggScale, ClipOptions, LOG_RATIO_CLAMP, SEQ_LOG_RATIO_MAX};
use super::policy_losses::LossMode;

fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("loss tensor op failed: {e}"))
}

/// Replaces masked-out positions by 0 (NaN-safe).
pub fn mask_fill(values: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let keep = mask.ne(0f32).map_err(cerr)?;
    keep.where_cond(values, &values.zeros_like().map_err(cerr)?)
        .map_err(cerr)
}

/// Per-token KL estimate [B, T] (differentiable in `logp`).
pub fn kl(est: KlEstimator, logp: &Tensor, ref_logp: &Tensor) -> Result<Tensor> {
    let delta = (logp - ref_logp).map_err(cerr)?;
    let v = match est {
        KlEstimator::K1 => delta,
        KlEstimator::Abs => delta.abs().map_err(cerr)?,
        KlEstimator::K2 => (delta.sqr().map_err(cerr)? * 0.5).map_err(cerr)?,
        KlEstimator::K3 => {
            let u = delta
                .neg()
                .map_err(cerr)?
                .clamp(-K3_EXP_CLAMP, K3_EXP_CLAMP)
                .map_err(cerr)?;
            ((u.exp().map_err(cerr)? - &u).map_err(cerr)? - 1.0).map_err(cerr)?
        }
    };
    v.clamp(-KL_CLAMP, KL_CLAMP).map_err(cerr)
}

/// Per-token pieces of a policy loss, all [B, T] (masked positions are
/// not zeroed: aggregate with the mask).
pub struct TokenLoss {
    /// The per-token loss (differentiable in `logp`).
    pub loss: Tensor,
    /// f32 1/0 (detached): the clip bound (veRL's `pg_clipfrac`).
    pub clipped: Tensor,
    /// f32 1/0 (detached): the dual clip bound (`pg_clipfrac_lower`).
    pub clipped_lower: Tensor,
    /// `logp − old` (detached): `−ppo_kl` per token.
    pub log_ratio: Tensor,
}

fn flag(t: Tensor) -> Result<Tensor> {
    t.to_dtype(DType::F32).map_err(cerr).map(|t| t.detach())
}

/// The per-token loss of `mode` with veRL's forward values and gradients
/// (see [`super::policy_losses`], which these are tested against).
/// `mask` is needed by `gspo`, whose ratio is per sequence.
pub fn policy_loss(
    mode: LossMode,
    logp: &Tensor,
    old_logp: &Tensor,
    advantages: &Tensor,
    mask: &Tensor,
    opts: &ClipOptions,
) -> Result<TokenLoss> {
    let raw_log_ratio = (logp - old_logp).map_err(cerr)?;
    let log_ratio = raw_log_ratio
        .clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
        .map_err(cerr)?;
    let neg_adv = advantages.neg().map_err(cerr)?;
    let zeros = logp.zeros_like().map_err(cerr)?.detach();
    let (lo, hi) = (1.0 - opts.clip_low, 1.0 + opts.clip_high);
    let out = match mode {
        LossMode::Vanilla => {
            let ratio = log_ratio.exp().map_err(cerr)?;
            let l1 = (&neg_adv * &ratio).map_err(cerr)?;
            let l2 = (&neg_adv * ratio.clamp(lo, hi).map_err(cerr)?).map_err(cerr)?;
            let clip1 = l1.maximum(&l2).map_err(cerr)?;
            let clipped = flag(l2.gt(&l1).map_err(cerr)?)?;
            match opts.dual_clip {
                Some(c) => {
                    let cap = (&neg_adv * f64::from(c)).map_err(cerr)?;
                    let negative = advantages.lt(0f32).map_err(cerr)?;
                    let capped = clip1.minimum(&cap).map_err(cerr)?;
                    let lower = (negative.to_dtype(DType::F32).map_err(cerr)?
                        * clip1
                            .gt(&cap)
                            .map_err(cerr)?
                            .to_dtype(DType::F32)
                            .map_err(cerr)?)
                    .map_err(cerr)?;
                    TokenLoss {
                        loss: negative.where_cond(&capped, &clip1).map_err(cerr)?,
                        clipped,
                        clipped_lower: lower.detach(),
                        log_ratio: raw_log_ratio.detach(),
                    }
                }
                None => TokenLoss {
                    loss: clip1,
                    clipped,
                    clipped_lower: zeros.clone(),
                    log_ratio: raw_log_ratio.detach(),
                },
            }
        }
        LossMode::Gspo => {
            // One ratio per sequence, exp(mean of the valid log-ratios),
            // whose gradient reaches every token: logp − sg(logp) + sg(seq).
            let valid = mask_fill(&raw_log_ratio, mask)?.detach();
            let lengths = mask
                .sum_keepdim(D::Minus1)
                .map_err(cerr)?
                .clamp(1f32, f32::MAX)
                .map_err(cerr)?;
            let seq = valid
                .sum_keepdim(D::Minus1)
                .map_err(cerr)?
                .div(&lengths)
                .map_err(cerr)?;
            let log_seq = (logp - logp.detach())
                .map_err(cerr)?
                .broadcast_add(&seq)
                .map_err(cerr)?
                .minimum(SEQ_LOG_RATIO_MAX)
                .map_err(cerr)?;
            let ratio = log_seq.exp().map_err(cerr)?;
            let l1 = (&neg_adv * &ratio).map_err(cerr)?;
            let l2 = (&neg_adv * ratio.clamp(lo, hi).map_err(cerr)?).map_err(cerr)?;
            TokenLoss {
                loss: l1.maximum(&l2).map_err(cerr)?,
                clipped: flag(l2.gt(&l1).map_err(cerr)?)?,
                clipped_lower: zeros,
                log_ratio: raw_log_ratio.detach(),
            }
        }
        LossMode::Cispo => {
            // −sg(clip(ρ)) · A · logp: every token keeps a gradient, weighted
            // by its clipped (detached) importance ratio.
            let ratio = log_ratio.exp().map_err(cerr)?.detach();
            let clipped_ratio = ratio.clamp(lo, hi).map_err(cerr)?;
            TokenLoss {
                loss: ((&neg_adv * &clipped_ratio).map_err(cerr)? * logp).map_err(cerr)?,
                clipped: flag(ratio.ne(&clipped_ratio).map_err(cerr)?)?,
                clipped_lower: zeros,
                log_ratio: raw_log_ratio.detach(),
            }
        }
        LossMode::Gpg => TokenLoss {
            loss: (&neg_adv * logp).map_err(cerr)?,
            clipped: zeros.clone(),
            clipped_lower: zeros,
            log_ratio: raw_log_ratio.detach(),
        },
    };
    Ok(out)
}

/// Aggregates per-token values [B, T] of (part of) a mini-batch into a
/// scalar with the mini-batch's denominators ([`AggScale`]), so that
/// micro-batch losses add up to the mini-batch's.
pub fn aggregate(
    values: &Tensor,
    mask: &Tensor,
    mode: AggMode,
    scale: &AggScale,
) -> Result<Tensor> {
    let safe = |d: f64| if d > 0.0 { d } else { 1.0 };
    let masked = mask_fill(values, mask)?;
    let total = masked.sum_all().map_err(cerr)?;
    match mode {
        AggMode::TokenMean => (total / safe(scale.tokens)).map_err(cerr),
        AggMode::TokenSum => Ok(total),
        AggMode::SeqMeanTokenSum => (total / safe(scale.nonempty)).map_err(cerr),
        AggMode::SeqMeanTokenSumNorm => (total / safe(scale.rows * safe(scale.norm))).map_err(cerr),
        AggMode::SeqMeanTokenMean => {
            let row_sum = masked.sum(D::Minus1).map_err(cerr)?;
            let counts = mask.sum(D::Minus1).map_err(cerr)?;
            // Empty rows: sum 0 over a count clamped to 1 contributes 0.
            let per_row = row_sum
                .div(&counts.clamp(1f32, f32::MAX).map_err(cerr)?)
                .map_err(cerr)?;
            (per_row.sum_all().map_err(cerr)? / safe(scale.nonempty)).map_err(cerr)
        }
    }
}

/// A [B, T] tensor from padded rows (as the array functions take them).
pub fn from_rows(rows: &[Vec<f32>], device: &candle_core::Device) -> Result<Tensor> {
    let b = rows.len();
    let t = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != t) {
        return Err(Error::Shape("rows of different widths".into()));
    }
    Tensor::from_vec(rows.concat(), (b, t), device).map_err(cerr)
}

/// A [B, T] f32 0/1 tensor from a boolean mask.
pub fn mask_tensor(mask: &[Vec<bool>], device: &candle_core::Device) -> Result<Tensor> {
    let rows: Vec<Vec<f32>> = mask
        .iter()
        .map(|m| m.iter().map(|&x| f32::from(u8::from(x))).collect())
        .collect();
    from_rows(&rows, device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Central finite differences of `f` at `base` against autograd.
    fn check_gradient(f: &dyn Fn(&Tensor) -> Tensor, base: Vec<f32>, skip: &[usize]) {
        let dev = Device::Cpu;
        let n = base.len();
        let var = Var::from_vec(base.clone(), (1, n), &dev).unwrap();
        let grads = f(var.as_tensor()).backward().unwrap();
        let g = grads
            .get(var.as_tensor())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for j in 0..n {
            if skip.contains(&j) {
                assert_eq!(g[0][j], 0.0, "masked token {j} got a gradient");
                continue;
            }
            let h = 1e-3f32;
            let at = |d: f32| {
                let mut v = base.clone();
                v[j] += d;
                f(&Tensor::from_vec(v, (1, n), &dev).unwrap())
                    .to_scalar::<f32>()
                    .unwrap()
            };
            let fdiff = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (fdiff - g[0][j]).abs() < 2e-3,
                "token {j}: {fdiff} vs {}",
                g[0][j]
            );
        }
    }

    #[test]
    fn gradients_of_every_loss_match_finite_differences() {
        let dev = Device::Cpu;
        let t = |v: Vec<f32>| Tensor::from_vec(v, (1, 3), &dev).unwrap();
        let reference = t(vec![-0.5, -1.0, -0.2]);
        let old = t(vec![-0.35, -1.05, -0.8]);
        let adv = t(vec![1.0, -0.5, 2.0]);
        let mask = t(vec![1.0, 1.0, 0.0]);
        let scale = AggScale {
            tokens: 2.0,
            nonempty: 1.0,
            rows: 1.0,
            norm: 3.0,
        };
        // The losses whose gradient is the derivative of their value (GSPO
        // and CISPO stop gradients on purpose: see the next test).
        for mode in [LossMode::Vanilla, LossMode::Gpg] {
            let f = |lp: &Tensor| -> Tensor {
                let k = kl(KlEstimator::K3, lp, &reference).unwrap();
                let pg = policy_loss(mode, lp, &old, &adv, &mask, &ClipOptions::default())
                    .unwrap()
                    .loss;
                let total = (pg + (k * 0.1).unwrap()).unwrap();
                aggregate(&total, &mask, AggMode::TokenMean, &scale).unwrap()
            };
            // Inside the trust region (no clip is active there).
            check_gradient(&f, vec![-0.3, -1.1, -0.8], &[2]);
        }
    }

    #[test]
    fn gspo_and_cispo_gradients_are_the_stopped_ones() {
        // Token-mean over the two valid tokens: d/dlogp_j = −w_j·A_j / 2,
        // with w the sequence ratio (GSPO) or the clipped token ratio
        // (CISPO), held constant.
        let dev = Device::Cpu;
        let t = |v: Vec<f32>| Tensor::from_vec(v, (1, 3), &dev).unwrap();
        let old = t(vec![-0.35, -1.05, -0.8]);
        let adv = t(vec![1.0, -0.5, 2.0]);
        let mask = t(vec![1.0, 1.0, 0.0]);
        let scale = AggScale {
            tokens: 2.0,
            nonempty: 1.0,
            rows: 1.0,
            norm: 3.0,
        };
        let (a, o) = ([1.0f32, -0.5], [-0.35f32, -1.05]);
        let opts = ClipOptions::default();
        let clip = |r: f32| r.clamp(1.0 - opts.clip_low, 1.0 + opts.clip_high);
        // GSPO inside its trust region; CISPO with token 1's ratio clipped.
        let gspo_base = [-0.30f32, -1.10, -0.8];
        let seq = ((gspo_base[0] - o[0] + gspo_base[1] - o[1]) / 2.0).exp();
        let cispo_base = [-0.30f32, -1.60, -0.8];
        let r = |j: usize| (cispo_base[j] - o[j]).exp();
        for (mode, base, weights) in [
            (LossMode::Gspo, gspo_base, [seq, seq]),
            (LossMode::Cispo, cispo_base, [clip(r(0)), clip(r(1))]),
        ] {
            let var = Var::from_vec(base.to_vec(), (1, 3), &dev).unwrap();
            let pg = policy_loss(mode, var.as_tensor(), &old, &adv, &mask, &opts).unwrap();
            let loss = aggregate(&pg.loss, &mask, AggMode::TokenMean, &scale).unwrap();
            let g = loss.backward().unwrap();
            let g = g.get(var.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
            for j in 0..2 {
                let want = -weights[j] * a[j] / 2.0;
                assert!(
                    (g[0][j] - want).abs() < 1e-5,
                    "{mode:?} token {j}: {} vs {want}",
                    g[0][j]
                );
            }
            assert_eq!(g[0][2], 0.0);
        }
    }

    #[test]
    fn nan_in_padding_does_not_leak() {
        let dev = Device::Cpu;
        let t = |v: Vec<f32>| Tensor::from_vec(v, (1, 3), &dev).unwrap();
        let logp = t(vec![-0.3, -1.1, f32::NAN]);
        let old = t(vec![-0.35, -1.05, 0.0]);
        let adv = t(vec![1.0, -0.5, 0.0]);
        let mask = t(vec![1.0, 1.0, 0.0]);
        let scale = AggScale {
            tokens: 2.0,
            nonempty: 1.0,
            rows: 1.0,
            norm: 3.0,
        };
        for mode in LossMode::ALL {
            let pg = policy_loss(mode, &logp, &old, &adv, &mask, &ClipOptions::default())
                .unwrap()
                .loss;
            for agg in AggMode::ALL {
                let v = aggregate(&pg, &mask, agg, &scale)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(v.is_finite(), "{mode:?} {agg:?}: {v}");
            }
        }
    }
}
