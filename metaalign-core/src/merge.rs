//! The merge contract: N checkpoints (+ optional base) into one, tensor by tensor.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One input model of a merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergeModel {
    /// Name used to attach per-model parameters (e.g. `"deduction"`).
    pub name: String,
    /// HF checkpoint directory.
    pub path: PathBuf,
    /// Per-model parameters of the method (`weight`, `density`, `gamma`...).
    /// Each value is a number, a gradient list over layers, or a list of
    /// `{ filter, value }` entries (see metaalign-merge's `ParamValue`).
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl MergeModel {
    /// A model without per-model parameters.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            params: BTreeMap::new(),
        }
    }

    /// Adds a per-model parameter (`with_param("weight", 0.2)`).
    pub fn with_param(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }
}

/// How a merge writes its output. Every field has a sensible default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeOptions {
    /// `float32`, `bfloat16` or `float16` (also `f32`, `bf16`, `f16`);
    /// default: the dtype of the first model's tensors.
    #[serde(default)]
    pub out_dtype: Option<String>,
    /// Maximum bytes per output shard (default 5e9, as mergekit).
    #[serde(default)]
    pub shard_size_bytes: Option<u64>,
    /// Name of the model whose config/tokenizer files are copied
    /// (default: the base model, else the first model).
    #[serde(default)]
    pub copy_files_from: Option<String>,
    /// Replace an existing output directory (atomically, at the end).
    #[serde(default)]
    pub overwrite: bool,
    /// Show a progress bar over tensors.
    #[serde(default)]
    pub progress: bool,
    /// Bound on the working memory of tensors merged concurrently.
    #[serde(default)]
    pub max_in_flight_bytes: Option<u64>,
    /// Worker threads (default: the rayon default).
    #[serde(default)]
    pub threads: Option<usize>,
}

/// Everything a [`Merger`] needs for one merge.
#[derive(Clone, Debug)]
pub struct MergeInputs {
    /// Models in config order (order matters for bit-exact sums).
    pub models: Vec<MergeModel>,
    /// Base model for task-vector methods.
    pub base: Option<MergeModel>,
    /// Output directory (must not exist yet, or be replaced atomically).
    pub out: PathBuf,
    /// Seed for stochastic methods (DARE).
    pub seed: u64,
    /// Output dtype, sharding, parallelism.
    pub options: MergeOptions,
}

/// What a merge did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MergeSummary {
    /// Tensors written.
    pub tensors: usize,
    /// Bytes written to the output.
    pub bytes_written: u64,
    /// Wall-clock time of the merge.
    pub seconds: f64,
    /// The process's peak resident memory, where the platform reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// A merge method: combines checkpoints into a new one.
#[async_trait]
pub trait Merger: Send + Sync {
    /// Registered kind name (`"linear"`).
    fn kind(&self) -> &str;

    /// Merges `inputs.models` into `inputs.out`.
    async fn merge(&self, inputs: &MergeInputs) -> Result<MergeSummary>;
}
