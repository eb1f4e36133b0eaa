//! The merge request: metaalign-core's merge inputs plus the per-tensor
//! method that merges them.

use std::path::PathBuf;
use std::sync::Arc;

use metaalign_core::merge::{MergeInputs, MergeModel, MergeOptions};

use crate::method::TensorMerge;

/// Everything a merge needs: the fields of the core [`MergeInputs`] and the
/// [`TensorMerge`] method that merges each tensor.
#[derive(Clone, Debug)]
pub struct MergePlan {
    /// The models to merge, in config order (the order of the sums, which
    /// matters for bit-exact results).
    pub models: Vec<MergeModel>,
    /// The base model, for methods that need one; it may also be the source
    /// of the copied config and tokenizer files.
    pub base: Option<MergeModel>,
    /// The method that merges each tensor.
    pub method: Arc<dyn TensorMerge>,
    /// Output directory. It must not exist unless `options.overwrite` is set;
    /// it appears only once the merge has succeeded.
    pub out: PathBuf,
    /// Seed of stochastic methods (DARE).
    pub seed: u64,
    /// Output dtype, shard size, memory bound, threads, overwrite, progress.
    pub options: MergeOptions,
}

impl MergePlan {
    /// The plan for the core contract's `inputs`, merged with `method`.
    pub(crate) fn from_inputs(method: Arc<dyn TensorMerge>, inputs: &MergeInputs) -> Self {
        Self {
            models: inputs.models.clone(),
            base: inputs.base.clone(),
            method,
            out: inputs.out.clone(),
            seed: inputs.seed,
            options: inputs.options.clone(),
        }
    }

    /// The models, then the base.
    pub(crate) fn inputs(&self) -> impl Iterator<Item = &MergeModel> {
        self.models.iter().chain(self.base.iter())
    }
}
