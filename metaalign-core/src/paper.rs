//! One row of the paper's released data (veRL parquet layout), before a
//! task kind's paper importer turns it into a [`Task`]. The
//! type lives in core so that a task kind registers its importer with the
//! [`registry`](crate::registry) (`Registry::add_paper_task`); reading the
//! parquet files is `metaalign_tasks::dataset`'s job.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::task::{Ability, ChatMessage, Task};

/// Turns one paper row into a task of its ability (the task id is set by
/// the caller).
pub type PaperImporter = fn(&PaperRecord) -> Result<Task>;

/// A paper-data row with every column kept. Task-specific columns
/// (`puzzle_spec`, `complete_sequence`, ...) are in `extra`, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperRecord {
    /// The `data_source` column (e.g. `logic_assignment`): which task
    /// family the row comes from.
    pub data_source: String,
    /// Chat messages; their content already carries the Qwen chat template
    /// and ends with `<|im_start|>assistant\n<think>`.
    pub prompt: Vec<ChatMessage>,
    /// The `ability` column, as written in the file.
    pub ability: String,
    /// `reward_model.ground_truth` (e.g. `{solution_text_format, statements}`).
    pub ground_truth: serde_json::Value,
    /// `extra_info` (`{index, split}`).
    pub extra_info: serde_json::Value,
    /// The puzzle statement column, when the row has one.
    pub puzzle_text: Option<String>,
    /// The solution column as text (Induction stores it as an integer).
    pub solution_text: Option<String>,
    /// Every other column by name.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Level from the file's folder (`Deduction/2/train.parquet` -> 2).
    pub level: u32,
    /// Row index within its file.
    pub row: usize,
}

impl PaperRecord {
    /// `reward_model.ground_truth.solution_text_format`, the reference
    /// answer the paper's reward compares against.
    pub fn solution_text_format(&self) -> Option<&str> {
        self.ground_truth
            .get("solution_text_format")
            .and_then(Value::as_str)
    }

    /// `extra_info.split`, falling back to `default`.
    pub fn split<'a>(&'a self, default: &'a str) -> &'a str {
        self.extra_info
            .get("split")
            .and_then(Value::as_str)
            .unwrap_or(default)
    }

    /// `extra_info.index`, falling back to the row number.
    pub fn index(&self) -> u64 {
        self.extra_info
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(self.row as u64)
    }

    /// The meta-ability of the row: from the folder name of its file when
    /// that is `Deduction` / `Induction` / `Abduction`, else from the
    /// task-specific columns (`puzzle_spec` -> deduction,
    /// `complete_sequence` -> induction, premises/goals -> abduction).
    pub fn detect_ability(&self, folder: Option<&str>) -> Option<Ability> {
        if let Some(name) = folder {
            let a = Ability::parse(name);
            if a != Ability::Domain(name.trim().to_ascii_lowercase()) {
                return Some(a);
            }
        }
        if self.extra.contains_key("puzzle_spec") {
            Some(Ability::Deduction)
        } else if self.extra.contains_key("complete_sequence") {
            Some(Ability::Induction)
        } else if self
            .puzzle_text
            .as_deref()
            .is_some_and(|t| t.contains("premises:") && t.contains("goals:"))
        {
            Some(Ability::Abduction)
        } else {
            None
        }
    }

    /// Builds a record from one row (a JSON object keyed by column name).
    pub fn from_row(mut row: Map<String, Value>, level: u32, index: usize) -> Result<Self> {
        let at = |col: &str| format!("row {index}: column `{col}`");
        let text = |v: Option<Value>, col: &str| -> Result<Option<String>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(Error::data(format!(
                    "{}: expected text, got {other}",
                    at(col)
                ))),
            }
        };
        let data_source = text(row.remove("data_source"), "data_source")?
            .ok_or_else(|| Error::data(format!("{} is missing", at("data_source"))))?;
        let ability = text(row.remove("ability"), "ability")?.unwrap_or_default();
        let prompt: Vec<ChatMessage> = match row.remove("prompt") {
            Some(v @ Value::Array(_)) => serde_json::from_value(v)
                .map_err(|e| Error::data(format!("{}: {e}", at("prompt"))))?,
            other => {
                return Err(Error::data(format!(
                    "{}: expected a list of {{role, content}} messages, got {}",
                    at("prompt"),
                    other.unwrap_or(Value::Null)
                )))
            }
        };
        let ground_truth = match row.remove("reward_model") {
            Some(Value::Object(mut rm)) => rm.remove("ground_truth").unwrap_or(Value::Null),
            _ => {
                return Err(Error::data(format!(
                    "{}: expected {{style, ground_truth}}",
                    at("reward_model")
                )))
            }
        };
        let extra_info = row.remove("extra_info").unwrap_or(Value::Null);
        let puzzle_text = text(row.remove("puzzle_text"), "puzzle_text")?;
        let solution_text = text(row.remove("solution_text"), "solution_text")?;
        Ok(PaperRecord {
            data_source,
            prompt,
            ability,
            ground_truth,
            extra_info,
            puzzle_text,
            solution_text,
            extra: row,
            level,
            row: index,
        })
    }
}
