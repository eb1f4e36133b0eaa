//! KL estimators between the current policy and the frozen reference.
//!
//! With Δ = logπ_θ(t) − logπ_ref(t) (per token, natural log):
//!
//! | estimator | value | notes |
//! |---|---|---|
//! | `k1` (`kl`) | Δ | unbiased, high variance, can be negative |
//! | `abs` | \|Δ\| | |
//! | `k2` (`mse`) | ½Δ² | |
//! | `k3` (`low_var_kl`) | e^u − u − 1 with u = clamp(−Δ, ±20) | Schulman's low-variance estimator, ≥ 0 |
//!
//! Every value is clamped to [−10, 10] as OpenRLHF does (verl clamps only
//! k3); the clamp only bites on absurd log-ratios and keeps one runaway
//! token from dominating a step.

use serde::{Deserialize, Serialize};

/// Bound on every per-token KL value.
pub const KL_CLAMP: f32 = 10.0;
/// Bound on the exponent of k3 before `exp`.
pub const K3_EXP_CLAMP: f32 = 20.0;

/// Which per-token KL estimator to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlEstimator {
    /// Δ.
    #[serde(alias = "kl")]
    K1,
    /// |Δ|.
    Abs,
    /// ½Δ².
    #[serde(alias = "mse")]
    K2,
    /// e^{−Δ} + Δ − 1 (low variance, non-negative).
    #[default]
    #[serde(alias = "low_var_kl")]
    K3,
}

impl KlEstimator {
    /// The estimator's veRL name (`k1`, `abs`, `k2`, `k3`).
    pub fn as_str(self) -> &'static str {
        match self {
            KlEstimator::K1 => "k1",
            KlEstimator::Abs => "abs",
            KlEstimator::K2 => "k2",
            KlEstimator::K3 => "k3",
        }
    }

    /// The per-token estimate from the policy's and the reference's log-probs.
    pub fn value(self, logp: f32, ref_logp: f32) -> f32 {
        let delta = logp - ref_logp;
        let v = match self {
            KlEstimator::K1 => delta,
            KlEstimator::Abs => delta.abs(),
            KlEstimator::K2 => 0.5 * delta * delta,
            KlEstimator::K3 => {
                let u = (-delta).clamp(-K3_EXP_CLAMP, K3_EXP_CLAMP);
                u.exp() - u - 1.0
            }
        };
        v.clamp(-KL_CLAMP, KL_CLAMP)
    }

    /// Per-token estimates for a padded batch; masked-out positions are 0.
    pub fn values(
        self,
        logp: &[Vec<f32>],
        ref_logp: &[Vec<f32>],
        mask: &[Vec<bool>],
    ) -> Vec<Vec<f32>> {
        logp.iter()
            .zip(ref_logp)
            .zip(mask)
            .map(|((l, r), m)| {
                l.iter()
                    .zip(r)
                    .zip(m)
                    .map(|((&l, &r), &m)| if m { self.value(l, r) } else { 0.0 })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn estimators_match_hand_values() {
        // Δ = -0.5 - (-1.0) = 0.5
        let (l, r) = (-0.5f32, -1.0f32);
        assert!(close(KlEstimator::K1.value(l, r), 0.5));
        assert!(close(KlEstimator::Abs.value(r, l), 0.5));
        assert!(close(KlEstimator::K2.value(l, r), 0.125));
        // k3: u = -0.5, e^-0.5 + 0.5 - 1 = 0.10653066
        assert!(close(KlEstimator::K3.value(l, r), 0.106_530_66));
        // Negative Δ: k1 negative, k3 still >= 0: Δ = -0.5, u = 0.5: e^0.5 - 1.5 = 0.14872127
        assert!(close(KlEstimator::K1.value(r, l), -0.5));
        assert!(close(KlEstimator::K3.value(r, l), 0.148_721_27));
        // Equal log-probs: all zero.
        for e in [
            KlEstimator::K1,
            KlEstimator::Abs,
            KlEstimator::K2,
            KlEstimator::K3,
        ] {
            assert_eq!(e.value(-2.0, -2.0), 0.0);
        }
    }

    #[test]
    fn estimators_are_clamped() {
        // Δ = -50: k3's exponent clamps at 20 then the value at 10.
        assert_eq!(KlEstimator::K3.value(-60.0, -10.0), KL_CLAMP);
        assert_eq!(KlEstimator::K1.value(-60.0, -10.0), -KL_CLAMP);
        assert_eq!(KlEstimator::K2.value(-60.0, -10.0), KL_CLAMP);
        // Δ = +50: u = -20 → e^-20 + 20 - 1 ≈ 19 → clamped to 10.
        assert_eq!(KlEstimator::K3.value(-10.0, -60.0), KL_CLAMP);
    }

    #[test]
    fn masked_positions_are_zero_and_names_parse() {
        let v =
            KlEstimator::K1.values(&[vec![0.0, -1.0]], &[vec![-1.0, 0.0]], &[vec![true, false]]);
        assert_eq!(v, vec![vec![1.0, 0.0]]);
        #[derive(Deserialize)]
        struct W {
            k: KlEstimator,
        }
        for (s, e) in [
            ("low_var_kl", KlEstimator::K3),
            ("mse", KlEstimator::K2),
            ("kl", KlEstimator::K1),
            ("k3", KlEstimator::K3),
        ] {
            let w: W = serde_json::from_str(&format!("{{\"k\":\"{s}\"}}")).unwrap();
            assert_eq!(w.k, e);
        }
    }
}
