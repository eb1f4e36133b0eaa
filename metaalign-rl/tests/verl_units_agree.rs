//! The trainer's differentiable losses (`algorithms::tensor`) and its `f32`
//! KL agree with the veRL-named `f64` units, so the parity fixtures also
//! vouch for what the trainer backpropagates. (Advantages need no such
//! check: the trainer calls the estimator units themselves.) The KL clamp
//! on k1/k2/abs, a documented difference, is kept out of the inputs.

use candle_core::{Device, Tensor};
use metaalign_rl::algorithms::agg::{agg_loss, AggMode};
use metaalign_rl::algorithms::kl_penalty::KlPenalty;
use metaalign_rl::algorithms::policy_losses::{ClipRatios, LossMode, PolicyLossInput};
use metaalign_rl::algorithms::{tensor, AggScale, ClipOptions, KlEstimator};

/// Deterministic pseudo-random numbers in [-1, 1).
fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn batch(seed: &mut u64, bs: usize, width: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut mask = Vec::new();
    let mut vals = Vec::new();
    for _ in 0..bs {
        let len = 1 + ((lcg(seed) + 1.0) * 0.5 * width as f64) as usize % width;
        mask.push((0..width).map(|t| f64::from(u8::from(t < len))).collect());
        vals.push((0..width).map(|_| lcg(seed)).collect());
    }
    (vals, mask)
}

fn f32s(rows: &[Vec<f64>]) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|r| r.iter().map(|&x| x as f32).collect())
        .collect()
}

fn bools(rows: &[Vec<f64>]) -> Vec<Vec<bool>> {
    rows.iter()
        .map(|r| r.iter().map(|&x| x != 0.0).collect())
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-5 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn kl_agrees_with_verl_units() {
    let mut seed = 5;
    let (lp, _) = batch(&mut seed, 3, 6);
    let (rf, _) = batch(&mut seed, 3, 6);
    for (old, name) in [
        (KlEstimator::K1, "k1"),
        (KlEstimator::Abs, "abs"),
        (KlEstimator::K2, "k2"),
        (KlEstimator::K3, "k3"),
    ] {
        let new = KlPenalty::from_name(name)
            .unwrap()
            .values(&lp, &rf)
            .unwrap();
        for (i, row) in lp.iter().enumerate() {
            for (t, &x) in row.iter().enumerate() {
                let o = old.value(x as f32, rf[i][t] as f32);
                close(f64::from(o), new[i][t], name);
            }
        }
    }
}

fn tensor(rows: &[Vec<f64>]) -> Tensor {
    metaalign_rl::algorithms::tensor::from_rows(&f32s(rows), &Device::Cpu).unwrap()
}

/// Every policy loss and aggregation the trainer backpropagates gives the
/// value of its veRL unit (which the parity fixtures tie to veRL), with
/// the same clip fractions and approximate KL.
#[test]
fn trainer_losses_agree_with_verl_units() {
    let mut seed = 9;
    for case in 0..6 {
        let (adv, mask) = batch(&mut seed, 5, 7);
        let (old_lp, _) = batch(&mut seed, 5, 7);
        let (noise, _) = batch(&mut seed, 5, 7);
        // Ratios near 1 and far from it (clips bind in the later cases).
        let spread = [0.01, 0.1, 0.5, 1.0, 3.0, 0.0002][case];
        let lp: Vec<Vec<f64>> = old_lp
            .iter()
            .zip(&noise)
            .map(|(o, n)| o.iter().zip(n).map(|(o, n)| o - 1.0 + spread * n).collect())
            .collect();
        let old_lp: Vec<Vec<f64>> = old_lp
            .iter()
            .map(|r| r.iter().map(|x| x - 1.0).collect())
            .collect();
        let adv: Vec<Vec<f64>> = adv
            .iter()
            .zip(&mask)
            .map(|(a, m)| a.iter().zip(m).map(|(a, m)| 2.0 * a * m).collect())
            .collect();
        let bmask = bools(&mask);
        let m = tensor(&mask);
        for (low, high, c) in [(0.2, 0.28, 3.0), (0.2, 0.2, 10.0), (3e-4, 4e-4, 3.0)] {
            let opts = ClipOptions {
                clip_low: low as f32,
                clip_high: high as f32,
                dual_clip: Some(c as f32),
            };
            for mode in LossMode::ALL {
                let pieces = tensor::policy_loss(
                    mode,
                    &tensor(&lp),
                    &tensor(&old_lp),
                    &tensor(&adv),
                    &m,
                    &opts,
                )
                .unwrap();
                let frac = |t: &Tensor| -> f64 {
                    let s = tensor::mask_fill(t, &m)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .to_scalar::<f32>()
                        .unwrap();
                    f64::from(s) / mask.iter().flatten().sum::<f64>()
                };
                for agg in AggMode::ALL {
                    let unit = mode
                        .compute(&PolicyLossInput {
                            old_log_prob: &old_lp,
                            log_prob: &lp,
                            advantages: &adv,
                            response_mask: &mask,
                            loss_agg_mode: agg,
                            clip: ClipRatios::new(None, Some(low), Some(high), Some(c)),
                        })
                        .unwrap();
                    // GSPO always aggregates per sequence (veRL); the
                    // Dr.GRPO norm uses the padded width as veRL's default.
                    let agg_used = if mode == LossMode::Gspo {
                        AggMode::SeqMeanTokenMean
                    } else {
                        agg
                    };
                    let scale = AggScale::of(&bmask, 7.0);
                    let got = tensor::aggregate(&pieces.loss, &m, agg_used, &scale)
                        .unwrap()
                        .to_scalar::<f32>()
                        .unwrap();
                    let what = format!("{} / {} case {case}", mode.name(), agg.name());
                    // Dr.GRPO's norm: veRL divides the total by S only, the
                    // trainer by rows × S (the paper's mean over responses;
                    // documented in docs/rl-algorithms.md).
                    let rows = if agg_used == AggMode::SeqMeanTokenSumNorm {
                        5.0
                    } else {
                        1.0
                    };
                    close(f64::from(got) * rows, unit.pg_loss, &what);
                    close(frac(&pieces.clipped), unit.pg_clipfrac, &what);
                    close(frac(&pieces.clipped_lower), unit.pg_clipfrac_lower, &what);
                    if mode != LossMode::Gpg {
                        close(-frac(&pieces.log_ratio), unit.ppo_kl, &what);
                    }
                    let direct = agg_loss(
                        &pieces
                            .loss
                            .to_vec2::<f32>()
                            .unwrap()
                            .iter()
                            .map(|r| r.iter().map(|&x| f64::from(x)).collect())
                            .collect::<Vec<_>>(),
                        &mask,
                        agg_used,
                    )
                    .unwrap();
                    close(f64::from(got) * rows, direct, &what);
                }
            }
        }
    }
}
