//! The trainer contract: one RL or SFT stage over a policy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::holdout::HoldOut;
use crate::pipeline::{CancelFlag, MetricsSink};
use crate::reward::RewardScheme;
use crate::task::{Level, TaskGenerator};

/// Everything a trainer needs for one run.
pub struct TrainInputs {
    /// HF checkpoint directory to start from (also the frozen reference).
    pub start: PathBuf,
    /// Task sources by name, in curriculum order of their use.
    pub tasks: BTreeMap<String, Arc<dyn TaskGenerator>>,
    /// Curriculum levels, trained in this order; empty means the lowest
    /// level of each source.
    pub levels: Vec<Level>,
    /// Reward scheme for RL (ignored by SFT).
    pub reward: Arc<dyn RewardScheme>,
    /// Where checkpoints, trainer state and plots go. A trainer finding its
    /// own state here resumes from it.
    pub out_dir: PathBuf,
    /// Seeds the trainer's task draws and sampling.
    pub seed: u64,
    /// Puzzles a trainer must not draw (they belong to test and validation
    /// sets); the run's `[run] holdout`.
    pub holdout: HoldOut,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Where the trainer logs its metrics.
    pub metrics: MetricsSink,
    /// Set when the user interrupts the run; the trainer saves and stops.
    pub cancel: CancelFlag,
}

/// What a finished training run produced.
#[derive(Clone, Debug)]
pub struct TrainOutput {
    /// Final HF checkpoint directory.
    pub checkpoint: PathBuf,
    /// Steps taken (including resumed ones).
    pub steps: u64,
    /// Plots written (PNG), if any.
    pub plots: Vec<PathBuf>,
}

/// A training method (RL or SFT) that improves a policy on tasks.
#[async_trait]
pub trait Trainer: Send + Sync {
    /// Registered kind name (`"grpo"`).
    fn kind(&self) -> &str;

    /// Trains to completion, resuming from `out_dir` when it holds state.
    async fn train(&self, inputs: TrainInputs) -> Result<TrainOutput>;
}
