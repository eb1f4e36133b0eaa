//! The RL trainer behind `reinforce_pp`, `grpo` and `rloo`.
//!
//! One step = one rollout batch: `prompts_per_step` tasks of the current
//! curriculum level, `samples_per_prompt` sampled responses each, scored by
//! the task's verifier and the reward scheme; old-policy and frozen-reference
//! log-probs; advantages from the estimator; then `ppo_epochs` passes of
//! `mini_batches` clipped-ratio updates, each accumulated over micro-batches.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use candle_core::Tensor;
use metaalign_core::trainer::TrainOutput;
use metaalign_core::{
    format_compact, Error, Level, Outcome, Policy, Result, SamplingParams, Task, TaskGenerator,
    TrainInputs, Trainer, Verdict, Verifier,
};
use rand::seq::SliceRandom;
use serde_json::json;

use super::common::{
    draw_task, plot_curves, progress, resolve_levels, response_text, step_seed, Layout,
    TrainerState,
};
use super::config::{run_blocking, Estimator, KlPlacement, RlSettings, WhitenMode};
use crate::algorithms::{
    self, tensor, AggScale, GroupNormOptions, ReinforcePpOptions, Singleton, Variance,
};
use crate::optim::{AdamWConfig, Optimizer};
use crate::policy::{device_from_str, QwenPolicy, ScoreOptions};

fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("trainer tensor op failed: {e}"))
}

/// The RL trainer (one of the three estimators).
#[derive(Clone, Debug)]
pub struct RlTrainer {
    pub estimator: Estimator,
    pub settings: RlSettings,
}

impl RlTrainer {
    pub fn new(estimator: Estimator, settings: RlSettings) -> Self {
        Self {
            estimator,
            settings,
        }
    }
}

#[async_trait]
impl Trainer for RlTrainer {
    fn kind(&self) -> &str {
        self.estimator.kind()
    }

    async fn train(&self, inputs: TrainInputs) -> Result<TrainOutput> {
        let me = self.clone();
        run_blocking(move || me.train_blocking(inputs)).await
    }
}

/// One sampled response with everything the update needs.
struct Rollout {
    group: usize,
    prompt: Vec<u32>,
    response: Vec<u32>,
    reward: f32,
    correct: bool,
    format_ok: bool,
    old: Option<Vec<f32>>,
    reference: Option<Vec<f32>>,
    advantages: Vec<f32>,
}

/// Sums of per-token statistics over the updates of a step.
#[derive(Default)]
struct UpdateStats {
    loss: f64,
    pg_loss: f64,
    kl_sum: f64,
    entropy_sum: f64,
    clipped: f64,
    tokens: f64,
    grad_norms: Vec<f64>,
    lr: f64,
    updates: usize,
    skipped_updates: usize,
}

pub(crate) fn pad_rows(rows: &[&[f32]], width: usize) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|r| {
            let mut v = r.to_vec();
            v.resize(width, 0.0);
            v
        })
        .collect()
}

fn masks(lengths: &[usize]) -> Vec<Vec<bool>> {
    let w = lengths.iter().copied().max().unwrap_or(0);
    lengths
        .iter()
        .map(|&n| (0..w).map(|t| t < n).collect())
        .collect()
}

fn scalar(t: &Tensor) -> Result<f64> {
    t.to_dtype(candle_core::DType::F64)
        .map_err(cerr)?
        .to_scalar::<f64>()
        .map_err(cerr)
}

impl RlTrainer {
    fn needs_old_logprobs(&self) -> bool {
        let s = &self.settings;
        s.ppo_epochs * s.mini_batches > 1
            || (s.kl_placement == KlPlacement::Reward && s.kl_coef > 0.0)
    }

    fn score_rows(
        &self,
        model: &QwenPolicy,
        pairs: &[(Vec<u32>, Vec<u32>)],
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(pairs.len());
        let opts = ScoreOptions {
            with_grad: false,
            entropy: false,
            temperature: self.settings.temperature,
        };
        for chunk in pairs.chunks(self.settings.micro_batch_size.max(1)) {
            out.extend(model.score_batch(chunk, opts)?.to_rows()?);
        }
        Ok(out)
    }

    /// Fills `advantages` of every rollout. Err: the batch cannot be used.
    fn advantages(&self, rollouts: &mut [Rollout]) -> Result<()> {
        let s = &self.settings;
        let lengths: Vec<usize> = rollouts.iter().map(|r| r.response.len()).collect();
        let mask = masks(&lengths);
        let width = mask.first().map_or(0, Vec::len);
        let groups: Vec<usize> = rollouts.iter().map(|r| r.group).collect();
        let scores: Vec<f32> = rollouts.iter().map(|r| r.reward).collect();
        // Per-token KL on rollout-time log-probs, for KL in the reward.
        let token_kl = if s.kl_placement == KlPlacement::Reward && s.kl_coef > 0.0 {
            let old: Vec<&[f32]> = rollouts
                .iter()
                .map(|r| r.old.as_deref().unwrap_or(&[]))
                .collect();
            let reference: Vec<&[f32]> = rollouts
                .iter()
                .map(|r| r.reference.as_deref().unwrap_or(&[]))
                .collect();
            Some(
                s.kl_estimator
                    .values(&pad_rows(&old, width), &pad_rows(&reference, width), &mask),
            )
        } else {
            None
        };
        let per_token: Vec<Vec<f32>> = match self.estimator {
            Estimator::ReinforcePp => {
                let opts = ReinforcePpOptions {
                    gamma: s.gamma.unwrap_or(1.0),
                    group_baseline: s.group_baseline.unwrap_or(false),
                    whiten: s.whiten.unwrap_or(WhitenMode::Bessel).whitening(),
                };
                let kl = token_kl.as_ref().map(|k| (k.as_slice(), s.kl_coef));
                algorithms::reinforce_pp(&scores, &groups, &mask, kl, &opts)?.advantages
            }
            Estimator::Grpo | Estimator::Rloo => {
                // KL in the reward lowers each response's score by β·Σ_t kl_t.
                let scores: Vec<f32> = match &token_kl {
                    Some(k) => scores
                        .iter()
                        .zip(k)
                        .map(|(s0, row)| s0 - s.kl_coef * row.iter().sum::<f32>())
                        .collect(),
                    None => scores,
                };
                let single = s.singleton.unwrap_or(Singleton::Raw);
                let per_seq = if self.estimator == Estimator::Grpo {
                    let opts = GroupNormOptions {
                        scale_by_std: s.scale_by_std.unwrap_or(true),
                        eps: s.std_eps.unwrap_or(1e-6),
                        variance: s.std_variance.unwrap_or(Variance::Bessel),
                        singleton: single,
                    };
                    algorithms::grpo(&scores, &groups, &opts)?
                } else {
                    algorithms::rloo(&scores, &groups, single)?
                };
                algorithms::broadcast(&per_seq, &mask)?
            }
        };
        for (r, a) in rollouts.iter_mut().zip(per_token) {
            let n = r.response.len();
            r.advantages = a[..n].to_vec();
        }
        Ok(())
    }

    /// The PPO updates of one rollout batch.
    fn update(
        &self,
        policy: &QwenPolicy,
        opt: &mut Optimizer,
        rollouts: &[Rollout],
        seed: u64,
        step: u64,
    ) -> Result<UpdateStats> {
        let s = &self.settings;
        let clip = s.clip();
        let device = policy.device().clone();
        let mut stats = UpdateStats::default();
        let norm = s.loss_scale_factor.unwrap_or(s.max_new_tokens as f64);
        let mut order: Vec<usize> = (0..rollouts.len()).collect();
        for epoch in 0..s.ppo_epochs {
            if s.shuffle {
                let mut rng = metaalign_core::seed::item_rng(
                    step_seed(seed, "shuffle", step),
                    "epoch",
                    epoch as u64,
                );
                order.shuffle(&mut rng);
            }
            let per_mini = order.len().div_ceil(s.mini_batches);
            for mini in order.chunks(per_mini.max(1)) {
                let lengths: Vec<usize> =
                    mini.iter().map(|&i| rollouts[i].response.len()).collect();
                let scale = AggScale::of(&masks(&lengths), norm);
                let mut bad = false;
                for micro in mini.chunks(s.micro_batch_size.max(1)) {
                    let rs: Vec<&Rollout> = micro.iter().map(|&i| &rollouts[i]).collect();
                    let batch: Vec<(Vec<u32>, Vec<u32>)> = rs
                        .iter()
                        .map(|r| (r.prompt.clone(), r.response.clone()))
                        .collect();
                    let scored = policy.score_batch(
                        &batch,
                        ScoreOptions {
                            with_grad: true,
                            entropy: true,
                            temperature: s.temperature,
                        },
                    )?;
                    let width = scored.lengths.iter().copied().max().unwrap_or(0);
                    if width == 0 {
                        continue;
                    }
                    let mask = &scored.mask;
                    let adv: Vec<&[f32]> = rs.iter().map(|r| r.advantages.as_slice()).collect();
                    let adv = tensor::from_rows(&pad_rows(&adv, width), &device)?;
                    let old = match rs
                        .iter()
                        .map(|r| r.old.as_deref())
                        .collect::<Option<Vec<_>>>()
                    {
                        Some(rows) => tensor::from_rows(&pad_rows(&rows, width), &device)?,
                        None => scored.logprobs.detach(),
                    };
                    let (pg, clipped) = tensor::policy_loss(&scored.logprobs, &old, &adv, &clip)?;
                    let pg_loss = tensor::aggregate(&pg, mask, s.loss_agg, &scale)?;
                    let mut loss = pg_loss.clone();
                    let reference = rs
                        .iter()
                        .map(|r| r.reference.as_deref())
                        .collect::<Option<Vec<_>>>();
                    if let Some(rows) = reference {
                        let reft = tensor::from_rows(&pad_rows(&rows, width), &device)?;
                        let kl = tensor::kl(s.kl_estimator, &scored.logprobs, &reft)?;
                        stats.kl_sum +=
                            scalar(&tensor::mask_fill(&kl, mask)?.sum_all().map_err(cerr)?)?;
                        if s.kl_placement == KlPlacement::Loss && s.kl_coef > 0.0 {
                            let kl_loss = tensor::aggregate(&kl, mask, s.loss_agg, &scale)?;
                            loss = (loss + (kl_loss * f64::from(s.kl_coef)).map_err(cerr)?)
                                .map_err(cerr)?;
                        }
                    }
                    if let Some(ent) = &scored.entropy {
                        if s.entropy_coef > 0.0 {
                            let e = tensor::aggregate(ent, mask, s.loss_agg, &scale)?;
                            loss = (loss - (e * f64::from(s.entropy_coef)).map_err(cerr)?)
                                .map_err(cerr)?;
                        }
                        stats.entropy_sum += scalar(
                            &tensor::mask_fill(&ent.detach(), mask)?
                                .sum_all()
                                .map_err(cerr)?,
                        )?;
                    }
                    stats.clipped +=
                        scalar(&tensor::mask_fill(&clipped, mask)?.sum_all().map_err(cerr)?)?;
                    stats.tokens += scalar(&mask.sum_all().map_err(cerr)?)?;
                    let lv = scalar(&loss)?;
                    if !lv.is_finite() {
                        tracing::warn!(step, loss = lv, "non-finite loss: update skipped");
                        bad = true;
                        break;
                    }
                    stats.loss += lv;
                    stats.pg_loss += scalar(&pg_loss)?;
                    opt.accumulate(&loss)?;
                }
                if bad {
                    opt.zero_grad();
                    stats.skipped_updates += 1;
                    continue;
                }
                let st = opt.step()?;
                stats.lr = st.lr;
                stats.grad_norms.push(st.grad_norm);
                if st.skipped {
                    stats.skipped_updates += 1;
                } else {
                    stats.updates += 1;
                }
            }
        }
        Ok(stats)
    }

    /// One rollout batch and its updates. Returns the step record, the mean
    /// reward and whether every update was skipped.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        policy: &QwenPolicy,
        reference: Option<&QwenPolicy>,
        opt: &mut Optimizer,
        sources: &[(String, Arc<dyn TaskGenerator>)],
        verifiers: &[Arc<dyn Verifier>],
        inputs: &TrainInputs,
        level: Level,
        step: u64,
    ) -> Result<(serde_json::Value, f64, bool)> {
        let s = &self.settings;
        let template = policy.tokenizer().chat_template();
        let mut tasks: Vec<(usize, Task, Vec<u32>)> = Vec::with_capacity(s.prompts_per_step);
        for p in 0..s.prompts_per_step {
            let (src, task) = draw_task(
                sources,
                inputs.seed,
                &inputs.holdout,
                level,
                step,
                s.prompts_per_step,
                p,
            )?;
            let ids = policy.encode(&template.render_task(&task)?)?;
            tasks.push((src, task, ids));
        }
        let prompts: Vec<Vec<u32>> = tasks
            .iter()
            .flat_map(|(_, _, ids)| std::iter::repeat_n(ids.clone(), s.samples_per_prompt))
            .collect();
        let params = SamplingParams {
            temperature: s.temperature,
            top_p: s.top_p,
            top_k: s.top_k,
            max_new_tokens: s.max_new_tokens,
            stop: s.stop.clone(),
            seed: step_seed(inputs.seed, "rollout", step),
        };
        let t0 = Instant::now();
        let gens = policy.sample_ids(&prompts, &params)?;
        let rollout_s = t0.elapsed().as_secs_f64();
        let mut rollouts = Vec::with_capacity(gens.len());
        for (i, g) in gens.into_iter().enumerate() {
            let p = i / s.samples_per_prompt;
            let (src, task, ids) = &tasks[p];
            let text = response_text(policy, &g.tokens)?;
            let verdict = verify_guarded(verifiers[*src].as_ref(), task, &text);
            let reward = inputs.reward.reward(&verdict, &text) as f32;
            rollouts.push(Rollout {
                group: p,
                prompt: ids.clone(),
                response: g.tokens,
                reward,
                correct: verdict.is_correct(),
                format_ok: verdict.format_ok,
                old: None,
                reference: None,
                advantages: Vec::new(),
            });
        }
        let n = rollouts.len() as f64;
        let gen_tokens: usize = rollouts.iter().map(|r| r.response.len()).sum();
        let mean_reward = rollouts.iter().map(|r| f64::from(r.reward)).sum::<f64>() / n;
        let accuracy = rollouts.iter().filter(|r| r.correct).count() as f64 / n;
        let format_ok = rollouts.iter().filter(|r| r.format_ok).count() as f64 / n;
        let t1 = Instant::now();
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = rollouts
            .iter()
            .map(|r| (r.prompt.clone(), r.response.clone()))
            .collect();
        if self.needs_old_logprobs() {
            for (r, lp) in rollouts.iter_mut().zip(self.score_rows(policy, &pairs)?) {
                r.old = Some(lp);
            }
        }
        if let Some(reference) = reference {
            for (r, lp) in rollouts.iter_mut().zip(self.score_rows(reference, &pairs)?) {
                r.reference = Some(lp);
            }
        }
        let mut record = json!({
            "level": level.0,
            "reward": mean_reward,
            "accuracy": accuracy,
            "format_ok": format_ok,
            "response_length": gen_tokens as f64 / n,
            "rollout_tokens_per_s": gen_tokens as f64 / rollout_s.max(1e-9),
            "rollout_s": rollout_s,
        });
        let all_skipped;
        match self.advantages(&mut rollouts) {
            Err(e) => {
                tracing::warn!(step, "advantages unavailable, step skipped: {e}");
                record["skipped"] = json!(true);
                record["skip_reason"] = json!(e.to_string());
                all_skipped = true;
            }
            Ok(()) => {
                let st = self.update(policy, opt, &rollouts, inputs.seed, step)?;
                let tok = st.tokens.max(1.0);
                let grad_norm = st.grad_norms.iter().copied().fold(0.0f64, f64::max);
                // Mean over the updates of the step (each update's loss is
                // the sum of its micro-batch parts).
                let n_upd = (st.updates + st.skipped_updates).max(1) as f64;
                record["loss"] = json!(st.loss / n_upd);
                record["pg_loss"] = json!(st.pg_loss / n_upd);
                record["kl"] = if reference.is_some() {
                    json!(st.kl_sum / tok)
                } else {
                    serde_json::Value::Null
                };
                record["entropy"] = json!(st.entropy_sum / tok);
                record["clip_frac"] = json!(st.clipped / tok);
                record["grad_norm"] = if grad_norm.is_finite() {
                    json!(grad_norm)
                } else {
                    json!(null)
                };
                record["lr"] = json!(st.lr);
                record["updates"] = json!(st.updates);
                record["skipped"] = json!(st.updates == 0);
                all_skipped = st.updates == 0;
            }
        }
        let update_s = t1.elapsed().as_secs_f64();
        record["update_s"] = json!(update_s);
        record["tokens_per_s"] = json!(gen_tokens as f64 / (rollout_s + update_s).max(1e-9));
        Ok((record, mean_reward, all_skipped))
    }

    fn train_blocking(&self, inputs: TrainInputs) -> Result<TrainOutput> {
        let s = &self.settings;
        let kind = self.estimator.kind();
        let common = s.common();
        s.validate(self.estimator)?;
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
        let verifiers: Vec<Arc<dyn Verifier>> = sources.iter().map(|(_, g)| g.verifier()).collect();
        let levels = resolve_levels(&inputs.levels, &sources)?;
        let device = device_from_str(&inputs.device)?;
        let start = QwenPolicy::load(&inputs.start, &device)?;
        let reference = if s.kl_coef > 0.0 {
            Some(start.frozen_copy()?)
        } else {
            None
        };
        let (policy, mut state, resume_dir) = match layout.latest()? {
            Some((dir, st)) => {
                check_resumable(&st, kind, &inputs, &levels, &dir)?;
                drop(start);
                (
                    QwenPolicy::load(&dir.join("model"), &device)?,
                    st,
                    Some(dir),
                )
            }
            None => {
                let lr = common.lr_for(start.num_parameters(), 5e-7);
                let st = TrainerState::new(kind, &inputs, &levels, lr);
                (start, st, None)
            }
        };
        let total_updates = state.max_steps(&common) as usize * s.ppo_epochs * s.mini_batches;
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
            "{kind}: {} parameters, lr {:.3e}, levels {:?}, {} prompts × {} samples per step",
            policy.num_parameters(),
            state.learning_rate,
            state.levels,
            s.prompts_per_step,
            s.samples_per_prompt
        );
        let bar = progress(state.max_steps(&common), kind);
        bar.set_position(state.step);
        let mut last_saved = state.step;
        loop {
            if state.curriculum_done() || budget_spent(&state, common.max_minutes) {
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
            let (mut record, reward, skipped) = self.step(
                &policy,
                reference.as_ref(),
                &mut opt,
                &sources,
                &verifiers,
                &inputs,
                level,
                state.step,
            )?;
            if skipped {
                state.skipped_steps += 1;
                state.consecutive_bad += 1;
                if state.consecutive_bad >= common.max_bad_steps {
                    bar.abandon();
                    return Err(Error::msg(format!(
                        "trainer `{kind}`: {} steps in a row had non-finite loss or gradients (or no usable advantages); \
                         stopped at step {}. The last good checkpoint is kept in {}",
                        state.consecutive_bad,
                        state.step + 1,
                        layout.checkpoints().display()
                    )));
                }
            } else {
                state.consecutive_bad = 0;
            }
            state.advance(&common, Some(reward));
            state.elapsed_s += t0.elapsed().as_secs_f64();
            record["step"] = json!(state.step);
            record["skipped_total"] = json!(state.skipped_steps);
            record["step_s"] = json!(t0.elapsed().as_secs_f64());
            layout.append_step(&record)?;
            inputs.metrics.log(record.clone())?;
            tracing::info!(
                "{kind} step {} L{}: reward {:.3} acc {:.3} format {:.3} len {:.1} kl {} lr {:.2e}",
                state.step,
                level.0,
                reward,
                record["accuracy"].as_f64().unwrap_or(0.0),
                record["format_ok"].as_f64().unwrap_or(0.0),
                record["response_length"].as_f64().unwrap_or(0.0),
                record["kl"]
                    .as_f64()
                    .map_or("-".into(), |k| format!("{k:.4}")),
                record["lr"].as_f64().unwrap_or(0.0),
            );
            bar.set_position(state.step);
            bar.set_message(format!(
                "L{} reward {reward:.2} acc {:.2}",
                level.0,
                record["accuracy"].as_f64().unwrap_or(0.0)
            ));
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
}

/// Verifiers are total by contract; a panicking one (a bug) must not kill
/// a long training run: the response counts as unparseable and the panic is
/// reported as a warning.
pub(crate) fn verify_guarded(verifier: &dyn Verifier, task: &Task, text: &str) -> Verdict {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verifier.verify(task, text))) {
        Ok(v) => v,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            tracing::warn!(task = %task.id, "verifier panicked (counted as unparseable): {msg}");
            Verdict {
                format_ok: false,
                outcome: Outcome::Unparseable,
                parsed: None,
                details: format_compact!("verifier panicked: {msg}"),
            }
        }
    }
}

pub(crate) fn budget_spent(state: &TrainerState, max_minutes: Option<f64>) -> bool {
    max_minutes.is_some_and(|m| state.elapsed_s >= m * 60.0)
}

/// The output of a trainer that already finished in `layout`, if it did.
pub(crate) fn finished_output(layout: &Layout, kind: &str) -> Result<Option<TrainOutput>> {
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

pub(crate) fn check_resumable(
    st: &TrainerState,
    kind: &str,
    inputs: &TrainInputs,
    levels: &[Level],
    dir: &std::path::Path,
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

/// Saves the final model, the last checkpoint and the done marker; plots.
pub(crate) fn finish(
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
    let path = layout.done();
    std::fs::write(&path, serde_json::to_vec_pretty(&done)?).map_err(|e| Error::io(&path, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Panics;
    impl Verifier for Panics {
        fn verify(&self, _task: &Task, _response: &str) -> Verdict {
            panic!("byte index 2 is not a char boundary")
        }
    }

    #[test]
    fn a_panicking_verifier_counts_as_unparseable() {
        let task = Task {
            id: "t".into(),
            kind: "x".into(),
            ability: metaalign_core::Ability::Deduction,
            level: Level(1),
            puzzle: String::new(),
            prompt: Vec::new(),
            templated: false,
            answer: String::new(),
            ground_truth: serde_json::Value::Null,
            rationale: None,
        };
        let v = verify_guarded(&Panics, &task, "\u{fffd} is unreachable");
        assert_eq!(v.outcome, Outcome::Unparseable);
        assert!(v.details.contains("char boundary"), "{}", v.details);
    }
}
