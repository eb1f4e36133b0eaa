//! Trainers: the RL kinds (`rl`, `reinforce_pp`, `grpo`, `rloo`,
//! `dr_grpo`, `dapo`, `gspo`: one RL step, veRL-named estimators and
//! losses, other defaults) and `sft` (supervised warm-up). Both run the one
//! training loop of `run_loop` (resume, optimizer, curriculum, budget,
//! cancel, checkpoints, metrics, curves) and supply only their step.
//!
//! Output directory of a trainer (`TrainInputs::out_dir`):
//! - `checkpoints/step-NNNNNN/{model/, optimizer.safetensors, state.json}`:
//!   resumable checkpoints (written to a temp dir and renamed);
//! - `steps.jsonl`: one record per step (also sent to the run's metrics);
//! - `model/`: the final HF checkpoint, `trainer_done.json` once finished;
//! - `curves-<kind>.png`: reward / accuracy (RL) or loss (SFT) curves.

pub mod common;
pub mod kinds;
pub mod rl;
pub mod rl_settings;
pub(crate) mod run_loop;
pub mod settings;
pub mod sft;
pub mod sft_settings;
pub mod short_prompt;

pub use common::{Layout, TrainerState};
pub use kinds::{
    DapoConfig, DrGrpoConfig, GrpoConfig, GspoConfig, ReinforcePpConfig, RlConfig, RlooConfig,
    SftConfig,
};
pub use rl::{RlMetrics, RlTrainer};
pub use rl_settings::{
    EstimatorSpec, FilterGroups, GroupMetric, KlPlacement, OverlongBuffer, RlKind, RlPlan,
    RlSettings,
};
pub use settings::{auto_lr, CommonSettings, ScheduleKind};
pub use sft::{sft_target, SftMetrics, SftTrainer};
pub use sft_settings::SftSettings;
