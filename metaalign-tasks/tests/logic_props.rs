//! Property tests for deduction, abduction and the formula engine: every
//! generated task's own answer verifies; a corrupted answer verifies as
//! wrong unless it is itself valid; verifiers and parsers never panic.

use metaalign_core::seed::item_rng;
use metaalign_core::{Level, Outcome, Task, TaskGenerator};
use metaalign_tasks::abduction::{self, AbductionGenerator};
use metaalign_tasks::deduction::{parse_answer, Claim, DeductionGenerator, DeductionPuzzle};
use metaalign_tasks::logic::{self, first_falsified};
use proptest::prelude::*;

fn wrap(answer: &str) -> String {
    format!("<think>r</think><answer>{answer}</answer>")
}

fn deduction_task(level: u32, seed: u64) -> Task {
    let g = DeductionGenerator::default();
    let mut rng = item_rng(seed, "prop/deduction", 0);
    g.generate(Level(level), 0, &mut rng).unwrap()
}

/// The task's puzzle and its own answer's assignment with the variables at
/// `flips` negated (a variable picked twice is flipped back).
fn flipped_answer(t: &Task, flips: &[prop::sample::Index]) -> (DeductionPuzzle, Vec<bool>) {
    let (p, _) = DeductionPuzzle::from_ground_truth(&t.ground_truth).unwrap();
    let Ok(Claim::Assignment(mut values)) = parse_answer(&t.answer, &p.names) else {
        panic!("own answer unreadable");
    };
    for f in flips {
        let i = f.index(values.len());
        values[i] = !values[i];
    }
    (p, values)
}

fn abduction_task(level: u32, seed: u64) -> Task {
    let g = AbductionGenerator::default();
    let mut rng = item_rng(seed, "prop/abduction", 0);
    g.generate(Level(level), 0, &mut rng).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn deduction_own_answer_verifies(level in 1u32..=6, seed in any::<u64>()) {
        let t = deduction_task(level, seed);
        let v = DeductionGenerator::default().verifier();
        let verdict = v.verify(&t, &wrap(&t.answer));
        prop_assert!(verdict.format_ok && verdict.outcome == Outcome::Correct, "{:?}", verdict);
        prop_assert_eq!(DeductionGenerator::default().solve(&t).unwrap().answer, t.answer);
    }

    #[test]
    fn deduction_corrupted_answer_is_wrong_unless_valid(
        level in 1u32..=6,
        seed in any::<u64>(),
        flips in proptest::collection::vec(any::<prop::sample::Index>(), 1..3),
    ) {
        let t = deduction_task(level, seed);
        let (p, values) = flipped_answer(&t, &flips);
        let corrupted = p.answer_text(&values);
        let verdict = DeductionGenerator::default().verifier().verify(&t, &wrap(&corrupted));
        let valid = first_falsified(&p.formulas, &values).is_none();
        let want = if valid { Outcome::Correct } else { Outcome::Wrong };
        prop_assert_eq!(verdict.outcome, want);
    }

    #[test]
    fn deduction_unique_model_shortcut_agrees_with_the_formulas(
        level in 1u32..=7,
        seed in any::<u64>(),
        flips in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        noise in "[A-Za-z() .,;:=\n]{0,30}",
    ) {
        // Ground truths that declare their model unique are judged by
        // comparing with it; without the flag, by evaluating the formulas.
        // Both must give the same verdict on any answer.
        let t = deduction_task(level, seed);
        let mut full = t.clone();
        full.ground_truth.as_object_mut().unwrap().remove("unique");
        let (p, values) = flipped_answer(&t, &flips);
        let v = DeductionGenerator::default().verifier();
        let answers = [
            p.answer_text(&values),
            format!("{noise}\n{}", p.answer_text(&values).to_lowercase()),
            noise.clone(),
            "No assignment satisfies all the formulas.".to_string(),
        ];
        for answer in answers {
            let (fast, slow) = (v.verify(&t, &wrap(&answer)), v.verify(&full, &wrap(&answer)));
            prop_assert_eq!(fast.outcome, slow.outcome, "{:?} / {:?}", fast, slow);
            prop_assert_eq!(fast.parsed, slow.parsed);
        }
    }

    #[test]
    fn abduction_own_answer_verifies_and_flips_are_wrong(
        level in 1u32..=6,
        seed in any::<u64>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let t = abduction_task(level, seed);
        let g = AbductionGenerator::default();
        let v = g.verifier();
        prop_assert!(v.verify(&t, &wrap(&t.answer)).is_correct());
        prop_assert_eq!(g.solve(&t).unwrap().answer, t.answer.clone());
        let lines: Vec<String> = t.answer.lines().map(str::to_string).collect();
        let i = flip.index(lines.len());
        let mut corrupted = lines.clone();
        corrupted[i] = if lines[i].ends_with(" is unreachable") {
            lines[i].replace(" is unreachable", " is reachable")
        } else {
            lines[i].replace(" is reachable", " is unreachable")
        };
        // Labels are exact, so any flipped label is wrong.
        prop_assert_eq!(v.verify(&t, &wrap(&corrupted.join("\n"))).outcome, Outcome::Wrong);
        // And the puzzle text reads back to the same puzzle text.
        let p = abduction::parse_puzzle_text(&t.puzzle).unwrap();
        prop_assert_eq!(p.text(), t.puzzle.clone());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verifiers_never_panic(s in any::<String>(), level in 1u32..=3) {
        let d = deduction_task(level, 1);
        let a = abduction_task(level, 1);
        let dv = DeductionGenerator::default().verifier();
        let av = AbductionGenerator::default().verifier();
        for text in [s.clone(), wrap(&s), format!("<think>{s}</think><answer>{s}")] {
            let _ = dv.verify(&d, &text);
            let _ = av.verify(&a, &text);
        }
    }

    #[test]
    fn answer_like_text_never_panics(
        lines in proptest::collection::vec("(\\([0-9]{1,2}\\) ?)?[A-Za-z]{1,3}[0-9]? +(is|IS|=|:) *(True|false|reachable|unreachable|not reachable|x)?[.,;]?", 0..16),
    ) {
        let text = lines.join("\n");
        let d = deduction_task(2, 3);
        let a = abduction_task(3, 3);
        let _ = DeductionGenerator::default().verifier().verify(&d, &wrap(&text));
        let _ = AbductionGenerator::default().verifier().verify(&a, &wrap(&text));
    }

    #[test]
    fn formula_parser_is_total_and_printing_is_stable(s in "[A-D¬∧∨→↔⊕()~&|^ <>=-]{0,40}") {
        if let Ok(f) = logic::parse(&s) {
            let printed = f.to_text();
            let again = logic::parse(&printed).unwrap();
            prop_assert_eq!(again.to_text(), printed);
            let _ = logic::classify(std::slice::from_ref(&f), (f.max_var() + 1) as usize);
        }
    }

    #[test]
    fn puzzle_text_parser_is_total(s in any::<String>(), t in "premises: \\[('\\(?[A-Z ()NOTANDOR]{0,12}\\)? => [A-Z]{1,2}',? ?){0,4}\\]\nknown_atoms: \\[('[A-Z]{1,2}',? ?){0,3}\\]\ngoals: \\[('[A-Z]{1,2}',? ?){0,3}\\]") {
        let _ = abduction::parse_puzzle_text(&s);
        if let Ok(p) = abduction::parse_puzzle_text(&t) {
            let _ = abduction::analyse(&p);
        }
    }
}
