//! Verdicts: what a [`Verifier`](crate::Verifier) says about one response.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Whether an answer was right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The answer matches the ground truth.
    Correct,
    /// An answer was read, and it is wrong.
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
    /// Whether the answer was right.
    pub outcome: Outcome,
    /// The answer as the verifier read it, normalised (None if unparseable).
    pub parsed: Option<CompactString>,
    /// Human-readable explanation (which formula failed, which goal was
    /// mislabelled, why parsing failed).
    pub details: CompactString,
}

impl Verdict {
    /// Whether the outcome is [`Outcome::Correct`].
    pub fn is_correct(&self) -> bool {
        self.outcome == Outcome::Correct
    }
}
