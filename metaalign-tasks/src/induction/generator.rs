//! The induction task source: draws a well-posed masked sequence for a
//! level and builds the task (prompt, answer, ground truth, rationale); the
//! registered config builds it.

use std::sync::Arc;

use metaalign_core::seed::Rng;
use metaalign_core::{
    Ability, Error, Level, Result, Solution, Task, TaskConfig, TaskGenerator, Verifier,
};
use serde_json::json;

use super::config::{InductionConfig, KIND};
use super::generate::{self, LevelSpec};
use super::prompt::{prompt_messages, puzzle_text};
use super::rules::{self, Masked, Rule};
use super::solve::{self, rule_rationale, solve_masked, worked_step};
use super::verify::InductionVerifier;
use crate::common::RationaleStyle;

#[typetag::serde(name = "induction")]
impl TaskConfig for InductionConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        Ok(Arc::new(InductionGenerator::new(self.clone())?))
    }
}

/// The induction generator, solver and verifier.
#[derive(Clone, Debug, Default)]
pub struct InductionGenerator {
    config: InductionConfig,
}

impl InductionGenerator {
    /// A generator with these settings; fails on a `max_level` outside
    /// 1–60, a `max_abs_value` under 100 or a `max_tries` of 0.
    pub fn new(config: InductionConfig) -> Result<Self> {
        if config.max_level == 0 || config.max_level > 60 {
            return Err(Error::config(format!(
                "induction: max_level must be between 1 and 60 (sequences are at most {} terms), got {}",
                rules::MAX_TERMS,
                config.max_level
            )));
        }
        if config.max_abs_value < 100 {
            return Err(Error::config(format!(
                "induction: max_abs_value must be at least 100, got {}",
                config.max_abs_value
            )));
        }
        if config.max_tries == 0 {
            return Err(Error::config("induction: max_tries must be at least 1"));
        }
        Ok(Self { config })
    }

    /// The settings it generates with.
    pub fn config(&self) -> &InductionConfig {
        &self.config
    }

    /// Draws until a well-posed puzzle comes out: the complete sequence, the
    /// mask position and the generating rule.
    pub fn draw_puzzle(&self, level: u32, rng: &mut Rng) -> Result<(Vec<i64>, usize, Rule)> {
        let spec = LevelSpec::for_level(level);
        for _ in 0..self.config.max_tries {
            let (rule, n, mask) = generate::draw(&spec, self.config.mask, rng);
            let Some(terms) = rule.terms(n) else { continue };
            if terms
                .iter()
                .any(|v| v.unsigned_abs() > self.config.max_abs_value as u64)
            {
                continue;
            }
            let Some(masked) = Masked::new(&terms, mask) else {
                continue;
            };
            if masked.is_unique(rule.complexity().size, terms[mask]) {
                return Ok((terms, mask, rule));
            }
        }
        Err(Error::msg(format!(
            "induction: no well-posed level-{level} puzzle in {} draws (raise max_tries or max_abs_value)",
            self.config.max_tries
        )))
    }

    /// Builds a task from a complete sequence and its mask position.
    pub fn task_from_sequence(
        &self,
        id: String,
        level: u32,
        terms: &[i64],
        mask: usize,
        rule: Option<&Rule>,
    ) -> Result<Task> {
        let masked = Masked::new(terms, mask).ok_or_else(|| {
            Error::data(format!(
                "induction: a sequence needs 3 to {} terms and a mask inside it (got {} terms, mask {mask})",
                rules::MAX_TERMS,
                terms.len()
            ))
        })?;
        let answer = terms[mask];
        let puzzle = puzzle_text(&masked.visible());
        let rationale = if self.config.rationale {
            // The generating rule, when it really produced these terms.
            let own_rule = rule.filter(|r| r.terms(terms.len()).as_deref() == Some(terms));
            match self.config.rationale_style {
                RationaleStyle::Full => match own_rule {
                    Some(rule) => Some(rule_rationale(&masked, rule, terms)),
                    None => solve_masked(&masked, Some(answer), None, None)
                        .ok()
                        .filter(|s| s.value == answer)
                        .map(|s| s.rationale),
                },
                RationaleStyle::Step => own_rule
                    .cloned()
                    .or_else(|| {
                        let solved = solve_masked(&masked, Some(answer), None, None).ok()?;
                        masked.explain(solved.class, answer)
                    })
                    .map(|rule| worked_step(&rule, terms, mask)),
            }
        } else {
            None
        };
        let mut gt = json!({
            "answer": answer,
            "sequence": masked.visible(),
            "mask_index": mask,
            "complete_sequence": terms,
        });
        if let Some(rule) = rule {
            gt["rule"] = serde_json::to_value(rule)?;
            gt["complexity"] = serde_json::to_value(rule.complexity())?;
        }
        Ok(Task {
            id,
            kind: KIND.into(),
            ability: Ability::Induction,
            level: Level(level),
            prompt: prompt_messages(&puzzle),
            puzzle,
            templated: false,
            answer: answer.to_string(),
            ground_truth: gt,
            rationale,
        })
    }
}

impl TaskGenerator for InductionGenerator {
    fn kind(&self) -> &str {
        KIND
    }

    fn ability(&self) -> Ability {
        Ability::Induction
    }

    fn levels(&self) -> Vec<Level> {
        (1..=self.config.max_level).map(Level).collect()
    }

    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
        if level.0 == 0 || level.0 > self.config.max_level {
            return Err(Error::config(format!(
                "induction: level {} is not offered (levels 1–{})",
                level.0, self.config.max_level
            )));
        }
        let (terms, mask, rule) = self.draw_puzzle(level.0, rng)?;
        self.task_from_sequence(
            format!("{KIND}-L{}-{index}", level.0),
            level.0,
            &terms,
            mask,
            Some(&rule),
        )
    }

    fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::new(InductionVerifier)
    }

    fn solve(&self, task: &Task) -> Result<Solution> {
        solve::solve_task(task)
    }
}
