//! The abduction task source: draws a puzzle for a level, labels its goals
//! exactly and builds the task (prompt, answer, ground truth, rationale);
//! the registered config builds it.

use std::sync::Arc;

use metaalign_core::{
    seed::Rng, Ability, ChatMessage, Error, Level, Result, Solution, Task, TaskConfig,
    TaskGenerator, Verifier,
};

use super::config::{AbductionConfig, KIND};
use super::generate::{self, LevelSpec};
use super::ground_truth::{ground_truth, task_puzzle};
use super::prompt::{self, SYSTEM_PROMPT};
use super::puzzle::AbductionPuzzle;
use super::solve::{self, analyse, Analysis};
use super::verify::AbductionVerifier;
use crate::common::RationaleStyle;

#[typetag::serde(name = "abduction")]
impl TaskConfig for AbductionConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        if !(1..=20).contains(&self.max_level) {
            return Err(Error::config(format!(
                "abduction: max_level must be between 1 and 20, got {}",
                self.max_level
            )));
        }
        Ok(Arc::new(AbductionGenerator::new(self.clone())))
    }
}

/// Generator, solver and verifier of abduction tasks.
#[derive(Clone, Debug, Default)]
pub struct AbductionGenerator {
    /// The settings it generates with.
    pub config: AbductionConfig,
}

impl AbductionGenerator {
    /// A generator with these settings (`build` checks `max_level` first).
    pub fn new(config: AbductionConfig) -> Self {
        Self { config }
    }

    /// The rationale in the configured style.
    fn rationale_of(&self, p: &AbductionPuzzle, analysis: &Analysis) -> String {
        match self.config.rationale_style {
            RationaleStyle::Full => solve::rationale(p, analysis),
            RationaleStyle::Step => solve::step_rationale(p, analysis),
        }
    }

    /// Builds the task for a puzzle and its exact analysis.
    pub fn make_task(
        &self,
        level: Level,
        id: String,
        p: &AbductionPuzzle,
        analysis: &Analysis,
    ) -> Task {
        let labels = analysis.labels();
        Task {
            id,
            kind: KIND.into(),
            ability: Ability::Abduction,
            level,
            puzzle: p.text(),
            prompt: vec![
                ChatMessage::new("system", SYSTEM_PROMPT),
                ChatMessage::new("user", prompt::user_prompt(p)),
            ],
            templated: false,
            answer: p.answer_text(&labels),
            ground_truth: ground_truth(p, &labels),
            rationale: self
                .config
                .rationale
                .then(|| self.rationale_of(p, analysis)),
        }
    }
}

impl TaskGenerator for AbductionGenerator {
    fn kind(&self) -> &str {
        KIND
    }

    fn ability(&self) -> Ability {
        Ability::Abduction
    }

    fn levels(&self) -> Vec<Level> {
        (1..=self.config.max_level).map(Level).collect()
    }

    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
        if level.0 == 0 || level.0 > self.config.max_level {
            return Err(Error::config(format!(
                "abduction has levels 1 to {}, not {level}",
                self.config.max_level
            )));
        }
        let g = generate::generate(&LevelSpec::for_level(level.0), rng);
        Ok(self.make_task(
            level,
            format!("abduction-L{}-{index}", level.0),
            &g.puzzle,
            &g.analysis,
        ))
    }

    fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::new(AbductionVerifier)
    }

    fn solve(&self, task: &Task) -> Result<Solution> {
        let p = task_puzzle(task).map_err(|e| Error::data(format!("task {}: {e}", task.id)))?;
        let analysis = analyse(&p);
        Ok(Solution {
            answer: p.answer_text(&analysis.labels()),
            rationale: Some(self.rationale_of(&p, &analysis)),
        })
    }
}
