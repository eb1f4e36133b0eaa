//! A real reasoning domain for stage C and Table 1: math problems with
//! final answers, read from benchmark files, checked by a verifier that
//! decides answer equivalence the way HuggingFace Math-Verify does.
//!
//! Registered as the task kind `math`:
//!
//! ```toml
//! [tasks.math500]
//! kind = "math"
//! path = "data/math500.jsonl"   # JSONL, JSON array or parquet; default: the shipped sample
//! preset = "math500"            # auto, math500, aime, amc, olympiadbench, minerva
//! ```
//!
//! - [`answer`]: extraction of the final answer from a response or a gold
//!   field, normalisation, and equivalence (numbers, expressions, sets,
//!   intervals, matrices, ...). Total and bounded on any text.
//! - [`layout`]: the published benchmark layouts and field overrides.
//! - [`generator`]: a file's rows as tasks; [`verifier`]: the `Verifier`.
//!
//! The crate uses the public API only, like any third-party plugin.
#![warn(missing_docs)]

pub mod answer;
pub mod config;
pub mod generator;
pub mod layout;
pub mod verifier;

use metaalign_core::{Plugin, Registry};

/// The registered kind (`kind = "math"`), written on every task.
pub const KIND: &str = "math";

pub use config::MathConfig;
pub use generator::MathTasks;
pub use layout::Preset;
pub use verifier::MathVerifier;

/// Adds the `math` task kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct MathPlugin;

impl Plugin for MathPlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_task(
            "math problems with final answers from a benchmark file (MATH-500, AIME, AMC, OlympiadBench, Minerva layouts; JSONL, JSON or parquet), checked like Math-Verify; without `path` or `preset`, the shipped sample",
            MathConfig::default(),
        );
    }
}
