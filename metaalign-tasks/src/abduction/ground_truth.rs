//! A task's ground-truth JSON: writing it for a puzzle and its labels, and
//! reading the puzzle, goals and labels back.

use metaalign_core::Task;
use serde_json::{json, Value};

use super::puzzle::{parse_labels, parse_puzzle_text, AbductionPuzzle};

/// The ground-truth JSON the verifier reads.
pub fn ground_truth(p: &AbductionPuzzle, labels: &[bool]) -> Value {
    json!({
        "premises": p.premise_texts(),
        "known_atoms": p.known_names(),
        "goals": p.goal_names(),
        "reachable": labels,
        "solution_text_format": p.answer_text(labels),
    })
}

/// Goal names and labels from a ground truth (labels from `reachable`, or
/// else read from `solution_text_format`).
pub(super) fn goals_and_labels(
    gt: &Value,
) -> std::result::Result<(Vec<String>, Vec<bool>), String> {
    let goals: Vec<String> = gt
        .get("goals")
        .and_then(Value::as_array)
        .ok_or("ground truth has no `goals` list")?
        .iter()
        .map(|g| {
            g.as_str()
                .map(str::to_string)
                .ok_or("a goal is not a string")
        })
        .collect::<std::result::Result<_, _>>()?;
    let labels = match gt.get("reachable").and_then(Value::as_array) {
        Some(ls) => ls
            .iter()
            .map(|l| l.as_bool().ok_or("a label is not a boolean"))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        None => {
            let text = gt
                .get("solution_text_format")
                .and_then(Value::as_str)
                .ok_or("ground truth has neither `reachable` nor `solution_text_format`")?;
            parse_labels(text, &goals)?
        }
    };
    if labels.len() != goals.len() {
        return Err(format!("{} goals but {} labels", goals.len(), labels.len()));
    }
    Ok((goals, labels))
}

/// The puzzle of a task: from its ground truth, else from its puzzle text.
pub fn task_puzzle(task: &Task) -> std::result::Result<AbductionPuzzle, String> {
    let gt = &task.ground_truth;
    let list = |key: &str| -> Option<Vec<String>> {
        gt.get(key)?
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    match (list("premises"), list("known_atoms"), list("goals")) {
        (Some(p), Some(k), Some(g)) => {
            AbductionPuzzle::from_parts(&p, &k, &g).map_err(|e| e.message)
        }
        _ => parse_puzzle_text(&task.puzzle).map_err(|e| e.message),
    }
}
