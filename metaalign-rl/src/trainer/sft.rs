//! The supervised warm-up trainer (`kind = "sft"`): teacher forcing on
//! generated tasks. The prompt is the task rendered by the chat template
//! (ending with `<think>`); the target is
//! `rationale</think><answer>answer</answer>` (+ the end-of-turn token), and
//! the loss is the mean negative log-likelihood of the target tokens only.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metaalign_core::trainer::TrainOutput;
use metaalign_core::{Error, Level, Policy, Result, Task, TaskGenerator, TrainInputs, Trainer};
use serde_json::json;

use super::common::{draw_task, progress, resolve_levels, Layout, TrainerState};
use super::config::{run_blocking, SftSettings};
use super::rl::{budget_spent, check_resumable, finish, finished_output};
use crate::algorithms::tensor;
use crate::optim::{AdamWConfig, Optimizer};
use crate::policy::{device_from_str, QwenPolicy, ScoreOptions};

fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("sft tensor op failed: {e}"))
}

/// The SFT trainer.
#[derive(Clone, Debug)]
pub struct SftTrainer {
    pub settings: SftSettings,
}

impl SftTrainer {
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
        let me = self.clone();
        run_blocking(move || me.train_blocking(inputs)).await
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

impl SftTrainer {
    fn step(
        &self,
        policy: &QwenPolicy,
        opt: &mut Optimizer,
        sources: &[(String, Arc<dyn TaskGenerator>)],
        inputs: &TrainInputs,
        level: Level,
        step: u64,
    ) -> Result<(serde_json::Value, bool)> {
        let s = &self.settings;
        let template = policy.tokenizer().chat_template();
        let end_of_turn = if s.end_of_turn {
            template.end_of_turn()?
        } else {
            String::new()
        };
        let mut batch = Vec::with_capacity(s.batch_size);
        for p in 0..s.batch_size {
            let (_, task) = draw_task(
                sources,
                inputs.seed,
                &inputs.holdout,
                level,
                step,
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
        let mut loss_sum = 0.0f64;
        let mut bad = false;
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
                tracing::warn!(step, loss = lv, "sft: non-finite loss, step skipped");
                bad = true;
                break;
            }
            loss_sum += lv;
            opt.accumulate(&loss)?;
        }
        let mut record = json!({"level": level.0, "loss": loss_sum, "target_tokens": total_tokens});
        if bad {
            opt.zero_grad();
            record["skipped"] = json!(true);
            return Ok((record, true));
        }
        let st = opt.step()?;
        let dt = t0.elapsed().as_secs_f64();
        record["grad_norm"] = if st.grad_norm.is_finite() {
            json!(st.grad_norm)
        } else {
            json!(null)
        };
        record["lr"] = json!(st.lr);
        record["skipped"] = json!(st.skipped);
        record["tokens_per_s"] = json!(total_tokens as f64 / dt.max(1e-9));
        Ok((record, st.skipped))
    }

    fn train_blocking(&self, inputs: TrainInputs) -> Result<TrainOutput> {
        let s = &self.settings;
        let common = s.common();
        s.validate()?;
        let kind = "sft";
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
            return Err(Error::config("trainer `sft`: no task sources"));
        }
        let levels = resolve_levels(&inputs.levels, &sources)?;
        let device = device_from_str(&inputs.device)?;
        let (policy, mut state, resume_dir) = match layout.latest()? {
            Some((dir, st)) => {
                check_resumable(&st, kind, &inputs, &levels, &dir)?;
                (
                    QwenPolicy::load(&dir.join("model"), &device)?,
                    st,
                    Some(dir),
                )
            }
            None => {
                let p = QwenPolicy::load(&inputs.start, &device)?;
                let lr = common.lr_for(p.num_parameters(), 1e-5);
                (p, TrainerState::new(kind, &inputs, &levels, lr), None)
            }
        };
        let mut opt = Optimizer::new(
            policy.trainable_vars(),
            AdamWConfig {
                lr: state.learning_rate,
                weight_decay: common.weight_decay,
                max_grad_norm: common.max_grad_norm,
                ..AdamWConfig::default()
            },
            common.schedule(state.max_steps(&common) as usize),
        )?;
        match &resume_dir {
            Some(dir) => {
                opt.load_state(&dir.join("optimizer.safetensors"))?;
                layout.truncate_steps(state.step)?;
                tracing::info!(step = state.step, "sft: resuming from {}", dir.display());
            }
            None => {
                let _ = std::fs::remove_file(layout.steps());
            }
        }
        policy.check_gradient_coverage()?;
        tracing::info!(
            "sft: {} parameters, lr {:.3e}, levels {:?}, batch {}",
            policy.num_parameters(),
            state.learning_rate,
            state.levels,
            s.batch_size
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
            let (mut record, skipped) =
                self.step(&policy, &mut opt, &sources, &inputs, level, state.step)?;
            if skipped {
                state.skipped_steps += 1;
                state.consecutive_bad += 1;
                if state.consecutive_bad >= common.max_bad_steps {
                    bar.abandon();
                    return Err(Error::msg(format!(
                        "trainer `sft`: {} steps in a row had non-finite loss or gradients; stopped at step {}. \
                         The last good checkpoint is kept in {}",
                        state.consecutive_bad,
                        state.step + 1,
                        layout.checkpoints().display()
                    )));
                }
            } else {
                state.consecutive_bad = 0;
            }
            state.advance(&common, None);
            state.elapsed_s += t0.elapsed().as_secs_f64();
            record["step"] = json!(state.step);
            record["step_s"] = json!(t0.elapsed().as_secs_f64());
            layout.append_step(&record)?;
            inputs.metrics.log(record.clone())?;
            if state.step % 10 == 0 || state.step == 1 {
                tracing::info!(
                    "sft step {} L{}: loss {:.4} lr {:.2e}",
                    state.step,
                    level.0,
                    record["loss"].as_f64().unwrap_or(f64::NAN),
                    record["lr"].as_f64().unwrap_or(0.0)
                );
            }
            bar.set_position(state.step);
            bar.set_message(format!(
                "L{} loss {:.3}",
                level.0,
                record["loss"].as_f64().unwrap_or(f64::NAN)
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
