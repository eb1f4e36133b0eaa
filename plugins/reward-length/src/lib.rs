//! A metaalign plugin: the `length_penalty` reward scheme.
//!
//! Long chains of thought cost generation time, and RL with a pure
//! correctness reward tends to lengthen them. `length_penalty` wraps any
//! registered reward scheme (the paper's by default) and subtracts a linear
//! penalty for every unit of length over a budget, capped:
//!
//! ```text
//! reward = base(verdict, response) - min(max_penalty, per_unit * max(0, length - budget))
//! ```
//!
//! Length is counted in characters or whitespace-separated words, over the
//! whole response or only the reasoning inside `<think>…</think>`. With
//! `only_correct = true` the penalty applies to correct answers only, so the
//! policy is never pushed to give up early on a hard task.
//!
//! ```toml
//! reward = { kind = "length_penalty", budget = 1200, per_unit = 0.001, max_penalty = 1.0, base = { kind = "paper" } }
//! ```
//!
//! The crate uses the public API only, like any third-party plugin: a
//! typetag impl of `RewardConfig` and [`LengthPenaltyPlugin`], which an
//! application adds (`App::new().add_plugins(DefaultPlugins)` includes it).
#![warn(missing_docs)]

use std::sync::Arc;

use metaalign_core::{Error, Result, RewardConfig, RewardScheme, Verdict};
use metaalign_core::{Plugin, Registry};
use metaalign_tasks::common::format::{THINK_CLOSE, THINK_OPEN};
use metaalign_tasks::PaperReward;
use serde::{Deserialize, Serialize};

/// Adds the `length_penalty` reward scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct LengthPenaltyPlugin;

impl Plugin for LengthPenaltyPlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_reward(
            "wraps a reward scheme and subtracts a capped penalty per char/word over a length budget (plugin)",
            LengthPenaltyConfig {
                budget: 1200,
                scope: LengthScope::Think,
                ..LengthPenaltyConfig::default()
            },
        );
    }
}

/// What to measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// Unicode characters.
    #[default]
    Chars,
    /// Whitespace-separated words.
    Words,
}

/// Which part of the response to measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthScope {
    /// The whole response.
    #[default]
    Response,
    /// Only the reasoning between `<think>` and `</think>` (the text before
    /// `</think>` when the opening tag came with the prompt; the whole
    /// response when there is no `</think>`).
    Think,
}

/// `kind = "length_penalty"`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthPenaltyConfig {
    /// The wrapped reward scheme (default: the paper's).
    #[serde(default = "default_base")]
    pub base: Box<dyn RewardConfig>,
    /// Length allowed without penalty.
    #[serde(default = "default_budget")]
    pub budget: usize,
    /// Penalty per unit over the budget.
    #[serde(default = "default_per_unit")]
    pub per_unit: f64,
    /// The largest penalty subtracted.
    #[serde(default = "default_max_penalty")]
    pub max_penalty: f64,
    /// What is counted: characters or words.
    #[serde(default)]
    pub unit: LengthUnit,
    /// Which part of the response is counted.
    #[serde(default)]
    pub scope: LengthScope,
    /// Penalize only correct answers.
    #[serde(default)]
    pub only_correct: bool,
}

fn default_base() -> Box<dyn RewardConfig> {
    Box::new(PaperReward::default())
}

fn default_budget() -> usize {
    2048
}

fn default_per_unit() -> f64 {
    0.001
}

fn default_max_penalty() -> f64 {
    1.0
}

impl Default for LengthPenaltyConfig {
    fn default() -> Self {
        Self {
            base: default_base(),
            budget: default_budget(),
            per_unit: default_per_unit(),
            max_penalty: default_max_penalty(),
            unit: LengthUnit::default(),
            scope: LengthScope::default(),
            only_correct: false,
        }
    }
}

#[typetag::serde(name = "length_penalty")]
impl RewardConfig for LengthPenaltyConfig {
    fn build(&self) -> Result<Arc<dyn RewardScheme>> {
        if !(self.per_unit.is_finite() && self.per_unit >= 0.0) {
            return Err(Error::config(format!(
                "length_penalty: `per_unit` must be a finite number >= 0, got {}",
                self.per_unit
            )));
        }
        if !(self.max_penalty.is_finite() && self.max_penalty >= 0.0) {
            return Err(Error::config(format!(
                "length_penalty: `max_penalty` must be a finite number >= 0, got {}",
                self.max_penalty
            )));
        }
        Ok(Arc::new(LengthPenalty {
            base: self.base.build()?,
            budget: self.budget,
            per_unit: self.per_unit,
            max_penalty: self.max_penalty,
            unit: self.unit,
            scope: self.scope,
            only_correct: self.only_correct,
        }))
    }
}

/// The running scheme built from [`LengthPenaltyConfig`].
pub struct LengthPenalty {
    base: Arc<dyn RewardScheme>,
    budget: usize,
    per_unit: f64,
    max_penalty: f64,
    unit: LengthUnit,
    scope: LengthScope,
    only_correct: bool,
}

impl LengthPenalty {
    /// The measured length of a response.
    pub fn length(&self, response: &str) -> usize {
        let text = match self.scope {
            LengthScope::Response => response,
            LengthScope::Think => think_text(response),
        };
        match self.unit {
            LengthUnit::Chars => text.chars().count(),
            LengthUnit::Words => text.split_whitespace().count(),
        }
    }

    /// The penalty for a response of `length` units.
    pub fn penalty(&self, length: usize) -> f64 {
        let over = length.saturating_sub(self.budget) as f64;
        (over * self.per_unit).min(self.max_penalty)
    }
}

/// The reasoning part of a response: between `<think>` (or the start) and
/// the first `</think>` (or the end).
fn think_text(response: &str) -> &str {
    let start = response
        .find(THINK_OPEN)
        .map_or(0, |i| i + THINK_OPEN.len());
    let rest = &response[start..];
    match rest.find(THINK_CLOSE) {
        Some(end) => &rest[..end],
        None => rest,
    }
}

impl RewardScheme for LengthPenalty {
    fn name(&self) -> &str {
        "length_penalty"
    }

    fn reward(&self, verdict: &Verdict, response: &str) -> f64 {
        let base = self.base.reward(verdict, response);
        if self.only_correct && !verdict.is_correct() {
            return base;
        }
        base - self.penalty(self.length(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metaalign_core::Outcome;

    fn verdict(outcome: Outcome) -> Verdict {
        Verdict {
            format_ok: true,
            outcome,
            parsed: None,
            details: Default::default(),
        }
    }

    fn scheme(toml_text: &str) -> Arc<dyn RewardScheme> {
        let config: Box<dyn RewardConfig> =
            metaalign_core::config::from_toml_str(toml_text, "test").unwrap();
        config.build().unwrap()
    }

    #[test]
    fn penalizes_linearly_over_the_budget_and_caps() {
        let s =
            scheme("kind = \"length_penalty\"\nbudget = 10\nper_unit = 0.5\nmax_penalty = 2.0\n");
        let correct = verdict(Outcome::Correct);
        // paper reward for a correct, well-formatted answer is 3
        assert_eq!(s.reward(&correct, &"x".repeat(10)), 3.0);
        assert_eq!(s.reward(&correct, &"x".repeat(11)), 2.5);
        assert_eq!(s.reward(&correct, &"x".repeat(13)), 1.5);
        assert_eq!(s.reward(&correct, &"x".repeat(1000)), 1.0);
        // multi-byte characters count once
        assert_eq!(s.reward(&correct, &"¬".repeat(11)), 2.5);
    }

    #[test]
    fn wraps_any_base_and_can_spare_wrong_answers() {
        let s = scheme(
            "kind = \"length_penalty\"\nbudget = 2\nper_unit = 0.25\nunit = \"words\"\nonly_correct = true\nbase = { kind = \"binary\" }\n",
        );
        let long = "a b c d e";
        assert_eq!(s.reward(&verdict(Outcome::Correct), long), 0.25);
        assert_eq!(s.reward(&verdict(Outcome::Wrong), long), 0.0);
        assert_eq!(s.name(), "length_penalty");
    }

    #[test]
    fn think_scope_measures_only_the_reasoning() {
        let s = scheme(
            "kind = \"length_penalty\"\nbudget = 3\nper_unit = 1.0\nmax_penalty = 100.0\nscope = \"think\"\n",
        );
        let response = "<think>abcde</think><answer>a very long answer here</answer>";
        assert_eq!(s.reward(&verdict(Outcome::Correct), response), 3.0 - 2.0);
        // the opening tag came with the prompt
        assert_eq!(
            s.reward(&verdict(Outcome::Correct), "abcd</think><answer>x</answer>"),
            3.0 - 1.0
        );
        assert_eq!(think_text("no tags"), "no tags");
    }

    #[test]
    fn defaults_and_bad_values() {
        let s = scheme("kind = \"length_penalty\"\n");
        let correct = verdict(Outcome::Correct);
        assert_eq!(s.reward(&correct, &"x".repeat(2048)), 3.0);
        assert!((s.reward(&correct, &"x".repeat(2148)) - 2.9).abs() < 1e-12);
        let config: Box<dyn RewardConfig> = metaalign_core::config::from_toml_str(
            "kind = \"length_penalty\"\nper_unit = -1.0\n",
            "test",
        )
        .unwrap();
        let e = config.build().err().unwrap().to_string();
        assert!(e.contains("per_unit"), "{e}");
        let e = metaalign_core::config::from_toml_str::<Box<dyn RewardConfig>>(
            "kind = \"length_penalty\"\nunit = \"tokens\"\n",
            "test",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("test:2:8:") && e.contains("unknown variant `tokens`"),
            "{e}"
        );
    }

    #[test]
    fn is_registered_with_an_example_that_round_trips() {
        let registry = Registry::with(&LengthPenaltyPlugin);
        let reg = registry
            .find(metaalign_core::Slot::Reward, "length_penalty")
            .expect("length_penalty is registered");
        assert!(reg.origin.starts_with("metaalign_plugin_reward_length"));
        metaalign_core::registry::check_example(reg).unwrap();
    }
}
