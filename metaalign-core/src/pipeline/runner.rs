//! The runner: executes a pipeline's stages in order into its run
//! directory, skipping stages whose completion marker matches.
//!
//! Layout of `<out_dir>/<run name>/`:
//! - `config.toml`: a copy of the pipeline file;
//! - `policy/`: the materialized starting policy (when `[policy]` is set);
//! - `<stage name>/`: each stage's own folder and outputs;
//! - `metrics.jsonl`: every metric record, tagged with its stage;
//! - `report.md`: the stage table and each stage's report section;
//! - `.metaalign/<stage>.json`: the runner's markers (start key, completion).
//!
//! A stage's key hashes its config (as canonical JSON), its name, the run
//! seed and device, the fingerprints of the artifacts it reads and the
//! configs of the task sources it uses. A producer's fingerprint changes each
//! time it actually runs, so re-running (or forcing) a stage re-runs the
//! stages that read its outputs; an unchanged pipeline skips everything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::file::Pipeline;
use super::plan::{kind_name, Plan, POLICY_REF};
use super::{Artifact, ArtifactKind, CancelFlag, MetricsSink, StageContext, StageOutputs};
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::task::TaskGenerator;

/// The folder (inside the run directory) holding the runner's markers.
pub const STATE_DIR: &str = ".metaalign";

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stages (or `policy`) to run again even when their marker matches.
    /// A forced stage's folder is cleared first; stages that read its
    /// outputs run again too.
    pub force: Vec<String>,
    /// Set it (e.g. on Ctrl-C) to stop after the current step.
    pub cancel: CancelFlag,
}

/// What happened to a stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Ran to completion in this invocation.
    Ran,
    /// Up to date: its marker matched, its outputs were restored.
    Skipped,
    /// Failed with this message.
    Failed(String),
    /// Stopped by Ctrl-C; re-running resumes.
    Interrupted,
    /// Not reached (an earlier stage failed or was interrupted).
    Pending,
}

impl StageStatus {
    fn label(&self) -> &'static str {
        match self {
            StageStatus::Ran => "ran",
            StageStatus::Skipped => "skipped (up to date)",
            StageStatus::Failed(_) => "FAILED",
            StageStatus::Interrupted => "interrupted",
            StageStatus::Pending => "not run",
        }
    }
}

/// One stage's record in a [`RunSummary`].
#[derive(Clone, Debug)]
pub struct StageRecord {
    pub name: String,
    pub kind: String,
    pub status: StageStatus,
    /// Duration of the run that produced the outputs (for a skipped stage,
    /// of its earlier run).
    pub duration: Duration,
    pub outputs: StageOutputs,
}

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    /// The starting policy's checkpoint, when `[policy]` is set.
    pub policy: Option<PathBuf>,
    pub stages: Vec<StageRecord>,
}

impl RunSummary {
    pub fn stage(&self, name: &str) -> Option<&StageRecord> {
        self.stages.iter().find(|s| s.name == name)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StageState {
    /// Incremented each time the stage starts.
    generation: u64,
    /// The key of the last start (the folder belongs to it).
    started: Option<String>,
    completed: Option<Completed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Completed {
    key: String,
    /// Changes each time the stage actually runs; consumers hash it.
    fingerprint: String,
    /// Artifact paths relative to the run directory where possible.
    outputs: StageOutputs,
    duration_s: f64,
}

fn state_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(STATE_DIR).join(format!("{name}.json"))
}

fn load_state(run_dir: &Path, name: &str) -> Result<StageState> {
    let path = state_path(run_dir, name);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::data(format!(
                "{}: unreadable stage marker ({e}); delete it to re-run the stage",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StageState::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn save_state(run_dir: &Path, name: &str, state: &StageState) -> Result<()> {
    let path = state_path(run_dir, name);
    let dir = run_dir.join(STATE_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    write_atomic(&path, serde_json::to_string_pretty(state)?.as_bytes())
}

/// JSON with object keys sorted at every level and no whitespace, so equal
/// values hash equally whatever the field order.
pub fn canonical_json(value: &serde_json::Value) -> String {
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

fn fingerprint(key: &str, generation: u64) -> String {
    sha256_hex(&format!("{key}/{generation}"))
}

fn policy_key(pipeline: &Pipeline) -> Result<Option<String>> {
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

fn stage_key(
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

/// Makes artifact paths relative to the run directory (so a moved run
/// directory still resolves) or back to absolute.
fn relativize(outputs: &StageOutputs, run_dir: &Path) -> StageOutputs {
    let mut out = outputs.clone();
    for a in out.artifacts.values_mut() {
        if let Ok(rel) = a.path.strip_prefix(run_dir) {
            a.path = rel.to_path_buf();
        }
    }
    out
}

fn absolutize(outputs: &StageOutputs, run_dir: &Path) -> StageOutputs {
    let mut out = outputs.clone();
    for a in out.artifacts.values_mut() {
        if a.path.is_relative() {
            a.path = run_dir.join(&a.path);
        }
    }
    out
}

/// Whether a stage is up to date; `Err(reason)` says why it must run.
fn up_to_date(
    state: &StageState,
    key: &str,
    forced: bool,
    run_dir: &Path,
) -> std::result::Result<(Completed, StageOutputs), String> {
    if forced {
        return Err("forced".into());
    }
    let Some(done) = &state.completed else {
        // Mirrors the run: an unfinished folder is kept only for the same key.
        return Err(match state.started.as_deref() {
            Some(started) if started == key => "unfinished: resumes from its folder".into(),
            Some(_) => "unfinished, and its config or inputs changed: starts over".into(),
            None => "never ran".into(),
        });
    };
    if done.key != key {
        return Err("config or inputs changed".into());
    }
    let outputs = absolutize(&done.outputs, run_dir);
    if let Some((name, _)) = outputs.artifacts.iter().find(|(_, a)| !a.path.exists()) {
        return Err(format!("output `{name}` is missing"));
    }
    Ok((done.clone(), outputs))
}

fn clear_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

fn check_force(pipeline: &Pipeline, options: &RunOptions) -> Result<()> {
    for f in &options.force {
        let known = pipeline.stages.iter().any(|s| &s.name == f)
            || (f == POLICY_REF && pipeline.policy.is_some());
        if !known {
            let mut names: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
            if pipeline.policy.is_some() {
                names.insert(0, POLICY_REF);
            }
            return Err(Error::Pipeline(format!(
                "--force `{f}`: no such stage; stages: {}",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Validates the pipeline and says, for each stage, whether a run would
/// execute or skip it, without writing anything.
pub fn dry_run(pipeline: &Pipeline, options: &RunOptions) -> Result<Plan> {
    let mut plan = pipeline.plan()?;
    check_force(pipeline, options)?;
    let run_dir = pipeline.run_dir();
    let mut fingerprints = BTreeMap::new();
    if let Some(key) = policy_key(pipeline)? {
        let state = load_state(&run_dir, POLICY_REF)?;
        let forced = options.force.iter().any(|f| f == POLICY_REF);
        let fp = match up_to_date(&state, &key, forced, &run_dir) {
            Ok((done, _)) => done.fingerprint,
            Err(_) => fingerprint(&key, state.generation + 1),
        };
        fingerprints.insert(POLICY_REF.to_string(), fp);
    }
    for i in 0..pipeline.stages.len() {
        let name = pipeline.stages[i].name.clone();
        let key = stage_key(pipeline, i, &fingerprints)?;
        let state = load_state(&run_dir, &name)?;
        let forced = options.force.contains(&name);
        let (status, fp) = match up_to_date(&state, &key, forced, &run_dir) {
            Ok((done, _)) => ("up to date: would skip".to_string(), done.fingerprint),
            Err(why) => (
                format!("would run ({why})"),
                fingerprint(&key, state.generation + 1),
            ),
        };
        plan.stages[i].status = Some(status);
        fingerprints.insert(name, fp);
    }
    Ok(plan)
}

/// Runs a pipeline into `<out_dir>/<run name>/`. See the module docs.
///
/// A failing stage returns [`Error::Stage`] naming it; stages completed
/// before it keep their markers and outputs. An interrupted run returns
/// [`Error::Interrupted`]; running again resumes.
pub async fn run(pipeline: &Pipeline, options: &RunOptions) -> Result<RunSummary> {
    let plan = pipeline.plan()?;
    check_force(pipeline, options)?;
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }
    let run_dir = pipeline.run_dir();
    std::fs::create_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
    write_atomic(&run_dir.join("config.toml"), pipeline.source.as_bytes())?;
    let metrics = MetricsSink::open(&run_dir.join("metrics.jsonl"), "runner")?;

    let mut summary = RunSummary {
        run_dir: run_dir.clone(),
        policy: None,
        stages: pipeline
            .stages
            .iter()
            .map(|s| StageRecord {
                name: s.name.clone(),
                kind: s.kind.clone(),
                status: StageStatus::Pending,
                duration: Duration::ZERO,
                outputs: StageOutputs::default(),
            })
            .collect(),
    };
    let mut resolved: BTreeMap<String, Artifact> = BTreeMap::new();
    let mut fingerprints: BTreeMap<String, String> = BTreeMap::new();

    if let (Some(policy), Some(key)) = (&pipeline.policy, policy_key(pipeline)?) {
        let forced = options.force.iter().any(|f| f == POLICY_REF);
        let mut state = load_state(&run_dir, POLICY_REF)?;
        let (path, fp) = match up_to_date(&state, &key, forced, &run_dir) {
            Ok((done, outputs)) => {
                tracing::info!("policy: up to date ({})", policy.describe());
                let path = outputs
                    .artifacts
                    .get("model")
                    .map(|a| a.path.clone())
                    .ok_or_else(|| Error::data("policy marker has no `model` output"))?;
                (path, done.fingerprint)
            }
            Err(why) => {
                tracing::info!("policy: materializing {} ({why})", policy.describe());
                let dir = run_dir.join(POLICY_REF);
                if forced || state.started.as_deref() != Some(key.as_str()) {
                    clear_dir(&dir)?;
                }
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                state.generation += 1;
                state.started = Some(key.clone());
                state.completed = None;
                save_state(&run_dir, POLICY_REF, &state)?;
                let started = Instant::now();
                let path = policy
                    .materialize(&dir, pipeline.settings.seed, &pipeline.settings.device)
                    .map_err(|e| Error::Stage {
                        stage: POLICY_REF.to_string(),
                        source: Box::new(e),
                    })?;
                let path = if path.is_relative() {
                    pipeline.base_dir.join(path)
                } else {
                    path
                };
                let mut outputs = StageOutputs::default();
                outputs.artifacts.insert(
                    "model".into(),
                    Artifact {
                        kind: ArtifactKind::Model,
                        path: path.clone(),
                    },
                );
                let fp = fingerprint(&key, state.generation);
                state.completed = Some(Completed {
                    key: key.clone(),
                    fingerprint: fp.clone(),
                    outputs: relativize(&outputs, &run_dir),
                    duration_s: started.elapsed().as_secs_f64(),
                });
                save_state(&run_dir, POLICY_REF, &state)?;
                (path, fp)
            }
        };
        resolved.insert(
            POLICY_REF.to_string(),
            Artifact {
                kind: ArtifactKind::Model,
                path: path.clone(),
            },
        );
        fingerprints.insert(POLICY_REF.to_string(), fp);
        summary.policy = Some(path);
    }

    let mut tasks: Option<BTreeMap<String, Arc<dyn TaskGenerator>>> = None;
    // The overall bar sits above the running stage's own bar. An early return
    // drops it, which leaves it on screen where the run stopped; a finished
    // run clears it.
    let overall = crate::progress::bar(pipeline.stages.len() as u64, "pipeline", "stages");
    // Ticks on its own so its clock runs while a stage works below it.
    overall.enable_steady_tick(Duration::from_secs(1));
    for i in 0..pipeline.stages.len() {
        let entry = &pipeline.stages[i];
        let name = entry.name.clone();
        overall.set_message(format!("`{name}` ({})", entry.kind));
        let key = stage_key(pipeline, i, &fingerprints)?;
        let forced = options.force.contains(&name);
        let mut state = load_state(&run_dir, &name)?;

        let why = match up_to_date(&state, &key, forced, &run_dir) {
            Ok((done, outputs)) => {
                tracing::info!("stage `{name}`: up to date, skipped");
                for (out, artifact) in &outputs.artifacts {
                    resolved.insert(format!("{name}.{out}"), artifact.clone());
                }
                fingerprints.insert(name.clone(), done.fingerprint.clone());
                let record = &mut summary.stages[i];
                record.status = StageStatus::Skipped;
                record.duration = Duration::from_secs_f64(done.duration_s.max(0.0));
                record.outputs = outputs;
                write_report(pipeline, &summary)?;
                overall.inc(1);
                continue;
            }
            Err(why) => why,
        };

        if options.cancel.is_cancelled() {
            summary.stages[i].status = StageStatus::Interrupted;
            write_report(pipeline, &summary)?;
            return Err(interrupted(&name));
        }

        if tasks.is_none() {
            tasks = Some(build_tasks(pipeline)?);
        }
        let task_sources = tasks.clone().unwrap_or_default();

        let dir = run_dir.join(&name);
        if forced || state.started.as_deref() != Some(key.as_str()) {
            if dir.exists() {
                tracing::info!("stage `{name}`: clearing {} ({why})", dir.display());
            }
            clear_dir(&dir)?;
        } else if dir.exists() {
            tracing::info!("stage `{name}`: resuming in {}", dir.display());
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        state.generation += 1;
        state.started = Some(key.clone());
        state.completed = None;
        save_state(&run_dir, &name, &state)?;

        let inputs: BTreeMap<String, Artifact> = entry
            .config
            .inputs()
            .iter()
            .filter_map(|input| {
                resolved
                    .get(&input.reference)
                    .map(|a| (input.reference.clone(), a.clone()))
            })
            .collect();
        let ctx = StageContext {
            stage: name.clone(),
            dir: dir.clone(),
            run_dir: run_dir.clone(),
            settings: pipeline.settings.clone(),
            inputs,
            tasks: task_sources,
            base_dir: pipeline.base_dir.clone(),
            metrics: metrics.for_stage(&name),
            cancel: options.cancel.clone(),
            seed: crate::seed::derive_seed(pipeline.settings.seed, &name),
        };
        tracing::info!("stage `{name}` ({}): running ({why})", entry.kind);
        metrics.for_stage(&name).log(serde_json::json!({
            "event": "stage_start",
            "kind": entry.kind,
            "reason": why,
        }))?;
        let started = Instant::now();
        let result = entry.config.run(ctx).await;
        let elapsed = started.elapsed();
        let outputs = match result.and_then(|o| check_outputs(pipeline, i, o)) {
            Ok(outputs) => outputs,
            Err(err) => {
                let cancelled = matches!(err, Error::Interrupted) || options.cancel.is_cancelled();
                let record = &mut summary.stages[i];
                record.duration = elapsed;
                metrics.for_stage(&name).log(serde_json::json!({
                    "event": if cancelled { "stage_interrupted" } else { "stage_failed" },
                    "duration_s": elapsed.as_secs_f64(),
                    "error": err.to_string(),
                }))?;
                if cancelled {
                    record.status = StageStatus::Interrupted;
                    write_report(pipeline, &summary)?;
                    return Err(interrupted(&name));
                }
                record.status = StageStatus::Failed(err.to_string());
                write_report(pipeline, &summary)?;
                return Err(Error::Stage {
                    stage: name,
                    source: Box::new(err),
                });
            }
        };
        let fp = fingerprint(&key, state.generation);
        state.completed = Some(Completed {
            key,
            fingerprint: fp.clone(),
            outputs: relativize(&outputs, &run_dir),
            duration_s: elapsed.as_secs_f64(),
        });
        save_state(&run_dir, &name, &state)?;
        metrics.for_stage(&name).log(serde_json::json!({
            "event": "stage_end",
            "duration_s": elapsed.as_secs_f64(),
        }))?;
        tracing::info!("stage `{name}`: done in {:.1} s", elapsed.as_secs_f64());
        for (out, artifact) in &outputs.artifacts {
            resolved.insert(format!("{name}.{out}"), artifact.clone());
        }
        fingerprints.insert(name, fp);
        let record = &mut summary.stages[i];
        record.status = StageStatus::Ran;
        record.duration = elapsed;
        record.outputs = outputs;
        write_report(pipeline, &summary)?;
        overall.inc(1);
    }
    overall.finish_and_clear();
    write_report(pipeline, &summary)?;
    Ok(summary)
}

fn interrupted(stage: &str) -> Error {
    tracing::warn!(
        "interrupted during stage `{stage}`: finished stages are kept; run the same command again to resume"
    );
    Error::Interrupted
}

fn build_tasks(pipeline: &Pipeline) -> Result<BTreeMap<String, Arc<dyn TaskGenerator>>> {
    let ctx = crate::config::TaskContext {
        base_dir: pipeline.base_dir.clone(),
        seed: pipeline.settings.seed,
    };
    let mut tasks = BTreeMap::new();
    for (name, config) in &pipeline.tasks {
        let built = config
            .build_in(&ctx)
            .map_err(|e| Error::config(format!("[tasks.{name}]: {e}")))?;
        tasks.insert(name.clone(), built);
    }
    Ok(tasks)
}

/// A stage must hand back every output it declared, of the declared kind.
fn check_outputs(pipeline: &Pipeline, index: usize, outputs: StageOutputs) -> Result<StageOutputs> {
    let entry = &pipeline.stages[index];
    for decl in entry.config.outputs() {
        match outputs.artifacts.get(&decl.name) {
            None => {
                return Err(Error::Pipeline(format!(
                    "stage `{}` (kind `{}`) finished without its declared output `{}`",
                    entry.name, entry.kind, decl.name
                )))
            }
            Some(a) if a.kind != decl.kind => {
                return Err(Error::Pipeline(format!(
                    "stage `{}` returned output `{}` as a {}, but declared a {}",
                    entry.name,
                    decl.name,
                    kind_name(a.kind),
                    kind_name(decl.kind)
                )))
            }
            Some(_) => {}
        }
    }
    Ok(outputs)
}

/// Writes `report.md`: the stage table, then each stage's own section.
fn write_report(pipeline: &Pipeline, summary: &RunSummary) -> Result<()> {
    let run_dir = &summary.run_dir;
    let mut md = String::new();
    let s = &pipeline.settings;
    let _ = writeln!(md, "# Run `{}`\n", s.name);
    let _ = writeln!(
        md,
        "Config: `config.toml` (copied from `{}`) · seed {} · device `{}`\n",
        pipeline.origin, s.seed, s.device
    );
    if let (Some(policy), Some(path)) = (&pipeline.policy, &summary.policy) {
        let _ = writeln!(
            md,
            "Starting policy: {} → `{}`\n",
            policy.describe(),
            display_rel(path, run_dir)
        );
    }
    // Stage summaries first: what the run found, before how it ran.
    let summaries: Vec<(&str, &str)> = summary
        .stages
        .iter()
        .filter(|r| !matches!(r.status, StageStatus::Failed(_)))
        .filter_map(|r| Some((r.name.as_str(), r.outputs.summary.as_deref()?)))
        .collect();
    for (name, text) in &summaries {
        let _ = writeln!(md, "## Summary (stage `{name}`)\n\n{}\n", text.trim_end());
    }
    if !summaries.is_empty() {
        let _ = writeln!(md, "## Stages\n");
    }
    let _ = writeln!(md, "| # | stage | kind | status | duration | outputs |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (i, r) in summary.stages.iter().enumerate() {
        let outputs: Vec<String> = r
            .outputs
            .artifacts
            .iter()
            .map(|(n, a)| format!("`{n}`: `{}`", display_rel(&a.path, run_dir)))
            .collect();
        let duration = if r.status == StageStatus::Pending {
            "–".to_string()
        } else {
            format_duration(r.duration)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            r.name,
            r.kind,
            r.status.label(),
            duration,
            if outputs.is_empty() {
                "–".to_string()
            } else {
                outputs.join("<br>")
            }
        );
    }
    for r in &summary.stages {
        if let StageStatus::Failed(message) = &r.status {
            let _ = writeln!(md, "\n## {} (failed)\n\n```\n{message}\n```", r.name);
        } else if let Some(section) = &r.outputs.report {
            let _ = writeln!(md, "\n## {}\n\n{}", r.name, section.trim_end());
        }
    }
    if summary
        .stages
        .iter()
        .any(|r| r.status == StageStatus::Interrupted)
    {
        let _ = writeln!(
            md,
            "\nThe run was interrupted. Run the same command again to resume: finished stages are skipped and the interrupted one continues from its folder."
        );
    }
    write_atomic(&run_dir.join("report.md"), md.as_bytes())
}

fn display_rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}
