//! Deduction: nested propositional satisfiability.
//!
//! A puzzle is a few formulas over variables `A`, `B`, … with
//! `¬ ∧ ∨ → ↔ ⊕`, written in the paper's text format; the answer gives
//! every variable a truth value as `(1) A is True` lines. By default every
//! puzzle has exactly one model (checked exactly: truth tables up to 20
//! variables, a SAT solver above). A response is correct iff its assignment
//! makes every formula true.
//!
//! Files: `config` (settings), `generator` (the task source), `generate`
//! (puzzle generation), `puzzle` (formulas, parsing, ground truth),
//! `prompt` (prompt text), `solve` (solver), `rationale` (reasoning
//! traces), `verify` (verifier), `unique` (the fast path for a declared
//! unique model), `paper` (import of the paper's rows).

mod config;
pub mod generate;
mod generator;
mod paper;
mod prompt;
pub mod puzzle;
pub mod rationale;
mod solve;
pub mod unique;
mod verify;

#[cfg(test)]
mod tests;

pub use config::{DeductionConfig, SolutionMode, KIND};
pub use generate::{LevelSpec, Target};
pub use generator::DeductionGenerator;
pub use paper::from_paper;
pub use puzzle::{
    clear_puzzle_cache, formulas_in_text, parse_answer, parse_answer_into, task_puzzle, Claim,
    DeductionPuzzle, PreparedPuzzle, NO_ASSIGNMENT,
};
pub use verify::DeductionVerifier;
