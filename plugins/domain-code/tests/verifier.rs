//! The `code` verifier on the shipped sample: every labelled response
//! (references, wrong solutions, other languages, no code) gets the
//! verdict LiveCodeBench's checker gives it; pass-fraction mode; HumanEval
//! scripts; a reward label in veRL's form; never a panic on any text.
//! Skipped (with the reason printed) without python3 or isolation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use metaalign_core::{Outcome, Task, TaskContext, TaskGenerator};
use metaalign_domain_code::{CodeConfig, CodeTasks, RewardMode};
use serde_json::{json, Value};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
}

fn config() -> CodeConfig {
    CodeConfig {
        path: Some(data("livecodebench-sample.jsonl")),
        uid_base: 1_810_000_000,
        timeout_s: 3.0,
        ..CodeConfig::default()
    }
}

/// The sample's tasks, or why programs cannot run here.
fn load(config: &CodeConfig) -> Option<CodeTasks> {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return None;
    }
    let tasks = CodeTasks::load(config, &TaskContext::default()).unwrap();
    if let Err(e) = tasks.code_verifier().sandbox() {
        println!("skipped: {e}");
        return None;
    }
    Some(tasks)
}

fn by_id(tasks: &CodeTasks) -> HashMap<String, Task> {
    tasks
        .fixed_tasks()
        .unwrap()
        .iter()
        .map(|t| (t.id.clone(), t.clone()))
        .collect()
}

#[test]
fn labelled_sample_responses_get_livecodebench_verdicts() {
    let Some(tasks) = load(&config()) else { return };
    let tasks_by_id = by_id(&tasks);
    let verifier = tasks.verifier();
    let text = std::fs::read_to_string(data("responses/code-sample.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 50);
    std::thread::scope(|s| {
        let chunks: Vec<&[Value]> = lines.chunks(lines.len().div_ceil(2)).collect();
        for chunk in chunks {
            let verifier = verifier.clone();
            let tasks_by_id = &tasks_by_id;
            s.spawn(move || {
                for l in chunk {
                    let task = &tasks_by_id[l["id"].as_str().unwrap()];
                    let v = verifier.verify(task, l["response"].as_str().unwrap());
                    let want = match l["expected"].as_str().unwrap() {
                        "correct" => Outcome::Correct,
                        "wrong" => Outcome::Wrong,
                        _ => Outcome::Unparseable,
                    };
                    assert_eq!(
                        v.outcome, want,
                        "{} ({}): {}",
                        l["id"], l["note"], v.details
                    );
                    if want == Outcome::Correct {
                        assert_eq!(v.parsed.as_deref(), Some("8/8"), "{}", v.details);
                        assert!(v.details.ends_with("all 8 tests passed"), "{}", v.details);
                    } else {
                        assert!(!v.details.is_empty());
                    }
                }
            });
        }
    });
}

#[test]
fn pass_fraction_runs_the_first_n_tests_to_the_end() {
    let config = CodeConfig {
        reward_mode: RewardMode::PassFraction,
        fraction_tests: Some(6),
        uid_base: 1_810_000_100,
        ..config()
    };
    let Some(tasks) = load(&config) else { return };
    let t = &by_id(&tasks)["lcb-s04"];
    // Counts vowels but forgets `u`: right on the tests without a `u`.
    let v = tasks.verifier().verify(
        t,
        "```python\nprint(sum(c in 'aeio' for c in input()))\n```",
    );
    assert_eq!(v.outcome, Outcome::Wrong);
    let parsed = v.parsed.clone().unwrap();
    let (passed, run) = parsed.split_once('/').unwrap();
    assert_eq!(run, "6", "{v:?}");
    let passed: usize = passed.parse().unwrap();
    assert!(passed > 0 && passed < 6, "{v:?}");
    let reward = metaalign_domain_code::PassFractionReward::default();
    use metaalign_core::RewardScheme;
    assert!((reward.reward(&v, "") - passed as f64 / 6.0).abs() < 1e-12);
    // A reference passes all six.
    let good = tasks.solve(t);
    assert!(good.is_err(), "the LiveCodeBench layout has no solutions");
    let v = tasks.verifier().verify(
        t,
        "```python\nprint(sum(c in 'aeiou' for c in input()))\n```",
    );
    assert_eq!(
        (v.outcome, v.parsed.as_deref()),
        (Outcome::Correct, Some("6/6"))
    );
}

#[test]
fn humaneval_scripts_and_verl_labels() {
    let dir = tempfile::tempdir().unwrap();
    let he = dir.path().join("he.jsonl");
    std::fs::write(
        &he,
        format!(
            "{}\n",
            json!({"task_id": "HE/0", "prompt": "def inc(x):\n    \"\"\"x + 1\"\"\"\n", "canonical_solution": "    return x + 1\n", "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(-1) == 0\n", "entry_point": "inc"})
        ),
    )
    .unwrap();
    let config = CodeConfig {
        path: Some(he),
        uid_base: 1_810_000_200,
        ..config()
    };
    let Some(tasks) = load(&config) else { return };
    let t = &tasks.fixed_tasks().unwrap()[0];
    let v = tasks.verifier();
    let sol = tasks.solve(t).unwrap().answer;
    assert_eq!(
        v.verify(t, &sol).outcome,
        Outcome::Correct,
        "{}",
        v.verify(t, &sol).details
    );
    // A completion of the prompt's body only.
    assert_eq!(
        v.verify(t, "```python\n    return x + 1\n```").outcome,
        Outcome::Correct
    );
    let wrong = v.verify(t, "```python\ndef inc(x):\n    return x + 2\n```");
    assert_eq!(wrong.outcome, Outcome::Wrong);
    assert!(
        wrong.details.contains("AssertionError"),
        "{}",
        wrong.details
    );

    // A reward label in veRL's form: tests as {"inputs", "outputs"}.
    let label = metaalign_tasks::dataset::task_from_label(
        &json!({"kind": "code", "answer": json!({"inputs": ["2 3\n", "10 -4\n"], "outputs": ["5\n", "6\n"]}).to_string()}).to_string(),
    )
    .unwrap();
    let ok = v.verify(
        &label,
        "```python\nprint(sum(map(int, input().split())))\n```",
    );
    assert_eq!(ok.outcome, Outcome::Correct, "{}", ok.details);
    let fn_label = metaalign_tasks::dataset::task_from_label(
        &json!({"kind": "code", "answer": json!({"inputs": [[[3, 1, 2]]], "outputs": [[1, 2, 3]], "fn_name": "srt"}).to_string()}).to_string(),
    )
    .unwrap();
    let ok = v.verify(
        &fn_label,
        "```python\ndef srt(a):\n    return tuple(sorted(a))\n```",
    );
    assert_eq!(ok.outcome, Outcome::Correct, "{}", ok.details);
    let no = v.verify(&fn_label, "```python\ndef srt(a):\n    return set(a)\n```");
    assert_eq!(no.outcome, Outcome::Wrong, "{}", no.details);
}

#[test]
fn never_panics_on_odd_responses() {
    let Some(tasks) = load(&CodeConfig {
        uid_base: 1_810_000_300,
        ..config()
    }) else {
        return;
    };
    let t = &by_id(&tasks)["lcb-f02"];
    let v = tasks.verifier();
    for r in [
        "",
        "```",
        "``````",
        "```python\n\0\n```",
        "```python\nclass Solution: pass\n```",
        "```python\nclass Solution:\n    def isPalindrome(self, x):\n        class A:\n            def __eq__(self, o): return True\n        return A()\n```",
        "```python\nimport os\nos.write(1, b'{\"i\": 0, \"s\": \"ok\", \"value\": [\"B\", true]}\\n')\nos._exit(0)\n```",
        "\u{1F600}```python\n\u{1F600}\n```",
    ] {
        let verdict = v.verify(t, r);
        assert_ne!(verdict.outcome, Outcome::Correct, "{r:?}: {verdict:?}");
    }
    // Python's `1 == True`, as LiveCodeBench compares; stray bytes on
    // stdout do not matter to a functional test.
    let r = "```python\nimport sys\nsys.stdout.buffer.write(b'\\xff\\xfe')\nclass Solution:\n    def isPalindrome(self, x): return 1 if str(x) == str(x)[::-1] else 0\n```";
    assert_eq!(
        v.verify(t, r).outcome,
        Outcome::Correct,
        "{}",
        v.verify(t, r).details
    );
}
