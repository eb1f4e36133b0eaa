//! Config slots: one typetag trait per slot, so a plugin's config
//! deserializes from the same TOML as the built-in ones (`kind = "..."`).
//!
//! A config is the factory of its component: `build()` returns the running
//! thing. Each implementation also registers itself with
//! [`crate::register!`] so it is listed with a description and an example.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::merge::Merger;
use crate::pipeline::{InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext};
use crate::reward::RewardScheme;
use crate::task::TaskGenerator;
use crate::trainer::Trainer;

/// A task source (`[tasks.NAME]`): builds a generator (which knows its verifier).
#[typetag::serde(tag = "kind")]
pub trait TaskConfig: Debug + Send + Sync {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>>;
}

/// A reward scheme.
#[typetag::serde(tag = "kind")]
pub trait RewardConfig: Debug + Send + Sync {
    fn build(&self) -> Result<Arc<dyn RewardScheme>>;
}

/// Where the starting policy comes from (`[policy]`): an existing HF
/// checkpoint directory, or a fresh model created from a spec.
#[typetag::serde(tag = "kind")]
pub trait PolicyConfig: Debug + Send + Sync {
    /// One line for plans and reports.
    fn describe(&self) -> String;

    /// Checks that can run without doing the work. Problems that should not
    /// stop a dry run on another machine (a model directory that does not
    /// exist here) are returned as warnings.
    fn validate(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Produces an HF checkpoint directory for the run: returns an existing
    /// path, or creates a fresh model inside `dir` (seeded) and returns it.
    fn materialize(&self, dir: &Path, seed: u64, device: &str) -> Result<PathBuf>;
}

/// An RL or SFT trainer.
#[typetag::serde(tag = "kind")]
pub trait TrainerConfig: Debug + Send + Sync {
    fn build(&self) -> Result<Box<dyn Trainer>>;
}

/// A merge strategy.
#[typetag::serde(tag = "kind")]
pub trait MergeConfig: Debug + Send + Sync {
    fn build(&self) -> Result<Box<dyn Merger>>;
}

/// A pipeline stage (`[[stages]]`). `name` is part of the stage table and
/// read by the runner; the stage config sees its other keys.
#[typetag::serde(tag = "kind")]
#[async_trait]
pub trait StageConfig: Debug + Send + Sync {
    /// The artifacts this stage reads, each naming an earlier output
    /// (`"warmup.model"`) or the run's starting policy (`"policy"`).
    fn inputs(&self) -> Vec<InputRef>;

    /// The artifacts this stage produces.
    fn outputs(&self) -> Vec<OutputDecl>;

    /// Static checks before anything runs (task names exist, parameters in
    /// range). Returns warnings; errors stop the run.
    fn validate(&self, _ctx: &ValidateContext) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Runs the stage into `ctx.dir`. Long CPU work should go to
    /// `tokio::task::spawn_blocking`.
    async fn run(&self, ctx: StageContext) -> Result<StageOutputs>;
}

/// Parses TOML into `T`, turning the parser's error into one that names the
/// problem, the line and the column, prefixed by `origin` (a file name).
pub fn from_toml_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text)
        .map_err(|e| Error::config(crate::pipeline::describe_toml_error(text, origin, &e)))
}

/// Builds the task source of a registered kind with its default settings.
/// Every task config must therefore deserialize from `kind = "..."` alone;
/// this is how a task record's `kind` finds its verifier.
pub fn default_task_source(kind: &str) -> Result<Arc<dyn TaskGenerator>> {
    let config: Box<dyn TaskConfig> = from_toml_str(&format!("kind = {kind:?}"), "task kind")?;
    config.build()
}

/// The verifier for tasks of a registered kind (see [`default_task_source`]).
pub fn verifier_for_kind(kind: &str) -> Result<Arc<dyn crate::Verifier>> {
    Ok(default_task_source(kind)?.verifier())
}
