//! The `median` plugin through the registry and the merge engine, checked
//! against a direct computation on small checkpoints.

use std::collections::BTreeMap;
use std::path::Path;

use metaalign_core::merge::{MergeInputs, MergeModel, MergeOptions};
use metaalign_core::{MergeConfig, Slot};
use metaalign_merge::Checkpoint;

type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn write_checkpoint(dir: &Path, tensors: &Tensors) {
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
        r#"{"architectures": ["Qwen2ForCausalLM"], "num_hidden_layers": 1, "torch_dtype": "float32"}"#,
    )
    .unwrap();
}

fn model(seed: u32) -> Tensors {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 2001) as f32 / 1000.0 - 1.0
    };
    let mut t = Tensors::new();
    t.insert(
        "model.embed_tokens.weight".into(),
        (vec![5, 4], (0..20).map(|_| next()).collect()),
    );
    t.insert(
        "model.layers.0.mlp.up_proj.weight".into(),
        (vec![3, 4], (0..12).map(|_| next()).collect()),
    );
    t.insert(
        "model.norm.weight".into(),
        (vec![4], (0..4).map(|_| next()).collect()),
    );
    t
}

fn read(dir: &Path) -> Tensors {
    let ckpt = Checkpoint::open(dir).unwrap();
    ckpt.names()
        .iter()
        .map(|n| {
            let shape = ckpt.entry(n).unwrap().shape.clone();
            (n.clone(), (shape, ckpt.read_f32(n).unwrap().into_owned()))
        })
        .collect()
}

fn median3(a: f32, b: f32, c: f32) -> f32 {
    let mut v = [a, b, c];
    v.sort_by(|x, y| x.total_cmp(y));
    v[1]
}

async fn merge(toml: &str, models: &[(&str, &Path, Option<f64>)], base: Option<&Path>, out: &Path) {
    metaalign_core::registry::ensure(&metaalign_merge_median::MedianPlugin).unwrap();
    let cfg: Box<dyn MergeConfig> = metaalign_core::config::from_toml_str(toml, "test").unwrap();
    let merger = cfg.build().unwrap();
    assert_eq!(merger.kind(), "median");
    let inputs = MergeInputs {
        models: models
            .iter()
            .map(|(n, p, w)| {
                let m = MergeModel::new(*n, *p);
                match w {
                    Some(w) => m.with_param("weight", *w),
                    None => m,
                }
            })
            .collect(),
        base: base.map(|b| MergeModel::new("base", b)),
        out: out.to_path_buf(),
        seed: 0,
        options: MergeOptions::default(),
    };
    merger.merge(&inputs).await.unwrap();
}

#[tokio::test]
async fn median_of_three_checkpoints_matches_a_direct_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let ms: Vec<Tensors> = (1..=3).map(model).collect();
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("m{i}"))).collect();
    for (d, m) in dirs.iter().zip(&ms) {
        write_checkpoint(d, m);
    }
    let out = tmp.path().join("out");
    merge(
        "kind = \"median\"",
        &[
            ("a", &dirs[0], None),
            ("b", &dirs[1], None),
            ("c", &dirs[2], None),
        ],
        None,
        &out,
    )
    .await;
    let merged = read(&out);
    assert_eq!(merged.len(), 3);
    for (name, (shape, values)) in &merged {
        assert_eq!(shape, &ms[0][name].0);
        for (j, v) in values.iter().enumerate() {
            let expect = median3(ms[0][name].1[j], ms[1][name].1[j], ms[2][name].1[j]);
            assert_eq!(*v, expect, "{name}[{j}]");
        }
    }
    assert!(out.join("config.json").is_file());

    // weights 1.0 / 0.2 / 0.1: the first model holds more than half the
    // weight, so the weighted median is the first model itself.
    let out_w = tmp.path().join("out_w");
    merge(
        "kind = \"median\"",
        &[
            ("a", &dirs[0], Some(1.0)),
            ("b", &dirs[1], Some(0.2)),
            ("c", &dirs[2], Some(0.1)),
        ],
        None,
        &out_w,
    )
    .await;
    assert_eq!(read(&out_w), ms[0]);
}

#[tokio::test]
async fn median_of_task_vectors_around_a_base() {
    let tmp = tempfile::tempdir().unwrap();
    let base = model(10);
    let ms: Vec<Tensors> = (1..=3).map(model).collect();
    write_checkpoint(&tmp.path().join("base"), &base);
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("m{i}"))).collect();
    for (d, m) in dirs.iter().zip(&ms) {
        write_checkpoint(d, m);
    }
    let out = tmp.path().join("out");
    merge(
        "kind = \"median\"\nrelative_to_base = true",
        &[
            ("a", &dirs[0], None),
            ("b", &dirs[1], None),
            ("c", &dirs[2], None),
        ],
        Some(&tmp.path().join("base")),
        &out,
    )
    .await;
    let merged = read(&out);
    for (name, (_, values)) in &merged {
        for (j, v) in values.iter().enumerate() {
            let b = f64::from(base[name].1[j]);
            let d: Vec<f64> = ms.iter().map(|m| f64::from(m[name].1[j]) - b).collect();
            let mut s = d.clone();
            s.sort_by(|x, y| x.total_cmp(y));
            let expect = (s[1] + b) as f32;
            assert_eq!(*v, expect, "{name}[{j}]");
        }
    }
}

#[test]
fn registered_with_an_example_that_parses() {
    metaalign_core::registry::ensure(&metaalign_merge_median::MedianPlugin).unwrap();
    let reg = metaalign_core::registry::find(Slot::Merge, "median").expect("median is registered");
    metaalign_core::registry::check_example(&reg).unwrap();
    let bad = metaalign_core::config::from_toml_str::<Box<dyn MergeConfig>>(
        "kind = \"median\"\nweights = 3",
        "bad.toml",
    );
    assert!(bad.unwrap_err().to_string().contains("weights"));
}
