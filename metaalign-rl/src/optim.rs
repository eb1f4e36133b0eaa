//! Optimisation: AdamW with a no-decay group (norms and biases), global-norm
//! gradient clipping, gradient accumulation over micro-batches, learning-rate
//! schedules, and the gradient-coverage check.
//!
//! ```ignore
//! let mut opt = Optimizer::new(policy.trainable_vars(), AdamWConfig::default(), LrSchedule::constant())?;
//! for micro in micro_batches {
//!     let loss = compute_loss(&policy, micro)?;       // already divided by the number of micro-batches
//!     opt.accumulate(&loss)?;                        // backward + add into the accumulated gradients
//! }
//! let stats = opt.step()?;                           // clip, AdamW update, clear; stats.grad_norm, stats.lr
//! ```

use std::path::Path;

use candle_core::{DType, Tensor, Var};
use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("optimizer tensor op failed: {e}"))
}

/// AdamW hyper-parameters (PyTorch semantics: decoupled weight decay, bias
/// correction).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamWConfig {
    /// Base learning rate (the schedule scales it).
    pub lr: f64,
    /// Decay of the first-moment (mean) estimate.
    pub beta1: f64,
    /// Decay of the second-moment (uncentred variance) estimate.
    pub beta2: f64,
    /// Added to the root of the second moment to avoid division by zero.
    pub eps: f64,
    /// Decoupled weight decay: each step multiplies weights by `1 - lr * weight_decay`.
    pub weight_decay: f64,
    /// Apply no weight decay to norm weights and biases.
    pub no_decay_norms_and_biases: bool,
    /// Clip the global gradient norm to this value (None: no clipping).
    pub max_grad_norm: Option<f64>,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            lr: 1e-5,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            no_decay_norms_and_biases: true,
            max_grad_norm: Some(1.0),
        }
    }
}

/// Learning-rate schedule: linear warmup from 0, then constant or cosine
/// decay to `min_lr_ratio * lr` at `total_steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// The base lr after a linear warmup.
    Constant {
        /// Steps of linear warmup from 0.
        #[serde(default)]
        warmup_steps: usize,
    },
    /// Cosine decay from the base lr to `min_lr_ratio * lr` at `total_steps`,
    /// after a linear warmup.
    Cosine {
        /// Steps of linear warmup from 0.
        #[serde(default)]
        warmup_steps: usize,
        /// Step at which the decay reaches its floor (warmup included).
        total_steps: usize,
        /// Floor of the decay as a fraction of the base lr.
        #[serde(default)]
        min_lr_ratio: f64,
    },
}

impl Default for LrSchedule {
    fn default() -> Self {
        LrSchedule::Constant { warmup_steps: 0 }
    }
}

impl LrSchedule {
    /// A constant lr without warmup (the default).
    pub fn constant() -> Self {
        Self::default()
    }

    /// Linear warmup for `warmup_steps`, then cosine decay to
    /// `min_lr_ratio * lr` at `total_steps`.
    pub fn warmup_cosine(warmup_steps: usize, total_steps: usize, min_lr_ratio: f64) -> Self {
        LrSchedule::Cosine {
            warmup_steps,
            total_steps,
            min_lr_ratio,
        }
    }

    /// The factor applied to the base lr at optimizer step `step` (0-based).
    pub fn factor(&self, step: usize) -> f64 {
        let warm = match self {
            LrSchedule::Constant { warmup_steps } | LrSchedule::Cosine { warmup_steps, .. } => {
                *warmup_steps
            }
        };
        if step < warm {
            return (step + 1) as f64 / warm as f64;
        }
        match self {
            LrSchedule::Constant { .. } => 1.0,
            LrSchedule::Cosine {
                total_steps,
                min_lr_ratio,
                ..
            } => {
                let span = total_steps.saturating_sub(warm).max(1) as f64;
                let p = ((step - warm) as f64 / span).min(1.0);
                min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}

/// Whether a parameter (by HF name) belongs to the no-decay group.
pub fn is_no_decay(name: &str) -> bool {
    name.ends_with(".bias") || name.ends_with("norm.weight")
}

/// What one optimizer step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// Optimizer step count after this step.
    pub step: usize,
    /// Learning rate this step used (base lr times the schedule factor).
    pub lr: f64,
    /// Global L2 norm of the accumulated gradients before clipping.
    pub grad_norm: f64,
    /// Whether the gradients were scaled down to `max_grad_norm`.
    pub clipped: bool,
    /// The update was skipped because the gradient norm was not finite.
    pub skipped: bool,
    /// Micro-batches whose gradients were accumulated into this step.
    pub micro_batches: usize,
}

struct Slot {
    name: String,
    var: Var,
    decay: bool,
    m: Tensor,
    v: Tensor,
    grad: Option<Tensor>,
}

/// AdamW over named variables, with gradient accumulation and clipping.
pub struct Optimizer {
    slots: Vec<Slot>,
    /// Hyper-parameters, read at every step (the no-decay grouping is fixed
    /// when the optimizer is built).
    pub config: AdamWConfig,
    /// Learning-rate schedule over optimizer steps.
    pub schedule: LrSchedule,
    step: usize,
    micro: usize,
}

impl Optimizer {
    /// AdamW over `vars` (`(HF name, Var)` pairs, e.g. from
    /// [`crate::QwenPolicy::trainable_vars`]), with zeroed moments.
    pub fn new(
        vars: Vec<(String, Var)>,
        config: AdamWConfig,
        schedule: LrSchedule,
    ) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let m = var.zeros_like().map_err(cerr)?;
                let v = var.zeros_like().map_err(cerr)?;
                let decay = !(config.no_decay_norms_and_biases && is_no_decay(&name));
                Ok(Slot {
                    name,
                    var,
                    decay,
                    m,
                    v,
                    grad: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            config,
            schedule,
            step: 0,
            micro: 0,
        })
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Sets the step counter (when resuming without saved moments).
    pub fn set_steps(&mut self, step: usize) {
        self.step = step;
    }

    /// The learning rate the next step will use.
    pub fn current_lr(&self) -> f64 {
        self.config.lr * self.schedule.factor(self.step)
    }

    /// Micro-batches accumulated since the last step.
    pub fn pending_micro_batches(&self) -> usize {
        self.micro
    }

    /// Back-propagates `loss` and adds the gradients into the accumulator.
    /// Divide each micro-batch loss by the number of micro-batches (or use
    /// token-weighted losses) before calling this.
    pub fn accumulate(&mut self, loss: &Tensor) -> Result<()> {
        let grads = crate::model::checkpointing::backward(loss).map_err(cerr)?;
        for s in &mut self.slots {
            if let Some(g) = grads.get(s.var.as_tensor()) {
                let g = g.detach();
                s.grad = Some(match s.grad.take() {
                    None => g,
                    Some(acc) => (acc + g).map_err(cerr)?,
                });
            }
        }
        self.micro += 1;
        Ok(())
    }

    /// Drops the accumulated gradients without updating.
    pub fn zero_grad(&mut self) {
        for s in &mut self.slots {
            s.grad = None;
        }
        self.micro = 0;
    }

    /// Global L2 norm of the accumulated gradients.
    pub fn grad_norm(&self) -> Result<f64> {
        let mut total = 0f64;
        for s in &self.slots {
            if let Some(g) = &s.grad {
                total += g
                    .sqr()
                    .map_err(cerr)?
                    .sum_all()
                    .map_err(cerr)?
                    .to_dtype(DType::F64)
                    .map_err(cerr)?
                    .to_scalar::<f64>()
                    .map_err(cerr)?;
            }
        }
        Ok(total.sqrt())
    }

    /// Clips, applies one AdamW update with the scheduled lr and clears the
    /// accumulated gradients. A non-finite gradient norm skips the update.
    pub fn step(&mut self) -> Result<StepStats> {
        let lr = self.current_lr();
        let norm = self.grad_norm()?;
        let micro = self.micro;
        if !norm.is_finite() {
            self.zero_grad();
            tracing::warn!(grad_norm = norm, "non-finite gradient norm: update skipped");
            return Ok(StepStats {
                step: self.step,
                lr,
                grad_norm: norm,
                clipped: false,
                skipped: true,
                micro_batches: micro,
            });
        }
        let mut clip = 1.0;
        let mut clipped = false;
        if let Some(max) = self.config.max_grad_norm {
            if norm > max && norm > 0.0 {
                clip = max / (norm + 1e-6);
                clipped = true;
            }
        }
        self.step += 1;
        let t = self.step as i32;
        let c = &self.config;
        let (b1, b2) = (c.beta1, c.beta2);
        let bc1 = 1.0 - b1.powi(t);
        let bc2 = 1.0 - b2.powi(t);
        for s in &mut self.slots {
            let Some(g) = s.grad.take() else { continue };
            let g = if clipped {
                (g * clip).map_err(cerr)?
            } else {
                g
            };
            let m =
                ((&s.m * b1).map_err(cerr)? + (&g * (1.0 - b1)).map_err(cerr)?).map_err(cerr)?;
            let v = ((&s.v * b2).map_err(cerr)?
                + (g.sqr().map_err(cerr)? * (1.0 - b2)).map_err(cerr)?)
            .map_err(cerr)?;
            let m_hat = (&m / bc1).map_err(cerr)?;
            let v_hat = (&v / bc2).map_err(cerr)?;
            let upd =
                (m_hat / (v_hat.sqrt().map_err(cerr)? + c.eps).map_err(cerr)?).map_err(cerr)?;
            let p = s.var.as_tensor().detach();
            let p = if s.decay && c.weight_decay > 0.0 {
                (&p * (1.0 - lr * c.weight_decay)).map_err(cerr)?
            } else {
                p
            };
            let p = (p - (upd * lr).map_err(cerr)?).map_err(cerr)?;
            s.var.set(&p).map_err(cerr)?;
            s.m = m;
            s.v = v;
        }
        self.micro = 0;
        Ok(StepStats {
            step: self.step,
            lr,
            grad_norm: norm,
            clipped,
            skipped: false,
            micro_batches: micro,
        })
    }

    /// `accumulate(loss)` then `step()`.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<StepStats> {
        self.accumulate(loss)?;
        self.step()
    }

    /// Saves the moments and step count (safetensors) for resuming.
    pub fn save_state(&self, path: &Path) -> Result<()> {
        let mut tensors = Vec::new();
        for s in &self.slots {
            tensors.push((format!("m.{}", s.name), s.m.clone()));
            tensors.push((format!("v.{}", s.name), s.v.clone()));
        }
        tensors.push((
            "step".to_string(),
            Tensor::new(&[self.step as f32], s_device(&self.slots)).map_err(cerr)?,
        ));
        crate::checkpoint::write_safetensors(path, &tensors, crate::checkpoint::SaveDtype::F32)
    }

    /// Restores what [`Optimizer::save_state`] wrote.
    pub fn load_state(&mut self, path: &Path) -> Result<()> {
        let dev = s_device(&self.slots).clone();
        let map = candle_core::safetensors::load(path, &dev).map_err(|e| Error::Checkpoint {
            path: path.into(),
            message: format!("optimizer state: {e}"),
        })?;
        for s in &mut self.slots {
            let get = |k: String| {
                map.get(&k).cloned().ok_or_else(|| Error::Checkpoint {
                    path: path.into(),
                    message: format!("optimizer state lacks `{k}`"),
                })
            };
            let m = get(format!("m.{}", s.name))?;
            let v = get(format!("v.{}", s.name))?;
            if m.dims() != s.var.dims() || v.dims() != s.var.dims() {
                return Err(Error::Checkpoint {
                    path: path.into(),
                    message: format!("optimizer state for `{}` has the wrong shape", s.name),
                });
            }
            s.m = m;
            s.v = v;
        }
        if let Some(st) = map.get("step") {
            let v = st.to_vec1::<f32>().map_err(cerr)?;
            self.step = v.first().copied().unwrap_or(0.0) as usize;
        }
        Ok(())
    }
}

fn s_device(slots: &[Slot]) -> &candle_core::Device {
    slots
        .first()
        .map(|s| s.var.device())
        .unwrap_or(&candle_core::Device::Cpu)
}

/// Names of the variables that receive no gradient from `loss`.
pub fn vars_without_gradient(loss: &Tensor, vars: &[(String, Var)]) -> Result<Vec<String>> {
    let grads = crate::model::checkpointing::backward(loss).map_err(cerr)?;
    Ok(vars
        .iter()
        .filter(|(_, v)| grads.get(v.as_tensor()).is_none())
        .map(|(n, _)| n.clone())
        .collect())
}

/// Fails, naming them, when some trainable variables get no gradient from
/// `loss` (a fused op cut the graph, or a parameter is unused).
pub fn check_gradient_coverage(loss: &Tensor, vars: &[(String, Var)]) -> Result<()> {
    let missing = vars_without_gradient(loss, vars)?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "{} of {} trainable parameters get no gradient: {}",
            missing.len(),
            vars.len(),
            missing.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_warms_up_and_decays() {
        let s = LrSchedule::warmup_cosine(10, 110, 0.1);
        assert!((s.factor(0) - 0.1).abs() < 1e-9);
        assert!((s.factor(9) - 1.0).abs() < 1e-9);
        assert!((s.factor(10) - 1.0).abs() < 1e-9);
        assert!((s.factor(60) - 0.55).abs() < 1e-9);
        assert!((s.factor(110) - 0.1).abs() < 1e-9);
        assert!((s.factor(500) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn adamw_minimizes_a_quadratic_and_clips() {
        let dev = candle_core::Device::Cpu;
        let x = Var::new(&[3.0f32, -2.0], &dev).unwrap();
        let cfg = AdamWConfig {
            lr: 0.1,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            ..Default::default()
        };
        let mut opt =
            Optimizer::new(vec![("x".into(), x.clone())], cfg, LrSchedule::constant()).unwrap();
        let mut first = None;
        for _ in 0..300 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            let st = opt.backward_step(&loss).unwrap();
            first.get_or_insert(st.clone());
        }
        let f = first.unwrap();
        assert!(f.clipped && (f.grad_norm - (36.0f64 + 16.0).sqrt()).abs() < 1e-4);
        let v = x.as_tensor().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|a| a.abs() < 0.05), "{v:?}");
    }

    #[test]
    fn accumulation_equals_the_full_batch_gradient() {
        let dev = candle_core::Device::Cpu;
        let x = Var::new(&[1.0f32, 2.0], &dev).unwrap();
        let mut opt = Optimizer::new(
            vec![("x".into(), x.clone())],
            AdamWConfig::default(),
            LrSchedule::constant(),
        )
        .unwrap();
        // d/dx of 0.5*sum(x^2) + 0.5*sum(3x) = x + 1.5
        opt.accumulate(&(x.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap())
            .unwrap();
        opt.accumulate(&(x.as_tensor().sum_all().unwrap() * 1.5).unwrap())
            .unwrap();
        let n = opt.grad_norm().unwrap();
        assert!((n - (2.5f64 * 2.5 + 3.5 * 3.5).sqrt()).abs() < 1e-5);
        assert_eq!(opt.pending_micro_batches(), 2);
    }
}
