//! The Qwen2-family decoder (also Llama-style configs) and its config.

mod attention;
pub mod config;
pub mod fused;
pub mod fused_layers;
pub mod qwen2;
mod simd;

pub use config::{ModelConfig, ModelSpec};
pub use qwen2::{positions_and_bias, Cache, Qwen2, MASK_NEG};
