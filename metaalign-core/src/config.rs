//! Config slots: one typetag trait per slot, so a plugin's config
//! deserializes from the same TOML as the built-in ones (`kind = "..."`).
//!
//! A config is the factory of its component: `build()` returns the running
//! thing. A [`Plugin`](crate::registry::Plugin) adds each implementation to
//! the [`Registry`](crate::registry::Registry) with a description and an
//! example value.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::merge::Merger;
use crate::pipeline::{InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext};
use crate::registry::Slot;
use crate::reward::RewardScheme;
use crate::task::TaskGenerator;
use crate::trainer::Trainer;

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
}

/// Parses TOML into `T`, with errors that name the problem, the key, the
/// line and the column, prefixed by `origin` (a file name). Works through
/// typetag trait objects (`Box<dyn RewardConfig>` ...), where `toml::from_str`
/// loses positions, and lists the known kinds for an unknown `kind`.
pub fn from_toml_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let doc = toml::de::DeTable::parse(text)
        .map_err(|e| Error::config(crate::pipeline::describe_toml_error(text, origin, &e)))?;
    crate::pipeline::de::from_table(&doc).map_err(|(message, loc)| {
        Error::config(crate::pipeline::de::locate(text, origin, &message, &loc))
    })
}

/// Deserializes `$text` into the trait object of `$slot` and applies `$f`
/// to it (a `&T` where `T: ?Sized + Serialize`).
macro_rules! with_slot_object {
    ($slot:expr, $text:expr, $origin:expr, $f:ident) => {
        match $slot {
            Slot::Task => $f(
                &*from_toml_str::<Box<dyn TaskConfig>>($text, $origin)?,
                $origin,
            ),
            Slot::Reward => $f(
                &*from_toml_str::<Box<dyn RewardConfig>>($text, $origin)?,
                $origin,
            ),
            Slot::Policy => $f(
                &*from_toml_str::<Box<dyn PolicyConfig>>($text, $origin)?,
                $origin,
            ),
            Slot::Trainer => $f(
                &*from_toml_str::<Box<dyn TrainerConfig>>($text, $origin)?,
                $origin,
            ),
            Slot::Merge => $f(
                &*from_toml_str::<Box<dyn MergeConfig>>($text, $origin)?,
                $origin,
            ),
            Slot::Stage => $f(
                &*from_toml_str::<Box<dyn StageConfig>>($text, $origin)?,
                $origin,
            ),
        }
    };
}

/// Parses a config table of `slot` into its trait object and returns the
/// object serialized as JSON (for comparisons and hashing).
pub fn parse_slot_toml(slot: Slot, text: &str, origin: &str) -> Result<serde_json::Value> {
    fn go<T: ?Sized + serde::Serialize>(value: &T, _origin: &str) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(value)?)
    }
    with_slot_object!(slot, text, origin, go)
}

/// Parses a config table of `slot` and writes it back as TOML.
pub fn reserialize_slot_toml(slot: Slot, text: &str, origin: &str) -> Result<String> {
    fn go<T: ?Sized + serde::Serialize>(value: &T, origin: &str) -> Result<String> {
        toml::to_string(value)
            .map_err(|e| Error::config(format!("{origin}: cannot write the config as TOML: {e}")))
    }
    with_slot_object!(slot, text, origin, go)
}

/// Builds the default generator of a task kind in the installed
/// [`registry`](crate::registry): how a task record's `kind` finds its
/// verifier and solver.
pub fn default_task_source(kind: &str) -> Result<Arc<dyn TaskGenerator>> {
    crate::registry::installed().task_source(kind)
}

/// The verifier for tasks of a registered kind (see [`default_task_source`]).
pub fn verifier_for_kind(kind: &str) -> Result<Arc<dyn crate::Verifier>> {
    Ok(default_task_source(kind)?.verifier())
}
