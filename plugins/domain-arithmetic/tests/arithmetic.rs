//! Generated problems are well-posed, the solver agrees with the stored
//! answer, and the verifier accepts exactly the right numbers (and never
//! panics).

use metaalign_core::seed::item_rng;
use metaalign_core::{Level, Outcome, TaskGenerator};
use metaalign_domain_arithmetic::{ArithmeticConfig, ArithmeticGenerator, Op};
use proptest::prelude::*;

fn generator() -> ArithmeticGenerator {
    ArithmeticGenerator {
        config: ArithmeticConfig::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_tasks_are_consistent(seed in any::<u64>(), level in 1u32..=5) {
        let g = generator();
        let mut rng = item_rng(seed, "arith", 0);
        let task = g.generate(Level(level), 0, &mut rng).unwrap();
        let gt = &task.ground_truth["problem"];
        let steps = gt["steps"].as_array().unwrap();
        prop_assert_eq!(steps.len(), level as usize);
        // the exact solver recomputes the stored answer from the structure
        let solution = g.solve(&task).unwrap();
        prop_assert_eq!(&solution.answer, &task.answer);
        let n: i64 = task.answer.parse().unwrap();
        prop_assert!((0..=999).contains(&n));
        // every number of the problem appears in the text
        prop_assert!(task.puzzle.contains(&gt["start"].to_string()));
        // the reference answer, plain or boxed, is correct; a neighbour is wrong
        let v = g.verifier();
        let plain = format!("<think>{}</think><answer>{}</answer>", task.rationale.clone().unwrap_or_default(), task.answer);
        let verdict = v.verify(&task, &plain);
        prop_assert!(verdict.is_correct() && verdict.format_ok, "{:?}", verdict);
        let boxed = format!("reasoning</think><answer>\\boxed{{{}}}</answer>", task.answer);
        prop_assert!(v.verify(&task, &boxed).is_correct());
        let wrong = format!("<think>x</think><answer>{}</answer>", n + 1);
        prop_assert_eq!(v.verify(&task, &wrong).outcome, Outcome::Wrong);
    }

    #[test]
    fn generation_is_a_pure_function_of_the_rng(seed in any::<u64>(), level in 1u32..=5) {
        let g = generator();
        let a = g.generate(Level(level), 3, &mut item_rng(seed, "arith", 3)).unwrap();
        let b = g.generate(Level(level), 3, &mut item_rng(seed, "arith", 3)).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn verifier_is_total(response in ".{0,200}", seed in any::<u64>()) {
        let g = generator();
        let task = g.generate(Level(2), 0, &mut item_rng(seed, "arith", 0)).unwrap();
        let _ = g.verifier().verify(&task, &response);
        let tagged = format!("<think>{response}</think><answer>{response}</answer>");
        let _ = g.verifier().verify(&task, &tagged);
    }
}

#[test]
fn levels_scale_steps_and_bad_input_is_refused() {
    let g = generator();
    assert_eq!(g.levels().len(), 5);
    assert!(g.generate(Level(0), 0, &mut item_rng(1, "a", 0)).is_err());
    assert!(g.generate(Level(6), 0, &mut item_rng(1, "a", 0)).is_err());
    let task = g.generate(Level(3), 0, &mut item_rng(1, "a", 0)).unwrap();
    let v = g.verifier();
    let missing = v.verify(&task, "<think>hmm</think>");
    assert_eq!(missing.outcome, Outcome::Unparseable);
    let words = v.verify(&task, "<think>hmm</think><answer>seven</answer>");
    assert_eq!(words.outcome, Outcome::Unparseable);
    // a corrupted ground truth makes solve fail with a message, not a panic
    let mut broken = task.clone();
    broken.ground_truth = serde_json::json!({"answer": 3});
    assert!(g
        .solve(&broken)
        .unwrap_err()
        .to_string()
        .contains("ground truth"));
    assert_eq!(Op::Div.apply(7, 2), None);
}

#[test]
fn registered_kind_builds_from_kind_alone() {
    metaalign_core::registry::ensure(&metaalign_domain_arithmetic::ArithmeticPlugin).unwrap();
    let source = metaalign_core::config::default_task_source("arithmetic").unwrap();
    assert_eq!(source.kind(), "arithmetic");
    let reg = metaalign_core::registry::find(metaalign_core::Slot::Task, "arithmetic").unwrap();
    assert!(reg.example.contains("arithmetic"));
    let bad: Result<Box<dyn metaalign_core::TaskConfig>, _> =
        metaalign_core::config::from_toml_str("kind = \"arithmetic\"\nmax_level = 40", "t");
    assert!(bad.unwrap().build().is_err());
}
