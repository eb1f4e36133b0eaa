//! Built-in reward schemes: `paper` (stage A) and `binary` (stage C).

use std::sync::Arc;

use metaalign_core::{Outcome, Result, RewardConfig, RewardScheme, Verdict};
use serde::{Deserialize, Serialize};

/// The paper's reward: format ±1 plus answer +2 correct, −1.5 wrong, −2
/// unparseable. A malformed response always scores format + unparseable
/// (−3), as in the paper's `formula.py`: the answer is only judged when the
/// format is right. Totals: 3, −0.5, −1, −3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperReward {
    /// Format part when the format is right (default 1).
    pub format_ok: f64,
    /// Format part when it is wrong (default −1).
    pub format_bad: f64,
    /// Answer part for a correct answer (default 2).
    pub correct: f64,
    /// Answer part for a wrong answer (default −1.5).
    pub wrong: f64,
    /// Answer part for an unreadable answer or a malformed response (default −2).
    pub unparseable: f64,
}

impl Default for PaperReward {
    fn default() -> Self {
        Self {
            format_ok: 1.0,
            format_bad: -1.0,
            correct: 2.0,
            wrong: -1.5,
            unparseable: -2.0,
        }
    }
}

impl RewardScheme for PaperReward {
    fn name(&self) -> &str {
        "paper"
    }

    fn reward(&self, verdict: &Verdict, _response: &str) -> f64 {
        if !verdict.format_ok {
            return self.format_bad + self.unparseable;
        }
        self.format_ok
            + match verdict.outcome {
                Outcome::Correct => self.correct,
                Outcome::Wrong => self.wrong,
                Outcome::Unparseable => self.unparseable,
            }
    }
}

#[typetag::serde(name = "paper")]
impl RewardConfig for PaperReward {
    fn build(&self) -> Result<Arc<dyn RewardScheme>> {
        Ok(Arc::new(self.clone()))
    }
}

/// 1 for a correct answer, 0 otherwise (format is not rewarded separately).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BinaryReward {
    /// Reward for a correct answer (default 1).
    pub correct: f64,
    /// Reward for anything else (default 0).
    pub otherwise: f64,
    /// Require the `<think>/<answer>` format for a correct answer to count.
    pub require_format: bool,
}

impl Default for BinaryReward {
    fn default() -> Self {
        Self {
            correct: 1.0,
            otherwise: 0.0,
            require_format: false,
        }
    }
}

impl RewardScheme for BinaryReward {
    fn name(&self) -> &str {
        "binary"
    }

    fn reward(&self, verdict: &Verdict, _response: &str) -> f64 {
        if verdict.is_correct() && (verdict.format_ok || !self.require_format) {
            self.correct
        } else {
            self.otherwise
        }
    }
}

#[typetag::serde(name = "binary")]
impl RewardConfig for BinaryReward {
    fn build(&self) -> Result<Arc<dyn RewardScheme>> {
        Ok(Arc::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(format_ok: bool, outcome: Outcome) -> Verdict {
        Verdict {
            format_ok,
            outcome,
            parsed: None,
            details: Default::default(),
        }
    }

    #[test]
    fn paper_totals() {
        let r = PaperReward::default();
        assert_eq!(r.reward(&verdict(true, Outcome::Correct), ""), 3.0);
        assert_eq!(r.reward(&verdict(true, Outcome::Wrong), ""), -0.5);
        assert_eq!(r.reward(&verdict(true, Outcome::Unparseable), ""), -1.0);
        assert_eq!(r.reward(&verdict(false, Outcome::Correct), ""), -3.0);
        assert_eq!(r.reward(&verdict(false, Outcome::Wrong), ""), -3.0);
    }

    #[test]
    fn binary_values() {
        let r = BinaryReward::default();
        assert_eq!(r.reward(&verdict(false, Outcome::Correct), ""), 1.0);
        assert_eq!(r.reward(&verdict(true, Outcome::Wrong), ""), 0.0);
        let strict = BinaryReward {
            require_format: true,
            ..BinaryReward::default()
        };
        assert_eq!(strict.reward(&verdict(false, Outcome::Correct), ""), 0.0);
    }
}
