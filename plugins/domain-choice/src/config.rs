//! `[tasks.NAME] kind = "choice"`: a file of multiple-choice questions,
//! in GPQA's columns or with explicit options.

use std::path::PathBuf;

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::layout::{Fields, Layout};

/// `[tasks.NAME] kind = "choice"`. Every key has a default; without `path`
/// the 20-question sample in GPQA's layout that the project ships is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChoiceConfig {
    /// A `.jsonl`, `.json` (array) or `.parquet` file; relative paths
    /// resolve against the pipeline file's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The file's layout: `auto`, `gpqa` (a correct and three incorrect
    /// answer columns) or `choices` (a list of options and the answer).
    pub layout: Layout,
    /// Field overrides (default: the layout's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_field: Option<String>,
    /// The field holding the list of options (layout `choices`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices_field: Option<String>,
    /// The field holding the answer's letter or index (layout `choices`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_field: Option<String>,
    /// The field holding the question's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    /// The field holding the correct option's text (layout `gpqa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_field: Option<String>,
    /// The fields holding the incorrect options' texts (layout `gpqa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incorrect_fields: Option<Vec<String>>,
    /// Only the first `limit` rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Shuffle GPQA's options per question from the run seed (otherwise
    /// the correct answer would always be (A)). Explicit options always
    /// keep the file's order.
    pub shuffle: bool,
    /// Use the file's explanation (GPQA's `Explanation`) as the warm-up
    /// chain of thought.
    pub rationale: bool,
}

impl Default for ChoiceConfig {
    fn default() -> Self {
        Self {
            path: None,
            layout: Layout::Auto,
            question_field: None,
            choices_field: None,
            answer_field: None,
            id_field: None,
            correct_field: None,
            incorrect_fields: None,
            limit: None,
            shuffle: true,
            rationale: true,
        }
    }
}

impl ChoiceConfig {
    /// The layout's fields with this config's overrides; overrides that
    /// belong to the other layout are errors (they would be ignored).
    pub fn fields(&self, layout: Layout) -> Result<Fields> {
        let mut f = layout.fields();
        let explicit_only = [
            ("choices_field", self.choices_field.is_some()),
            ("answer_field", self.answer_field.is_some()),
        ];
        let gpqa_only = [
            ("correct_field", self.correct_field.is_some()),
            ("incorrect_fields", self.incorrect_fields.is_some()),
        ];
        let misplaced = match layout {
            Layout::Gpqa => explicit_only,
            _ => gpqa_only,
        };
        if let Some((key, _)) = misplaced.iter().find(|(_, set)| *set) {
            return Err(Error::config(format!(
                "choice: `{key}` does not apply to layout = \"{}\"",
                layout.name()
            )));
        }
        if let Some(q) = &self.question_field {
            f.question = vec![q.clone()];
        }
        if let Some(c) = &self.choices_field {
            f.choices = vec![c.clone()];
        }
        if let Some(a) = &self.answer_field {
            f.answer = a.clone();
        }
        if let Some(c) = &self.correct_field {
            f.correct = c.clone();
        }
        if let Some(list) = &self.incorrect_fields {
            f.incorrect = list.clone();
        }
        if self.id_field.is_some() {
            f.id.clone_from(&self.id_field);
        }
        Ok(f)
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.limit == Some(0) {
            return Err(Error::config("choice: `limit` must be at least 1"));
        }
        if let Some(list) = &self.incorrect_fields {
            if list.is_empty() {
                return Err(Error::config(
                    "choice: `incorrect_fields` must name at least one field",
                ));
            }
        }
        Ok(())
    }
}
