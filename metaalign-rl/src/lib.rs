//! metaalign-rl: the candle Qwen2-family policy, the RL and SFT trainers,
//! the training stages and evaluation of metaalign.
//!
//! What an embedder needs is re-exported here:
//! - the policy: [`QwenPolicy`] (load an HF checkpoint or build a fresh
//!   model, sample, score, save), its pipeline configs
//!   [`FreshPolicyConfig`] and [`HfPolicyConfig`], and [`device_from_str`];
//! - the trainers as configs: [`SftConfig`] and the RL kinds ([`RlConfig`],
//!   [`ReinforcePpConfig`], [`GrpoConfig`], [`RlooConfig`],
//!   [`DrGrpoConfig`], [`DapoConfig`], [`GspoConfig`]) over [`SftSettings`]
//!   / [`RlSettings`]; [`TrainerConfig::build`] gives a [`Trainer`] whose
//!   `train` takes [`TrainInputs`] and returns a [`TrainOutput`];
//! - the stages: [`SftStage`], [`AlignStage`], [`DomainRlStage`] and
//!   [`EvaluateStage`];
//! - evaluation: [`build_sets`] and [`evaluate_policy`] with
//!   [`EvalOptions`], and the [`Report`] they feed;
//! - [`RlPlugin`], which registers every kind of this crate.
//!
//! The modules hold the rest (the veRL-named [`algorithms`], the
//! AdamW optimizer in [`optim`], [`checkpoint`] I/O, metrics and charts
//! under [`eval`]).

#![warn(missing_docs)]

pub mod adapter;
pub mod algorithms;
pub mod checkpoint;
pub mod eval;
pub mod malloc;
pub mod memory;
pub mod model;
pub mod optim;
pub mod plugin;
pub mod policy;
pub(crate) mod sampling;
pub mod stages;
pub mod tokenizer;
pub mod trainer;

pub use adapter::{AdapterConfig, LoraConfig};
pub use eval::{build_sets, evaluate_policy, EvalOptions, EvalSet, EvaluateStage, Report, Split};
pub use metaalign_core::trainer::{TrainInputs, TrainOutput, Trainer};
pub use metaalign_core::TrainerConfig;
pub use plugin::RlPlugin;
pub use policy::{
    device_from_str, FreshPolicyConfig, HfPolicyConfig, QwenPolicy, ScoreOptions, Scored,
};
pub use stages::{AlignStage, DomainRlStage, SftStage};
pub use trainer::{
    CommonSettings, DapoConfig, DrGrpoConfig, GrpoConfig, GspoConfig, ReinforcePpConfig, RlConfig,
    RlSettings, RlooConfig, SftConfig, SftSettings,
};
