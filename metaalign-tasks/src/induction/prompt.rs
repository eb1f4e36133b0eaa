//! The prompt text of induction tasks: the puzzle statement in the paper's
//! layout and our own system and user messages.

use metaalign_core::ChatMessage;

/// The puzzle statement, in the paper's layout (every item quoted, as in
/// its `puzzle_text`).
pub fn puzzle_text(visible: &[Option<i64>]) -> String {
    use std::fmt::Write as _;
    let missing_inside = visible.last().is_some_and(|v| v.is_some());
    let mut out = String::with_capacity(96 + visible.len() * 8);
    out.push_str("Given the following sequence");
    if missing_inside {
        out.push_str(" with a missing term");
    }
    out.push_str(",\n[");
    for (i, v) in visible.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match v {
            Some(x) => {
                let _ = write!(out, "'{x}'");
            }
            None => out.push_str("'?'"),
        }
    }
    out.push_str("]\nWhat is the value at the question mark?");
    out
}

/// The system message: reason inside `<think>`, answer inside `<answer>`.
const SYSTEM_PROMPT: &str = "You are a careful reasoner. Think the problem through inside \
<think> </think>, then give only the final answer inside <answer> </answer>, like this: \
<think> your reasoning </think><answer> your answer </answer>.";

/// Our own prompt: system instructions plus the puzzle with task-specific
/// instructions.
pub fn prompt_messages(puzzle: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::new("system", SYSTEM_PROMPT),
        ChatMessage::new(
            "user",
            format!(
                "{puzzle}\n\nOne term of this integer sequence is hidden and shown as '?'. \
All terms follow one rule, for example a constant difference, a constant ratio, a repeating \
block of values, interleaved arithmetic sequences, or a repeating cycle of steps such as +a, \
-b, ×c. Work out the rule, then write the hidden integer and nothing else inside the answer \
tags, e.g. <answer>10</answer>."
            ),
        ),
    ]
}
