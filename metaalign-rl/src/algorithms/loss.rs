//! The PPO-style clipped policy loss and loss aggregation, on plain arrays.
//! The differentiable versions in [`super::tensor`] are tested against these.

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::advantage::check_shape;

/// Bound on the log importance ratio before `exp` (verl).
pub const LOG_RATIO_CLAMP: f32 = 20.0;

/// Clipped-ratio settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClipOptions {
    /// ρ is clipped to [1 − clip_low, 1 + clip_high].
    pub clip_low: f32,
    pub clip_high: f32,
    /// Dual clip: for negative advantages the loss is capped at −c·A
    /// (c > 1, verl's `clip_ratio_c` = 3). `None` disables it.
    pub dual_clip: Option<f32>,
}

impl Default for ClipOptions {
    fn default() -> Self {
        Self {
            clip_low: 0.2,
            clip_high: 0.2,
            dual_clip: None,
        }
    }
}

impl ClipOptions {
    pub fn validate(&self) -> Result<()> {
        if !(self.clip_low >= 0.0 && self.clip_low < 1.0) {
            return Err(Error::config(format!(
                "clip_low must be in [0, 1), got {}",
                self.clip_low
            )));
        }
        if !(self.clip_high >= 0.0 && self.clip_high.is_finite()) {
            return Err(Error::config(format!(
                "clip_high must be >= 0, got {}",
                self.clip_high
            )));
        }
        if let Some(c) = self.dual_clip {
            if !(c > 1.0 && c.is_finite()) {
                return Err(Error::config(format!("dual_clip must be > 1, got {c}")));
            }
        }
        Ok(())
    }
}

/// How per-token losses become one scalar (verl's `loss_agg_mode` names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossAgg {
    /// Σ L·m / Σ m over the whole mini-batch (long responses weigh more).
    #[default]
    TokenMean,
    /// Mean over non-empty responses of each response's token mean.
    SeqMeanTokenMean,
    /// Mean over non-empty responses of each response's token sum.
    SeqMeanTokenSum,
    /// Dr.GRPO: Σ L·m / (B · S), S a constant (`loss_scale_factor`, default
    /// the maximum response length): no length bias.
    SeqMeanTokenSumNorm,
}

impl LossAgg {
    pub fn as_str(self) -> &'static str {
        match self {
            LossAgg::TokenMean => "token-mean",
            LossAgg::SeqMeanTokenMean => "seq-mean-token-mean",
            LossAgg::SeqMeanTokenSum => "seq-mean-token-sum",
            LossAgg::SeqMeanTokenSumNorm => "seq-mean-token-sum-norm",
        }
    }
}

/// Denominators of an aggregation, taken over a whole mini-batch, so that
/// the losses of its micro-batches (each divided by the same totals) add up
/// to the loss of the mini-batch in one piece — gradient accumulation then
/// gives exactly the full-batch gradient, whatever the micro-batch split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AggScale {
    /// Valid tokens in the mini-batch.
    pub tokens: f64,
    /// Responses with at least one valid token.
    pub nonempty: f64,
    /// All responses.
    pub rows: f64,
    /// Dr.GRPO's constant S.
    pub norm: f64,
}

impl AggScale {
    /// Totals of `mask` (a whole mini-batch); `norm` is S for Dr.GRPO.
    pub fn of(mask: &[Vec<bool>], norm: f64) -> Self {
        let tokens: usize = mask.iter().map(|m| m.iter().filter(|&&x| x).count()).sum();
        let nonempty = mask.iter().filter(|m| m.iter().any(|&x| x)).count();
        Self {
            tokens: tokens as f64,
            nonempty: nonempty as f64,
            rows: mask.len() as f64,
            norm,
        }
    }

    /// Sums two disjoint parts (micro-batches) of one mini-batch.
    pub fn combine(self, other: AggScale) -> Self {
        Self {
            tokens: self.tokens + other.tokens,
            nonempty: self.nonempty + other.nonempty,
            rows: self.rows + other.rows,
            norm: self.norm,
        }
    }
}

/// Aggregates per-token values of (part of) a mini-batch. An empty batch
/// (no valid tokens) aggregates to 0.
pub fn aggregate(
    values: &[Vec<f32>],
    mask: &[Vec<bool>],
    mode: LossAgg,
    scale: &AggScale,
) -> Result<f64> {
    check_shape("loss aggregation", values, mask)?;
    let row_sums = values.iter().zip(mask).map(|(v, m)| {
        let (s, n) = v
            .iter()
            .zip(m)
            .filter(|(_, &m)| m)
            .fold((0.0f64, 0usize), |(s, n), (&x, _)| {
                (s + f64::from(x), n + 1)
            });
        (s, n)
    });
    let safe = |d: f64| if d > 0.0 { d } else { 1.0 };
    Ok(match mode {
        LossAgg::TokenMean => row_sums.map(|(s, _)| s).sum::<f64>() / safe(scale.tokens),
        LossAgg::SeqMeanTokenMean => {
            row_sums
                .filter(|&(_, n)| n > 0)
                .map(|(s, n)| s / n as f64)
                .sum::<f64>()
                / safe(scale.nonempty)
        }
        LossAgg::SeqMeanTokenSum => row_sums.map(|(s, _)| s).sum::<f64>() / safe(scale.nonempty),
        LossAgg::SeqMeanTokenSumNorm => {
            row_sums.map(|(s, _)| s).sum::<f64>() / safe(scale.rows * safe(scale.norm))
        }
    })
}

/// Per-token clipped policy loss and whether the clip was active.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyLossTokens {
    pub loss: Vec<Vec<f32>>,
    /// The clipped term was the larger (the ratio left the trust region in
    /// the direction the advantage pushes).
    pub clipped: Vec<Vec<bool>>,
    /// The dual clip capped the loss.
    pub dual_clipped: Vec<Vec<bool>>,
}

/// `L = max(−A·ρ, −A·clip(ρ, 1−ε_lo, 1+ε_hi))`, ρ = exp(clamp(logp − old, ±20)),
/// and with dual clip `L = min(L, −c·A)` where A < 0. Masked positions are 0.
pub fn policy_loss(
    logp: &[Vec<f32>],
    old_logp: &[Vec<f32>],
    advantages: &[Vec<f32>],
    mask: &[Vec<bool>],
    opts: &ClipOptions,
) -> Result<PolicyLossTokens> {
    check_shape("policy loss: logp", logp, mask)?;
    check_shape("policy loss: old logp", old_logp, mask)?;
    check_shape("policy loss: advantages", advantages, mask)?;
    let mut out = PolicyLossTokens {
        loss: Vec::with_capacity(mask.len()),
        clipped: Vec::with_capacity(mask.len()),
        dual_clipped: Vec::with_capacity(mask.len()),
    };
    for i in 0..mask.len() {
        let w = mask[i].len();
        let (mut l, mut c, mut d) = (vec![0.0; w], vec![false; w], vec![false; w]);
        for t in 0..w {
            if !mask[i][t] {
                continue;
            }
            let a = advantages[i][t];
            let ratio = (logp[i][t] - old_logp[i][t])
                .clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
                .exp();
            let l1 = -a * ratio;
            let l2 = -a * ratio.clamp(1.0 - opts.clip_low, 1.0 + opts.clip_high);
            let mut loss = l1.max(l2);
            c[t] = l2 > l1;
            if let Some(cap) = opts.dual_clip {
                if a < 0.0 && -cap * a < loss {
                    loss = -cap * a;
                    d[t] = true;
                }
            }
            l[t] = loss;
        }
        out.loss.push(l);
        out.clipped.push(c);
        out.dual_clipped.push(d);
    }
    Ok(out)
}

/// Masked mean of a boolean per-token flag (clip fraction).
pub fn masked_fraction(flags: &[Vec<bool>], mask: &[Vec<bool>]) -> f64 {
    let (mut k, mut n) = (0usize, 0usize);
    for (f, m) in flags.iter().zip(mask) {
        for (&f, &m) in f.iter().zip(m) {
            if m {
                n += 1;
                k += usize::from(f);
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        k as f64 / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[&[u8]]) -> Vec<Vec<bool>> {
        rows.iter()
            .map(|r| r.iter().map(|&x| x == 1).collect())
            .collect()
    }

    #[test]
    fn aggregation_modes_on_a_padded_batch() {
        let v = vec![
            vec![1.0, 2.0, 3.0, 99.0],
            vec![4.0, 99.0, 99.0, 99.0],
            vec![99.0; 4],
        ];
        let mask = m(&[&[1, 1, 1, 0], &[1, 0, 0, 0], &[0, 0, 0, 0]]);
        let s = AggScale::of(&mask, 4.0);
        assert_eq!(
            s,
            AggScale {
                tokens: 4.0,
                nonempty: 2.0,
                rows: 3.0,
                norm: 4.0
            }
        );
        let agg = |mode| aggregate(&v, &mask, mode, &s).unwrap();
        assert_eq!(agg(LossAgg::TokenMean), 10.0 / 4.0);
        assert_eq!(agg(LossAgg::SeqMeanTokenMean), (2.0 + 4.0) / 2.0);
        assert_eq!(agg(LossAgg::SeqMeanTokenSum), (6.0 + 4.0) / 2.0);
        assert_eq!(agg(LossAgg::SeqMeanTokenSumNorm), 10.0 / (3.0 * 4.0));
        // Empty batch: 0, not NaN.
        let e = aggregate(
            &[vec![5.0]],
            &m(&[&[0]]),
            LossAgg::TokenMean,
            &AggScale::of(&m(&[&[0]]), 1.0),
        )
        .unwrap();
        assert_eq!(e, 0.0);
    }

    #[test]
    fn micro_batches_sum_to_the_mini_batch() {
        let v = vec![
            vec![1.0, 2.0, 3.0],
            vec![4.0, 0.5, 0.0],
            vec![-2.0, 0.0, 0.0],
        ];
        let mask = m(&[&[1, 1, 1], &[1, 1, 0], &[1, 0, 0]]);
        let s = AggScale::of(&mask, 3.0);
        assert_eq!(
            s,
            AggScale::of(&mask[..1], 3.0).combine(AggScale::of(&mask[1..], 3.0))
        );
        for mode in [
            LossAgg::TokenMean,
            LossAgg::SeqMeanTokenMean,
            LossAgg::SeqMeanTokenSum,
            LossAgg::SeqMeanTokenSumNorm,
        ] {
            let whole = aggregate(&v, &mask, mode, &s).unwrap();
            let parts = aggregate(&v[..1], &mask[..1], mode, &s).unwrap()
                + aggregate(&v[1..], &mask[1..], mode, &s).unwrap();
            assert!((whole - parts).abs() < 1e-12, "{mode:?}");
        }
    }

    #[test]
    fn clipped_loss_hand_values() {
        let e = |x: f32| x.ln();
        // ratios: 1.5 (A>0 → clipped to 1.2), 0.5 (A>0, not clipped: -0.5),
        // 0.5 (A<0 → clipped at 0.8), 1.5 (A<0, unclipped: 1.5), 10 (A<0: 10 → dual clip 3)
        let logp = vec![vec![e(1.5), e(0.5), e(0.5), e(1.5), e(10.0)]];
        let old = vec![vec![0.0; 5]];
        let adv = vec![vec![1.0, 1.0, -1.0, -1.0, -1.0]];
        let mask = m(&[&[1, 1, 1, 1, 1]]);
        let out = policy_loss(&logp, &old, &adv, &mask, &ClipOptions::default()).unwrap();
        let want = [-1.2, -0.5, 0.8, 1.5, 10.0];
        for (g, w) in out.loss[0].iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{:?}", out.loss);
        }
        // The clip binds where the ratio left [0.8, 1.2] in the advantage's direction.
        assert_eq!(out.clipped[0], vec![true, false, true, false, false]);
        assert!((masked_fraction(&out.clipped, &mask) - 0.4).abs() < 1e-12);
        let dual = ClipOptions {
            dual_clip: Some(3.0),
            ..ClipOptions::default()
        };
        let out = policy_loss(&logp, &old, &adv, &mask, &dual).unwrap();
        assert!((out.loss[0][4] - 3.0).abs() < 1e-6);
        assert_eq!(out.dual_clipped[0], vec![false, false, false, false, true]);
        // Masked tokens contribute nothing.
        let out = policy_loss(&logp, &old, &adv, &m(&[&[1, 0, 0, 0, 0]]), &dual).unwrap();
        assert_eq!(&out.loss[0][1..], &[0.0; 4]);
    }

    #[test]
    fn clip_options_are_validated() {
        assert!(ClipOptions::default().validate().is_ok());
        let bad = ClipOptions {
            dual_clip: Some(0.5),
            ..ClipOptions::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("dual_clip"));
        let bad = ClipOptions {
            clip_low: 1.5,
            ..ClipOptions::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn agg_names_are_verls() {
        #[derive(Deserialize)]
        struct W {
            a: LossAgg,
        }
        let w: W = serde_json::from_str(r#"{"a":"seq-mean-token-sum-norm"}"#).unwrap();
        assert_eq!(w.a, LossAgg::SeqMeanTokenSumNorm);
        assert_eq!(LossAgg::SeqMeanTokenMean.as_str(), "seq-mean-token-mean");
    }
}
