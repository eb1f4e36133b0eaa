//! Policy benchmark: sampling tokens/s (batch 1 and 16, KV cache) and
//! seconds per training step (batch 8 x 256 tokens: differentiable forward,
//! backward, clipping, AdamW) for the `tiny` and `small` presets on CPU.
//!
//! cargo run --release -p metaalign-rl --example bench_policy [-- --presets tiny,small --new-tokens 128 --steps 3]
//! `--device cuda:0` runs it on a GPU (build with `--features cuda`; see docs/cuda.md).
//!
//! Compare with `scripts/qwen2_bench.py` (PyTorch, same configs) on the same machine.

use std::time::Instant;

use candle_core::Device;
use metaalign_core::{Policy, SamplingParams};
use metaalign_rl::model::ModelSpec;
use metaalign_rl::optim::{AdamWConfig, LrSchedule, Optimizer};
use metaalign_rl::policy::{masked_mean, QwenPolicy, ScoreOptions};
use metaalign_rl::tokenizer::TextTokenizer;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn main() -> metaalign_core::Result<()> {
    let presets = arg("--presets", "tiny,small");
    let new_tokens: usize = arg("--new-tokens", "128").parse().unwrap_or(128);
    let steps: usize = arg("--steps", "3").parse().unwrap_or(3);
    let save = arg("--save-dir", "");
    let device = metaalign_rl::policy::device_from_str(&arg("--device", "cpu"))?;
    let sync = |d: &Device| {
        d.synchronize()
            .map_err(|e| metaalign_core::Error::msg(e.to_string()))
    };
    println!("device: {device:?}");
    println!(
        "threads: RAYON_NUM_THREADS={}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into())
    );
    for preset in presets.split(',') {
        let spec = ModelSpec::preset(preset)
            .ok_or_else(|| metaalign_core::Error::config(format!("unknown preset {preset}")))?;
        let mut p = QwenPolicy::fresh(&spec, TextTokenizer::char_level("")?, 0, &device)?;
        if !save.is_empty() {
            // The PyTorch script loads these to run the same config.
            p.save(&std::path::Path::new(&save).join(preset))?;
        }
        p.set_eos_ids(Vec::new());
        p.batch_size = 64;
        let prompt = "Solve: (A ∧ ¬B) → C. Which is true?".to_string();
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            top_k: None,
            max_new_tokens: new_tokens,
            stop: vec![],
            seed: 1,
        };
        // Warm-up.
        p.generate(
            std::slice::from_ref(&prompt),
            &SamplingParams {
                max_new_tokens: 8,
                ..params.clone()
            },
        )?;
        let mut sample = Vec::new();
        for b in [1usize, 16] {
            let prompts = vec![prompt.clone(); b];
            let t = Instant::now();
            let g = p.generate(&prompts, &params)?;
            let secs = t.elapsed().as_secs_f64();
            let toks: usize = g.iter().map(|g| g.tokens.len()).sum();
            sample.push((b, toks as f64 / secs));
        }
        // Training step: batch 8 x 256 tokens.
        let vocab = p.tokenizer().vocab_size() as u32;
        let rows: Vec<(Vec<u32>, Vec<u32>)> = (0..8u32)
            .map(|r| {
                let ids: Vec<u32> = (0..256u32).map(|i| (i * 31 + r * 7 + 3) % vocab).collect();
                (ids[..1].to_vec(), ids[1..].to_vec())
            })
            .collect();
        let mut opt = Optimizer::new(
            p.trainable_vars(),
            AdamWConfig {
                lr: 1e-4,
                ..Default::default()
            },
            LrSchedule::constant(),
        )?;
        let mut times = Vec::new();
        for i in 0..=steps {
            let t = Instant::now();
            let s = p.score_batch(&rows, ScoreOptions::train())?;
            let loss = masked_mean(&s.logprobs, &s.mask)?
                .neg()
                .map_err(|e| metaalign_core::Error::msg(e.to_string()))?;
            opt.backward_step(&loss)?;
            sync(&device)?;
            if i > 0 {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        let step = times.iter().sum::<f64>() / times.len().max(1) as f64;
        println!(
            "candle {preset:>5} ({:>8} params): sample b1 {:>8.1} tok/s | sample b16 {:>8.1} tok/s | train step (8x256) {:.3} s",
            p.num_parameters(),
            sample[0].1,
            sample[1].1,
            step
        );
        println!(
            "{}",
            serde_json::json!({"impl": "candle", "preset": preset, "params": p.num_parameters(),
                "sample_tok_s_b1": sample[0].1, "sample_tok_s_b16": sample[1].1, "train_step_s": step,
                "new_tokens": new_tokens, "device": format!("{device:?}")})
        );
    }
    Ok(())
}
