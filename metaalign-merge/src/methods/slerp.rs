//! `slerp`: spherical interpolation between the base (v0) and one model
//! (v1), computed in f32 as mergekit does (numpy on `.float()` tensors).
//! When the normalised tensors are nearly parallel (|cos| > 0.9995) it
//! falls back to lerp; otherwise, with θ₀ = arccos(cos),
//! [sin((1−t)θ₀)·v0 + sin(tθ₀)·v1] / sin θ₀ on the raw tensors.

use metaalign_core::{Error, Result};

use crate::method::{BaseUse, ModelParams, TensorContext, TensorMerge};
use crate::params::ParamValue;

/// Above this |cos| between the normalised tensors, slerp falls back to lerp.
const DOT_THRESHOLD: f32 = 0.9995;

/// The `slerp` method (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Slerp {
    /// Interpolation factor: 0 is the base, 1 the model.
    pub(crate) t: ParamValue,
}

impl TensorMerge for Slerp {
    fn kind(&self) -> &str {
        "slerp"
    }

    fn base_use(&self) -> BaseUse {
        BaseUse::Required
    }

    fn model_params(&self) -> &[&'static str] {
        &[]
    }

    fn check(&self, num_models: usize, has_base: bool) -> Result<()> {
        if num_models != 1 || !has_base {
            return Err(Error::config(format!(
                "slerp merges exactly two models: `base` (t = 0) and one entry in `models` (t = 1); got {num_models} model(s) {} a base",
                if has_base { "and" } else { "without" }
            )));
        }
        Ok(())
    }

    fn working_bytes(&self, numel: usize, _num_models: usize) -> u64 {
        numel as u64 * 4
    }

    fn merge_tensor(
        &self,
        ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        _params: &[ModelParams],
        base: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        let v0 = base.ok_or_else(|| Error::config("slerp needs a base model"))?;
        let v1 = inputs
            .first()
            .ok_or_else(|| Error::config("slerp needs one model besides the base"))?;
        let t = ctx.require(&self.t, "t")?;
        Ok(slerp(t, v0, v1))
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt() as f32
}

/// Slerp of two flat tensors at `t`, in f32.
pub fn slerp(t: f64, v0: &[f32], v1: &[f32]) -> Vec<f32> {
    const EPS: f32 = 1e-8;
    let (n0, n1) = (norm(v0), norm(v1));
    let s0n = if n0 > EPS { n0 } else { 1.0 };
    let s1n = if n1 > EPS { n1 } else { 1.0 };
    let dot = v0
        .iter()
        .zip(v1)
        .map(|(a, b)| f64::from(a / s0n) * f64::from(b / s1n))
        .sum::<f64>() as f32;
    let tf = t as f32;
    let (c0, c1) = if dot.abs() > DOT_THRESHOLD {
        ((1.0 - t) as f32, tf)
    } else {
        let theta0 = dot.acos();
        let sin_theta0 = theta0.sin();
        let theta_t = theta0 * tf;
        (
            (theta0 - theta_t).sin() / sin_theta0,
            theta_t.sin() / sin_theta0,
        )
    };
    v0.iter().zip(v1).map(|(a, b)| c0 * a + c1 * b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_parallel_fallback() {
        let a = [1.0f32, 0.0, 0.0];
        let b = [0.0f32, 1.0, 0.0];
        let mid = slerp(0.5, &a, &b);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((mid[0] - h).abs() < 1e-6 && (mid[1] - h).abs() < 1e-6);
        assert_eq!(slerp(0.0, &a, &b), a.to_vec());
        // parallel: lerp
        let c = [2.0f32, 0.0, 0.0];
        assert_eq!(slerp(0.25, &a, &c), vec![1.25, 0.0, 0.0]);
    }
}
