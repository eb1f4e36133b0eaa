//! The `<think>…</think><answer>…</answer>` response convention.
//!
//! As in the paper's reward: the format is right when the response holds
//! exactly one of each of the four tags, in the order
//! `<think>` < `</think>` < `<answer>` < `</answer>`. The answer is the text
//! of the last `<answer>…</answer>` pair, so a response with a broken format
//! can still be read (and then scores as malformed).

use std::borrow::Cow;

use metaalign_core::{Outcome, Task, Verdict};

pub const THINK_OPEN: &str = "<think>";
pub const THINK_CLOSE: &str = "</think>";
pub const ANSWER_OPEN: &str = "<answer>";
pub const ANSWER_CLOSE: &str = "</answer>";

/// Result of the format check, with the reason when it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatCheck {
    pub ok: bool,
    pub reason: Option<String>,
}

/// Prompts end with `<|im_start|>assistant\n<think>` (the paper's data
/// does so, and [`crate::common::ChatTemplate`] renders our own tasks the
/// same way), so the model's continuation starts inside the think block.
/// This puts the opening tag back when the prompt supplied it and the
/// response lacks it, giving the full assistant message the format check
/// expects.
pub fn normalize_response<'a>(task: &Task, response: &'a str) -> Cow<'a, str> {
    let prompt_opens_think = if task.templated {
        task.prompt
            .last()
            .is_some_and(|m| m.content.trim_end().ends_with(THINK_OPEN))
    } else {
        true
    };
    if prompt_opens_think && !response.trim_start().starts_with(THINK_OPEN) {
        Cow::Owned(format!("{THINK_OPEN}{response}"))
    } else {
        Cow::Borrowed(response)
    }
}

/// Checks the tag structure of a full assistant message.
///
/// One pass over the `<` characters (the four tags are distinct and none is
/// a prefix of another), so the check stays cheap on long responses.
pub fn check_format(response: &str) -> FormatCheck {
    const TAGS: [&str; 4] = [THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE];
    let mut counts = [0usize; 4];
    let mut positions = [0usize; 4];
    let mut from = 0;
    while let Some(offset) = response[from..].find('<') {
        let at = from + offset;
        let rest = &response[at..];
        if let Some(k) = TAGS.iter().position(|tag| rest.starts_with(tag)) {
            if counts[k] == 0 {
                positions[k] = at;
            }
            counts[k] += 1;
        }
        from = at + 1;
    }
    if let Some(k) = counts.iter().position(|&c| c != 1) {
        return FormatCheck {
            ok: false,
            reason: Some(format!(
                "expected exactly one {}, found {}",
                TAGS[k], counts[k]
            )),
        };
    }
    if positions.windows(2).all(|w| w[0] < w[1]) {
        FormatCheck {
            ok: true,
            reason: None,
        }
    } else {
        FormatCheck {
            ok: false,
            reason: Some("tags out of order: expected <think>…</think><answer>…</answer>".into()),
        }
    }
}

/// The common shape of a verifier: normalise the response, check its format,
/// read the last `<answer>` block (unparseable when there is none) and let
/// `judge` decide on the answer text, returning the outcome, the parsed
/// answer and details. A format problem is prefixed to the details.
pub fn judge_response(
    task: &Task,
    response: &str,
    judge: impl FnOnce(&str) -> (Outcome, Option<String>, String),
) -> Verdict {
    let full = normalize_response(task, response);
    let format = check_format(&full);
    let Some(answer) = extract_answer(&full) else {
        return Verdict {
            format_ok: format.ok,
            outcome: Outcome::Unparseable,
            parsed: None,
            details: "no <answer>…</answer> block".into(),
        };
    };
    let (outcome, parsed, mut details) = judge(answer);
    if let Some(reason) = format.reason {
        details = format!("format: {reason}; answer: {details}");
    }
    Verdict {
        format_ok: format.ok,
        outcome,
        parsed,
        details,
    }
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
