//! The `math` verifier: reads the final answer of a response and decides
//! whether it equals the gold answer, as Math-Verify would.

use metaalign_core::{format_compact, CompactString, Outcome, Task, Verdict, Verifier};
use metaalign_tasks::common::format::{check_response_format, extract_answer};

use crate::answer::{self, CompareOptions, Extraction, Parsed};

/// Checks math answers (total: a verdict for any text, bounded time).
#[derive(Clone, Debug, Default)]
pub struct MathVerifier {
    /// How answers are compared (precision, set handling).
    pub options: CompareOptions,
}

impl MathVerifier {
    /// A verifier comparing with `options`.
    pub fn new(options: CompareOptions) -> Self {
        Self { options }
    }
}

/// True when `text` holds a math delimiter or a box that Math-Verify's
/// extraction looks for. An escaped dollar (`\$11.25`, a money answer)
/// is not a delimiter.
fn has_math_markup(text: &str) -> bool {
    let unescaped_dollar = text
        .match_indices('$')
        .any(|(i, _)| !text[..i].ends_with('\\'));
    unescaped_dollar
        || ["\\(", "\\[", "\\boxed", "\\fbox"]
            .iter()
            .any(|m| text.contains(m))
}

/// Parses an answer written without markup (a gold field such as
/// `\frac{14}{3}`, or `<answer>\frac{14}{3}</answer>`) as if boxed, as
/// veRL's Math-Verify reward does with gold answers; text with markup,
/// or bare text that does not read boxed, is parsed as it stands.
pub fn parse_bare(text: &str) -> Parsed {
    let extraction = Extraction::default();
    if !has_math_markup(text) {
        let boxed = answer::parse(&format!("\\boxed{{{}}}", text.trim()), &extraction);
        if !boxed.is_empty() {
            return boxed;
        }
    }
    answer::parse(text, &extraction)
}

/// The answer a response gives: the content of its last `<answer>` block
/// when it has one, else whatever Math-Verify's extraction finds in the
/// whole response (the last `\boxed{}`, "the final answer is …", the last
/// math span).
pub fn parse_response(response: &str) -> Parsed {
    match extract_answer(response) {
        Some(block) => parse_bare(block),
        None => answer::parse(response, &Extraction::default()),
    }
}

/// The gold answer of a task (the file's answer field as read).
pub fn gold_text(task: &Task) -> &str {
    task.ground_truth
        .get("answer")
        .and_then(|a| a.as_str())
        .unwrap_or(task.answer.as_str())
}

impl Verifier for MathVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        let format = check_response_format(task, response);
        let gold = parse_bare(gold_text(task));
        let pred = parse_response(response);
        let (outcome, details): (Outcome, CompactString) = if gold.is_empty() {
            (
                Outcome::Unparseable,
                format_compact!("the gold answer cannot be read: {}", gold.reason()),
            )
        } else if pred.is_empty() {
            (Outcome::Unparseable, pred.reason().into())
        } else {
            let j = answer::verify(&gold, &pred, &self.options);
            let outcome = if j.equal {
                Outcome::Correct
            } else {
                Outcome::Wrong
            };
            (outcome, j.reason.into())
        };
        format.verdict(outcome, pred.shown().map(CompactString::from), details)
    }
}
