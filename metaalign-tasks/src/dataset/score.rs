//! Scoring responses against tasks: the shared core of `metaalign verify`
//! and the reward service, so both give the same verdicts and rewards.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::{Arc, RwLock};

use metaalign_core::config::{from_toml_str, verifier_for_kind};
use metaalign_core::{
    Error, Result, RewardConfig, RewardScheme, Solution, Task, Verdict, Verifier,
};
use serde::{Deserialize, Serialize};

use crate::common::format::{ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN};

/// Builds a registered reward scheme with its default settings
/// (`"paper"`, `"binary"`, or a plugin's kind).
pub fn reward_scheme(kind: &str) -> Result<Arc<dyn RewardScheme>> {
    let config: Box<dyn RewardConfig> = from_toml_str(&format!("kind = {kind:?}"), "reward")?;
    config.build()
}

/// A verdict with its reward.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// The verifier's verdict.
    pub verdict: Verdict,
    /// The reward scheme's reward for it.
    pub reward: f64,
}

/// One line of `metaalign verify --out`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    /// The task id.
    pub id: String,
    /// Whether the response had the `<think>/<answer>` format.
    pub format_ok: bool,
    /// true / false, or null when the answer could not be read.
    pub correct: Option<bool>,
    /// The reward the response scored.
    pub reward: f64,
    /// Correct, wrong or unparseable.
    pub outcome: metaalign_core::Outcome,
    /// The answer as the verifier read it, in canonical form.
    pub parsed: Option<String>,
    /// Why the verdict is what it is.
    pub details: String,
}

impl VerdictRecord {
    /// The record of a scored response to task `id`.
    pub fn new(id: impl Into<String>, scored: &Scored) -> Self {
        VerdictRecord {
            id: id.into(),
            format_ok: scored.verdict.format_ok,
            correct: scored.verdict.outcome.as_option(),
            reward: scored.reward,
            outcome: scored.verdict.outcome,
            parsed: scored.verdict.parsed.as_ref().map(|p| p.to_string()),
            details: scored.verdict.details.to_string(),
        }
    }
}

/// Verifies responses with each task kind's verifier (looked up once per
/// kind and cached) and turns verdicts into rewards.
pub struct Scorer {
    reward: Arc<dyn RewardScheme>,
    verifiers: RwLock<HashMap<String, Arc<dyn Verifier>>>,
}

impl Scorer {
    /// A scorer that rewards verdicts with `reward`.
    pub fn new(reward: Arc<dyn RewardScheme>) -> Self {
        Scorer {
            reward,
            verifiers: RwLock::new(HashMap::new()),
        }
    }

    /// A scorer with a registered reward kind (`"paper"`, `"binary"`, ...).
    pub fn with_reward_kind(kind: &str) -> Result<Self> {
        Ok(Self::new(reward_scheme(kind)?))
    }

    /// The reward scheme it scores with.
    pub fn reward_scheme(&self) -> &Arc<dyn RewardScheme> {
        &self.reward
    }

    /// The verifier of a task kind (an error for an unregistered kind).
    pub fn verifier(&self, kind: &str) -> Result<Arc<dyn Verifier>> {
        if let Ok(map) = self.verifiers.read() {
            if let Some(v) = map.get(kind) {
                return Ok(v.clone());
            }
        }
        let known = metaalign_core::registry::kinds(metaalign_core::Slot::Task);
        if !known.iter().any(|k| k == kind) {
            return Err(Error::data(format!(
                "unknown task kind `{kind}` (registered: {})",
                known.join(", ")
            )));
        }
        let v = verifier_for_kind(kind)?;
        if let Ok(mut map) = self.verifiers.write() {
            map.insert(kind.to_string(), v.clone());
        }
        Ok(v)
    }

    /// Uses `verifier` for tasks of `kind` instead of the kind's default
    /// (a source built with non-default settings, such as a math file's
    /// `float_rounding`, brings its own).
    pub fn use_verifier(&self, kind: &str, verifier: Arc<dyn Verifier>) {
        if let Ok(mut map) = self.verifiers.write() {
            map.insert(kind.to_string(), verifier);
        }
    }

    /// Verifies one response (the assistant's continuation after the
    /// prompt) and scores it. Errors only for an unknown task kind.
    pub fn score(&self, task: &Task, response: &str) -> Result<Scored> {
        let verdict = self.verifier(&task.kind)?.verify(task, response);
        let reward = self.reward.reward(&verdict, response);
        Ok(Scored { verdict, reward })
    }
}

/// One line of a responses file: `{"id", "response"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// The id of the task answered.
    pub id: String,
    /// The model's full response text.
    pub response: String,
}

/// Reads a responses JSONL file, with each record's line number. Malformed
/// lines, missing fields and duplicate ids are errors naming the line.
pub fn read_responses(path: &Path) -> Result<Vec<(usize, ResponseRecord)>> {
    read_response_lines(path, true)
}

/// Reads a responses file in which an id may repeat (several samples of
/// one task, as `n > 1` generation writes them), in file order.
pub fn read_sampled_responses(path: &Path) -> Result<Vec<(usize, ResponseRecord)>> {
    read_response_lines(path, false)
}

fn read_response_lines(path: &Path, unique: bool) -> Result<Vec<(usize, ResponseRecord)>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: ResponseRecord = serde_json::from_str(&line).map_err(|e| {
            Error::data(format!(
                "{}:{n}: expected a JSON object {{\"id\": string, \"response\": string}}: {e}",
                path.display()
            ))
        })?;
        if !unique {
            out.push((n, rec));
            continue;
        }
        if let Some(first) = seen.insert(rec.id.clone(), n) {
            return Err(Error::data(format!(
                "{}:{n}: duplicate id `{}` (first on line {first})",
                path.display(),
                rec.id
            )));
        }
        out.push((n, rec));
    }
    Ok(out)
}

/// Checks that task ids are unique (ids are how responses find tasks).
pub fn index_tasks(tasks: &[Task]) -> Result<HashMap<&str, &Task>> {
    let mut map = HashMap::with_capacity(tasks.len());
    for t in tasks {
        if map.insert(t.id.as_str(), t).is_some() {
            return Err(Error::data(format!(
                "duplicate task id `{}` in the dataset",
                t.id
            )));
        }
    }
    Ok(map)
}

/// A well-formed response holding a solution: `<think>` + the rationale
/// (tags in it neutralised) + `</think>\n<answer>\n` + answer + `\n</answer>`.
pub fn solution_response(solution: &Solution) -> String {
    let tags = [THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE];
    let mut thought = solution
        .rationale
        .clone()
        .unwrap_or_else(|| "Solved exactly by metaalign's solver.".to_string());
    for tag in tags {
        thought = thought.replace(tag, &tag.replace('<', "‹").replace('>', "›"));
    }
    format!(
        "{THINK_OPEN}\n{}\n{THINK_CLOSE}\n{ANSWER_OPEN}\n{}\n{ANSWER_CLOSE}",
        thought.trim(),
        solution.answer.trim()
    )
}
