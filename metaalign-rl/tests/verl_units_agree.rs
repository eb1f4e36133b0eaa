//! The trainers' existing `f32` units (`advantage`, `kl`, `loss`) agree with
//! the veRL-named `f64` units on veRL's settings, so the parity fixtures
//! also vouch for them. Known, documented differences (veRL's singleton
//! GRPO divides by `1 + eps`; `seq-mean-token-sum-norm` scaling; the KL
//! clamp on k1/k2/abs) are kept out of the inputs.

use metaalign_rl::algorithms::agg::{agg_loss, AggMode};
use metaalign_rl::algorithms::estimators::{AdvantageInput, Estimator};
use metaalign_rl::algorithms::kl_penalty::KlPenalty;
use metaalign_rl::algorithms::policy_losses::{ClipRatios, LossMode, PolicyLossInput};
use metaalign_rl::algorithms::{
    aggregate, grpo, policy_loss, rloo, AggScale, ClipOptions, GroupNormOptions, KlEstimator,
    LossAgg, Singleton,
};

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
fn grpo_and_rloo_agree_with_verl_units() {
    let mut seed = 3;
    let bs = 12;
    let index: Vec<String> = (0..bs).map(|i| format!("g{}", i % 3)).collect();
    let scores: Vec<f64> = (0..bs)
        .map(|_| (lcg(&mut seed) > 0.0) as u8 as f64)
        .collect();
    let width = 4;
    let rewards: Vec<Vec<f64>> = scores
        .iter()
        .map(|&s| {
            let mut r = vec![0.0; width];
            r[0] = s;
            r
        })
        .collect();
    let mask = vec![vec![1.0; width]; bs];
    let scores32: Vec<f32> = scores.iter().map(|&s| s as f32).collect();
    for norm in [true, false] {
        let input = AdvantageInput {
            token_level_rewards: &rewards,
            response_mask: &mask,
            index: &index,
            epsilon: 1e-6,
            norm_adv_by_std_in_grpo: norm,
            gamma: 1.0,
            reward_baselines: None,
        };
        let new = Estimator::Grpo.compute(&input).unwrap();
        let opts = GroupNormOptions {
            scale_by_std: norm,
            ..GroupNormOptions::default()
        };
        let old = grpo(&scores32, &index, &opts).unwrap();
        for (o, n) in old.iter().zip(&new.advantages) {
            close(f64::from(*o), n[0], "grpo");
        }
        let new = Estimator::Rloo.compute(&input).unwrap();
        let old = rloo(&scores32, &index, Singleton::Raw).unwrap();
        for (o, n) in old.iter().zip(&new.advantages) {
            close(f64::from(*o), n[0], "rloo");
        }
    }
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

#[test]
fn vanilla_loss_and_aggregation_agree_with_verl_units() {
    let mut seed = 9;
    let (adv, mask) = batch(&mut seed, 5, 7);
    let (old_lp, _) = batch(&mut seed, 5, 7);
    let (noise, _) = batch(&mut seed, 5, 7);
    let lp: Vec<Vec<f64>> = old_lp
        .iter()
        .zip(&noise)
        .map(|(o, n)| o.iter().zip(n).map(|(o, n)| o + 0.5 * n).collect())
        .collect();
    let adv: Vec<Vec<f64>> = adv
        .iter()
        .zip(&mask)
        .map(|(a, m)| a.iter().zip(m).map(|(a, m)| a * m).collect())
        .collect();
    let bmask = bools(&mask);
    let opts = ClipOptions {
        clip_low: 0.2,
        clip_high: 0.28,
        dual_clip: Some(3.0),
    };
    let tokens = policy_loss(&f32s(&lp), &f32s(&old_lp), &f32s(&adv), &bmask, &opts).unwrap();
    for (old_mode, mode) in [
        (LossAgg::TokenMean, AggMode::TokenMean),
        (LossAgg::SeqMeanTokenMean, AggMode::SeqMeanTokenMean),
        (LossAgg::SeqMeanTokenSum, AggMode::SeqMeanTokenSum),
    ] {
        let old = aggregate(&tokens.loss, &bmask, old_mode, &AggScale::of(&bmask, 1.0)).unwrap();
        let new = LossMode::Vanilla
            .compute(&PolicyLossInput {
                old_log_prob: &old_lp,
                log_prob: &lp,
                advantages: &adv,
                response_mask: &mask,
                loss_agg_mode: mode,
                clip: ClipRatios::new(Some(0.2), Some(0.2), Some(0.28), Some(3.0)),
            })
            .unwrap();
        close(old, new.pg_loss, mode.name());
        let direct = agg_loss(
            &tokens
                .loss
                .iter()
                .map(|r| r.iter().map(|&x| f64::from(x)).collect())
                .collect::<Vec<_>>(),
            &mask,
            mode,
        )
        .unwrap();
        close(old, direct, mode.name());
    }
}
