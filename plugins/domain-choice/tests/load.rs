//! Reading multiple-choice files: both layouts, both shipped samples, the
//! seeded shuffle, and every malformed row named by file and line.

use std::path::{Path, PathBuf};

use metaalign_core::{TaskConfig, TaskContext, TaskGenerator};
use metaalign_domain_choice::generator::{load_file, ChoiceTasks};
use metaalign_domain_choice::layout::shuffled_order;
use metaalign_domain_choice::{ChoiceConfig, Layout};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
}

fn at_seed(config: &ChoiceConfig, seed: u64) -> ChoiceTasks {
    ChoiceTasks::load(
        config,
        &TaskContext {
            seed,
            ..TaskContext::default()
        },
    )
    .unwrap()
}

#[test]
fn gpqa_sample_loads_with_the_correct_text_under_its_letter() {
    let tasks = load_file(&data("gpqa-sample.jsonl"), 0).unwrap();
    let list = tasks.fixed_tasks().unwrap();
    assert_eq!(list.len(), 20);
    let first = &list[0];
    assert_eq!(first.id, "recSYN77809809396");
    assert_eq!(first.kind, "choice");
    let choices = first.ground_truth["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 4);
    let gold = first.answer.as_bytes()[0] - b'A';
    assert_eq!(first.ground_truth["answer"], first.answer.as_str());
    assert_eq!(choices[gold as usize], first.ground_truth["correct_text"]);
    assert_eq!(first.ground_truth["correct_text"], "144 J");
    let user = &first.prompt[1].content;
    assert!(user.starts_with("An object of mass 18 kg"), "{user}");
    for (i, c) in choices.iter().enumerate() {
        let line = format!("({}) {}", (b'A' + i as u8) as char, c.as_str().unwrap());
        assert!(user.contains(&line), "{user}");
    }
    assert!(first.prompt[0].content.contains("<answer>"));
    assert!(first.rationale.as_deref().unwrap().contains("KE ="));
    // Not always (A): the shuffle spreads the gold letters.
    let letters: std::collections::BTreeSet<&str> =
        list.iter().map(|t| t.answer.as_str()).collect();
    assert!(letters.len() >= 3, "{letters:?}");
    // solve() gives the gold letter.
    assert_eq!(tasks.solve(first).unwrap().answer, first.answer);
}

#[test]
fn default_source_is_the_shipped_gpqa_sample() {
    let built = ChoiceConfig::default().build().unwrap();
    let from_file = load_file(&data("gpqa-sample.jsonl"), 0).unwrap();
    assert_eq!(
        built.fixed_tasks().unwrap(),
        from_file.fixed_tasks().unwrap()
    );
    let limited = ChoiceConfig {
        limit: Some(5),
        rationale: false,
        ..ChoiceConfig::default()
    }
    .build()
    .unwrap();
    let list = limited.fixed_tasks().unwrap();
    assert_eq!(list.len(), 5);
    assert!(list[0].rationale.is_none());
}

#[test]
fn explicit_choices_keep_file_order_with_letters_or_indices() {
    let path = data("choice-sample.jsonl");
    let a = load_file(&path, 0).unwrap();
    let b = load_file(&path, 99).unwrap();
    assert_eq!(a.fixed_tasks().unwrap(), b.fixed_tasks().unwrap());
    let list = a.fixed_tasks().unwrap();
    assert_eq!(list.len(), 10);
    let answers: Vec<&str> = list.iter().map(|t| t.answer.as_str()).collect();
    // Rows 3, 6 and 9 give the answer as a 0-based index.
    assert_eq!(answers, ["B", "B", "B", "D", "D", "A", "C", "D", "D", "D"]);
    let t = &list[2];
    assert_eq!(t.id, "choice-03");
    assert_eq!(
        t.ground_truth["choices"],
        serde_json::json!(["Venus", "Mercury", "Mars", "Earth"])
    );
    assert_eq!(t.ground_truth["correct_text"], "Mercury");
}

#[test]
fn shuffle_is_seeded_and_can_be_off() {
    let config = ChoiceConfig::default();
    let orders = |seed| -> Vec<serde_json::Value> {
        at_seed(&config, seed)
            .fixed_tasks()
            .unwrap()
            .iter()
            .map(|t| t.ground_truth["choices"].clone())
            .collect()
    };
    assert_eq!(orders(7), orders(7));
    let (zero, seven) = (orders(0), orders(7));
    let differing = zero.iter().zip(&seven).filter(|(a, b)| a != b).count();
    assert!(differing >= 5, "only {differing} of 20 orders differ");

    assert_eq!(shuffled_order(3, "q", 4), shuffled_order(3, "q", 4));
    let distinct: std::collections::BTreeSet<Vec<usize>> =
        (0..50).map(|s| shuffled_order(s, "q", 4)).collect();
    assert!(distinct.len() > 10, "{distinct:?}");

    let fixed = at_seed(
        &ChoiceConfig {
            shuffle: false,
            ..ChoiceConfig::default()
        },
        7,
    );
    for t in fixed.fixed_tasks().unwrap() {
        assert_eq!(t.answer, "A");
    }
}

#[test]
fn field_overrides_and_json_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.json");
    std::fs::write(
        &path,
        r#"[{"key": "k1", "prompt": "Pick two.", "opts": ["1", 2, "3"], "gold": 1},
            {"key": "k2", "prompt": "Pick x.", "opts": ["x", "y"], "gold": "(a)"}]"#,
    )
    .unwrap();
    let config = ChoiceConfig {
        path: Some(path),
        layout: Layout::Choices,
        question_field: Some("prompt".into()),
        choices_field: Some("opts".into()),
        answer_field: Some("gold".into()),
        id_field: Some("key".into()),
        ..ChoiceConfig::default()
    };
    let tasks = at_seed(&config, 0);
    let list = tasks.fixed_tasks().unwrap();
    assert_eq!(list[0].id, "k1");
    assert_eq!(list[0].answer, "B");
    assert_eq!(list[0].ground_truth["correct_text"], "2");
    assert_eq!(list[1].answer, "A");

    // GPQA columns under other names; no id column: a stable id from the question.
    let gpqa = dir.path().join("g.jsonl");
    std::fs::write(
        &gpqa,
        "{\"q\": \"Which?\", \"right\": \"r\", \"w1\": \"x\", \"w2\": \"y\"}\n",
    )
    .unwrap();
    let config = ChoiceConfig {
        path: Some(gpqa),
        question_field: Some("q".into()),
        correct_field: Some("right".into()),
        incorrect_fields: Some(vec!["w1".into(), "w2".into()]),
        ..ChoiceConfig::default()
    };
    let a = at_seed(&config, 1);
    let t = &a.fixed_tasks().unwrap()[0];
    assert!(t.id.starts_with("choice-"), "{}", t.id);
    assert_eq!(t.ground_truth["choices"].as_array().unwrap().len(), 3);
    assert_eq!(t.ground_truth["correct_text"], "r");
}

/// Writes `lines` as a JSONL file and loads it with `config`'s settings,
/// returning the error.
fn load_error(lines: &[&str], config: ChoiceConfig) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let config = ChoiceConfig {
        path: Some(path),
        ..config
    };
    match ChoiceTasks::load(&config, &TaskContext::default()) {
        Ok(_) => panic!("{lines:?} loaded"),
        Err(e) => e.to_string(),
    }
}

fn explicit() -> ChoiceConfig {
    ChoiceConfig {
        layout: Layout::Choices,
        ..ChoiceConfig::default()
    }
}

const GOOD: &str = r#"{"id": "a", "question": "Q?", "choices": ["x", "y", "z"], "answer": "B"}"#;

#[test]
fn malformed_rows_name_the_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"id": "b", "choices": ["x", "y"], "answer": "A"}"#,
            "missing field `question` or `problem`",
        ),
        (
            r#"{"id": "b", "question": "Q?", "answer": "A"}"#,
            "missing field `choices` or `options`",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y"]}"#,
            "missing field `answer`",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y"], "answer": " "}"#,
            "`answer` is empty",
        ),
        (
            r#"{"id": "b", "question": "", "choices": ["x", "y"], "answer": "A"}"#,
            "`question` is empty",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y", "z"], "answer": "D"}"#,
            "out of range: 3 options, A to C",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y"], "answer": 2}"#,
            "not an option index (0 to 1)",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y"], "answer": -1}"#,
            "not an option index",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y"], "answer": "1"}"#,
            "is not a letter A to B",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y"], "answer": "AB"}"#,
            "is not a letter",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x"], "answer": "A"}"#,
            "at least 2 options, found 1",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": [], "answer": "A"}"#,
            "at least 2 options, found 0",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", "y", "x "], "answer": "A"}"#,
            "options (A) and (C) are the same: `x`",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": ["x", ""], "answer": "A"}"#,
            "option 2 should be non-empty text",
        ),
        (
            r#"{"id": "b", "question": "Q?", "choices": "x, y", "answer": "A"}"#,
            "should be a list of options",
        ),
        (
            r#"{"id": "a", "question": "Q2?", "choices": ["x", "y"], "answer": "A"}"#,
            "bad.jsonl:2: duplicate id `a` (first at",
        ),
    ];
    for (line, expected) in cases {
        let e = load_error(&[GOOD, line], explicit());
        assert!(e.contains(expected), "{line}: {e}");
        assert!(e.contains("bad.jsonl:2"), "{line}: {e}");
    }
    // Rows without ids get one from the question: the same question twice
    // is a duplicate.
    let no_id = r#"{"question": "Q?", "choices": ["x", "y"], "answer": "A"}"#;
    let e = load_error(&[no_id, no_id], explicit());
    assert!(e.contains("bad.jsonl:2: duplicate id `choice-"), "{e}");
}

#[test]
fn malformed_gpqa_rows_name_the_file_and_line() {
    let row = |correct: &str, i3: Option<&str>| {
        let mut v = serde_json::json!({
            "Question": "Q?", "Correct Answer": correct, "Incorrect Answer 1": "w1",
            "Incorrect Answer 2": "w2", "Record ID": "rec2",
        });
        if let Some(i3) = i3 {
            v["Incorrect Answer 3"] = i3.into();
        }
        v.to_string()
    };
    let good = r#"{"Question": "P?", "Correct Answer": "c", "Incorrect Answer 1": "w1", "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3", "Record ID": "rec1"}"#;
    let gpqa = ChoiceConfig::default();
    let e = load_error(&[good, &row("c", None)], gpqa.clone());
    assert!(
        e.contains("bad.jsonl:2") && e.contains("missing field `Incorrect Answer 3`"),
        "{e}"
    );
    let e = load_error(&[good, &row("", Some("w3"))], gpqa.clone());
    assert!(
        e.contains("bad.jsonl:2") && e.contains("`Correct Answer` is empty"),
        "{e}"
    );
    let e = load_error(&[good, &row("w2", Some("w3"))], gpqa.clone());
    assert!(
        e.contains("bad.jsonl:2") && e.contains("are the same: `w2`"),
        "{e}"
    );
    let dup = good.replace("P?", "R?");
    let e = load_error(&[good, &dup], gpqa);
    assert!(
        e.contains("bad.jsonl:2: duplicate id `rec1` (first at"),
        "{e}"
    );
}

#[test]
fn config_errors() {
    let e = load_error(
        &[GOOD],
        ChoiceConfig {
            layout: Layout::Choices,
            incorrect_fields: Some(vec!["x".into()]),
            ..ChoiceConfig::default()
        },
    );
    assert!(
        e.contains("`incorrect_fields` does not apply to layout = \"choices\""),
        "{e}"
    );
    let e = load_error(
        &[GOOD],
        ChoiceConfig {
            layout: Layout::Gpqa,
            answer_field: Some("x".into()),
            ..ChoiceConfig::default()
        },
    );
    assert!(
        e.contains("`answer_field` does not apply to layout = \"gpqa\""),
        "{e}"
    );
    let e = ChoiceConfig {
        limit: Some(0),
        ..ChoiceConfig::default()
    }
    .build()
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("`limit` must be at least 1"), "{e}");
    let e = load_error(&[], explicit());
    assert!(e.contains("holds no tasks"), "{e}");
}

#[test]
fn registered_kind_reads_from_toml() {
    metaalign_core::registry::ensure(&metaalign_domain_choice::ChoicePlugin).unwrap();
    let source = metaalign_core::config::default_task_source("choice").unwrap();
    assert_eq!(source.kind(), "choice");
    let reg = metaalign_core::registry::find(metaalign_core::Slot::Task, "choice").unwrap();
    assert!(reg.example.contains("shuffle"));
    let config: Box<dyn TaskConfig> = metaalign_core::config::from_toml_str(
        "kind = \"choice\"\nlayout = \"gpqa\"\nlimit = 3\nshuffle = false\n",
        "t.toml",
    )
    .unwrap();
    assert!(config.is_fixed_set());
    let built = config.build().unwrap();
    assert_eq!(built.fixed_tasks().unwrap().len(), 3);
    let bad: Result<Box<dyn TaskConfig>, _> =
        metaalign_core::config::from_toml_str("kind = \"choice\"\nlayuot = \"gpqa\"\n", "t.toml");
    let e = bad.unwrap_err().to_string();
    assert!(e.contains("layuot"), "{e}");
    let bad: Result<Box<dyn TaskConfig>, _> =
        metaalign_core::config::from_toml_str("kind = \"choice\"\nlayout = \"csv\"\n", "t.toml");
    assert!(bad.is_err());
}
