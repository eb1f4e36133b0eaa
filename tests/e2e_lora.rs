//! `examples/pipelines/lora.toml` through the runner: the `align` stage
//! trains a LoRA adapter on the warm-up, writes it in PEFT's layout naming
//! the warm-up as its base, the warm-up on disk is untouched, and the
//! evaluation loads the adapter with its base. A merge stage takes the
//! adapter as an input: half of its update on the warm-up.

use std::path::Path;

use metaalign::core::pipeline::{self, Pipeline, RunOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_align_stage_trains_a_peft_adapter_that_evaluation_loads() {
    metaalign::install_default_plugins().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipelines/lora.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    assert!(text.contains("out_dir = \"../../runs\""));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("lora.toml");
    std::fs::write(
        &file,
        text.replace("out_dir = \"../../runs\"", "out_dir = \"runs\""),
    )
    .unwrap();
    let p = Pipeline::from_file(&file).unwrap();
    let run_dir = p.run_dir();
    pipeline::run(&p, &RunOptions::default()).await.unwrap();
    let warm = run_dir.join("warmup/model");
    let adapter = run_dir.join("lora/model");
    let warm_weights = std::fs::read(warm.join("model.safetensors")).unwrap();
    let cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(adapter.join("adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["peft_type"], "LORA");
    assert_eq!(cfg["r"], 8);
    assert_eq!(
        Path::new(cfg["base_model_name_or_path"].as_str().unwrap()),
        std::path::absolute(&warm).unwrap()
    );
    assert!(adapter.join("adapter_model.safetensors").is_file());
    assert!(!adapter.join("model.safetensors").exists());
    // The base was only read.
    assert!(std::fs::read(warm.join("model.safetensors")).unwrap() == warm_weights);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    let models: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"lora") && models.contains(&"warmup"),
        "{models:?}"
    );

    assert!(models.contains(&"half"), "{models:?}");

    // The merge stage folded the adapter into its base and took half of
    // the update: W + 0.5 · scale · B A, a plain checkpoint with the base's
    // config and tokenizer.
    use metaalign::merge::checkpoint::Checkpoint;
    let half = run_dir.join("half/model");
    assert!(half.join("config.json").is_file() && half.join("tokenizer.json").is_file());
    let (warm_c, lora_c, half_c) = (
        Checkpoint::open(&warm).unwrap(),
        Checkpoint::open(&adapter).unwrap(),
        Checkpoint::open(&half).unwrap(),
    );
    let mut moved = 0;
    for name in warm_c.names() {
        let (w, l, h) = (
            warm_c.read_f32(name).unwrap(),
            lora_c.read_f32(name).unwrap(),
            half_c.read_f32(name).unwrap(),
        );
        for ((w, l), h) in w.iter().zip(l.iter()).zip(h.iter()) {
            assert!((h - (w + 0.5 * (l - w))).abs() < 1e-6, "{name}");
        }
        moved += usize::from(*w != *l);
    }
    assert!(moved > 0, "the adapter changed no tensor");
}
