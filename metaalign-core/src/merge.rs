//! The merge contract: N checkpoints (+ optional base) into one, tensor by tensor.

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
}

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
}

/// What a merge did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MergeSummary {
    pub tensors: usize,
    pub bytes_written: u64,
    pub seconds: f64,
    pub peak_rss_bytes: Option<u64>,
}

#[async_trait]
pub trait Merger: Send + Sync {
    /// Registered kind name (`"linear"`).
    fn kind(&self) -> &str;

    async fn merge(&self, inputs: &MergeInputs) -> Result<MergeSummary>;
}
