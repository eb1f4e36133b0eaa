//! PEFT LoRA adapter folders as merge inputs: read as their base with the
//! adapter folded in, equal to PEFT's own `merge_and_unload` (fixtures
//! made by `scripts/peft_fixtures.py`, shared with metaalign-rl).

mod common;

use std::path::{Path, PathBuf};

use common::{load, max_abs_diff, Tensors};
use metaalign_merge::{Checkpoint, MergeSpec};

fn peft_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../metaalign-rl/tests/fixtures/peft")
}

/// PEFT's merged state dict (`merged.safetensors`, no `lm_head`).
fn peft_merged(adapter: &str) -> Tensors {
    let bytes = std::fs::read(peft_fixtures().join(adapter).join("merged.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

/// A copy of the fixtures' base and of one adapter, the adapter's config
/// pointing at the copied base (the merge writes into the temp folder).
fn copy_fixture(tmp: &Path, adapter: &str) -> PathBuf {
    for dir in ["base", adapter] {
        let (src, dst) = (peft_fixtures().join(dir), tmp.join(dir));
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
        }
    }
    tmp.join(adapter)
}

#[test]
fn an_adapter_folder_reads_as_peft_merge_and_unload() {
    for adapter in ["qv", "all_linear", "rslora"] {
        let dir = peft_fixtures().join(adapter);
        let mut folded = load(&dir);
        // PEFT's state dict leaves out the tied lm_head.
        folded.retain(|name, _| name != "lm_head.weight");
        let peft = peft_merged(adapter);
        let diff = max_abs_diff(&folded, &peft);
        assert!(diff < 1e-5, "{adapter}: max |ours - PEFT| = {diff}");
        // And the adapter changed something.
        let base = load(&peft_fixtures().join("base"));
        let moved = folded.iter().filter(|(n, (_, v))| base[*n].1 != *v).count();
        assert!(moved > 0, "{adapter}: folding changed nothing");
        let ckpt = Checkpoint::open(&dir).unwrap();
        assert_eq!(ckpt.model_files_dir(), dir.join("../base"));
    }
}

#[tokio::test]
async fn a_merge_takes_an_adapter_as_an_input() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture(tmp.path(), "all_linear");
    let spec = MergeSpec::from_toml(
        r#"
method = { kind = "task_arithmetic" }
base = "base"
dtype = "float32"
[[models]]
name = "tuned"
path = "all_linear"
weight = 0.5
"#,
        "merge.toml",
    )
    .unwrap();
    let out = tmp.path().join("out");
    spec.run(tmp.path(), &out, |_| {}).await.unwrap();
    let merged = load(&out);
    let base = load(&tmp.path().join("base"));
    let tuned = load(&tmp.path().join("all_linear"));
    for (name, (_, v)) in &merged {
        for (j, x) in v.iter().enumerate() {
            let (b, t) = (base[name].1[j], tuned[name].1[j]);
            let want = b + 0.5 * (t - b);
            assert!((x - want).abs() < 1e-6, "{name}[{j}]: {x} vs {want}");
        }
    }
    // The config and tokenizer files come from the adapter's base.
    assert!(out.join("config.json").is_file());
    assert!(out.join("generation_config.json").is_file());
}

#[test]
fn broken_adapters_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(tmp.path(), "qv");
    let config_path = dir.join("adapter_config.json");
    let config = std::fs::read_to_string(&config_path).unwrap();

    // A base folder that is not there.
    std::fs::write(
        &config_path,
        config.replace("\"../base\"", "\"../missing\""),
    )
    .unwrap();
    let e = Checkpoint::open(&dir).unwrap_err().to_string();
    assert!(
        e.contains("the adapter's base") && e.contains("missing"),
        "{e}"
    );

    // A base of another shape: the adapter's A / B no longer fit.
    let other = tmp.path().join("other");
    common::write_checkpoint(&other, &common::tiny_model(1));
    std::fs::write(&config_path, config.replace("\"../base\"", "\"../other\"")).unwrap();
    let e = Checkpoint::open(&dir).unwrap_err().to_string();
    assert!(
        e.contains("module `model.layers.0.self_attn.q_proj`"),
        "{e}"
    );

    // DoRA is not a plain low-rank update.
    std::fs::write(
        &config_path,
        config.replace("\"use_dora\": false", "\"use_dora\": true"),
    )
    .unwrap();
    let e = Checkpoint::open(&dir).unwrap_err().to_string();
    assert!(e.contains("use_dora"), "{e}");
}
