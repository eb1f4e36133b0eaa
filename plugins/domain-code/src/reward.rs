//! The `pass_fraction` reward: the fraction of tests a program passed
//! (veRL's continuous code reward), read from a verdict's `parsed`
//! (`"<passed>/<run>"`, as the `code` verifier writes it with
//! `reward_mode = "pass_fraction"`). Verdicts of other kinds score 1 when
//! correct and 0 otherwise.

use std::sync::Arc;

use metaalign_core::{Result, RewardConfig, RewardScheme, Verdict};
use serde::{Deserialize, Serialize};

/// `reward = { kind = "pass_fraction" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PassFractionReward {
    /// Require the `<think>/<answer>` format for any reward.
    pub require_format: bool,
}

/// `passed/run` of a verdict, when it reads so.
pub fn pass_fraction(verdict: &Verdict) -> Option<f64> {
    let parsed = verdict.parsed.as_deref()?;
    let (p, n) = parsed.split_once('/')?;
    let (p, n) = (p.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?);
    (n > 0 && p <= n).then(|| p as f64 / n as f64)
}

impl RewardScheme for PassFractionReward {
    fn name(&self) -> &str {
        "pass_fraction"
    }

    fn reward(&self, verdict: &Verdict, _response: &str) -> f64 {
        if self.require_format && !verdict.format_ok {
            return 0.0;
        }
        match pass_fraction(verdict) {
            Some(f) => f,
            None if verdict.is_correct() => 1.0,
            None => 0.0,
        }
    }
}

#[typetag::serde(name = "pass_fraction")]
impl RewardConfig for PassFractionReward {
    fn build(&self) -> Result<Arc<dyn RewardScheme>> {
        Ok(Arc::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metaalign_core::Outcome;

    fn v(parsed: Option<&str>, outcome: Outcome) -> Verdict {
        Verdict {
            format_ok: true,
            outcome,
            parsed: parsed.map(Into::into),
            details: "".into(),
        }
    }

    #[test]
    fn fractions_and_fallbacks() {
        let r = PassFractionReward::default();
        assert_eq!(r.reward(&v(Some("3/4"), Outcome::Wrong), ""), 0.75);
        assert_eq!(r.reward(&v(Some("4/4"), Outcome::Correct), ""), 1.0);
        assert_eq!(r.reward(&v(Some("x"), Outcome::Correct), ""), 1.0);
        assert_eq!(r.reward(&v(Some("5/4"), Outcome::Wrong), ""), 0.0);
        assert_eq!(r.reward(&v(None, Outcome::Unparseable), ""), 0.0);
    }
}
