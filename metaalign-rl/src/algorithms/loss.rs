//! Settings of the trainer's policy loss: the clip ranges and the
//! denominators aggregation takes over a whole mini-batch. The loss itself
//! is in [`super::tensor`], checked against the veRL units in
//! [`super::policy_losses`] and [`super::agg`].

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bound on the log importance ratio before `exp` (veRL).
pub const LOG_RATIO_CLAMP: f32 = 20.0;

/// Bound on GSPO's sequence log-ratio before `exp` (veRL).
pub const SEQ_LOG_RATIO_MAX: f32 = 10.0;

/// Clipped-ratio settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClipOptions {
    /// ρ is clipped to [1 − clip_low, 1 + clip_high].
    pub clip_low: f32,
    /// Upper clip range (DAPO's clip-higher sets it above `clip_low`).
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
    /// Fails unless `clip_low` is in [0, 1), `clip_high` is finite and
    /// non-negative and a dual clip, if set, is above 1.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_options_are_validated() {
        assert!(ClipOptions::default().validate().is_ok());
        for bad in [
            ClipOptions {
                clip_low: 1.0,
                ..ClipOptions::default()
            },
            ClipOptions {
                clip_high: -0.1,
                ..ClipOptions::default()
            },
            ClipOptions {
                dual_clip: Some(1.0),
                ..ClipOptions::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scale_counts_tokens_rows_and_nonempty_rows() {
        let mask = vec![
            vec![true, true, false],
            vec![false, false, false],
            vec![true, false, false],
        ];
        let s = AggScale::of(&mask, 8.0);
        assert_eq!((s.tokens, s.nonempty, s.rows, s.norm), (3.0, 2.0, 3.0, 8.0));
    }
}
