//! The model's architecture, read from and written to a Hugging Face
//! `config.json` (Qwen2 and Llama families).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The subset of an HF `config.json` the decoder needs. Keys we do not model
/// are kept in `extra` and written back on save, so a loaded checkpoint
/// round-trips its config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// `qwen2` (default) or `llama`; decides the bias layout.
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// HF class names, e.g. `Qwen2ForCausalLM`; written back unchanged.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Rows of the embedding and LM-head matrices.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP's gate/up projections.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads per attention layer.
    pub num_attention_heads: usize,
    /// Defaults to `num_attention_heads` (no grouping) when absent.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Defaults to `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    /// Longest sequence (prompt + generation) the model accepts.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Epsilon of the RMS norms.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// Base frequency of the rotary position embedding.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Whether the LM head reuses the embedding matrix (no `lm_head.weight`).
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Llama's switch for q/k/v/o biases. Qwen2 always has q/k/v biases and
    /// no o bias, whatever this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_bias: Option<bool>,
    /// Llama's switch for MLP biases; checked, and only `false`/absent is
    /// supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlp_bias: Option<bool>,
    /// MLP activation name (`silu` is the one implemented).
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// HF rope-scaling block; only the unscaled (`default`) rope is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<Value>,
    /// BOS token id as written in the file (an int, a list or null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<Value>,
    /// EOS token id(s) as written in the file (an int, a list or null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<Value>,
    /// The dtype of the weights on disk; set to the saved dtype on save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_dtype: Option<String>,
    /// Every other key of the file, kept so a save round-trips it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_model_type() -> String {
    "qwen2".into()
}
fn default_max_pos() -> usize {
    32768
}
fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10000.0
}
fn default_act() -> String {
    "silu".into()
}

/// Which projections carry biases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Biases {
    pub qkv: bool,
    pub o: bool,
}

impl ModelConfig {
    pub(crate) fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub(crate) fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    pub(crate) fn biases(&self) -> Biases {
        if self.model_type == "qwen2" {
            Biases {
                qkv: true,
                o: false,
            }
        } else {
            let b = self.attention_bias.unwrap_or(false);
            Biases { qkv: b, o: b }
        }
    }

    /// Checks the architecture is one this decoder implements.
    pub fn validate(&self) -> Result<(), String> {
        match self.model_type.as_str() {
            "qwen2" | "llama" => {}
            other => {
                return Err(format!(
                    "model_type `{other}` is not supported (supported: qwen2, llama)"
                ))
            }
        }
        if self.hidden_act != "silu" {
            return Err(format!(
                "hidden_act `{}` is not supported (only silu)",
                self.hidden_act
            ));
        }
        if self.mlp_bias == Some(true) {
            return Err("mlp_bias = true is not supported".into());
        }
        for rs in [
            self.rope_scaling.as_ref(),
            self.extra.get("rope_parameters"),
        ]
        .into_iter()
        .flatten()
        {
            let kind = rs
                .get("rope_type")
                .or_else(|| rs.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("default");
            if !rs.is_null() && kind != "default" {
                return Err(format!("rope_scaling type `{kind}` is not supported"));
            }
        }
        if self.extra.get("use_sliding_window") == Some(&Value::Bool(true)) {
            return Err("use_sliding_window = true is not supported".into());
        }
        let zero = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
        ];
        for (k, v) in zero {
            if v == 0 {
                return Err(format!("{k} must be positive"));
            }
        }
        if self.num_attention_heads % self.kv_heads() != 0 {
            return Err(format!(
                "num_attention_heads ({}) must be a multiple of num_key_value_heads ({})",
                self.num_attention_heads,
                self.kv_heads()
            ));
        }
        if self.head_dim.is_none() && self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size ({}) must be a multiple of num_attention_heads ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.head_dim() % 2 != 0 {
            return Err(format!(
                "head_dim ({}) must be even for rotary embeddings",
                self.head_dim()
            ));
        }
        Ok(())
    }

    /// Every parameter tensor with its HF name and shape, in a stable order.
    /// The LM head is listed only for untied models (HF does not save it
    /// when tied).
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let h = self.hidden_size;
        let hd = self.head_dim();
        let q = self.num_attention_heads * hd;
        let kv = self.kv_heads() * hd;
        let i = self.intermediate_size;
        let b = self.biases();
        let mut out = vec![(
            "model.embed_tokens.weight".to_string(),
            vec![self.vocab_size, h],
        )];
        for l in 0..self.num_hidden_layers {
            let p = format!("model.layers.{l}");
            out.push((format!("{p}.input_layernorm.weight"), vec![h]));
            out.push((format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
            if b.qkv {
                out.push((format!("{p}.self_attn.q_proj.bias"), vec![q]));
            }
            out.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
            if b.qkv {
                out.push((format!("{p}.self_attn.k_proj.bias"), vec![kv]));
            }
            out.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
            if b.qkv {
                out.push((format!("{p}.self_attn.v_proj.bias"), vec![kv]));
            }
            out.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
            if b.o {
                out.push((format!("{p}.self_attn.o_proj.bias"), vec![h]));
            }
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
            out.push((format!("{p}.mlp.gate_proj.weight"), vec![i, h]));
            out.push((format!("{p}.mlp.up_proj.weight"), vec![i, h]));
            out.push((format!("{p}.mlp.down_proj.weight"), vec![h, i]));
        }
        out.push(("model.norm.weight".to_string(), vec![h]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), vec![self.vocab_size, h]));
        }
        out
    }

    pub(crate) fn num_parameters(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }

    /// EOS ids listed in config.json (an int or a list).
    pub fn eos_ids(&self) -> Vec<u32> {
        ids_of(self.eos_token_id.as_ref())
    }
}

/// Reads a token id field that may be an int, a list of ints or null.
pub fn ids_of(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_u64)
            .map(|x| x as u32)
            .collect(),
        _ => Vec::new(),
    }
}

/// A small architecture spec for fresh models (`metaalign model init`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads per attention layer.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than the query heads).
    pub num_key_value_heads: usize,
    /// Width of the MLP's gate/up projections.
    pub intermediate_size: usize,
    /// Longest sequence the model accepts (default 4096).
    #[serde(default = "default_spec_max_pos")]
    pub max_position_embeddings: usize,
    /// Base frequency of the rotary position embedding.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Epsilon of the RMS norms.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// Whether the LM head reuses the embedding matrix (default `true`).
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    /// Standard deviation of the normal initialisation (HF's initializer_range).
    #[serde(default = "default_init")]
    pub initializer_range: f64,
}

fn default_spec_max_pos() -> usize {
    4096
}
fn default_true() -> bool {
    true
}
fn default_init() -> f64 {
    0.02
}

impl ModelSpec {
    /// `tiny`: 110,144 parameters with the character tokenizer;
    /// `small`: 9,519,360 (about 10M).
    pub fn preset(name: &str) -> Option<ModelSpec> {
        let (h, l, heads, kv, i) = match name {
            "tiny" => (64, 2, 4, 2, 176),
            "small" => (256, 12, 8, 4, 768),
            _ => return None,
        };
        Some(ModelSpec {
            hidden_size: h,
            num_hidden_layers: l,
            num_attention_heads: heads,
            num_key_value_heads: kv,
            intermediate_size: i,
            max_position_embeddings: default_spec_max_pos(),
            rope_theta: default_theta(),
            rms_norm_eps: default_eps(),
            tie_word_embeddings: true,
            initializer_range: default_init(),
        })
    }

    /// Names [`ModelSpec::preset`] accepts.
    pub const PRESETS: &'static [&'static str] = &["tiny", "small"];

    /// The Qwen2 config.json for this spec with a given vocabulary.
    pub fn to_config(&self, vocab_size: usize, bos: Option<u32>, eos: &[u32]) -> ModelConfig {
        let mut extra = Map::new();
        extra.insert(
            "initializer_range".into(),
            Value::from(self.initializer_range),
        );
        extra.insert("use_sliding_window".into(), Value::Bool(false));
        extra.insert("sliding_window".into(), Value::Null);
        extra.insert(
            "max_window_layers".into(),
            Value::from(self.num_hidden_layers),
        );
        extra.insert("attention_dropout".into(), Value::from(0.0));
        extra.insert("use_cache".into(), Value::Bool(true));
        extra.insert("transformers_version".into(), Value::from("4.45.0"));
        ModelConfig {
            model_type: "qwen2".into(),
            architectures: vec!["Qwen2ForCausalLM".into()],
            vocab_size,
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            num_key_value_heads: Some(self.num_key_value_heads),
            head_dim: None,
            max_position_embeddings: self.max_position_embeddings,
            rms_norm_eps: self.rms_norm_eps,
            rope_theta: self.rope_theta,
            tie_word_embeddings: self.tie_word_embeddings,
            attention_bias: None,
            mlp_bias: None,
            hidden_act: "silu".into(),
            rope_scaling: None,
            bos_token_id: bos.map(Value::from),
            eos_token_id: match eos {
                [] => None,
                [one] => Some(Value::from(*one)),
                many => Some(Value::from(many.to_vec())),
            },
            torch_dtype: Some("float32".into()),
            extra,
        }
    }
}
