//! Verdicts and verifiers.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::task::Task;

/// Whether an answer was right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Correct,
    Wrong,
    /// No answer could be read (missing, malformed, or incomplete).
    Unparseable,
}

impl Outcome {
    /// `Some(true)` correct, `Some(false)` wrong, `None` unparseable.
    pub fn as_option(self) -> Option<bool> {
        match self {
            Outcome::Correct => Some(true),
            Outcome::Wrong => Some(false),
            Outcome::Unparseable => None,
        }
    }
}

/// The result of checking one response against one task.
///
/// Its texts are [`CompactString`]s: up to 24 bytes live inline, so the
/// common verdicts ("correct", "answered 8, expected 7", a parsed number)
/// cost no heap allocation. RL scores millions of responses, and allocation
/// was most of a verifier's time. Build them with `"text".into()`,
/// `String::into()` or [`crate::format_compact!`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The response has exactly one `<think>…</think>` followed by exactly
    /// one `<answer>…</answer>`.
    pub format_ok: bool,
    pub outcome: Outcome,
    /// The answer as the verifier read it, normalised (None if unparseable).
    pub parsed: Option<CompactString>,
    /// Human-readable explanation (which formula failed, which goal was
    /// mislabelled, why parsing failed).
    pub details: CompactString,
}

impl Verdict {
    pub fn is_correct(&self) -> bool {
        self.outcome == Outcome::Correct
    }
}

/// Checks responses. Implementations are total: they return a verdict for
/// any response text, never panic and never error.
pub trait Verifier: Send + Sync {
    fn verify(&self, task: &Task, response: &str) -> Verdict;
}
