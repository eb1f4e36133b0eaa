//! `[tasks.NAME] kind = "deduction"`: the settings of the deduction task
//! source and their validation.

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::common::RationaleStyle;

/// The registered kind name.
pub const KIND: &str = "deduction";

/// How many models the generated puzzles have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolutionMode {
    /// Exactly one satisfying assignment (the paper's puzzles).
    #[default]
    Unique,
    /// At least one; any satisfying assignment is a correct answer.
    Satisfiable,
}

/// `[tasks.NAME] kind = "deduction"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeductionConfig {
    /// `"unique"` (default) or `"satisfiable"`.
    pub solutions: SolutionMode,
    /// Share of puzzles (0–1) with no satisfying assignment, whose answer
    /// is "No assignment satisfies all the formulas."
    pub unsat_fraction: f64,
    /// Highest level offered (levels beyond 5 add 2 variables and one level
    /// of nesting each; level 19 has 40 variables).
    pub max_level: u32,
    /// Attach a programmatic reasoning trace to each task.
    pub rationale: bool,
    /// `"full"` (sentences, default) or `"step"` (the forced assignments in
    /// formula order, `1:A=T 2:D=F ...`; see [`super::rationale::step_rationale`]).
    pub rationale_style: RationaleStyle,
}

impl Default for DeductionConfig {
    fn default() -> Self {
        Self {
            solutions: SolutionMode::Unique,
            unsat_fraction: 0.0,
            max_level: 20,
            rationale: true,
            rationale_style: RationaleStyle::Full,
        }
    }
}

impl DeductionConfig {
    /// Rejects an `unsat_fraction` outside 0–1 or a `max_level` outside
    /// 1–60, before any generator is built.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.unsat_fraction) {
            return Err(Error::config(format!(
                "deduction: unsat_fraction must be between 0 and 1, got {}",
                self.unsat_fraction
            )));
        }
        if !(1..=60).contains(&self.max_level) {
            return Err(Error::config(format!(
                "deduction: max_level must be between 1 and 60, got {}",
                self.max_level
            )));
        }
        Ok(())
    }
}
