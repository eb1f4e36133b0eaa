//! `[tasks.NAME] kind = "induction"`: the settings of the induction task
//! source.

use serde::{Deserialize, Serialize};

use super::generate::MaskPosition;
use crate::common::RationaleStyle;

/// The registered kind name.
pub const KIND: &str = "induction";

/// Settings of the `induction` task source. Every field has a default, so
/// `kind = "induction"` alone is a valid config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InductionConfig {
    /// Highest level offered (levels 1–5 follow the paper's data; level L ≥ 6
    /// uses L-step operation cycles).
    pub max_level: u32,
    /// Largest absolute value of any term; draws beyond it are redrawn.
    pub max_abs_value: i64,
    /// Where the `?` goes: `"paper"`, `"end"` or `"anywhere"`.
    pub mask: MaskPosition,
    /// Attach a programmatic rationale (the rule found) to each task.
    pub rationale: bool,
    /// How much the rationale says: the rule and its derivation, or only
    /// the worked step that yields the missing term.
    pub rationale_style: RationaleStyle,
    /// Draws tried per puzzle before giving up with an error.
    pub max_tries: u32,
}

impl Default for InductionConfig {
    fn default() -> Self {
        Self {
            max_level: 10,
            max_abs_value: 1_000_000,
            mask: MaskPosition::Paper,
            rationale: true,
            rationale_style: RationaleStyle::Full,
            max_tries: 100_000,
        }
    }
}
