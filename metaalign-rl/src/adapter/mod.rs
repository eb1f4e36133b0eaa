//! LoRA adapters, PEFT-compatible: the base weights stay frozen and shared,
//! small `A` / `B` matrices on chosen projections are trained, and the
//! reference policy of the KL term is the base with the adapter switched
//! off (no second copy of the model).
//!
//! - [`config`]: `adapter = { kind = "lora", r, lora_alpha, lora_dropout,
//!   target_modules, use_rslora }`, PEFT's names and defaults.
//! - [`peft`]: PEFT's files (`adapter_config.json`,
//!   `adapter_model.safetensors`, PEFT's tensor names), read and written.
//! - [`init_lora`]: PEFT's initialisation (A Kaiming-uniform, B zero), seeded.
//!
//! A policy carries an adapter through [`crate::QwenPolicy::with_adapter`];
//! [`crate::QwenPolicy::load`] reads an adapter folder with its base, and
//! [`crate::QwenPolicy::merged`] folds the update into plain weights.

pub mod config;
pub mod peft;

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

pub use config::{AdapterConfig, LoraConfig, TargetModules};

use crate::model::ModelConfig;
use crate::policy::cerr;
use metaalign_core::Result;

/// Fresh adapter weights for `cfg`, as PEFT initialises them with
/// `init_lora_weights = True`: `A` Kaiming-uniform with `a = sqrt(5)`
/// (uniform in ±1/sqrt(in)), `B` zero — so the adapted model starts equal
/// to the base. Seeded per module from `seed`.
pub fn init_lora(
    config: &LoraConfig,
    cfg: &ModelConfig,
    seed: u64,
    device: &Device,
) -> Result<BTreeMap<String, (Tensor, Tensor)>> {
    use rand::Rng as _;
    let mut out = BTreeMap::new();
    for (module, o, i) in config.modules(cfg) {
        let mut rng = metaalign_core::seed::item_rng(seed, &format!("lora/init/{module}"), 0);
        let bound = 1.0 / (i as f64).sqrt();
        let a: Vec<f32> = (0..config.r * i)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect();
        let a = Tensor::from_vec(a, (config.r, i), device).map_err(cerr)?;
        let b = Tensor::zeros((o, config.r), candle_core::DType::F32, device).map_err(cerr)?;
        out.insert(module, (a, b));
    }
    Ok(out)
}
