//! The prompt text of generated deduction tasks: the system message, the
//! puzzle statement and the user message that asks for the assignment.

use super::config::{DeductionConfig, SolutionMode};
use super::puzzle::DeductionPuzzle;

/// The system message: reason inside `<think>`, answer inside `<answer>`.
pub(super) const SYSTEM_PROMPT: &str = "You are a careful logician. First reason step by step inside <think> </think>, then give only the final answer inside <answer> </answer>, i.e. <think> reasoning </think><answer> answer </answer>.";

/// The puzzle statement: variables and numbered formulas.
pub(super) fn puzzle_text(p: &DeductionPuzzle) -> String {
    puzzle_text_of(&p.names, &p.formula_texts())
}

/// The puzzle statement from the variable names and formula texts.
pub(super) fn puzzle_text_of(names: &[String], formulas: &[String]) -> String {
    use std::fmt::Write;
    let mut s = format!("Variables: {}\nFormulas:\n", names.join(", "));
    for (i, f) in formulas.iter().enumerate() {
        let _ = writeln!(s, "  {}. {f}", i + 1);
    }
    s
}

/// The user message: the puzzle, what the configured solution mode
/// promises about its models, and the answer format.
pub(super) fn user_prompt(config: &DeductionConfig, puzzle: &str) -> String {
    let claim = match (config.solutions, config.unsat_fraction > 0.0) {
        (SolutionMode::Unique, false) => {
            "Exactly one assignment of truth values makes every formula true. Find it."
        }
        (SolutionMode::Satisfiable, false) => {
            "At least one assignment of truth values makes every formula true. Find one."
        }
        (SolutionMode::Unique, true) => {
            "At most one assignment of truth values makes every formula true. Find it, or answer \"No assignment satisfies all the formulas.\" if there is none."
        }
        (SolutionMode::Satisfiable, true) => {
            "Find an assignment of truth values that makes every formula true, or answer \"No assignment satisfies all the formulas.\" if there is none."
        }
    };
    format!(
        "Deduce the truth value of each variable from the propositional formulas below. \
         Connectives: ¬ (not), ∧ (and), ∨ (or), → (implies), ↔ (if and only if), ⊕ (exclusive or).\n\n\
         {puzzle}\n{claim}\n\nIn the answer, write one line per variable, in the order listed, for example:\n\
         <answer>\n(1) A is True\n(2) B is False\n...\n</answer>"
    )
}
