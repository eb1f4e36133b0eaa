//! [`MethodMerger`]: any per-tensor method as metaalign-core's [`Merger`],
//! run by the engine.

use std::sync::Arc;

use async_trait::async_trait;

use metaalign_core::merge::{MergeInputs, MergeSummary, Merger};
use metaalign_core::{Error, Result};

use crate::engine::{run_merge, MergePlan};
use crate::method::TensorMerge;

/// Any [`TensorMerge`] as the core [`Merger`]: what `MergeConfig::build`
/// returns, for built-in methods and plugins alike.
#[derive(Clone, Debug)]
pub struct MethodMerger {
    method: Arc<dyn TensorMerge>,
}

impl MethodMerger {
    /// The merger that runs `method` through the engine.
    pub fn new(method: impl TensorMerge + 'static) -> Self {
        Self {
            method: Arc::new(method),
        }
    }
}

#[async_trait]
impl Merger for MethodMerger {
    fn kind(&self) -> &str {
        self.method.kind()
    }

    async fn merge(&self, inputs: &MergeInputs) -> Result<MergeSummary> {
        let plan = MergePlan::from_inputs(self.method.clone(), inputs);
        tokio::task::spawn_blocking(move || run_merge(&plan))
            .await
            .map_err(|e| Error::wrap("merge task panicked or was cancelled", e))?
    }
}
