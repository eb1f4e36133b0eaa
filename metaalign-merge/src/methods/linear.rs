//! `linear`: θ = Σ wᵢθᵢ / Σ wᵢ (normalize, default) or Σ wᵢθᵢ.
//!
//! Bit-exact with mergekit (f32): accumulate from zero with
//! `acc = fma(xᵢ, f32(wᵢ), acc)` over the models in config order, then divide
//! by the f32 sum of the f32 weights.

use metaalign_core::{Error, Result};

use crate::method::{ModelParams, TensorContext, TensorMerge};

/// The `linear` method (see the module docs).
#[derive(Clone, Debug)]
pub struct Linear {
    /// Divide by the sum of the weights (a weighted average); otherwise the
    /// weighted sum.
    pub normalize: bool,
}

impl TensorMerge for Linear {
    fn kind(&self) -> &str {
        "linear"
    }

    fn elementwise(&self) -> bool {
        true
    }

    fn merge_tensor(
        &self,
        ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        params: &[ModelParams],
        _base: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        let weights = params
            .iter()
            .map(|p| p.require("weight", ctx.name).map(|w| w as f32))
            .collect::<Result<Vec<f32>>>()?;
        let n = inputs.first().map_or(0, |x| x.len());
        let mut acc = vec![0f32; n];
        for (x, &w) in inputs.iter().zip(&weights) {
            fma_accumulate(&mut acc, x, w);
        }
        if self.normalize {
            let divisor = weights.iter().fold(0f32, |s, &w| s + w);
            if divisor == 0.0 {
                return Err(Error::config(format!(
                    "linear: the weights for tensor `{}` sum to zero; set normalize = false for a raw weighted sum",
                    ctx.name
                )));
            }
            for a in &mut acc {
                *a /= divisor;
            }
        }
        Ok(acc)
    }
}

/// `acc[j] = fma(x[j], w, acc[j])` — a fused multiply-add per element, using
/// the CPU's FMA unit when it has one.
pub fn fma_accumulate(acc: &mut [f32], x: &[f32], w: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports FMA (checked just above).
            unsafe { fma_accumulate_x86(acc, x, w) };
            return;
        }
    }
    for (a, &v) in acc.iter_mut().zip(x) {
        *a = v.mul_add(w, *a);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma,avx2")]
unsafe fn fma_accumulate_x86(acc: &mut [f32], x: &[f32], w: f32) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a = v.mul_add(w, *a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fma_path_equals_scalar_fma() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut a = vec![0.1f32; 1000];
        let mut b = a.clone();
        fma_accumulate(&mut a, &x, 0.2);
        for (b, &v) in b.iter_mut().zip(&x) {
            *b = v.mul_add(0.2, *b);
        }
        assert_eq!(a, b);
    }
}
