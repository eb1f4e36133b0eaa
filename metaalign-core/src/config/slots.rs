//! The config slots: where a kind plugs in ([`Slot`]) and one typetag trait
//! per slot, so a plugin's config deserializes from the same TOML as the
//! built-in ones (`kind = "..."`). A config is the factory of its
//! component: `build()` returns the running thing.
//!
//! These sit below the [`registry`](crate::registry), which stores kinds of
//! these traits, and below the pipeline parser; the public paths are
//! [`crate::config`] and the crate root.

use std::fmt::{self, Debug};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::merge::Merger;
use crate::pipeline::{InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext};
use crate::reward::RewardScheme;
use crate::task::TaskGenerator;
use crate::trainer::Trainer;

/// Where a kind plugs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Task generators and their verifiers (`[tasks.NAME]`).
    Task,
    /// Reward schemes (`reward = { kind = ... }`).
    Reward,
    /// Where the starting policy comes from (`[policy]`).
    Policy,
    /// RL / SFT trainers (`trainer = { kind = ... }`).
    Trainer,
    /// Merge strategies (`method = { kind = ... }`).
    Merge,
    /// Pipeline stages (`[[stages]]`).
    Stage,
}

impl Slot {
    /// Every slot, in listing order.
    pub const ALL: [Slot; 6] = [
        Slot::Task,
        Slot::Reward,
        Slot::Policy,
        Slot::Trainer,
        Slot::Merge,
        Slot::Stage,
    ];

    /// The slot's name in messages and in `metaalign list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Task => "task",
            Slot::Reward => "reward",
            Slot::Policy => "policy",
            Slot::Trainer => "trainer",
            Slot::Merge => "merge",
            Slot::Stage => "stage",
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task source (`[tasks.NAME]`): builds a generator (which knows its verifier).
#[typetag::serde(tag = "kind")]
pub trait TaskConfig: Debug + Send + Sync {
    /// Builds outside a run: relative paths resolve against the working
    /// directory and the run seed is 0.
    fn build(&self) -> Result<Arc<dyn TaskGenerator>>;

    /// Builds inside a run. Sources that read files resolve relative paths
    /// against `ctx.base_dir` (the pipeline file's folder); sources with
    /// seeded choices (option shuffling) use `ctx.seed`. The default
    /// ignores the context.
    fn build_in(&self, _ctx: &TaskContext) -> Result<Arc<dyn TaskGenerator>> {
        self.build()
    }

    /// True when the source is a fixed set of tasks read from a file
    /// (a benchmark): it has no held-out split, so training and scoring
    /// on it see the same problems. The planner warns when a pipeline
    /// does both.
    fn is_fixed_set(&self) -> bool {
        false
    }
}

/// What a task source may take from the run it is built in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskContext {
    /// Where relative paths start: the pipeline file's folder.
    pub base_dir: PathBuf,
    /// The run seed.
    pub seed: u64,
}

impl TaskContext {
    /// `path` as given when absolute, else under [`Self::base_dir`].
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// A reward scheme.
#[typetag::serde(tag = "kind")]
pub trait RewardConfig: Debug + Send + Sync {
    /// Builds the reward scheme.
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

    /// The `config.json` of the model [`PolicyConfig::materialize`] will
    /// give, when it is known without building the model (memory plans
    /// read it); `base_dir` is the pipeline file's folder.
    fn architecture(&self, _base_dir: &Path) -> Option<serde_json::Value> {
        None
    }
}

/// An RL or SFT trainer.
#[typetag::serde(tag = "kind")]
pub trait TrainerConfig: Debug + Send + Sync {
    /// Builds the trainer.
    fn build(&self) -> Result<Box<dyn Trainer>>;

    /// The estimated peak memory of training a model of `architecture`
    /// (its `config.json`) with these settings; `None` when the trainer
    /// cannot tell.
    fn memory_plan(
        &self,
        _architecture: &serde_json::Value,
    ) -> Result<Option<crate::memory::MemoryPlan>> {
        Ok(None)
    }
}

/// A merge strategy.
#[typetag::serde(tag = "kind")]
pub trait MergeConfig: Debug + Send + Sync {
    /// Builds the merger.
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

    /// Names of the task sources (`[tasks.NAME]`) this stage uses. The
    /// runner checks they are declared before anything runs, and a stage's
    /// completion key covers only these sources' configs (all of them when
    /// this is empty).
    fn task_sources(&self) -> Vec<String> {
        Vec::new()
    }

    /// Static checks before anything runs (task names exist, parameters in
    /// range). Returns warnings; errors stop the run.
    fn validate(&self, _ctx: &ValidateContext) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Runs the stage into `ctx.dir`. Long CPU work should go to
    /// `tokio::task::spawn_blocking`.
    async fn run(&self, ctx: StageContext) -> Result<StageOutputs>;

    /// One line on the stage's estimated peak memory, for stages that train
    /// a model whose architecture is known; an error when it cannot fit the
    /// memory available, naming the setting to change. Checked before
    /// anything runs.
    fn memory_plan(&self, _ctx: &ValidateContext) -> Result<Option<String>> {
        Ok(None)
    }
}
