//! The streaming merge engine. [`run_merge`] runs a [`MergePlan`] in three
//! steps, one file each:
//!
//! - `validate`: checks the plan and opens the inputs (names, shapes,
//!   dtypes, base, parameters, output location); nothing is written;
//! - `schedule`: merges the tensors in parallel, in order, under a memory
//!   budget (`tensor` merges one of them, chunk by chunk);
//! - `write`: streams the merged tensors into shards in a temporary
//!   directory, adds config, tokenizer and provenance files and moves it
//!   into place atomically.

mod plan;
mod schedule;
mod tensor;
mod validate;
mod write;

use std::time::Instant;

use metaalign_core::merge::MergeSummary;
use metaalign_core::Result;

pub use self::plan::MergePlan;
pub use self::schedule::{CHUNK_ELEMENTS, DEFAULT_IN_FLIGHT_BYTES};
pub use self::write::{COPIED_FILES, DEFAULT_SHARD_BYTES};
/// One input model of a [`MergePlan`]: metaalign-core's merge model, under
/// the engine's name.
pub use metaalign_core::merge::MergeModel as PlanModel;

pub use metaalign_core::memory::peak_rss_bytes;

/// Runs a merge plan end to end. On error nothing is left at `plan.out`
/// (and an existing output is untouched); inputs are only ever read.
pub fn run_merge(plan: &MergePlan) -> Result<MergeSummary> {
    let started = Instant::now();
    let valid = self::validate::validate(plan)?;
    let output = self::write::Output::create(plan, &valid)?;
    let work = self::schedule::Work {
        method: plan.method.as_ref(),
        tensors: &valid.tensors,
        num_inputs: valid.ckpts.len(),
        num_models: plan.models.len(),
        options: &plan.options,
    };
    self::schedule::run(&work, |i| {
        self::tensor::merge_tensor(plan, &valid, output.writer(), i)
    })?;
    let bytes_written = output.finish(plan, &valid)?;
    Ok(MergeSummary {
        tensors: valid.tensors.len(),
        bytes_written,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
    })
}
