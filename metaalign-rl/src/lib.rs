//! metaalign-rl.

pub mod algorithms;
pub mod checkpoint;
pub mod eval;
pub mod malloc;
pub mod model;
pub mod optim;
pub mod plugin;
pub mod policy;
pub mod sampling;
pub mod stages;
pub mod tokenizer;
pub mod trainer;

pub use plugin::RlPlugin;
pub use policy::{QwenPolicy, ScoreOptions, Scored};
