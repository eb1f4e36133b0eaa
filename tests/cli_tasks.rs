//! End-to-end tests of `metaalign generate / solve / verify` with the built
//! binary, on real generated puzzles and on the paper's released data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_metaalign"))
}

fn run(args: &[&str]) -> Output {
    let out = bin()
        .args(args)
        .output()
        .expect("runs the metaalign binary");
    out
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "metaalign {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fail(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "metaalign {args:?} should fail");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn generate_solve_verify_round_trip_for_every_kind_level_and_format() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["deduction", "induction", "abduction"] {
        for level in ["1", "3", "5"] {
            for ext in ["jsonl", "parquet"] {
                let data = dir.path().join(format!("{kind}-{level}.{ext}"));
                let responses = dir
                    .path()
                    .join(format!("{kind}-{level}-{ext}.responses.jsonl"));
                let verdicts = dir
                    .path()
                    .join(format!("{kind}-{level}-{ext}.verdicts.jsonl"));
                ok(&[
                    "generate",
                    "--task",
                    kind,
                    "--level",
                    level,
                    "--count",
                    "12",
                    "--seed",
                    "5",
                    "--out",
                    s(&data),
                ]);
                let report = ok(&[
                    "solve",
                    "--data",
                    s(&data),
                    "--check",
                    "--out",
                    s(&responses),
                ]);
                assert!(
                    report.contains("12 tasks, 12 solved and checked, 0 problem(s)"),
                    "{report}"
                );
                let rs = lines(&responses);
                assert_eq!(rs.len(), 12);
                ok(&[
                    "verify",
                    "--data",
                    s(&data),
                    "--responses",
                    s(&responses),
                    "--out",
                    s(&verdicts),
                ]);
                let vs = lines(&verdicts);
                assert_eq!(vs.len(), 12);
                for (r, v) in rs.iter().zip(&vs) {
                    assert_eq!(r["id"], v["id"], "verdicts follow the responses' order");
                    assert_eq!(v["format_ok"], Value::Bool(true), "{v}");
                    assert_eq!(v["correct"], Value::Bool(true), "{v}");
                    assert_eq!(v["reward"].as_f64(), Some(3.0), "{v}");
                }
            }
            // Both formats hold the same tasks.
            let j = dir.path().join(format!("{kind}-{level}.jsonl"));
            let p = dir.path().join(format!("{kind}-{level}.parquet"));
            let a = dir.path().join("a.jsonl");
            let b = dir.path().join("b.jsonl");
            ok(&["solve", "--data", s(&j), "--out", s(&a)]);
            ok(&["solve", "--data", s(&p), "--out", s(&b)]);
            assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        }
    }
}

#[test]
fn generation_is_reproducible_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["jsonl", "parquet"] {
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        let c = dir.path().join(format!("c.{ext}"));
        ok(&[
            "generate",
            "--task",
            "abduction",
            "--level",
            "2",
            "--count",
            "40",
            "--seed",
            "9",
            "--out",
            s(&a),
        ]);
        ok(&[
            "generate",
            "--task",
            "abduction",
            "--level",
            "2",
            "--count",
            "40",
            "--seed",
            "9",
            "--out",
            s(&b),
        ]);
        ok(&[
            "generate",
            "--task",
            "abduction",
            "--level",
            "2",
            "--count",
            "40",
            "--seed",
            "10",
            "--out",
            s(&c),
        ]);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
        assert_ne!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&c).unwrap(),
            "{ext}"
        );
    }
}

#[test]
fn wrong_and_malformed_responses_are_scored_by_both_rewards() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.jsonl");
    ok(&[
        "generate",
        "--task",
        "deduction",
        "--level",
        "2",
        "--count",
        "3",
        "--seed",
        "1",
        "--out",
        s(&data),
    ]);
    let tasks = lines(&data);
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let responses = dir.path().join("r.jsonl");
    let body = [
        serde_json::json!({"id": ids[0], "response": "<think>hm</think><answer>\n(1) A is maybe\n</answer>"}),
        serde_json::json!({"id": ids[1], "response": "no tags at all"}),
        serde_json::json!({"id": ids[2], "response": format!("<think>x</think><answer>{}</answer>", tasks[2]["answer"].as_str().unwrap())}),
    ]
    .iter()
    .map(|v| v.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    std::fs::write(&responses, body).unwrap();
    let out = dir.path().join("v.jsonl");
    ok(&[
        "verify",
        "--data",
        s(&data),
        "--responses",
        s(&responses),
        "--out",
        s(&out),
    ]);
    let v = lines(&out);
    assert_eq!(v[0]["format_ok"], Value::Bool(true));
    assert_eq!(v[0]["correct"], Value::Null);
    assert_eq!(v[0]["reward"].as_f64(), Some(-1.0));
    assert_eq!(v[1]["format_ok"], Value::Bool(false));
    assert_eq!(v[1]["reward"].as_f64(), Some(-3.0));
    assert_eq!(v[2]["correct"], Value::Bool(true));
    assert_eq!(v[2]["reward"].as_f64(), Some(3.0));
    assert!(v[0]["details"].as_str().is_some());
    ok(&[
        "verify",
        "--data",
        s(&data),
        "--responses",
        s(&responses),
        "--out",
        s(&out),
        "--reward",
        "binary",
    ]);
    let v = lines(&out);
    let rewards: Vec<f64> = v.iter().map(|x| x["reward"].as_f64().unwrap()).collect();
    assert_eq!(rewards, vec![0.0, 0.0, 1.0]);
}

#[test]
fn verify_reports_bad_response_files_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.jsonl");
    ok(&[
        "generate",
        "--task",
        "induction",
        "--level",
        "1",
        "--count",
        "2",
        "--seed",
        "1",
        "--out",
        s(&data),
    ]);
    let id = lines(&data)[0]["id"].as_str().unwrap().to_string();
    let out = dir.path().join("v.jsonl");
    let responses = dir.path().join("r.jsonl");
    let good =
        serde_json::json!({"id": id, "response": "<think>a</think><answer>1</answer>"}).to_string();
    let cases = [
        (
            format!("{good}\n{{\"id\": \"nope\", \"response\": \"x\"}}\n"),
            ":2: unknown id `nope`",
        ),
        (format!("{good}\n\n{good}\n"), ":3: duplicate id"),
        (format!("{good}\nnot json\n"), ":2: expected a JSON object"),
        (
            format!("{{\"id\": \"{id}\"}}\n"),
            ":1: expected a JSON object",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&responses, text).unwrap();
        let msg = fail(&[
            "verify",
            "--data",
            s(&data),
            "--responses",
            s(&responses),
            "--out",
            s(&out),
        ]);
        assert!(msg.contains(expected), "expected `{expected}` in: {msg}");
    }
    let msg = fail(&[
        "verify",
        "--data",
        s(&data),
        "--responses",
        s(&responses),
        "--out",
        s(&out),
        "--reward",
        "nope",
    ]);
    assert!(msg.contains("nope"), "{msg}");
    let msg = fail(&[
        "generate",
        "--task",
        "sudoku",
        "--level",
        "1",
        "--count",
        "2",
        "--out",
        s(&out),
    ]);
    assert!(
        msg.contains("unknown task kind `sudoku`") && msg.contains("deduction"),
        "{msg}"
    );
    let msg = fail(&["solve", "--data", "missing.csv"]);
    assert!(msg.contains(".jsonl or .parquet"), "{msg}");
}

#[test]
fn solve_check_fails_on_a_wrong_stored_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.jsonl");
    ok(&[
        "generate",
        "--task",
        "induction",
        "--level",
        "2",
        "--count",
        "4",
        "--seed",
        "3",
        "--out",
        s(&data),
    ]);
    let mut tasks = lines(&data);
    let wrong = tasks[1]["answer"].as_str().unwrap().parse::<i64>().unwrap() + 1;
    tasks[1]["answer"] = Value::String(wrong.to_string());
    tasks[1]["ground_truth"]["answer"] = Value::from(wrong);
    let text: String = tasks.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&data, text).unwrap();
    let msg = fail(&["solve", "--data", s(&data), "--check"]);
    assert!(msg.contains("1 problem(s)"), "{msg}");
    assert!(msg.contains(tasks[1]["id"].as_str().unwrap()), "{msg}");
}

fn paper_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/paper-data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// The acceptance: every row of the paper's data (19,000) is solved
/// by our solvers, and every stored ground truth verifies.
#[test]
fn paper_data_solve_check_passes_on_every_file() {
    let Some(dir) = paper_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    let responses = out.path().join("responses.jsonl");
    let report = ok(&[
        "solve",
        "--data",
        s(&dir),
        "--check",
        "--out",
        s(&responses),
    ]);
    assert!(
        report.contains("total: 28 files, 19000 tasks, 0 problem(s)"),
        "{report}"
    );
    // Ids are stable, unique and what verify matches on.
    let rs = lines(&responses);
    assert_eq!(rs.len(), 19000);
    assert_eq!(rs[0]["id"], Value::String("abduction-L1-test-0".into()));
    let file = dir.join("Induction/4/test.parquet");
    let one = out.path().join("one.jsonl");
    ok(&["solve", "--data", s(&file), "--out", s(&one)]);
    let verdicts = out.path().join("v.jsonl");
    let summary = ok(&[
        "verify",
        "--data",
        s(&file),
        "--responses",
        s(&one),
        "--out",
        s(&verdicts),
    ]);
    assert!(summary.contains("100 responses: 100 correct"), "{summary}");
}
