//! Parity with Hugging Face transformers (fixtures made by
//! scripts/qwen2_fixtures.py): logits within 1e-4 and identical 32-token
//! greedy continuations, for untied, tied, sharded-bf16 and Llama-style
//! checkpoints; and transformers' logits for a checkpoint we saved.

use std::path::PathBuf;

use candle_core::{DType, Device};
use metaalign_core::{Policy, SamplingParams};
use metaalign_rl::QwenPolicy;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn reference(dir: &std::path::Path) -> (Vec<Vec<u32>>, Vec<Vec<Vec<f32>>>) {
    let t =
        candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu).unwrap();
    let ids: Vec<Vec<u32>> = t["input_ids"]
        .to_dtype(DType::U32)
        .unwrap()
        .to_vec2::<u32>()
        .unwrap();
    let logits = t["logits"].to_vec3::<f32>().unwrap();
    (ids, logits)
}

fn check_logits(p: &QwenPolicy, ids: &[Vec<u32>], want: &[Vec<Vec<f32>>]) {
    let got = p.logits(ids, false).unwrap().to_vec3::<f32>().unwrap();
    let mut max = 0f32;
    for (g, w) in got
        .iter()
        .flatten()
        .flatten()
        .zip(want.iter().flatten().flatten())
    {
        max = max.max((g - w).abs());
    }
    assert!(max < 1e-4, "max |logit diff| = {max}");
    // The differentiable path agrees too.
    let got = p.logits(ids, true).unwrap().to_vec3::<f32>().unwrap();
    for (g, w) in got
        .iter()
        .flatten()
        .flatten()
        .zip(want.iter().flatten().flatten())
    {
        assert!((g - w).abs() < 1e-4);
    }
}

fn check(name: &str) {
    let dir = fixture(name);
    let mut p = QwenPolicy::load(&dir, &Device::Cpu).unwrap();
    let (ids, want) = reference(&dir);
    check_logits(&p, &ids, &want);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let greedy: Vec<Vec<u32>> = serde_json::from_value(r["greedy"].clone()).unwrap();
    p.set_eos_ids(Vec::new());
    let gens = p.sample_ids(&ids, &SamplingParams::greedy(32)).unwrap();
    for (g, w) in gens.iter().zip(&greedy) {
        assert_eq!(&g.tokens, w, "{name}: greedy continuation differs");
    }
}

#[test]
fn untied_qwen2_matches_transformers() {
    check("qwen2_untied");
}

#[test]
fn tied_qwen2_matches_transformers() {
    check("qwen2_tied");
}

#[test]
fn sharded_bf16_qwen2_matches_transformers() {
    let dir = fixture("qwen2_sharded");
    assert!(dir.join("model.safetensors.index.json").is_file());
    check("qwen2_sharded");
}

#[test]
fn llama_config_matches_transformers() {
    check("qwen2_llama");
}

#[test]
fn transformers_reads_what_we_save() {
    let dir = fixture("qwen2_ours");
    let p = QwenPolicy::load(&dir, &Device::Cpu).unwrap();
    let (ids, want) = reference(&dir);
    check_logits(&p, &ids, &want);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    for k in ["missing_keys", "unexpected_keys", "mismatched_keys"] {
        if let Some(v) = r["loading_info"].get(k) {
            assert_eq!(v.as_array().map(Vec::len).unwrap_or(0), 0, "{k}: {v}");
        }
    }
    let text = r["text"].as_str().unwrap();
    let py: Vec<u32> = serde_json::from_value(r["python_ids"].clone()).unwrap();
    assert_eq!(
        p.encode(text).unwrap(),
        py,
        "tokenizer differs from Python tokenizers"
    );
    assert_eq!(
        p.chat_prompt(None, "hi"),
        r["chat_prompt"].as_str().unwrap()
    );
}
