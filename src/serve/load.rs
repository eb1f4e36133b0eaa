//! Load test of the reward service: many concurrent clients posting
//! batches for a fixed time, a share of the requests malformed on purpose.
//! Reports throughput (responses scored per second), latency percentiles,
//! and any server errors or dropped connections. Used by
//! `examples/load_reward.rs` and by a test with small numbers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use metaalign_core::config::default_task_source;
use metaalign_core::{Error, Result, Task};
use metaalign_tasks::common::ChatTemplate;
use metaalign_tasks::dataset::score::solution_response;
use serde_json::json;

use super::client::Client;

/// Load test settings.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The service's address.
    pub addr: SocketAddr,
    /// Bearer token, when the service asks for one.
    pub token: Option<String>,
    /// Concurrent clients, each with its own connection.
    pub clients: usize,
    /// How long to send requests.
    pub duration: Duration,
    /// One request in `malformed_every` is malformed (0: none).
    pub malformed_every: usize,
}

/// What a load test measured.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Wall time of the test.
    pub elapsed: Duration,
    /// Requests sent.
    pub requests: u64,
    /// Well-formed requests answered 200.
    pub ok: u64,
    /// Responses scored (sum of the batch sizes of `ok` requests).
    pub scored: u64,
    /// Malformed requests sent, and how many were answered 400.
    pub malformed_sent: u64,
    /// Malformed requests answered 400.
    pub malformed_rejected: u64,
    /// Answers with a status other than the expected one (200 or 400), 5xx excluded.
    pub unexpected: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Requests whose connection failed (refused, reset, closed).
    pub dropped: u64,
    /// Median latency of well-formed requests.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
    /// Slowest request.
    pub max: Duration,
}

impl LoadReport {
    /// Responses scored per second.
    pub fn throughput(&self) -> f64 {
        self.scored as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "elapsed {:.1} s, {} requests ({} ok, {} malformed of which {} got 400)",
            self.elapsed.as_secs_f64(),
            self.requests,
            self.ok,
            self.malformed_sent,
            self.malformed_rejected
        )?;
        writeln!(
            f,
            "throughput: {:.0} responses scored/s ({} scored)",
            self.throughput(),
            self.scored
        )?;
        writeln!(
            f,
            "latency per request: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3
        )?;
        write!(
            f,
            "5xx: {}, dropped connections: {}, unexpected statuses: {}",
            self.server_errors, self.dropped, self.unexpected
        )
    }
}

/// Request bodies for a load test, built from tasks: correct, wrong and
/// badly formatted responses in every batch, plus malformed requests of
/// each kind (bad JSON, mismatched lengths, unreadable label).
pub struct Payloads {
    /// Well-formed bodies and the number of responses each carries.
    pub good: Vec<(Bytes, usize)>,
    /// Malformed bodies, each to be answered 400.
    pub malformed: Vec<Bytes>,
}

impl Payloads {
    /// `count` well-formed bodies of `batch` queries each.
    pub fn build(tasks: &[Task], batch: usize, count: usize) -> Result<Payloads> {
        if tasks.len() < 2 {
            return Err(Error::data("a load test needs at least two tasks"));
        }
        let template = ChatTemplate::default();
        let mut items = Vec::with_capacity(tasks.len());
        for task in tasks {
            let solution = default_task_source(&task.kind)?.solve(task)?;
            let response = solution_response(&solution);
            let continuation = response
                .strip_prefix("<think>")
                .unwrap_or(&response)
                .to_string();
            items.push((
                template.render_task(task)?,
                continuation,
                serde_json::to_string(task)?,
            ));
        }
        let mut good = Vec::with_capacity(count);
        let mut k = 0usize;
        for _ in 0..count {
            let (mut q, mut p, mut l) = (Vec::new(), Vec::new(), Vec::new());
            for j in 0..batch {
                let (prompt, right, label) = &items[k % items.len()];
                // Mix: 2 correct, 1 with another task's answer (usually
                // wrong), 1 malformed format, in turn.
                let response = match j % 4 {
                    0 | 1 => right.clone(),
                    2 => items[(k + 1) % items.len()].1.clone(),
                    _ => "I think the answer is obvious.".to_string(),
                };
                q.push(format!("{prompt}{response}<|im_end|>"));
                p.push(prompt.clone());
                l.push(label.clone());
                k += 1;
            }
            let body = serde_json::to_vec(&json!({"query": q, "prompts": p, "labels": l}))?;
            good.push((Bytes::from(body), batch));
        }
        let (prompt, right, label) = &items[0];
        let malformed = vec![
            Bytes::from_static(b"{\"query\": [\"unterminated"),
            Bytes::from(serde_json::to_vec(&json!({
                "query": [format!("{prompt}{right}"), "x"],
                "prompts": [prompt],
                "labels": [label, label],
            }))?),
            Bytes::from(serde_json::to_vec(&json!({
                "query": [format!("{prompt}{right}")],
                "prompts": [prompt],
                "labels": ["{\"not\": \"a task\"}"],
            }))?),
            Bytes::from_static(b"[1, 2, 3]"),
        ];
        Ok(Payloads { good, malformed })
    }
}

#[derive(Default)]
struct ClientTally {
    latencies: Vec<Duration>,
    report: LoadReport,
}

async fn drive(
    config: Arc<LoadConfig>,
    payloads: Arc<Payloads>,
    id: usize,
    deadline: Instant,
) -> ClientTally {
    let mut t = ClientTally::default();
    let mut client: Option<Client> = None;
    let mut n = id;
    while Instant::now() < deadline {
        n += 1;
        let malformed = config.malformed_every > 0 && n % config.malformed_every == 0;
        let (body, size) = if malformed {
            (payloads.malformed[n % payloads.malformed.len()].clone(), 0)
        } else {
            let (b, s) = &payloads.good[n % payloads.good.len()];
            (b.clone(), *s)
        };
        if client.is_none() {
            match Client::connect(config.addr, config.token.clone()).await {
                Ok(c) => client = Some(c),
                Err(_) => {
                    t.report.requests += 1;
                    t.report.dropped += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        let start = Instant::now();
        let result = c.post("/get_reward", body).await;
        let took = start.elapsed();
        t.report.requests += 1;
        if malformed {
            t.report.malformed_sent += 1;
        }
        match result {
            Err(_) => {
                t.report.dropped += 1;
                client = None;
            }
            Ok((status, _)) => {
                t.latencies.push(took);
                if status.is_server_error() {
                    t.report.server_errors += 1;
                } else if malformed && status == StatusCode::BAD_REQUEST {
                    t.report.malformed_rejected += 1;
                } else if !malformed && status == StatusCode::OK {
                    t.report.ok += 1;
                    t.report.scored += size as u64;
                } else {
                    t.report.unexpected += 1;
                }
            }
        }
    }
    t
}

/// Runs the load test against a running service.
pub async fn run_load(config: LoadConfig, payloads: Payloads) -> Result<LoadReport> {
    if payloads.good.is_empty() || payloads.malformed.is_empty() {
        return Err(Error::data("no payloads to send"));
    }
    let config = Arc::new(config);
    let payloads = Arc::new(payloads);
    let start = Instant::now();
    let deadline = start + config.duration;
    let handles: Vec<_> = (0..config.clients.max(1))
        .map(|i| tokio::spawn(drive(config.clone(), payloads.clone(), i, deadline)))
        .collect();
    let mut report = LoadReport::default();
    let mut latencies = Vec::new();
    for h in handles {
        let t = h
            .await
            .map_err(|e| Error::wrap("a load-test client failed", e))?;
        let r = t.report;
        report.requests += r.requests;
        report.ok += r.ok;
        report.scored += r.scored;
        report.malformed_sent += r.malformed_sent;
        report.malformed_rejected += r.malformed_rejected;
        report.unexpected += r.unexpected;
        report.server_errors += r.server_errors;
        report.dropped += r.dropped;
        latencies.extend(t.latencies);
    }
    report.elapsed = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| -> Duration {
        if latencies.is_empty() {
            Duration::ZERO
        } else {
            let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            latencies[i.min(latencies.len() - 1)]
        }
    };
    report.p50 = pct(0.50);
    report.p99 = pct(0.99);
    report.max = latencies.last().copied().unwrap_or_default();
    Ok(report)
}
