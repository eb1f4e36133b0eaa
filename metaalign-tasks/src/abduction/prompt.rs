//! The prompt text of generated abduction tasks: the system message and
//! the user message that explains reachability and the answer format.

use super::puzzle::AbductionPuzzle;

/// The system message: reason inside `<think>`, answer inside `<answer>`.
pub(super) const SYSTEM_PROMPT: &str = "You are a careful logician. First reason step by step inside <think> </think>, then give only the final answer inside <answer> </answer>, i.e. <think> reasoning </think><answer> answer </answer>.";

/// The user message: what the premises and goals mean, the puzzle, and
/// the answer format.
pub(super) fn user_prompt(p: &AbductionPuzzle) -> String {
    format!(
        "Each premise `(condition) => conclusion` says that the conclusion is true whenever the condition is; \
         conditions combine atoms with AND, OR and NOT. The known atoms are true. A goal is reachable if it \
         must be true whenever all the premises hold and the known atoms are true, and unreachable otherwise.\n\n\
         {}\n\n\
         Work backwards from each goal: find the premises that conclude it, what their conditions require, \
         and whether the known atoms establish that. In the answer, write one line per goal, in the order listed, \
         for example:\n<answer>\n(1) A is reachable\n(2) B is unreachable\n...\n</answer>",
        p.text()
    )
}
