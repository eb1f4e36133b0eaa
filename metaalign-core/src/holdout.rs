//! Which puzzles training may see.
//!
//! A level's puzzle space can be small (level-1 induction has about 2,150
//! distinct puzzles), so drawing held-out sets from their own seed stream is
//! not enough: training draws the same puzzles again. [`HoldOut`] therefore
//! splits the puzzle *space*: a keyed hash of each puzzle's text puts it in
//! the test part, the validation part or the training part, the same way in
//! every run and every stage. Trainers redraw any puzzle outside the training
//! part; held-out sets draw only from their own part. The hash does not look
//! at how often a puzzle comes up, so each part keeps the task distribution.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::seed::derive_seed;

/// Key of the puzzle hash: fixed, so a puzzle's part never depends on a
/// run's seed (a checkpoint trained in one run stays clean for another).
const PARTITION_KEY: u64 = 0x6d65_7461_616c_6967;

/// The part of the puzzle space a puzzle belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Trainers may draw it.
    Train,
    /// Only validation sets draw it (merge-weight search).
    Validation,
    /// Only test sets draw it (`evaluate` stages).
    Test,
}

/// `[run] holdout`: the shares of every level's puzzle space kept away from
/// training, for test sets and for validation sets (merge-weight search).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldOut {
    /// Share of puzzles only test sets (`evaluate` stages) draw from.
    #[serde(default = "default_share")]
    pub test: f64,
    /// Share of puzzles only validation sets draw from.
    #[serde(default = "default_share")]
    pub validation: f64,
}

fn default_share() -> f64 {
    0.1
}

impl Default for HoldOut {
    fn default() -> Self {
        Self {
            test: default_share(),
            validation: default_share(),
        }
    }
}

impl HoldOut {
    /// No puzzle held out: training sees everything (for callers that keep
    /// their own test data, and for benchmarks).
    pub const NONE: HoldOut = HoldOut {
        test: 0.0,
        validation: 0.0,
    };

    /// Checks that the shares are fractions that leave training something.
    pub fn validate(&self) -> Result<()> {
        for (name, share) in [("test", self.test), ("validation", self.validation)] {
            if !(0.0..1.0).contains(&share) {
                return Err(Error::config(format!(
                    "holdout.{name} must be a share in [0, 1), got {share}"
                )));
            }
        }
        if self.test + self.validation >= 1.0 {
            return Err(Error::config(format!(
                "holdout.test + holdout.validation must be below 1 so that training keeps some puzzles, got {} + {}",
                self.test, self.validation
            )));
        }
        Ok(())
    }

    /// The part `puzzle` belongs to.
    pub fn part_of(&self, puzzle: &str) -> Part {
        // 53 bits of the hash as a uniform fraction in [0, 1).
        let u = (derive_seed(PARTITION_KEY, puzzle) >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.test {
            Part::Test
        } else if u < self.test + self.validation {
            Part::Validation
        } else {
            Part::Train
        }
    }

    /// The share of the puzzle space in `part`.
    pub fn share(&self, part: Part) -> f64 {
        match part {
            Part::Test => self.test,
            Part::Validation => self.validation,
            Part::Train => 1.0 - self.test - self.validation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_the_shares_and_never_overlap() {
        let h = HoldOut {
            test: 0.2,
            validation: 0.1,
        };
        let n = 20_000;
        let mut counts = [0usize; 3];
        for i in 0..n {
            let puzzle = format!("1, 4, 9, ?, {i}");
            let part = h.part_of(&puzzle);
            assert_eq!(part, h.part_of(&puzzle), "the same puzzle, the same part");
            counts[part as usize] += 1;
        }
        let frac = |c: usize| c as f64 / n as f64;
        assert!(
            (frac(counts[Part::Train as usize]) - 0.7).abs() < 0.02,
            "{counts:?}"
        );
        assert!(
            (frac(counts[Part::Validation as usize]) - 0.1).abs() < 0.02,
            "{counts:?}"
        );
        assert!(
            (frac(counts[Part::Test as usize]) - 0.2).abs() < 0.02,
            "{counts:?}"
        );
        // Growing a share only moves puzzles out of training.
        let wider = HoldOut {
            test: 0.3,
            validation: 0.1,
        };
        for i in 0..n {
            let puzzle = format!("1, 4, 9, ?, {i}");
            if h.part_of(&puzzle) == Part::Test {
                assert_eq!(wider.part_of(&puzzle), Part::Test);
            }
        }
        assert!(HoldOut::NONE.part_of("anything") == Part::Train);
    }

    #[test]
    fn bad_shares_are_named() {
        let e = HoldOut {
            test: 0.6,
            validation: 0.5,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("holdout.test + holdout.validation"), "{e}");
        let e = HoldOut {
            test: -0.1,
            validation: 0.0,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("holdout.test"), "{e}");
        assert!(HoldOut::default().validate().is_ok());
    }
}
