//! The induction verifier: reads the integer in an answer and compares it
//! with the task's reference answer.

use metaalign_core::{
    format_compact, CompactString, Outcome, Task, ToCompactString, Verdict, Verifier,
};

use super::ground_truth::reference_answer;
use super::parse::parse_answer;
use crate::common::judge_response;

/// Checks `<answer>` integers against the stored answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct InductionVerifier;

impl Verifier for InductionVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        judge_response(task, response, |text| {
            let value = match parse_answer(text) {
                Ok(v) => v,
                Err(e) => return (Outcome::Unparseable, None, e.into()),
            };
            let parsed = Some(value.to_compact_string());
            match reference_answer(task) {
                Some(expected) if expected == value => (
                    Outcome::Correct,
                    parsed,
                    CompactString::const_new("correct"),
                ),
                Some(expected) => (
                    Outcome::Wrong,
                    parsed,
                    format_compact!("answered {value}, expected {expected}"),
                ),
                None => (
                    Outcome::Wrong,
                    parsed,
                    format_compact!(
                        "task {} has no integer reference answer to compare {value} with",
                        task.id
                    ),
                ),
            }
        })
    }
}
