//! A merge-strategy plugin: the element-wise (weighted) median of the
//! models' parameters, registered as the merge kind `median`.
//!
//! ```toml
//! [[stages]]
//! name = "merged"
//! kind = "merge"
//! models = [{ from = "deduction.model", weight = 1.0 }, { from = "induction.model" }, { from = "abduction.model" }]
//! method = { kind = "median" }
//! ```
//!
//! For every parameter, the models' values are sorted and the weighted
//! median taken: the smallest value whose cumulative weight reaches half
//! the total, averaged with the next value when the cumulative weight hits
//! exactly half (so equal weights give the ordinary median, the mean of
//! the two middle values for an even count). Weights default to 1.
//!
//! With `relative_to_base = true` the median is taken over the task vectors
//! `θᵢ − base` and added back to the base (a robust alternative to task
//! arithmetic: one outlier specialist cannot drag a parameter away).
//!
//! The median ignores parameters pulled far by a single model, which makes
//! it a natural baseline beside mergekit's linear and TIES merges.

#![warn(missing_docs)]

use metaalign_core::{Error, MergeConfig, Merger, Result};
use metaalign_core::{Plugin, Registry};
use metaalign_merge::{BaseUse, MethodMerger, ModelParams, TensorContext, TensorMerge};
use serde::{Deserialize, Serialize};

/// Adds the `median` merge strategy.
#[derive(Clone, Copy, Debug, Default)]
pub struct MedianPlugin;

impl Plugin for MedianPlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_merge(
            "plugin: element-wise weighted median of the models (optionally of task vectors around a base)",
            MedianConfig::default(),
        );
    }
}

/// `method = { kind = "median" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MedianConfig {
    /// Take the median of task vectors (θᵢ − base) and add it to `base`.
    pub relative_to_base: bool,
}

#[typetag::serde(name = "median")]
impl MergeConfig for MedianConfig {
    fn build(&self) -> Result<Box<dyn Merger>> {
        Ok(Box::new(MethodMerger::new(Median {
            relative_to_base: self.relative_to_base,
        })))
    }
}

/// The per-tensor method.
#[derive(Clone, Debug, Default)]
pub struct Median {
    /// Take the median of the task vectors (θᵢ − base) and add it to the base.
    pub(crate) relative_to_base: bool,
}

impl TensorMerge for Median {
    fn kind(&self) -> &str {
        "median"
    }

    fn base_use(&self) -> BaseUse {
        if self.relative_to_base {
            BaseUse::Required
        } else {
            BaseUse::Ignored
        }
    }

    fn elementwise(&self) -> bool {
        true
    }

    fn working_bytes(&self, numel: usize, num_models: usize) -> u64 {
        // output + one column of (value, weight) pairs
        numel as u64 * 4 + num_models as u64 * 16
    }

    fn merge_tensor(
        &self,
        ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        params: &[ModelParams],
        base: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        let weights: Vec<f64> = params.iter().map(|p| p.get_or("weight", 1.0)).collect();
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(Error::config(format!(
                "median: weights must be finite and non-negative, got {w}"
            )));
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(Error::config(format!(
                "median: the weights for tensor `{}` sum to zero",
                ctx.name
            )));
        }
        let base = if self.relative_to_base {
            Some(base.ok_or_else(|| {
                Error::config("median: relative_to_base = true needs a `base` model")
            })?)
        } else {
            None
        };
        let n = inputs.first().map_or(0, |x| x.len());
        let mut column: Vec<(f64, f64)> = Vec::with_capacity(inputs.len());
        let mut out = Vec::with_capacity(n);
        for j in 0..n {
            let b = base.map_or(0.0, |b| f64::from(b[j]));
            column.clear();
            column.extend(
                inputs
                    .iter()
                    .zip(&weights)
                    .map(|(x, &w)| (f64::from(x[j]) - b, w)),
            );
            out.push((weighted_median(&mut column) + b) as f32);
        }
        Ok(out)
    }
}

/// The weighted median of `(value, weight)` pairs (weights >= 0, sum > 0).
/// Reorders `pairs`. NaN values sort last.
pub fn weighted_median(pairs: &mut [(f64, f64)]) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let half = total / 2.0;
    let mut cum = 0.0;
    for (i, &(v, w)) in pairs.iter().enumerate() {
        cum += w;
        if (cum - half).abs() <= 1e-12 * total {
            // exactly half: average with the next value of positive weight
            if let Some(&(next, _)) = pairs[i + 1..].iter().find(|p| p.1 > 0.0) {
                return (v + next) / 2.0;
            }
            return v;
        }
        if cum > half {
            return v;
        }
    }
    pairs.last().map_or(0.0, |p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_median_by_hand() {
        assert_eq!(
            weighted_median(&mut [(3.0, 1.0), (1.0, 1.0), (2.0, 1.0)]),
            2.0
        );
        assert_eq!(
            weighted_median(&mut [(4.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]),
            2.5
        );
        // a heavy model wins: weights 1.0 / 0.2 / 0.1
        assert_eq!(
            weighted_median(&mut [(5.0, 1.0), (1.0, 0.2), (2.0, 0.1)]),
            5.0
        );
        // zero weight is ignored
        assert_eq!(
            weighted_median(&mut [(9.0, 0.0), (1.0, 1.0), (2.0, 1.0)]),
            1.5
        );
        assert_eq!(weighted_median(&mut [(7.0, 2.0)]), 7.0);
    }
}
