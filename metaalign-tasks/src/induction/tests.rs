//! Unit and property tests of the induction task.

use super::*;
use metaalign_core::seed::item_rng;
use metaalign_core::{Ability, Level, Outcome, Task, TaskConfig, TaskGenerator};
use proptest::prelude::*;
use serde_json::Value;

fn gen() -> InductionGenerator {
    InductionGenerator::default()
}

fn wrap(answer: &str) -> String {
    format!("<think>reasoning</think><answer>{answer}</answer>")
}

#[test]
fn config_from_kind_alone_and_example_round_trip() {
    let cfg: Box<dyn TaskConfig> =
        metaalign_core::config::from_toml_str("kind = \"induction\"", "test").unwrap();
    let g = cfg.build().unwrap();
    assert_eq!(g.kind(), "induction");
    assert_eq!(g.levels().len(), 10);
    let example = "kind = \"induction\"\nmax_level = 10\nmax_abs_value = 1000000\nmask = \"paper\"\nrationale = true\nrationale_style = \"full\"\nmax_tries = 100000\n";
    let cfg: Box<dyn TaskConfig> = metaalign_core::config::from_toml_str(example, "ex").unwrap();
    cfg.build().unwrap();
    let bad: std::result::Result<Box<dyn TaskConfig>, _> =
        metaalign_core::config::from_toml_str("kind = \"induction\"\nmax_levle = 3", "bad");
    assert!(bad.is_err());
    assert!(InductionGenerator::new(InductionConfig {
        max_level: 0,
        ..Default::default()
    })
    .is_err());
}

#[test]
fn generated_tasks_are_well_posed_at_every_level() {
    let g = gen();
    for level in 1..=10u32 {
        for i in 0..200u64 {
            let mut rng = item_rng(11, "induction-test", u64::from(level) * 1000 + i);
            let t = g.generate(Level(level), i, &mut rng).unwrap();
            assert_eq!(t.kind, "induction");
            let seq = task_sequence(&t).unwrap();
            let from_text = parse_puzzle(&t.puzzle).unwrap();
            assert_eq!(seq, from_text, "{}", t.puzzle);
            let answer = reference_answer(&t).unwrap();
            let rule: Rule = serde_json::from_value(t.ground_truth["rule"].clone()).unwrap();
            let complete: Vec<i64> =
                serde_json::from_value(t.ground_truth["complete_sequence"].clone()).unwrap();
            assert_eq!(rule.terms(complete.len()).unwrap(), complete);
            assert_eq!(complete[seq.mask], answer);
            let masked = Masked::new(&complete, seq.mask).unwrap();
            assert!(masked.is_unique(rule.complexity().size, answer));
            // The solver finds the answer without being told it, and it is
            // the only completion of the simplest size.
            let solved = solve_masked(&masked, None, None, None).unwrap();
            assert_eq!(solved.value, answer, "{} rule {:?}", t.puzzle, rule);
            assert_eq!(solved.simplest.len(), 1);
            assert!(solved.class.size <= rule.complexity().size);
            assert!(t
                .rationale
                .as_deref()
                .unwrap()
                .contains(&answer.to_string()));
            assert!(complete.iter().all(|v| v.abs() <= 1_000_000));
        }
    }
}

#[test]
fn every_mask_mode_gives_solvable_unique_puzzles() {
    for mask in [MaskPosition::End, MaskPosition::Anywhere] {
        let g = InductionGenerator::new(InductionConfig {
            mask,
            ..Default::default()
        })
        .unwrap();
        let mut first = 0;
        for level in 1..=7u32 {
            for i in 0..100u64 {
                let t = g
                    .generate(
                        Level(level),
                        i,
                        &mut item_rng(2, "masks", u64::from(level) * 1000 + i),
                    )
                    .unwrap();
                let seq = task_sequence(&t).unwrap();
                if mask == MaskPosition::End {
                    assert_eq!(seq.mask + 1, seq.terms.len());
                }
                first += usize::from(seq.mask == 0);
                let solved = g.solve(&t).unwrap();
                assert_eq!(solved.answer, t.answer, "{}", t.puzzle);
                let masked = Masked::new(&seq.terms, seq.mask).unwrap();
                let own = solve_masked(&masked, None, None, None).unwrap();
                assert_eq!(own.value.to_string(), t.answer, "{}", t.puzzle);
            }
        }
        if mask == MaskPosition::Anywhere {
            assert!(first > 0, "the first term is sometimes masked");
        }
    }
}

#[test]
fn levels_follow_the_paper_shapes() {
    let g = gen();
    let mut rng = item_rng(3, "shapes", 0);
    for level in 1..=5u32 {
        let mut families = std::collections::BTreeMap::new();
        let mut lens = std::collections::BTreeSet::new();
        let mut inside = 0;
        for _ in 0..500 {
            let (terms, mask, rule) = g.draw_puzzle(level, &mut rng).unwrap();
            *families.entry(rule.complexity()).or_insert(0) += 1;
            lens.insert(terms.len());
            if mask + 1 != terms.len() {
                inside += 1;
            }
        }
        let max_period = families.keys().map(|c| c.period()).max().unwrap();
        match level {
            1 => {
                assert_eq!(lens, (5..=8).collect());
                assert_eq!(inside, 0);
                assert_eq!(max_period, 2);
            }
            2 => {
                assert_eq!(lens, (6..=9).collect());
                assert!(inside > 100 && inside < 300, "{inside}");
                assert_eq!(max_period, 2);
            }
            _ => {
                assert_eq!(lens, (7..=11).collect());
                assert_eq!(inside, 0);
                assert_eq!(max_period, level as usize);
            }
        }
    }
}

#[test]
fn generation_is_deterministic() {
    let g = gen();
    let a = g.generate(Level(4), 9, &mut item_rng(5, "x", 9)).unwrap();
    let b = g.generate(Level(4), 9, &mut item_rng(5, "x", 9)).unwrap();
    assert_eq!(a, b);
    assert!(g.generate(Level(11), 0, &mut item_rng(5, "x", 0)).is_err());
    assert!(g.generate(Level(0), 0, &mut item_rng(5, "x", 0)).is_err());
}

#[test]
fn verifier_outcomes() {
    let g = gen();
    let t = g.generate(Level(3), 0, &mut item_rng(1, "v", 0)).unwrap();
    let v = g.verifier();
    let ans = t.answer.clone();
    assert!(v.verify(&t, &wrap(&ans)).is_correct());
    // Continuation without the opening <think> (the prompt supplies it).
    let cont = format!("reasoning</think><answer>{ans}</answer>");
    let verdict = v.verify(&t, &cont);
    assert!(verdict.format_ok && verdict.is_correct());
    assert!(v.verify(&t, &wrap(&format!("? = {ans}"))).is_correct());
    let wrong = (reference_answer(&t).unwrap() + 1).to_string();
    assert_eq!(v.verify(&t, &wrap(&wrong)).outcome, Outcome::Wrong);
    assert_eq!(v.verify(&t, &wrap("seven")).outcome, Outcome::Unparseable);
    assert_eq!(v.verify(&t, "no tags").outcome, Outcome::Unparseable);
    let bad_format = v.verify(&t, &format!("<answer>{ans}</answer>"));
    assert!(!bad_format.format_ok);
    assert!(bad_format.is_correct());
}

#[test]
fn solver_answers_paper_style_puzzles() {
    let g = gen();
    let cases: &[(&str, i64)] = &[
        (
            "Given the following sequence,\n['1', '-1', '2', '0', '?']\nWhat?",
            3,
        ),
        ("['3', '9', '27', '81', '243', '?']", 729),
        ("['4', '3', '4', '3', '?']", 4),
        ("[1, '?', 9, 13, 17, 21, 25]", 5),
        ("['5', '2', '6', '3', '9', '4', '?']", 12),
        ("['2', '1', '4', '1', '4', '1', '4', '1', '?']", 4),
        ("['4', '2', '6', '3', '9', '4', '12', '?']", 6),
        (
            "['3', '4', '16', '48', '49', '196', '588', '589', '?']",
            2356,
        ),
        ("['2', '8', '10', '13', '10', '40', '42', '?']", 45),
    ];
    for (text, expected) in cases {
        let task = Task {
            id: "t".into(),
            kind: KIND.into(),
            ability: Ability::Induction,
            level: Level(1),
            puzzle: text.to_string(),
            prompt: vec![],
            templated: false,
            answer: String::new(),
            ground_truth: Value::Null,
            rationale: None,
        };
        let s = g.solve(&task).unwrap();
        assert_eq!(s.answer, expected.to_string(), "{text}: {:?}", s.rationale);
    }
}

#[test]
fn puzzle_text_layout() {
    assert_eq!(
        puzzle_text(&[Some(1), Some(2), None]),
        "Given the following sequence,\n['1', '2', '?']\nWhat is the value at the question mark?"
    );
    assert!(puzzle_text(&[Some(1), None, Some(3)])
        .starts_with("Given the following sequence with a missing term,"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn own_answer_verifies_and_others_do_not(seed in any::<u64>(), level in 1u32..=8, delta in 1i64..1000, neg in any::<bool>()) {
        let g = gen();
        let t = g.generate(Level(level), 0, &mut item_rng(seed, "prop", 0)).unwrap();
        let v = g.verifier();
        prop_assert!(v.verify(&t, &wrap(&t.answer)).is_correct());
        let answer = reference_answer(&t).unwrap();
        let other = if neg { answer - delta } else { answer + delta };
        // A different integer is never a completion under the declared
        // families up to the generating rule's complexity (uniqueness) ...
        let seq = task_sequence(&t).unwrap();
        let rule: Rule = serde_json::from_value(t.ground_truth["rule"].clone()).unwrap();
        let masked = Masked::new(&seq.terms, seq.mask).unwrap();
        let mut buf = Vec::new();
        for c in Complexity::up_to(Complexity::new(rule.complexity().size, Family::ShiftedPeriodic)) {
            if masked.completions(c, &mut buf) == Status::Determined {
                prop_assert!(!buf.contains(&other));
            }
        }
        // ... so it verifies as wrong.
        prop_assert_eq!(v.verify(&t, &wrap(&other.to_string())).outcome, Outcome::Wrong);
    }

    #[test]
    fn verifier_never_panics(s in ".*", inner in ".*") {
        let g = gen();
        let t = g.generate(Level(2), 0, &mut item_rng(1, "p", 0)).unwrap();
        let v = g.verifier();
        let _ = v.verify(&t, &s);
        let _ = v.verify(&t, &wrap(&inner));
        let _ = parse_answer(&s);
        let _ = parse_puzzle(&s);
    }

    #[test]
    fn analysis_never_panics(terms in proptest::collection::vec(any::<i64>(), 3..12), mask in 0usize..12) {
        if let Some(m) = Masked::new(&terms, mask % terms.len()) {
            let _ = m.all_determined();
            if let Some(vals) = m.simplest() {
                let _ = m.explain(vals[0].1, vals[0].0);
            }
        }
    }

    #[test]
    fn small_values_analysis_is_sound(terms in proptest::collection::vec(-20i64..20, 4..10), mask in 0usize..10) {
        // Every value the analysis reports, put back at the mask, is
        // reproduced by the explaining rule.
        let mask = mask % terms.len();
        let m = Masked::new(&terms, mask).unwrap();
        for (c, vals) in m.all_determined() {
            for v in vals {
                let rule = m.explain(c, v);
                prop_assert!(rule.is_some(), "class {} value {} on {:?} mask {}", c, v, terms, mask);
            }
        }
    }
}

fn step_generator(mask: MaskPosition) -> InductionGenerator {
    InductionGenerator::new(InductionConfig {
        mask,
        rationale_style: RationaleStyle::Step,
        ..Default::default()
    })
    .unwrap()
}

/// Reads a `step` rationale back and checks it is a true statement about
/// the task: `a op c = v` with `v` the answer and `a` the term before the
/// mask, `? op c = n, so ? = v` with `n` a term after it, or
/// `period p: v` with a visible term `p` places away equal to `v`.
fn check_worked_step(t: &Task) {
    let seq = task_sequence(t).unwrap();
    let answer = reference_answer(t).unwrap();
    let text = t.rationale.as_deref().unwrap();
    let op_of = |sym: &str, c: i64| match sym {
        "+" => Op::Add(c),
        "-" => Op::Add(-c),
        "×" => Op::Mul(c),
        "÷" => Op::Div(c),
        other => panic!("unknown operation {other:?} in {text:?}"),
    };
    if let Some(rest) = text.strip_prefix("period ") {
        let (p, v) = rest.split_once(": ").unwrap();
        let (p, v): (usize, i64) = (p.parse().unwrap(), v.parse().unwrap());
        assert_eq!(v, answer, "{text}");
        let m = seq.mask;
        let neighbours = [m.checked_sub(p), Some(m + p)];
        assert!(
            neighbours
                .iter()
                .flatten()
                .filter_map(|&i| seq.terms.get(i))
                .any(|&x| x == v),
            "{text} for {}",
            t.puzzle
        );
    } else if let Some(rest) = text.strip_prefix("? ") {
        let (lhs, v) = rest.split_once(", so ? = ").unwrap();
        let (op, n) = lhs.split_once(" = ").unwrap();
        let (sym, c) = op.split_once(' ').unwrap();
        let (v, n): (i64, i64) = (v.parse().unwrap(), n.parse().unwrap());
        assert_eq!(v, answer, "{text}");
        // The next term (of the same sequence, for interleaved rules).
        assert!(seq.terms[seq.mask + 1..].contains(&n), "{text}");
        assert_eq!(op_of(sym, c.parse().unwrap()).apply(v), Some(n), "{text}");
    } else {
        let parts: Vec<&str> = text.split(' ').collect();
        assert_eq!(parts.len(), 5, "{text}");
        assert_eq!(parts[3], "=", "{text}");
        let (a, c, v): (i64, i64, i64) = (
            parts[0].parse().unwrap(),
            parts[2].parse().unwrap(),
            parts[4].parse().unwrap(),
        );
        assert_eq!(v, answer, "{text}");
        assert_eq!(op_of(parts[1], c).apply(a), Some(v), "{text}");
        assert!(seq.terms.contains(&a), "{text} for {}", t.puzzle);
    }
}

#[test]
fn step_rationales_are_true_equations_at_every_level_and_mask() {
    for mask in [MaskPosition::Paper, MaskPosition::Anywhere] {
        let g = step_generator(mask);
        for level in 1..=6u32 {
            for i in 0..150u64 {
                let mut rng = item_rng(5, "step-rationale", u64::from(level) * 1000 + i);
                check_worked_step(&g.generate(Level(level), i, &mut rng).unwrap());
            }
        }
    }
}

#[test]
fn step_rationales_of_known_sequences() {
    let g = step_generator(MaskPosition::Paper);
    let rationale = |terms: &[i64], mask: usize| {
        let t = g
            .task_from_sequence("t".into(), 1, terms, mask, None)
            .unwrap();
        check_worked_step(&t);
        t.rationale.unwrap()
    };
    assert_eq!(rationale(&[3, 9, 27, 81, 243], 4), "81 × 3 = 243");
    assert_eq!(rationale(&[9, 7, 5, 3, 1], 4), "3 - 2 = 1");
    assert_eq!(rationale(&[4, 3, 4, 3, 4], 4), "period 2: 4");
    assert_eq!(rationale(&[5, 7, 9, 11, 13], 0), "? + 2 = 7, so ? = 5");
    assert_eq!(rationale(&[1, 10, 2, 20, 3, 30, 4], 5), "20 + 10 = 30");
    // Turned off, no style adds one.
    let off = InductionGenerator::new(InductionConfig {
        rationale: false,
        rationale_style: RationaleStyle::Step,
        ..Default::default()
    })
    .unwrap();
    let t = off
        .task_from_sequence("t".into(), 1, &[1, 2, 3, 4], 3, None)
        .unwrap();
    assert_eq!(t.rationale, None);
    // The style is read from TOML.
    let cfg: Box<dyn TaskConfig> = metaalign_core::config::from_toml_str(
        "kind = \"induction\"\nrationale_style = \"step\"",
        "test",
    )
    .unwrap();
    let t = cfg
        .build()
        .unwrap()
        .generate(Level(1), 0, &mut item_rng(1, "toml", 0))
        .unwrap();
    check_worked_step(&t);
}
