//! metaalign: self-verifiable reasoning tasks, RL on candle, parameter-space
//! merging and evaluation, composed as plugins in a declarative pipeline.
//!
//! [`App`] builds a program from plugins (`App::new().add_plugins(DefaultPlugins)
//! .add_plugin(MyDomain).run_cli()`); this facade also re-exports the member
//! crates:
//! - [`core`]: traits, data types, registry, pipeline runner;
//! - [`tasks`]: deduction / induction / abduction generators, verifiers, rewards, datasets;
//! - [`rl`]: the candle policy and the RL / SFT trainers;
//! - [`merge`]: merge strategies over streamed safetensors.

#![warn(missing_docs)]

pub use metaalign_core as core;
pub use metaalign_merge as merge;
pub use metaalign_rl as rl;
pub use metaalign_tasks as tasks;

pub mod app;
mod cli;
pub mod serve;
pub mod stages;

pub use app::{install_default_plugins, App, DefaultPlugins};

pub use metaalign_core::{
    Ability, Error, Level, Merger, Outcome, Plugin, Policy, Registry, Result, RewardScheme, Task,
    TaskGenerator, Trainer, Verdict, Verifier,
};

/// What a plugin crate needs, in one import (`use metaalign::prelude::*;`):
/// the plugin contract, the slot traits it implements, the task and verdict
/// types, and the response-format helpers verifiers are built from.
pub mod prelude {
    pub use crate::app::{App, DefaultPlugins};
    pub use metaalign_core::seed::Rng;
    pub use metaalign_core::{
        Ability, ChatMessage, Error, Level, Outcome, Plugin, Registry, Result, RewardConfig,
        RewardScheme, Solution, Task, TaskConfig, TaskGenerator, Verdict, Verifier,
    };
    pub use metaalign_tasks::common::{judge_answer, judge_response};
}
