//! Engine behaviour: sharding, dtypes, chunked element-wise merges, DARE
//! statistics, the plugin trait, TOML configs and the pipeline stage.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use metaalign_core::config::StageConfig;
use metaalign_merge::methods::{DareLinearConfig, DareTiesConfig, Linear};
use metaalign_merge::{
    run_merge, MergePlan, MergeSpec, ModelParams, PlanModel, TensorContext, TensorMerge,
};

fn plan(
    models: Vec<PlanModel>,
    base: Option<PlanModel>,
    method: Arc<dyn TensorMerge>,
    out: &Path,
) -> MergePlan {
    MergePlan {
        models,
        base,
        method,
        out: out.to_path_buf(),
        seed: 0,
        options: Default::default(),
    }
}

#[test]
fn sharded_output_reads_back_and_equals_single_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    write_checkpoint(&b, &tiny_model(2));
    let models = vec![
        PlanModel::new("a", &a).with_param("weight", 1.0),
        PlanModel::new("b", &b).with_param("weight", 0.2),
    ];
    let method: Arc<dyn TensorMerge> = Arc::new(Linear { normalize: true });
    let single = tmp.path().join("single");
    run_merge(&plan(models.clone(), None, method.clone(), &single)).unwrap();
    let sharded = tmp.path().join("sharded");
    let mut p = plan(models, None, method, &sharded);
    p.options.shard_size_bytes = Some(600);
    p.options.threads = Some(3);
    let summary = run_merge(&p).unwrap();
    assert_eq!(summary.tensors, 7);
    let shards: Vec<String> = std::fs::read_dir(&sharded)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".safetensors"))
        .collect();
    assert!(shards.len() > 2, "{shards:?}");
    assert!(
        shards
            .iter()
            .all(|n| n.starts_with("model-") && n.contains("-of-")),
        "{shards:?}"
    );
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sharded.join("model.safetensors.index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index["weight_map"].as_object().unwrap().len(), 7);
    assert_eq!(
        index["metadata"]["total_size"].as_u64(),
        Some(summary.bytes_written)
    );
    // every shard is a valid safetensors file with format=pt
    for n in &shards {
        let bytes = std::fs::read(sharded.join(n)).unwrap();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");
    }
    assert_eq!(max_abs_diff(&load(&single), &load(&sharded)), 0.0);
    // a sharded checkpoint is also a valid input
    let again = tmp.path().join("again");
    run_merge(&plan(
        vec![PlanModel::new("s", &sharded).with_param("weight", 1.0)],
        None,
        Arc::new(Linear { normalize: true }),
        &again,
    ))
    .unwrap();
    assert_eq!(max_abs_diff(&load(&single), &load(&again)), 0.0);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["torch_dtype"], "float32");
}

#[test]
fn bf16_output_is_the_rounded_f32_result_and_bf16_inputs_work() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    write_checkpoint(&b, &tiny_model(2));
    let models = vec![
        PlanModel::new("a", &a).with_param("weight", 1.0),
        PlanModel::new("b", &b).with_param("weight", 0.5),
    ];
    let f32_out = tmp.path().join("f32");
    run_merge(&plan(
        models.clone(),
        None,
        Arc::new(Linear { normalize: true }),
        &f32_out,
    ))
    .unwrap();
    let bf_out = tmp.path().join("bf16");
    let mut p = plan(models, None, Arc::new(Linear { normalize: true }), &bf_out);
    p.options.out_dtype = Some("bfloat16".into());
    run_merge(&p).unwrap();
    let ckpt = metaalign_merge::Checkpoint::open(&bf_out).unwrap();
    assert_eq!(
        ckpt.entry("lm_head.weight").unwrap().dtype,
        safetensors::Dtype::BF16
    );
    let (full, half) = (load(&f32_out), load(&bf_out));
    for (n, (_, v)) in &full {
        for (x, y) in v.iter().zip(&half[n].1) {
            assert_eq!(half::bf16::from_f32(*x).to_f32(), *y);
        }
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bf_out.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["torch_dtype"], "bfloat16");
    // bf16 checkpoints are valid inputs (converted to f32 for the maths)
    let out = tmp.path().join("from_bf16");
    run_merge(&plan(
        vec![PlanModel::new("h", &bf_out).with_param("weight", 1.0)],
        None,
        Arc::new(Linear { normalize: true }),
        &out,
    ))
    .unwrap();
    assert_eq!(
        metaalign_merge::Checkpoint::open(&out)
            .unwrap()
            .entry("lm_head.weight")
            .unwrap()
            .dtype,
        safetensors::Dtype::BF16
    );
    assert_eq!(max_abs_diff(&half, &load(&out)), 0.0);
}

#[test]
fn large_tensors_are_merged_in_chunks_with_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let n = metaalign_merge::engine::CHUNK_ELEMENTS + 1234;
    let mk = |k: f32| {
        let mut t = Tensors::new();
        t.insert(
            "big.weight".into(),
            (
                vec![n],
                (0..n)
                    .map(|i| ((i % 977) as f32 * 0.001 + k).sin())
                    .collect(),
            ),
        );
        t
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &mk(0.3));
    write_checkpoint(&b, &mk(1.7));
    let out = tmp.path().join("out");
    run_merge(&plan(
        vec![
            PlanModel::new("a", &a).with_param("weight", 1.0),
            PlanModel::new("b", &b).with_param("weight", 0.2),
        ],
        None,
        Arc::new(Linear { normalize: true }),
        &out,
    ))
    .unwrap();
    let (ta, tb, merged) = (mk(0.3), mk(1.7), load(&out));
    let (va, vb, vm) = (
        &ta["big.weight"].1,
        &tb["big.weight"].1,
        &merged["big.weight"].1,
    );
    let div = 1.0f32 + 0.2f32;
    for i in (0..n).step_by(997).chain([n - 1]) {
        let expect = vb[i].mul_add(0.2, va[i].mul_add(1.0, 0.0)) / div;
        assert_eq!(vm[i], expect, "element {i}");
    }
}

/// Builds base + one fine-tune whose task vector is `delta(i)`.
fn dare_inputs(dir: &Path, n: usize) -> (PlanModel, PlanModel, Vec<f32>) {
    let delta: Vec<f32> = (0..n).map(|i| 0.01 + (i % 13) as f32 * 0.001).collect();
    let mut base = Tensors::new();
    base.insert("w".into(), (vec![n], vec![0.5; n]));
    let mut ft = Tensors::new();
    ft.insert(
        "w".into(),
        (vec![n], delta.iter().map(|d| 0.5 + d).collect()),
    );
    write_checkpoint(&dir.join("base"), &base);
    write_checkpoint(&dir.join("ft"), &ft);
    // the task vector as stored (f32 rounding of 0.5 + d − 0.5)
    let stored: Vec<f32> = delta.iter().map(|d| (0.5 + d) - 0.5).collect();
    (
        PlanModel::new("ft", dir.join("ft"))
            .with_param("weight", 1.0)
            .with_param("density", 0.3),
        PlanModel::new("base", dir.join("base")),
        stored,
    )
}

#[test]
fn dare_keeps_density_and_restores_the_l1_norm() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 200_000;
    let (ft, base, delta) = dare_inputs(tmp.path(), n);
    let run = |cfg: DareLinearConfig, seed: u64, name: &str| {
        let out = tmp.path().join(name);
        let mut p = plan(
            vec![ft.clone()],
            Some(base.clone()),
            Arc::new(cfg.method()),
            &out,
        );
        p.seed = seed;
        run_merge(&p).unwrap();
        load(&out)["w"]
            .1
            .iter()
            .map(|x| x - 0.5)
            .collect::<Vec<f32>>()
    };
    let l1 = |v: &[f32]| v.iter().map(|x| f64::from(x.abs())).sum::<f64>();
    let rescaled = run(DareLinearConfig::default(), 7, "r");
    let kept = rescaled.iter().filter(|x| x.abs() > 1e-6).count() as f64 / n as f64;
    assert!((kept - 0.3).abs() < 0.005, "kept fraction {kept}");
    let (orig, after) = (l1(&delta), l1(&rescaled));
    assert!((after / orig - 1.0).abs() < 1e-3, "L1 {after} vs {orig}");
    // kept entries are the original ones scaled by ~1/density
    let scale = rescaled
        .iter()
        .zip(&delta)
        .find(|(x, _)| x.abs() > 1e-6)
        .map(|(x, d)| x / d)
        .unwrap();
    assert!((scale - 1.0 / kept as f32).abs() < 0.05, "scale {scale}");

    // without rescale the expectation of the L1 norm is density × original
    let plain = run(
        DareLinearConfig {
            rescale: false,
            ..Default::default()
        },
        7,
        "p",
    );
    assert!(
        (l1(&plain) / orig - 0.3).abs() < 0.005,
        "{}",
        l1(&plain) / orig
    );

    // same seed → same merge; another seed → another mask
    assert_eq!(rescaled, run(DareLinearConfig::default(), 7, "r2"));
    assert_ne!(rescaled, run(DareLinearConfig::default(), 8, "r3"));

    // dare_ties with one model keeps the same statistics
    let out = tmp.path().join("t");
    let mut p = plan(
        vec![ft.clone()],
        Some(base.clone()),
        Arc::new(DareTiesConfig::default().method()),
        &out,
    );
    p.seed = 7;
    run_merge(&p).unwrap();
    let ties: Vec<f32> = load(&out)["w"].1.iter().map(|x| x - 0.5).collect();
    let kept_t = ties.iter().filter(|x| x.abs() > 1e-6).count() as f64 / n as f64;
    assert!((kept_t - 0.3).abs() < 0.005, "{kept_t}");
}

/// A plugin-style method: element-wise maximum, through the public trait.
#[derive(Debug)]
struct Max;

impl TensorMerge for Max {
    fn kind(&self) -> &str {
        "max"
    }
    fn model_params(&self) -> &[&'static str] {
        &[]
    }
    fn elementwise(&self) -> bool {
        true
    }
    fn merge_tensor(
        &self,
        _ctx: &TensorContext<'_>,
        inputs: &[&[f32]],
        _params: &[ModelParams],
        _base: Option<&[f32]>,
    ) -> metaalign_core::Result<Vec<f32>> {
        Ok((0..inputs[0].len())
            .map(|j| inputs.iter().map(|x| x[j]).fold(f32::MIN, f32::max))
            .collect())
    }
}

#[test]
fn a_plugin_method_reuses_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    write_checkpoint(&b, &tiny_model(2));
    let out = tmp.path().join("out");
    run_merge(&plan(
        vec![PlanModel::new("a", &a), PlanModel::new("b", &b)],
        None,
        Arc::new(Max),
        &out,
    ))
    .unwrap();
    let (ta, tb, m) = (tiny_model(1), tiny_model(2), load(&out));
    for (n, (_, v)) in &m {
        for (j, x) in v.iter().enumerate() {
            assert_eq!(*x, ta[n].1[j].max(tb[n].1[j]));
        }
    }
}

#[tokio::test]
async fn toml_spec_with_per_tensor_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    write_checkpoint(&tmp.path().join("a"), &tiny_model(1));
    write_checkpoint(&tmp.path().join("b"), &tiny_model(2));
    let spec = MergeSpec::from_toml(
        r#"
method = { kind = "linear", normalize = false }
dtype = "float32"
[[models]]
name = "a"
path = "a"
weight = [{ filter = "mlp", value = [0.0, 1.0] }, { value = 0.5 }]
[[models]]
path = "b"
weight = 1.0
"#,
        "merge.toml",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let summary = spec.run(tmp.path(), &out, |_| {}).await.unwrap();
    assert_eq!(summary.tensors, 7);
    let (ta, tb, m) = (tiny_model(1), tiny_model(2), load(&out));
    let check = |name: &str, wa: f32| {
        for j in 0..m[name].1.len() {
            assert_eq!(
                m[name].1[j],
                tb[name].1[j].mul_add(1.0, ta[name].1[j].mul_add(wa, 0.0)),
                "{name}"
            );
        }
    };
    check("model.layers.0.mlp.up_proj.weight", 0.0);
    check("model.layers.1.mlp.up_proj.weight", 1.0);
    check("model.layers.0.self_attn.q_proj.weight", 0.5);
    check("lm_head.weight", 0.5);

    let err = MergeSpec::from_toml("method = { kind = \"lineer\" }\nmodels = []", "merge.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lineer") && err.contains("merge.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn the_merge_stage_runs_and_reuses_a_finished_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    write_checkpoint(&b, &tiny_model(2));
    let stage: Box<dyn StageConfig> = metaalign_core::config::from_toml_str(
        r#"
kind = "merge"
models = [{ from = "deduction.model", weight = 1.0 }, { from = "induction.model", weight = 0.2 }]
method = { kind = "linear" }
"#,
        "pipeline.toml",
    )
    .unwrap();
    let refs: Vec<String> = stage.inputs().iter().map(|r| r.reference.clone()).collect();
    assert_eq!(refs, ["deduction.model", "induction.model"]);
    assert_eq!(stage.outputs()[0].name, "model");
    let settings = metaalign_core::pipeline::RunSettings {
        name: "t".into(),
        out_dir: tmp.path().into(),
        seed: 1,
        device: "cpu".into(),
        holdout: Default::default(),
        memory_limit_gb: None,
    };
    let ctx = || {
        let mut inputs = std::collections::BTreeMap::new();
        for (r, p) in [("deduction.model", &a), ("induction.model", &b)] {
            inputs.insert(
                r.to_string(),
                metaalign_core::pipeline::Artifact {
                    kind: metaalign_core::pipeline::ArtifactKind::Model,
                    path: p.clone(),
                },
            );
        }
        metaalign_core::pipeline::StageContext {
            stage: "merged".into(),
            dir: tmp.path().join("merged"),
            run_dir: tmp.path().into(),
            settings: settings.clone(),
            inputs,
            tasks: Default::default(),
            base_dir: tmp.path().into(),
            metrics: metaalign_core::pipeline::MetricsSink::discard(),
            cancel: Default::default(),
            seed: 3,
        }
    };
    std::fs::create_dir_all(tmp.path().join("merged")).unwrap();
    let outputs = stage.run(ctx()).await.unwrap();
    let model = &outputs.artifacts["model"].path;
    assert!(outputs.report.as_deref().unwrap().contains("deduction"));
    let (ta, tb, m) = (tiny_model(1), tiny_model(2), load(model));
    let x = &m["lm_head.weight"].1;
    let div = 1.0f32 + 0.2;
    assert_eq!(
        x[5],
        tb["lm_head.weight"].1[5].mul_add(0.2, ta["lm_head.weight"].1[5].mul_add(1.0, 0.0)) / div
    );
    let again = stage.run(ctx()).await.unwrap();
    assert!(again.report.unwrap().contains("Reused"));
}
