//! `[tasks.NAME] kind = "abduction"`: the settings of the abduction task
//! source.

use serde::{Deserialize, Serialize};

use crate::common::RationaleStyle;

/// The registered kind name.
pub const KIND: &str = "abduction";

/// `[tasks.NAME] kind = "abduction"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbductionConfig {
    /// Highest level offered (levels beyond 5 lengthen the chains and add
    /// goals, distractors and cycles).
    pub max_level: u32,
    /// Attach the backward proof of each goal as a rationale.
    pub rationale: bool,
    /// `"full"` (sentences, default) or `"step"` (one compact line per
    /// goal, `(1) G: G<2 C<1 yes`; see [`super::solve::step_rationale`]).
    pub rationale_style: RationaleStyle,
}

impl Default for AbductionConfig {
    fn default() -> Self {
        Self {
            max_level: 10,
            rationale: true,
            rationale_style: RationaleStyle::Full,
        }
    }
}
