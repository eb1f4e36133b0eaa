//! The math and multiple-choice domains end to end on the shipped sample
//! files: `metaalign generate --data` and `verify --task`, the reward
//! service's short labels, the veRL shim (when python3 is present), and the
//! evaluate stage scoring responses generated elsewhere into Table 1.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use metaalign::core::pipeline::{self, Pipeline, RunOptions};
use metaalign::serve::client::Client;
use metaalign::serve::{bind, ServeConfig};
use metaalign::Task;
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    root().join("examples/data").join(name)
}

fn metaalign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(args)
        .output()
        .expect("runs the metaalign binary")
}

fn ok(args: &[&str]) -> String {
    let out = metaalign(args);
    assert!(
        out.status.success(),
        "metaalign {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fail(args: &[&str]) -> String {
    let out = metaalign(args);
    assert!(!out.status.success(), "metaalign {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The tasks of a sample file, as `generate --data` writes them.
fn tasks_of(dir: &Path, kind: &str, data: &Path, seed: u64) -> Vec<Task> {
    let out = dir.join(format!("{kind}-tasks.jsonl"));
    let seed = seed.to_string();
    ok(&[
        "generate",
        "--task",
        kind,
        "--data",
        s(data),
        "--seed",
        &seed,
        "--out",
        s(&out),
    ]);
    read_lines(&out)
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect()
}

#[test]
fn verify_task_math_agrees_with_the_labelled_sample_responses() {
    let dir = tempfile::tempdir().unwrap();
    for responses in ["math500-good.jsonl", "math500-plain.jsonl"] {
        let rpath = sample("responses").join(responses);
        let out = dir.path().join("verdicts.jsonl");
        let summary = ok(&[
            "verify",
            "--task",
            "math",
            "--data",
            s(&sample("math500-sample.jsonl")),
            "--responses",
            s(&rpath),
            "--out",
            s(&out),
        ]);
        assert!(summary.contains("binary reward"), "{summary}");
        let verdicts = read_lines(&out);
        let inputs = read_lines(&rpath);
        assert_eq!(verdicts.len(), inputs.len());
        let mut right = 0;
        for (v, input) in verdicts.iter().zip(&inputs) {
            assert_eq!(v["id"], input["id"]);
            let expected = input["expected"] == "correct";
            assert_eq!(
                v["correct"] == json!(true),
                expected,
                "{responses}: {input} -> {v}"
            );
            assert_eq!(v["reward"], json!(if expected { 1.0 } else { 0.0 }));
            if expected {
                assert!(v["parsed"].is_string(), "{v}");
                right += 1;
            }
        }
        assert!(right > 0 && right < inputs.len(), "{responses}: {right}");
    }
}

#[test]
fn generate_data_writes_every_row_and_set_overrides_fields() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = tasks_of(dir.path(), "math", &sample("math500-sample.jsonl"), 0);
    assert_eq!(tasks.len(), 50);
    assert!(tasks.iter().all(|t| t.kind == "math"));
    assert_eq!(
        tasks[0].id,
        read_lines(&sample("math500-sample.jsonl"))[0]["unique_id"]
    );

    // A file in a layout of its own: fields named with --set.
    let data = dir.path().join("own.jsonl");
    write_lines(
        &data,
        &[
            json!({"qid": "a", "text": "What is $1+1$?", "gold": "2"}),
            json!({"qid": "b", "text": "Write one half.", "gold": "\\frac{1}{2}"}),
        ],
    );
    let responses = dir.path().join("own-responses.jsonl");
    write_lines(
        &responses,
        &[
            json!({"id": "a", "response": "So the answer is $\\boxed{2}$."}),
            json!({"id": "b", "response": "The final answer is $0.5$"}),
            json!({"id": "b", "response": "The final answer is $0.25$"}),
        ],
    );
    let out = dir.path().join("own-verdicts.jsonl");
    let summary = ok(&[
        "verify",
        "--task",
        "math",
        "--data",
        s(&data),
        "--responses",
        s(&responses),
        "--out",
        s(&out),
        "--set",
        "id_field=qid",
        "--set",
        "problem_field=text",
        "--set",
        "answer_field=gold",
    ]);
    assert!(summary.starts_with("3 responses: 2 correct"), "{summary}");
    let v = read_lines(&out);
    assert_eq!(
        v.iter().map(|v| v["correct"].clone()).collect::<Vec<_>>(),
        [json!(true), json!(true), json!(false)]
    );

    // Without the overrides the file cannot be read, and the error names
    // the file and the line.
    let err = fail(&[
        "verify",
        "--task",
        "math",
        "--data",
        s(&data),
        "--responses",
        s(&responses),
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains("own.jsonl:1: missing field `problem`"),
        "{err}"
    );
    // A synthetic kind reads no file.
    let err = fail(&[
        "generate",
        "--task",
        "deduction",
        "--data",
        s(&data),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("reads no file"), "{err}");
}

#[test]
fn benchmark_file_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<Value>, &str); 3] = [
        (
            "missing-answer.jsonl",
            vec![
                json!({"problem": "1+1?", "answer": "2"}),
                json!({"problem": "2+2?"}),
            ],
            ":2: missing field `answer`",
        ),
        (
            "empty-answer.jsonl",
            vec![json!({"problem": "1+1?", "answer": "  "})],
            ":1:",
        ),
        (
            "duplicate-id.jsonl",
            vec![
                json!({"unique_id": "x", "problem": "1+1?", "answer": "2"}),
                json!({"unique_id": "x", "problem": "2+2?", "answer": "4"}),
            ],
            ":2: duplicate id",
        ),
    ];
    for (name, rows, at) in cases {
        let data = dir.path().join(name);
        write_lines(&data, &rows);
        let err = fail(&[
            "generate",
            "--task",
            "math",
            "--data",
            s(&data),
            "--out",
            s(&dir.path().join("o.jsonl")),
        ]);
        assert!(err.contains(&format!("{name}{at}")), "{name}: {err}");
    }
}

#[test]
fn verify_task_choice_reads_letters_and_never_credits_two() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample("gpqa-sample.jsonl");
    let tasks = tasks_of(dir.path(), "choice", &data, 5);
    assert_eq!(tasks.len(), 20);
    // Options are shuffled from the seed: another seed moves some answers.
    let other = tasks_of(dir.path(), "choice", &data, 6);
    assert!(tasks.iter().zip(&other).any(|(a, b)| a.answer != b.answer));
    let wrong = |gold: &str| if gold == "A" { "B" } else { "A" }.to_string();
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let (response, correct) = match i % 5 {
            0 => (
                format!("<think>ok</think><answer>{}</answer>", t.answer),
                true,
            ),
            1 => (format!("Let me think.\n\nANSWER: {}", t.answer), true),
            2 => (format!("The answer is ({}).", wrong(&t.answer)), false),
            3 => (
                format!("ANSWER: {} or {}", t.answer, wrong(&t.answer)),
                false,
            ),
            _ => (format!("The answer is ({})", t.answer), true),
        };
        lines.push(json!({"id": t.id, "response": response}));
        expected.push(correct);
    }
    let responses = dir.path().join("responses.jsonl");
    write_lines(&responses, &lines);
    let out = dir.path().join("verdicts.jsonl");
    ok(&[
        "verify",
        "--task",
        "choice",
        "--data",
        s(&data),
        "--seed",
        "5",
        "--responses",
        s(&responses),
        "--out",
        s(&out),
    ]);
    let verdicts = read_lines(&out);
    for ((v, want), line) in verdicts.iter().zip(&expected).zip(&lines) {
        assert_eq!(v["correct"] == json!(true), *want, "{line} -> {v}");
    }
}

#[test]
fn plan_warns_when_evaluate_scores_a_training_file() {
    metaalign::install_default_plugins().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[run]\nname = \"w\"\n\n[policy]\nkind = \"fresh\"\npreset = \"tiny\"\n\n\
         [tasks.train]\nkind = \"math\"\npath = {train:?}\n\n\
         [tasks.bench]\nkind = \"math\"\npath = {bench:?}\n\n\
         [[stages]]\nname = \"rl\"\nkind = \"domain_rl\"\nfrom = \"policy\"\ntasks = [\"train\"]\n\
         trainer = {{ kind = \"grpo\", steps_per_level = 1 }}\nreward = {{ kind = \"binary\" }}\n\n\
         [[stages]]\nname = \"eval\"\nkind = \"evaluate\"\nmodels = {{ rl = \"rl.model\" }}\n\
         tasks = [\"{scored}\"]\n",
        train = s(&sample("math-train.jsonl")),
        bench = s(&sample("math500-sample.jsonl")),
        scored = "TASK",
    );
    let plan = |scored: &str| {
        let file = dir.path().join("p.toml");
        std::fs::write(&file, text.replace("TASK", scored)).unwrap();
        let p = Pipeline::from_file(&file).unwrap();
        pipeline::dry_run(&p, &RunOptions::default()).unwrap()
    };
    let warned = plan("train");
    assert!(
        warned
            .warnings
            .iter()
            .any(|w| w.contains("`train` is a fixed file") && w.contains("`rl`")),
        "{:?}",
        warned.warnings
    );
    let clean = plan("bench");
    assert!(
        !clean.warnings.iter().any(|w| w.contains("fixed file")),
        "{:?}",
        clean.warnings
    );
}

#[test]
fn evaluate_scores_offline_responses_into_table_1() {
    metaalign::install_default_plugins().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A second model's responses: everything wrong on math500, right on aime.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let reference = sample("responses/reference");
    let math: Vec<Value> = read_lines(&reference.join("math500.jsonl"))
        .into_iter()
        .map(|l| json!({"id": l["id"], "response": "<think>x</think><answer>\\boxed{-12345}</answer>"}))
        .collect();
    write_lines(&other.join("math500.jsonl"), &math);
    let aime_tasks = tasks_of(dir.path(), "math", &sample("aime-sample.jsonl"), 0);
    let aime: Vec<Value> = aime_tasks
        .iter()
        .map(|t| json!({"id": t.id, "response": format!("The final answer is $\\boxed{{{}}}$", t.ground_truth["answer"].as_str().unwrap())}))
        .collect();
    write_lines(&other.join("aime.jsonl"), &aime);
    let text = format!(
        "[run]\nname = \"offline\"\nout_dir = {out:?}\n\n\
         [tasks.math500]\nkind = \"math\"\npath = {math:?}\n\n\
         [tasks.aime]\nkind = \"math\"\npath = {aime:?}\n\n\
         [[stages]]\nname = \"eval\"\nkind = \"evaluate\"\n\
         responses = {{ reference = {reference:?}, other = {other:?} }}\n\
         tasks = [\"math500\", \"aime\"]\n\
         tables = [{{ title = \"Table 1\", models = [\"reference\", \"other\"], tasks = [\"math500\", \"aime\"] }}]\n",
        out = s(&dir.path().join("runs")),
        math = s(&sample("math500-sample.jsonl")),
        aime = s(&sample("aime-sample.jsonl")),
        reference = s(&reference),
        other = s(&other),
    );
    let file = dir.path().join("offline.toml");
    std::fs::write(&file, text).unwrap();
    let p = Pipeline::from_file(&file).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(pipeline::run(&p, &RunOptions::default()))
        .unwrap();
    let run_dir = dir.path().join("runs/offline");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    let rows = report["results"].as_array().unwrap();
    let cell = |model: &str, task: &str| -> f64 {
        rows.iter()
            .find(|r| r["model"] == model && r["task"] == task && r["level"].is_null())
            .unwrap_or_else(|| panic!("no row {model} {task}"))["accuracy"]
            .as_f64()
            .unwrap()
    };
    // The reference responses are labelled: their accuracy is known.
    let labelled = read_lines(&reference.join("math500.jsonl"));
    let want = labelled
        .iter()
        .filter(|l| l["expected"] == "correct")
        .count() as f64
        / labelled.len() as f64;
    assert!((cell("reference", "math500") - want).abs() < 1e-9);
    assert_eq!(cell("other", "math500"), 0.0);
    assert_eq!(cell("other", "aime"), 1.0);
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(md.contains("| Model | math500 | aime | Avg. |"), "{md}");
    assert!(md.contains("| other | 0.0 | 100.0 | 50.0 |"), "{md}");
}

async fn post_labels(queries: &[&str], labels: &[Value]) -> Value {
    let config = ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        reward: "binary".into(),
        ..ServeConfig::default()
    };
    let bound = bind(&config).await.unwrap();
    let (addr, _stop, _handle) = bound.spawn();
    let mut c = Client::connect(addr, None).await.unwrap();
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    let body = json!({"query": queries, "labels": labels});
    let (status, answer) = c.post("/get_reward", body.to_string()).await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    serde_json::from_slice(&answer).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reward_service_scores_short_math_and_choice_labels() {
    metaalign::install_default_plugins().unwrap();
    let queries = [
        "<think>3/4</think><answer>\\boxed{0.75}</answer>",
        "The final answer is $\\boxed{\\frac{2}{3}}$.",
        "<think>hm</think><answer>C</answer>",
        "ANSWER: A or C",
        "<think>So x is in [2, oo)</think><answer>[2,\\infty)</answer>",
    ];
    let labels = [
        json!({"kind": "math", "answer": "\\frac{3}{4}"}),
        json!({"kind": "math", "answer": "\\frac{3}{4}"}),
        json!({"kind": "choice", "answer": "C"}),
        json!({"kind": "choice", "answer": "C"}),
        json!({"kind": "math", "answer": "x \\ge 2"}),
    ];
    let v = post_labels(&queries, &labels).await;
    assert_eq!(v["rewards"], json!([1.0, 0.0, 1.0, 0.0, 1.0]), "{v}");
    assert_eq!(v["scores"], json!([1.0, 0.0, 1.0, 0.0, 1.0]), "{v}");
    assert_eq!(v["extra_logs"]["correct"], json!([1.0, 0.0, 1.0, 0.0, 1.0]));
    assert_eq!(v["extra_logs"]["format_ok"].as_array().unwrap().len(), 5);
}

/// The veRL shim, run by python3 against a live service, routes
/// `data_source` values to the math and choice verifiers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verl_shim_routes_data_sources() {
    metaalign::install_default_plugins().unwrap();
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed (the shim is Python)");
        return;
    }
    let config = ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        reward: "binary".into(),
        ..ServeConfig::default()
    };
    let bound = bind(&config).await.unwrap();
    let (addr, _stop, _handle) = bound.spawn();
    let script = r#"
import json, sys
import metaalign_reward as m
out = m.compute_score_batch(
    ["HuggingFaceH4/MATH-500", "aime24", "Idavidrein/gpqa", "gpqa_diamond", "my_set"],
    ["The answer is $\\boxed{\\frac{1}{2}}$", "\\boxed{204}", "ANSWER: B", "The answer is (A)", "<answer>7</answer>"],
    ["0.5", 204, "B", "B", "7"],
    [{}, None, {}, {}, {}],
)
single = m.compute_score("math500", "\\boxed{3}", "4", {})
print(json.dumps({"batch": out, "single": single}))
"#;
    let shim_dir = root().join("integrations/verl");
    let url = format!("http://{addr}/get_reward");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .env("PYTHONPATH", shim_dir)
            .env("METAALIGN_REWARD_URL", url)
            .env("METAALIGN_DATA_SOURCES", "my_set=math")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_slice(&output.stdout).unwrap();
    let scores: Vec<f64> = v["batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, [1.0, 1.0, 1.0, 0.0, 1.0], "{v}");
    assert_eq!(v["single"]["score"], 0.0);
    assert_eq!(v["single"]["correct"], 0.0);
}

#[test]
fn sample_reference_responses_cover_every_benchmark_task() {
    // The offline example model answers every task of each sample once
    // (math500, gpqa) or k times (aime, reported as avg@k).
    let reference = sample("responses/reference");
    let mut counts: HashMap<String, usize> = HashMap::new();
    for l in read_lines(&reference.join("aime.jsonl")) {
        *counts.entry(l["id"].to_string()).or_default() += 1;
    }
    assert_eq!(counts.len(), 10);
    assert!(counts.values().all(|&n| n == 4), "{counts:?}");
    assert_eq!(read_lines(&reference.join("math500.jsonl")).len(), 50);
    assert_eq!(read_lines(&reference.join("gpqa.jsonl")).len(), 20);
}

/// Whether code can run here (python3 and the sandbox), or why not.
fn code_runs() -> bool {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return false;
    }
    match metaalign_domain_code::Sandbox::new(metaalign_domain_code::SandboxConfig::default()) {
        Ok(_) => true,
        Err(e) => {
            println!("skipped: {e}");
            false
        }
    }
}

#[test]
fn verify_task_code_agrees_with_the_labelled_sample_responses() {
    if !code_runs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rpath = sample("responses").join("code-sample.jsonl");
    let out = dir.path().join("verdicts.jsonl");
    let summary = ok(&[
        "verify",
        "--task",
        "code",
        "--data",
        s(&sample("livecodebench-sample.jsonl")),
        "--responses",
        s(&rpath),
        "--out",
        s(&out),
    ]);
    assert!(summary.contains("binary reward"), "{summary}");
    let verdicts = read_lines(&out);
    let inputs = read_lines(&rpath);
    assert_eq!(verdicts.len(), inputs.len());
    for (v, input) in verdicts.iter().zip(&inputs) {
        assert_eq!(v["id"], input["id"]);
        assert_eq!(v["outcome"], input["expected"], "{input} -> {v}");
    }
    // The pass-fraction mode and reward: a wrong program gets part credit.
    let part = dir.path().join("part.jsonl");
    write_lines(
        &part,
        &[
            json!({"id": "lcb-s04", "response": "```python\nprint(sum(c in 'aeio' for c in input()))\n```"}),
        ],
    );
    let summary = ok(&[
        "verify",
        "--task",
        "code",
        "--data",
        s(&sample("livecodebench-sample.jsonl")),
        "--responses",
        s(&part),
        "--out",
        s(&out),
        "--set",
        "reward_mode=\"pass_fraction\"",
        "--reward",
        "pass_fraction",
    ]);
    let v = &read_lines(&out)[0];
    let reward = v["reward"].as_f64().unwrap();
    assert!(reward > 0.0 && reward < 1.0, "{summary} {v}");
    assert_eq!(v["correct"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reward_service_runs_code_labels_and_kills_abandoned_requests() {
    metaalign::install_default_plugins().unwrap();
    if !code_runs() {
        return;
    }
    let config = ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        heavy_workers: 1,
        reward: "binary".into(),
        ..ServeConfig::default()
    };
    let bound = bind(&config).await.unwrap();
    let (addr, _stop, _handle) = bound.spawn();
    let tests = json!({"inputs": ["2 3\n", "10 -4\n"], "outputs": ["5\n", "6\n"]}).to_string();
    let label = json!({"kind": "code", "answer": tests}).to_string();
    let math = json!({"kind": "math", "answer": "4"}).to_string();
    let body = json!({
        "query": [
            "```python\nprint(sum(map(int, input().split())))\n```",
            "```python\nprint(5)\n```",
            "\\boxed{4}",
        ],
        "labels": [label, label, math],
    });
    let mut c = Client::connect(addr, None).await.unwrap();
    let (status, answer) = c.post("/get_reward", body.to_string()).await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let v: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(v["rewards"], json!([1.0, 0.0, 1.0]), "{v}");

    // A request whose program loops for 30 s per test, abandoned after
    // 300 ms: its program is killed, so the one heavy worker is free again
    // for the next code request at once.
    let slow = json!({"kind": "code", "answer": tests, "timeout_s": 30}).to_string();
    let hang = json!({"query": ["```python\nwhile True: pass\n```"], "labels": [slow]}).to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut raw = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /get_reward HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            hang.len()
        );
        raw.write_all(head.as_bytes()).unwrap();
        raw.write_all(hang.as_bytes()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    })
    .await
    .unwrap();
    // Math is never held up by code.
    let started = std::time::Instant::now();
    let quick = json!({"query": ["\\boxed{4}"], "labels": [math]}).to_string();
    let mut c = Client::connect(addr, None).await.unwrap();
    let (status, _) = c.post("/get_reward", quick).await.unwrap();
    assert_eq!(status, 200);
    let again = json!({"query": ["```python\nprint(sum(map(int, input().split())))\n```"], "labels": [label]}).to_string();
    let (status, answer) = c.post("/get_reward", again).await.unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(v["rewards"], json!([1.0]));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the abandoned request still held the code worker: {:?}",
        started.elapsed()
    );
}

/// The veRL shim routes code data sources with veRL's test format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verl_shim_routes_code_sources() {
    metaalign::install_default_plugins().unwrap();
    if !code_runs() {
        return;
    }
    let config = ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        reward: "binary".into(),
        ..ServeConfig::default()
    };
    let bound = bind(&config).await.unwrap();
    let (addr, _stop, _handle) = bound.spawn();
    let script = r#"
import json
import metaalign_reward as m
tests = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
fn = {"inputs": [[[1, 2]]], "outputs": [3], "fn_name": "add"}
good = "```python\nprint(sum(map(int, input().split())))\n```"
out = m.compute_score_batch(
    ["livecodebench", "deepmind/code_contests", "codeparrot/apps", "BAAI/TACO", "livecodebench"],
    [good, good, good, "```python\nprint(4)\n```", "```python\ndef add(a):\n    return sum(a)\n```"],
    [json.dumps(tests), tests, tests, tests, fn],
    [{}, {}, None, {}, {}],
)
print(json.dumps([m.route(s) for s in ["livecodebench/code_generation_lite", "codecontests", "apps", "taco"]]))
print(json.dumps(out))
"#;
    let shim_dir = root().join("integrations/verl");
    let url = format!("http://{addr}/get_reward");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .env("PYTHONPATH", shim_dir)
            .env("METAALIGN_REWARD_URL", url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let routes: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(routes, json!(["code", "code", "code", "code"]));
    let v: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let scores: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, [1.0, 1.0, 1.0, 0.0, 1.0], "{v}");
}

#[test]
fn evaluate_scores_offline_code_responses_with_pass_at_k() {
    metaalign::install_default_plugins().unwrap();
    if !code_runs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reference = sample("responses/reference");
    let text = format!(
        "[run]\nname = \"code\"\nout_dir = {out:?}\n\n\
         [tasks.lcb]\nkind = \"code\"\npath = {data:?}\n\n\
         [[stages]]\nname = \"eval\"\nkind = \"evaluate\"\n\
         responses = {{ reference = {reference:?} }}\n\
         tasks = [\"lcb\"]\navg_k = 2\n\
         tables = [{{ title = \"Code\", models = [\"reference\"], tasks = [\"lcb\"] }}, \
         {{ title = \"Code pass@k\", models = [\"reference\"], tasks = [\"lcb\"], metric = \"pass@k\" }}]\n",
        out = s(&dir.path().join("runs")),
        data = s(&sample("livecodebench-sample.jsonl")),
        reference = s(&reference.join("code.jsonl")),
    );
    let file = dir.path().join("code.toml");
    std::fs::write(&file, text).unwrap();
    let p = Pipeline::from_file(&file).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(pipeline::run(&p, &RunOptions::default()))
        .unwrap();
    let md = std::fs::read_to_string(dir.path().join("runs/code/report.md")).unwrap();
    // First samples: 13 of 20 right (pass@1 65%); every problem has a right
    // second sample (pass@2 100%); avg@2 is (13 + 20) / 40.
    assert!(md.contains("| reference | 65.0 |\n"), "{md}");
    assert!(md.contains("| reference | 100.0 |\n"), "{md}");
    assert!(
        md.contains("| reference | lcb | 20 | 65.0 | 82.5 | 100.0 |"),
        "{md}"
    );
}
