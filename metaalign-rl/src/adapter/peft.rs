//! PEFT's on-disk layout of a LoRA adapter: `adapter_config.json` and
//! `adapter_model.safetensors` with tensors named
//! `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value};

use super::config::{LoraConfig, TargetModules, PROJECTIONS};
use crate::checkpoint::{write_safetensors, SaveDtype};
use crate::policy::cerr;
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

/// An adapter read from disk.
#[derive(Debug)]
pub struct PeftAdapter {
    /// Its settings.
    pub config: LoraConfig,
    /// The base checkpoint it was trained on, resolved against the adapter
    /// folder when relative.
    pub base: PathBuf,
    /// `(A, B)` per module path (`model.layers.0.self_attn.q_proj`), f32.
    pub tensors: BTreeMap<String, (Tensor, Tensor)>,
}

fn bad(dir: &Path, message: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: dir.join(CONFIG_FILE),
        message: message.to_string(),
    }
}

/// Reads a PEFT LoRA adapter, refusing what this implementation does not
/// compute (DoRA, per-module rank or alpha patterns, trained biases,
/// `modules_to_save`, `fan_in_fan_out`) with the key's name.
pub fn read_adapter(dir: &Path, device: &Device) -> Result<PeftAdapter> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(dir, format!("not JSON: {e}")))?;
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
        Some(Value::String(s)) if s == "all-linear" => TargetModules::AllLinear,
        Some(Value::String(s)) => TargetModules::List(vec![s.clone()]),
        Some(Value::Array(a)) => {
            let mut names: Vec<String> = a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(dir, "`target_modules` holds a non-string"))?;
            names.sort_by_key(|n| PROJECTIONS.iter().position(|p| p == n));
            TargetModules::List(names)
        }
        _ => return Err(bad(dir, "`target_modules` is missing")),
    };
    let config = LoraConfig {
        r: number("r")? as usize,
        lora_alpha: number("lora_alpha")?,
        lora_dropout: v.get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0),
        target_modules,
        use_rslora: truthy("use_rslora"),
    };
    config.check().map_err(|e| bad(dir, e))?;
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
    let base = dir.join(base);
    let weights = dir.join(WEIGHTS_FILE);
    let raw = candle_core::safetensors::load(&weights, device).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: e.to_string(),
    })?;
    let mut halves: BTreeMap<String, (Option<Tensor>, Option<Tensor>)> = BTreeMap::new();
    for (name, t) in raw {
        let stripped = name.strip_prefix("base_model.model.").and_then(|n| {
            n.strip_suffix(".lora_A.weight")
                .map(|m| (m, 0))
                .or_else(|| n.strip_suffix(".lora_B.weight").map(|m| (m, 1)))
        });
        let Some((module, which)) = stripped else {
            return Err(Error::Checkpoint {
                path: weights.clone(),
                message: format!("tensor `{name}` is not a LoRA A or B weight"),
            });
        };
        let t = t.to_dtype(DType::F32).map_err(cerr)?;
        let slot = halves.entry(module.to_string()).or_default();
        if which == 0 {
            slot.0 = Some(t);
        } else {
            slot.1 = Some(t);
        }
    }
    let mut tensors = BTreeMap::new();
    for (module, (a, b)) in halves {
        match (a, b) {
            (Some(a), Some(b)) => {
                tensors.insert(module, (a, b));
            }
            _ => {
                return Err(Error::Checkpoint {
                    path: weights.clone(),
                    message: format!("module `{module}` has only one of lora_A / lora_B"),
                })
            }
        }
    }
    if tensors.is_empty() {
        return Err(Error::Checkpoint {
            path: weights,
            message: "no LoRA tensors".into(),
        });
    }
    Ok(PeftAdapter {
        config,
        base,
        tensors,
    })
}

/// Writes an adapter in PEFT's layout into `dir` (which exists).
pub fn write_adapter(
    dir: &Path,
    config: &LoraConfig,
    base: &Path,
    tensors: &BTreeMap<String, (Tensor, Tensor)>,
) -> Result<()> {
    let target_modules = match &config.target_modules {
        TargetModules::AllLinear => json!("all-linear"),
        TargetModules::List(list) => json!(list),
    };
    let cfg = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base.to_string_lossy(),
        "r": config.r,
        "lora_alpha": config.lora_alpha,
        "lora_dropout": config.lora_dropout,
        "target_modules": target_modules,
        "use_rslora": config.use_rslora,
        "bias": "none",
        "fan_in_fan_out": false,
        "init_lora_weights": true,
        "inference_mode": true,
        "modules_to_save": null,
        "layers_to_transform": null,
        "layers_pattern": null,
        "rank_pattern": {},
        "alpha_pattern": {},
        "use_dora": false,
        "revision": null,
    });
    let path = dir.join(CONFIG_FILE);
    std::fs::write(&path, serde_json::to_vec_pretty(&cfg)?).map_err(|e| Error::io(&path, e))?;
    let mut named = Vec::with_capacity(tensors.len() * 2);
    for (module, (a, b)) in tensors {
        named.push((tensor_name(module, "A"), a.clone()));
        named.push((tensor_name(module, "B"), b.clone()));
    }
    write_safetensors(&dir.join(WEIGHTS_FILE), &named, SaveDtype::F32)
}
