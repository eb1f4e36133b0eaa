//! The Qwen2 / Llama decoder as plain functions over tensors.
//!
//! Two forward paths share the weights:
//! - [`Qwen2::forward_hidden`] (training path): on the CPU in f32, our fused
//!   ops with their own backward (linear, RMSNorm, rope, SwiGLU in
//!   [`super::fused_layers`], attention in `super::attention`); elsewhere the
//!   same layers composed from candle ops that have a backward. Every weight
//!   gets a gradient when the weights are `Var`s.
//! - [`Qwen2::forward_step`] (sampling path): candle's fused RMSNorm and
//!   rope, with a KV cache. Never use it for training: candle's fused ops
//!   silently cut the gradient graph.
//!
//! Both take per-row position ids and an additive attention bias built with
//! large finite negatives (never `-inf`), so left or right padded batches
//! give the same result as unpadded rows.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::kv_cache::KvCache;

use super::attention::attention;
use super::checkpointing::checkpointed;
use super::config::ModelConfig;
use super::fused_layers::{self, rms_norm, rope_transposed, swiglu};

/// The additive bias for masked attention entries.
pub const MASK_NEG: f32 = -1.0e9;

#[derive(Clone, Debug)]
struct Linear {
    w: Tensor,
    b: Option<Tensor>,
    /// A LoRA adapter on this projection, when one is attached.
    low_rank: Option<LowRank>,
}

/// A LoRA update of one projection: `y += scale · B (A x)`, with `a`
/// `[r, in]` and `b` `[out, r]` (PEFT's `lora_A` / `lora_B` weights).
#[derive(Clone, Debug)]
pub struct LowRank {
    /// `lora_A.weight`, `[r, in]`.
    pub a: Tensor,
    /// `lora_B.weight`, `[out, r]`.
    pub b: Tensor,
    /// `lora_alpha / r`, or `lora_alpha / sqrt(r)` with rsLoRA.
    pub scale: f64,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = fused_layers::linear(x, &self.w, self.b.as_ref())?;
        match &self.low_rank {
            None => Ok(y),
            Some(l) => {
                let down = fused_layers::linear(x, &l.a, None)?;
                y + (fused_layers::linear(&down, &l.b, None)? * l.scale)?
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Layer {
    input_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    post_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// What every layer of one forward pass shares.
struct LayerInputs {
    cos: Tensor,
    sin: Tensor,
    bias: Tensor,
    eps: f64,
    /// Batch, sequence, query heads, KV heads, head size.
    dims: (usize, usize, usize, usize, usize),
}

impl Layer {
    /// The differentiable forward of one decoder layer (training path).
    fn forward_train(&self, x: &Tensor, c: &LayerInputs) -> Result<Tensor> {
        let (b, t, nh, nkv, hd) = c.dims;
        let scale = 1.0 / (hd as f64).sqrt();
        let h = rms_norm(x, &self.input_norm, c.eps)?;
        // Rotary embedding fused with the [B, T, H, D] → [B, H, T, D]
        // transpose (CPU; see `fused_layers`).
        let q = rope_transposed(
            &self.q.forward(&h)?.reshape((b, t, nh, hd))?,
            &c.cos,
            &c.sin,
        )?;
        let k = rope_transposed(
            &self.k.forward(&h)?.reshape((b, t, nkv, hd))?,
            &c.cos,
            &c.sin,
        )?;
        let v = self
            .v
            .forward(&h)?
            .reshape((b, t, nkv, hd))?
            .transpose(1, 2)?
            .contiguous()?;
        let y = attention(&q, &k, &v, &c.bias, scale)?
            .transpose(1, 2)?
            .reshape((b, t, nh * hd))?;
        let x = (x + self.o.forward(&y)?)?;
        let h = rms_norm(&x, &self.post_norm, c.eps)?;
        let m = swiglu(&self.gate.forward(&h)?, &self.up.forward(&h)?)?;
        x + self.down.forward(&m)?
    }

    /// The layer's tensors that want gradients.
    fn trainable(&self) -> Vec<Tensor> {
        let mut all = vec![self.input_norm.clone(), self.post_norm.clone()];
        for lin in [
            &self.q, &self.k, &self.v, &self.o, &self.gate, &self.up, &self.down,
        ] {
            all.push(lin.w.clone());
            all.extend(lin.b.clone());
            if let Some(l) = &lin.low_rank {
                all.extend([l.a.clone(), l.b.clone()]);
            }
        }
        all.retain(Tensor::is_variable);
        all
    }

    /// The seven projections, by their name inside the layer.
    fn projections_mut(&mut self) -> [(&'static str, &mut Linear); 7] {
        [
            ("self_attn.q_proj", &mut self.q),
            ("self_attn.k_proj", &mut self.k),
            ("self_attn.v_proj", &mut self.v),
            ("self_attn.o_proj", &mut self.o),
            ("mlp.gate_proj", &mut self.gate),
            ("mlp.up_proj", &mut self.up),
            ("mlp.down_proj", &mut self.down),
        ]
    }
}

/// A Qwen2-family decoder whose weights are whatever tensors it was built
/// from: `Var`s (trainable), detached views of them (sampling with the
/// current weights) or detached copies (a frozen reference).
#[derive(Clone, Debug)]
pub struct Qwen2 {
    cfg: ModelConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Tensor,
    /// [max_pos, head_dim / 2]
    cos: Tensor,
    sin: Tensor,
    device: Device,
    /// Recompute each layer in the backward pass instead of keeping its
    /// activations (`super::checkpointing`).
    checkpoint_layers: bool,
}

/// The per-layer KV cache of one batched generation.
pub struct Cache {
    layers: Vec<KvCache>,
}

impl Cache {
    /// An empty cache for `cfg` holding up to `max_len` positions.
    pub fn new(cfg: &ModelConfig, max_len: usize) -> Self {
        Self {
            layers: (0..cfg.num_hidden_layers)
                .map(|_| KvCache::new(2, max_len.max(1)))
                .collect(),
        }
    }
}

impl Qwen2 {
    /// Builds the model from named tensors (HF names, shapes from
    /// [`ModelConfig::param_shapes`]). `get` is called once per name.
    pub fn new(
        cfg: &ModelConfig,
        device: &Device,
        mut get: impl FnMut(&str) -> Result<Tensor>,
    ) -> Result<Self> {
        let b = cfg.biases();
        let mut lin = |name: &str, bias: bool| -> Result<Linear> {
            Ok(Linear {
                w: get(&format!("{name}.weight"))?,
                b: if bias {
                    Some(get(&format!("{name}.bias"))?)
                } else {
                    None
                },
                low_rank: None,
            })
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for l in 0..cfg.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let q = lin(&format!("{p}.self_attn.q_proj"), b.qkv)?;
            let k = lin(&format!("{p}.self_attn.k_proj"), b.qkv)?;
            let v = lin(&format!("{p}.self_attn.v_proj"), b.qkv)?;
            let o = lin(&format!("{p}.self_attn.o_proj"), b.o)?;
            let gate = lin(&format!("{p}.mlp.gate_proj"), false)?;
            let up = lin(&format!("{p}.mlp.up_proj"), false)?;
            let down = lin(&format!("{p}.mlp.down_proj"), false)?;
            layers.push(Layer {
                input_norm: Tensor::zeros(1, DType::F32, device)?,
                q,
                k,
                v,
                o,
                post_norm: Tensor::zeros(1, DType::F32, device)?,
                gate,
                up,
                down,
            });
        }
        for (l, layer) in layers.iter_mut().enumerate() {
            let p = format!("model.layers.{l}");
            layer.input_norm = get(&format!("{p}.input_layernorm.weight"))?;
            layer.post_norm = get(&format!("{p}.post_attention_layernorm.weight"))?;
        }
        let embed = get("model.embed_tokens.weight")?;
        let norm = get("model.norm.weight")?;
        let lm_head = if cfg.tie_word_embeddings {
            embed.clone()
        } else {
            get("lm_head.weight")?
        };
        let (cos, sin) = rope_tables(cfg, device)?;
        Ok(Self {
            cfg: cfg.clone(),
            embed,
            layers,
            norm,
            lm_head,
            cos,
            sin,
            device: device.clone(),
            checkpoint_layers: false,
        })
    }

    /// The same model, its training forward checkpointed per layer (or not).
    pub fn with_checkpointing(&self, on: bool) -> Self {
        Self {
            checkpoint_layers: on,
            ..self.clone()
        }
    }

    /// The same model (sharing every weight) with LoRA updates attached to
    /// the projections named in `adapters` (`model.layers.3.mlp.up_proj`)
    /// and none elsewhere. Shapes are checked against the projections.
    pub fn with_low_rank(&self, adapters: &BTreeMap<String, LowRank>) -> Result<Self> {
        let mut out = self.clone();
        for layer in &mut out.layers {
            for (_, lin) in layer.projections_mut() {
                lin.low_rank = None;
            }
        }
        for (module, adapter) in adapters {
            let lin = out.projection_mut(module).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "LoRA module `{module}` is not a projection of this model"
                ))
            })?;
            let (o, i) = lin.w.dims2()?;
            let (ra, ia) = adapter.a.dims2()?;
            let (ob, rb) = adapter.b.dims2()?;
            if ia != i || ob != o || ra != rb {
                candle_core::bail!(
                    "LoRA module `{module}`: A {:?} and B {:?} do not fit the weight [{o}, {i}]",
                    adapter.a.dims(),
                    adapter.b.dims()
                );
            }
            lin.low_rank = Some(adapter.clone());
        }
        Ok(out)
    }

    fn projection_mut(&mut self, module: &str) -> Option<&mut Linear> {
        let rest = module.strip_prefix("model.layers.")?;
        let (index, name) = rest.split_once('.')?;
        let layer = self.layers.get_mut(index.parse::<usize>().ok()?)?;
        layer
            .projections_mut()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l)
    }

    fn check_positions(&self, positions: &[Vec<u32>]) -> Result<()> {
        let max = self.cfg.max_position_embeddings as u32;
        if let Some(p) = positions.iter().flatten().find(|&&p| p >= max) {
            candle_core::bail!(
                "position {p} exceeds max_position_embeddings {max}; shorten the sequence"
            );
        }
        Ok(())
    }

    /// cos/sin for per-row positions: [B, T, head_dim/2].
    fn rope_for(&self, positions: &[Vec<u32>]) -> Result<(Tensor, Tensor)> {
        self.check_positions(positions)?;
        let b = positions.len();
        let t = positions.first().map(Vec::len).unwrap_or(0);
        let flat: Vec<u32> = positions.iter().flatten().copied().collect();
        let idx = Tensor::from_vec(flat, b * t, &self.device)?;
        let half = self.cos.dim(1)?;
        let cos = self.cos.index_select(&idx, 0)?.reshape((b, t, half))?;
        let sin = self.sin.index_select(&idx, 0)?.reshape((b, t, half))?;
        Ok((cos, sin))
    }

    /// Differentiable forward over whole sequences. `ids` [B, T] (u32),
    /// `positions` per row, `bias` the additive attention bias [B, 1, T, T].
    /// Returns the final hidden states after the last norm, [B, T, hidden].
    pub fn forward_hidden(
        &self,
        ids: &Tensor,
        positions: &[Vec<u32>],
        bias: &Tensor,
    ) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let (cos, sin) = self.rope_for(positions)?;
        let mut x = self.embed.embedding_like(ids)?;
        let eps = self.cfg.rms_norm_eps;
        let inputs = std::sync::Arc::new(LayerInputs {
            cos,
            sin,
            bias: bias.clone(),
            eps,
            dims: (
                b,
                t,
                self.cfg.num_attention_heads,
                self.cfg.kv_heads(),
                self.cfg.head_dim(),
            ),
        });
        for layer in &self.layers {
            x = if self.checkpoint_layers {
                let (l, c) = (layer.clone(), inputs.clone());
                checkpointed(
                    &x,
                    layer.trainable(),
                    std::sync::Arc::new(move |x: &Tensor| l.forward_train(x, &c)),
                )?
            } else {
                layer.forward_train(&x, &inputs)?
            };
        }
        rms_norm(&x, &self.norm, eps)
    }

    /// Projects hidden states to vocabulary logits.
    pub fn lm_head(&self, hidden: &Tensor) -> Result<Tensor> {
        Linear {
            w: self.lm_head.clone(),
            b: None,
            low_rank: None,
        }
        .forward(hidden)
    }

    /// Differentiable full-sequence logits [B, T, vocab].
    pub fn forward(&self, ids: &Tensor, positions: &[Vec<u32>], bias: &Tensor) -> Result<Tensor> {
        self.lm_head(&self.forward_hidden(ids, positions, bias)?)
    }

    /// Sampling forward (no gradients, fused ops) of `ids` [B, T] appended
    /// to the cache. `bias` is [B, 1, T, cache_len + T]. Returns the logits
    /// of the last position of each row, [B, vocab].
    pub fn forward_step(
        &self,
        ids: &Tensor,
        positions: &[Vec<u32>],
        bias: &Tensor,
        cache: &mut Cache,
    ) -> Result<Tensor> {
        let t = ids.dim(1)?;
        let x = self.blocks_fused(ids, positions, bias, Some(cache))?;
        let last = x.narrow(1, t - 1, 1)?.contiguous()?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, self.cfg.rms_norm_eps as f32)?;
        self.lm_head(&last)?.squeeze(1)
    }

    /// No-grad full-sequence forward with fused ops (no cache): the final
    /// hidden states [B, T, hidden], like [`Qwen2::forward_hidden`] but
    /// faster and never differentiable.
    pub fn forward_hidden_fused(
        &self,
        ids: &Tensor,
        positions: &[Vec<u32>],
        bias: &Tensor,
    ) -> Result<Tensor> {
        let x = self.blocks_fused(ids, positions, bias, None)?;
        candle_nn::ops::rms_norm(&x.contiguous()?, &self.norm, self.cfg.rms_norm_eps as f32)
    }

    fn blocks_fused(
        &self,
        ids: &Tensor,
        positions: &[Vec<u32>],
        bias: &Tensor,
        mut cache: Option<&mut Cache>,
    ) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let (cos, sin) = self.rope_for(positions)?;
        let mut x = self.embed.embedding_like(ids)?;
        let eps = self.cfg.rms_norm_eps as f32;
        let (nh, nkv, hd) = (
            self.cfg.num_attention_heads,
            self.cfg.kv_heads(),
            self.cfg.head_dim(),
        );
        let scale = 1.0 / (hd as f64).sqrt();
        for (li, layer) in self.layers.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x.contiguous()?, &layer.input_norm, eps)?;
            let q = layer
                .q
                .forward(&h)?
                .reshape((b, t, nh, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let k = layer
                .k
                .forward(&h)?
                .reshape((b, t, nkv, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let v = layer
                .v
                .forward(&h)?
                .reshape((b, t, nkv, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let q = candle_nn::rotary_emb::rope(&q, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope(&k, &cos, &sin)?;
            let (k, v) = match cache.as_deref_mut() {
                Some(c) => c.layers[li].append(&k, &v)?,
                None => (k, v),
            };
            let y = attention(&q, &k, &v, bias, scale)?
                .transpose(1, 2)?
                .reshape((b, t, nh * hd))?;
            x = (x + layer.o.forward(&y)?)?;
            let h = candle_nn::ops::rms_norm(&x.contiguous()?, &layer.post_norm, eps)?;
            let m = (layer.gate.forward(&h)?.silu()? * layer.up.forward(&h)?)?;
            x = (x + layer.down.forward(&m)?)?;
        }
        Ok(x)
    }
}

trait EmbeddingLike {
    fn embedding_like(&self, ids: &Tensor) -> Result<Tensor>;
}

impl EmbeddingLike for Tensor {
    fn embedding_like(&self, ids: &Tensor) -> Result<Tensor> {
        let hidden = self.dim(1)?;
        // A half-precision table gives f32 rows: the activations are f32.
        candle_nn::Embedding::new(self.clone(), hidden)
            .forward(ids)?
            .to_dtype(DType::F32)
    }
}

fn rope_tables(cfg: &ModelConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let hd = cfg.head_dim();
    let half = hd / 2;
    let max = cfg.max_position_embeddings;
    let inv: Vec<f64> = (0..half)
        .map(|i| 1.0 / cfg.rope_theta.powf((2 * i) as f64 / hd as f64))
        .collect();
    let mut cos = Vec::with_capacity(max * half);
    let mut sin = Vec::with_capacity(max * half);
    for p in 0..max {
        for f in &inv {
            // HF computes inv_freq in f32 and the product in f32.
            let a = (p as f32) * (*f as f32);
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    Ok((
        Tensor::from_vec(cos, (max, half), device)?,
        Tensor::from_vec(sin, (max, half), device)?,
    ))
}

/// Position ids (0-based count of real tokens before each one; padding gets
/// 0) and the additive causal + padding bias [B, 1, T, T] for a batch given
/// its attention mask (1 = real token).
pub fn positions_and_bias(mask: &[Vec<u8>], device: &Device) -> Result<(Vec<Vec<u32>>, Tensor)> {
    let b = mask.len();
    let t = mask.first().map(Vec::len).unwrap_or(0);
    let mut positions = Vec::with_capacity(b);
    let mut bias = vec![MASK_NEG; b * t * t];
    for (r, row) in mask.iter().enumerate() {
        let mut pos = Vec::with_capacity(t);
        let mut n = 0u32;
        for &m in row {
            pos.push(if m != 0 { n } else { 0 });
            if m != 0 {
                n += 1;
            }
        }
        positions.push(pos);
        for i in 0..t {
            for j in 0..=i {
                if row[j] != 0 {
                    bias[(r * t + i) * t + j] = 0.0;
                }
            }
        }
    }
    let bias = Tensor::from_vec(bias, (b, 1, t, t), device)?;
    Ok((positions, bias))
}
