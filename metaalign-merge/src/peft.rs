//! PEFT LoRA adapter folders: `adapter_config.json` (what this crate and
//! the trainers read of it) and the tensor names of
//! `adapter_model.safetensors`. [`crate::Checkpoint::open`] uses them to
//! read an adapter folder as its base with the updates folded in
//! (`W + scale · B A`, PEFT's `merge_and_unload`), so every merge method
//! takes adapters as inputs.

use std::path::{Path, PathBuf};

use serde_json::Value;

use metaalign_core::{Error, Result};

/// The adapter's config file.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The adapter's weights file.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// Whether `dir` holds a PEFT adapter.
pub fn is_adapter_dir(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file()
}

/// PEFT's name of a module's `A` (`"A"`) or `B` (`"B"`) weight.
pub fn tensor_name(module: &str, which: &str) -> String {
    format!("base_model.model.{module}.lora_{which}.weight")
}

/// The module path and half (`'A'` or `'B'`) of a PEFT LoRA tensor name;
/// `None` for anything else.
pub fn split_tensor_name(name: &str) -> Option<(&str, char)> {
    let inner = name.strip_prefix("base_model.model.")?;
    inner
        .strip_suffix(".lora_A.weight")
        .map(|m| (m, 'A'))
        .or_else(|| inner.strip_suffix(".lora_B.weight").map(|m| (m, 'B')))
}

/// The projections an adapter targets, as written in its config.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// `"all-linear"`.
    AllLinear,
    /// Module names (`q_proj`, ...) or full module paths.
    Names(Vec<String>),
}

/// The settings of a PEFT LoRA adapter that change what it computes.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterFile {
    /// The rank.
    pub r: usize,
    /// The scaling numerator.
    pub lora_alpha: f64,
    /// Dropout on the adapter's input while training.
    pub lora_dropout: f64,
    /// The targeted projections.
    pub target_modules: Targets,
    /// rsLoRA scaling (`lora_alpha / sqrt(r)`).
    pub use_rslora: bool,
    /// The base checkpoint folder, resolved against the adapter folder.
    pub base: PathBuf,
}

/// `lora_alpha / r`, or `lora_alpha / sqrt(r)` with rsLoRA (PEFT's scaling).
pub fn lora_scale(lora_alpha: f64, r: usize, use_rslora: bool) -> f64 {
    if use_rslora {
        lora_alpha / (r as f64).sqrt()
    } else {
        lora_alpha / r as f64
    }
}

fn bad(dir: &Path, message: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: dir.join(CONFIG_FILE),
        message: message.to_string(),
    }
}

impl AdapterFile {
    /// Reads `dir/adapter_config.json`, refusing what a plain LoRA update
    /// does not compute (DoRA, per-module rank or alpha patterns, trained
    /// biases, `modules_to_save`, `fan_in_fan_out`) with the key's name.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| bad(dir, format!("not JSON: {e}")))?;
        let peft_type = v.get("peft_type").and_then(Value::as_str).unwrap_or("");
        if peft_type != "LORA" {
            return Err(bad(dir, format!("peft_type `{peft_type}` is not LORA")));
        }
        let truthy = |k: &str| v.get(k).is_some_and(|x| x.as_bool() == Some(true));
        let non_empty = |k: &str| {
            v.get(k)
                .is_some_and(|x| !(x.is_null() || x.as_object().is_some_and(|o| o.is_empty())))
        };
        for key in ["use_dora", "fan_in_fan_out", "lora_bias", "use_qalora"] {
            if truthy(key) {
                return Err(bad(dir, format!("`{key} = true` is not supported")));
            }
        }
        for key in [
            "rank_pattern",
            "alpha_pattern",
            "modules_to_save",
            "layers_to_transform",
            "layer_replication",
            "trainable_token_indices",
            "target_parameters",
        ] {
            if non_empty(key) {
                return Err(bad(
                    dir,
                    format!("`{key}` is not supported (set it to null / {{}})"),
                ));
            }
        }
        if let Some(b) = v.get("bias").and_then(Value::as_str) {
            if b != "none" {
                return Err(bad(
                    dir,
                    format!("`bias = \"{b}\"` is not supported (only \"none\")"),
                ));
            }
        }
        let number = |k: &str| {
            v.get(k)
                .and_then(Value::as_f64)
                .ok_or_else(|| bad(dir, format!("`{k}` is missing or not a number")))
        };
        let target_modules = match v.get("target_modules") {
            Some(Value::String(s)) if s == "all-linear" => Targets::AllLinear,
            Some(Value::String(s)) => Targets::Names(vec![s.clone()]),
            Some(Value::Array(a)) => Targets::Names(
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(dir, "`target_modules` holds a non-string"))?,
            ),
            _ => return Err(bad(dir, "`target_modules` is missing")),
        };
        let r = number("r")?;
        if !(r >= 1.0 && r.fract() == 0.0) {
            return Err(bad(dir, format!("`r` must be a whole number ≥ 1, got {r}")));
        }
        let lora_alpha = number("lora_alpha")?;
        if !(lora_alpha.is_finite() && lora_alpha > 0.0) {
            return Err(bad(
                dir,
                format!("`lora_alpha` must be a positive number, got {lora_alpha}"),
            ));
        }
        let base = v
            .get("base_model_name_or_path")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                bad(
                    dir,
                    "`base_model_name_or_path` is missing: the base checkpoint folder is needed",
                )
            })?;
        Ok(Self {
            r: r as usize,
            lora_alpha,
            lora_dropout: v.get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0),
            target_modules,
            use_rslora: truthy("use_rslora"),
            base: dir.join(base),
        })
    }

    /// The factor on `B A`.
    pub fn scale(&self) -> f64 {
        lora_scale(self.lora_alpha, self.r, self.use_rslora)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_names_round_trip() {
        let n = tensor_name("model.layers.0.self_attn.q_proj", "B");
        assert_eq!(
            split_tensor_name(&n),
            Some(("model.layers.0.self_attn.q_proj", 'B'))
        );
        assert_eq!(split_tensor_name("model.embed_tokens.weight"), None);
    }

    #[test]
    fn refuses_what_it_cannot_compute() {
        let dir = tempfile::tempdir().unwrap();
        let write = |extra: &str| {
            std::fs::write(
                dir.path().join(CONFIG_FILE),
                format!(
                    r#"{{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"],
                        "base_model_name_or_path": "../base"{extra}}}"#
                ),
            )
            .unwrap();
        };
        write("");
        let f = AdapterFile::read(dir.path()).unwrap();
        assert_eq!(f.scale(), 2.0);
        assert_eq!(f.base, dir.path().join("../base"));
        for (extra, key) in [
            (r#", "use_dora": true"#, "use_dora"),
            (r#", "rank_pattern": {"q_proj": 2}"#, "rank_pattern"),
            (r#", "bias": "all""#, "bias"),
        ] {
            write(extra);
            let e = AdapterFile::read(dir.path()).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            r#"{"peft_type": "LORA", "r": 0, "lora_alpha": 8, "target_modules": "all-linear", "base_model_name_or_path": "b"}"#,
        )
        .unwrap();
        let e = AdapterFile::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("`r`"), "{e}");
    }
}
