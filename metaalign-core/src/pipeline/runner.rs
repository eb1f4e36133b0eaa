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
//!
//! This file is the orchestration; the plan is [`super::plan`], the keys
//! are `hash.rs`, the markers `state.rs` and the report `report.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::file::Pipeline;
use super::hash::{policy_key, stage_key};
use super::plan::{kind_name, Plan, POLICY_REF};
use super::report::write_report;
pub use super::report::{RunSummary, StageRecord, StageStatus};
use super::state::{Folder, Marker};
use super::{Artifact, ArtifactKind, CancelFlag, MetricsSink, StageContext, StageOutputs};
use crate::atomic::write_atomic;
use crate::config::PolicyConfig;
use crate::error::{Error, Result};
use crate::task::TaskGenerator;

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

impl RunOptions {
    fn forces(&self, name: &str) -> bool {
        self.force.iter().any(|f| f == name)
    }
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
        let marker = Marker::load(&run_dir, POLICY_REF, key, options.forces(POLICY_REF))?;
        fingerprints.insert(POLICY_REF.to_string(), marker.fingerprint());
    }
    for i in 0..pipeline.stages.len() {
        let name = pipeline.stages[i].name.clone();
        let key = stage_key(pipeline, i, &fingerprints)?;
        let marker = Marker::load(&run_dir, &name, key, options.forces(&name))?;
        let status = match marker.check() {
            Ok(_) => "up to date: would skip".to_string(),
            Err(why) => format!("would run ({why})"),
        };
        plan.stages[i].status = Some(status);
        fingerprints.insert(name, marker.fingerprint());
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
    let mut state = RunState {
        pipeline,
        options,
        metrics: MetricsSink::open(&run_dir.join("metrics.jsonl"), "runner")?,
        summary: RunSummary::new(pipeline, run_dir.clone()),
        run_dir,
        resolved: BTreeMap::new(),
        fingerprints: BTreeMap::new(),
        tasks: None,
    };

    if let (Some(policy), Some(key)) = (&pipeline.policy, policy_key(pipeline)?) {
        state.policy(policy.as_ref(), key)?;
    }

    // The overall bar sits above the running stage's own bar. An early return
    // drops it, which leaves it on screen where the run stopped; a finished
    // run clears it.
    let overall = crate::progress::bar(pipeline.stages.len() as u64, "pipeline", "stages");
    // Ticks on its own so its clock runs while a stage works below it.
    overall.enable_steady_tick(Duration::from_secs(1));
    for (i, entry) in pipeline.stages.iter().enumerate() {
        overall.set_message(format!("`{}` ({})", entry.name, entry.kind));
        state.stage(i).await?;
        write_report(pipeline, &state.summary)?;
        overall.inc(1);
    }
    overall.finish_and_clear();
    write_report(pipeline, &state.summary)?;
    Ok(state.summary)
}

/// What a run carries from one stage to the next.
struct RunState<'a> {
    pipeline: &'a Pipeline,
    options: &'a RunOptions,
    run_dir: PathBuf,
    metrics: MetricsSink,
    summary: RunSummary,
    /// Artifacts by reference (`"policy"`, `"<stage>.<output>"`).
    resolved: BTreeMap<String, Artifact>,
    /// Fingerprints by producer (`"policy"`, stage name).
    fingerprints: BTreeMap<String, String>,
    /// Task sources, built when the first stage runs.
    tasks: Option<BTreeMap<String, Arc<dyn TaskGenerator>>>,
}

impl RunState<'_> {
    /// Restores or materializes the starting policy.
    fn policy(&mut self, policy: &dyn PolicyConfig, key: String) -> Result<()> {
        let (pipeline, run_dir) = (self.pipeline, &self.run_dir);
        let mut marker = Marker::load(run_dir, POLICY_REF, key, self.options.forces(POLICY_REF))?;
        let (path, fp) = match marker.check() {
            Ok(done) => {
                tracing::info!("policy: up to date ({})", policy.describe());
                let path = done
                    .outputs
                    .artifacts
                    .get("model")
                    .map(|a| a.path.clone())
                    .ok_or_else(|| Error::data("policy marker has no `model` output"))?;
                (path, done.fingerprint)
            }
            Err(why) => {
                tracing::info!("policy: materializing {} ({why})", policy.describe());
                let dir = marker.start()?;
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
                let fp = marker.finish(&outputs, started.elapsed())?;
                (path, fp)
            }
        };
        self.resolved.insert(
            POLICY_REF.to_string(),
            Artifact {
                kind: ArtifactKind::Model,
                path: path.clone(),
            },
        );
        self.fingerprints.insert(POLICY_REF.to_string(), fp);
        self.summary.policy = Some(path);
        Ok(())
    }

    /// Skips stage `index` when it is up to date, else runs it. A failed or
    /// interrupted stage is recorded (and the report written) before the
    /// error returns.
    async fn stage(&mut self, index: usize) -> Result<()> {
        let pipeline = self.pipeline;
        let entry = &pipeline.stages[index];
        let name = entry.name.clone();
        let key = stage_key(pipeline, index, &self.fingerprints)?;
        let mut marker = Marker::load(&self.run_dir, &name, key, self.options.forces(&name))?;
        let why = match marker.check() {
            Ok(done) => {
                tracing::info!("stage `{name}`: up to date, skipped");
                self.finished(
                    index,
                    StageStatus::Skipped,
                    done.duration,
                    done.outputs,
                    done.fingerprint,
                );
                return Ok(());
            }
            Err(why) => why,
        };

        if self.options.cancel.is_cancelled() {
            self.summary.stages[index].status = StageStatus::Interrupted;
            write_report(pipeline, &self.summary)?;
            return Err(interrupted(&name));
        }

        if self.tasks.is_none() {
            self.tasks = Some(build_tasks(pipeline)?);
        }
        let task_sources = self.tasks.clone().unwrap_or_default();

        match marker.folder() {
            Folder::Clear => {
                let dir = marker.dir();
                tracing::info!("stage `{name}`: clearing {} ({why})", dir.display());
            }
            Folder::Resume => {
                let dir = marker.dir();
                tracing::info!("stage `{name}`: resuming in {}", dir.display());
            }
            Folder::New => {}
        }
        let dir = marker.start()?;

        let inputs: BTreeMap<String, Artifact> = entry
            .config
            .inputs()
            .iter()
            .filter_map(|input| {
                self.resolved
                    .get(&input.reference)
                    .map(|a| (input.reference.clone(), a.clone()))
            })
            .collect();
        let ctx = StageContext {
            stage: name.clone(),
            dir,
            run_dir: self.run_dir.clone(),
            settings: pipeline.settings.clone(),
            inputs,
            tasks: task_sources,
            base_dir: pipeline.base_dir.clone(),
            metrics: self.metrics.for_stage(&name),
            cancel: self.options.cancel.clone(),
            seed: crate::seed::derive_seed(pipeline.settings.seed, &name),
        };
        tracing::info!("stage `{name}` ({}): running ({why})", entry.kind);
        self.metrics.for_stage(&name).log(serde_json::json!({
            "event": "stage_start",
            "kind": entry.kind,
            "reason": why,
        }))?;
        let started = Instant::now();
        let result = entry.config.run(ctx).await;
        let elapsed = started.elapsed();
        let outputs = match result.and_then(|o| check_outputs(pipeline, index, o)) {
            Ok(outputs) => outputs,
            Err(err) => return self.failed(index, elapsed, err),
        };
        let fp = marker.finish(&outputs, elapsed)?;
        self.metrics.for_stage(&name).log(serde_json::json!({
            "event": "stage_end",
            "duration_s": elapsed.as_secs_f64(),
        }))?;
        tracing::info!("stage `{name}`: done in {:.1} s", elapsed.as_secs_f64());
        self.finished(index, StageStatus::Ran, elapsed, outputs, fp);
        Ok(())
    }

    /// Records a stage that ran or was skipped: its outputs become
    /// resolvable and its fingerprint known to the stages after it.
    fn finished(
        &mut self,
        index: usize,
        status: StageStatus,
        duration: Duration,
        outputs: StageOutputs,
        fingerprint: String,
    ) {
        let name = &self.pipeline.stages[index].name;
        for (out, artifact) in &outputs.artifacts {
            self.resolved
                .insert(format!("{name}.{out}"), artifact.clone());
        }
        self.fingerprints.insert(name.clone(), fingerprint);
        let record = &mut self.summary.stages[index];
        record.status = status;
        record.duration = duration;
        record.outputs = outputs;
    }

    /// Records a stage that failed or was interrupted, writes the report,
    /// and returns the error the run ends with.
    fn failed(&mut self, index: usize, elapsed: Duration, err: Error) -> Result<()> {
        let name = self.pipeline.stages[index].name.clone();
        let cancelled = matches!(err, Error::Interrupted) || self.options.cancel.is_cancelled();
        let record = &mut self.summary.stages[index];
        record.duration = elapsed;
        self.metrics.for_stage(&name).log(serde_json::json!({
            "event": if cancelled { "stage_interrupted" } else { "stage_failed" },
            "duration_s": elapsed.as_secs_f64(),
            "error": err.to_string(),
        }))?;
        if cancelled {
            record.status = StageStatus::Interrupted;
            write_report(self.pipeline, &self.summary)?;
            return Err(interrupted(&name));
        }
        record.status = StageStatus::Failed(err.to_string());
        write_report(self.pipeline, &self.summary)?;
        Err(Error::Stage {
            stage: name,
            source: Box::new(err),
        })
    }
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
