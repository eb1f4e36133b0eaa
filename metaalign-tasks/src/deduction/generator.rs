//! The deduction task source: draws a puzzle with the wanted number of
//! models for a level and builds the task (prompt, answer, ground truth,
//! rationale); the registered config builds it.

use std::sync::Arc;

use metaalign_core::{
    seed::Rng, Ability, ChatMessage, Error, Level, Result, Solution, Task, TaskConfig,
    TaskGenerator, Verifier,
};

use super::config::{DeductionConfig, SolutionMode, KIND};
use super::generate::{self, LevelSpec, Target};
use super::prompt::{self, SYSTEM_PROMPT};
use super::puzzle::{DeductionPuzzle, NO_ASSIGNMENT};
use super::solve;
use super::verify::DeductionVerifier;

#[typetag::serde(name = "deduction")]
impl TaskConfig for DeductionConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        self.validate()?;
        Ok(Arc::new(DeductionGenerator::new(self.clone())))
    }
}

/// Generator, solver and verifier of deduction tasks.
#[derive(Clone, Debug, Default)]
pub struct DeductionGenerator {
    /// The settings it generates with.
    pub config: DeductionConfig,
}

impl DeductionGenerator {
    /// A generator with these settings (not validated; `build` validates).
    pub fn new(config: DeductionConfig) -> Self {
        Self { config }
    }

    /// The puzzle statement: variables and numbered formulas.
    pub fn puzzle_text(p: &DeductionPuzzle) -> String {
        prompt::puzzle_text(p)
    }

    /// Builds the task for a puzzle and its reference model.
    pub fn make_task(
        &self,
        level: Level,
        id: String,
        p: &DeductionPuzzle,
        solution: Option<&[bool]>,
    ) -> Task {
        let unique = self.config.solutions == SolutionMode::Unique;
        let texts = p.formula_texts();
        let puzzle = prompt::puzzle_text_of(&p.names, &texts);
        let answer = match solution {
            Some(s) => p.answer_text(s),
            None => NO_ASSIGNMENT.to_string(),
        };
        let ground_truth = p.ground_truth_parts(texts, solution, unique, answer.clone());
        let rationale = self
            .config
            .rationale
            .then(|| solve::rationale_of(p, solution, self.config.rationale_style));
        Task {
            id,
            kind: KIND.into(),
            ability: Ability::Deduction,
            level,
            prompt: vec![
                ChatMessage::new("system", SYSTEM_PROMPT),
                ChatMessage::new("user", prompt::user_prompt(&self.config, &puzzle)),
            ],
            puzzle,
            templated: false,
            answer,
            ground_truth,
            rationale,
        }
    }
}

impl TaskGenerator for DeductionGenerator {
    fn kind(&self) -> &str {
        KIND
    }

    fn ability(&self) -> Ability {
        Ability::Deduction
    }

    fn levels(&self) -> Vec<Level> {
        (1..=self.config.max_level).map(Level).collect()
    }

    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
        if level.0 == 0 || level.0 > self.config.max_level {
            return Err(Error::config(format!(
                "deduction has levels 1 to {}, not {level}",
                self.config.max_level
            )));
        }
        let spec = LevelSpec::for_level(level.0);
        use rand::Rng as _;
        let target =
            if self.config.unsat_fraction > 0.0 && rng.random_bool(self.config.unsat_fraction) {
                Target::Unsatisfiable
            } else if self.config.solutions == SolutionMode::Unique {
                Target::Unique
            } else {
                Target::Satisfiable
            };
        let g = generate::generate(&spec, target, rng);
        let p = DeductionPuzzle::standard(spec.variables, g.formulas);
        Ok(self.make_task(
            level,
            format!("deduction-L{}-{index}", level.0),
            &p,
            g.model.as_deref(),
        ))
    }

    fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::new(DeductionVerifier)
    }

    fn solve(&self, task: &Task) -> Result<Solution> {
        solve::solve_task(task, self.config.rationale_style)
    }
}
