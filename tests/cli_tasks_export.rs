//! `metaalign export` (veRL and OpenRLHF flavours) and the `generate`
//! pipeline stage, with the built binary.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(args)
        .output()
        .expect("runs the metaalign binary");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "metaalign {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn verl_export_has_the_paper_layout_and_solve_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("curriculum");
    ok(&[
        "export",
        "--out",
        s(&out),
        "--levels",
        "1-2",
        "--train",
        "12",
        "--test",
        "6",
        "--seed",
        "3",
    ]);
    for ability in ["Deduction", "Induction", "Abduction"] {
        for level in ["1", "2"] {
            for split in ["train", "test"] {
                let f = out
                    .join(ability)
                    .join(level)
                    .join(format!("{split}.parquet"));
                assert!(f.is_file(), "{}", f.display());
            }
        }
    }
    let report = ok(&["solve", "--data", s(&out), "--check"]);
    assert!(
        report.contains("total: 12 files, 108 tasks, 0 problem(s)"),
        "{report}"
    );
    // The same seed gives the same bytes.
    let again = dir.path().join("again");
    ok(&[
        "export",
        "--out",
        s(&again),
        "--levels",
        "1-2",
        "--train",
        "12",
        "--test",
        "6",
        "--seed",
        "3",
    ]);
    for rel in [
        "Deduction/2/train.parquet",
        "Abduction/1/test.parquet",
        "Induction/2/test.parquet",
    ] {
        assert_eq!(
            std::fs::read(out.join(rel)).unwrap(),
            std::fs::read(again.join(rel)).unwrap(),
            "{rel}"
        );
    }
    // Test puzzles never repeat a training puzzle.
    let train = dir.path().join("train.jsonl");
    let test = dir.path().join("test.jsonl");
    ok(&[
        "solve",
        "--data",
        s(&out.join("Deduction/1/train.parquet")),
        "--out",
        s(&train),
    ]);
    ok(&[
        "solve",
        "--data",
        s(&out.join("Deduction/1/test.parquet")),
        "--out",
        s(&test),
    ]);
    let ids = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let train_ids = ids(&train);
    assert!(ids(&test).iter().all(|id| !train_ids.contains(id)));
}

#[test]
fn openrlhf_export_has_prompt_and_label() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("orl");
    ok(&[
        "export",
        "--out",
        s(&out),
        "--format",
        "openrlhf",
        "--abilities",
        "induction,abduction",
        "--levels",
        "3",
        "--train",
        "5",
        "--test",
        "2",
    ]);
    let f = out.join("Induction/3/train.jsonl");
    let text = std::fs::read_to_string(&f).unwrap();
    assert_eq!(text.lines().count(), 5);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let prompt = v["prompt"].as_str().unwrap();
        assert!(
            prompt.starts_with("<|im_start|>system\n")
                && prompt.ends_with("<|im_start|>assistant\n<think>")
        );
        let task: Value = serde_json::from_str(v["label"].as_str().unwrap()).unwrap();
        assert_eq!(task["kind"], "induction");
        assert_eq!(task["id"], v["id"]);
    }
    // --data reads these files too.
    let report = ok(&["solve", "--data", s(&f), "--check"]);
    assert!(
        report.contains("5 tasks, 5 solved and checked, 0 problem(s)"),
        "{report}"
    );
    assert!(!out.join("Deduction").exists());
}

#[test]
fn generate_stage_writes_a_dataset_in_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[run]
name = "data"
out_dir = "{}"
seed = 4

[tasks.logic]
kind = "deduction"

[[stages]]
name = "make"
kind = "generate"
task = "logic"
levels = [1, 2]
count = 7
format = "parquet"
"#,
        dir.path().join("runs").display()
    );
    let file = dir.path().join("p.toml");
    std::fs::write(&file, toml).unwrap();
    ok(&["run", s(&file)]);
    let data = dir.path().join("runs/data/make/dataset.parquet");
    assert!(data.is_file(), "{}", data.display());
    let report = ok(&["solve", "--data", s(&data), "--check"]);
    assert!(
        report.contains("14 tasks, 14 solved and checked, 0 problem(s)"),
        "{report}"
    );
}
