//! What the RL and SFT trainers share: trainer state, resumable
//! checkpoints, the curriculum, the task stream, step records and plots.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use metaalign_core::seed::{derive_seed, item_rng};
use metaalign_core::{Error, HoldOut, Level, Part, Result, Task, TaskGenerator, TrainInputs};
use serde::{Deserialize, Serialize};

use super::settings::CommonSettings;
use crate::optim::Optimizer;
use crate::policy::QwenPolicy;
use metaalign_core::Policy;

/// Everything besides weights and optimizer moments that a resumed run
/// needs to continue exactly where it stopped. All randomness is derived
/// from `(seed, step, ...)`, so the step counter *is* the RNG state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// The trainer kind that wrote the state (a resume must match it).
    pub kind: String,
    /// The run seed (a resume must match it).
    pub seed: u64,
    /// Completed steps.
    pub step: u64,
    /// Curriculum position: index into `levels` and steps done there.
    pub level_index: usize,
    /// Steps completed at the current level.
    pub steps_in_level: usize,
    /// The curriculum's levels, in order.
    pub levels: Vec<u32>,
    /// Steps skipped for non-finite loss or gradients (total / in a row).
    pub skipped_steps: u64,
    /// Skipped steps in a row (the stage stops at `max_bad_steps`).
    pub consecutive_bad: usize,
    /// Training wall-clock seconds, summed over resumes.
    pub elapsed_s: f64,
    /// Responses sampled so far (RL), summed over resumes.
    #[serde(default)]
    pub rollouts: u64,
    /// The run ended (curriculum done or budget spent) and saved its final model.
    pub finished: bool,
    /// Learning rate actually used (after automatic scaling).
    pub learning_rate: f64,
    /// The held-out shares the run's task draws respected (absent in states
    /// written before they existed).
    #[serde(default)]
    pub holdout: Option<HoldOut>,
}

impl TrainerState {
    /// The state before step 1 of a run with these inputs (whose seed and
    /// holdout a resume must match, see `check_resumable`).
    pub fn new(kind: &str, inputs: &TrainInputs, levels: &[Level], lr: f64) -> Self {
        Self {
            kind: kind.to_string(),
            seed: inputs.seed,
            step: 0,
            level_index: 0,
            steps_in_level: 0,
            levels: levels.iter().map(|l| l.0).collect(),
            skipped_steps: 0,
            consecutive_bad: 0,
            elapsed_s: 0.0,
            rollouts: 0,
            finished: false,
            learning_rate: lr,
            holdout: Some(inputs.holdout),
        }
    }

    pub(crate) fn level(&self) -> Option<Level> {
        self.levels.get(self.level_index).copied().map(Level)
    }

    /// Moves the curriculum after a completed step with mean reward
    /// `reward` (None for SFT). Returns true when it advanced a level.
    pub fn advance(&mut self, cfg: &CommonSettings, reward: Option<f64>) -> bool {
        self.step += 1;
        self.steps_in_level += 1;
        let by_steps = self.steps_in_level >= cfg.steps_per_level;
        let by_reward = match (cfg.advance_reward, reward) {
            (Some(t), Some(r)) => r >= t && self.steps_in_level >= cfg.min_steps_per_level,
            _ => false,
        };
        if by_steps || by_reward {
            self.level_index += 1;
            self.steps_in_level = 0;
            true
        } else {
            false
        }
    }

    pub(crate) fn curriculum_done(&self) -> bool {
        self.level_index >= self.levels.len()
    }

    /// Upper bound on the steps of the whole curriculum.
    pub fn max_steps(&self, cfg: &CommonSettings) -> u64 {
        (self.levels.len() * cfg.steps_per_level) as u64
    }
}

/// The curriculum levels: the stage's, else the lowest level of each
/// generated source and every level of each file-backed one.
pub fn resolve_levels(
    levels: &[Level],
    sources: &[(String, Arc<dyn TaskGenerator>)],
) -> Result<Vec<Level>> {
    let levels: Vec<Level> = if levels.is_empty() {
        // A file's source contributes all its levels (training on a file
        // means its whole content); a generator its lowest.
        let mut v: Vec<Level> = sources
            .iter()
            .flat_map(|(_, g)| {
                let all = g.levels();
                if g.fixed_tasks().is_some() {
                    all
                } else {
                    all.into_iter().take(1).collect()
                }
            })
            .collect();
        v.sort();
        v.dedup();
        v
    } else {
        levels.to_vec()
    };
    if levels.is_empty() {
        return Err(Error::config(
            "trainer: no curriculum levels and no task sources",
        ));
    }
    for (name, g) in sources {
        let have = g.levels();
        for l in &levels {
            if !have.contains(l) {
                return Err(Error::config(format!(
                    "trainer: task source `{name}` ({}) has no level {l}; its levels are {}",
                    g.kind(),
                    have.iter()
                        .map(|l| l.0.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    Ok(levels)
}

/// Task `p` of step `step`: sources are used round robin; each source and
/// level has its own seed stream (`train/<source>/L<level>`), disjoint from
/// the evaluation streams, and the task index is `step · per_step + p`.
/// Puzzles `holdout` keeps for test or validation sets are redrawn (from the
/// same item stream, so the result stays a function of the index).
pub fn draw_task(
    sources: &[(String, Arc<dyn TaskGenerator>)],
    seed: u64,
    holdout: &HoldOut,
    level: Level,
    step: u64,
    per_step: usize,
    p: usize,
) -> Result<(usize, Task)> {
    draw_task_in_batch(sources, seed, holdout, level, step, per_step, p, 0)
}

/// [`draw_task`] for the `batch`-th rollout batch of a step: batch 0 is
/// the step's own draw; later ones (dynamic sampling's extra prompts) come
/// from streams of their own (`…/extra<batch>`), so they never repeat the
/// prompts of another step.
#[allow(clippy::too_many_arguments)]
pub fn draw_task_in_batch(
    sources: &[(String, Arc<dyn TaskGenerator>)],
    seed: u64,
    holdout: &HoldOut,
    level: Level,
    step: u64,
    per_step: usize,
    p: usize,
    batch: usize,
) -> Result<(usize, Task)> {
    /// Redraws before concluding that the training part is empty.
    const MAX_REDRAWS: usize = 10_000;
    let index = step * per_step as u64 + p as u64;
    let s = (index % sources.len() as u64) as usize;
    let (name, generator) = &sources[s];
    let mut label = format!("train/{name}/L{}", level.0);
    if batch > 0 {
        label.push_str(&format!("/extra{batch}"));
    }
    let stream = derive_seed(seed, &label);
    let mut rng = item_rng(stream, "task", index);
    for _ in 0..MAX_REDRAWS {
        let task = generator.generate(level, index, &mut rng)?;
        if holdout.part_of(&task.puzzle) == Part::Train {
            return Ok((s, task));
        }
    }
    Err(Error::data(format!(
        "task source `{name}` level {level}: {MAX_REDRAWS} draws in a row were held out \
         (holdout test {}, validation {}); lower `[run] holdout` shares",
        holdout.test, holdout.validation
    )))
}

/// The seed of anything random in step `step` (sampling, shuffling).
pub fn step_seed(seed: u64, what: &str, step: u64) -> u64 {
    derive_seed(seed, &format!("{what}/{step}"))
}

/// Files of a trainer's output directory.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The trainer's output directory.
    pub root: PathBuf,
}

impl Layout {
    /// The layout of the output directory `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    /// Where the resumable checkpoints are (`checkpoints/`).
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }
    /// The checkpoint after step `step` (`checkpoints/step-NNNNNN`).
    pub fn checkpoint(&self, step: u64) -> PathBuf {
        self.checkpoints().join(format!("step-{step:06}"))
    }
    /// The final model (HF layout).
    pub fn model(&self) -> PathBuf {
        self.root.join("model")
    }
    /// Written last, when training finished: the stage is done.
    pub fn done(&self) -> PathBuf {
        self.root.join("trainer_done.json")
    }
    /// Per-step records of this trainer (cut back to the checkpoint on resume).
    pub fn steps(&self) -> PathBuf {
        self.root.join("steps.jsonl")
    }

    /// Completed checkpoints, oldest first.
    pub fn list_checkpoints(&self) -> Result<Vec<(u64, PathBuf)>> {
        let dir = self.checkpoints();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let e = e.map_err(|e| Error::io(&dir, e))?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(n) = name
                .strip_prefix("step-")
                .and_then(|n| n.parse::<u64>().ok())
            {
                if e.path().join("state.json").is_file() {
                    out.push((n, e.path()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes a resumable checkpoint atomically (temp dir, then rename) and
    /// prunes old ones down to `keep`.
    pub fn save_checkpoint(
        &self,
        policy: &QwenPolicy,
        opt: &Optimizer,
        state: &TrainerState,
        keep: usize,
    ) -> Result<PathBuf> {
        let final_dir = self.checkpoint(state.step);
        // A checkpoint appears whole or not at all: resume trusts it.
        metaalign_core::atomic::replace_dir(&final_dir, |tmp| {
            policy.save(&tmp.join("model"))?;
            opt.save_state(&tmp.join("optimizer.safetensors"))?;
            let state_path = tmp.join("state.json");
            std::fs::write(&state_path, serde_json::to_vec_pretty(state)?)
                .map_err(|e| Error::io(&state_path, e))
        })?;
        let all = self.list_checkpoints()?;
        if all.len() > keep {
            for (_, p) in &all[..all.len() - keep] {
                std::fs::remove_dir_all(p).map_err(|e| Error::io(p, e))?;
            }
        }
        Ok(final_dir)
    }

    /// The newest checkpoint's state, if any.
    pub fn latest(&self) -> Result<Option<(PathBuf, TrainerState)>> {
        let Some((_, dir)) = self.list_checkpoints()?.pop() else {
            return Ok(None);
        };
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let state: TrainerState = serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: format!("unreadable trainer state: {e}"),
        })?;
        Ok(Some((dir, state)))
    }

    /// Keeps only the step records up to `step` (a resumed run re-does the rest).
    pub fn truncate_steps(&self, step: u64) -> Result<()> {
        let path = self.steps();
        if !path.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let kept: String = text
            .lines()
            .filter(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                    .is_some_and(|s| s <= step)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        metaalign_core::atomic::write_atomic(&path, kept.as_bytes())
    }

    pub(crate) fn append_step(&self, record: &serde_json::Value) -> Result<()> {
        use std::io::Write;
        let path = self.steps();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        writeln!(f, "{}", serde_json::to_string(record)?).map_err(|e| Error::io(&path, e))
    }

    /// Per-step records written so far.
    pub fn read_steps(&self) -> Result<Vec<serde_json::Value>> {
        let path = self.steps();
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// Draws the training curves of `steps.jsonl` (reward and accuracy for RL,
/// loss for SFT) into `curves-<stage>.png`; a drawing failure (no fonts on
/// the machine) is a warning, not an error.
pub fn plot_curves(layout: &Layout, label: &str) -> Vec<PathBuf> {
    let records = match layout.read_steps() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("cannot read step records for the plot: {e}");
            return Vec::new();
        }
    };
    let tagged = layout.root.join(".plot-input.jsonl");
    let body: String = records
        .into_iter()
        .map(|mut r| {
            if let serde_json::Value::Object(m) = &mut r {
                m.insert("stage".into(), serde_json::Value::String(label.to_string()));
            }
            format!("{r}\n")
        })
        .collect();
    let result = std::fs::write(&tagged, body)
        .map_err(|e| Error::io(&tagged, e))
        .and_then(|_| crate::eval::charts::training_curves(&tagged, &layout.root));
    let _ = std::fs::remove_file(&tagged);
    match result {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("training curves not drawn: {e}");
            Vec::new()
        }
    }
}

/// The response text of generated tokens for the verifier: special tokens
/// (`<think>`, `<answer>`) kept, EOS and padding removed.
pub fn response_text(policy: &QwenPolicy, tokens: &[u32]) -> Result<String> {
    let eos = policy.eos_ids();
    let pad = policy.tokenizer().pad_id();
    let ids: Vec<u32> = tokens
        .iter()
        .copied()
        .filter(|t| !eos.contains(t) && *t != pad)
        .collect();
    policy.tokenizer().decode_with_special(&ids)
}

/// A step bar below the pipeline's overall bar (hidden when stderr is not a
/// terminal).
pub fn progress(total: u64, label: &str) -> indicatif::ProgressBar {
    metaalign_core::progress::bar(total, label, "steps")
}
