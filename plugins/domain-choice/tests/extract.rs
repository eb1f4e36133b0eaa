//! The letter a response gives: a table of cases, the two-letter rule, and
//! totality on any text.

use metaalign_domain_choice::extract::{extract_choice, Rule};
use proptest::prelude::*;

fn options() -> Vec<String> {
    ["144 J", "288 J", "72.0 J", "the mitochondrion"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// `Some(letter)` or `None` (nothing credited).
fn read(response: &str) -> Option<char> {
    extract_choice(response, 4, &options())
        .ok()
        .map(|f| f.letter)
}

#[test]
fn extraction_table() {
    let cases: &[(&str, Option<char>)] = &[
        // 1. the <answer> block decides
        ("<think>x</think><answer>C</answer>", Some('C')),
        ("<think>x</think><answer> (B) </answer>", Some('B')),
        ("<think>x</think><answer>D)</answer>", Some('D')),
        ("<think>x</think><answer>\\boxed{A}</answer>", Some('A')),
        ("<think>x</think><answer>$\\text{(C)}$</answer>", Some('C')),
        ("<think>x</think><answer>**B**</answer>", Some('B')),
        ("<think>x</think><answer>Option C</answer>", Some('C')),
        ("<think>x</think><answer>b</answer>", Some('B')),
        ("<think>x</think><answer>288 J</answer>", Some('B')),
        (
            "<think>x</think><answer>The Mitochondrion.</answer>",
            Some('D'),
        ),
        ("<think>x</think><answer>(C) 72.0 J</answer>", Some('C')),
        (
            "<think>x</think><answer>I pick B because it fits</answer>",
            Some('B'),
        ),
        ("ANSWER: A <think>x</think><answer>C</answer>", Some('C')),
        ("<think>x</think><answer>E</answer>", None),
        (
            "<think>x</think><answer>unsure</answer> The answer is (B).",
            None,
        ),
        ("<think>x</think><answer>A, C</answer>", None),
        ("<think>x</think><answer>(A) and (C)</answer>", None),
        ("<think>x</think><answer>B or D</answer>", None),
        // 2. Answer: lines
        ("Some reasoning.\n\nANSWER: C", Some('C')),
        ("Some reasoning.\nAnswer: (D)", Some('D')),
        ("**Answer:** B", Some('B')),
        ("Answer: $\\boxed{A}$.", Some('A')),
        (
            "Answer: Let me think.\nThe energy is 144 J.\nAnswer: B",
            Some('B'),
        ),
        ("Answer: 72.0 J", Some('C')),
        ("Reasoning...\nANSWER: B or C", None),
        ("ANSWER: B, C", None),
        ("ANSWER: B and also C", None),
        ("Answer: A\nOn reflection the answer is (C).", None),
        ("Answer: B. A larger mass would give more.", Some('B')),
        ("ANSWER: F", None),
        // 3. statements
        ("So the answer is (B).", Some('B')),
        ("The correct answer is C", Some('C')),
        ("the best option is therefore (D).", Some('D')),
        ("The answer is 288 J.", Some('B')),
        (
            "The first option is too small, so the answer is A.",
            Some('A'),
        ),
        ("The answer is (A) or (C).", None),
        ("The answer is (B), not (C).", None),
        ("the correct answer is A or B", None),
        // 4. the last (X)
        ("Comparing, (B) fits best.", Some('B')),
        (
            "(A) is too small. (C) matches the computed value.",
            Some('C'),
        ),
        ("Both (A) and (C)", None),
        ("It must be (A) and (C).", None),
        // 5. the last standalone letter
        ("The value matches C", Some('C')),
        ("I think B.", Some('B')),
        ("A careful computation gives C", Some('C')),
        ("It is C or D", None),
        ("A larger mass would move slower.", None),
        ("The field B_0 = 3 T and C^2 grows", None),
        ("B-field lines", None),
        // 6. an option's text ending the last line
        ("After computing, the energy is 144 J", Some('A')),
        ("It is 144 J, not 288 J", None),
        ("It is 1144 J", None),
        // nothing
        ("", None),
        ("no letters here", None),
        ("<answer>", None),
        ("The answer is E.", None),
    ];
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for (response, expected) in cases {
        let got = extract_choice(response, 4, &options());
        if got.as_ref().ok().map(|f| f.letter) != *expected {
            failures.push(format!("{response:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rules_and_reasons_are_reported() {
    let found = extract_choice("<think>x</think><answer>B</answer>", 4, &[]).unwrap();
    assert_eq!(found.rule, Rule::AnswerBlock);
    assert_eq!(
        extract_choice("ANSWER: C", 4, &[]).unwrap().rule,
        Rule::AnswerLine
    );
    assert_eq!(
        extract_choice("the answer is (C)", 4, &[]).unwrap().rule,
        Rule::Statement
    );
    assert_eq!(
        extract_choice("so (C)", 4, &[]).unwrap().rule,
        Rule::LastParen
    );
    assert_eq!(
        extract_choice("so C", 4, &[]).unwrap().rule,
        Rule::LastLetter
    );
    assert_eq!(
        extract_choice("so 288 J", 4, &options()).unwrap().rule,
        Rule::OptionText
    );
    let e = extract_choice("ANSWER: B or C", 4, &[]).unwrap_err();
    assert!(e.contains("several options: B, C"), "{e}");
    let e = extract_choice("<answer>G</answer>", 4, &[]).unwrap_err();
    assert!(e.contains("only 4 (A to D)"), "{e}");
    // More options, more letters.
    assert_eq!(read("ANSWER: E"), None);
    assert_eq!(
        extract_choice("ANSWER: E", 5, &[]).map(|f| f.letter),
        Ok('E')
    );
    assert_eq!(extract_choice("so (C)", 2, &[]).ok(), None);
}

#[test]
fn long_adversarial_responses_stay_fast() {
    let started = std::time::Instant::now();
    let texts = [
        "the answer is maybe ".repeat(20_000),
        "Answer: hmm ".repeat(20_000),
        format!("{}ANSWER: C", "x ".repeat(200_000)),
        "(A".repeat(100_000),
        "<answer>".repeat(50_000),
        "A or B ".repeat(100_000),
        "option is option ".repeat(20_000),
    ];
    for t in &texts {
        let _ = extract_choice(t, 4, &options());
    }
    assert_eq!(read(&texts[2]), Some('C'));
    assert_eq!(read(&texts[5]), None);
    // Generous for a debug build on a loaded machine; quadratic would take minutes.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

fn letter() -> impl Strategy<Value = char> {
    (0u8..4).prop_map(|i| char::from(b'A' + i))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn total_on_any_text(text in any::<String>(), n in 0usize..40) {
        if let Ok(found) = extract_choice(&text, n, &options()) {
            prop_assert!(found.letter.is_ascii_uppercase());
            prop_assert!(((found.letter as u8 - b'A') as usize) < n.clamp(1, 26));
        }
    }

    #[test]
    fn total_on_answer_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<answer>".to_string()), Just("</answer>".to_string()),
                Just("Answer:".to_string()), Just("the answer is".to_string()),
                Just("(".to_string()), Just(")".to_string()), Just(" ".to_string()),
                Just(". ".to_string()), Just("\n".to_string()), Just("é".to_string()),
                Just("option".to_string()), Just("\\boxed{".to_string()),
                letter().prop_map(|c| c.to_string()), "[a-z]{1,4}",
            ],
            0..24,
        )
    ) {
        let text: String = parts.concat();
        let _ = extract_choice(&text, 4, &options());
    }

    #[test]
    fn two_letters_at_the_end_are_never_credited(
        prefix in "[a-z .,\n]{0,40}",
        a in letter(), b in letter(),
        form in 0usize..6,
    ) {
        prop_assume!(a != b);
        let text = match form {
            0 => format!("{prefix}\nANSWER: {a} or {b}"),
            1 => format!("{prefix}<think>x</think><answer>{a}, {b}</answer>"),
            2 => format!("{prefix} ({a}) and ({b})"),
            3 => format!("{prefix} the answer is {a} or {b}."),
            4 => format!("{prefix}\nAnswer: ({a}) / ({b})"),
            _ => format!("{prefix}\nAnswer: {a}\nso the correct answer is {b}"),
        };
        prop_assert!(extract_choice(&text, 4, &options()).is_err(), "{:?}", text);
    }
}
