//! The policy contract: a language model that generates, scores and saves.
//!
//! The core knows nothing about tensors; `metaalign-rl` implements this for
//! its candle Qwen2-family model, and trainers use the concrete type for the
//! parts that need gradients.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How to sample continuations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingParams {
    /// 0 means greedy.
    pub temperature: f64,
    /// Nucleus sampling threshold in (0, 1]; 1 disables it.
    pub top_p: f64,
    /// Keep only the k most likely tokens; None disables it.
    pub top_k: Option<usize>,
    /// At most this many tokens are generated per row.
    pub max_new_tokens: usize,
    /// Generation of a row stops when its text ends with any of these.
    pub stop: Vec<String>,
    /// Seeds the sampling, so the same seed gives the same continuations.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_p: 1.0,
            top_k: None,
            max_new_tokens: 256,
            stop: Vec::new(),
            seed: 0,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding (temperature 0) of up to `max_new_tokens` tokens.
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self {
            temperature: 0.0,
            max_new_tokens,
            ..Self::default()
        }
    }
}

/// Why a generated row stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced its end-of-sequence token.
    Eos,
    /// The text ended with one of the stop strings.
    Stop,
    /// It reached `max_new_tokens`.
    Length,
}

/// One generated continuation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Generated token ids (including the EOS token when it was produced).
    pub tokens: Vec<u32>,
    /// Decoded text of the continuation, special tokens skipped.
    pub text: String,
    /// Natural-log probability of each generated token under the sampling
    /// distribution's underlying model (before temperature).
    pub logprobs: Vec<f32>,
    /// Why it stopped.
    pub finish: FinishReason,
}

/// A causal language model that can be sampled, scored and saved.
pub trait Policy: Send {
    /// Applies the model's chat template to a user message (and optional
    /// system message), ending with the assistant turn's opening.
    fn chat_prompt(&self, system: Option<&str>, user: &str) -> String;

    /// Samples one continuation per prompt.
    fn generate(&mut self, prompts: &[String], params: &SamplingParams) -> Result<Vec<Generation>>;

    /// Per-token natural-log probabilities of each continuation given its
    /// prompt (token ids), without gradients.
    fn score(&mut self, batch: &[(Vec<u32>, Vec<u32>)]) -> Result<Vec<Vec<f32>>>;

    /// Tokenizes text into token ids.
    fn encode(&self, text: &str) -> Result<Vec<u32>>;

    /// Turns token ids back into text.
    fn decode(&self, ids: &[u32]) -> Result<String>;

    /// Number of parameters.
    fn num_parameters(&self) -> usize;

    /// Saves an HF-layout checkpoint into `dir` atomically.
    fn save(&self, dir: &Path) -> Result<()>;
}
