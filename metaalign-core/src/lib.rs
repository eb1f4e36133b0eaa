//! Core of metaalign: the five traits every component implements
//! ([`TaskGenerator`], [`Verifier`], [`Policy`], [`Trainer`], [`Merger`]),
//! the data they exchange ([`Task`], [`Verdict`], ...), the plugin
//! [`registry`], and the declarative [`pipeline`].
//!
//! Nothing here knows about candle or about any particular task: those live
//! in `metaalign-rl` and `metaalign-tasks`, and plugins add more through the
//! same public API.

#![warn(missing_docs)]

pub mod atomic;
pub mod cancel;
pub mod config;
pub mod error;
pub mod holdout;
pub mod memory;
pub mod merge;
pub mod paper;
pub mod pipeline;
pub mod policy;
pub mod progress;
pub mod registry;
pub mod reward;
pub mod seed;
pub mod task;
pub mod trainer;
pub mod verdict;

pub use config::{
    MergeConfig, PolicyConfig, RewardConfig, StageConfig, TaskConfig, TaskContext, TrainerConfig,
};
pub use error::{Error, Result};
pub use holdout::{HoldOut, Part};
pub use merge::{MergeInputs, MergeModel, MergeOptions, MergeSummary, Merger};
pub use paper::{PaperImporter, PaperRecord};
pub use policy::{Generation, Policy, SamplingParams};
pub use registry::{Plugin, Registration, Registry, Slot};
pub use reward::RewardScheme;
pub use task::{Ability, ChatMessage, Level, Solution, Task, TaskGenerator, Verifier};
pub use trainer::{TrainInputs, Trainer};
pub use verdict::{Outcome, Verdict};

/// Re-exported so that plugins build [`Verdict`] texts without a direct
/// dependency.
pub use compact_str::{format_compact, CompactString, ToCompactString};
/// Re-exported so that a plugin's `#[metaalign_core::typetag::serde(name =
/// "...")]` works without a direct dependency on `typetag`.
pub use typetag;
