//! Benchmark: merges three ~0.94 GB f32 Llama-shaped checkpoints with the
//! paper's linear weights (1.0 / 0.2 / 0.1) and prints wall time and peak RSS.
//!
//! ```text
//! cargo run --release -p metaalign-merge --example bench_merge            # prepare + merge
//! cargo run --release -p metaalign-merge --example bench_merge -- prepare # only the inputs
//! cargo run --release -p metaalign-merge --example bench_merge -- merge [linear|ties]
//! ```
//! Inputs go to `$METAALIGN_BENCH_DIR` (default /tmp/metaalign-bench):
//! `a/`, `b/`, `c/` (and `base/` for ties), each two safetensors shards +
//! index + config.json, so that mergekit can merge the same files
//! (scripts/mergekit_bench.sh). The merge runs in a child process so that
//! its peak RSS (VmHWM) does not include the input generation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use metaalign_merge::methods::{Linear, TiesConfig};
use metaalign_merge::writer::{OutTensor, ShardedWriter};
use metaalign_merge::{peak_rss_bytes, run_merge, FloatDType, MergePlan, PlanModel, TensorMerge};

const HIDDEN: usize = 2048;
const INTER: usize = 5632;
const LAYERS: usize = 2;
const VOCAB: usize = 32000;

fn shapes() -> Vec<(String, Vec<usize>)> {
    let mut s = vec![("model.embed_tokens.weight".to_string(), vec![VOCAB, HIDDEN])];
    for i in 0..LAYERS {
        let p = format!("model.layers.{i}.");
        for (n, shape) in [
            ("self_attn.q_proj.weight", vec![HIDDEN, HIDDEN]),
            ("self_attn.k_proj.weight", vec![HIDDEN, HIDDEN]),
            ("self_attn.v_proj.weight", vec![HIDDEN, HIDDEN]),
            ("self_attn.o_proj.weight", vec![HIDDEN, HIDDEN]),
            ("mlp.gate_proj.weight", vec![INTER, HIDDEN]),
            ("mlp.up_proj.weight", vec![INTER, HIDDEN]),
            ("mlp.down_proj.weight", vec![HIDDEN, INTER]),
            ("input_layernorm.weight", vec![HIDDEN]),
            ("post_attention_layernorm.weight", vec![HIDDEN]),
        ] {
            s.push((format!("{p}{n}"), shape));
        }
    }
    s.push(("model.norm.weight".into(), vec![HIDDEN]));
    s.push(("lm_head.weight".into(), vec![VOCAB, HIDDEN]));
    s
}

fn config_json() -> String {
    format!(
        r#"{{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": {HIDDEN},
"intermediate_size": {INTER}, "num_hidden_layers": {LAYERS}, "num_attention_heads": 16,
"num_key_value_heads": 16, "vocab_size": {VOCAB}, "max_position_embeddings": 2048,
"rms_norm_eps": 1e-6, "tie_word_embeddings": false, "torch_dtype": "float32"}}"#
    )
}

/// Writes one checkpoint tensor by tensor (xorshift values), in two shards.
fn write_model(dir: &Path, seed: u64) {
    if dir.join("config.json").is_file() {
        return;
    }
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let tensors: Vec<OutTensor> = shapes()
        .into_iter()
        .map(|(name, shape)| OutTensor { name, shape })
        .collect();
    let writer = ShardedWriter::create(&tmp, &tensors, FloatDType::F32, 600_000_000).unwrap();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for (i, t) in tensors.iter().enumerate() {
        let n: usize = t.shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.04
            })
            .collect();
        writer.write(i, &values).unwrap();
    }
    writer.finish().unwrap();
    std::fs::write(tmp.join("config.json"), config_json()).unwrap();
    std::fs::rename(&tmp, dir).unwrap();
}

fn bench_dir() -> PathBuf {
    std::env::var_os("METAALIGN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/metaalign-bench"))
}

fn prepare(dir: &Path, with_base: bool) {
    let t = Instant::now();
    for (name, seed) in [("a", 1), ("b", 2), ("c", 3)] {
        write_model(&dir.join(name), seed);
    }
    if with_base {
        write_model(&dir.join("base"), 4);
    }
    println!(
        "inputs ready in {} ({:.1} s)",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
}

fn merge(dir: &Path, method_name: &str) {
    let out = dir.join(format!("out-metaalign-{method_name}"));
    let _ = std::fs::remove_dir_all(&out);
    let (method, base): (Arc<dyn TensorMerge>, Option<PlanModel>) = match method_name {
        "linear" => (Arc::new(Linear { normalize: true }), None),
        "ties" => (
            Arc::new(TiesConfig::default().method()),
            Some(PlanModel::new("base", dir.join("base"))),
        ),
        other => panic!("unknown method {other} (linear or ties)"),
    };
    let density = |p: PlanModel| {
        if base.is_some() {
            p.with_param("density", 0.5)
        } else {
            p
        }
    };
    let plan = MergePlan {
        models: vec![
            density(PlanModel::new("a", dir.join("a")).with_param("weight", 1.0)),
            density(PlanModel::new("b", dir.join("b")).with_param("weight", 0.2)),
            density(PlanModel::new("c", dir.join("c")).with_param("weight", 0.1)),
        ],
        base,
        method,
        out: out.clone(),
        seed: 0,
        options: metaalign_core::merge::MergeOptions {
            out_dtype: Some("float32".into()),
            ..Default::default()
        },
    };
    let t = Instant::now();
    let summary = run_merge(&plan).unwrap();
    let wall = t.elapsed().as_secs_f64();
    println!(
        "metaalign {method_name}: {} tensors, {:.2} GB written, wall {wall:.2} s, peak RSS {:.1} MB ({} threads)",
        summary.tensors,
        summary.bytes_written as f64 / 1e9,
        peak_rss_bytes().unwrap_or(0) as f64 / 1e6,
        rayon::current_num_threads(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = bench_dir();
    let method = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("linear")
        .to_string();
    match args.first().map(String::as_str) {
        Some("prepare") => prepare(&dir, method == "ties"),
        Some("merge") => merge(&dir, &method),
        None => {
            prepare(&dir, false);
            let status = Command::new(std::env::current_exe().unwrap())
                .args(["merge", "linear"])
                .status()
                .unwrap();
            assert!(status.success());
        }
        Some(other) => panic!("unknown command {other} (prepare | merge [linear|ties])"),
    }
}
