//! Reading problem files: LiveCodeBench's layout (compressed private tests
//! included), the plain layout, HumanEval/MBPP; malformed rows named by
//! file and line; the config's example round-trips.

use std::path::{Path, PathBuf};

use metaalign_core::{TaskConfig, TaskGenerator};
use metaalign_domain_code::generator::load_file;
use metaalign_domain_code::layout::decompress;
use metaalign_domain_code::{CodeConfig, Mode, Problem};
use serde_json::{json, Value};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
}

fn write_lines(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_livecodebench_sample_loads_with_its_private_tests() {
    let tasks = load_file(&data("livecodebench-sample.jsonl")).unwrap();
    let list = tasks.fixed_tasks().unwrap();
    assert_eq!(list.len(), 20);
    let first = &list[0];
    assert_eq!(first.id, "lcb-s01");
    assert_eq!(first.kind, "code");
    let p = Problem::from_ground_truth(&first.ground_truth).unwrap();
    assert_eq!(p.mode, Mode::Stdin);
    assert_eq!(
        (p.public, p.tests.len()),
        (2, 8),
        "compressed private tests are read"
    );
    let user = &first.prompt[1].content;
    assert!(
        user.starts_with("### Question:\nRead two integers"),
        "{user}"
    );
    assert!(user.contains("Read the inputs from stdin"), "{user}");
    assert!(first.prompt[0]
        .content
        .starts_with("You are an expert Python programmer"));
    let functional = list.iter().find(|t| t.id == "lcb-f01").unwrap();
    let p = Problem::from_ground_truth(&functional.ground_truth).unwrap();
    assert_eq!(p.mode, Mode::Functional);
    assert_eq!(p.fn_name.as_deref(), Some("twoSum"));
    assert!(functional.prompt[1].content.contains("class Solution:"));
    // Levels from the difficulty.
    let levels: Vec<u32> = tasks.levels().iter().map(|l| l.0).collect();
    assert_eq!(levels, [1, 2, 3]);
}

#[test]
fn default_source_is_the_shipped_sample_and_the_example_round_trips() {
    let built = CodeConfig::default().build().unwrap();
    assert_eq!(built.fixed_tasks().unwrap().len(), 20);
    let registry = metaalign_core::Registry::with(&metaalign_domain_code::CodePlugin);
    registry.check().unwrap();
    let reg = registry.find(metaalign_core::Slot::Task, "code").unwrap();
    let config: Box<dyn TaskConfig> =
        metaalign_core::config::from_toml_str(&reg.example, "example").unwrap();
    let again = toml::to_string(&config).unwrap();
    let _: Box<dyn TaskConfig> = metaalign_core::config::from_toml_str(&again, "again").unwrap();
}

#[test]
fn compressed_tests_decode_like_livecodebench() {
    let row: Value = serde_json::from_str(
        data("livecodebench-sample.jsonl")
            .to_str()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let text = decompress(row["private_test_cases"].as_str().unwrap()).unwrap();
    let cases: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.as_array().unwrap().len(), 6);
    assert!(decompress("not base64!").unwrap_err().contains("base64"));
    assert!(decompress("aGVsbG8=").unwrap_err().contains("zlib"));
}

#[test]
fn plain_and_humaneval_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.jsonl");
    write_lines(
        &plain,
        &[
            json!({"id": "p1", "prompt": "Add.", "tests": [{"input": "1 2\n", "output": "3\n"}]}),
            json!({"id": "p2", "prompt": "Add.", "fn_name": "add", "tests": [{"input": [1, 2], "output": 3}]}),
        ],
    );
    let tasks = load_file(&plain).unwrap();
    let list = tasks.fixed_tasks().unwrap();
    let p2 = Problem::from_ground_truth(&list[1].ground_truth).unwrap();
    assert_eq!(p2.mode, Mode::Functional);
    assert_eq!(p2.tests[0].input, "1\n2");
    assert_eq!(p2.tests[0].output, "3");

    let he = dir.path().join("he.jsonl");
    write_lines(
        &he,
        &[
            json!({"task_id": "HumanEval/0", "prompt": "def inc(x):\n    \"\"\"x + 1\"\"\"\n", "canonical_solution": "    return x + 1\n", "test": "def check(candidate):\n    assert candidate(1) == 2\n", "entry_point": "inc"}),
        ],
    );
    let tasks = load_file(&he).unwrap();
    let t = &tasks.fixed_tasks().unwrap()[0];
    let p = Problem::from_ground_truth(&t.ground_truth).unwrap();
    assert_eq!(p.mode, Mode::Script);
    assert!(
        t.answer.contains("def inc(x):") && t.answer.contains("return x + 1"),
        "{}",
        t.answer
    );

    let mbpp = dir.path().join("mbpp.jsonl");
    write_lines(
        &mbpp,
        &[
            json!({"task_id": 2, "text": "Write a function to add.", "code": "def add(a, b):\n    return a + b", "test_list": ["assert add(1, 2) == 3"], "test_setup_code": ""}),
        ],
    );
    let tasks = load_file(&mbpp).unwrap();
    let t = &tasks.fixed_tasks().unwrap()[0];
    assert_eq!(t.id, "2");
    assert!(t.ground_truth["test_code"]
        .as_str()
        .unwrap()
        .contains("assert add(1, 2) == 3"));
}

#[test]
fn malformed_rows_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ok = json!({"question_content": "x", "question_id": "a", "public_test_cases": "[{\"input\": \"1\", \"output\": \"1\", \"testtype\": \"stdin\"}]"});
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no-content.jsonl",
            json!({"question_content": "y", "question_id": "b"}),
            ":2: missing field `public_test_cases`",
        ),
        (
            "bad-json.jsonl",
            json!({"question_content": "y", "question_id": "b", "public_test_cases": "[{"}),
            ":2: field `public_test_cases`",
        ),
        (
            "bad-private.jsonl",
            json!({"question_content": "y", "question_id": "b", "public_test_cases": "[]", "private_test_cases": "eJzLSM3JyQcABiwCFQ=="}),
            ":2: field `private_test_cases`",
        ),
        (
            "no-func.jsonl",
            json!({"question_content": "y", "question_id": "b", "public_test_cases": "[{\"input\": \"1\", \"output\": \"1\", \"testtype\": \"functional\"}]"}),
            ":2: functional test cases need `metadata`",
        ),
        (
            "bad-type.jsonl",
            json!({"question_content": "y", "question_id": "b", "public_test_cases": "[{\"input\": \"1\", \"output\": \"1\", \"testtype\": \"batch\"}]"}),
            ":2: field `public_test_cases`: test 1: testtype `batch`",
        ),
        (
            "no-tests.jsonl",
            json!({"question_content": "y", "question_id": "b", "public_test_cases": "[]"}),
            ":2: the problem has no test cases",
        ),
        (
            "dup.jsonl",
            json!({"question_content": "y", "question_id": "a", "public_test_cases": "[{\"input\": \"1\", \"output\": \"1\"}]"}),
            ":2: duplicate id",
        ),
    ];
    for (name, row, want) in cases {
        let path = dir.path().join(name);
        write_lines(&path, &[ok.clone(), row]);
        let err = match load_file(&path) {
            Ok(_) => panic!("{name} loaded"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&format!("{name}{want}")), "{name}: {err}");
    }
    let plain = dir.path().join("plain-bad.jsonl");
    write_lines(
        &plain,
        &[
            json!({"id": "p", "prompt": "x", "fn_name": "f", "tests": [{"input": "1", "output": 1}]}),
        ],
    );
    let err = load_file(&plain).err().unwrap().to_string();
    assert!(
        err.contains("plain-bad.jsonl:1: field `tests`: test 1: with `fn_name`"),
        "{err}"
    );
}
