//! Differentiable candle versions of the loss pieces: per-token KL, the
//! clipped policy loss and loss aggregation. Inputs are [B, T] f32 tensors
//! with an f32 0/1 mask; masked positions are zeroed with `where_cond`
//! (never by multiplying, so a NaN in padding cannot leak). Each function
//! is tested against its array counterpart.

use candle_core::{DType, Tensor, D};
use metaalign_core::{Error, Result};

use super::kl::{KlEstimator, K3_EXP_CLAMP, KL_CLAMP};
use super::loss::{AggScale, ClipOptions, LossAgg, LOG_RATIO_CLAMP};

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

/// Per-token clipped policy loss [B, T] and the clip indicator [B, T]
/// (f32 1/0, detached) — see [`super::loss::policy_loss`].
pub fn policy_loss(
    logp: &Tensor,
    old_logp: &Tensor,
    advantages: &Tensor,
    opts: &ClipOptions,
) -> Result<(Tensor, Tensor)> {
    let log_ratio = (logp - old_logp)
        .map_err(cerr)?
        .clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
        .map_err(cerr)?;
    let ratio = log_ratio.exp().map_err(cerr)?;
    let neg_adv = advantages.neg().map_err(cerr)?;
    let l1 = (&neg_adv * &ratio).map_err(cerr)?;
    let clipped_ratio = ratio
        .clamp(1.0 - opts.clip_low, 1.0 + opts.clip_high)
        .map_err(cerr)?;
    let l2 = (&neg_adv * &clipped_ratio).map_err(cerr)?;
    let mut loss = l1.maximum(&l2).map_err(cerr)?;
    let clipped = l2
        .gt(&l1)
        .map_err(cerr)?
        .to_dtype(DType::F32)
        .map_err(cerr)?
        .detach();
    if let Some(c) = opts.dual_clip {
        let cap = (&neg_adv * f64::from(c)).map_err(cerr)?;
        let capped = loss.minimum(&cap).map_err(cerr)?;
        let negative = advantages.lt(0f32).map_err(cerr)?;
        loss = negative.where_cond(&capped, &loss).map_err(cerr)?;
    }
    Ok((loss, clipped))
}

/// Aggregates per-token values [B, T] of (part of) a mini-batch into a
/// scalar with the mini-batch's denominators — see [`super::loss::aggregate`].
pub fn aggregate(
    values: &Tensor,
    mask: &Tensor,
    mode: LossAgg,
    scale: &AggScale,
) -> Result<Tensor> {
    let safe = |d: f64| if d > 0.0 { d } else { 1.0 };
    let masked = mask_fill(values, mask)?;
    match mode {
        LossAgg::TokenMean => (masked.sum_all().map_err(cerr)? / safe(scale.tokens)).map_err(cerr),
        LossAgg::SeqMeanTokenSum => {
            (masked.sum_all().map_err(cerr)? / safe(scale.nonempty)).map_err(cerr)
        }
        LossAgg::SeqMeanTokenSumNorm => {
            (masked.sum_all().map_err(cerr)? / safe(scale.rows * safe(scale.norm))).map_err(cerr)
        }
        LossAgg::SeqMeanTokenMean => {
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
    use crate::algorithms::loss as arr;
    use candle_core::{Device, Var};

    fn rows(t: &Tensor) -> Vec<Vec<f32>> {
        t.to_vec2::<f32>().unwrap()
    }

    fn close_rows(a: &[Vec<f32>], b: &[Vec<f32>], tol: f32) {
        for (x, y) in a.iter().zip(b) {
            for (p, q) in x.iter().zip(y) {
                assert!((p - q).abs() <= tol, "{a:?} vs {b:?}");
            }
        }
    }

    type Batch = (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<Vec<bool>>);

    fn batch() -> Batch {
        let logp = vec![
            vec![-0.2, -1.5, -0.7, f32::NAN],
            vec![-2.0, -0.1, -3.0, -0.4],
            vec![-0.9, 0.0, 0.0, 0.0],
        ];
        let old = vec![
            vec![-0.5, -1.0, -0.7, 0.0],
            vec![-1.0, -0.6, -0.2, -0.4],
            vec![-1.2, 0.0, 0.0, 0.0],
        ];
        let adv = vec![
            vec![1.0, 1.0, 1.0, 0.0],
            vec![-1.0, -2.0, -0.5, 0.3],
            vec![0.7, 0.0, 0.0, 0.0],
        ];
        let mask = vec![
            vec![true, true, true, false],
            vec![true, true, true, true],
            vec![true, false, false, false],
        ];
        (logp, old, adv, mask)
    }

    #[test]
    fn tensor_losses_match_the_array_versions() {
        let dev = Device::Cpu;
        let (logp, old, adv, mask) = batch();
        let m = mask_tensor(&mask, &dev).unwrap();
        for opts in [
            ClipOptions::default(),
            ClipOptions {
                dual_clip: Some(1.5),
                clip_high: 0.28,
                ..ClipOptions::default()
            },
        ] {
            let want = arr::policy_loss(&logp, &old, &adv, &mask, &opts).unwrap();
            let (loss, clipped) = policy_loss(
                &from_rows(&logp, &dev).unwrap(),
                &from_rows(&old, &dev).unwrap(),
                &from_rows(&adv, &dev).unwrap(),
                &opts,
            )
            .unwrap();
            let got = rows(&mask_fill(&loss, &m).unwrap());
            close_rows(&got, &want.loss, 1e-5);
            let got_c = rows(&mask_fill(&clipped, &m).unwrap());
            let want_c: Vec<Vec<f32>> = want
                .clipped
                .iter()
                .map(|r| r.iter().map(|&x| f32::from(u8::from(x))).collect())
                .collect();
            assert_eq!(got_c, want_c);
            let scale = AggScale::of(&mask, 4.0);
            for mode in [
                LossAgg::TokenMean,
                LossAgg::SeqMeanTokenMean,
                LossAgg::SeqMeanTokenSum,
                LossAgg::SeqMeanTokenSumNorm,
            ] {
                let a = arr::aggregate(&want.loss, &mask, mode, &scale).unwrap();
                let t = aggregate(&loss, &m, mode, &scale)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!((a as f32 - t).abs() < 1e-5, "{mode:?}: {a} vs {t}");
                assert!(t.is_finite(), "NaN in padding leaked into {mode:?}");
            }
        }
        for est in [
            KlEstimator::K1,
            KlEstimator::Abs,
            KlEstimator::K2,
            KlEstimator::K3,
        ] {
            let want = est.values(&logp, &old, &mask);
            let got = kl(
                est,
                &from_rows(&logp, &dev).unwrap(),
                &from_rows(&old, &dev).unwrap(),
            )
            .unwrap();
            close_rows(&rows(&mask_fill(&got, &m).unwrap()), &want, 1e-6);
        }
    }

    #[test]
    fn gradients_flow_and_match_finite_differences() {
        // d/dlogp of token-mean k3 and of the unclipped policy loss.
        let dev = Device::Cpu;
        let logp = Var::from_vec(vec![-0.3f32, -1.1, -0.8], (1, 3), &dev).unwrap();
        let reference = Tensor::from_vec(vec![-0.5f32, -1.0, -0.2], (1, 3), &dev).unwrap();
        let old = Tensor::from_vec(vec![-0.35f32, -1.05, -0.8], (1, 3), &dev).unwrap();
        let adv = Tensor::from_vec(vec![1.0f32, -0.5, 2.0], (1, 3), &dev).unwrap();
        let mask = Tensor::from_vec(vec![1f32, 1.0, 0.0], (1, 3), &dev).unwrap();
        let scale = AggScale {
            tokens: 2.0,
            nonempty: 1.0,
            rows: 1.0,
            norm: 3.0,
        };
        let f = |lp: &Tensor| -> Tensor {
            let k = kl(KlEstimator::K3, lp, &reference).unwrap();
            let (pg, _) = policy_loss(lp, &old, &adv, &ClipOptions::default()).unwrap();
            let total = (pg + (k * 0.1).unwrap()).unwrap();
            aggregate(&total, &mask, LossAgg::TokenMean, &scale).unwrap()
        };
        let loss = f(logp.as_tensor());
        let grads = loss.backward().unwrap();
        let g = grads
            .get(logp.as_tensor())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let base: Vec<f32> = logp.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        for j in 0..3 {
            let h = 1e-3f32;
            let mut up = base.clone();
            up[j] += h;
            let mut dn = base.clone();
            dn[j] -= h;
            let fu = f(&Tensor::from_vec(up, (1, 3), &dev).unwrap())
                .to_scalar::<f32>()
                .unwrap();
            let fd = f(&Tensor::from_vec(dn, (1, 3), &dev).unwrap())
                .to_scalar::<f32>()
                .unwrap();
            let fdiff = (fu - fd) / (2.0 * h);
            assert!(
                (fdiff - g[0][j]).abs() < 2e-3,
                "token {j}: {fdiff} vs {}",
                g[0][j]
            );
        }
        // The masked token gets exactly zero gradient.
        assert_eq!(g[0][2], 0.0);
    }
}
