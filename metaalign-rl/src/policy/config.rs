//! The `[policy]` kinds: `fresh` (a new seeded model from a preset or spec)
//! and `hf` (an existing HF checkpoint directory).

use std::path::{Path, PathBuf};

use metaalign_core::{Error, PolicyConfig, Result};
use serde::{Deserialize, Serialize};

use super::{device_from_str, QwenPolicy};
use crate::model::ModelSpec;
use crate::tokenizer::TextTokenizer;
use metaalign_core::Policy;

/// Tokenizer of a fresh model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerOptions {
    /// Characters added to the default alphabet (printable ASCII, tab,
    /// newline, ¬ ∧ ∨ → ↔ ⊕); anything else is encoded as UTF-8 bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extra_chars: String,
}

impl TokenizerOptions {
    /// The character-level tokenizer with these extra characters.
    pub fn build(&self) -> Result<TextTokenizer> {
        TextTokenizer::char_level(&self.extra_chars)
    }
}

/// `kind = "fresh"`: a new model from a preset (`tiny`, `small`) or an
/// explicit `[policy.spec]`, seeded by the run seed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshPolicyConfig {
    /// `tiny` or `small`; used when `spec` is absent (default `tiny`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// An explicit architecture, instead of `preset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ModelSpec>,
    /// The character-level tokenizer's options.
    #[serde(default)]
    pub tokenizer: TokenizerOptions,
    /// Overrides the run seed for the initialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl FreshPolicyConfig {
    pub(crate) fn resolve_spec(&self) -> Result<ModelSpec> {
        match (&self.spec, &self.preset) {
            (Some(_), Some(_)) => Err(Error::config(
                "policy: give either `preset` or `spec`, not both",
            )),
            (Some(s), None) => Ok(s.clone()),
            (None, p) => {
                let name = p.as_deref().unwrap_or("tiny");
                ModelSpec::preset(name).ok_or_else(|| {
                    Error::config(format!(
                        "policy: unknown preset `{name}` (known: {})",
                        ModelSpec::PRESETS.join(", ")
                    ))
                })
            }
        }
    }

    /// Creates the model in memory.
    pub fn build(&self, seed: u64, device: &str) -> Result<QwenPolicy> {
        let spec = self.resolve_spec()?;
        let tok = self.tokenizer.build()?;
        QwenPolicy::fresh(
            &spec,
            tok,
            self.seed.unwrap_or(seed),
            &device_from_str(device)?,
        )
    }
}

#[typetag::serde(name = "fresh")]
impl PolicyConfig for FreshPolicyConfig {
    fn describe(&self) -> String {
        match (&self.spec, &self.preset) {
            (Some(s), _) => format!(
                "fresh Qwen2 model (hidden {}, {} layers, {} heads / {} kv heads, intermediate {})",
                s.hidden_size,
                s.num_hidden_layers,
                s.num_attention_heads,
                s.num_key_value_heads,
                s.intermediate_size
            ),
            (None, p) => format!(
                "fresh Qwen2 model, preset `{}`",
                p.as_deref().unwrap_or("tiny")
            ),
        }
    }

    fn validate(&self) -> Result<Vec<String>> {
        let spec = self.resolve_spec()?;
        let tok = self.tokenizer.build()?;
        spec.to_config(tok.vocab_size(), None, &[])
            .validate()
            .map_err(|m| Error::config(format!("policy.spec: {m}")))?;
        Ok(Vec::new())
    }

    fn architecture(&self, _base_dir: &Path) -> Option<serde_json::Value> {
        let spec = self.resolve_spec().ok()?;
        let tok = self.tokenizer.build().ok()?;
        serde_json::to_value(spec.to_config(tok.vocab_size(), None, &[])).ok()
    }

    fn materialize(&self, dir: &Path, seed: u64, device: &str) -> Result<PathBuf> {
        let out = dir.join("fresh-model");
        let policy = self.build(seed, device)?;
        policy.save(&out)?;
        Ok(out)
    }
}

/// `kind = "hf"`: an existing Hugging Face checkpoint directory (Qwen2 or
/// Llama architecture).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HfPolicyConfig {
    /// Relative paths resolve against the pipeline file's folder.
    #[serde(with = "metaalign_core::pipeline::paths")]
    pub path: PathBuf,
}

#[typetag::serde(name = "hf")]
impl PolicyConfig for HfPolicyConfig {
    fn describe(&self) -> String {
        format!("HF checkpoint {}", self.path.display())
    }

    fn validate(&self) -> Result<Vec<String>> {
        if !self.path.exists() {
            return Ok(vec![format!(
                "policy path {} does not exist on this machine",
                self.path.display()
            )]);
        }
        crate::checkpoint::load_config(&self.path)?;
        Ok(Vec::new())
    }

    fn architecture(&self, _base_dir: &Path) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.path.join("config.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn materialize(&self, _dir: &Path, _seed: u64, _device: &str) -> Result<PathBuf> {
        crate::checkpoint::load_config(&self.path)?;
        if !self.path.join("tokenizer.json").is_file() {
            return Err(Error::Checkpoint {
                path: self.path.clone(),
                message: "missing tokenizer.json".into(),
            });
        }
        Ok(self.path.clone())
    }
}
