//! The one training loop every trainer runs: finished-run detection,
//! resume from the newest checkpoint, the optimizer and its schedule, the
//! curriculum, the time budget, cancellation, checkpoints, step records
//! (`steps.jsonl` and the run's metrics), progress and curves. A trainer
//! supplies only its step ([`StepFn`]) and a typed record of it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use metaalign_core::trainer::TrainOutput;
use metaalign_core::{Error, Level, Policy, Result, TaskGenerator, TrainInputs};
use serde::Serialize;
use serde_json::json;

use super::common::{plot_curves, progress, resolve_levels, Layout, TrainerState};
use super::settings::CommonSettings;
use crate::optim::{AdamWConfig, Optimizer};
use crate::policy::{device_from_str, QwenPolicy};

/// What the loop needs to know about a trainer besides its step.
#[derive(Clone, Debug)]
pub struct LoopSpec {
    /// The trainer kind (checkpoints of another kind are refused).
    pub kind: String,
    pub common: CommonSettings,
    /// Learning rate at 7.6B parameters for the automatic scaling.
    pub base_lr_at_7b: f64,
    /// Optimizer updates per step (for the schedule's length).
    pub updates_per_step: usize,
    /// Log every this many steps (and the first).
    pub log_every: u64,
}

/// The state one step works on.
pub struct StepCx<'a> {
    pub policy: &'a QwenPolicy,
    pub opt: &'a mut Optimizer,
    pub sources: &'a [(String, Arc<dyn TaskGenerator>)],
    pub inputs: &'a TrainInputs,
    pub level: Level,
    /// Steps completed before this one.
    pub step: u64,
}

/// A step's typed record and what the loop acts on.
pub struct StepOutcome<M> {
    pub metrics: M,
    /// Nothing was learned (non-finite loss or gradients, no usable batch).
    pub skipped: bool,
    /// The step's mean reward, for reward-driven curricula (RL).
    pub reward: Option<f64>,
    /// Responses sampled in the step (RL; for `max_rollouts`).
    pub rollouts: u64,
}

/// A step's metrics: serialised into the step record, summarised in logs.
pub trait StepMetrics: Serialize {
    /// One log line (after `kind step N`).
    fn log_line(&self) -> String;
    /// The progress bar's message.
    fn bar_message(&self) -> String;
}

/// A trainer's step.
pub trait StepFn {
    type Metrics: StepMetrics;

    /// Called once with the starting policy, before a resume replaces it
    /// (the RL trainer takes its frozen reference here).
    fn prepare(&mut self, _start: &QwenPolicy) -> Result<()> {
        Ok(())
    }

    fn step(&mut self, cx: StepCx<'_>) -> Result<StepOutcome<Self::Metrics>>;
}

/// A line of `steps.jsonl`: the step's metrics and the loop's counters.
#[derive(Serialize)]
struct StepRecord<'a, M> {
    step: u64,
    #[serde(flatten)]
    metrics: &'a M,
    skipped_total: u64,
    #[serde(skip_serializing_if = "is_zero")]
    rollouts_total: u64,
    step_s: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Runs a blocking trainer body on tokio's blocking pool.
pub(crate) async fn run_blocking<F>(f: F) -> Result<TrainOutput>
where
    F: FnOnce() -> Result<TrainOutput> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::msg(format!("trainer thread failed: {e}")))?
}

/// Trains with `step_fn` until the curriculum or the budget ends.
pub fn run<S: StepFn>(spec: &LoopSpec, inputs: TrainInputs, mut step_fn: S) -> Result<TrainOutput> {
    let kind = spec.kind.as_str();
    let common = &spec.common;
    common.validate(kind)?;
    let layout = Layout::new(&inputs.out_dir);
    std::fs::create_dir_all(&layout.root).map_err(|e| Error::io(&layout.root, e))?;
    if let Some(out) = finished_output(&layout, kind)? {
        return Ok(out);
    }
    let sources: Vec<(String, Arc<dyn TaskGenerator>)> = inputs
        .tasks
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if sources.is_empty() {
        return Err(Error::config(format!("trainer `{kind}`: no task sources")));
    }
    let levels = resolve_levels(&inputs.levels, &sources)?;
    let device = device_from_str(&inputs.device)?;
    let start = start_policy(&inputs.start, common, &layout, inputs.seed, &device)?;
    step_fn.prepare(&start)?;
    let (mut policy, mut state, resume_dir) = match layout.latest()? {
        Some((dir, st)) => {
            check_resumable(&st, kind, &inputs, &levels, &dir)?;
            drop(start);
            (
                QwenPolicy::load_with(&dir.join("model"), &device, base_dtype(common))?,
                st,
                Some(dir),
            )
        }
        None => {
            let lr = common.lr_for(start.num_parameters(), spec.base_lr_at_7b);
            let st = TrainerState::new(kind, &inputs, &levels, lr);
            (start, st, None)
        }
    };
    policy.set_gradient_checkpointing(common.gradient_checkpointing);
    let total_updates = state.max_steps(common) as usize * spec.updates_per_step.max(1);
    let mut opt = Optimizer::new(
        policy.trainable_vars(),
        AdamWConfig {
            lr: state.learning_rate,
            weight_decay: common.weight_decay,
            max_grad_norm: common.max_grad_norm,
            ..AdamWConfig::default()
        },
        common.schedule(total_updates),
    )?;
    match &resume_dir {
        Some(dir) => {
            opt.load_state(&dir.join("optimizer.safetensors"))?;
            layout.truncate_steps(state.step)?;
            tracing::info!(step = state.step, "{kind}: resuming from {}", dir.display());
        }
        None => {
            let _ = std::fs::remove_file(layout.steps());
        }
    }
    policy.check_gradient_coverage()?;
    tracing::info!(
        "{kind}: {} parameters, lr {:.3e}, levels {:?}",
        policy.num_parameters(),
        state.learning_rate,
        state.levels,
    );
    let bar = progress(state.max_steps(common), kind);
    bar.set_position(state.step);
    let mut last_saved = state.step;
    loop {
        if state.curriculum_done() || budget_spent(&state, common) {
            break;
        }
        if inputs.cancel.is_cancelled() {
            if state.step > last_saved {
                layout.save_checkpoint(&policy, &opt, &state, common.keep_checkpoints)?;
            }
            bar.abandon();
            return Err(Error::Interrupted);
        }
        let Some(level) = state.level() else { break };
        let t0 = Instant::now();
        let outcome = step_fn.step(StepCx {
            policy: &policy,
            opt: &mut opt,
            sources: &sources,
            inputs: &inputs,
            level,
            step: state.step,
        })?;
        if outcome.skipped {
            state.skipped_steps += 1;
            state.consecutive_bad += 1;
            if state.consecutive_bad >= common.max_bad_steps {
                bar.abandon();
                return Err(Error::msg(format!(
                    "trainer `{kind}`: {} steps in a row learned nothing (non-finite loss or gradients, \
                     or no usable advantages); stopped at step {}. The last good checkpoint is kept in {}",
                    state.consecutive_bad,
                    state.step + 1,
                    layout.checkpoints().display()
                )));
            }
        } else {
            state.consecutive_bad = 0;
        }
        state.advance(common, outcome.reward);
        state.rollouts += outcome.rollouts;
        let step_s = t0.elapsed().as_secs_f64();
        state.elapsed_s += step_s;
        let record = serde_json::to_value(StepRecord {
            step: state.step,
            metrics: &outcome.metrics,
            skipped_total: state.skipped_steps,
            rollouts_total: state.rollouts,
            step_s,
        })?;
        layout.append_step(&record)?;
        inputs.metrics.log(record)?;
        if state.step % spec.log_every.max(1) == 0 || state.step == 1 {
            tracing::info!(
                "{kind} step {} L{}: {}",
                state.step,
                level.0,
                outcome.metrics.log_line()
            );
        }
        bar.set_position(state.step);
        bar.set_message(format!("L{} {}", level.0, outcome.metrics.bar_message()));
        if common.checkpoint_every > 0 && state.step % common.checkpoint_every as u64 == 0 {
            layout.save_checkpoint(&policy, &opt, &state, common.keep_checkpoints)?;
            last_saved = state.step;
        }
    }
    bar.finish();
    finish(
        &layout,
        &policy,
        &opt,
        &mut state,
        common.keep_checkpoints,
        kind,
    )
}

fn budget_spent(state: &TrainerState, common: &CommonSettings) -> bool {
    common
        .max_minutes
        .is_some_and(|m| state.elapsed_s >= m * 60.0)
        || common.max_rollouts.is_some_and(|m| state.rollouts >= m)
}

/// The output of a trainer that already finished in `layout`, if it did.
fn finished_output(layout: &Layout, kind: &str) -> Result<Option<TrainOutput>> {
    let done = layout.done();
    if !(done.is_file() && layout.model().join("config.json").is_file()) {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&done).map_err(|e| Error::io(&done, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    tracing::info!("{kind}: already finished in {}", layout.root.display());
    Ok(Some(TrainOutput {
        checkpoint: layout.model(),
        steps: v.get("steps").and_then(|s| s.as_u64()).unwrap_or(0),
        plots: v
            .get("plots")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(std::path::PathBuf::from))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// Refuses a checkpoint written by another run (kind, seed, levels, holdout).
fn check_resumable(
    st: &TrainerState,
    kind: &str,
    inputs: &TrainInputs,
    levels: &[Level],
    dir: &Path,
) -> Result<()> {
    let lv: Vec<u32> = levels.iter().map(|l| l.0).collect();
    let seed = inputs.seed;
    let refuse = |what: String| {
        Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            message: format!(
                "holds the state of another run ({what}); remove the folder to start over"
            ),
        })
    };
    if st.kind != kind || st.seed != seed || st.levels != lv {
        return refuse(format!(
            "kind {}, seed {}, levels {:?}; this run: {kind}, {seed}, {lv:?}",
            st.kind, st.seed, st.levels
        ));
    }
    // Other shares would draw other tasks from the same step on.
    if let Some(h) = st.holdout.filter(|h| *h != inputs.holdout) {
        return refuse(format!(
            "holdout test {} / validation {}; this run: {} / {}",
            h.test, h.validation, inputs.holdout.test, inputs.holdout.validation
        ));
    }
    Ok(())
}

/// How a resumed checkpoint's frozen base is held: as configured with an
/// adapter; full-weight training keeps f32.
fn base_dtype(common: &CommonSettings) -> crate::checkpoint::BaseDtype {
    if common.adapter.is_some() {
        common.base_dtype
    } else {
        crate::checkpoint::BaseDtype::F32
    }
}

/// The policy training starts from: the stage's input, with a fresh LoRA
/// adapter when the trainer asks for one. An input that is itself an
/// adapter is first merged into a plain checkpoint in the stage folder
/// (`base/`), which the new adapter then points at.
fn start_policy(
    dir: &std::path::Path,
    common: &CommonSettings,
    layout: &Layout,
    seed: u64,
    device: &candle_core::Device,
) -> Result<QwenPolicy> {
    let Some(adapter) = &common.adapter else {
        return QwenPolicy::load(dir, device);
    };
    let (policy, base_dir) = if crate::adapter::peft::is_adapter_dir(dir) {
        let base = layout.root.join("base");
        if !base.is_dir() {
            QwenPolicy::load(dir, device)?.merged()?.save(&base)?;
        }
        (
            QwenPolicy::load_with(&base, device, common.base_dtype)?,
            base,
        )
    } else {
        (
            QwenPolicy::load_with(dir, device, common.base_dtype)?,
            dir.to_path_buf(),
        )
    };
    policy.with_adapter(adapter.lora().clone(), None, seed, Some(base_dir))
}

/// Saves the final model, the last checkpoint and the done marker; plots.
fn finish(
    layout: &Layout,
    policy: &QwenPolicy,
    opt: &Optimizer,
    state: &mut TrainerState,
    keep: usize,
    kind: &str,
) -> Result<TrainOutput> {
    state.finished = true;
    layout.save_checkpoint(policy, opt, state, keep)?;
    policy.save(&layout.model())?;
    let plots = plot_curves(layout, kind);
    let done = json!({
        "kind": kind,
        "steps": state.step,
        "skipped_steps": state.skipped_steps,
        "elapsed_s": state.elapsed_s,
        "levels_completed": state.level_index.min(state.levels.len()),
        "plots": plots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    // The marker says "finished": never half-written.
    metaalign_core::atomic::write_atomic(&layout.done(), &serde_json::to_vec_pretty(&done)?)?;
    tracing::info!(
        "{kind}: finished after {} steps; model in {}",
        state.step,
        layout.model().display()
    );
    Ok(TrainOutput {
        checkpoint: layout.model(),
        steps: state.step,
        plots,
    })
}
