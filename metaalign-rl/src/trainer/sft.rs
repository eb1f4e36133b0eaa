//! The supervised warm-up trainer (`kind = "sft"`): teacher forcing on
//! generated tasks. The prompt is the task rendered by the chat template
//! (ending with `<think>`); the target is
//! `rationale</think><answer>answer</answer>` (+ the end-of-turn token), and
//! the loss is the mean negative log-likelihood of the target tokens only.

use std::time::Instant;

use async_trait::async_trait;
use metaalign_core::trainer::TrainOutput;
use metaalign_core::{Error, Policy, Result, Task, TrainInputs, Trainer};
use serde::Serialize;

use super::common::draw_task;
use super::run_loop::{self, run_blocking, LoopSpec, StepCx, StepFn, StepMetrics, StepOutcome};
use super::sft_settings::SftSettings;
use crate::algorithms::tensor;
use crate::policy::ScoreOptions;

fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("sft tensor op failed: {e}"))
}

/// The SFT trainer.
#[derive(Clone, Debug)]
pub struct SftTrainer {
    /// The settings as written in the trainer table.
    pub settings: SftSettings,
}

impl SftTrainer {
    /// A trainer with these settings.
    pub fn new(settings: SftSettings) -> Self {
        Self { settings }
    }
}

#[async_trait]
impl Trainer for SftTrainer {
    fn kind(&self) -> &str {
        "sft"
    }

    async fn train(&self, inputs: TrainInputs) -> Result<TrainOutput> {
        let settings = self.settings.clone();
        settings.validate()?;
        let spec = LoopSpec {
            kind: "sft".into(),
            common: settings.common(),
            base_lr_at_7b: 1e-5,
            updates_per_step: 1,
            log_every: 10,
        };
        run_blocking(move || run_loop::run(&spec, inputs, SftStep { settings })).await
    }
}

/// The SFT target of a task (what follows the prompt's `<think>`), ending
/// with `end_of_turn` when `settings.end_of_turn` (the policy's
/// [`metaalign_tasks::ChatTemplate::end_of_turn`]: `<|im_end|>` built in).
pub fn sft_target(task: &Task, settings: &SftSettings, end_of_turn: &str) -> String {
    let mut rationale = if settings.rationale {
        task.rationale.clone().unwrap_or_default()
    } else {
        String::new()
    };
    if settings.max_rationale_chars > 0 && rationale.chars().count() > settings.max_rationale_chars
    {
        rationale = rationale
            .chars()
            .take(settings.max_rationale_chars)
            .collect();
    }
    let mut t = format!(
        "{}</think><answer>{}</answer>",
        rationale.trim(),
        task.answer.trim()
    );
    if settings.end_of_turn {
        t.push_str(end_of_turn);
    }
    t
}

/// One SFT step's record.
#[derive(Clone, Debug, Serialize)]
pub struct SftMetrics {
    /// Curriculum level of the step's tasks.
    pub level: u32,
    /// Mean negative log-likelihood per target token.
    pub loss: f64,
    /// Target tokens the loss covered.
    pub target_tokens: usize,
    /// Pre-clip gradient norm (absent when not finite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    /// The gradient norm was above `max_grad_norm` and was scaled down.
    pub grad_clipped: bool,
    /// Learning rate of the update.
    pub lr: f64,
    /// Nothing was learned (non-finite loss or gradients).
    pub skipped: bool,
    /// Target tokens per second.
    pub tokens_per_s: f64,
}

impl StepMetrics for SftMetrics {
    fn log_line(&self) -> String {
        format!("loss {:.4} lr {:.2e}", self.loss, self.lr)
    }

    fn bar_message(&self) -> String {
        format!("loss {:.3}", self.loss)
    }
}

struct SftStep {
    settings: SftSettings,
}

impl StepFn for SftStep {
    type Metrics = SftMetrics;

    fn step(&mut self, cx: StepCx<'_>) -> Result<StepOutcome<SftMetrics>> {
        let s = &self.settings;
        let policy = cx.policy;
        let template = policy.tokenizer().chat_template();
        let end_of_turn = if s.end_of_turn {
            template.end_of_turn()?
        } else {
            String::new()
        };
        let mut batch = Vec::with_capacity(s.batch_size);
        for p in 0..s.batch_size {
            let (_, task) = draw_task(
                cx.sources,
                cx.inputs.seed,
                &cx.inputs.holdout,
                cx.level,
                cx.step,
                s.batch_size,
                p,
            )?;
            let prompt = policy.encode(&template.render_task(&task)?)?;
            let mut target = policy.encode(&sft_target(&task, s, &end_of_turn))?;
            if target.is_empty() {
                target = policy.eos_ids().first().copied().into_iter().collect();
            }
            batch.push((prompt, target));
        }
        let total_tokens: usize = batch.iter().map(|(_, t)| t.len()).sum();
        let t0 = Instant::now();
        let mut metrics = SftMetrics {
            level: cx.level.0,
            loss: 0.0,
            target_tokens: total_tokens,
            grad_norm: None,
            grad_clipped: false,
            lr: 0.0,
            skipped: false,
            tokens_per_s: 0.0,
        };
        for micro in batch.chunks(s.micro_batch_size.max(1)) {
            let scored = policy.score_batch(micro, ScoreOptions::train())?;
            let nll = scored.logprobs.neg().map_err(cerr)?;
            let loss = (tensor::mask_fill(&nll, &scored.mask)?
                .sum_all()
                .map_err(cerr)?
                / total_tokens.max(1) as f64)
                .map_err(cerr)?;
            let lv = loss
                .to_dtype(candle_core::DType::F64)
                .map_err(cerr)?
                .to_scalar::<f64>()
                .map_err(cerr)?;
            if !lv.is_finite() {
                tracing::warn!(
                    step = cx.step,
                    loss = lv,
                    "sft: non-finite loss, step skipped"
                );
                cx.opt.zero_grad();
                metrics.loss = lv;
                metrics.skipped = true;
                return Ok(StepOutcome {
                    metrics,
                    skipped: true,
                    reward: None,
                    rollouts: 0,
                });
            }
            metrics.loss += lv;
            cx.opt.accumulate(&loss)?;
        }
        let st = cx.opt.step()?;
        metrics.grad_norm = st.grad_norm.is_finite().then_some(st.grad_norm);
        metrics.grad_clipped = st.clipped;
        metrics.lr = st.lr;
        metrics.skipped = st.skipped;
        metrics.tokens_per_s = total_tokens as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        Ok(StepOutcome {
            metrics,
            skipped: st.skipped,
            reward: None,
            rollouts: 0,
        })
    }
}
