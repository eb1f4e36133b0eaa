//! Deduction: nested propositional satisfiability.
//!
//! A puzzle is a few formulas over variables `A`, `B`, … with
//! `¬ ∧ ∨ → ↔ ⊕`, written in the paper's text format; the answer gives
//! every variable a truth value as `(1) A is True` lines. By default every
//! puzzle has exactly one model (checked exactly: truth tables up to 20
//! variables, a SAT solver above). A response is correct iff its assignment
//! makes every formula true.

pub mod generate;
pub mod puzzle;
pub mod rationale;
pub mod unique;

use std::sync::Arc;

use metaalign_core::{
    format_compact, seed::Rng, Ability, ChatMessage, CompactString, Error, Level, Outcome, Result,
    Solution, Task, TaskConfig, TaskGenerator, Verdict, Verifier,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{judge_response, RationaleStyle};
use crate::dataset::PaperRecord;
use crate::logic::{Models, Var};
pub use generate::{LevelSpec, Target};
pub use puzzle::{
    clear_puzzle_cache, formulas_in_text, parse_answer, parse_answer_into, task_puzzle, Claim,
    DeductionPuzzle, PreparedPuzzle, NO_ASSIGNMENT,
};

/// The registered kind name.
pub const KIND: &str = "deduction";

/// How many models the generated puzzles have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolutionMode {
    /// Exactly one satisfying assignment (the paper's puzzles).
    #[default]
    Unique,
    /// At least one; any satisfying assignment is a correct answer.
    Satisfiable,
}

/// `[tasks.NAME] kind = "deduction"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeductionConfig {
    /// `"unique"` (default) or `"satisfiable"`.
    pub solutions: SolutionMode,
    /// Share of puzzles (0–1) with no satisfying assignment, whose answer
    /// is "No assignment satisfies all the formulas."
    pub unsat_fraction: f64,
    /// Highest level offered (levels beyond 5 add 2 variables and one level
    /// of nesting each; level 19 has 40 variables).
    pub max_level: u32,
    /// Attach a programmatic reasoning trace to each task.
    pub rationale: bool,
    /// `"full"` (sentences, default) or `"step"` (the forced assignments in
    /// formula order, `1:A=T 2:D=F ...`; see [`rationale::step_rationale`]).
    pub rationale_style: RationaleStyle,
}

impl Default for DeductionConfig {
    fn default() -> Self {
        Self {
            solutions: SolutionMode::Unique,
            unsat_fraction: 0.0,
            max_level: 20,
            rationale: true,
            rationale_style: RationaleStyle::Full,
        }
    }
}

impl DeductionConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.unsat_fraction) {
            return Err(Error::config(format!(
                "deduction: unsat_fraction must be between 0 and 1, got {}",
                self.unsat_fraction
            )));
        }
        if !(1..=60).contains(&self.max_level) {
            return Err(Error::config(format!(
                "deduction: max_level must be between 1 and 60, got {}",
                self.max_level
            )));
        }
        Ok(())
    }
}

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
    pub config: DeductionConfig,
}

const SYSTEM_PROMPT: &str = "You are a careful logician. First reason step by step inside <think> </think>, then give only the final answer inside <answer> </answer>, i.e. <think> reasoning </think><answer> answer </answer>.";

impl DeductionGenerator {
    pub fn new(config: DeductionConfig) -> Self {
        Self { config }
    }

    /// The puzzle statement: variables and numbered formulas.
    pub fn puzzle_text(p: &DeductionPuzzle) -> String {
        Self::puzzle_text_of(&p.names, &p.formula_texts())
    }

    fn puzzle_text_of(names: &[String], formulas: &[String]) -> String {
        use std::fmt::Write;
        let mut s = format!("Variables: {}\nFormulas:\n", names.join(", "));
        for (i, f) in formulas.iter().enumerate() {
            let _ = writeln!(s, "  {}. {f}", i + 1);
        }
        s
    }

    fn user_prompt(&self, puzzle: &str) -> String {
        let claim = match (self.config.solutions, self.config.unsat_fraction > 0.0) {
            (SolutionMode::Unique, false) => {
                "Exactly one assignment of truth values makes every formula true. Find it."
            }
            (SolutionMode::Satisfiable, false) => {
                "At least one assignment of truth values makes every formula true. Find one."
            }
            (SolutionMode::Unique, true) => {
                "At most one assignment of truth values makes every formula true. Find it, or answer \"No assignment satisfies all the formulas.\" if there is none."
            }
            (SolutionMode::Satisfiable, true) => {
                "Find an assignment of truth values that makes every formula true, or answer \"No assignment satisfies all the formulas.\" if there is none."
            }
        };
        format!(
            "Deduce the truth value of each variable from the propositional formulas below. \
             Connectives: ¬ (not), ∧ (and), ∨ (or), → (implies), ↔ (if and only if), ⊕ (exclusive or).\n\n\
             {puzzle}\n{claim}\n\nIn the answer, write one line per variable, in the order listed, for example:\n\
             <answer>\n(1) A is True\n(2) B is False\n...\n</answer>"
        )
    }

    /// The rationale in the configured style (`solution` None: no model).
    fn rationale_of(&self, p: &DeductionPuzzle, solution: Option<&[bool]>) -> String {
        match (solution, self.config.rationale_style) {
            (Some(s), RationaleStyle::Full) => rationale::rationale(p, s),
            (Some(s), RationaleStyle::Step) => rationale::step_rationale(p, s),
            (None, _) => unsat_rationale(p),
        }
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
        let puzzle = Self::puzzle_text_of(&p.names, &texts);
        let answer = match solution {
            Some(s) => p.answer_text(s),
            None => NO_ASSIGNMENT.to_string(),
        };
        let ground_truth = p.ground_truth_parts(texts, solution, unique, answer.clone());
        let rationale = self
            .config
            .rationale
            .then(|| self.rationale_of(p, solution));
        Task {
            id,
            kind: KIND.into(),
            ability: Ability::Deduction,
            level,
            prompt: vec![
                ChatMessage::new("system", SYSTEM_PROMPT),
                ChatMessage::new("user", self.user_prompt(&puzzle)),
            ],
            puzzle,
            templated: false,
            answer,
            ground_truth,
            rationale,
        }
    }
}

/// Fails when the task's ground truth declares a unique model (which the
/// verifier then compares answers with, see [`unique`]) that the puzzle
/// does not have: several models, none, or another one.
fn check_unique_claim(task: &Task, models: &Models) -> Result<()> {
    let gt = &task.ground_truth;
    if gt.get("unique").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let stored: Option<Vec<bool>> = gt
        .get("solution")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().map(Value::as_bool).collect());
    let problem = match (models, stored) {
        (_, None) => "but has no `solution` list of booleans".to_string(),
        (Models::Unsat, _) => "but the formulas have no model".to_string(),
        (Models::Multiple(..), _) => "but the formulas have several models".to_string(),
        (Models::Unique(m), Some(s)) if *m != s => {
            "but its `solution` is not the formulas' only model".to_string()
        }
        (Models::Unique(_), Some(_)) => return Ok(()),
    };
    Err(Error::data(format!(
        "task {}: the ground truth says `unique: true` {problem}",
        task.id
    )))
}

fn unsat_rationale(p: &DeductionPuzzle) -> String {
    format!(
        "Checking all the ways to assign {} gives none that makes all {} formulas true. {NO_ASSIGNMENT}",
        p.names.join(", "),
        p.formulas.len()
    )
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
        let (p, _) =
            task_puzzle(task).map_err(|e| Error::data(format!("task {}: {e}", task.id)))?;
        let models = p.models();
        check_unique_claim(task, &models)?;
        Ok(match models {
            Models::Unsat => Solution {
                answer: NO_ASSIGNMENT.to_string(),
                rationale: Some(self.rationale_of(&p, None)),
            },
            Models::Unique(m) | Models::Multiple(m, _) => Solution {
                answer: p.answer_text(&m),
                rationale: Some(self.rationale_of(&p, Some(&m))),
            },
        })
    }
}

/// Checks deduction responses: correct iff the answer's assignment makes
/// every formula true (or, for a puzzle without a model, the answer says
/// so). Total: never panics.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeductionVerifier;

impl DeductionVerifier {
    /// Judges an answer text (what is inside `<answer>`), without the
    /// format check.
    pub fn judge(task: &Task, answer: &str) -> unique::Judgement {
        if let Some(judged) = unique::judge_against_unique_model(&task.ground_truth, answer) {
            return judged;
        }
        let cached = match puzzle::task_puzzle_cached(task) {
            Ok(x) => x,
            Err(e) => {
                return (
                    Outcome::Unparseable,
                    None,
                    format_compact!("task ground truth is invalid: {e}"),
                )
            }
        };
        let (p, satisfiable) = (&cached.puzzle, cached.satisfiable);
        // Up to 64 variables the answer is read into a buffer on the stack.
        const MAX: usize = 64;
        let mut stack = [None; MAX];
        let mut heap = Vec::new();
        let values: &mut [Option<bool>] = if p.nvars() <= MAX {
            &mut stack[..p.nvars()]
        } else {
            heap.resize(p.nvars(), None);
            &mut heap
        };
        match puzzle::parse_answer_hinted(answer, &p.names, values, cached.names_distinct()) {
            Err(e) => (Outcome::Unparseable, None, e.into()),
            Ok(false) => {
                if satisfiable {
                    (
                        Outcome::Wrong,
                        Some(CompactString::const_new(NO_ASSIGNMENT)),
                        CompactString::const_new("the formulas do have a satisfying assignment"),
                    )
                } else {
                    (
                        Outcome::Correct,
                        Some(CompactString::const_new(NO_ASSIGNMENT)),
                        CompactString::const_new("no assignment exists"),
                    )
                }
            }
            Ok(true) => {
                let values: &[Option<bool>] = values;
                let value = |v: Var| values.get(usize::from(v)).copied().flatten() == Some(true);
                let bits = (values.len() <= 64).then(|| {
                    values
                        .iter()
                        .enumerate()
                        .fold(0u64, |b, (i, v)| b | (u64::from(*v == Some(true)) << i))
                });
                // The parsed answer in the canonical `(i) X is True` form.
                let parsed = Some(CompactString::from(p.answer_text_with(&value)));
                if !satisfiable {
                    return (
                        Outcome::Wrong,
                        parsed,
                        CompactString::const_new("no assignment satisfies all the formulas"),
                    );
                }
                match cached.first_falsified(&value, bits) {
                    Some(i) => (
                        Outcome::Wrong,
                        parsed,
                        format_compact!(
                            "formula {} ({}) is false under this assignment",
                            i + 1,
                            cached.formula_texts.get(i).map_or("", String::as_str)
                        ),
                    ),
                    None => (
                        Outcome::Correct,
                        parsed,
                        CompactString::const_new("every formula is true"),
                    ),
                }
            }
        }
    }
}

impl Verifier for DeductionVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        judge_response(task, response, |answer| Self::judge(task, answer))
    }
}

/// Imports one row of the paper's deduction data. Keeps the paper's prompt
/// text (already templated) and its ground-truth answer text.
pub fn from_paper(record: &PaperRecord) -> Result<Task> {
    let where_ = format!(
        "paper deduction row {} (level {})",
        record.row, record.level
    );
    let formulas = record
        .extra
        .get("puzzle_spec")
        .and_then(|s| s.get("formulas"))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::data(format!("{where_}: no puzzle_spec.formulas")))?;
    let formulas: Vec<&str> = formulas
        .iter()
        .map(|f| {
            f.as_str()
                .ok_or_else(|| Error::data(format!("{where_}: a formula is not a string")))
        })
        .collect::<Result<_>>()?;
    let p = DeductionPuzzle::from_texts(&formulas, None)
        .map_err(|e| Error::data(format!("{where_}: {e}")))?;
    let gt_text = record
        .ground_truth
        .get("solution_text_format")
        .and_then(Value::as_str)
        .or(record.solution_text.as_deref())
        .ok_or_else(|| Error::data(format!("{where_}: no ground_truth.solution_text_format")))?;
    let solution = match parse_answer(gt_text, &p.names) {
        Ok(Claim::Assignment(v)) => v,
        Ok(Claim::NoAssignment) => {
            return Err(Error::data(format!(
                "{where_}: ground truth claims no assignment"
            )))
        }
        Err(e) => {
            return Err(Error::data(format!(
                "{where_}: ground truth unreadable: {e}"
            )))
        }
    };
    // The verifier compares answers with a model declared unique (see
    // [`unique`]): declare it only once the solver has shown it.
    let unique = matches!(p.models(), Models::Unique(ref m) if *m == solution);
    let mut ground_truth = p.ground_truth(Some(&solution), unique);
    if let Value::Object(map) = &mut ground_truth {
        // Keep the paper's own text (and any other keys) verbatim.
        if let Value::Object(orig) = &record.ground_truth {
            for (k, v) in orig {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    let split = record
        .extra_info
        .get("split")
        .and_then(Value::as_str)
        .unwrap_or("data");
    let index = record
        .extra_info
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(record.row as u64);
    Ok(Task {
        id: format!("deduction-L{}-{split}-{index}", record.level),
        kind: KIND.into(),
        ability: Ability::Deduction,
        level: Level(record.level),
        puzzle: record
            .puzzle_text
            .clone()
            .unwrap_or_else(|| DeductionGenerator::puzzle_text(&p)),
        prompt: record.prompt.clone(),
        templated: true,
        answer: gt_text.to_string(),
        ground_truth,
        rationale: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn wrap(answer: &str) -> String {
        format!("<think>reasoning</think><answer>{answer}</answer>")
    }

    #[test]
    fn generated_tasks_verify_and_solve() {
        let g = DeductionGenerator::default();
        let v = g.verifier();
        for level in 1..=5 {
            let mut rng = Rng::seed_from_u64(level as u64);
            let t = g.generate(Level(level), 0, &mut rng).unwrap();
            let verdict = v.verify(&t, &wrap(&t.answer));
            assert!(verdict.is_correct() && verdict.format_ok, "{verdict:?}");
            let s = g.solve(&t).unwrap();
            assert_eq!(s.answer, t.answer, "unique model");
            assert!(t.rationale.as_deref().unwrap().contains("Check:"));
            // The continuation form (prompt ends in <think>) also verifies.
            assert!(v
                .verify(&t, &format!("x</think><answer>{}</answer>", t.answer))
                .is_correct());
        }
    }

    #[test]
    fn wrong_and_unparseable_answers() {
        let g = DeductionGenerator::default();
        let v = g.verifier();
        let mut rng = Rng::seed_from_u64(9);
        let t = g.generate(Level(2), 0, &mut rng).unwrap();
        let flipped = if t.answer.contains("(1) A is True") {
            t.answer.replace("(1) A is True", "(1) A is False")
        } else {
            t.answer.replace("(1) A is False", "(1) A is True")
        };
        let verdict = v.verify(&t, &wrap(&flipped));
        assert_eq!(verdict.outcome, Outcome::Wrong, "{verdict:?}");
        assert!(verdict.details.contains("is false"), "{verdict:?}");
        let missing: String = t.answer.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(v.verify(&t, &wrap(&missing)).outcome, Outcome::Unparseable);
        assert_eq!(v.verify(&t, "no tags").outcome, Outcome::Unparseable);
        let nothing = v.verify(&t, &wrap("No assignment satisfies all the formulas."));
        assert_eq!(nothing.outcome, Outcome::Wrong);
        // Broken ground truth: a verdict, not a panic.
        let mut broken = t.clone();
        broken.ground_truth = serde_json::json!({"formulas": ["(A ∧"]});
        assert_eq!(
            v.verify(&broken, &wrap(&t.answer)).outcome,
            Outcome::Unparseable
        );
    }

    #[test]
    fn unsat_and_satisfiable_modes() {
        let g = DeductionGenerator::new(DeductionConfig {
            unsat_fraction: 1.0,
            ..Default::default()
        });
        let mut rng = Rng::seed_from_u64(3);
        let t = g.generate(Level(2), 0, &mut rng).unwrap();
        assert_eq!(t.answer, NO_ASSIGNMENT);
        let v = g.verifier();
        assert!(v.verify(&t, &wrap(&t.answer)).is_correct());
        assert_eq!(g.solve(&t).unwrap().answer, NO_ASSIGNMENT);
        let all_true: String = (0..6)
            .map(|i| format!("({}) {} is True\n", i + 1, crate::logic::var_name(i)))
            .collect();
        assert_eq!(v.verify(&t, &wrap(&all_true)).outcome, Outcome::Wrong);

        let g = DeductionGenerator::new(DeductionConfig {
            solutions: SolutionMode::Satisfiable,
            ..Default::default()
        });
        let t = g.generate(Level(3), 0, &mut rng).unwrap();
        let s = g.solve(&t).unwrap();
        assert!(g.verifier().verify(&t, &wrap(&s.answer)).is_correct());
    }

    #[test]
    fn large_levels_work() {
        let g = DeductionGenerator::new(DeductionConfig {
            rationale: false,
            ..Default::default()
        });
        let mut rng = Rng::seed_from_u64(5);
        let t = g.generate(Level(19), 0, &mut rng).unwrap();
        assert_eq!(t.ground_truth["variables"].as_array().unwrap().len(), 40);
        assert!(g.verifier().verify(&t, &wrap(&t.answer)).is_correct());
        assert_eq!(g.solve(&t).unwrap().answer, t.answer);
        assert!(g.generate(Level(21), 0, &mut rng).is_err());
    }

    #[test]
    fn config_defaults_from_kind_alone() {
        let c: DeductionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, DeductionConfig::default());
        let bad = DeductionConfig {
            unsat_fraction: 2.0,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
