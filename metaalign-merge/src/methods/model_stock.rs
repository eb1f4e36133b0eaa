//! `model_stock`: base plus at least two fine-tuned models.
//! cos θ = mean pairwise cosine of the offsets wᵢ − w₀ (norm products
//! clamped at ≥ 1e-6, cosines clamped to [−1, 1]);
//! t = N·cos θ / (1 + (N − 1)·cos θ); θ = t·mean(wᵢ) + (1 − t)·w₀.
//! With `filter_wise`, this is done per row (last dimension).

use metaalign_core::{Error, Result};

use crate::method::{BaseUse, ModelParams, TensorContext, TensorMerge};

/// The `model_stock` method (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct ModelStock {
    /// Compute the interpolation ratio per row instead of per tensor.
    pub(crate) filter_wise: bool,
}

impl TensorMerge for ModelStock {
    fn kind(&self) -> &str {
        "model_stock"
    }

    fn base_use(&self) -> BaseUse {
        BaseUse::Required
    }

    fn model_params(&self) -> &[&'static str] {
        &[]
    }

    fn check(&self, num_models: usize, has_base: bool) -> Result<()> {
        if num_models < 2 || !has_base {
            return Err(Error::config(format!(
                "model_stock needs a base and at least two models; got {num_models} model(s){}",
                if has_base { "" } else { " and no base" }
            )));
        }
        Ok(())
    }

    fn merge_tensor(
        &self,
        ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        _params: &[ModelParams],
        base: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        let w0 = base.ok_or_else(|| Error::config("model_stock needs a base model"))?;
        let n = w0.len();
        let row = if self.filter_wise {
            ctx.shape.last().copied().unwrap_or(n).max(1)
        } else {
            n.max(1)
        };
        let big_n = inputs.len() as f64;
        let mut out = vec![0f32; n];
        for start in (0..n).step_by(row) {
            let end = (start + row).min(n);
            let off = |i: usize, j: usize| f64::from(inputs[i][j]) - f64::from(w0[j]);
            let norms: Vec<f64> = (0..inputs.len())
                .map(|i| (start..end).map(|j| off(i, j).powi(2)).sum::<f64>().sqrt())
                .collect();
            let mut cos_sum = 0.0;
            let mut pairs = 0usize;
            for a in 0..inputs.len() {
                for b in a + 1..inputs.len() {
                    let dot: f64 = (start..end).map(|j| off(a, j) * off(b, j)).sum();
                    cos_sum += (dot / (norms[a] * norms[b]).max(1e-6)).clamp(-1.0, 1.0);
                    pairs += 1;
                }
            }
            let cos = cos_sum / pairs as f64;
            let t = (big_n * cos) / (1.0 + (big_n - 1.0) * cos);
            for j in start..end {
                let avg = inputs.iter().map(|x| f64::from(x[j])).sum::<f64>() / big_n;
                out[j] = (t * avg + (1.0 - t) * f64::from(w0[j])) as f32;
            }
        }
        Ok(out)
    }
}
