//! The per-tensor method contract. A merge strategy — built in or from a
//! plugin crate — implements [`TensorMerge`]; the engine
//! ([`crate::engine`]) does everything else: opening and validating the
//! inputs, resolving per-tensor parameters, streaming, parallelism, writing
//! shards, copying config/tokenizer files and the atomic rename.
//!
//! A plugin's `MergeConfig::build` returns
//! `Box::new(MethodMerger::new(MyMethod))` ([`crate::MethodMerger`] runs the
//! engine).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::Range;

use metaalign_core::seed::{item_rng, Rng};
use metaalign_core::{Error, Result};

use crate::params::{LayerPosition, ParamValue};

/// What a method knows about the tensor it merges.
#[derive(Clone, Debug)]
pub struct TensorContext<'a> {
    /// Tensor name (`model.layers.3.mlp.up_proj.weight`).
    pub name: &'a str,
    /// Full shape of the tensor.
    pub shape: &'a [usize],
    /// Layer index and gradient position of the tensor.
    pub position: LayerPosition,
    /// The flattened elements this call covers: the whole tensor, or a chunk
    /// of it for methods that declare [`TensorMerge::elementwise`].
    pub range: Range<usize>,
    /// The merge seed (stochastic methods derive their streams from it).
    pub seed: u64,
}

impl TensorContext<'_> {
    /// Resolves a method-level parameter for this tensor.
    pub fn resolve(&self, value: &ParamValue) -> Option<f64> {
        value.resolve(self.name, self.position.t)
    }

    /// Like [`Self::resolve`], with an error naming the parameter when no
    /// filter entry matches this tensor.
    pub fn require(&self, value: &ParamValue, key: &str) -> Result<f64> {
        self.resolve(value).ok_or_else(|| {
            Error::config(format!(
                "parameter `{key}` has no value for tensor `{}` (add a fallback entry without a filter)",
                self.name
            ))
        })
    }

    /// A reproducible RNG for (`label`, input `index`) on this tensor,
    /// independent of thread scheduling.
    pub fn rng(&self, label: &str, index: usize) -> Rng {
        item_rng(self.seed, &format!("{label}/{}", self.name), index as u64)
    }

    /// Number of elements of the whole tensor.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One model's per-model parameters, resolved for the current tensor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelParams {
    /// The model's name in the config.
    pub model: String,
    /// The parameter values by name.
    pub(crate) values: BTreeMap<String, f64>,
}

impl ModelParams {
    /// The value, if the model sets it.
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied()
    }

    /// The value, or `default` when the model does not set it.
    pub fn get_or(&self, key: &str, default: f64) -> f64 {
        self.get(key).unwrap_or(default)
    }

    /// The value, or an error naming the model, key and tensor.
    pub fn require(&self, key: &str, tensor: &str) -> Result<f64> {
        self.get(key).ok_or_else(|| {
            Error::config(format!(
                "model `{}` has no `{key}` for tensor `{tensor}` (every model needs one)",
                self.model
            ))
        })
    }
}

/// How a method uses the base model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseUse {
    /// Not used (linear); a given base only chooses where config files come from.
    Ignored,
    /// Required (task arithmetic, TIES, DARE, SLERP's v0, model stock).
    Required,
}

/// A merge strategy, tensor by tensor. Inputs are f32 slices (converted
/// from the stored dtype); the result is the merged tensor (or chunk) as f32.
pub trait TensorMerge: Send + Sync + Debug {
    /// The registered kind (`"linear"`).
    fn kind(&self) -> &str;

    /// Whether the method needs `base`.
    fn base_use(&self) -> BaseUse {
        BaseUse::Ignored
    }

    /// Per-model parameter names the method reads; any other key in a
    /// model's parameters is an error naming the known ones.
    fn model_params(&self) -> &[&'static str] {
        &["weight"]
    }

    /// Checks the number of models (and anything else static).
    fn check(&self, num_models: usize, has_base: bool) -> Result<()> {
        let _ = has_base;
        if num_models == 0 {
            return Err(Error::config(format!(
                "`{}` needs at least one model",
                self.kind()
            )));
        }
        Ok(())
    }

    /// True when output element j depends only on element j of the inputs:
    /// the engine may then split large tensors into chunks (less memory).
    fn elementwise(&self) -> bool {
        false
    }

    /// Working memory of one call beyond the inputs, in bytes, used to bound
    /// the tensors merged concurrently.
    fn working_bytes(&self, numel: usize, num_models: usize) -> u64 {
        let _ = num_models;
        numel as u64 * 4
    }

    /// Merges one tensor (or one chunk, see [`TensorContext::range`]).
    /// `inputs[i]` belongs to model i in config order; `params[i]` are its
    /// resolved per-model parameters.
    fn merge_tensor(
        &self,
        ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        params: &[ModelParams],
        base: Option<&[f32]>,
    ) -> Result<Vec<f32>>;
}
