//! The verifier end to end: the shipped GPQA sample and its responses, the
//! format check, and short reward labels.

use std::collections::HashMap;
use std::path::Path;

use metaalign_core::{Outcome, TaskGenerator, Verifier};
use metaalign_domain_choice::generator::load_file;
use metaalign_domain_choice::ChoiceVerifier;
use metaalign_tasks::dataset::task_from_label;

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Correct => "correct",
        Outcome::Wrong => "wrong",
        Outcome::Unparseable => "unparseable",
    }
}

#[test]
fn shipped_responses_score_as_labelled() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data");
    // The responses' letters refer to the options shown at run seed 0.
    let tasks = load_file(&dir.join("gpqa-sample.jsonl"), 0).unwrap();
    let by_id: HashMap<&str, _> = tasks
        .fixed_tasks()
        .unwrap()
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect();
    let verifier = tasks.verifier();
    let text = std::fs::read_to_string(dir.join("responses/gpqa-sample.jsonl")).unwrap();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let task = by_id[rec["id"].as_str().unwrap()];
        let response = rec["response"].as_str().unwrap();
        let v = verifier.verify(task, response);
        let got = outcome_name(v.outcome);
        assert_eq!(got, rec["expected"], "{response}\n{v:?}");
        if v.outcome != Outcome::Unparseable {
            assert_eq!(v.parsed.as_deref().map(str::len), Some(1));
        }
        *counts.entry(got).or_default() += 1;
        // Only the tagged responses pass the format check.
        assert_eq!(v.format_ok, response.contains("</answer>"), "{response}");
    }
    assert_eq!(counts.values().sum::<usize>(), 20);
    assert!(counts["correct"] >= 10 && counts["wrong"] >= 3 && counts["unparseable"] >= 1);
}

#[test]
fn every_gold_letter_reads_back() {
    let tasks =
        metaalign_core::TaskConfig::build(&metaalign_domain_choice::ChoiceConfig::default())
            .unwrap();
    let v = ChoiceVerifier;
    for t in tasks.fixed_tasks().unwrap() {
        let gold = tasks.solve(t).unwrap().answer;
        let r = format!("reasoning</think>\n<answer>{gold}</answer>");
        let verdict = v.verify(t, &r);
        assert!(verdict.is_correct() && verdict.format_ok, "{verdict:?}");
        let text = t.ground_truth["correct_text"].as_str().unwrap();
        let by_text = v.verify(t, &format!("</think><answer>{text}</answer>"));
        assert!(by_text.is_correct(), "{by_text:?}");
    }
}

#[test]
fn short_labels_with_letters_or_indices() {
    let v = ChoiceVerifier;
    let t = task_from_label(r#"{"kind":"choice","answer":"B"}"#).unwrap();
    let ok = v.verify(&t, "<think>x</think><answer>B</answer>");
    assert!(ok.is_correct() && ok.format_ok, "{ok:?}");
    let wrong = v.verify(&t, "<think>x</think><answer>D</answer>");
    assert_eq!(wrong.outcome, Outcome::Wrong);
    assert_eq!(wrong.parsed.as_deref(), Some("D"));
    let two = v.verify(&t, "ANSWER: B or C");
    assert_eq!(two.outcome, Outcome::Unparseable);
    assert!(!two.format_ok);
    assert!(two.details.contains("several options"), "{}", two.details);

    let t = task_from_label(r#"{"kind":"choice","answer":2,"choices":["a","b","c"]}"#).unwrap();
    assert!(v.verify(&t, "ANSWER: C").is_correct());
    assert!(v.verify(&t, "the answer is c").is_correct());
    assert_eq!(v.verify(&t, "ANSWER: D").outcome, Outcome::Unparseable);

    let bad = task_from_label(r#"{"kind":"choice","answer":"maybe"}"#).unwrap();
    let verdict = v.verify(&bad, "ANSWER: A");
    assert_eq!(verdict.outcome, Outcome::Unparseable);
    assert!(
        verdict.details.contains("gold answer"),
        "{}",
        verdict.details
    );
}
