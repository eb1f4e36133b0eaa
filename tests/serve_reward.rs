//! The reward service on a loopback port: same rewards as `metaalign
//! verify`, a 400 for each kind of malformed request, 401 without the
//! token, and still answering after all of them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use metaalign::core::config::default_task_source;
use metaalign::serve::client::Client;
use metaalign::serve::load::{run_load, LoadConfig, Payloads};
use metaalign::serve::{bind, split_response, PromptMatch, ServeConfig};
use metaalign::tasks::common::ChatTemplate;
use metaalign::tasks::dataset::score::solution_response;
use metaalign::tasks::dataset::write_jsonl;
use metaalign::tasks::generate::generate_tasks;
use metaalign::{Level, Task};
use serde_json::{json, Value};

fn tasks() -> Vec<Task> {
    metaalign::install_default_plugins().unwrap();
    let mut out = Vec::new();
    for kind in ["deduction", "induction", "abduction"] {
        let g = default_task_source(kind).unwrap();
        out.extend(generate_tasks(g.as_ref(), Level(2), 6, 11).unwrap());
    }
    out
}

/// Responses of every sort for each task: correct, another task's answer,
/// unparseable, malformed.
fn responses(tasks: &[Task]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let g = default_task_source(&t.kind).unwrap();
        let right = solution_response(&g.solve(t).unwrap());
        let other = &tasks[(i + 1) % tasks.len()];
        let response = match i % 4 {
            0 => right,
            1 => solution_response(&g.solve(other).unwrap_or_else(|_| g.solve(t).unwrap())),
            2 => "<think>hmm</think><answer>??</answer>".to_string(),
            _ => right.replace("</think>", ""),
        };
        // As a model continues the prompt (which ends with `<think>`).
        let continuation = response
            .strip_prefix("<think>")
            .unwrap_or(&response)
            .to_string();
        out.push((t.id.clone(), continuation));
    }
    out
}

async fn start(config: ServeConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let bound = bind(&config).await.unwrap();
    let (addr, stop, _handle) = bound.spawn();
    (addr, stop)
}

fn loopback() -> ServeConfig {
    ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..ServeConfig::default()
    }
}

fn request_body(tasks: &[Task], responses: &[(String, String)]) -> Value {
    let template = ChatTemplate::default();
    let prompts: Vec<String> = tasks
        .iter()
        .map(|t| template.render_task(t).unwrap())
        .collect();
    let query: Vec<String> = prompts
        .iter()
        .zip(responses)
        .map(|(p, (_, r))| format!("{p}{r}<|im_end|>"))
        .collect();
    let labels: Vec<String> = tasks
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    json!({"query": query, "prompts": prompts, "labels": labels})
}

fn verify_with_cli(
    dir: &Path,
    tasks: &[Task],
    responses: &[(String, String)],
    reward: &str,
) -> Vec<Value> {
    let data = dir.join("tasks.jsonl");
    write_jsonl(&data, tasks).unwrap();
    let rpath = dir.join("responses.jsonl");
    let text: String = responses
        .iter()
        .map(|(id, r)| format!("{}\n", json!({"id": id, "response": r})))
        .collect();
    std::fs::write(&rpath, text).unwrap();
    let out = dir.join(format!("verdicts-{reward}.jsonl"));
    let status = Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(["verify", "--data"])
        .arg(&data)
        .arg("--responses")
        .arg(&rpath)
        .arg("--out")
        .arg(&out)
        .args(["--reward", reward])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewards_equal_cli_verify_for_both_schemes() {
    let tasks = tasks();
    let responses = responses(&tasks);
    let dir = tempfile::tempdir().unwrap();
    for reward in ["paper", "binary"] {
        let (addr, _stop) = start(ServeConfig {
            reward: reward.into(),
            ..loopback()
        })
        .await;
        let mut c = Client::connect(addr, None).await.unwrap();
        let (status, body) = c
            .post("/get_reward", request_body(&tasks, &responses).to_string())
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        let verdicts = verify_with_cli(dir.path(), &tasks, &responses, reward);
        let rewards = v["rewards"].as_array().unwrap();
        assert_eq!(rewards.len(), tasks.len());
        let mut seen = std::collections::BTreeSet::new();
        for (i, verdict) in verdicts.iter().enumerate() {
            assert_eq!(
                rewards[i].as_f64(),
                verdict["reward"].as_f64(),
                "{i}: {verdict}"
            );
            let correct = verdict["correct"] == Value::Bool(true);
            assert_eq!(
                v["scores"][i].as_f64(),
                Some(if correct { 1.0 } else { 0.0 })
            );
            assert_eq!(
                v["extra_logs"]["correct"][i].as_f64(),
                Some(if correct { 1.0 } else { 0.0 })
            );
            let fmt = verdict["format_ok"] == Value::Bool(true);
            assert_eq!(
                v["extra_logs"]["format_ok"][i].as_f64(),
                Some(if fmt { 1.0 } else { 0.0 })
            );
            assert_eq!(v["extra_logs"]["prompt_matched"][i].as_f64(), Some(1.0));
            seen.insert(verdict["reward"].to_string());
        }
        // The mix covers several reward values (correct, wrong/unparseable, malformed).
        assert!(seen.len() >= 2, "{seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_and_the_service_survives() {
    let tasks = tasks();
    let responses = responses(&tasks);
    let (addr, _stop) = start(ServeConfig {
        max_batch: 32,
        max_body_bytes: 1 << 20,
        ..loopback()
    })
    .await;
    let mut c = Client::connect(addr, None).await.unwrap();
    let good = request_body(&tasks[..2], &responses[..2]);
    let label = good["labels"][0].clone();
    let q = good["query"][0].clone();
    let p = good["prompts"][0].clone();
    let cases: Vec<(&str, String)> = vec![
        ("malformed request", "{\"query\": [".into()),
        ("malformed request", "not json at all".into()),
        (
            "malformed request",
            json!({"query": "one string"}).to_string(),
        ),
        ("malformed request", json!({"query": [1, 2]}).to_string()),
        ("`labels` is missing", json!({"query": [q]}).to_string()),
        (
            "`labels` has 2 entries but `query` has 1",
            json!({"query": [q], "labels": [label, label]}).to_string(),
        ),
        (
            "`prompts` has 2 entries but `query` has 1",
            json!({"query": [q], "prompts": [p, p], "labels": [label]}).to_string(),
        ),
        (
            "labels[0]: neither a task record",
            json!({"query": [q], "labels": ["{\"id\": 1}"]}).to_string(),
        ),
        (
            "labels[0]: not JSON",
            json!({"query": [q], "labels": ["garbage"]}).to_string(),
        ),
        ("labels[1]: invalid data: unknown task kind `sudoku`", {
            let mut t = tasks[0].clone();
            t.kind = "sudoku".into();
            json!({"query": [q, q], "labels": [label, serde_json::to_string(&t).unwrap()]})
                .to_string()
        }),
        (
            "exceeds the limit of 32",
            json!({"query": vec![q.clone(); 33], "labels": vec![label.clone(); 33]}).to_string(),
        ),
    ];
    for (expected, body) in cases {
        let (status, answer) = c.post("/get_reward", body.clone()).await.unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:.100}: {text}");
        assert!(text.contains(expected), "expected `{expected}` in {text}");
    }
    // Over the body limit.
    let (status, _) = c.post("/get_reward", vec![b' '; 2 << 20]).await.unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Still answering, on a fresh connection too.
    let mut c = Client::connect(addr, None).await.unwrap();
    let (status, body) = c.post("/get_reward", good.to_string()).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["rewards"].as_array().unwrap().len(), 2);
    let (status, body) = c.get("/health").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let h: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(h["status"], "ok");
    assert!(h["rejected"].as_u64().unwrap() >= 11);
    // An empty batch is fine: empty lists back.
    let (status, body) = c
        .post(
            "/get_reward",
            json!({"query": [], "labels": []}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["rewards"],
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_when_set() {
    let tasks = tasks();
    let responses = responses(&tasks);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let token = metaalign::serve::read_token_file(&token_file).unwrap();
    assert_eq!(token, "s3cret-token");
    let (addr, _stop) = start(ServeConfig {
        token: Some(token.clone()),
        ..loopback()
    })
    .await;
    let body = request_body(&tasks[..3], &responses[..3]).to_string();
    for wrong in [None, Some("s3cret-tokem".to_string()), Some(String::new())] {
        let mut c = Client::connect(addr, wrong).await.unwrap();
        let (status, _) = c.post("/get_reward", body.clone()).await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = c.get("/health").await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let mut c = Client::connect(addr, Some(token)).await.unwrap();
    let (status, _) = c.post("/get_reward", body).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c.get("/health").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    // An empty token file is refused.
    std::fs::write(&token_file, "  \n").unwrap();
    assert!(metaalign::serve::read_token_file(&token_file).is_err());
}

#[test]
fn response_is_the_query_after_its_prompt() {
    let own = || "OWN PROMPT<think>".to_string();
    let (r, how) = split_response("P<think>abc<|im_end|>", Some("P<think>"), own);
    assert_eq!((r, how), ("abc", PromptMatch::Prefix));
    let (r, how) = split_response(
        "<|endoftext|><|endoftext|>P<think>abc",
        Some("P<think>"),
        own,
    );
    assert_eq!((r, how), ("abc", PromptMatch::Prefix));
    // Prompt text that differs in its start (re-tokenised): its tail anchors.
    let (r, how) = split_response(
        "xx tail of prompt<think>abc",
        Some("yy tail of prompt<think>"),
        own,
    );
    assert_eq!((r, how), ("abc", PromptMatch::Tail));
    let (r, how) = split_response("OWN PROMPT<think>abc", None, own);
    assert_eq!((r, how), ("abc", PromptMatch::TaskPrompt));
    let (r, how) = split_response(
        "sys<|im_start|>assistant\n<think>abc",
        Some("nothing alike"),
        own,
    );
    assert_eq!((r, how), ("<think>abc", PromptMatch::AssistantTurn));
    let (r, how) = split_response("just text", None, own);
    assert_eq!((r, how), ("just text", PromptMatch::Whole));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_load_test_has_no_server_errors_or_drops() {
    let tasks = tasks();
    let (addr, _stop) = start(loopback()).await;
    let payloads = Payloads::build(&tasks, 8, 4).unwrap();
    let report = run_load(
        LoadConfig {
            addr,
            token: None,
            clients: 4,
            duration: Duration::from_millis(800),
            malformed_every: 10,
        },
        payloads,
    )
    .await
    .unwrap();
    eprintln!("{report}");
    assert_eq!(report.server_errors, 0);
    assert_eq!(report.dropped, 0);
    assert_eq!(report.unexpected, 0);
    assert!(report.ok > 0 && report.scored == report.ok * 8);
    assert_eq!(report.malformed_rejected, report.malformed_sent);
    assert!(report.malformed_sent > 0, "{report}");
}
