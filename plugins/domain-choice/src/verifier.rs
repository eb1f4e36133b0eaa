//! The `choice` verifier: reads the option letter of a response and
//! compares it with the gold letter (binary: right or wrong).

use metaalign_core::{format_compact, CompactString, Outcome, Task, Verdict, Verifier};
use metaalign_tasks::common::format::check_response_format;
use serde_json::Value;

use crate::extract::extract_choice;
use crate::layout::{index_of, letter, MAX_OPTIONS};

/// Checks multiple-choice answers (total: a verdict for any text).
#[derive(Clone, Copy, Debug, Default)]
pub struct ChoiceVerifier;

/// The options a task shows, when its ground truth lists them (a short
/// reward label may not).
pub fn task_choices(task: &Task) -> Vec<String> {
    match task.ground_truth.get("choices") {
        Some(Value::Array(items)) => items
            .iter()
            .take(MAX_OPTIONS)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The gold letter: a letter (`B`, `(B)`), or a 0-based index such as a
/// short label's `"answer": 1`; `None` when it reads as neither.
pub fn gold_letter(task: &Task, count: usize) -> Option<char> {
    let text = match task.ground_truth.get("answer") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => task.answer.trim().to_string(),
    };
    let bare = text
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(&text);
    let index = match bare.parse::<usize>() {
        Ok(i) => i,
        Err(_) => {
            let mut chars = bare.chars();
            match (chars.next().and_then(index_of), chars.next()) {
                (Some(i), None) => i,
                _ => return None,
            }
        }
    };
    (index < count).then(|| letter(index))
}

impl Verifier for ChoiceVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        let format = check_response_format(task, response);
        let choices = task_choices(task);
        // Without the options, a letter up to the gold one (at least D) is
        // in range.
        let count = if choices.len() >= 2 {
            choices.len()
        } else {
            gold_letter(task, MAX_OPTIONS)
                .and_then(index_of)
                .map_or(4, |i| (i + 1).max(4))
        };
        let gold = gold_letter(task, count);
        let (outcome, parsed, details): (Outcome, Option<CompactString>, CompactString) =
            match (gold, extract_choice(response, count, &choices)) {
                (None, _) => (
                    Outcome::Unparseable,
                    None,
                    format_compact!("the gold answer is not an option letter of {count}"),
                ),
                (Some(_), Err(reason)) => (Outcome::Unparseable, None, reason.into()),
                (Some(g), Ok(found)) => {
                    let outcome = if found.letter == g {
                        Outcome::Correct
                    } else {
                        Outcome::Wrong
                    };
                    let details = format_compact!(
                        "{} (from {}); gold {g}",
                        found.letter,
                        found.rule.describe()
                    );
                    (outcome, Some(found.letter.to_string().into()), details)
                }
            };
        format.verdict(outcome, parsed, details)
    }
}
