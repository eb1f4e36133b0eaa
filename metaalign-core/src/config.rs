//! Config slots: one typetag trait per slot ([`TaskConfig`],
//! [`RewardConfig`], ...), so a plugin's config deserializes from the same
//! TOML as the built-in ones (`kind = "..."`), and [`from_toml_str`], which
//! parses TOML into them with errors that say where.
//!
//! A config is the factory of its component: `build()` returns the running
//! thing. A [`Plugin`](crate::registry::Plugin) adds each implementation to
//! the [`Registry`](crate::registry::Registry) with a description and an
//! example value; [`default_task_source`] and [`verifier_for_kind`] look a
//! task kind up in the installed one.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::task::{TaskGenerator, Verifier};

pub(crate) mod slots;

pub use slots::{
    MergeConfig, PolicyConfig, RewardConfig, StageConfig, TaskConfig, TaskContext, TrainerConfig,
};

/// Parses TOML into `T`, with errors that name the problem, the key, the
/// line and the column, prefixed by `origin` (a file name). Works through
/// typetag trait objects (`Box<dyn RewardConfig>` ...), where `toml::from_str`
/// loses positions, and lists the known kinds for an unknown `kind`.
pub fn from_toml_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    crate::pipeline::de::parse_toml(text, origin, &crate::registry::kinds)
}

/// Builds the default generator of a task kind in the installed
/// [`registry`](crate::registry): how a task record's `kind` finds its
/// verifier and solver.
pub fn default_task_source(kind: &str) -> Result<Arc<dyn TaskGenerator>> {
    crate::registry::installed().task_source(kind)
}

/// The verifier for tasks of a registered kind (see [`default_task_source`]).
pub fn verifier_for_kind(kind: &str) -> Result<Arc<dyn Verifier>> {
    Ok(default_task_source(kind)?.verifier())
}
