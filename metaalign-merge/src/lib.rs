//! metaalign-merge: merge strategies over streamed safetensors,
//! mergekit-compatible.
//!
//! - [`methods`]: the built-in strategies (`linear`, `task_arithmetic`,
//!   `ties`, `dare_linear`, `dare_ties`, `breadcrumbs`, `breadcrumbs_ties`,
//!   `slerp`, `model_stock`), each a `Merge` kind of [`MergePlugin`].
//! - [`method::TensorMerge`]: the per-tensor contract a plugin implements to
//!   add a strategy while reusing the engine.
//! - [`MethodMerger`]: any [`TensorMerge`] as metaalign-core's `Merger`.
//! - [`engine`]: validation, scheduling (parallelism under a memory bound),
//!   streamed sharded output, atomic rename.
//! - [`spec`]: the standalone TOML file and the pipeline stage `merge`.
//! - [`mergekit`]: import of mergekit YAML configs.
//! - [`peft`]: PEFT LoRA adapter folders, which read as their base with
//!   the adapter folded in, so any input may be an adapter.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod dtype;
pub mod engine;
pub mod mergekit;
mod merger;
pub mod method;
pub mod methods;
pub mod params;
pub mod peft;
pub mod plugin;
pub mod spec;
pub mod writer;

pub use checkpoint::Checkpoint;
pub use dtype::FloatDType;
pub use engine::{peak_rss_bytes, run_merge, MergePlan, PlanModel};
pub use merger::MethodMerger;
pub use method::{BaseUse, ModelParams, TensorContext, TensorMerge};
pub use params::{FilteredValue, LayerPosition, ParamValue};
pub use plugin::MergePlugin;
pub use spec::{MergeSpec, MergeStageConfig};
