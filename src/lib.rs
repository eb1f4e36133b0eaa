//! metaalign: self-verifiable reasoning tasks, RL on candle, parameter-space
//! merging and evaluation, composed as plugins in a declarative pipeline.
//!
//! This facade re-exports the member crates:
//! - [`core`]: traits, data types, registry, pipeline runner;
//! - [`tasks`]: deduction / induction / abduction generators, verifiers, rewards, datasets;
//! - [`rl`]: the candle policy and the RL / SFT trainers;
//! - [`merge`]: merge strategies over streamed safetensors.

pub use metaalign_core as core;
pub use metaalign_merge as merge;
pub use metaalign_rl as rl;
pub use metaalign_tasks as tasks;

pub mod serve;
pub mod stages;

pub use metaalign_core::{
    Ability, Error, Level, Merger, Outcome, Policy, Result, RewardScheme, Task, TaskGenerator,
    Trainer, Verdict, Verifier,
};

/// Makes sure every built-in crate's registrations are linked into the
/// final binary (inventory only sees crates that are linked).
pub fn link_builtins() {
    metaalign_tasks::link();
    metaalign_rl::link();
    metaalign_merge::link();
    metaalign_plugin_reward_length::link();
    metaalign_domain_arithmetic::link();
    metaalign_merge_median::link();
    metaalign_domain_math::link();
    metaalign_domain_choice::link();
    metaalign_domain_code::link();
}
