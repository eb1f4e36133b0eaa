//! Induction — masked-sequence completion.
//!
//! A puzzle is an integer sequence with one term replaced by `?`; the model
//! must infer the rule from the visible terms and give the hidden integer.
//!
//! # Rule families and their complexity order
//!
//! Every rule has a *size* and a *family*; complexity is ordered by size
//! first, then family. The size of a periodic rule or a cycle is its period;
//! `m` interleaved sequences (2m parameters, like a (2m−1)-step cycle and
//! its start) have size `2m − 1`. Families, in their order at equal size:
//!
//! 1. **periodic** — a block of `p` values repeats (`p = 1`: constant).
//! 2. **add-cycle** — `x[i+1] = x[i] + c[i mod p]` with any integers `c`
//!    (`p = 1`: arithmetic; `p = 2`: alternating differences).
//! 3. **interleaved** (`p ≥ 2`) — `p` arithmetic sequences, each with its own
//!    start and step, interleaved term by term.
//! 4. **op-cycle** — `x[i+1] = op[i mod p](x[i])` with each op one of `+c`
//!    (any integer), `×c` or `÷d` (floor division), `2 ≤ c, d ≤ 9`
//!    (`p = 1` with `×c`: geometric). Includes the paper's k-step cycles
//!    of `+a / −b / ×c`.
//! 5. **shifted-periodic** — periodic from the second term on (a one-term
//!    preamble; some of the paper's level-2 rows are of this form).
//!
//! So `(1, periodic) < (1, add-cycle) < (1, op-cycle) < (1, shifted) <
//! (2, periodic) < (2, add-cycle) < (2, op-cycle) < (2, shifted) <
//! (3, periodic) < (3, add-cycle) < (3, interleaved: 2 sequences) < …`.
//!
//! # Well-posedness
//!
//! A generated puzzle is emitted only when *every* rule whose size is at
//! most the generating rule's size — in any family, so also the families
//! ordered after the generating one at that size — fits the visible terms
//! only by giving the same value at the mask, and no such rule leaves the
//! mask free. [`rules::Masked`] decides this exactly by solving each family
//! from the visible terms (see its docs), not by sampling parameters;
//! failing draws are discarded and redrawn.
//!
//! # Solver
//!
//! [`InductionGenerator::solve`](metaalign_core::TaskGenerator::solve)
//! finds the smallest size at which some class of rules fits the visible
//! terms and fixes the masked term, and answers the first completion at
//! that size (family order, then additions before ×, before ÷). For our
//! puzzles that completion is unique.
//!
//! Some of the paper's puzzles are ambiguous under these families (a step
//! seen once as `2 → 4` may be `+2` or `×2`; `1, 2, 4, 8, 16, 32` is
//! geometric, but the paper's rule was the cycle ×2, ×2, +4). Policy: when
//! the task's stored answer is one of the completions at the smallest size,
//! or the completion of a more complex class that the visible terms pin down
//! (up to the generating rule's size when the task records it), the solver
//! returns the stored answer and its rationale names that rule; otherwise it
//! returns its own simplest completion, so `solve --check` fails on a stored
//! answer that no declared rule explains. [`Agreement`] says which case
//! applied. On the paper's 5,000 rows: 4,107 unique, 853 among several
//! simplest completions, 40 from a more complex rule, 0 unexplained.
//!
//! # Answer format
//!
//! The integer alone, e.g. `<answer>12</answer>`; see
//! [`parse::parse_answer`] for what else is tolerated.

//!
//! # Files
//!
//! `config` (settings), `generator` (the task source), `generate` (level
//! shapes and the rule sampler), `rules` (rule families and the exact
//! well-posedness check), `parse` (puzzle and answer parsing), `prompt`
//! (prompt text), `ground_truth` (reading a task's stored answer and
//! sequence), `solve` (solver and rationales), `verify` (verifier),
//! `paper` (import of the paper's rows).

mod config;
pub mod generate;
mod generator;
mod ground_truth;
mod paper;
pub mod parse;
mod prompt;
pub mod rules;
mod solve;
mod verify;

#[cfg(test)]
mod tests;

pub use crate::common::RationaleStyle;
pub use config::{InductionConfig, KIND};
pub use generate::{LevelSpec, MaskPosition, Shape};
pub use generator::InductionGenerator;
pub use ground_truth::{reference_answer, task_sequence};
pub use paper::from_paper;
pub use parse::{parse_answer, parse_puzzle, ParsedSequence};
pub use prompt::{prompt_messages, puzzle_text};
pub use rules::{Complexity, Family, Masked, Op, Rule, Status};
pub use solve::{solve_masked, Agreement, Solved};
pub use verify::InductionVerifier;
