//! The deduction solver: the model of a task's formulas (checked against a
//! ground truth that claims it unique) and the rationale that derives it.

use metaalign_core::{Error, Result, Solution, Task};
use serde_json::Value;

use super::puzzle::{task_puzzle, DeductionPuzzle, NO_ASSIGNMENT};
use super::rationale;
use crate::common::RationaleStyle;
use crate::logic::Models;

/// Solves a task from its formulas: a model (the only one, when the ground
/// truth says so) or "no assignment", with a rationale in `style`.
pub(super) fn solve_task(task: &Task, style: RationaleStyle) -> Result<Solution> {
    let (p, _) = task_puzzle(task).map_err(|e| Error::data(format!("task {}: {e}", task.id)))?;
    let models = p.models();
    check_unique_claim(task, &models)?;
    Ok(match models {
        Models::Unsat => Solution {
            answer: NO_ASSIGNMENT.to_string(),
            rationale: Some(rationale_of(&p, None, style)),
        },
        Models::Unique(m) | Models::Multiple(m, _) => Solution {
            answer: p.answer_text(&m),
            rationale: Some(rationale_of(&p, Some(&m), style)),
        },
    })
}

/// The rationale in the configured style (`solution` None: no model).
pub(super) fn rationale_of(
    p: &DeductionPuzzle,
    solution: Option<&[bool]>,
    style: RationaleStyle,
) -> String {
    match (solution, style) {
        (Some(s), RationaleStyle::Full) => rationale::rationale(p, s),
        (Some(s), RationaleStyle::Step) => rationale::step_rationale(p, s),
        (None, _) => unsat_rationale(p),
    }
}

/// Fails when the task's ground truth declares a unique model (which the
/// verifier then compares answers with, see [`super::unique`]) that the puzzle
/// does not have: several models, none, or another one.
fn check_unique_claim(task: &Task, models: &Models) -> Result<()> {
    let gt = &task.ground_truth;
    if gt.get("unique").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let stored: Option<Vec<bool>> = gt
        .get("solution")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().map(Value::as_bool).collect());
    let problem = match (models, stored) {
        (_, None) => "but has no `solution` list of booleans".to_string(),
        (Models::Unsat, _) => "but the formulas have no model".to_string(),
        (Models::Multiple(..), _) => "but the formulas have several models".to_string(),
        (Models::Unique(m), Some(s)) if *m != s => {
            "but its `solution` is not the formulas' only model".to_string()
        }
        (Models::Unique(_), Some(_)) => return Ok(()),
    };
    Err(Error::data(format!(
        "task {}: the ground truth says `unique: true` {problem}",
        task.id
    )))
}

fn unsat_rationale(p: &DeductionPuzzle) -> String {
    format!(
        "Checking all the ways to assign {} gives none that makes all {} formulas true. {NO_ASSIGNMENT}",
        p.names.join(", "),
        p.formulas.len()
    )
}
