//! Reading a task's ground truth: its reference answer and its masked
//! sequence, with fallbacks to the answer and puzzle texts.

use metaalign_core::{Error, Result, Task};
use serde_json::Value;

use super::parse::{parse_answer, parse_puzzle, ParsedSequence};

/// The stored reference answer of a task (ground truth `answer`, else the
/// task's answer text).
pub fn reference_answer(task: &Task) -> Option<i64> {
    task.ground_truth
        .get("answer")
        .and_then(Value::as_i64)
        .or_else(|| parse_answer(&task.answer).ok())
}

/// A task's masked sequence: from its ground truth (`sequence` with a null
/// at the mask), else parsed from the puzzle text.
pub fn task_sequence(task: &Task) -> Result<ParsedSequence> {
    if let Some(items) = task.ground_truth.get("sequence").and_then(Value::as_array) {
        let mut terms = Vec::with_capacity(items.len());
        let mut mask = None;
        for (i, v) in items.iter().enumerate() {
            if v.is_null() {
                if mask.replace(i).is_some() {
                    return Err(Error::data(format!(
                        "task {}: ground truth `sequence` has more than one null (mask)",
                        task.id
                    )));
                }
                terms.push(0);
            } else {
                terms.push(v.as_i64().ok_or_else(|| {
                    Error::data(format!(
                        "task {}: ground truth `sequence` item {} is not an integer",
                        task.id,
                        i + 1
                    ))
                })?);
            }
        }
        let mask = mask.ok_or_else(|| {
            Error::data(format!(
                "task {}: ground truth `sequence` has no null (mask)",
                task.id
            ))
        })?;
        return Ok(ParsedSequence { terms, mask });
    }
    parse_puzzle(&task.puzzle).map_err(|e| Error::data(format!("task {}: {e}", task.id)))
}
