//! The RL step behind every RL kind.
//!
//! One step = one rollout batch: `prompts_per_step` tasks of the current
//! curriculum level, `samples_per_prompt` sampled responses each, scored by
//! the task's verifier and the reward scheme (plus DAPO's overlong penalty);
//! with dynamic sampling, groups whose correctness does not vary are dropped
//! and more prompts drawn. Then old-policy and frozen-reference log-probs,
//! advantages from the veRL-named estimator, and `ppo_epochs` passes of
//! `mini_batches` updates of the configured policy loss, each accumulated
//! over micro-batches.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use candle_core::Tensor;
use metaalign_core::policy::FinishReason;
use metaalign_core::trainer::TrainOutput;
use metaalign_core::{
    format_compact, Error, Outcome, Policy, Result, SamplingParams, Task, TrainInputs, Trainer,
    Verdict, Verifier,
};
use rand::seq::SliceRandom;
use serde::Serialize;

use super::common::{draw_task_in_batch, response_text, step_seed};
use super::rl_settings::{GroupMetric, KlPlacement, RlKind, RlPlan, RlSettings};
use super::run_loop::{self, run_blocking, LoopSpec, StepCx, StepFn, StepMetrics, StepOutcome};
use crate::algorithms::estimators::AdvantageInput;
use crate::algorithms::{tensor, AggMode, AggScale, Estimator, LossMode};
use crate::optim::Optimizer;
use crate::policy::{QwenPolicy, ScoreOptions};

fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("trainer tensor op failed: {e}"))
}

/// The RL trainer (every RL kind; the kind only changes defaults).
#[derive(Clone, Debug)]
pub struct RlTrainer {
    /// The kind (its name is the trainer kind of checkpoints and logs).
    pub kind: RlKind,
    /// The settings as written in the trainer table.
    pub settings: RlSettings,
    /// The settings resolved with the kind's defaults.
    pub plan: RlPlan,
}

impl RlTrainer {
    /// A trainer of `kind`; `plan` is `settings.plan(kind)`.
    pub fn new(kind: RlKind, settings: RlSettings, plan: RlPlan) -> Self {
        Self {
            kind,
            settings,
            plan,
        }
    }
}

#[async_trait]
impl Trainer for RlTrainer {
    fn kind(&self) -> &str {
        self.kind.kind()
    }

    async fn train(&self, inputs: TrainInputs) -> Result<TrainOutput> {
        let s = &self.settings;
        let spec = LoopSpec {
            kind: self.kind.kind().to_string(),
            common: s.common(),
            base_lr_at_7b: 5e-7,
            updates_per_step: s.ppo_epochs * s.mini_batches,
            log_every: 1,
        };
        let step = RlStep {
            settings: s.clone(),
            plan: self.plan.clone(),
            reference: None,
            // Same order as the loop's sources (the task map's).
            verifiers: inputs.tasks.values().map(|g| g.verifier()).collect(),
        };
        tracing::info!(
            "{}: estimator {}, loss {}, aggregation {}, {} prompts × {} samples per step",
            spec.kind,
            self.plan.estimator.estimator.name(),
            self.plan.loss_mode.name(),
            self.plan.loss_agg.name(),
            s.prompts_per_step,
            s.samples_per_prompt
        );
        run_blocking(move || run_loop::run(&spec, inputs, step)).await
    }
}

/// One sampled response with everything the update needs.
struct Rollout {
    group: usize,
    prompt: Vec<u32>,
    response: Vec<u32>,
    reward: f64,
    correct: bool,
    format_ok: bool,
    truncated: bool,
    old: Option<Vec<f32>>,
    reference: Option<Vec<f32>>,
    advantages: Vec<f32>,
}

/// A rollout batch: its responses, its tasks with their source index, and
/// the seconds sampling took.
type RolloutBatch = (Vec<Rollout>, Vec<(usize, Task)>, f64);

/// One RL step's record (`steps.jsonl`, the run's metrics, the curves).
/// Rollout figures cover every response generated in the step (with
/// dynamic sampling, also those of dropped groups); loss figures cover
/// the trained batch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RlMetrics {
    /// Curriculum level of the step's tasks.
    pub level: u32,
    /// Mean reward of the responses.
    pub reward: f64,
    /// Standard deviation of the rewards.
    pub reward_std: f64,
    /// Share of responses the verifier judged correct.
    pub accuracy: f64,
    /// Share of responses with a well-formed `<think>`/`<answer>` structure.
    pub format_ok: f64,
    /// Mean response length in tokens.
    pub response_length: f64,
    /// Longest response in tokens.
    pub response_length_max: usize,
    /// Share of responses cut at `max_new_tokens`.
    pub truncated: f64,
    /// Prompt groups generated.
    pub groups: usize,
    /// Share of groups whose rewards all agreed (zero advantage under group
    /// baselines).
    pub zero_spread_groups: f64,
    /// Groups dynamic sampling dropped.
    pub groups_dropped: usize,
    /// Rollout batches drawn.
    pub gen_batches: usize,
    /// Advantage mean over the trained batch's valid tokens.
    pub adv_mean: f64,
    /// Advantage standard deviation over the trained batch's valid tokens.
    pub adv_std: f64,
    /// Mean loss of the step's updates (policy loss plus the KL and entropy
    /// terms).
    pub loss: f64,
    /// The policy-gradient part of `loss`.
    pub pg_loss: f64,
    /// Mean per-token KL to the frozen reference (absent without one).
    pub kl: Option<f64>,
    /// Approximate KL to the rollout policy, `mean(old − new)` (veRL `ppo_kl`).
    pub ppo_kl: f64,
    /// Mean per-token entropy of the policy on the trained batch.
    pub entropy: f64,
    /// Share of tokens where the upper clip (or GSPO's sequence clip, or
    /// CISPO's weight clip) bound.
    pub clip_frac: f64,
    /// Share of tokens where the dual clip bound.
    pub clip_frac_lower: f64,
    /// Largest pre-clip gradient norm of the step's updates.
    pub grad_norm: Option<f64>,
    /// Share of updates whose gradient `max_grad_norm` scaled down.
    pub grad_clipped: f64,
    /// Learning rate of the step's updates.
    pub lr: f64,
    /// Optimizer updates applied.
    pub updates: usize,
    /// Nothing was learned (no usable batch, or non-finite loss or gradients).
    pub skipped: bool,
    /// Why the step was skipped, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Seconds spent sampling rollouts.
    pub rollout_s: f64,
    /// Seconds spent scoring and updating.
    pub update_s: f64,
    /// Generated tokens per second while sampling.
    pub rollout_tokens_per_s: f64,
    /// Generated tokens per second over the whole step (sampling and update).
    pub tokens_per_s: f64,
}

impl StepMetrics for RlMetrics {
    fn log_line(&self) -> String {
        format!(
            "reward {:.3} acc {:.3} format {:.3} len {:.1} zero-spread {:.2} entropy {:.3} kl {} clip {:.3} lr {:.2e}",
            self.reward,
            self.accuracy,
            self.format_ok,
            self.response_length,
            self.zero_spread_groups,
            self.entropy,
            self.kl.map_or("-".into(), |k| format!("{k:.4}")),
            self.clip_frac,
            self.lr,
        )
    }

    fn bar_message(&self) -> String {
        format!("reward {:.2} acc {:.2}", self.reward, self.accuracy)
    }
}

/// Sums over the updates of a step.
#[derive(Default)]
struct UpdateStats {
    loss: f64,
    pg_loss: f64,
    kl_sum: f64,
    entropy_sum: f64,
    clipped: f64,
    clipped_lower: f64,
    log_ratio_sum: f64,
    tokens: f64,
    grad_norms: Vec<f64>,
    grad_clipped: usize,
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

fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

struct RlStep {
    settings: RlSettings,
    plan: RlPlan,
    reference: Option<QwenPolicy>,
    verifiers: Vec<Arc<dyn Verifier>>,
}

impl StepFn for RlStep {
    type Metrics = RlMetrics;

    fn prepare(&mut self, start: &QwenPolicy) -> Result<()> {
        if self.plan.kl_coef > 0.0 {
            self.reference = Some(start.frozen_copy()?);
        }
        Ok(())
    }

    fn step(&mut self, cx: StepCx<'_>) -> Result<StepOutcome<RlMetrics>> {
        self.run_step(cx)
    }
}

impl RlStep {
    fn needs_old_logprobs(&self) -> bool {
        let s = &self.settings;
        s.ppo_epochs * s.mini_batches > 1
            || (s.kl_placement == KlPlacement::Reward && self.plan.kl_coef > 0.0)
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

    /// The reward of a response: the scheme's, plus DAPO's overlong penalty.
    fn reward_of(&self, inputs: &TrainInputs, verdict: &Verdict, text: &str, len: usize) -> f64 {
        let mut r = inputs.reward.reward(verdict, text);
        if let Some(o) = &self.plan.overlong_buffer {
            r += o.penalty(len, self.settings.max_new_tokens);
        }
        r
    }

    /// Rollout batch `batch` of the step: `prompts_per_step` new prompts,
    /// `samples_per_prompt` responses each, scored. Group ids start at
    /// `batch · prompts_per_step`.
    fn generate(&self, cx: &StepCx<'_>, batch: usize) -> Result<RolloutBatch> {
        let s = &self.settings;
        let policy = cx.policy;
        let template = policy.tokenizer().chat_template();
        let mut tasks = Vec::with_capacity(s.prompts_per_step);
        for p in 0..s.prompts_per_step {
            let (src, task) = draw_task_in_batch(
                cx.sources,
                cx.inputs.seed,
                &cx.inputs.holdout,
                cx.level,
                cx.step,
                s.prompts_per_step,
                p,
                batch,
            )?;
            let ids = policy.encode(&template.render_task(&task)?)?;
            tasks.push((src, task, ids));
        }
        let prompts: Vec<Vec<u32>> = tasks
            .iter()
            .flat_map(|(_, _, ids)| std::iter::repeat_n(ids.clone(), s.samples_per_prompt))
            .collect();
        let what = if batch == 0 {
            "rollout".to_string()
        } else {
            format!("rollout/extra{batch}")
        };
        let params = SamplingParams {
            temperature: s.temperature,
            top_p: s.top_p,
            top_k: s.top_k,
            max_new_tokens: s.max_new_tokens,
            stop: s.stop.clone(),
            seed: step_seed(cx.inputs.seed, &what, cx.step),
        };
        let t0 = Instant::now();
        let gens = policy.sample_ids(&prompts, &params)?;
        let rollout_s = t0.elapsed().as_secs_f64();
        let mut rollouts = Vec::with_capacity(gens.len());
        for (i, g) in gens.into_iter().enumerate() {
            let p = i / s.samples_per_prompt;
            let (src, task, ids) = &tasks[p];
            let text = response_text(policy, &g.tokens)?;
            let verdict = verify_guarded(self.verifiers[*src].as_ref(), task, &text);
            rollouts.push(Rollout {
                group: batch * s.prompts_per_step + p,
                prompt: ids.clone(),
                reward: self.reward_of(cx.inputs, &verdict, &text, g.tokens.len()),
                response: g.tokens,
                correct: verdict.is_correct(),
                format_ok: verdict.format_ok,
                truncated: g.finish == FinishReason::Length,
                old: None,
                reference: None,
                advantages: Vec::new(),
            });
        }
        Ok((
            rollouts,
            tasks.into_iter().map(|(src, t, _)| (src, t)).collect(),
            rollout_s,
        ))
    }

    /// Whether a group's metric varies (dynamic sampling keeps those).
    fn varies(&self, members: &[&Rollout]) -> bool {
        let metric = self
            .plan
            .filter_groups
            .as_ref()
            .map_or(GroupMetric::Score, |f| f.metric);
        let value = |r: &Rollout| match metric {
            GroupMetric::Acc => f64::from(u8::from(r.correct)),
            GroupMetric::Score => r.reward,
        };
        members.len() == 1 || members.iter().any(|r| value(r) != value(members[0]))
    }

    /// ReMax's baseline: the reward of one greedy response per group.
    fn greedy_baselines(
        &self,
        cx: &StepCx<'_>,
        rollouts: &[Rollout],
        tasks: &[(usize, usize, Task)],
    ) -> Result<Vec<f64>> {
        let s = &self.settings;
        let mut groups: Vec<usize> = rollouts.iter().map(|r| r.group).collect();
        groups.dedup();
        let prompts: Vec<Vec<u32>> = groups
            .iter()
            .map(|g| {
                rollouts
                    .iter()
                    .find(|r| r.group == *g)
                    .map(|r| r.prompt.clone())
                    .unwrap_or_default()
            })
            .collect();
        let params = SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            top_k: None,
            max_new_tokens: s.max_new_tokens,
            stop: s.stop.clone(),
            seed: step_seed(cx.inputs.seed, "remax-baseline", cx.step),
        };
        let gens = cx.policy.sample_ids(&prompts, &params)?;
        let mut by_group = Vec::with_capacity(groups.len());
        for (g, gen) in groups.iter().zip(gens) {
            let (src, task) = tasks
                .iter()
                .find(|(id, _, _)| id == g)
                .map(|(_, src, t)| (*src, t))
                .ok_or_else(|| Error::msg("remax: a group without its task"))?;
            let text = response_text(cx.policy, &gen.tokens)?;
            let verdict = verify_guarded(self.verifiers[src].as_ref(), task, &text);
            by_group.push((
                *g,
                self.reward_of(cx.inputs, &verdict, &text, gen.tokens.len()),
            ));
        }
        Ok(rollouts
            .iter()
            .map(|r| {
                by_group
                    .iter()
                    .find(|(g, _)| *g == r.group)
                    .map_or(0.0, |(_, b)| *b)
            })
            .collect())
    }

    /// Fills `advantages` of every rollout with the plan's estimator.
    fn advantages(&self, rollouts: &mut [Rollout], baselines: Option<&[f64]>) -> Result<()> {
        let s = &self.settings;
        let lengths: Vec<usize> = rollouts.iter().map(|r| r.response.len()).collect();
        let bmask = masks(&lengths);
        let width = bmask.first().map_or(0, Vec::len);
        let mask: Vec<Vec<f64>> = bmask
            .iter()
            .map(|m| m.iter().map(|&x| f64::from(u8::from(x))).collect())
            .collect();
        // The outcome reward sits on the last response token.
        let mut rewards: Vec<Vec<f64>> = rollouts
            .iter()
            .map(|r| {
                let mut row = vec![0.0; width];
                if let Some(last) = r.response.len().checked_sub(1) {
                    row[last] = r.reward;
                }
                row
            })
            .collect();
        // KL in the reward: r_t −= β·kl_t on the rollout-time log-probs.
        if s.kl_placement == KlPlacement::Reward && self.plan.kl_coef > 0.0 {
            let old: Vec<&[f32]> = rollouts
                .iter()
                .map(|r| r.old.as_deref().unwrap_or(&[]))
                .collect();
            let reference: Vec<&[f32]> = rollouts
                .iter()
                .map(|r| r.reference.as_deref().unwrap_or(&[]))
                .collect();
            let kl =
                s.kl_estimator
                    .values(&pad_rows(&old, width), &pad_rows(&reference, width), &bmask);
            for (row, k) in rewards.iter_mut().zip(kl) {
                for (r, k) in row.iter_mut().zip(k) {
                    *r -= f64::from(self.plan.kl_coef) * f64::from(k);
                }
            }
        }
        let index: Vec<String> = rollouts.iter().map(|r| r.group.to_string()).collect();
        let e = &self.plan.estimator;
        let out = e.estimator.compute(&AdvantageInput {
            token_level_rewards: &rewards,
            response_mask: &mask,
            index: &index,
            epsilon: e.epsilon,
            norm_adv_by_std_in_grpo: e.norm_adv_by_std,
            gamma: e.gamma,
            reward_baselines: baselines,
        })?;
        for (r, a) in rollouts.iter_mut().zip(out.advantages) {
            let n = r.response.len();
            r.advantages = a[..n].iter().map(|&x| x as f32).collect();
            if r.advantages.iter().any(|x| !x.is_finite()) {
                return Err(Error::msg(format!(
                    "estimator `{}` gave a non-finite advantage",
                    e.estimator.name()
                )));
            }
        }
        Ok(())
    }

    /// The policy-loss updates of one rollout batch.
    fn update(
        &self,
        policy: &QwenPolicy,
        opt: &mut Optimizer,
        rollouts: &[Rollout],
        seed: u64,
        step: u64,
    ) -> Result<UpdateStats> {
        let s = &self.settings;
        let plan = &self.plan;
        let device = policy.device().clone();
        let mut stats = UpdateStats::default();
        let norm = s.loss_scale_factor.unwrap_or(s.max_new_tokens as f64);
        // GSPO aggregates per sequence whatever `loss_agg_mode` says (veRL).
        let agg = if plan.loss_mode == LossMode::Gspo {
            AggMode::SeqMeanTokenMean
        } else {
            plan.loss_agg
        };
        let trains = |r: &Rollout| !(plan.mask_truncated && r.truncated);
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
                let lengths: Vec<usize> = mini
                    .iter()
                    .map(|&i| {
                        let r = &rollouts[i];
                        if trains(r) {
                            r.response.len()
                        } else {
                            0
                        }
                    })
                    .collect();
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
                    let mask = if plan.mask_truncated {
                        let keep: Vec<f32> =
                            rs.iter().map(|r| f32::from(u8::from(trains(r)))).collect();
                        let keep = Tensor::from_vec(keep, (rs.len(), 1), &device).map_err(cerr)?;
                        scored.mask.broadcast_mul(&keep).map_err(cerr)?
                    } else {
                        scored.mask.clone()
                    };
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
                    let pg = tensor::policy_loss(
                        plan.loss_mode,
                        &scored.logprobs,
                        &old,
                        &adv,
                        &mask,
                        &plan.clip,
                    )?;
                    let pg_loss = tensor::aggregate(&pg.loss, &mask, agg, &scale)?;
                    let mut loss = pg_loss.clone();
                    let reference = rs
                        .iter()
                        .map(|r| r.reference.as_deref())
                        .collect::<Option<Vec<_>>>();
                    if let Some(rows) = reference {
                        let reft = tensor::from_rows(&pad_rows(&rows, width), &device)?;
                        let kl = tensor::kl(s.kl_estimator, &scored.logprobs, &reft)?;
                        stats.kl_sum +=
                            scalar(&tensor::mask_fill(&kl, &mask)?.sum_all().map_err(cerr)?)?;
                        if s.kl_placement == KlPlacement::Loss && plan.kl_coef > 0.0 {
                            let kl_loss = tensor::aggregate(&kl, &mask, agg, &scale)?;
                            loss = (loss + (kl_loss * f64::from(plan.kl_coef)).map_err(cerr)?)
                                .map_err(cerr)?;
                        }
                    }
                    if let Some(ent) = &scored.entropy {
                        if s.entropy_coef > 0.0 {
                            let e = tensor::aggregate(ent, &mask, agg, &scale)?;
                            loss = (loss - (e * f64::from(s.entropy_coef)).map_err(cerr)?)
                                .map_err(cerr)?;
                        }
                        stats.entropy_sum += scalar(
                            &tensor::mask_fill(&ent.detach(), &mask)?
                                .sum_all()
                                .map_err(cerr)?,
                        )?;
                    }
                    let masked_sum = |t: &Tensor| -> Result<f64> {
                        scalar(&tensor::mask_fill(t, &mask)?.sum_all().map_err(cerr)?)
                    };
                    stats.clipped += masked_sum(&pg.clipped)?;
                    stats.clipped_lower += masked_sum(&pg.clipped_lower)?;
                    stats.log_ratio_sum += masked_sum(&pg.log_ratio)?;
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
                stats.grad_clipped += usize::from(st.clipped);
                if st.skipped {
                    stats.skipped_updates += 1;
                } else {
                    stats.updates += 1;
                }
            }
        }
        Ok(stats)
    }

    /// Rollouts (with dynamic sampling), advantages, updates.
    fn run_step(&mut self, cx: StepCx<'_>) -> Result<StepOutcome<RlMetrics>> {
        let s = &self.settings;
        let max_batches = self
            .plan
            .filter_groups
            .as_ref()
            .map_or(1, |f| f.max_num_gen_batches);
        let mut m = RlMetrics {
            level: cx.level.0,
            ..RlMetrics::default()
        };
        let filtering = self.plan.filter_groups.is_some();
        let mut generated: Vec<Rollout> = Vec::new();
        let mut kept: Vec<Rollout> = Vec::new();
        let mut tasks: Vec<(usize, usize, Task)> = Vec::new();
        let mut kept_groups = 0usize;
        let mut zero_spread = 0usize;
        for batch in 0..max_batches {
            let (rollouts, batch_tasks, secs) = self.generate(&cx, batch)?;
            m.rollout_s += secs;
            m.gen_batches += 1;
            for (p, (src, t)) in batch_tasks.into_iter().enumerate() {
                tasks.push((batch * s.prompts_per_step + p, src, t));
            }
            let mut keep_ids = Vec::new();
            for group in rollouts.chunk_by(|a, b| a.group == b.group) {
                let refs: Vec<&Rollout> = group.iter().collect();
                let varies = self.varies(&refs);
                m.groups += 1;
                zero_spread += usize::from(!varies);
                // DAPO keeps varying groups until the batch is full.
                if !filtering || (varies && kept_groups < s.prompts_per_step) {
                    kept_groups += 1;
                    keep_ids.push(group[0].group);
                } else {
                    m.groups_dropped += 1;
                }
            }
            for r in rollouts {
                if keep_ids.contains(&r.group) {
                    kept.push(r);
                } else {
                    generated.push(r);
                }
            }
            if !filtering || kept_groups >= s.prompts_per_step {
                break;
            }
        }
        // Rollout statistics over everything generated.
        let all = || generated.iter().chain(kept.iter());
        let generated_count = all().count();
        let n = generated_count.max(1) as f64;
        (m.reward, m.reward_std) = mean_std(all().map(|r| r.reward));
        m.accuracy = all().filter(|r| r.correct).count() as f64 / n;
        m.format_ok = all().filter(|r| r.format_ok).count() as f64 / n;
        let gen_tokens: usize = all().map(|r| r.response.len()).sum();
        m.response_length = gen_tokens as f64 / n;
        m.response_length_max = all().map(|r| r.response.len()).max().unwrap_or(0);
        m.truncated = all().filter(|r| r.truncated).count() as f64 / n;
        m.zero_spread_groups = zero_spread as f64 / m.groups.max(1) as f64;
        m.rollout_tokens_per_s = gen_tokens as f64 / m.rollout_s.max(1e-9);
        let reward = m.reward;
        if kept.is_empty() {
            let reason = format!(
                "dynamic sampling: all {} groups of {} rollout batches had no spread in {}; nothing to learn from",
                m.groups,
                m.gen_batches,
                match self.plan.filter_groups.as_ref().map(|f| f.metric) {
                    Some(GroupMetric::Score) => "reward",
                    _ => "correctness",
                }
            );
            tracing::warn!(step = cx.step, "{reason}");
            m.skipped = true;
            m.skip_reason = Some(reason);
            return Ok(StepOutcome {
                metrics: m,
                skipped: true,
                reward: Some(reward),
                rollouts: generated_count as u64,
            });
        }
        if filtering && kept_groups < s.prompts_per_step {
            tracing::warn!(
                step = cx.step,
                "dynamic sampling: {kept_groups} of {} groups vary after {} rollout batches (max_num_gen_batches); training on those",
                s.prompts_per_step,
                m.gen_batches
            );
        }
        let t1 = Instant::now();
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = kept
            .iter()
            .map(|r| (r.prompt.clone(), r.response.clone()))
            .collect();
        if self.needs_old_logprobs() {
            for (r, lp) in kept.iter_mut().zip(self.score_rows(cx.policy, &pairs)?) {
                r.old = Some(lp);
            }
        }
        if let Some(reference) = &self.reference {
            for (r, lp) in kept.iter_mut().zip(self.score_rows(reference, &pairs)?) {
                r.reference = Some(lp);
            }
        }
        let baselines = if self.plan.estimator.estimator == Estimator::Remax {
            Some(self.greedy_baselines(&cx, &kept, &tasks)?)
        } else {
            None
        };
        let skipped = match self.advantages(&mut kept, baselines.as_deref()) {
            Err(e) => {
                tracing::warn!(step = cx.step, "advantages unavailable, step skipped: {e}");
                m.skipped = true;
                m.skip_reason = Some(e.to_string());
                true
            }
            Ok(()) => {
                (m.adv_mean, m.adv_std) = mean_std(
                    kept.iter()
                        .flat_map(|r| r.advantages.iter().map(|&a| f64::from(a))),
                );
                let st = self.update(cx.policy, cx.opt, &kept, cx.inputs.seed, cx.step)?;
                let tok = st.tokens.max(1.0);
                let n_upd = (st.updates + st.skipped_updates).max(1) as f64;
                // Mean over the updates of the step (each update's loss is
                // the sum of its micro-batch parts).
                m.loss = st.loss / n_upd;
                m.pg_loss = st.pg_loss / n_upd;
                m.kl = self.reference.is_some().then(|| st.kl_sum / tok);
                m.ppo_kl = -st.log_ratio_sum / tok;
                m.entropy = st.entropy_sum / tok;
                m.clip_frac = st.clipped / tok;
                m.clip_frac_lower = st.clipped_lower / tok;
                let grad_norm = st.grad_norms.iter().copied().fold(0.0f64, f64::max);
                m.grad_norm = grad_norm.is_finite().then_some(grad_norm);
                m.grad_clipped = st.grad_clipped as f64 / st.grad_norms.len().max(1) as f64;
                m.lr = st.lr;
                m.updates = st.updates;
                m.skipped = st.updates == 0;
                st.updates == 0
            }
        };
        m.update_s = t1.elapsed().as_secs_f64();
        m.tokens_per_s = gen_tokens as f64 / (m.rollout_s + m.update_s).max(1e-9);
        Ok(StepOutcome {
            metrics: m,
            skipped,
            reward: Some(reward),
            rollouts: generated_count as u64,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use metaalign_core::Level;

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
