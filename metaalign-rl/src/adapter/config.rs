//! `adapter = { kind = "lora", ... }`: which projections get LoRA updates,
//! their rank and scaling, with PEFT's names and defaults.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::ModelConfig;
use metaalign_core::{Error, Result};

/// The projections LoRA can target, by PEFT's module names.
pub const PROJECTIONS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// An adapter trained instead of the full weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum AdapterConfig {
    /// LoRA (Hu et al., 2021) as PEFT implements it.
    Lora(LoraConfig),
}

impl AdapterConfig {
    /// The LoRA settings.
    pub fn lora(&self) -> &LoraConfig {
        match self {
            AdapterConfig::Lora(c) => c,
        }
    }
}

/// LoRA settings, named and defaulted as PEFT's `LoraConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraConfig {
    /// The rank of each update.
    pub r: usize,
    /// The update is scaled by `lora_alpha / r` (`/ sqrt(r)` with rsLoRA).
    pub lora_alpha: f64,
    /// Dropout on the adapter's input while training. Only 0 is supported
    /// for training (it would make resumed runs differ); adapters trained
    /// with dropout elsewhere load and run (dropout is off at inference).
    pub lora_dropout: f64,
    /// `["q_proj", "v_proj"]` (PEFT's default for Qwen2 and Llama), any of
    /// the seven projections, or `"all-linear"`.
    pub target_modules: TargetModules,
    /// rsLoRA scaling, `lora_alpha / sqrt(r)`.
    pub use_rslora: bool,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            r: 8,
            lora_alpha: 8.0,
            lora_dropout: 0.0,
            target_modules: TargetModules::List(vec!["q_proj".into(), "v_proj".into()]),
            use_rslora: false,
        }
    }
}

impl LoraConfig {
    /// Refuses settings that cannot work, naming the key.
    pub fn check(&self) -> Result<()> {
        if self.r == 0 {
            return Err(Error::config("adapter: `r` must be at least 1"));
        }
        if !(self.lora_alpha.is_finite() && self.lora_alpha > 0.0) {
            return Err(Error::config(format!(
                "adapter: `lora_alpha` must be a positive number, got {}",
                self.lora_alpha
            )));
        }
        if !(0.0..1.0).contains(&self.lora_dropout) {
            return Err(Error::config(format!(
                "adapter: `lora_dropout` must be in [0, 1), got {}",
                self.lora_dropout
            )));
        }
        self.target_modules.check()
    }

    /// The factor the update `B A x` is multiplied by.
    pub fn scale(&self) -> f64 {
        metaalign_merge::peft::lora_scale(self.lora_alpha, self.r, self.use_rslora)
    }

    /// The targeted projections of `cfg`, as module paths
    /// (`model.layers.0.self_attn.q_proj`) with their `(out, in)` shapes.
    pub fn modules(&self, cfg: &ModelConfig) -> Vec<(String, usize, usize)> {
        cfg.param_shapes()
            .into_iter()
            .filter_map(|(name, shape)| {
                let module = name.strip_suffix(".weight")?;
                (shape.len() == 2 && self.target_modules.matches(module))
                    .then(|| (module.to_string(), shape[0], shape[1]))
            })
            .collect()
    }
}

/// `target_modules`: a list of projection names or `"all-linear"`.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetModules {
    /// Every linear projection (not the output head), as PEFT's `all-linear`.
    AllLinear,
    /// These projections, by name (`q_proj`) or by module path
    /// (`model.layers.0.self_attn.q_proj`, as PEFT writes `all-linear` out).
    List(Vec<String>),
}

impl TargetModules {
    /// Whether the module at `path` (`model.layers.0.self_attn.q_proj`) is
    /// targeted: PEFT's rule, an entry equal to the path or to its last
    /// dot-separated components.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            TargetModules::AllLinear => {
                PROJECTIONS.contains(&path.rsplit('.').next().unwrap_or(path))
            }
            TargetModules::List(list) => list.iter().any(|n| {
                path == n
                    || path
                        .strip_suffix(n.as_str())
                        .is_some_and(|head| head.ends_with('.'))
            }),
        }
    }

    fn check(&self) -> Result<()> {
        if let TargetModules::List(list) = self {
            if list.is_empty() {
                return Err(Error::config("adapter: `target_modules` is empty"));
            }
            let last = |n: &String| n.rsplit('.').next().unwrap_or(n).to_string();
            if let Some(bad) = list
                .iter()
                .find(|n| !PROJECTIONS.contains(&last(n).as_str()))
            {
                return Err(Error::config(format!(
                    "adapter: unknown target module `{bad}`; known: {}, or \"all-linear\"",
                    PROJECTIONS.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl Serialize for TargetModules {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            TargetModules::AllLinear => s.serialize_str("all-linear"),
            TargetModules::List(list) => list.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for TargetModules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::One(s) if s == "all-linear" => Ok(TargetModules::AllLinear),
            Raw::One(s) => Ok(TargetModules::List(vec![s])),
            Raw::Many(list) => Ok(TargetModules::List(list)),
        }
    }
}
