//! The memory plan of a training stage (see `metaalign_core::memory`):
//! what the trainers here keep alive at their peak, counted from the
//! architecture and the settings.
//!
//! Persistent: the weights (f32, or a bf16 / f16 base under an adapter),
//! the trainable parameters' AdamW moments
//! and gradients, and, when the KL term needs it, a frozen copy of the
//! weights (none with an adapter: the reference is the base). Then the
//! rollouts (KV cache, prefill logits) and a training micro-batch
//! (activations and attention rows kept for the backward pass, logits over
//! the continuation with log-softmax, entropy and gradients), which add up
//! rather than share memory. The constants of the last two were measured
//! on Qwen2.5-0.5B's shape with `examples/bench_memory.rs`.

use metaalign_core::memory::MemoryPlan;
use metaalign_core::{Error, Result};

use crate::adapter::LoraConfig;
use crate::model::ModelConfig;

/// Prompt tokens the plan assumes (prompt lengths are only known once the
/// tasks are drawn and tokenized).
pub const ASSUMED_PROMPT_TOKENS: usize = 256;

/// Runtime allowance: code, allocator slack, tokenizer, task sources.
const RUNTIME_BYTES: u64 = 160 << 20;

/// What a trainer does per step, as far as memory goes.
#[derive(Clone, Debug)]
pub struct TrainingShape<'a> {
    /// Prompt tokens per row (trainers use [`ASSUMED_PROMPT_TOKENS`]).
    pub prompt_tokens: usize,
    /// Rows sampled per step (prompts × samples); 0 for SFT.
    pub rollout_rows: usize,
    /// New tokens per sampled row (RL) or target tokens per row (SFT).
    pub new_tokens: usize,
    /// Rows per forward/backward pass.
    pub micro_batch: usize,
    /// A frozen reference policy is kept (KL term, full training).
    pub reference: bool,
    /// The adapter trained instead of the weights, if any.
    pub adapter: Option<&'a LoraConfig>,
    /// The frozen base's matrices are held in bf16 / f16 (with an adapter).
    pub half_base: bool,
    /// Gradient checkpointing per layer: only the layers' inputs are kept.
    pub checkpointing: bool,
}

/// Whether a trainer with `adapter` and `base_dtype` holds the base of a
/// checkpoint with `architecture` (its `config.json`) in half precision.
pub fn half_base(
    architecture: &serde_json::Value,
    adapter: bool,
    base_dtype: crate::checkpoint::BaseDtype,
) -> bool {
    use crate::checkpoint::BaseDtype;
    let stored = ["torch_dtype", "dtype"]
        .iter()
        .find_map(|k| architecture.get(*k).and_then(serde_json::Value::as_str));
    adapter
        && match base_dtype {
            BaseDtype::F32 => false,
            BaseDtype::Bf16 | BaseDtype::F16 => true,
            BaseDtype::Stored => matches!(stored, Some("bfloat16" | "float16")),
        }
}

/// Parses a `config.json` as the loader does (transformers ≥ 5 writes
/// `rope_parameters` instead of `rope_theta`).
pub fn model_config(architecture: &serde_json::Value) -> Result<ModelConfig> {
    let mut v = architecture.clone();
    if let Some(o) = v.as_object_mut() {
        if !o.contains_key("rope_theta") {
            if let Some(t) = o
                .get("rope_parameters")
                .and_then(|r| r.get("rope_theta"))
                .cloned()
            {
                o.insert("rope_theta".into(), t);
            }
        }
    }
    serde_json::from_value(v).map_err(|e| Error::config(format!("model config: {e}")))
}

/// The plan of training a model of `cfg` as `shape` says.
pub fn estimate(cfg: &ModelConfig, shape: &TrainingShape) -> MemoryPlan {
    const F32: u64 = 4;
    let params = cfg.num_parameters() as u64;
    let trainable = match shape.adapter {
        Some(lora) => lora
            .modules(cfg)
            .iter()
            .map(|(_, o, i)| (lora.r * (o + i)) as u64)
            .sum(),
        None => params,
    };
    let (h, inter, layers, vocab) = (
        cfg.hidden_size as u64,
        cfg.intermediate_size as u64,
        cfg.num_hidden_layers as u64,
        cfg.vocab_size as u64,
    );
    let heads = cfg.num_attention_heads as u64;
    let kv = (cfg.kv_heads() * cfg.head_dim()) as u64;
    let prompt = shape.prompt_tokens as u64;
    let len = prompt + shape.new_tokens as u64;

    // Norms and biases stay f32 in a half base: a rounding error here.
    let weights = params * if shape.half_base { 2 } else { F32 };
    // With an adapter the trainable tensors are extra; without, the `Var`s
    // are the weights.
    let adapter = if shape.adapter.is_some() {
        trainable * F32
    } else {
        0
    };
    let optimizer = 2 * trainable * F32;
    let gradients = trainable * F32;
    let reference = if shape.reference && shape.adapter.is_none() {
        params * F32
    } else {
        0
    };

    let rows = shape.rollout_rows as u64;
    // Rollouts: K and V per layer, position and row (the cache grows by
    // concatenation, so the last append holds two copies of one layer);
    // the prefill's logits over every prompt position and their softmax;
    // one step of logits per row afterwards.
    let kv_cache = rows * len * layers * 2 * kv * F32 + rows * len * 2 * kv * F32;
    let prefill_logits = rows * prompt * vocab * F32 * 2;
    let rollout = kv_cache + prefill_logits + rows * vocab * F32 * 2;

    let m = shape.micro_batch.max(1) as u64;
    let m = if rows > 0 { m.min(rows) } else { m };
    let t = shape.new_tokens as u64;
    // Per token and layer the backward pass keeps about h + I floats of
    // layer activations, and 17 attention rows of `len` per head (scores,
    // softmax and their gradients); the logits are over the continuation
    // tokens only, with log-softmax, entropy and gradients about eight
    // copies. Both constants were measured on Qwen2.5-0.5B's shape
    // (bench_memory, docs/policy.md).
    let per_token_layer = h + inter + 17 * heads * len;
    // Checkpointed, the graph keeps each layer's input and output (two
    // hidden vectors per token and layer) and one layer's activations
    // while it is recomputed.
    let activations = if shape.checkpointing {
        m * len * (2 * layers * h + per_token_layer) * F32
    } else {
        m * len * layers * per_token_layer * F32
    };
    let logits = 8 * m * t * vocab * F32;
    // The rollouts' freed buffers stay with the allocator (metaalign keeps
    // freed memory mapped, `malloc.rs`): the two phases add up.

    let mut parts = vec![
        ("weights".to_string(), weights),
        ("adapter".to_string(), adapter),
        ("optimizer".to_string(), optimizer),
        ("gradients".to_string(), gradients),
        ("reference".to_string(), reference),
        ("rollouts".to_string(), rollout * u64::from(rows > 0)),
        ("activations".to_string(), activations),
        ("logits".to_string(), logits),
        ("runtime".to_string(), RUNTIME_BYTES),
    ];
    parts.retain(|(_, b)| *b > 0);
    let assumes = format!(
        "prompts of {} tokens, {} trainable parameters",
        shape.prompt_tokens, trainable
    );
    let knobs = if shape.rollout_rows > 0 {
        "lower `micro_batch_size`, `prompts_per_step` × `samples_per_prompt` or `max_new_tokens`, or train an adapter (`adapter = { kind = \"lora\" }`)"
    } else {
        "lower `micro_batch_size` or `batch_size`, or train an adapter (`adapter = { kind = \"lora\" }`)"
    };
    MemoryPlan::new(parts, assumes, knobs.to_string())
}

/// Fails when `plan` does not fit the memory the run may use: `[run]
/// memory_limit_gb`, else this machine's physical memory on `cpu`
/// (unchecked on `cuda` without a limit).
pub fn check_fits(plan: &MemoryPlan, limit_gb: Option<f64>, device: &str) -> Result<()> {
    use metaalign_core::memory::{physical_memory, GIB};
    let (limit, source) = match limit_gb {
        Some(gb) => ((gb * GIB) as u64, "`[run] memory_limit_gb`".to_string()),
        None if device.starts_with("cpu") => match physical_memory() {
            Some(b) => (b, "this machine's memory".to_string()),
            None => return Ok(()),
        },
        None => return Ok(()),
    };
    if plan.peak > limit {
        return Err(Error::config(format!(
            "needs {plan}, more than the {} of {source}: {}",
            metaalign_core::memory::human(limit),
            plan.knobs
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::TargetModules;
    use crate::model::ModelSpec;

    /// Qwen2.5-0.5B-Instruct's published configuration.
    fn qwen05() -> ModelConfig {
        let mut s = ModelSpec::preset("tiny").unwrap();
        s.hidden_size = 896;
        s.num_hidden_layers = 24;
        s.num_attention_heads = 14;
        s.num_key_value_heads = 2;
        s.intermediate_size = 4864;
        s.tie_word_embeddings = true;
        s.to_config(151_936, None, &[])
    }

    fn part(plan: &MemoryPlan, name: &str) -> u64 {
        plan.parts
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |p| p.1)
    }

    fn grpo(adapter: Option<&LoraConfig>) -> TrainingShape<'_> {
        TrainingShape {
            prompt_tokens: 256,
            rollout_rows: 32,
            new_tokens: 128,
            micro_batch: 8,
            reference: true,
            adapter,
            half_base: false,
            checkpointing: false,
        }
    }

    #[test]
    fn full_training_counts_weights_moments_gradients_and_the_reference() {
        let cfg = qwen05();
        assert_eq!(cfg.num_parameters(), 494_032_768);
        let plan = estimate(&cfg, &grpo(None));
        let w = 494_032_768u64 * 4;
        assert_eq!(part(&plan, "weights"), w);
        assert_eq!(part(&plan, "optimizer"), 2 * w);
        assert_eq!(part(&plan, "gradients"), w);
        assert_eq!(part(&plan, "reference"), w);
        assert_eq!(part(&plan, "adapter"), 0);
        assert_eq!(plan.peak, plan.parts.iter().map(|p| p.1).sum::<u64>());
    }

    #[test]
    fn an_adapter_keeps_one_frozen_copy_and_small_moments() {
        let cfg = qwen05();
        let lora = LoraConfig {
            r: 16,
            target_modules: TargetModules::AllLinear,
            ..LoraConfig::default()
        };
        let full = estimate(&cfg, &grpo(None));
        let plan = estimate(&cfg, &grpo(Some(&lora)));
        assert_eq!(part(&plan, "reference"), 0);
        // r (in + out) per projection, seven projections, 24 layers
        let per_layer = 16 * ((896 + 896) + 2 * (896 + 128) + (896 + 896) + 3 * (896 + 4864));
        assert_eq!(part(&plan, "adapter"), 24 * per_layer as u64 * 4);
        assert_eq!(part(&plan, "optimizer"), 2 * part(&plan, "adapter"));
        assert!(plan.peak + 3 * part(&full, "weights") / 2 < full.peak);
    }

    #[test]
    fn a_half_precision_base_holds_half_the_weights() {
        use crate::checkpoint::BaseDtype;
        let cfg = qwen05();
        let lora = LoraConfig::default();
        let f32_base = estimate(&cfg, &grpo(Some(&lora)));
        let mut shape = grpo(Some(&lora));
        shape.half_base = true;
        let half = estimate(&cfg, &shape);
        assert_eq!(2 * part(&half, "weights"), part(&f32_base, "weights"));
        // Which checkpoints and settings give a half base.
        let bf16 = serde_json::json!({"torch_dtype": "bfloat16"});
        let f32 = serde_json::json!({"torch_dtype": "float32"});
        assert!(half_base(&bf16, true, BaseDtype::Stored));
        assert!(!half_base(&f32, true, BaseDtype::Stored));
        assert!(half_base(&f32, true, BaseDtype::Bf16));
        assert!(!half_base(&bf16, true, BaseDtype::F32));
        assert!(!half_base(&bf16, false, BaseDtype::Stored));
    }

    #[test]
    fn checkpointing_keeps_one_layer_of_activations() {
        let cfg = qwen05();
        let plain = estimate(&cfg, &grpo(None));
        let mut shape = grpo(None);
        shape.checkpointing = true;
        let ckpt = estimate(&cfg, &shape);
        assert!(part(&ckpt, "activations") * 4 < part(&plain, "activations"));
        assert_eq!(part(&ckpt, "weights"), part(&plain, "weights"));
    }

    #[test]
    fn longer_rollouts_and_bigger_micro_batches_cost_more() {
        let cfg = qwen05();
        let base = estimate(&cfg, &grpo(None)).peak;
        let mut longer = grpo(None);
        longer.new_tokens = 1024;
        assert!(estimate(&cfg, &longer).peak > base);
        let mut wider = grpo(None);
        wider.micro_batch = 32;
        assert!(estimate(&cfg, &wider).peak > base);
    }

    #[test]
    fn a_plan_over_the_limit_is_refused_naming_the_knobs() {
        let plan = estimate(&qwen05(), &grpo(None));
        let e = check_fits(&plan, Some(1.0), "cpu").unwrap_err().to_string();
        assert!(
            e.contains("[run] memory_limit_gb")
                && e.contains("micro_batch_size")
                && e.contains("adapter"),
            "{e}"
        );
        check_fits(&plan, Some(1000.0), "cpu").unwrap();
        // cuda without a limit: not checked
        check_fits(&plan, None, "cuda:0").unwrap();
    }
}
