//! Verifying against a ground truth that declares its model unique.
//!
//! When a puzzle has exactly one model, "the answer makes every formula
//! true" is the same as "the answer is that model". Ground truths that say
//! so (`"unique": true`, with `variables` and `solution`) are judged by
//! comparing the parsed answer with `solution`, without parsing a single
//! formula: a task's first response then costs no more than its tenth,
//! which is what RL with fresh prompts each step needs.
//!
//! The flag is trusted as written. Our generator sets it only after its
//! solver proved the model unique; the paper import sets it only after
//! solving the puzzle; and `DeductionGenerator::solve` (hence
//! `metaalign solve --check`) fails on a ground truth whose claim is false.

use metaalign_core::{format_compact, CompactString, Outcome};
use serde_json::Value;

use super::puzzle::{assignment_text, names_distinct, parse_answer_hinted};
use super::NO_ASSIGNMENT;

/// What the verifier returns: outcome, the parsed answer in canonical
/// form, details.
pub type Judgement = (Outcome, Option<CompactString>, CompactString);

/// Most variables judged here (the model is held as a bit mask).
const MAX_VARS: usize = 64;

/// The model a ground truth declares unique: its variables' names and
/// values (bit `i` = variable `i`).
struct UniqueModel<'a> {
    names: [&'a str; MAX_VARS],
    len: usize,
    bits: u64,
}

impl<'a> UniqueModel<'a> {
    /// Reads `unique`, `satisfiable`, `variables` and `solution` in one pass
    /// over the ground truth's keys. `None` unless it declares a unique
    /// model of 1–64 variables in well-typed fields.
    fn read(gt: &'a Value) -> Option<Self> {
        let (mut unique, mut satisfiable, mut variables, mut solution) = (None, None, None, None);
        for (k, v) in gt.as_object()? {
            match k.as_str() {
                "unique" => unique = v.as_bool(),
                "satisfiable" => satisfiable = v.as_bool(),
                "variables" => variables = v.as_array(),
                "solution" => solution = v.as_array(),
                _ => {}
            }
        }
        if unique != Some(true) || satisfiable == Some(false) {
            return None;
        }
        let (variables, solution) = (variables?, solution?);
        let len = variables.len();
        if len == 0 || len > MAX_VARS || solution.len() != len {
            return None;
        }
        let mut model = UniqueModel {
            names: [""; MAX_VARS],
            len,
            bits: 0,
        };
        for (i, (name, value)) in variables.iter().zip(solution).enumerate() {
            model.names[i] = name.as_str()?;
            model.bits |= u64::from(value.as_bool()?) << i;
        }
        Some(model)
    }

    fn names(&self) -> &[&'a str] {
        &self.names[..self.len]
    }
}

/// Judges `answer` (the text inside `<answer>`) against the ground truth's
/// unique model; `None` when the ground truth declares none (the caller
/// then evaluates the formulas).
pub fn judge_against_unique_model(gt: &Value, answer: &str) -> Option<Judgement> {
    let model = UniqueModel::read(gt)?;
    let names = model.names();
    let mut values = [None; MAX_VARS];
    let values = &mut values[..names.len()];
    Some(
        match parse_answer_hinted(answer, names, values, names_distinct(names)) {
            Err(e) => (Outcome::Unparseable, None, e.into()),
            Ok(false) => (
                Outcome::Wrong,
                Some(CompactString::const_new(NO_ASSIGNMENT)),
                CompactString::const_new("the formulas do have a satisfying assignment"),
            ),
            Ok(true) => {
                let bits = values
                    .iter()
                    .enumerate()
                    .fold(0u64, |b, (i, v)| b | (u64::from(*v == Some(true)) << i));
                let parsed = Some(CompactString::from(assignment_text(names, |i| {
                    (bits >> i) & 1 == 1
                })));
                let differ = bits ^ model.bits;
                if differ == 0 {
                    (
                        Outcome::Correct,
                        parsed,
                        CompactString::const_new("every formula is true"),
                    )
                } else {
                    let mut which = CompactString::default();
                    for (i, name) in names.iter().enumerate() {
                        if (differ >> i) & 1 == 1 {
                            if !which.is_empty() {
                                which.push_str(", ");
                            }
                            which.push_str(name);
                        }
                    }
                    (
                        Outcome::Wrong,
                        parsed,
                        format_compact!(
                            "some formula is false under this assignment: the puzzle's only model differs at {which}"
                        ),
                    )
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use metaalign_core::{Level, TaskGenerator};
    use rand::SeedableRng;

    use super::*;
    use crate::deduction::DeductionGenerator;

    fn task(level: u32) -> metaalign_core::Task {
        let mut rng = metaalign_core::seed::Rng::seed_from_u64(u64::from(level));
        DeductionGenerator::default()
            .generate(Level(level), 0, &mut rng)
            .unwrap()
    }

    #[test]
    fn answers_are_compared_with_the_declared_model() {
        let t = task(3);
        let (outcome, parsed, _) = judge_against_unique_model(&t.ground_truth, &t.answer).unwrap();
        assert_eq!(outcome, Outcome::Correct);
        assert_eq!(parsed.as_deref(), Some(t.answer.as_str()));
        // Flip the second variable's value.
        let names = t.ground_truth["variables"].as_array().unwrap();
        let second = names[1].as_str().unwrap();
        let flipped: String = t
            .answer
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let l = if i == 1 && l.ends_with("True") {
                    l.replace("True", "False")
                } else if i == 1 {
                    l.replace("False", "True")
                } else {
                    l.to_string()
                };
                l + "\n"
            })
            .collect();
        let (outcome, _, details) = judge_against_unique_model(&t.ground_truth, &flipped).unwrap();
        assert_eq!(outcome, Outcome::Wrong);
        assert!(
            details.ends_with(&format!("differs at {second}")),
            "{details}"
        );
        let (outcome, _, details) =
            judge_against_unique_model(&t.ground_truth, "(1) A is True").unwrap();
        assert_eq!(outcome, Outcome::Unparseable);
        assert!(details.starts_with("no value given for"), "{details}");
    }

    #[test]
    fn ground_truths_without_a_unique_model_take_the_formula_path() {
        let t = task(2);
        let mut gt = t.ground_truth.clone();
        gt["unique"] = Value::Bool(false);
        assert!(judge_against_unique_model(&gt, &t.answer).is_none());
        let mut gt = t.ground_truth.clone();
        gt["solution"] = serde_json::json!([true]);
        assert!(judge_against_unique_model(&gt, &t.answer).is_none());
        gt["solution"] = serde_json::json!("TFTF");
        assert!(judge_against_unique_model(&gt, &t.answer).is_none());
        assert!(judge_against_unique_model(&Value::Null, &t.answer).is_none());
    }

    #[test]
    fn a_false_uniqueness_claim_fails_the_solver() {
        let g = DeductionGenerator::default();
        let mut t = task(2);
        let mut wrong: Vec<bool> =
            serde_json::from_value(t.ground_truth["solution"].clone()).unwrap();
        wrong[0] = !wrong[0];
        t.ground_truth["solution"] = serde_json::json!(wrong);
        let e = g.solve(&t).unwrap_err().to_string();
        assert!(e.contains("not the formulas' only model"), "{e}");
        // A puzzle with several models that claims one is unique.
        let mut t = task(2);
        let formulas = t.ground_truth["formulas"].as_array().unwrap()[..1].to_vec();
        t.ground_truth["formulas"] = Value::Array(formulas);
        let e = g.solve(&t).unwrap_err().to_string();
        assert!(e.contains("several models"), "{e}");
    }
}
