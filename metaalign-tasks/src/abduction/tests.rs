//! Unit tests of the abduction task source, verifier and solver.

use super::*;
use metaalign_core::{seed::Rng, Level, Outcome, TaskGenerator};
use rand::SeedableRng;
use serde_json::json;

fn wrap(answer: &str) -> String {
    format!("<think>reasoning</think><answer>{answer}</answer>")
}

#[test]
fn generated_tasks_verify_and_solve() {
    let g = AbductionGenerator::default();
    let v = g.verifier();
    for level in 1..=6 {
        let mut rng = Rng::seed_from_u64(level as u64);
        let t = g.generate(Level(level), 0, &mut rng).unwrap();
        assert!(v.verify(&t, &wrap(&t.answer)).is_correct(), "{}", t.answer);
        assert_eq!(g.solve(&t).unwrap().answer, t.answer);
        // Solving from the puzzle text alone gives the same answer.
        let mut bare = t.clone();
        bare.ground_truth =
            json!({"goals": t.ground_truth["goals"], "reachable": t.ground_truth["reachable"]});
        assert_eq!(g.solve(&bare).unwrap().answer, t.answer);
        assert!(t.rationale.as_deref().unwrap().contains("Goal (1)"));
    }
}

#[test]
fn wrong_and_unparseable() {
    let g = AbductionGenerator::default();
    let v = g.verifier();
    let mut rng = Rng::seed_from_u64(4);
    let t = g.generate(Level(3), 0, &mut rng).unwrap();
    let flipped = if t.answer.contains(" is unreachable") {
        t.answer.replacen(" is unreachable", " is reachable", 1)
    } else {
        t.answer.replacen(" is reachable", " is unreachable", 1)
    };
    assert_eq!(v.verify(&t, &wrap(&flipped)).outcome, Outcome::Wrong);
    let first_only = t.answer.lines().next().unwrap().to_string();
    assert_eq!(
        v.verify(&t, &wrap(&first_only)).outcome,
        Outcome::Unparseable
    );
    assert_eq!(v.verify(&t, "").outcome, Outcome::Unparseable);
    let mut broken = t.clone();
    broken.ground_truth = json!({});
    assert_eq!(
        v.verify(&broken, &wrap(&t.answer)).outcome,
        Outcome::Unparseable
    );
}
