//! veRL's `agg_loss` on one micro-batch (dp_size 1, no global batch info).

use metaalign_core::Result;
use serde::{Deserialize, Serialize};

use super::masked::{check_same_shape, mask_sum, masked_sum};

/// veRL's `loss_agg_mode` (its names in configs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AggMode {
    /// `token-mean`: sum over valid tokens / number of valid tokens.
    #[default]
    TokenMean,
    /// `token-sum`: sum over valid tokens (only some veRL versions; see docs).
    TokenSum,
    /// `seq-mean-token-sum`: per-sequence sums, averaged over non-empty sequences.
    SeqMeanTokenSum,
    /// `seq-mean-token-mean`: per-sequence means (`/ (n + 1e-8)`), averaged over non-empty sequences.
    SeqMeanTokenMean,
    /// `seq-mean-token-sum-norm`: total sum / padded width (Dr.GRPO).
    SeqMeanTokenSumNorm,
}

impl AggMode {
    /// Every mode.
    pub const ALL: [AggMode; 5] = [
        AggMode::TokenMean,
        AggMode::TokenSum,
        AggMode::SeqMeanTokenSum,
        AggMode::SeqMeanTokenMean,
        AggMode::SeqMeanTokenSumNorm,
    ];

    /// veRL's name.
    pub fn name(self) -> &'static str {
        match self {
            AggMode::TokenMean => "token-mean",
            AggMode::TokenSum => "token-sum",
            AggMode::SeqMeanTokenSum => "seq-mean-token-sum",
            AggMode::SeqMeanTokenMean => "seq-mean-token-mean",
            AggMode::SeqMeanTokenSumNorm => "seq-mean-token-sum-norm",
        }
    }

    /// Looks a mode up by veRL name.
    pub fn from_name(name: &str) -> Result<Self> {
        crate::algorithms::by_name(&Self::ALL, Self::name, name, "loss_agg_mode")
    }
}

/// Aggregates a `(bs, len)` loss matrix into a scalar, as veRL's `agg_loss`.
pub fn agg_loss(loss_mat: &[Vec<f64>], loss_mask: &[Vec<f64>], mode: AggMode) -> Result<f64> {
    check_same_shape("loss_mat", loss_mat, "loss_mask", loss_mask)?;
    let seq_sums = || -> Vec<f64> {
        loss_mat
            .iter()
            .zip(loss_mask)
            .map(|(l, m)| l.iter().zip(m).map(|(l, m)| l * m).sum())
            .collect()
    };
    Ok(match mode {
        AggMode::TokenMean => masked_sum(loss_mat, loss_mask) / mask_sum(loss_mask),
        AggMode::TokenSum => masked_sum(loss_mat, loss_mask),
        AggMode::SeqMeanTokenSum => {
            let mut total = 0.0;
            let mut n = 0.0;
            for (s, m) in seq_sums().into_iter().zip(loss_mask) {
                if m.iter().sum::<f64>() > 0.0 {
                    total += s;
                    n += 1.0;
                }
            }
            total / n
        }
        AggMode::SeqMeanTokenMean => {
            let mut total = 0.0;
            let mut n = 0.0;
            for (s, m) in seq_sums().into_iter().zip(loss_mask) {
                let count: f64 = m.iter().sum();
                if count > 0.0 {
                    total += s / (count + 1e-8);
                    n += 1.0;
                }
            }
            total / n
        }
        AggMode::SeqMeanTokenSumNorm => {
            let width = loss_mask.first().map_or(0, Vec::len) as f64;
            seq_sums().iter().sum::<f64>() / width
        }
    })
}
