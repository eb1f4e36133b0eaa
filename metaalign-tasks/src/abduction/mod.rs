//! Abduction: reverse rule-graph search.
//!
//! Premises `(body) => head` with AND / OR / NOT in the body, known atoms,
//! and goals. A goal is reachable iff the premises and known atoms entail
//! it (it is true in every model); labels are computed exactly. Answers are
//! `(i) G is reachable` / `(i) G is unreachable` lines, one per goal.
//!
//! Files: `config` (settings), `generator` (the task source), `generate`
//! (puzzle generation), `puzzle` (premises, parsing, answer text),
//! `prompt` (prompt text), `ground_truth` (a task's ground-truth JSON),
//! `solve` (exact reachability and rationales), `verify` (verifier),
//! `paper` (import of the paper's rows).

mod config;
pub mod generate;
mod generator;
mod ground_truth;
mod paper;
mod prompt;
pub mod puzzle;
pub mod solve;
mod verify;

#[cfg(test)]
mod tests;

pub use config::{AbductionConfig, KIND};
pub use generate::LevelSpec;
pub use generator::AbductionGenerator;
pub use ground_truth::{ground_truth, task_puzzle};
pub use paper::from_paper;
pub use puzzle::{
    parse_labels, parse_labels_into, parse_puzzle_text, AbductionPuzzle, Body, Premise,
};
pub use solve::{analyse, Analysis, GoalStatus};
pub use verify::AbductionVerifier;
