//! The deduction verifier: reads the assignment in an answer and checks it
//! against the formulas (or against a model the ground truth declares
//! unique).

use metaalign_core::{format_compact, CompactString, Outcome, Task, Verdict, Verifier};

use super::puzzle::{self, NO_ASSIGNMENT};
use super::unique;
use crate::common::judge_response;
use crate::logic::Var;

/// Checks deduction responses: correct iff the answer's assignment makes
/// every formula true (or, for a puzzle without a model, the answer says
/// so). Total: never panics.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeductionVerifier;

impl DeductionVerifier {
    /// Judges an answer text (what is inside `<answer>`), without the
    /// format check.
    pub fn judge(task: &Task, answer: &str) -> unique::Judgement {
        if let Some(judged) = unique::judge_against_unique_model(&task.ground_truth, answer) {
            return judged;
        }
        let cached = match puzzle::task_puzzle_cached(task) {
            Ok(x) => x,
            Err(e) => {
                return (
                    Outcome::Unparseable,
                    None,
                    format_compact!("task ground truth is invalid: {e}"),
                )
            }
        };
        let (p, satisfiable) = (&cached.puzzle, cached.satisfiable);
        // Up to 64 variables the answer is read into a buffer on the stack.
        const MAX: usize = 64;
        let mut stack = [None; MAX];
        let mut heap = Vec::new();
        let values: &mut [Option<bool>] = if p.nvars() <= MAX {
            &mut stack[..p.nvars()]
        } else {
            heap.resize(p.nvars(), None);
            &mut heap
        };
        match puzzle::parse_answer_hinted(answer, &p.names, values, cached.names_distinct()) {
            Err(e) => (Outcome::Unparseable, None, e.into()),
            Ok(false) => {
                if satisfiable {
                    (
                        Outcome::Wrong,
                        Some(CompactString::const_new(NO_ASSIGNMENT)),
                        CompactString::const_new("the formulas do have a satisfying assignment"),
                    )
                } else {
                    (
                        Outcome::Correct,
                        Some(CompactString::const_new(NO_ASSIGNMENT)),
                        CompactString::const_new("no assignment exists"),
                    )
                }
            }
            Ok(true) => {
                let values: &[Option<bool>] = values;
                let value = |v: Var| values.get(usize::from(v)).copied().flatten() == Some(true);
                let bits = (values.len() <= 64).then(|| {
                    values
                        .iter()
                        .enumerate()
                        .fold(0u64, |b, (i, v)| b | (u64::from(*v == Some(true)) << i))
                });
                // The parsed answer in the canonical `(i) X is True` form.
                let parsed = Some(CompactString::from(p.answer_text_with(&value)));
                if !satisfiable {
                    return (
                        Outcome::Wrong,
                        parsed,
                        CompactString::const_new("no assignment satisfies all the formulas"),
                    );
                }
                match cached.first_falsified(&value, bits) {
                    Some(i) => (
                        Outcome::Wrong,
                        parsed,
                        format_compact!(
                            "formula {} ({}) is false under this assignment",
                            i + 1,
                            cached.formula_texts.get(i).map_or("", String::as_str)
                        ),
                    ),
                    None => (
                        Outcome::Correct,
                        parsed,
                        CompactString::const_new("every formula is true"),
                    ),
                }
            }
        }
    }
}

impl Verifier for DeductionVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        judge_response(task, response, |answer| Self::judge(task, answer))
    }
}
