//! Import of the paper's released deduction rows as tasks.

use metaalign_core::paper::PaperRecord;
use metaalign_core::{Ability, Error, Level, Result, Task};
use serde_json::Value;

use super::config::KIND;
use super::generator::DeductionGenerator;
use super::puzzle::{parse_answer, Claim, DeductionPuzzle};
use crate::logic::Models;

/// Imports one row of the paper's deduction data. Keeps the paper's prompt
/// text (already templated) and its ground-truth answer text.
pub fn from_paper(record: &PaperRecord) -> Result<Task> {
    let where_ = format!(
        "paper deduction row {} (level {})",
        record.row, record.level
    );
    let formulas = record
        .extra
        .get("puzzle_spec")
        .and_then(|s| s.get("formulas"))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::data(format!("{where_}: no puzzle_spec.formulas")))?;
    let formulas: Vec<&str> = formulas
        .iter()
        .map(|f| {
            f.as_str()
                .ok_or_else(|| Error::data(format!("{where_}: a formula is not a string")))
        })
        .collect::<Result<_>>()?;
    let p = DeductionPuzzle::from_texts(&formulas, None)
        .map_err(|e| Error::data(format!("{where_}: {e}")))?;
    let gt_text = record
        .ground_truth
        .get("solution_text_format")
        .and_then(Value::as_str)
        .or(record.solution_text.as_deref())
        .ok_or_else(|| Error::data(format!("{where_}: no ground_truth.solution_text_format")))?;
    let solution = match parse_answer(gt_text, &p.names) {
        Ok(Claim::Assignment(v)) => v,
        Ok(Claim::NoAssignment) => {
            return Err(Error::data(format!(
                "{where_}: ground truth claims no assignment"
            )))
        }
        Err(e) => {
            return Err(Error::data(format!(
                "{where_}: ground truth unreadable: {e}"
            )))
        }
    };
    // The verifier compares answers with a model declared unique (see
    // [`unique`]): declare it only once the solver has shown it.
    let unique = matches!(p.models(), Models::Unique(ref m) if *m == solution);
    let mut ground_truth = p.ground_truth(Some(&solution), unique);
    if let Value::Object(map) = &mut ground_truth {
        // Keep the paper's own text (and any other keys) verbatim.
        if let Value::Object(orig) = &record.ground_truth {
            for (k, v) in orig {
                map.insert(k.clone(), v.clone());
            }
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
        id: format!("deduction-L{}-{split}-{index}", record.level),
        kind: KIND.into(),
        ability: Ability::Deduction,
        level: Level(record.level),
        puzzle: record
            .puzzle_text
            .clone()
            .unwrap_or_else(|| DeductionGenerator::puzzle_text(&p)),
        prompt: record.prompt.clone(),
        templated: true,
        answer: gt_text.to_string(),
        ground_truth,
        rationale: None,
    })
}
