//! The reward service: our verifiers over HTTP, speaking OpenRLHF's remote
//! reward protocol, so distributed RL engines (OpenRLHF, veRL through
//! `integrations/verl/metaalign_reward.py`) can score rollouts with them.
//!
//! - `POST /get_reward` with `{"query": [...], "prompts": [...], "labels": [...]}`
//!   returns `{"rewards": [...], "scores": [...], "extra_logs": {...}}`, one
//!   entry per query, in order. A label is the JSON of a task record, as
//!   our exports write it (`label` column / field), or a short label with
//!   the task kind and the gold answer (`{"kind": "math", "answer":
//!   "\\frac{3}{4}"}`, `{"kind": "choice", "answer": "B"}`) for
//!   benchmark data that never went through metaalign. `rewards` are the
//!   configured reward scheme's values; `scores` are 1 for a correct answer
//!   and 0 otherwise (what OpenRLHF's dynamic filtering reads);
//!   `extra_logs` has `format_ok`, `correct`, `unparseable` and
//!   `prompt_matched` as 0/1 numbers.
//! - `GET /health` returns `{"status": "ok", ...}`.
//!
//! Slow kinds (`heavy_kinds`, by default `code`, which runs programs) are
//! scored on a pool of their own with its own bound, so a flood of code
//! requests cannot starve the other kinds; when a client goes away before
//! its answer, its request's programs are killed (a cancellation token is
//! dropped with the request, see `metaalign_core::cancel`).
//!
//! The response scored is the part of each query after its prompt; see
//! [`split_response`] for what happens when the prompt is not a prefix.
//! Safe by default: binds 127.0.0.1:5000, an optional bearer token is
//! required on every request when set (401 otherwise), bodies and batches
//! are size-limited, malformed requests get a 400 with a message, and
//! scoring runs on a bounded rayon pool, never on the async runtime.

pub mod client;
pub mod load;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metaalign_core::cancel::CancelToken;
use metaalign_core::{Error, Result, Task};
use metaalign_tasks::common::ChatTemplate;
use metaalign_tasks::dataset::score::Scorer;
use metaalign_tasks::dataset::task_from_label;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Settings of the reward service.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to bind (default 127.0.0.1:5000).
    pub bind: SocketAddr,
    /// Reward scheme kind (`paper` or `binary`, or a plugin's).
    pub reward: String,
    /// Bearer token required on every request, when set.
    pub token: Option<String>,
    /// Largest accepted request body, in bytes (default 64 MiB).
    pub max_body_bytes: usize,
    /// Largest accepted number of queries per request (default 8192).
    pub max_batch: usize,
    /// Scoring threads (default: the number of CPUs).
    pub workers: usize,
    /// Parsed labels kept, keyed by their text (default 65,536). Rollouts
    /// score several responses per prompt, so labels repeat.
    pub label_cache: usize,
    /// Task kinds whose verification is slow (runs programs): requests
    /// with any label of these kinds are scored on their own pool
    /// (default: `code`).
    pub heavy_kinds: Vec<String>,
    /// Threads of that pool, so at most this many heavy requests are
    /// scored at once (default: half the CPUs, at least 1). Each code
    /// verifier bounds the programs it runs at once itself.
    pub heavy_workers: usize,
    /// Renders a task's prompt when a query must be split without the
    /// request's own prompt: the built-in Qwen template by default, or the
    /// policy checkpoint's (`serve-reward --model DIR`).
    pub template: ChatTemplate,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 5000)),
            reward: "paper".into(),
            token: None,
            max_body_bytes: 64 << 20,
            max_batch: 8192,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            label_cache: 65_536,
            heavy_kinds: vec!["code".into()],
            heavy_workers: (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1),
            template: ChatTemplate::default(),
        }
    }
}

/// Reads a bearer token from a file (surrounding whitespace removed); an
/// empty file is an error.
pub fn read_token_file(path: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(Error::config(format!(
            "token file {} is empty",
            path.display()
        )));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::config(format!(
            "token file {}: the token must be one line without spaces",
            path.display()
        )));
    }
    Ok(token)
}

/// Counters reported by `/health`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Responses scored (a request carries a batch).
    pub scored: AtomicU64,
    /// Requests refused (malformed, unauthorised, too large).
    pub rejected: AtomicU64,
}

/// A fast 64-bit hash of a label's text, eight bytes at a time (collisions
/// are harmless: the cache also compares the text).
fn label_hash(bytes: &[u8]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(0x0100_0000_01B3_u64 | 0x5851_F42D_0000_0000)
            .rotate_left(29);
    }
    let mut w = [0u8; 8];
    let rest = chunks.remainder();
    w[..rest.len()].copy_from_slice(rest);
    metaalign_core::seed::mix64(h ^ u64::from_le_bytes(w))
}

/// Parsed labels by the hash of their text (the text is kept to rule out
/// collisions).
type LabelCache = HashMap<u64, (Arc<str>, Arc<Task>)>;

/// The shared state of the service.
pub struct RewardService {
    scorer: Scorer,
    template: ChatTemplate,
    token: Option<String>,
    max_batch: usize,
    pool: rayon::ThreadPool,
    permits: Semaphore,
    heavy_kinds: Vec<String>,
    heavy_pool: rayon::ThreadPool,
    heavy_permits: Semaphore,
    cache: Mutex<LabelCache>,
    cache_cap: usize,
    /// What `/health` reports.
    pub stats: Stats,
}

/// A request rejected with a status and a message.
#[derive(Debug)]
pub struct Rejection(
    /// The HTTP status.
    pub StatusCode,
    /// The message, sent as `{"error": …}`.
    pub String,
);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

fn bad(msg: impl Into<String>) -> Rejection {
    Rejection(StatusCode::BAD_REQUEST, msg.into())
}

/// `POST /get_reward` body.
#[derive(Debug, Deserialize)]
pub struct RewardRequest {
    /// Prompt + response texts, one per sample (OpenRLHF's `query`).
    pub query: Vec<String>,
    /// The prompts alone, when the trainer sends them.
    #[serde(default)]
    pub prompts: Option<Vec<String>>,
    /// Per-sample labels: a task id, or a task record as JSON.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

/// How the response was cut out of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptMatch {
    /// The prompt (after any leading padding tokens) is a prefix of the query.
    Prefix,
    /// The prompt's tail (its last 256 bytes, or its second half when
    /// shorter) was found in the query; the response starts after its
    /// first occurrence.
    Tail,
    /// The task's own rendered prompt is a prefix (the prompt sent differs).
    TaskPrompt,
    /// Only an opened assistant turn (`<|im_start|>assistant\n`) was found:
    /// the response starts after its last occurrence.
    AssistantTurn,
    /// Nothing matched: the whole query is taken as the response.
    Whole,
}

const PAD_TOKENS: [&str; 3] = ["<|endoftext|>", "<pad>", "<|pad|>"];
const END_TOKENS: [&str; 3] = ["<|im_end|>", "<|endoftext|>", "</s>"];

fn strip_leading_pads(mut s: &str) -> &str {
    loop {
        let before = s.len();
        for pad in PAD_TOKENS {
            while let Some(rest) = s.strip_prefix(pad) {
                s = rest;
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

fn strip_trailing_ends(mut s: &str) -> &str {
    loop {
        let before = s.len();
        s = s.trim_end();
        for end in END_TOKENS {
            while let Some(rest) = s.strip_suffix(end) {
                s = rest;
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

/// The response part of an OpenRLHF query (prompt + response, decoded with
/// special tokens kept). In order: the query minus its prompt when the
/// prompt is a prefix (leading padding tokens ignored); else the text after
/// the first occurrence of the prompt's tail (its last 256 bytes, or its
/// second half when shorter); else the query
/// minus the task's own rendered prompt; else the text after the last
/// `<|im_start|>assistant\n`; else the whole query. Trailing end-of-turn
/// tokens (`<|im_end|>`, `<|endoftext|>`, `</s>`) are removed.
pub fn split_response<'a>(
    query: &'a str,
    prompt: Option<&str>,
    task_prompt: impl FnOnce() -> String,
) -> (&'a str, PromptMatch) {
    let q = strip_leading_pads(query);
    let (resp, how) = match prompt.filter(|p| !p.is_empty()) {
        Some(p) => {
            let p = strip_leading_pads(p);
            if let Some(rest) = q.strip_prefix(p) {
                (rest, PromptMatch::Prefix)
            } else {
                let mut cut = p.len() - (p.len() / 2).min(256);
                while !p.is_char_boundary(cut) {
                    cut += 1;
                }
                let tail = &p[cut..];
                match q.find(tail) {
                    Some(pos) if !tail.is_empty() => (&q[pos + tail.len()..], PromptMatch::Tail),
                    _ => fallback(q, task_prompt),
                }
            }
        }
        None => fallback(q, task_prompt),
    };
    (strip_trailing_ends(resp), how)
}

fn fallback(q: &str, task_prompt: impl FnOnce() -> String) -> (&str, PromptMatch) {
    let own = task_prompt();
    if let Some(rest) = q.strip_prefix(own.as_str()).filter(|_| !own.is_empty()) {
        return (rest, PromptMatch::TaskPrompt);
    }
    const TURN: &str = "<|im_start|>assistant\n";
    match q.rfind(TURN) {
        Some(pos) => (&q[pos + TURN.len()..], PromptMatch::AssistantTurn),
        None => (q, PromptMatch::Whole),
    }
}

impl RewardService {
    /// A service scoring with `config`'s reward and tasks.
    pub fn new(config: &ServeConfig) -> Result<Self> {
        let scorer = Scorer::with_reward_kind(&config.reward)?;
        let workers = config.workers.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("reward-worker-{i}"))
            .build()
            .map_err(|e| Error::wrap("cannot start the scoring pool", e))?;
        Ok(RewardService {
            scorer,
            template: config.template.clone(),
            token: config.token.clone(),
            max_batch: config.max_batch.max(1),
            pool,
            // At most this many requests wait for or run on the pool.
            permits: Semaphore::new(workers * 4),
            heavy_kinds: config.heavy_kinds.clone(),
            heavy_pool: rayon::ThreadPoolBuilder::new()
                .num_threads(config.heavy_workers.max(1))
                .thread_name(|i| format!("reward-heavy-{i}"))
                .build()
                .map_err(|e| Error::wrap("cannot start the heavy scoring pool", e))?,
            heavy_permits: Semaphore::new(config.heavy_workers.max(1) * 2),
            cache: Mutex::new(HashMap::new()),
            cache_cap: config.label_cache,
            stats: Stats::default(),
        })
    }

    /// The task of a label, parsed once and then cached by its text.
    fn task_of(&self, label: &str) -> std::result::Result<Arc<Task>, String> {
        let key = label_hash(label.as_bytes());
        if self.cache_cap > 0 {
            if let Ok(cache) = self.cache.lock() {
                if let Some((text, task)) = cache.get(&key) {
                    if &**text == label {
                        return Ok(task.clone());
                    }
                }
            }
        }
        let task = Arc::new(task_from_label(label)?);
        if self.cache_cap > 0 {
            if let Ok(mut cache) = self.cache.lock() {
                if cache.len() >= self.cache_cap {
                    cache.clear();
                }
                cache.insert(key, (Arc::from(label), task.clone()));
            }
        }
        Ok(task)
    }

    /// Scores a parsed request (synchronously; the HTTP handler runs this on
    /// the worker pools).
    pub fn score_request(&self, req: &RewardRequest) -> std::result::Result<Value, Rejection> {
        let tasks = self.prepare(req)?;
        self.score_tasks(req, &tasks, None)
    }

    /// True when a request has a label of a heavy kind.
    pub fn is_heavy(&self, tasks: &[Arc<Task>]) -> bool {
        tasks
            .iter()
            .any(|t| self.heavy_kinds.iter().any(|k| *k == t.kind))
    }

    /// Checks a request and parses its labels.
    pub fn prepare(&self, req: &RewardRequest) -> std::result::Result<Vec<Arc<Task>>, Rejection> {
        let n = req.query.len();
        if n > self.max_batch {
            return Err(bad(format!(
                "batch of {n} queries exceeds the limit of {}",
                self.max_batch
            )));
        }
        let labels = req.labels.as_ref().ok_or_else(|| {
            bad("`labels` is missing: each query needs its task record JSON (set OpenRLHF's --data.label_key to the `label` field of a metaalign export)")
        })?;
        if labels.len() != n {
            return Err(bad(format!(
                "`labels` has {} entries but `query` has {n}",
                labels.len()
            )));
        }
        if let Some(p) = &req.prompts {
            if p.len() != n {
                return Err(bad(format!(
                    "`prompts` has {} entries but `query` has {n}",
                    p.len()
                )));
            }
        }
        let mut tasks = Vec::with_capacity(n);
        for (i, label) in labels.iter().enumerate() {
            let task = self
                .task_of(label)
                .map_err(|e| bad(format!("labels[{i}]: {e}")))?;
            self.scorer
                .verifier(&task.kind)
                .map_err(|e| bad(format!("labels[{i}]: {e}")))?;
            tasks.push(task);
        }
        Ok(tasks)
    }

    /// Scores a request's queries against its parsed labels; verifiers run
    /// under `cancel` (when the client goes away, programs are killed and
    /// the answer is never sent).
    pub fn score_tasks(
        &self,
        req: &RewardRequest,
        tasks: &[Arc<Task>],
        cancel: Option<&CancelToken>,
    ) -> std::result::Result<Value, Rejection> {
        let n = req.query.len();
        let token = cancel.cloned().unwrap_or_default();
        let score_one = |i: usize| {
            let task = &tasks[i];
            let prompt = req.prompts.as_ref().map(|p| p[i].as_str());
            let (response, how) = split_response(&req.query[i], prompt, || {
                // A template that raises on this task: no own prompt,
                // the later fallbacks apply.
                self.template.render_task(task).unwrap_or_default()
            });
            let scored = token.scope(|| self.scorer.score(task, response));
            (scored, how)
        };
        let results: Vec<_> = if n >= 256 {
            use rayon::prelude::*;
            (0..n).into_par_iter().map(score_one).collect()
        } else {
            (0..n).map(score_one).collect()
        };
        let mut rewards = Vec::with_capacity(n);
        let mut scores = Vec::with_capacity(n);
        let mut format_ok = Vec::with_capacity(n);
        let mut correct = Vec::with_capacity(n);
        let mut unparseable = Vec::with_capacity(n);
        let mut matched = Vec::with_capacity(n);
        for (i, (scored, how)) in results.into_iter().enumerate() {
            let scored = scored.map_err(|e| bad(format!("labels[{i}]: {e}")))?;
            let is_correct = scored.verdict.is_correct();
            rewards.push(scored.reward);
            scores.push(if is_correct { 1.0 } else { 0.0 });
            format_ok.push(if scored.verdict.format_ok { 1.0 } else { 0.0 });
            correct.push(if is_correct { 1.0 } else { 0.0 });
            unparseable.push(
                if scored.verdict.outcome == metaalign_core::Outcome::Unparseable {
                    1.0
                } else {
                    0.0
                },
            );
            matched.push(if how == PromptMatch::Prefix { 1.0 } else { 0.0 });
        }
        Ok(json!({
            "rewards": rewards,
            "scores": scores,
            "extra_logs": {
                "format_ok": format_ok,
                "correct": correct,
                "unparseable": unparseable,
                "prompt_matched": matched,
            },
        }))
    }

    fn authorize(&self, headers: &HeaderMap) -> std::result::Result<(), Rejection> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match given {
            Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Ok(()),
            _ => Err(Rejection(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (send `Authorization: Bearer <token>`)".into(),
            )),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn get_reward(
    State(svc): State<Arc<RewardService>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    svc.stats.requests.fetch_add(1, Ordering::Relaxed);
    let result = handle(svc.clone(), headers, body).await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(r) => {
            svc.stats.rejected.fetch_add(1, Ordering::Relaxed);
            r.into_response()
        }
    }
}

/// What the general pool made of a request: an answer, or parsed labels
/// to score on the heavy pool.
enum FirstPass {
    Done(std::result::Result<Value, Rejection>),
    Heavy(RewardRequest, Vec<Arc<Task>>),
}

fn internal(msg: &str) -> Rejection {
    Rejection(StatusCode::INTERNAL_SERVER_ERROR, msg.into())
}

async fn handle(
    svc: Arc<RewardService>,
    headers: HeaderMap,
    body: Bytes,
) -> std::result::Result<Value, Rejection> {
    svc.authorize(&headers)?;
    // Dropped with this future when the client disconnects: the programs
    // of the request are then killed.
    let token = CancelToken::new();
    let _cancel_on_drop = token.cancel_on_drop();
    let permit = svc.permits.acquire().await.map_err(|_| {
        Rejection(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is shutting down".into(),
        )
    })?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let worker = svc.clone();
    let light_token = token.clone();
    svc.pool.spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let req: RewardRequest = match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(e) => {
                    return FirstPass::Done(Err(bad(format!(
                        "malformed request: {e} (expected {{\"query\": [string], \"prompts\": [string], \"labels\": [string]}})"
                    ))))
                }
            };
            let tasks = match worker.prepare(&req) {
                Ok(t) => t,
                Err(r) => return FirstPass::Done(Err(r)),
            };
            if worker.is_heavy(&tasks) {
                return FirstPass::Heavy(req, tasks);
            }
            let v = worker.score_tasks(&req, &tasks, Some(&light_token));
            if v.is_ok() {
                worker
                    .stats
                    .scored
                    .fetch_add(req.query.len() as u64, Ordering::Relaxed);
            }
            FirstPass::Done(v)
        }))
        .unwrap_or_else(|_| FirstPass::Done(Err(internal("internal error while scoring"))));
        let _ = tx.send(out);
    });
    let first = rx
        .await
        .map_err(|_| internal("the scoring worker stopped"))?;
    drop(permit);
    let (req, tasks) = match first {
        FirstPass::Done(v) => return v,
        FirstPass::Heavy(req, tasks) => (req, tasks),
    };
    let _heavy = svc.heavy_permits.acquire().await.map_err(|_| {
        Rejection(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is shutting down".into(),
        )
    })?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let worker = svc.clone();
    let heavy_token = token.clone();
    svc.heavy_pool.spawn(move || {
        if heavy_token.is_cancelled() {
            return;
        }
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let v = worker.score_tasks(&req, &tasks, Some(&heavy_token));
            if v.is_ok() {
                worker
                    .stats
                    .scored
                    .fetch_add(req.query.len() as u64, Ordering::Relaxed);
            }
            v
        }))
        .unwrap_or_else(|_| Err(internal("internal error while scoring")));
        let _ = tx.send(out);
    });
    rx.await
        .map_err(|_| internal("the scoring worker stopped"))?
}

async fn health(State(svc): State<Arc<RewardService>>, headers: HeaderMap) -> Response {
    if let Err(r) = svc.authorize(&headers) {
        return r.into_response();
    }
    Json(json!({
        "status": "ok",
        "reward": svc.scorer.reward_scheme().name(),
        "requests": svc.stats.requests.load(Ordering::Relaxed),
        "scored": svc.stats.scored.load(Ordering::Relaxed),
        "rejected": svc.stats.rejected.load(Ordering::Relaxed),
    }))
    .into_response()
}

/// The service's routes, for embedding in a larger axum app.
pub fn router(svc: Arc<RewardService>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/get_reward", post(get_reward))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(svc)
}

/// A bound, not yet running, service.
pub struct BoundService {
    /// The address it listens on (the real port when 0 was asked).
    pub addr: SocketAddr,
    listener: TcpListener,
    app: Router,
    /// The service state (counters for tests and `/health`).
    pub service: Arc<RewardService>,
}

/// Binds the listener (port 0 picks a free port; see `addr`).
pub async fn bind(config: &ServeConfig) -> Result<BoundService> {
    let service = Arc::new(RewardService::new(config)?);
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| Error::wrap(format!("cannot bind {}", config.bind), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::wrap("cannot read the bound address", e))?;
    let app = router(service.clone(), config.max_body_bytes);
    Ok(BoundService {
        addr,
        listener,
        app,
        service,
    })
}

impl BoundService {
    /// Serves until `shutdown` resolves (then finishes open requests).
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| Error::wrap("reward service failed", e))
    }

    /// Runs in the background on the current tokio runtime; the service
    /// stops when the returned handle's sender is dropped or sent to.
    pub fn spawn(
        self,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Result<()>>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let addr = self.addr;
        let handle = tokio::spawn(self.serve(async move {
            let _ = rx.await;
        }));
        (addr, tx, handle)
    }
}
