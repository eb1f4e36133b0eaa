//! The hashes behind the runner's resume decisions: a stage's key (what it
//! depends on) and a run's fingerprint (what consumers of its outputs hash).
//!
//! A stage's key hashes its config (as canonical JSON), its name, the run
//! seed and device, the fingerprints of the artifacts it reads and the
//! configs of the task sources it uses. The starting policy's key hashes its
//! config, the seed and the device.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::file::Pipeline;
use crate::error::Result;

/// JSON with object keys sorted at every level and no whitespace, so equal
/// values hash equally whatever the field order.
fn canonical_json(value: &serde_json::Value) -> String {
    fn write(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The fingerprint of a stage's `generation`-th run under `key`: it changes
/// each time the stage actually runs, so the stages that read its outputs
/// run again.
pub(crate) fn fingerprint(key: &str, generation: u64) -> String {
    sha256_hex(&format!("{key}/{generation}"))
}

/// The starting policy's key, when `[policy]` is set.
pub(crate) fn policy_key(pipeline: &Pipeline) -> Result<Option<String>> {
    let Some(policy) = &pipeline.policy else {
        return Ok(None);
    };
    let value = serde_json::json!({
        "policy": serde_json::to_value(policy)?,
        "seed": pipeline.settings.seed,
        "device": pipeline.settings.device,
    });
    Ok(Some(sha256_hex(&canonical_json(&value))))
}

/// The key of stage `index`, given the fingerprints of the stages (and the
/// policy) before it.
pub(crate) fn stage_key(
    pipeline: &Pipeline,
    index: usize,
    fingerprints: &BTreeMap<String, String>,
) -> Result<String> {
    let entry = &pipeline.stages[index];
    let mut inputs = serde_json::Map::new();
    for input in entry.config.inputs() {
        let producer = input
            .reference
            .split_once('.')
            .map_or(input.reference.as_str(), |(stage, _)| stage);
        let fp = fingerprints.get(producer).cloned().unwrap_or_default();
        inputs.insert(
            format!("{}={}", input.role, input.reference),
            serde_json::Value::String(fp),
        );
    }
    let used = entry.config.task_sources();
    let mut tasks = serde_json::Map::new();
    for (name, task) in &pipeline.tasks {
        // A stage that does not say which sources it uses depends on all.
        if used.is_empty() || used.contains(name) {
            tasks.insert(name.clone(), serde_json::to_value(task)?);
        }
    }
    let value = serde_json::json!({
        "stage": entry.name,
        "config": serde_json::to_value(&entry.config)?,
        "seed": pipeline.settings.seed,
        "device": pipeline.settings.device,
        "holdout": serde_json::to_value(pipeline.settings.holdout)?,
        "inputs": inputs,
        "tasks": tasks,
    });
    Ok(sha256_hex(&canonical_json(&value)))
}
