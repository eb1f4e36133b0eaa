//! Tests of the dataset readers and writers on small real inputs.

use std::path::{Path, PathBuf};

use metaalign_core::{Ability, ChatMessage, Level, Task};
use serde_json::json;

use super::*;

fn paper_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/paper-data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

fn task(kind: &str, ability: Ability, i: usize, answer: &str, gt: serde_json::Value) -> Task {
    Task {
        id: format!("{kind}-L2-{i:04}"),
        kind: kind.into(),
        ability,
        level: Level(2),
        puzzle: format!("puzzle {i} — ¬(A ∧ B)"),
        prompt: vec![
            ChatMessage::new("system", "Think, then answer."),
            ChatMessage::new("user", format!("puzzle {i}")),
        ],
        templated: false,
        answer: answer.into(),
        ground_truth: gt,
        rationale: (i % 2 == 0).then(|| "because".to_string()),
    }
}

#[test]
fn jsonl_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.jsonl");
    let tasks: Vec<Task> = (0..5)
        .map(|i| {
            task(
                "abduction",
                Ability::Abduction,
                i,
                "(1) A is reachable",
                json!({"g": i}),
            )
        })
        .collect();
    write_tasks(&p, &tasks, "train").unwrap();
    assert_eq!(read_tasks(&p).unwrap(), tasks);
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text.lines().count(), 5);
    // A bad line is reported with its number.
    std::fs::write(
        &p,
        format!("{}\n{{\"id\": 3}}\n", text.lines().next().unwrap()),
    )
    .unwrap();
    let err = read_tasks(&p).unwrap_err().to_string();
    assert!(err.contains(":2:"), "{err}");
}

#[test]
fn verl_parquet_round_trip_keeps_records_and_paper_types() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, ability, answer, gt) in [
        (
            "deduction",
            Ability::Deduction,
            "(1) A is True",
            json!({"formulas": ["¬(A)", "(A ∨ B)"]}),
        ),
        (
            "induction",
            Ability::Induction,
            "-12",
            json!({"complete_sequence": [1, 2, 3]}),
        ),
        (
            "abduction",
            Ability::Abduction,
            "(1) G is unreachable",
            json!({"premises": []}),
        ),
    ] {
        let p = dir.path().join(format!("{kind}.parquet"));
        let tasks: Vec<Task> = (0..7)
            .map(|i| task(kind, ability.clone(), i, answer, gt.clone()))
            .collect();
        write_tasks(&p, &tasks, "test").unwrap();
        assert_eq!(read_tasks(&p).unwrap(), tasks, "{kind}");
        let rows = parquet::read_rows(&p).unwrap();
        assert_eq!(rows[3]["extra_info"]["index"], json!(3));
        assert_eq!(rows[3]["extra_info"]["split"], json!("test"));
        assert_eq!(rows[3]["reward_model"]["style"], json!("rule"));
        assert_eq!(
            rows[3]["reward_model"]["ground_truth"]["solution_text_format"],
            json!(answer)
        );
        assert_eq!(rows[3]["prompt"][1]["role"], json!("user"));
        // Same column names, in the same order, as the paper's file of the ability.
        if let Some(paper) = paper_dir() {
            let theirs =
                parquet::column_names(&paper.join(ability.folder_name()).join("1/train.parquet"))
                    .unwrap();
            let ours = parquet::column_names(&p).unwrap();
            assert_eq!(&ours[..ours.len() - 1], &theirs[..], "{kind}");
            assert_eq!(ours.last().map(String::as_str), Some(LABEL_COLUMN));
        }
    }
    let induction = parquet::read_rows(&dir.path().join("induction.parquet")).unwrap();
    assert_eq!(induction[0]["solution_text"], json!(-12));
    assert_eq!(induction[0]["complete_sequence"], json!([1, 2, 3]));
    let deduction = parquet::read_rows(&dir.path().join("deduction.parquet")).unwrap();
    assert_eq!(deduction[0]["puzzle_spec"]["formulas"][1], json!("(A ∨ B)"));
}

#[test]
fn mixed_abilities_in_one_parquet_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.parquet");
    let tasks = vec![
        task(
            "deduction",
            Ability::Deduction,
            0,
            "(1) A is True",
            json!({}),
        ),
        task(
            "abduction",
            Ability::Abduction,
            1,
            "(1) A is reachable",
            json!({}),
        ),
    ];
    let err = write_tasks(&p, &tasks, "train").unwrap_err().to_string();
    assert!(err.contains("one ability"), "{err}");
}

#[test]
fn unknown_extension_is_a_clear_error() {
    let err = read_tasks(Path::new("data.csv")).unwrap_err().to_string();
    assert!(err.contains(".jsonl or .parquet"), "{err}");
}

#[test]
fn paper_records_have_every_field() {
    let Some(dir) = paper_dir() else { return };
    let d = read_paper_records(&dir.join("Deduction/3/test.parquet")).unwrap();
    assert_eq!(d.len(), 100);
    let r = &d[7];
    assert_eq!(r.level, 3);
    assert_eq!(r.row, 7);
    assert_eq!(r.data_source, "logic_assignment");
    assert_eq!(r.ability, "logic");
    assert_eq!(r.split("x"), "test");
    assert_eq!(r.index(), 7);
    assert!(r.prompt[0]
        .content
        .ends_with("<|im_start|>assistant\n<think>"));
    assert!(r
        .puzzle_text
        .as_deref()
        .unwrap()
        .contains("nested formulas"));
    assert_eq!(r.solution_text_format(), r.solution_text.as_deref());
    assert!(r.extra["puzzle_spec"]["formulas"].as_array().unwrap().len() >= 3);
    assert_eq!(
        r.detect_ability(Some("Deduction")),
        Some(Ability::Deduction)
    );
    assert_eq!(r.detect_ability(None), Some(Ability::Deduction));

    let i = read_paper_records(&dir.join("Induction/5/train.parquet")).unwrap();
    assert_eq!(i.len(), 900);
    let r = &i[0];
    assert_eq!(r.level, 5);
    // Induction stores its answer as an integer; we keep it as text.
    assert_eq!(r.solution_text_format(), r.solution_text.as_deref());
    assert!(r.extra["complete_sequence"].is_array());
    assert_eq!(r.extra["difficulty"], json!(5));
    assert_eq!(r.detect_ability(None), Some(Ability::Induction));

    let a = read_paper_records(&dir.join("Abduction/2/train.parquet")).unwrap();
    assert_eq!(a.len(), 1800);
    assert_eq!(a[0].detect_ability(None), Some(Ability::Abduction));
    assert!(a[0].solution_text.as_deref().unwrap().contains("reachable"));
}
