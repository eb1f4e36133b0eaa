//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metaalign_merge::Checkpoint;

pub type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Every tensor of a checkpoint directory, as f32.
pub fn load(dir: &Path) -> Tensors {
    let ckpt = Checkpoint::open(dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()));
    ckpt.names()
        .iter()
        .map(|n| {
            let shape = ckpt.entry(n).unwrap().shape.clone();
            (n.clone(), (shape, ckpt.read_f32(n).unwrap().into_owned()))
        })
        .collect()
}

/// Writes a single-file f32 checkpoint (plus a config.json) with the
/// safetensors crate itself.
pub fn write_checkpoint(dir: &Path, tensors: &Tensors) {
    std::fs::create_dir_all(dir).unwrap();
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, (s, v))| {
            (
                n.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                s.clone(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
        .iter()
        .map(|(n, b, s)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "torch_dtype": "float32"}"#,
    )
    .unwrap();
}

/// A tiny model: deterministic pseudo-random values from `seed`.
pub fn tiny_model(seed: u32) -> Tensors {
    let mut state = seed.wrapping_mul(2654435761).wrapping_add(12345);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state as f32 / u32::MAX as f32 - 0.5) * 0.1
    };
    let mut t = Tensors::new();
    let shapes: Vec<(&str, Vec<usize>)> = vec![
        ("model.embed_tokens.weight", vec![32, 8]),
        ("model.layers.0.self_attn.q_proj.weight", vec![8, 8]),
        ("model.layers.0.mlp.up_proj.weight", vec![16, 8]),
        ("model.layers.1.self_attn.q_proj.weight", vec![8, 8]),
        ("model.layers.1.mlp.up_proj.weight", vec![16, 8]),
        ("model.norm.weight", vec![8]),
        ("lm_head.weight", vec![32, 8]),
    ];
    for (n, s) in shapes {
        let numel: usize = s.iter().product();
        t.insert(n.to_string(), (s, (0..numel).map(|_| next()).collect()));
    }
    t
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mergekit")
}

/// Max |a - b| over all tensors; panics when names or shapes differ.
pub fn max_abs_diff(a: &Tensors, b: &Tensors) -> f32 {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "tensor names differ"
    );
    let mut worst = 0f32;
    for (n, (sa, va)) in a {
        let (sb, vb) = &b[n];
        assert_eq!(sa, sb, "shape of {n}");
        for (x, y) in va.iter().zip(vb) {
            worst = worst.max((x - y).abs());
        }
    }
    worst
}

/// Entries of a directory's parent that start with `.name.merge-` (temp dirs).
pub fn leftovers(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.merge-")))
        .collect()
}
