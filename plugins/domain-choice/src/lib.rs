//! A real reasoning domain for stage C and Table 1: multiple-choice
//! questions (GPQA and files with explicit options), answered with the
//! letter of the correct option.
//!
//! Registered as the task kind `choice`:
//!
//! ```toml
//! [tasks.gpqa]
//! kind = "choice"
//! path = "data/gpqa_diamond.jsonl"   # JSONL, JSON array or parquet; default: the shipped sample
//! layout = "gpqa"                    # auto, gpqa, choices
//! shuffle = true                     # GPQA options shuffled per question from the run seed
//! limit = 198
//!
//! [tasks.quiz]
//! kind = "choice"
//! path = "data/quiz.jsonl"           # {"id", "question", "choices": [..], "answer": "B" or 1}
//! layout = "choices"
//! ```
//!
//! - [`layout`]: the two layouts, field overrides, the seeded shuffle.
//! - [`extract`]: the letter a response gives; a final answer naming two
//!   letters is never credited. Total on any text.
//! - [`generator`]: a file's rows as tasks; [`verifier`]: the `Verifier`.
//!
//! The crate uses the public API only, like any third-party plugin.
#![warn(missing_docs)]

pub mod config;
pub mod extract;
pub mod generator;
pub mod layout;
pub mod verifier;

use metaalign_core::{Plugin, Registry};

/// The registered kind (`kind = "choice"`), written on every task.
pub const KIND: &str = "choice";

pub use config::ChoiceConfig;
pub use extract::{extract_choice, Found, Rule};
pub use generator::ChoiceTasks;
pub use layout::Layout;
pub use verifier::ChoiceVerifier;

/// Adds the `choice` task kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChoicePlugin;

impl Plugin for ChoicePlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_task(
            "multiple-choice questions from a file (GPQA columns, options shuffled from the run seed, or explicit options; JSONL, JSON or parquet), answered with a letter; without `path`, the shipped sample",
            ChoiceConfig::default(),
        );
    }
}
