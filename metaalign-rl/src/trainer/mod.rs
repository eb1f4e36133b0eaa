//! Trainers: `reinforce_pp`, `grpo`, `rloo` (one RL loop, three advantage
//! estimators) and `sft` (supervised warm-up), with curriculum, metrics,
//! resumable checkpoints and plots.
//!
//! Output directory of a trainer (`TrainInputs::out_dir`):
//! - `checkpoints/step-NNNNNN/{model/, optimizer.safetensors, state.json}`:
//!   resumable checkpoints (written to a temp dir and renamed);
//! - `steps.jsonl`: one record per step (also sent to the run's metrics);
//! - `model/`: the final HF checkpoint, `trainer_done.json` once finished;
//! - `curves-<kind>.png`: reward / accuracy (RL) or loss (SFT) curves.

pub mod common;
pub mod config;
pub mod rl;
pub mod sft;
pub mod short_prompt;

pub use common::{Layout, TrainerState};
pub use config::{
    auto_lr, CommonSettings, Estimator, GrpoConfig, KlPlacement, ReinforcePpConfig, RlSettings,
    RlooConfig, ScheduleKind, SftConfig, SftSettings, WhitenMode,
};
pub use rl::RlTrainer;
pub use sft::{sft_target, SftTrainer};
