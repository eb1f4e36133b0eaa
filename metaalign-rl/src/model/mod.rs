//! The Qwen2-family decoder (also Llama-style configs) and its config.

mod attention;
pub mod checkpointing;
pub mod config;
pub(crate) mod fused;
pub(crate) mod fused_layers;
mod half_linear;
pub(crate) mod qwen2;
mod simd;

pub use config::{ModelConfig, ModelSpec};
pub(crate) use qwen2::{positions_and_bias, Cache, Qwen2, MASK_NEG};
