//! Import of the paper's released induction rows as tasks.

use metaalign_core::paper::PaperRecord;
use metaalign_core::{Ability, Error, Level, Result, Task};
use serde_json::{json, Value};

use super::config::KIND;
use super::parse::{parse_answer, parse_puzzle};
use super::rules::{self, Masked};
use super::solve::solve_masked;

/// Imports one row of the paper's Induction data, keeping its prompt text
/// (already templated). The sequence comes from `puzzle_text`, the answer
/// from `solution_text` (or `reward_model.ground_truth.solution_text_format`);
/// `complete_sequence`, when present, must agree with both.
pub fn from_paper(record: &PaperRecord) -> Result<Task> {
    let where_ = format!(
        "paper induction row {} (level {})",
        record.row, record.level
    );
    let puzzle = record
        .puzzle_text
        .clone()
        .ok_or_else(|| Error::data(format!("{where_}: no puzzle_text")))?;
    let seq = parse_puzzle(&puzzle).map_err(|e| Error::data(format!("{where_}: {e}")))?;
    let answer_text = record
        .solution_text
        .clone()
        .or_else(|| {
            record
                .ground_truth
                .get("solution_text_format")
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        })
        .ok_or_else(|| Error::data(format!("{where_}: no solution_text")))?;
    let answer = parse_answer(&answer_text)
        .map_err(|e| Error::data(format!("{where_}: solution_text: {e}")))?;
    let mut complete = seq.terms.clone();
    complete[seq.mask] = answer;
    if let Some(stored) = record.extra.get("complete_sequence") {
        let stored: Option<Vec<i64>> = stored
            .as_array()
            .and_then(|a| a.iter().map(Value::as_i64).collect());
        match stored {
            Some(s) if s == complete => {}
            Some(s) => {
                return Err(Error::data(format!(
                    "{where_}: complete_sequence {s:?} disagrees with the puzzle and answer {complete:?}"
                )))
            }
            None => {
                return Err(Error::data(format!(
                    "{where_}: complete_sequence is not a list of integers"
                )))
            }
        }
    }
    if record.prompt.is_empty() {
        return Err(Error::data(format!("{where_}: empty prompt")));
    }
    let masked = Masked::new(&complete, seq.mask).ok_or_else(|| {
        Error::data(format!(
            "{where_}: the sequence needs 3 to {} terms",
            rules::MAX_TERMS
        ))
    })?;
    let rationale = solve_masked(&masked, Some(answer), None, None)
        .ok()
        .filter(|s| s.value == answer)
        .map(|s| s.rationale);
    Ok(Task {
        id: format!("{KIND}-L{}-{}", record.level, record.row),
        kind: KIND.into(),
        ability: Ability::Induction,
        level: Level(record.level),
        puzzle,
        prompt: record.prompt.clone(),
        templated: true,
        answer: answer.to_string(),
        ground_truth: json!({
            "answer": answer,
            "sequence": masked.visible(),
            "mask_index": seq.mask,
            "complete_sequence": complete,
            "solution_text_format": answer_text.trim(),
        }),
        rationale,
    })
}
