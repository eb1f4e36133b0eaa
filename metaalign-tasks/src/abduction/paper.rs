//! Import of the paper's released abduction rows as tasks.

use metaalign_core::paper::PaperRecord;
use metaalign_core::{Ability, Error, Level, Result, Task};
use serde_json::Value;

use super::config::KIND;
use super::ground_truth::ground_truth;
use super::puzzle::{parse_labels, parse_puzzle_text};

/// Imports one row of the paper's abduction data, keeping its prompt text
/// (already templated) and ground-truth answer.
pub fn from_paper(record: &PaperRecord) -> Result<Task> {
    let where_ = format!(
        "paper abduction row {} (level {})",
        record.row, record.level
    );
    let text = record
        .puzzle_text
        .as_deref()
        .ok_or_else(|| Error::data(format!("{where_}: no puzzle_text")))?;
    let p = parse_puzzle_text(text).map_err(|e| Error::data(format!("{where_}: {e}")))?;
    let gt_text = record
        .ground_truth
        .get("solution_text_format")
        .and_then(Value::as_str)
        .or(record.solution_text.as_deref())
        .ok_or_else(|| Error::data(format!("{where_}: no ground_truth.solution_text_format")))?;
    let labels = parse_labels(gt_text, &p.goal_names())
        .map_err(|e| Error::data(format!("{where_}: ground truth unreadable: {e}")))?;
    let mut gt = ground_truth(&p, &labels);
    if let (Value::Object(map), Value::Object(orig)) = (&mut gt, &record.ground_truth) {
        for (k, v) in orig {
            map.insert(k.clone(), v.clone());
        }
    }
    let split = record
        .extra_info
        .get("split")
        .and_then(Value::as_str)
        .unwrap_or("data");
    let index = record
        .extra_info
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(record.row as u64);
    Ok(Task {
        id: format!("abduction-L{}-{split}-{index}", record.level),
        kind: KIND.into(),
        ability: Ability::Abduction,
        level: Level(record.level),
        puzzle: text.to_string(),
        prompt: record.prompt.clone(),
        templated: true,
        answer: gt_text.to_string(),
        ground_truth: gt,
        rationale: None,
    })
}
