//! A benchmark file read by a file-backed task kind (`math`, `choice`, or
//! a plugin's), shared by `generate --data` and `verify --task`.

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use metaalign_core::config::{default_task_source, from_toml_str};
use metaalign_core::{TaskConfig, TaskContext, TaskGenerator};

/// The TOML table of the source: the kind, the file, and `KEY=VALUE`
/// settings as a pipeline's `[tasks.*]` table would give them (a value is
/// read as TOML, or as a string when it is not TOML).
pub fn source_toml(kind: &str, data: &Path, settings: &[String]) -> anyhow::Result<String> {
    let mut table = toml::Table::new();
    table.insert("kind".into(), toml::Value::String(kind.into()));
    table.insert(
        "path".into(),
        toml::Value::String(data.display().to_string()),
    );
    for setting in settings {
        let Some((key, value)) = setting.split_once('=') else {
            bail!("--set `{setting}`: expected KEY=VALUE");
        };
        let key = key.trim();
        if key.is_empty() || key == "kind" || key == "path" {
            bail!("--set `{setting}`: give a setting other than kind and path (use --task and --data)");
        }
        let value = format!("v = {}", value.trim())
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.trim().to_string()));
        table.insert(key.to_string(), value);
    }
    Ok(toml::to_string(&table)?)
}

/// Builds the `kind` source over `data` (relative to the working
/// directory) with the run seed `seed` (option shuffling); an error when
/// the kind generates its tasks instead of reading a file.
pub fn load(
    kind: &str,
    data: &Path,
    settings: &[String],
    seed: u64,
) -> anyhow::Result<Arc<dyn TaskGenerator>> {
    // Ask the kind's default source first: a generating kind has no `path`
    // key, and would otherwise fail with a less helpful unknown-key error.
    if default_task_source(kind)?.fixed_tasks().is_none() {
        bail!("task kind `{kind}` generates its tasks and reads no file (--data is for file-backed kinds such as math and choice)");
    }
    let text = source_toml(kind, data, settings)?;
    let config: Box<dyn TaskConfig> = from_toml_str(&text, "--task")?;
    let ctx = TaskContext {
        base_dir: std::env::current_dir()?,
        seed,
    };
    Ok(config.build_in(&ctx)?)
}
