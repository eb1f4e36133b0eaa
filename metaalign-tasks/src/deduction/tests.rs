//! Unit tests of the deduction task source, verifier and solver.

use super::*;
use metaalign_core::{seed::Rng, Level, Outcome, TaskGenerator};
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
