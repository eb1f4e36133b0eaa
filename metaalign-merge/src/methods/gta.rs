//! Generalized task arithmetic (mergekit's `generalized_task_arithmetic.py`):
//! `task_arithmetic`, `ties`, `dare_linear`, `dare_ties`, `breadcrumbs`,
//! `breadcrumbs_ties`.
//!
//! δᵢ = θᵢ − θ_base, sparsified per model (density, gamma); uᵢ = wᵢδ̂ᵢ.
//! Without consensus: mixed = Σuᵢ, divisor = Σwᵢ (|divisor| < 1e-8 → 1).
//! With consensus (TIES "sum" election): s = sign(Σuᵢ) (+1 where ≥ 0),
//! μᵢ = [sign(uᵢ) = s]; mixed = Σμᵢuᵢ, divisor = Σμᵢwᵢ (0 → 1).
//! If `normalize`: mixed /= divisor. Then θ = θ_base + λ·mixed.

use metaalign_core::Result;

use super::sparsify::{self, Sparsification};
use crate::method::{BaseUse, ModelParams, TensorContext, TensorMerge};
use crate::params::ParamValue;

/// The per-tensor method of every task-arithmetic kind (see the module
/// docs); the configs' `method()` builds it.
#[derive(Clone, Debug)]
pub struct TaskArithmeticFamily {
    /// The registered kind (`"ties"`).
    pub(crate) kind: &'static str,
    /// How each task vector is pruned, if at all.
    pub(crate) sparsification: Option<Sparsification>,
    /// TIES sign election.
    pub(crate) consensus: bool,
    /// Divide the mixed task vector by the (masked) sum of weights.
    pub(crate) normalize: bool,
    /// Rescale pruned task vectors to their original L1 norm.
    pub(crate) rescale: bool,
    /// Scale of the mixed task vector.
    pub(crate) lambda: ParamValue,
}

impl TensorMerge for TaskArithmeticFamily {
    fn kind(&self) -> &str {
        self.kind
    }

    fn base_use(&self) -> BaseUse {
        BaseUse::Required
    }

    fn model_params(&self) -> &[&'static str] {
        match self.sparsification {
            None => &["weight"],
            Some(Sparsification::MagnitudeOutliers) => &["weight", "density", "gamma"],
            Some(_) => &["weight", "density"],
        }
    }

    fn elementwise(&self) -> bool {
        self.sparsification.is_none() && !self.consensus
    }

    fn working_bytes(&self, numel: usize, num_models: usize) -> u64 {
        // the task vectors, one selection buffer and the output
        numel as u64 * 4 * (num_models as u64 + 2)
    }

    fn merge_tensor(
        &self,
        ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        params: &[ModelParams],
        base: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        let base = base.ok_or_else(|| {
            metaalign_core::Error::config(format!("`{}` needs a base model", self.kind))
        })?;
        let weights = params
            .iter()
            .map(|p| p.require("weight", ctx.name).map(|w| w as f32))
            .collect::<Result<Vec<f32>>>()?;
        let lambda = ctx.require(&self.lambda, "lambda")? as f32;
        let n = base.len();

        // u_i = w_i * sparsify(θ_i − base)
        let mut deltas: Vec<Vec<f32>> = Vec::with_capacity(inputs.len());
        for (i, x) in inputs.iter().enumerate() {
            let mut d: Vec<f32> = x.iter().zip(base).map(|(a, b)| a - b).collect();
            if let Some(method) = self.sparsification {
                let density = params[i].get_or("density", 1.0);
                match method {
                    Sparsification::Magnitude => {
                        sparsify::magnitude(&mut d, density, self.rescale, ctx.name)?
                    }
                    Sparsification::Random => {
                        let mut rng = ctx.rng("dare", i);
                        sparsify::bernoulli(&mut d, density, self.rescale, &mut rng)
                    }
                    Sparsification::MagnitudeOutliers => {
                        let gamma = params[i].get_or("gamma", 0.01);
                        sparsify::magnitude_outliers(&mut d, density, gamma, self.rescale)
                    }
                }
            }
            let w = weights[i];
            for v in &mut d {
                *v *= w;
            }
            deltas.push(d);
        }

        let mut out = Vec::with_capacity(n);
        if self.consensus {
            for j in 0..n {
                let total = deltas.iter().fold(0f32, |s, d| s + d[j]);
                let majority = if total >= 0.0 { 1.0f32 } else { -1.0 };
                let mut mixed = 0f32;
                let mut divisor = 0f32;
                for (d, &w) in deltas.iter().zip(&weights) {
                    let u = d[j];
                    if u != 0.0 && u.signum() == majority {
                        mixed += u;
                        divisor += w;
                    }
                }
                if divisor == 0.0 {
                    divisor = 1.0;
                }
                out.push(finish(base[j], mixed, divisor, self.normalize, lambda));
            }
        } else {
            let mut divisor = weights.iter().fold(0f32, |s, &w| s + w);
            if divisor.abs() < 1e-8 {
                divisor = 1.0;
            }
            for j in 0..n {
                let mixed = deltas.iter().fold(0f32, |s, d| s + d[j]);
                out.push(finish(base[j], mixed, divisor, self.normalize, lambda));
            }
        }
        Ok(out)
    }
}

#[inline]
fn finish(base: f32, mut mixed: f32, divisor: f32, normalize: bool, lambda: f32) -> f32 {
    if normalize {
        mixed /= divisor;
    }
    if lambda != 1.0 {
        mixed *= lambda;
    }
    base + mixed
}
