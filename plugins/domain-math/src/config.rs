//! `[tasks.NAME] kind = "math"`: a benchmark or training file of math
//! problems with final answers.

use std::path::PathBuf;

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::layout::{Fields, Preset};

/// `[tasks.NAME] kind = "math"`. Every key has a default; without `path`
/// the 50-problem sample in MATH-500's layout that the project ships is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MathConfig {
    /// A `.jsonl`, `.json` (array) or `.parquet` file; relative paths
    /// resolve against the pipeline file's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The file's layout: `auto`, `math500`, `aime`, `amc`,
    /// `olympiadbench`, `minerva`.
    pub preset: Preset,
    /// Field overrides (default: the preset's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem_field: Option<String>,
    /// The field holding the gold answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_field: Option<String>,
    /// The field holding the worked solution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution_field: Option<String>,
    /// The field holding the problem's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    /// The field holding the difficulty level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_field: Option<String>,
    /// The field holding the subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_field: Option<String>,
    /// Only the first `limit` rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Use the file's worked solution as the warm-up chain of thought.
    pub rationale: bool,
    /// Decimal places numbers are compared at (Math-Verify's `float_rounding`).
    pub float_rounding: u32,
    /// Math-Verify's `strict`: variables must match by name, and `x = 5`
    /// does not equal `5` where the gold is an equation.
    pub strict: bool,
}

impl Default for MathConfig {
    fn default() -> Self {
        Self {
            path: None,
            preset: Preset::Auto,
            problem_field: None,
            answer_field: None,
            solution_field: None,
            id_field: None,
            level_field: None,
            subject_field: None,
            limit: None,
            rationale: true,
            float_rounding: 6,
            strict: true,
        }
    }
}

impl MathConfig {
    /// The preset's fields with this config's overrides.
    pub fn fields(&self, preset: Preset) -> Fields {
        let mut f = preset.fields();
        if let Some(p) = &self.problem_field {
            f.problem = vec![p.clone()];
        }
        if let Some(a) = &self.answer_field {
            f.answer = Some(a.clone());
        }
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        set(&mut f.solution, &self.solution_field);
        set(&mut f.id, &self.id_field);
        set(&mut f.level, &self.level_field);
        set(&mut f.subject, &self.subject_field);
        f
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.limit == Some(0) {
            return Err(Error::config("math: `limit` must be at least 1"));
        }
        if self.float_rounding > 15 {
            return Err(Error::config(format!(
                "math: `float_rounding` must be at most 15 decimal places, got {}",
                self.float_rounding
            )));
        }
        Ok(())
    }
}
