//! PEFT's on-disk layout of a LoRA adapter: `adapter_config.json` and
//! `adapter_model.safetensors` with tensors named
//! `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::json;

use super::config::{LoraConfig, TargetModules, PROJECTIONS};
use crate::checkpoint::{write_safetensors, SaveDtype};
use crate::policy::cerr;
use metaalign_core::{Error, Result};

pub use metaalign_merge::peft::{is_adapter_dir, tensor_name, CONFIG_FILE, WEIGHTS_FILE};
use metaalign_merge::peft::{split_tensor_name, AdapterFile, Targets};

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

/// Reads a PEFT LoRA adapter, refusing what this implementation does not
/// compute (DoRA, per-module rank or alpha patterns, trained biases,
/// `modules_to_save`, `fan_in_fan_out`) with the key's name.
pub fn read_adapter(dir: &Path, device: &Device) -> Result<PeftAdapter> {
    let file = AdapterFile::read(dir)?;
    let target_modules = match file.target_modules {
        Targets::AllLinear => TargetModules::AllLinear,
        Targets::Names(mut names) => {
            names.sort_by_key(|n| PROJECTIONS.iter().position(|p| p == n));
            TargetModules::List(names)
        }
    };
    let config = LoraConfig {
        r: file.r,
        lora_alpha: file.lora_alpha,
        lora_dropout: file.lora_dropout,
        target_modules,
        use_rslora: file.use_rslora,
    };
    config.check().map_err(|e| Error::Checkpoint {
        path: dir.join(CONFIG_FILE),
        message: e.to_string(),
    })?;
    let weights = dir.join(WEIGHTS_FILE);
    let raw = candle_core::safetensors::load(&weights, device).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: e.to_string(),
    })?;
    let mut halves: BTreeMap<String, (Option<Tensor>, Option<Tensor>)> = BTreeMap::new();
    for (name, t) in raw {
        let Some((module, half)) = split_tensor_name(&name) else {
            return Err(Error::Checkpoint {
                path: weights.clone(),
                message: format!("tensor `{name}` is not a LoRA A or B weight"),
            });
        };
        let t = t.to_dtype(DType::F32).map_err(cerr)?;
        let slot = halves.entry(module.to_string()).or_default();
        if half == 'A' {
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
        base: file.base,
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
