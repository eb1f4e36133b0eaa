//! The `<think>…</think><answer>…</answer>` response convention.
//!
//! As in the paper's reward: the format is right when the response holds
//! exactly one of each of the four tags, in the order
//! `<think>` < `</think>` < `<answer>` < `</answer>`. The answer is the text
//! of the last `<answer>…</answer>` pair, so a response with a broken format
//! can still be read (and then scores as malformed).

use metaalign_core::{format_compact, CompactString, Outcome, Task, Verdict};

/// Opens the reasoning part of a response.
pub const THINK_OPEN: &str = "<think>";
/// Closes the reasoning part of a response.
pub const THINK_CLOSE: &str = "</think>";
/// Opens the final answer.
pub(crate) const ANSWER_OPEN: &str = "<answer>";
/// Closes the final answer.
pub(crate) const ANSWER_CLOSE: &str = "</answer>";

/// Result of the format check, with the reason when it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatCheck {
    /// Whether the response has the four tags once each, in order.
    pub ok: bool,
    /// Why the format is wrong (`None` when it is right).
    pub reason: Option<String>,
}

impl FormatCheck {
    /// The verdict on a response of this format: a format problem is
    /// prefixed to the answer's details.
    pub fn verdict(
        self,
        outcome: Outcome,
        parsed: Option<CompactString>,
        details: CompactString,
    ) -> Verdict {
        let details = match self.reason {
            Some(reason) => format_compact!("format: {reason}; answer: {details}"),
            None => details,
        };
        Verdict {
            format_ok: self.ok,
            outcome,
            parsed,
            details,
        }
    }
}

/// Prompts end with `<|im_start|>assistant\n<think>` (the paper's data
/// does so, and [`crate::common::ChatTemplate`] renders our own tasks the
/// same way), so the model's continuation starts inside the think block.
/// True when the task's prompt supplied the opening `<think>` and this
/// response does not repeat it: the format check then counts the prompt's
/// tag as the response's first.
pub fn think_opened_by_prompt(task: &Task, response: &str) -> bool {
    let prompt_opens_think = if task.templated {
        task.prompt
            .last()
            .is_some_and(|m| m.content.trim_end().ends_with(THINK_OPEN))
    } else {
        true
    };
    prompt_opens_think && !response.trim_start().starts_with(THINK_OPEN)
}

/// Checks the tag structure of a task's response, counting the `<think>`
/// its prompt opened (see [`think_opened_by_prompt`]). Borrows the response:
/// no copy is made to put the tag back.
pub fn check_response_format(task: &Task, response: &str) -> FormatCheck {
    check_format_from(response, think_opened_by_prompt(task, response))
}

/// Checks the tag structure of a full assistant message.
pub fn check_format(response: &str) -> FormatCheck {
    check_format_from(response, false)
}

/// What one pass over a response's `<` characters finds: how often each
/// of the four tags occurs (with a `<think>` opened by the prompt counted),
/// where each first occurs, and the span of the last `<answer>…</answer>`
/// pair (as [`extract_answer`] finds it).
struct Scan {
    counts: [usize; 4],
    /// Offsets + 1 of each tag's first occurrence, so the implied tag sits
    /// at 0, before all.
    first: [usize; 4],
    /// The body of the last `<answer>…</answer>` pair, untrimmed.
    answer: Option<(usize, usize)>,
}

const TAGS: [&str; 4] = [THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE];

/// The tag starting at `rest` (which begins with `<`), if any.
#[inline]
fn tag_at(rest: &[u8]) -> Option<usize> {
    // The four tags are distinct and none is a prefix of another.
    match rest.get(1)? {
        b't' => rest.starts_with(THINK_OPEN.as_bytes()).then_some(0),
        b'a' => rest.starts_with(ANSWER_OPEN.as_bytes()).then_some(2),
        b'/' => match rest.get(2)? {
            b't' => rest.starts_with(THINK_CLOSE.as_bytes()).then_some(1),
            b'a' => rest.starts_with(ANSWER_CLOSE.as_bytes()).then_some(3),
            _ => None,
        },
        _ => None,
    }
}

/// One pass over the `<` characters (found with SIMD by `memchr`), so the
/// check stays cheap on long responses. With `think_opened`, a `<think>` is
/// taken to stand just before the text.
fn scan(response: &str, think_opened: bool) -> Scan {
    let bytes = response.as_bytes();
    let mut counts = [usize::from(think_opened), 0, 0, 0];
    let mut first = [0usize; 4];
    let mut last_open: Option<usize> = None;
    let mut answer = None;
    for at in memchr::memchr_iter(b'<', bytes) {
        if let Some(k) = tag_at(&bytes[at..]) {
            if counts[k] == 0 {
                first[k] = at + 1;
            }
            counts[k] += 1;
            if k == 2 {
                last_open = Some(at + ANSWER_OPEN.len());
            } else if k == 3 {
                answer = last_open.map(|start| (start, at));
            }
        }
    }
    Scan {
        counts,
        first,
        answer,
    }
}

impl Scan {
    fn format(&self) -> FormatCheck {
        if let Some(k) = self.counts.iter().position(|&c| c != 1) {
            return FormatCheck {
                ok: false,
                reason: Some(format!(
                    "expected exactly one {}, found {}",
                    TAGS[k], self.counts[k]
                )),
            };
        }
        if self.first.windows(2).all(|w| w[0] < w[1]) {
            FormatCheck {
                ok: true,
                reason: None,
            }
        } else {
            FormatCheck {
                ok: false,
                reason: Some(
                    "tags out of order: expected <think>…</think><answer>…</answer>".into(),
                ),
            }
        }
    }
}

fn check_format_from(response: &str, think_opened: bool) -> FormatCheck {
    scan(response, think_opened).format()
}

/// The common shape of a verifier: check the response's format (counting a
/// `<think>` opened by the prompt), read the last `<answer>` block
/// (unparseable when there is none) and let `judge` decide on the answer
/// text, returning the outcome, the parsed answer and details. A format
/// problem is prefixed to the details.
pub fn judge_response(
    task: &Task,
    response: &str,
    judge: impl FnOnce(&str) -> (Outcome, Option<CompactString>, CompactString),
) -> Verdict {
    let scanned = scan(response, think_opened_by_prompt(task, response));
    let format = scanned.format();
    let Some(answer) = scanned
        .answer
        .map(|(start, end)| response[start..end].trim())
    else {
        return Verdict {
            format_ok: format.ok,
            outcome: Outcome::Unparseable,
            parsed: None,
            details: CompactString::const_new("no <answer>…</answer> block"),
        };
    };
    let (outcome, parsed, details) = judge(answer);
    format.verdict(outcome, parsed, details)
}

/// [`judge_response`] for answers with one right value: `normalize` turns
/// the answer text into its canonical form (`None`: unparseable), and the
/// answer is correct when that equals `expected`.
pub fn judge_answer(
    task: &Task,
    response: &str,
    expected: &str,
    normalize: impl FnOnce(&str) -> Option<String>,
) -> Verdict {
    judge_response(task, response, |answer| {
        let parsed = normalize(answer).map(CompactString::from);
        let outcome = match &parsed {
            None => Outcome::Unparseable,
            Some(found) if found == expected => Outcome::Correct,
            Some(_) => Outcome::Wrong,
        };
        (outcome, parsed, format_compact!("expected {expected}"))
    })
}

/// The text inside the last `<answer>…</answer>` pair, trimmed.
pub fn extract_answer(response: &str) -> Option<&str> {
    let end = response.rfind(ANSWER_CLOSE)?;
    let start = response[..end].rfind(ANSWER_OPEN)? + ANSWER_OPEN.len();
    Some(response[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_rules() {
        assert!(check_format("<think>a</think><answer>b</answer>").ok);
        assert!(check_format("<think>a</think>\n<answer>b</answer>\n").ok);
        assert!(!check_format("<think>a</think>").ok);
        assert!(!check_format("<answer>b</answer><think>a</think>").ok);
        assert!(!check_format("<think><think>a</think><answer>b</answer>").ok);
        assert!(!check_format("").ok);
    }

    /// The definition the one-pass scan must agree with.
    fn naive_format_ok(response: &str) -> bool {
        let tags = [THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE];
        tags.iter().all(|t| response.matches(t).count() == 1)
            && tags
                .windows(2)
                .all(|w| response.find(w[0]) < response.find(w[1]))
    }

    proptest::proptest! {
        #[test]
        fn one_pass_scan_matches_the_definition(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["<think>", "</think>", "<answer>", "</answer>", "<", ">", "x", "</", "<th", "é"]),
                0..12,
            )
        ) {
            let response: String = parts.concat();
            proptest::prop_assert_eq!(check_format(&response).ok, naive_format_ok(&response));
        }
    }

    /// A `<think>` opened by the prompt counts as if it began the response.
    #[test]
    fn think_opened_by_the_prompt_counts() {
        let task = Task {
            id: "t".into(),
            kind: "k".into(),
            ability: metaalign_core::Ability::Induction,
            level: metaalign_core::Level(1),
            puzzle: String::new(),
            prompt: Vec::new(),
            templated: false,
            answer: String::new(),
            ground_truth: serde_json::Value::Null,
            rationale: None,
        };
        for response in [
            "a</think><answer>b</answer>",
            "  <think>a</think><answer>b</answer>",
            "x<think>a</think><answer>b</answer>",
            "a</think></think><answer>b</answer>",
            "<answer>b</answer></think>",
            "",
        ] {
            let full = if think_opened_by_prompt(&task, response) {
                format!("{THINK_OPEN}{response}")
            } else {
                response.to_string()
            };
            assert_eq!(
                check_response_format(&task, response).ok,
                naive_format_ok(&full),
                "{response:?}"
            );
        }
        assert!(check_response_format(&task, "a</think><answer>b</answer>").ok);
        assert!(!check_response_format(&task, "x<think>a</think><answer>b</answer>").ok);
    }

    proptest::proptest! {
        /// The scan's answer span is what `extract_answer` finds.
        #[test]
        fn scan_finds_the_extracted_answer(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["<think>", "</think>", "<answer>", "</answer>", "<", ">", "x", "</", "<an", "é", " "]),
                0..12,
            )
        ) {
            let response: String = parts.concat();
            let span = scan(&response, false).answer.map(|(a, b)| response[a..b].trim());
            proptest::prop_assert_eq!(span, extract_answer(&response));
        }
    }

    #[test]
    fn extraction_takes_the_last_pair() {
        assert_eq!(extract_answer("<answer> x </answer>"), Some("x"));
        assert_eq!(
            extract_answer("<answer>1</answer><answer>2</answer>"),
            Some("2")
        );
        assert_eq!(extract_answer("<answer>1"), None);
        assert_eq!(extract_answer("</answer><answer>"), None);
    }
}
