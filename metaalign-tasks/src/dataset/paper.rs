//! One row of the paper's released data (veRL parquet layout), before it is
//! turned into a [`metaalign_core::Task`] by the task module of its ability
//! (`deduction::from_paper`, `induction::from_paper`, `abduction::from_paper`).

use metaalign_core::ChatMessage;
use serde::{Deserialize, Serialize};

/// A paper-data row with every column kept. Task-specific columns
/// (`puzzle_spec`, `complete_sequence`, ...) are in `extra`, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperRecord {
    pub data_source: String,
    /// Chat messages; their content already carries the Qwen chat template
    /// and ends with `<|im_start|>assistant\n<think>`.
    pub prompt: Vec<ChatMessage>,
    pub ability: String,
    /// `reward_model.ground_truth` (e.g. `{solution_text_format, statements}`).
    pub ground_truth: serde_json::Value,
    /// `extra_info` (`{index, split}`).
    pub extra_info: serde_json::Value,
    pub puzzle_text: Option<String>,
    pub solution_text: Option<String>,
    /// Every other column by name.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Level from the file's folder (`Deduction/2/train.parquet` -> 2).
    pub level: u32,
    /// Row index within its file.
    pub row: usize,
}
