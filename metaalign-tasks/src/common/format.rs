//! The `<think>…</think><answer>…</answer>` response convention.
//!
//! As in the paper's reward: the format is right when the response holds
//! exactly one of each of the four tags, in the order
//! `<think>` < `</think>` < `<answer>` < `</answer>`. The answer is the text
//! of the last `<answer>…</answer>` pair, so a response with a broken format
//! can still be read (and then scores as malformed).

use metaalign_core::Task;

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
pub fn normalize_response(task: &Task, response: &str) -> String {
    let prompt_opens_think = if task.templated {
        task.prompt
            .last()
            .is_some_and(|m| m.content.trim_end().ends_with(THINK_OPEN))
    } else {
        true
    };
    if prompt_opens_think && !response.trim_start().starts_with(THINK_OPEN) {
        format!("{THINK_OPEN}{response}")
    } else {
        response.to_string()
    }
}

/// Checks the tag structure of a full assistant message.
pub fn check_format(response: &str) -> FormatCheck {
    let tags = [THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE];
    let mut positions = [0usize; 4];
    for (i, tag) in tags.iter().enumerate() {
        let count = response.matches(tag).count();
        if count != 1 {
            return FormatCheck {
                ok: false,
                reason: Some(format!("expected exactly one {tag}, found {count}")),
            };
        }
        positions[i] = response.find(tag).unwrap_or(0);
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
