//! veRL's `kl_penalty` estimators by name (`kl_loss_type` / `kl_penalty`),
//! per token on plain `f64` batches.

use metaalign_core::{Error, Result};

use super::masked::{check_same_shape, zip_map, Rows};

/// A KL estimator by veRL name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KlPenalty {
    /// `kl` / `k1`: `logp - ref`.
    K1,
    /// `abs`: `|logp - ref|`.
    Abs,
    /// `mse` / `k2`: `0.5 (logp - ref)^2`.
    K2,
    /// `low_var_kl` / `k3`: `exp(d) - d - 1` with `d = clamp(ref - logp, ±20)`,
    /// the result clamped to `[-10, 10]`.
    K3,
}

const NAMES: [(&str, KlPenalty); 7] = [
    ("kl", KlPenalty::K1),
    ("k1", KlPenalty::K1),
    ("abs", KlPenalty::Abs),
    ("mse", KlPenalty::K2),
    ("k2", KlPenalty::K2),
    ("low_var_kl", KlPenalty::K3),
    ("k3", KlPenalty::K3),
];

impl KlPenalty {
    /// Looks an estimator up by veRL name (`full` is not supported: it
    /// needs whole-vocabulary logits, and veRL raises for it too).
    pub fn from_name(name: &str) -> Result<Self> {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| Error::Config {
                message: format!(
                    "unknown kl_penalty {name:?}; known: {}",
                    NAMES.map(|(n, _)| n).join(", ")
                ),
            })
    }

    /// Per-token value.
    pub fn value(self, logp: f64, ref_logp: f64) -> f64 {
        match self {
            KlPenalty::K1 => logp - ref_logp,
            KlPenalty::Abs => (logp - ref_logp).abs(),
            KlPenalty::K2 => 0.5 * (logp - ref_logp).powi(2),
            KlPenalty::K3 => {
                let kl = (ref_logp - logp).clamp(-20.0, 20.0);
                (kl.exp() - kl - 1.0).clamp(-10.0, 10.0)
            }
        }
    }

    /// Per-token values over a batch (same shape required).
    pub fn values(self, logprob: &[Vec<f64>], ref_logprob: &[Vec<f64>]) -> Result<Rows> {
        check_same_shape("logprob", logprob, "ref_logprob", ref_logprob)?;
        Ok(zip_map(logprob, ref_logprob, |a, b| self.value(a, b)))
    }
}
