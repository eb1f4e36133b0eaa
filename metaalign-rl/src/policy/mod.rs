//! [`QwenPolicy`]: the candle Qwen2-family policy every trainer drives.
//!
//! # API for trainers (stable)
//!
//! Construction
//! - [`QwenPolicy::load`]`(dir, &device)`: an HF checkpoint directory (single or
//!   sharded safetensors, f32/bf16/f16 on disk, f32 master weights as `Var`s).
//! - [`QwenPolicy::fresh`]`(&spec, tokenizer, seed, &device)`: a new seeded model.
//! - [`QwenPolicy::frozen_copy`]: a deep, detached copy (the KL reference):
//!   no `Var`s, never changes when the policy is trained.
//! - [`device_from_str`]`("cpu" | "cuda" | "cuda:N")`.
//!
//! Sampling (no gradients, fused ops, KV cache)
//! - [`QwenPolicy::sample_ids`]`(&prompt_ids, &params)` and, via the core
//!   [`Policy`] trait, `generate(&prompts_text, &params)`: one
//!   [`Generation`] per prompt (tokens incl. EOS, text without special tokens,
//!   per-token log-probs under the untempered model, finish reason). Row `i`
//!   uses the RNG `(params.seed, i)`, so results are reproducible on CPU and
//!   independent of batching.
//!
//! Scoring (the training path)
//! - [`QwenPolicy::score_batch`]`(&[(prompt_ids, continuation_ids)], ScoreOptions)`
//!   returns [`Scored`]: `logprobs` [B, T] (T = longest continuation),
//!   `mask` [B, T] (f32 1/0: real continuation tokens), optional `entropy`
//!   [B, T]. With `with_grad: true` the tensors are differentiable w.r.t.
//!   [`QwenPolicy::trainable_vars`]; with `false` they are detached (use it
//!   for old-policy and reference log-probs). Padded positions hold finite
//!   values: reduce with [`masked_mean`] / [`masked_sum`] (they use
//!   `where_cond`, never multiplication by the mask).
//! - [`QwenPolicy::logits`]: full-sequence logits of a padded batch.
//!
//! Training
//! - [`QwenPolicy::trainable_vars`]: `(HF name, Var)` pairs for
//!   [`crate::optim::Optimizer`] (AdamW, clipping, accumulation, schedules).
//! - [`QwenPolicy::check_gradient_coverage`]: fails naming any trainable
//!   parameter that gets no gradient; call it at the start of a run.
//!
//! Saving: [`Policy::save`] (f32) or [`QwenPolicy::save_as`] (bf16/f16),
//! atomically in HF layout.
//!
//! Adapters
//! - [`QwenPolicy::with_adapter`]: LoRA on chosen projections; only the
//!   adapter is trainable, [`QwenPolicy::frozen_copy`] is then the base with
//!   the adapter off (shared, not copied), and saving writes PEFT's layout.
//! - [`QwenPolicy::load`] reads a PEFT adapter folder together with its base;
//!   [`QwenPolicy::merged`] folds the adapter into plain weights.

mod config;

pub use config::{FreshPolicyConfig, HfPolicyConfig, TokenizerOptions};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var, D};
use metaalign_core::policy::FinishReason;
use metaalign_core::{Error, Generation, Policy, Result, SamplingParams};
use serde_json::Value;

use crate::adapter::{self, peft, LoraConfig};
use crate::checkpoint::{self, BaseDtype, SaveDtype};
use crate::model::qwen2::LowRank;
use crate::model::{positions_and_bias, Cache, ModelConfig, ModelSpec, Qwen2};
use crate::sampling::{log_softmax, row_rng, TokenSampler};
use crate::tokenizer::TextTokenizer;

pub(crate) fn cerr(e: candle_core::Error) -> Error {
    Error::msg(format!("tensor op failed: {e}"))
}

/// Parses a device string: `cpu`, `cuda` (= `cuda:0`) or `cuda:N`.
pub fn device_from_str(s: &str) -> Result<Device> {
    let s = s.trim();
    if s == "cpu" {
        return Ok(Device::Cpu);
    }
    let ordinal = if s == "cuda" {
        Some(0)
    } else {
        s.strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
    };
    match ordinal {
        Some(n) => Device::new_cuda(n).map_err(|e| {
            Error::config(format!(
                "device `{s}` is not available ({e}); build with `--features cuda` on a machine with a GPU, or use `cpu`"
            ))
        }),
        None => Err(Error::config(format!("unknown device `{s}` (expected `cpu`, `cuda` or `cuda:N`)"))),
    }
}

/// Options for [`QwenPolicy::score_batch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreOptions {
    /// Differentiable w.r.t. the trainable vars (else detached).
    pub with_grad: bool,
    /// Also compute the per-token entropy of the (tempered) distribution.
    pub entropy: bool,
    /// Logits are divided by this before the softmax (1 = the model itself).
    pub temperature: f64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            with_grad: false,
            entropy: false,
            temperature: 1.0,
        }
    }
}

impl ScoreOptions {
    /// Options for the training path: differentiable, no entropy, temperature 1.
    pub fn train() -> Self {
        Self {
            with_grad: true,
            ..Self::default()
        }
    }
}

/// Per-token scores of a batch of continuations.
#[derive(Clone, Debug)]
pub struct Scored {
    /// [B, T] natural-log probabilities of each continuation token.
    pub logprobs: Tensor,
    /// [B, T] f32: 1 for real continuation tokens, 0 for padding.
    pub mask: Tensor,
    /// [B, T] entropy of the next-token distribution, when asked for.
    pub entropy: Option<Tensor>,
    /// Continuation length of each row.
    pub lengths: Vec<usize>,
}

impl Scored {
    /// Per-row log-probs as plain vectors, cut to each row's length.
    pub fn to_rows(&self) -> Result<Vec<Vec<f32>>> {
        rows_of(&self.logprobs, &self.lengths)
    }
}

fn rows_of(t: &Tensor, lengths: &[usize]) -> Result<Vec<Vec<f32>>> {
    let all = t
        .to_dtype(DType::F32)
        .map_err(cerr)?
        .to_vec2::<f32>()
        .map_err(cerr)?;
    Ok(all
        .into_iter()
        .zip(lengths)
        .map(|(mut r, &n)| {
            r.truncate(n);
            r
        })
        .collect())
}

/// Mean of `values` over positions where `mask` is 1 (NaN-safe: masked
/// positions are replaced by 0 with `where_cond`). Returns a scalar.
pub fn masked_mean(values: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let s = masked_sum(values, mask)?;
    let n = mask
        .sum_all()
        .map_err(cerr)?
        .to_scalar::<f32>()
        .map_err(cerr)?
        .max(1.0);
    (s / n as f64).map_err(cerr)
}

/// Sum of `values` over positions where `mask` is 1 (NaN-safe). Scalar.
pub fn masked_sum(values: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let zeros = values.zeros_like().map_err(cerr)?;
    let keep = mask.ne(0f32).map_err(cerr)?;
    keep.where_cond(values, &zeros)
        .map_err(cerr)?
        .sum_all()
        .map_err(cerr)
}

/// Packed batch: ids, attention mask, prompt width, continuation width.
type Packed = (Vec<u32>, Vec<Vec<u8>>, usize, usize);

/// The candle Qwen2-family policy (see the module docs for the API).
pub struct QwenPolicy {
    cfg: ModelConfig,
    device: Device,
    /// Trainable parameters (empty for a frozen copy), sorted by name.
    vars: Vec<(String, Var)>,
    /// Built from the `Var`s: records the graph.
    train_model: Option<Qwen2>,
    /// Built from detached views (or copies): never records a graph.
    infer_model: Qwen2,
    /// The detached tensors `infer_model` was built from, by HF name.
    weights: Vec<(String, Tensor)>,
    tokenizer: TextTokenizer,
    generation_config: Option<Value>,
    /// Prompts per forward pass in `generate` / `score` (larger inputs are
    /// processed in chunks).
    pub batch_size: usize,
    /// The LoRA adapter on the frozen base, when there is one.
    adapter: Option<Attached>,
}

/// An attached adapter: its settings, where its base lives on disk, and
/// the base model without it (the reference policy).
#[derive(Clone)]
struct Attached {
    config: LoraConfig,
    base_dir: Option<PathBuf>,
    base: Qwen2,
}

impl std::fmt::Debug for QwenPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QwenPolicy")
            .field("model_type", &self.cfg.model_type)
            .field("parameters", &self.num_parameters())
            .field("trainable", &!self.vars.is_empty())
            .field("device", &self.device)
            .finish()
    }
}

fn gaussian(rng: &mut metaalign_core::seed::Rng, n: usize, std: f64) -> Vec<f32> {
    use rand::Rng as _;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let u1: f64 = rng.random::<f64>().max(1e-300);
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let th = 2.0 * std::f64::consts::PI * u2;
        out.push((r * th.cos()) as f32);
        if out.len() < n {
            out.push((r * th.sin()) as f32);
        }
    }
    out
}

impl QwenPolicy {
    /// Builds a trainable policy from f32 tensors named as in HF.
    pub fn from_tensors(
        cfg: ModelConfig,
        tensors: BTreeMap<String, Tensor>,
        tokenizer: TextTokenizer,
        generation_config: Option<Value>,
        device: &Device,
    ) -> Result<Self> {
        crate::malloc::keep_freed_memory();
        if tokenizer.vocab_size() > cfg.vocab_size {
            return Err(Error::config(format!(
                "the tokenizer has {} tokens but the model's vocab_size is {}",
                tokenizer.vocab_size(),
                cfg.vocab_size
            )));
        }
        let mut vars = Vec::with_capacity(tensors.len());
        let mut var_map = BTreeMap::new();
        for (name, t) in tensors {
            let t = t
                .to_dtype(DType::F32)
                .map_err(cerr)?
                .to_device(device)
                .map_err(cerr)?;
            let v = Var::from_tensor(&t).map_err(cerr)?;
            var_map.insert(name.clone(), v.clone());
            vars.push((name, v));
        }
        let get_var = |n: &str| -> candle_core::Result<Tensor> {
            var_map
                .get(n)
                .map(|v| v.as_tensor().clone())
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor `{n}`")))
        };
        let train_model = Qwen2::new(&cfg, device, get_var).map_err(cerr)?;
        let get_det = |n: &str| -> candle_core::Result<Tensor> {
            var_map
                .get(n)
                .map(|v| v.as_tensor().detach())
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor `{n}`")))
        };
        let infer_model = Qwen2::new(&cfg, device, get_det).map_err(cerr)?;
        let weights = vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().detach()))
            .collect();
        Ok(Self {
            cfg,
            device: device.clone(),
            vars,
            train_model: Some(train_model),
            infer_model,
            weights,
            tokenizer,
            generation_config,
            batch_size: 32,
            adapter: None,
        })
    }

    /// Loads an HF checkpoint directory, or a PEFT LoRA adapter folder
    /// (`adapter_config.json`) on top of the base it names, in f32.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, BaseDtype::F32)
    }

    /// [`Self::load`] with the frozen weights' matrices kept in `base`
    /// precision. Anything but f32 gives a frozen model: it samples and
    /// scores, and trains through an adapter ([`Self::with_adapter`]) only.
    pub fn load_with(dir: &Path, device: &Device, base: BaseDtype) -> Result<Self> {
        if peft::is_adapter_dir(dir) {
            let read = peft::read_adapter(dir, device)?;
            if peft::is_adapter_dir(&read.base) {
                return Err(Error::Checkpoint {
                    path: dir.to_path_buf(),
                    message: format!(
                        "the adapter's base {} is itself an adapter; merge it first (`metaalign model merge-adapter`)",
                        read.base.display()
                    ),
                });
            }
            let model = Self::load_plain(&read.base, device, base)?;
            return model.with_adapter(read.config, Some(read.tensors), 0, Some(read.base));
        }
        Self::load_plain(dir, device, base)
    }

    fn load_plain(dir: &Path, device: &Device, base: BaseDtype) -> Result<Self> {
        let cfg = checkpoint::load_config(dir)?;
        let gen = checkpoint::load_generation_config(dir)?;
        let mut eos =
            crate::model::config::ids_of(gen.as_ref().and_then(|g| g.get("eos_token_id")));
        if eos.is_empty() {
            eos = cfg.eos_ids();
        }
        let pad = gen
            .as_ref()
            .and_then(|g| g.get("pad_token_id"))
            .and_then(Value::as_u64)
            .map(|x| x as u32);
        let tokenizer = TextTokenizer::load(dir, &eos, pad)?;
        let tensors = checkpoint::load_tensors(dir, &cfg, device, base)?;
        if base.is_f32() {
            return Self::from_tensors(cfg, tensors, tokenizer, gen, device);
        }
        Self::frozen_from_tensors(cfg, tensors, tokenizer, gen, device)
    }

    /// A frozen policy (no trainable parameters) over `tensors` as they
    /// are, in whatever float dtypes they have.
    fn frozen_from_tensors(
        cfg: ModelConfig,
        tensors: BTreeMap<String, Tensor>,
        tokenizer: TextTokenizer,
        generation_config: Option<Value>,
        device: &Device,
    ) -> Result<Self> {
        crate::malloc::keep_freed_memory();
        // The loader hands f32 tensors over as `Var`s; frozen, they must not
        // record a graph (a weight-sized gradient each).
        let tensors: BTreeMap<String, Tensor> =
            tensors.into_iter().map(|(n, t)| (n, t.detach())).collect();
        let get = |n: &str| -> candle_core::Result<Tensor> {
            tensors
                .get(n)
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor `{n}`")))
        };
        let infer_model = Qwen2::new(&cfg, device, get).map_err(cerr)?;
        Ok(Self {
            cfg,
            device: device.clone(),
            vars: Vec::new(),
            train_model: None,
            infer_model,
            weights: tensors.into_iter().collect(),
            tokenizer,
            generation_config,
            batch_size: 32,
            adapter: None,
        })
    }

    /// A fresh model from a spec, initialised like HF (normal(0, 0.02)
    /// weights, zero biases, unit norms) from `seed`.
    pub fn fresh(
        spec: &ModelSpec,
        tokenizer: TextTokenizer,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let bos = tokenizer.token_to_id("<|endoftext|>");
        let cfg = spec.to_config(tokenizer.vocab_size(), bos, tokenizer.eos_ids());
        cfg.validate().map_err(Error::config)?;
        let mut tensors = BTreeMap::new();
        for (name, shape) in cfg.param_shapes() {
            let n: usize = shape.iter().product();
            let data = if name.ends_with("norm.weight") {
                vec![1f32; n]
            } else if name.ends_with(".bias") {
                vec![0f32; n]
            } else {
                let mut rng =
                    metaalign_core::seed::item_rng(seed, &format!("policy/init/{name}"), 0);
                gaussian(&mut rng, n, spec.initializer_range)
            };
            let t = Tensor::from_vec(data, shape, device).map_err(cerr)?;
            tensors.insert(name, t);
        }
        Self::from_tensors(cfg, tensors, tokenizer, None, device)
    }

    /// This policy with a LoRA adapter: `tensors` (`(A, B)` per module path)
    /// or, when `None`, fresh ones as PEFT initialises them (seeded by
    /// `seed`; the adapted model starts equal to the base). Only the adapter
    /// is trainable afterwards. `base_dir` is the checkpoint folder the base
    /// was loaded from: saving writes the adapter with a pointer to it.
    pub fn with_adapter(
        mut self,
        config: LoraConfig,
        tensors: Option<BTreeMap<String, (Tensor, Tensor)>>,
        seed: u64,
        base_dir: Option<PathBuf>,
    ) -> Result<Self> {
        if self.adapter.is_some() {
            return Err(Error::config(
                "this policy already has an adapter; merge it into the base first",
            ));
        }
        config.check()?;
        let tensors = match tensors {
            Some(t) => t,
            None => adapter::init_lora(&config, &self.cfg, seed, &self.device)?,
        };
        let scale = config.scale();
        // A base weight that records a graph would get a weight-sized
        // gradient in every backward pass.
        debug_assert!(
            self.weights.iter().all(|(_, t)| !t.is_variable()),
            "the frozen base holds a Var"
        );
        let base = self.infer_model.clone();
        let (mut train, mut infer) = (BTreeMap::new(), BTreeMap::new());
        let mut vars = Vec::with_capacity(tensors.len() * 2);
        for (module, (a, b)) in tensors {
            let var = |t: Tensor| -> Result<Var> {
                let t = t.to_dtype(DType::F32).map_err(cerr)?;
                Var::from_tensor(&t.to_device(&self.device).map_err(cerr)?).map_err(cerr)
            };
            let (va, vb) = (var(a)?, var(b)?);
            train.insert(
                module.clone(),
                LowRank {
                    a: va.as_tensor().clone(),
                    b: vb.as_tensor().clone(),
                    scale,
                },
            );
            infer.insert(
                module.clone(),
                LowRank {
                    a: va.as_tensor().detach(),
                    b: vb.as_tensor().detach(),
                    scale,
                },
            );
            vars.push((peft::tensor_name(&module, "A"), va));
            vars.push((peft::tensor_name(&module, "B"), vb));
        }
        vars.sort_by(|x, y| x.0.cmp(&y.0));
        self.train_model = Some(base.with_low_rank(&train).map_err(cerr)?);
        self.infer_model = base.with_low_rank(&infer).map_err(cerr)?;
        self.vars = vars;
        self.adapter = Some(Attached {
            config,
            base_dir,
            base,
        });
        Ok(self)
    }

    /// Gradient checkpointing per layer for the training forward pass:
    /// each layer's activations are recomputed in the backward pass
    /// instead of kept (less memory, about one more forward pass).
    pub fn set_gradient_checkpointing(&mut self, on: bool) {
        if let Some(m) = &self.train_model {
            self.train_model = Some(m.with_checkpointing(on));
        }
    }

    /// The adapter's settings, when the policy has one.
    pub fn adapter_config(&self) -> Option<&LoraConfig> {
        self.adapter.as_ref().map(|a| &a.config)
    }

    /// The adapter's current `(A, B)` per module path (empty without one).
    pub fn adapter_tensors(&self) -> BTreeMap<String, (Tensor, Tensor)> {
        let mut out: BTreeMap<String, (Option<Tensor>, Option<Tensor>)> = BTreeMap::new();
        if self.adapter.is_none() {
            return BTreeMap::new();
        }
        for (name, var) in &self.vars {
            let t = var.as_tensor().detach();
            let inner = name.strip_prefix("base_model.model.").unwrap_or(name);
            if let Some(m) = inner.strip_suffix(".lora_A.weight") {
                out.entry(m.to_string()).or_default().0 = Some(t);
            } else if let Some(m) = inner.strip_suffix(".lora_B.weight") {
                out.entry(m.to_string()).or_default().1 = Some(t);
            }
        }
        out.into_iter()
            .filter_map(|(m, (a, b))| Some((m, (a?, b?))))
            .collect()
    }

    /// A plain policy whose weights are `W + scale · B A` on the adapted
    /// projections (PEFT's `merge_and_unload`); this policy unchanged when it
    /// has no adapter.
    pub fn merged(&self) -> Result<Self> {
        let tensors: BTreeMap<String, Tensor> = self.named_tensors()?.into_iter().collect();
        Self::from_tensors(
            self.cfg.clone(),
            tensors,
            self.tokenizer.clone(),
            self.generation_config.clone(),
            &self.device,
        )
    }

    /// A deep, detached copy: the frozen reference of a KL penalty. With an
    /// adapter, the base with the adapter off (its weights never change, so
    /// they are shared instead of copied).
    pub fn frozen_copy(&self) -> Result<Self> {
        if let Some(attached) = &self.adapter {
            return Ok(Self {
                cfg: self.cfg.clone(),
                device: self.device.clone(),
                vars: Vec::new(),
                train_model: None,
                infer_model: attached.base.clone(),
                weights: self.weights.clone(),
                tokenizer: self.tokenizer.clone(),
                generation_config: self.generation_config.clone(),
                batch_size: self.batch_size,
                adapter: None,
            });
        }
        let mut copies = BTreeMap::new();
        for (n, t) in &self.weights {
            copies.insert(n.clone(), t.copy().map_err(cerr)?.detach());
        }
        let get = |n: &str| -> candle_core::Result<Tensor> {
            copies
                .get(n)
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor `{n}`")))
        };
        let infer_model = Qwen2::new(&self.cfg, &self.device, get).map_err(cerr)?;
        let weights = copies.into_iter().collect();
        Ok(Self {
            cfg: self.cfg.clone(),
            device: self.device.clone(),
            vars: Vec::new(),
            train_model: None,
            infer_model,
            weights,
            tokenizer: self.tokenizer.clone(),
            generation_config: self.generation_config.clone(),
            batch_size: self.batch_size,
            adapter: None,
        })
    }

    /// The model's architecture (its `config.json`).
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The tokenizer prompts are encoded and generations decoded with.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Replaces the EOS ids that end a generated row (empty: generate
    /// until `max_new_tokens` or a stop string).
    pub fn set_eos_ids(&mut self, ids: Vec<u32>) {
        self.tokenizer.set_eos_ids(ids);
    }

    /// EOS ids that end a generated row.
    pub fn eos_ids(&self) -> &[u32] {
        self.tokenizer.eos_ids()
    }

    /// `(HF name, Var)` of every trainable parameter (empty for a frozen copy).
    pub fn trainable_vars(&self) -> Vec<(String, Var)> {
        self.vars.clone()
    }

    /// The current weights as detached tensors, by HF name (for saving,
    /// merging, or comparing); with an adapter, merged into the base.
    pub fn named_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let Some(attached) = &self.adapter else {
            return Ok(self.weights.clone());
        };
        let scale = attached.config.scale();
        let updates = self.adapter_tensors();
        self.weights
            .iter()
            .map(|(name, w)| {
                let module = name.strip_suffix(".weight").unwrap_or(name);
                match updates.get(module) {
                    None => Ok((name.clone(), w.clone())),
                    Some((a, b)) => {
                        let delta = (b.matmul(a).map_err(cerr)? * scale).map_err(cerr)?;
                        let w = w.to_dtype(DType::F32).map_err(cerr)?;
                        Ok((name.clone(), (w + delta).map_err(cerr)?))
                    }
                }
            })
            .collect()
    }

    /// Left-pads prompts, right-pads continuations: returns the ids, the
    /// attention mask, the prompt width P and the continuation width T.
    fn pack(&self, batch: &[(Vec<u32>, Vec<u32>)]) -> Result<Packed> {
        let p = batch.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
        let t = batch.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
        if let Some(i) = batch.iter().position(|(a, _)| a.is_empty()) {
            return Err(Error::data(format!(
                "row {i}: the prompt is empty (scoring needs at least one prompt token)"
            )));
        }
        let pad = self.tokenizer.pad_id();
        let mut ids = Vec::with_capacity(batch.len() * (p + t));
        let mut mask = Vec::with_capacity(batch.len());
        for (a, c) in batch {
            let mut m = vec![0u8; p - a.len()];
            ids.extend(std::iter::repeat_n(pad, p - a.len()));
            ids.extend(a);
            ids.extend(c);
            ids.extend(std::iter::repeat_n(pad, t - c.len()));
            m.extend(std::iter::repeat_n(1u8, a.len() + c.len()));
            m.extend(std::iter::repeat_n(0u8, t - c.len()));
            mask.push(m);
        }
        let vocab = self.cfg.vocab_size as u32;
        if let Some(bad) = ids.iter().find(|&&x| x >= vocab) {
            return Err(Error::data(format!(
                "token id {bad} is out of range (vocab_size {vocab})"
            )));
        }
        Ok((ids, mask, p, t))
    }

    fn model_for(&self, with_grad: bool) -> Result<&Qwen2> {
        if with_grad {
            self.train_model.as_ref().ok_or_else(|| {
                Error::msg(
                    "this policy is a frozen copy: it has no trainable parameters to differentiate",
                )
            })
        } else {
            Ok(&self.infer_model)
        }
    }

    /// Per-token log-probs (and optionally entropies) of each continuation
    /// given its prompt, for the whole batch in one forward pass.
    pub fn score_batch(
        &self,
        batch: &[(Vec<u32>, Vec<u32>)],
        opts: ScoreOptions,
    ) -> Result<Scored> {
        let model = self.model_for(opts.with_grad)?;
        let b = batch.len();
        let lengths: Vec<usize> = batch.iter().map(|(_, c)| c.len()).collect();
        let (ids, mask, p, t) = self.pack(batch)?;
        if b == 0 || t == 0 {
            let z = Tensor::zeros((b, t), DType::F32, &self.device).map_err(cerr)?;
            return Ok(Scored {
                logprobs: z.clone(),
                mask: z.clone(),
                entropy: opts.entropy.then_some(z),
                lengths,
            });
        }
        let ids_t = Tensor::from_vec(ids.clone(), (b, p + t), &self.device).map_err(cerr)?;
        let (positions, bias) = positions_and_bias(&mask, &self.device).map_err(cerr)?;
        let hidden = if opts.with_grad {
            model.forward_hidden(&ids_t, &positions, &bias)
        } else {
            model.forward_hidden_fused(&ids_t, &positions, &bias)
        }
        .map_err(cerr)?;
        // Position p-1+j predicts continuation token j.
        let h = hidden.narrow(1, p - 1, t).map_err(cerr)?;
        let mut logits = model.lm_head(&h).map_err(cerr)?;
        if opts.temperature != 1.0 && opts.temperature > 0.0 {
            logits = (logits / opts.temperature).map_err(cerr)?;
        }
        let targets = ids_t
            .narrow(1, p, t)
            .map_err(cerr)?
            .contiguous()
            .map_err(cerr)?;
        // Without the entropy, one fused node on the CPU (log-softmax +
        // gather with its own backward). The entropy needs the whole
        // log-softmax, so then both read the one composed log-softmax
        // rather than computing it twice.
        let (logprobs, entropy) = if opts.entropy {
            let lsm = candle_nn::ops::log_softmax(&logits, D::Minus1).map_err(cerr)?;
            let logprobs = lsm
                .gather(&targets.unsqueeze(2).map_err(cerr)?, 2)
                .map_err(cerr)?
                .squeeze(2)
                .map_err(cerr)?;
            let e = (lsm.exp().map_err(cerr)? * &lsm)
                .map_err(cerr)?
                .sum(D::Minus1)
                .map_err(cerr)?
                .neg()
                .map_err(cerr)?;
            (logprobs, Some(e))
        } else {
            let logprobs =
                crate::model::fused_layers::token_logprobs(&logits, &targets).map_err(cerr)?;
            (logprobs, None)
        };
        let mvals: Vec<f32> = batch
            .iter()
            .flat_map(|(_, c)| (0..t).map(move |j| if j < c.len() { 1.0 } else { 0.0 }))
            .collect();
        let mask_t = Tensor::from_vec(mvals, (b, t), &self.device).map_err(cerr)?;
        Ok(Scored {
            logprobs,
            mask: mask_t,
            entropy,
            lengths,
        })
    }

    /// Full-sequence logits [B, T, vocab] of a batch of token rows
    /// (right-padded to the longest; `with_grad` as in [`ScoreOptions`]).
    pub fn logits(&self, rows: &[Vec<u32>], with_grad: bool) -> Result<Tensor> {
        let model = self.model_for(with_grad)?;
        let t = rows.iter().map(Vec::len).max().unwrap_or(0);
        let pad = self.tokenizer.pad_id();
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        for r in rows {
            ids.extend(r);
            ids.extend(std::iter::repeat_n(pad, t - r.len()));
            let mut m = vec![1u8; r.len()];
            m.extend(std::iter::repeat_n(0u8, t - r.len()));
            mask.push(m);
        }
        let ids_t = Tensor::from_vec(ids, (rows.len(), t), &self.device).map_err(cerr)?;
        let (positions, bias) = positions_and_bias(&mask, &self.device).map_err(cerr)?;
        if with_grad {
            model.forward(&ids_t, &positions, &bias)
        } else {
            model
                .forward_hidden_fused(&ids_t, &positions, &bias)
                .and_then(|h| model.lm_head(&h))
        }
        .map_err(cerr)
    }

    /// Samples one continuation per prompt (token ids), in chunks of
    /// `batch_size`. Row `i` of the call uses RNG stream `(params.seed, i)`.
    pub fn sample_ids(
        &self,
        prompts: &[Vec<u32>],
        params: &SamplingParams,
    ) -> Result<Vec<Generation>> {
        let mut out = Vec::with_capacity(prompts.len());
        for (c, chunk) in prompts.chunks(self.batch_size.max(1)).enumerate() {
            out.extend(self.sample_chunk(chunk, params, c * self.batch_size.max(1))?);
        }
        Ok(out)
    }

    fn sample_chunk(
        &self,
        prompts: &[Vec<u32>],
        params: &SamplingParams,
        first: usize,
    ) -> Result<Vec<Generation>> {
        let b = prompts.len();
        if b == 0 {
            return Ok(Vec::new());
        }
        if let Some(i) = prompts.iter().position(Vec::is_empty) {
            return Err(Error::data(format!("prompt {} is empty", first + i)));
        }
        let vocab = self.cfg.vocab_size as u32;
        if let Some(bad) = prompts.iter().flatten().find(|&&x| x >= vocab) {
            return Err(Error::data(format!(
                "token id {bad} is out of range (vocab_size {vocab})"
            )));
        }
        if !(params.top_p > 0.0 && params.top_p <= 1.0) {
            return Err(Error::config(format!(
                "top_p must be in (0, 1], got {}",
                params.top_p
            )));
        }
        let sampler = TokenSampler {
            temperature: params.temperature,
            top_p: params.top_p,
            top_k: params.top_k,
        };
        let model = &self.infer_model;
        let p = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let max_new = params.max_new_tokens;
        if p + max_new > self.cfg.max_position_embeddings {
            return Err(Error::config(format!(
                "prompt ({p} tokens) + max_new_tokens ({max_new}) exceeds max_position_embeddings ({})",
                self.cfg.max_position_embeddings
            )));
        }
        let pad = self.tokenizer.pad_id();
        let eos = self.tokenizer.eos_ids().to_vec();
        let mut rngs: Vec<_> = (0..b).map(|i| row_rng(params.seed, first + i)).collect();
        let mut key_mask: Vec<Vec<u8>> = Vec::with_capacity(b);
        let mut ids = Vec::with_capacity(b * p);
        for pr in prompts {
            ids.extend(std::iter::repeat_n(pad, p - pr.len()));
            ids.extend(pr);
            let mut m = vec![0u8; p - pr.len()];
            m.extend(std::iter::repeat_n(1u8, pr.len()));
            key_mask.push(m);
        }
        let mut gens: Vec<Generation> = (0..b)
            .map(|_| Generation {
                tokens: Vec::new(),
                text: String::new(),
                logprobs: Vec::new(),
                finish: FinishReason::Length,
            })
            .collect();
        if max_new == 0 {
            return Ok(gens);
        }
        let mut done = vec![false; b];
        let mut next_pos: Vec<u32> = prompts.iter().map(|pr| pr.len() as u32).collect();
        let mut cache = Cache::new(&self.cfg, p + max_new);
        let ids_t = Tensor::from_vec(ids, (b, p), &self.device).map_err(cerr)?;
        let (positions, bias) = positions_and_bias(&key_mask, &self.device).map_err(cerr)?;
        let mut logits = model
            .forward_step(&ids_t, &positions, &bias, &mut cache)
            .map_err(cerr)?;
        for step in 0..max_new {
            let rows = logits
                .to_dtype(DType::F32)
                .map_err(cerr)?
                .to_vec2::<f32>()
                .map_err(cerr)?;
            let mut feed = vec![pad; b];
            for i in 0..b {
                if done[i] {
                    continue;
                }
                let row = &rows[i];
                let tok = sampler.sample(row, &mut rngs[i]);
                let lp = log_softmax(row)[tok as usize];
                let g = &mut gens[i];
                g.tokens.push(tok);
                g.logprobs.push(lp);
                feed[i] = tok;
                if eos.contains(&tok) {
                    done[i] = true;
                    g.finish = FinishReason::Eos;
                } else if !params.stop.is_empty() {
                    let text = self.tokenizer.decode(&g.tokens)?;
                    if params
                        .stop
                        .iter()
                        .any(|s| !s.is_empty() && text.contains(s.as_str()))
                    {
                        done[i] = true;
                        g.finish = FinishReason::Stop;
                    }
                }
                if !done[i] && g.tokens.len() >= max_new {
                    done[i] = true;
                    g.finish = FinishReason::Length;
                }
            }
            if done.iter().all(|&d| d) || step + 1 == max_new {
                break;
            }
            // Feed the sampled tokens (finished rows feed padding, masked out).
            let mut pos = Vec::with_capacity(b);
            for i in 0..b {
                key_mask[i].push(if done[i] { 0 } else { 1 });
                pos.push(vec![next_pos[i]]);
                next_pos[i] += 1;
            }
            let s = key_mask[0].len();
            let mut bias = Vec::with_capacity(b * s);
            for m in &key_mask {
                bias.extend(
                    m.iter()
                        .map(|&x| if x != 0 { 0f32 } else { crate::model::MASK_NEG }),
                );
            }
            let bias = Tensor::from_vec(bias, (b, 1, 1, s), &self.device).map_err(cerr)?;
            let ids_t = Tensor::from_vec(feed, (b, 1), &self.device).map_err(cerr)?;
            logits = model
                .forward_step(&ids_t, &pos, &bias, &mut cache)
                .map_err(cerr)?;
        }
        for g in &mut gens {
            g.text = self.tokenizer.decode(&g.tokens)?;
        }
        Ok(gens)
    }

    /// Fails naming every trainable parameter that gets no gradient from a
    /// small scoring loss (two rows of different lengths).
    pub fn check_gradient_coverage(&self) -> Result<()> {
        let vocab = self.tokenizer.vocab_size().min(self.cfg.vocab_size).max(2) as u32;
        let row = |n: usize, off: u32| {
            (0..n as u32)
                .map(|i| (i * 7 + off) % vocab)
                .collect::<Vec<u32>>()
        };
        let batch = vec![(row(5, 1), row(4, 3)), (row(3, 2), row(6, 5))];
        let s = self.score_batch(
            &batch,
            ScoreOptions {
                with_grad: true,
                entropy: false,
                temperature: 1.0,
            },
        )?;
        let loss = masked_mean(&s.logprobs, &s.mask)?;
        crate::optim::check_gradient_coverage(&loss, &self.vars)
    }

    /// Saves in HF layout with the given on-disk dtype, atomically; a
    /// policy with an adapter saves the adapter in PEFT's layout (f32),
    /// pointing at its base's folder, with the tokenizer beside it.
    pub fn save_as(&self, dir: &Path, dtype: SaveDtype) -> Result<()> {
        if let Some(attached) = &self.adapter {
            let base = attached.base_dir.as_ref().ok_or_else(|| {
                Error::config(
                    "this adapter's base was not loaded from a checkpoint folder, so the adapter cannot point at it; save the base first and load it from there",
                )
            })?;
            let base = std::path::absolute(base).map_err(|e| Error::io(base, e))?;
            let tensors = self.adapter_tensors();
            return checkpoint::write_atomically(dir, |tmp| {
                peft::write_adapter(tmp, &attached.config, &base, &tensors)?;
                self.tokenizer.save(tmp)
            });
        }
        let tensors = self.named_tensors()?;
        let gen = checkpoint::generation_config(
            self.generation_config.as_ref(),
            self.tokenizer.eos_ids(),
            self.tokenizer.pad_id(),
            crate::model::config::ids_of(self.cfg.bos_token_id.as_ref())
                .first()
                .copied(),
        );
        checkpoint::write_atomically(dir, |tmp| {
            checkpoint::write_config(tmp, &self.cfg, dtype)?;
            checkpoint::write_safetensors(&tmp.join("model.safetensors"), &tensors, dtype)?;
            self.tokenizer.save(tmp)?;
            checkpoint::write_generation_config(tmp, &gen)
        })
    }
}

impl Policy for QwenPolicy {
    fn chat_prompt(&self, system: Option<&str>, user: &str) -> String {
        self.tokenizer.chat_prompt(system, user)
    }

    fn generate(&mut self, prompts: &[String], params: &SamplingParams) -> Result<Vec<Generation>> {
        let ids = prompts
            .iter()
            .map(|p| self.tokenizer.encode(p))
            .collect::<Result<Vec<_>>>()?;
        self.sample_ids(&ids, params)
    }

    fn score(&mut self, batch: &[(Vec<u32>, Vec<u32>)]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(self.batch_size.max(1)) {
            out.extend(
                self.score_batch(chunk, ScoreOptions::default())?
                    .to_rows()?,
            );
        }
        Ok(out)
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids)
    }

    fn num_parameters(&self) -> usize {
        self.cfg.num_parameters()
    }

    fn save(&self, dir: &Path) -> Result<()> {
        self.save_as(dir, SaveDtype::F32)
    }
}
