//! The declarative pipeline: run settings, a policy, task sources and an
//! ordered list of stages, executed into a run directory.
//!
//! - [`Pipeline`] ([`file`](mod@file)): reading a pipeline TOML file with precise
//!   errors (file, line, column, key; known kinds for an unknown `kind`);
//! - [`Plan`] ([`plan`]): checking stages fit together and describing a run;
//! - [`run`] ([`runner`]): executing it into `<out_dir>/<run name>/`;
//! - the types stages exchange with the runner (below).

pub(crate) mod de;
pub mod file;
mod hash;
pub mod plan;
mod report;
pub mod runner;
mod state;

pub use file::{paths, resolve_config_path, Pipeline, StageEntry};
pub use plan::{Plan, PlannedStage, POLICY_REF};
pub use report::{RunSummary, StageRecord, StageStatus};
pub use runner::{dry_run, run, RunOptions};

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::holdout::HoldOut;
use crate::task::TaskGenerator;

/// `[run]`: settings shared by every stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// The run's name: its folder under `out_dir`.
    pub name: String,
    /// Runs go to `<out_dir>/<name>/`.
    #[serde(default = "default_out_dir")]
    pub out_dir: PathBuf,
    /// The run seed; each stage derives its own from it.
    #[serde(default)]
    pub seed: u64,
    /// `cpu` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Shares of each level's puzzle space kept for test and validation
    /// sets and never drawn by a trainer (default 0.1 each).
    #[serde(default)]
    pub holdout: HoldOut,
    /// Memory the training stages may use, GiB. Unset: this machine's
    /// physical memory on `cpu`, unchecked on `cuda`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_gb: Option<f64>,
}

fn default_out_dir() -> PathBuf {
    PathBuf::from("runs")
}

fn default_device() -> String {
    "cpu".to_string()
}

/// What an artifact is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// An HF checkpoint directory.
    Model,
    /// A task dataset file (JSONL or parquet).
    Dataset,
    /// A report or any other file.
    File,
}

/// A produced artifact: a path plus what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// What it is.
    pub kind: ArtifactKind,
    /// Where it is.
    pub path: PathBuf,
}

/// A stage input: a role the stage gives it (`"from"`, `"models[0]"`) and
/// the reference it names (`"warmup.model"`, or `"policy"` for the run's
/// starting policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRef {
    /// What the stage uses it for (`"from"`, `"models[0]"`).
    pub role: String,
    /// The output it names (`"warmup.model"`, `"policy"`).
    pub reference: String,
    /// The kind of artifact the stage expects there.
    pub kind: ArtifactKind,
}

impl InputRef {
    /// An input that must be a model checkpoint.
    pub fn model(role: impl Into<String>, reference: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            reference: reference.into(),
            kind: ArtifactKind::Model,
        }
    }
}

/// A stage output: its name (referred to as `"<stage>.<name>"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDecl {
    /// The output's name within its stage.
    pub name: String,
    /// The kind of artifact it will be.
    pub kind: ArtifactKind,
}

impl OutputDecl {
    /// Declares output `name` of `kind`.
    pub fn new(name: impl Into<String>, kind: ArtifactKind) -> Self {
        Self {
            name: name.into(),
            kind,
        }
    }
}

/// What a finished stage hands back to the runner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageOutputs {
    /// Produced artifacts by output name (paths inside the stage folder).
    pub artifacts: BTreeMap<String, Artifact>,
    /// A markdown section for the run's `report.md`.
    #[serde(default)]
    pub report: Option<String>,
    /// A short markdown summary the run's `report.md` opens with (e.g. the
    /// paper's claims as an evaluation found them), before the stage table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// Set when the user interrupts the run; long loops check it between steps
/// and return [`Error::Interrupted`] after saving what they can.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Asks the run to stop, for every clone.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether any clone was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Error::Interrupted)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }
}

/// Appends JSON records (one per line) to a `metrics.jsonl`, tagging each
/// with the stage that wrote it. Cheap to clone; writes are line-atomic.
#[derive(Clone, Debug)]
pub struct MetricsSink {
    stage: String,
    file: Option<Arc<Mutex<File>>>,
}

impl MetricsSink {
    /// Appends to `path` (created if missing).
    pub fn open(path: &Path, stage: impl Into<String>) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            stage: stage.into(),
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    /// A sink that drops everything (library use without a run directory).
    pub fn discard() -> Self {
        Self {
            stage: String::new(),
            file: None,
        }
    }

    /// The same file, tagged with another stage name.
    pub fn for_stage(&self, stage: impl Into<String>) -> Self {
        Self {
            stage: stage.into(),
            file: self.file.clone(),
        }
    }

    /// Writes one record. `record` should be a JSON object; `stage` is added.
    pub fn log(&self, record: serde_json::Value) -> Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut record = record;
        if let serde_json::Value::Object(map) = &mut record {
            map.insert(
                "stage".into(),
                serde_json::Value::String(self.stage.clone()),
            );
        }
        let mut line = serde_json::to_string(&record)?;
        line.push('\n');
        let mut f = file
            .lock()
            .map_err(|_| Error::msg("metrics file lock poisoned"))?;
        f.write_all(line.as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| Error::io("metrics.jsonl", e))
    }
}

/// What a stage sees while validating.
pub struct ValidateContext<'a> {
    /// The run's `[run]` settings.
    pub settings: &'a RunSettings,
    /// Names of the task sources declared in `[tasks]`.
    pub task_names: Vec<String>,
    /// The config file's directory (relative paths resolve against it).
    pub base_dir: &'a Path,
    /// The starting policy's `config.json`, when `[policy]` knows it
    /// without building the model.
    pub architecture: Option<&'a serde_json::Value>,
}

/// What a stage sees while running.
pub struct StageContext {
    /// The stage's name.
    pub stage: String,
    /// The stage's own folder, `<run dir>/<stage name>/`.
    pub dir: PathBuf,
    /// The run directory, `<out_dir>/<run name>/`.
    pub run_dir: PathBuf,
    /// The run's `[run]` settings.
    pub settings: RunSettings,
    /// Resolved inputs by reference (`"warmup.model"` -> artifact).
    pub inputs: BTreeMap<String, Artifact>,
    /// Built task sources by name.
    pub tasks: BTreeMap<String, Arc<dyn TaskGenerator>>,
    /// The config file's directory (relative paths resolve against it).
    pub base_dir: PathBuf,
    /// The run's `metrics.jsonl`, tagged with this stage.
    pub metrics: MetricsSink,
    /// Set when the user interrupts the run.
    pub cancel: CancelFlag,
    /// The stage's seed: derived from the run seed and the stage name.
    pub seed: u64,
}

impl StageContext {
    /// The artifact an input reference resolved to.
    pub fn input(&self, reference: &str) -> Result<&Artifact> {
        self.inputs.get(reference).ok_or_else(|| {
            Error::Pipeline(format!(
                "stage `{}` asked for input `{reference}` which was not resolved",
                self.stage
            ))
        })
    }

    /// A task source by name.
    pub fn task(&self, name: &str) -> Result<&Arc<dyn TaskGenerator>> {
        self.tasks.get(name).ok_or_else(|| {
            Error::Pipeline(format!(
                "stage `{}` uses task source `{name}`, which is not declared in [tasks] (declared: {})",
                self.stage,
                self.tasks.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

/// Formats a TOML error with the file name, line and column (1-based) and
/// the offending line, so users can find the key at once.
pub fn describe_toml_error(text: &str, origin: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end();
    match err.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            let source_line = text.lines().nth(line - 1).unwrap_or("");
            format!("{origin}:{line}:{col}: {message}\n  {line} | {source_line}")
        }
        None => format!("{origin}: {message}"),
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
