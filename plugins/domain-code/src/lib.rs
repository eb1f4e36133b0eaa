//! A real reasoning domain for stage C and Table 1: programming problems
//! (LiveCodeBench and others), checked by running the response's program
//! against the problem's tests in a Linux sandbox.
//!
//! Registered as the task kind `code` and the reward kind `pass_fraction`:
//!
//! ```toml
//! [tasks.lcb]
//! kind = "code"
//! path = "data/livecodebench.jsonl"   # JSONL, JSON array or parquet; default: the shipped sample
//! layout = "livecodebench"            # auto, livecodebench, plain, humaneval
//! timeout_s = 6.0                     # per test (LiveCodeBench's); 10 for training
//! reward_mode = "binary"              # or "pass_fraction" with fraction_tests = N
//! ```
//!
//! - [`layout`]: the file layouts (LiveCodeBench's compressed private
//!   tests included); [`problem`]: the checkable problem a task carries.
//! - [`extract`]: the program of a response (the last fenced block).
//! - [`sandbox`]: what a program may and may not do, and how it is killed.
//! - [`runner`] and `harness.py`: one interpreter per sample runs the tests
//!   in turn; [`check`] and [`pyvalue`] compare results as
//!   LiveCodeBench's `testing_util.py` does.
//! - [`generator`]: a file's rows as tasks; [`verifier`]: the `Verifier`;
//!   [`reward`]: the `pass_fraction` reward.
//!
//! The crate uses the public API only, like any third-party plugin.
#![warn(missing_docs)]

pub mod check;
pub mod config;
pub mod extract;
pub mod generator;
pub mod layout;
pub mod problem;
pub mod pyvalue;
pub mod reward;
pub mod runner;
pub mod sandbox;
pub mod verifier;

use metaalign_core::{Plugin, Registry};

/// The registered kind (`kind = "code"`), written on every task.
pub const KIND: &str = "code";

pub use config::{CodeConfig, RewardMode, TestSet};
pub use extract::{extract_program, Block};
pub use generator::CodeTasks;
pub use layout::Layout;
pub use problem::{Mode, Problem, TestCase};
pub use reward::PassFractionReward;
pub use runner::{run_tests, RunOptions, RunReport};
pub use sandbox::{Isolation, Sandbox, SandboxConfig};
pub use verifier::CodeVerifier;

/// Adds the `code` task kind and the `pass_fraction` reward.
#[derive(Clone, Copy, Debug, Default)]
pub struct CodePlugin;

impl Plugin for CodePlugin {
    fn build(&self, registry: &mut Registry) {
        registry
            .add_task(
                "programming problems (LiveCodeBench layout, plain stdin/function tests, HumanEval/MBPP; JSONL, JSON or parquet), checked by running the response's Python program in a sandbox; without `path`, the shipped sample",
                CodeConfig::default(),
            )
            .add_reward(
                "the fraction of a program's tests that pass (code with reward_mode = \"pass_fraction\"); 1/0 for other kinds",
                PassFractionReward::default(),
            );
    }
}
