//! LoRA adapters: an adapter starts equal to its base, only the adapter
//! trains, a killed and resumed adapter run equals an uninterrupted one, the
//! base on disk is never touched, and PEFT's own adapters give PEFT's logits
//! and `merge_and_unload` weights (fixtures made by scripts/peft_fixtures.py).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use candle_core::{Device, Tensor};
use metaalign_core::pipeline::{CancelFlag, MetricsSink};
use metaalign_core::{Level, RewardScheme, TrainInputs, TrainerConfig, Verdict};
use metaalign_rl::adapter::{peft, AdapterConfig, LoraConfig, TargetModules};
use metaalign_rl::policy::FreshPolicyConfig;
use metaalign_rl::tokenizer::TextTokenizer;
use metaalign_rl::trainer::{Layout, ReinforcePpConfig, RlSettings};
use metaalign_rl::QwenPolicy;

fn fresh_model(dir: &Path) -> PathBuf {
    let cfg = FreshPolicyConfig {
        preset: Some("tiny".into()),
        ..FreshPolicyConfig::default()
    };
    let out = dir.join("start");
    metaalign_core::Policy::save(&cfg.build(11, "cpu").unwrap(), &out).unwrap();
    out
}

fn rows() -> Vec<Vec<u32>> {
    vec![vec![5, 9, 30, 41, 7, 2], vec![11, 12, 13, 90, 100, 3]]
}

fn logits(p: &QwenPolicy) -> Vec<f32> {
    p.logits(&rows(), false)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn all_linear(r: usize) -> LoraConfig {
    LoraConfig {
        r,
        lora_alpha: 2.0 * r as f64,
        target_modules: TargetModules::AllLinear,
        ..LoraConfig::default()
    }
}

#[test]
fn a_fresh_adapter_starts_equal_to_its_base_and_only_it_is_trainable() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    let device = Device::Cpu;
    let base = QwenPolicy::load(&start, &device).unwrap();
    let want = logits(&base);
    let layers = base.config().num_hidden_layers;
    let p = base
        .with_adapter(LoraConfig::default(), None, 3, Some(start.clone()))
        .unwrap();
    assert_eq!(
        logits(&p),
        want,
        "B starts at zero: the adapted model is the base"
    );
    assert_eq!(logits(&p.frozen_copy().unwrap()), want);
    let names: Vec<String> = p.trainable_vars().into_iter().map(|(n, _)| n).collect();
    // PEFT's default targets for Qwen2: q_proj and v_proj, A and B each.
    assert_eq!(names.len(), layers * 2 * 2, "{names:?}");
    assert!(
        names.contains(&"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight".into())
    );
    assert!(names
        .iter()
        .all(|n| n.contains("q_proj") || n.contains("v_proj")));
    p.check_gradient_coverage().unwrap();
    // An adapter on an adapter is refused.
    let e = p
        .with_adapter(LoraConfig::default(), None, 3, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already has an adapter"), "{e}");
}

/// Cancels the run once it has scored `after` responses (the end of a step).
struct CancelAfter {
    inner: Arc<dyn RewardScheme>,
    seen: AtomicUsize,
    after: usize,
    cancel: CancelFlag,
}

impl RewardScheme for CancelAfter {
    fn name(&self) -> &str {
        "cancel-after"
    }
    fn reward(&self, verdict: &Verdict, response: &str) -> f64 {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            self.cancel.cancel();
        }
        self.inner.reward(verdict, response)
    }
}

fn inputs(
    start: &Path,
    out: &Path,
    reward: Arc<dyn RewardScheme>,
    cancel: CancelFlag,
) -> TrainInputs {
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let source = metaalign_core::config::from_toml_str::<Box<dyn metaalign_core::TaskConfig>>(
        "kind = \"short_prompt\"\ninner = { kind = \"induction\" }",
        "test",
    )
    .unwrap()
    .build()
    .unwrap();
    TrainInputs {
        start: start.to_path_buf(),
        tasks: BTreeMap::from([("induction".to_string(), source)]),
        levels: vec![Level(1)],
        reward,
        out_dir: out.to_path_buf(),
        seed: 5,
        holdout: metaalign_core::HoldOut::default(),
        device: "cpu".into(),
        metrics: MetricsSink::discard(),
        cancel,
    }
}

fn run(
    cfg: &dyn TrainerConfig,
    inputs: TrainInputs,
) -> metaalign_core::Result<metaalign_core::trainer::TrainOutput> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(cfg.build()?.train(inputs))
}

fn steps_without_times(dir: &Path) -> Vec<serde_json::Value> {
    Layout::new(dir)
        .read_steps()
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.as_object_mut()
                .unwrap()
                .retain(|k, _| !k.ends_with("_s") && !k.ends_with("per_s"));
            r
        })
        .collect()
}

#[test]
fn rl_on_an_adapter_trains_it_resumes_bit_identically_and_never_touches_the_base() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    let base_bytes = std::fs::read(start.join("model.safetensors")).unwrap();
    let mut s = RlSettings {
        prompts_per_step: 2,
        samples_per_prompt: 2,
        max_new_tokens: 12,
        ..RlSettings::default()
    };
    s.steps_per_level = 4;
    s.checkpoint_every = 2;
    s.micro_batch_size = 2;
    s.learning_rate = Some(1e-2);
    s.adapter = Some(AdapterConfig::Lora(all_linear(4)));
    let cfg = ReinforcePpConfig(s);
    let paper = || -> Arc<dyn RewardScheme> { Arc::new(metaalign_tasks::PaperReward::default()) };

    let a = tmp.path().join("a");
    let out = run(&cfg, inputs(&start, &a, paper(), CancelFlag::default())).unwrap();
    assert_eq!(out.steps, 4);
    assert!(
        peft::is_adapter_dir(&out.checkpoint),
        "the stage's model is a PEFT adapter"
    );
    assert!(!out.checkpoint.join("model.safetensors").exists());
    let want = steps_without_times(&a);

    let b = tmp.path().join("b");
    let cancel = CancelFlag::default();
    let reward = Arc::new(CancelAfter {
        inner: paper(),
        seen: AtomicUsize::new(0),
        after: 3 * 4,
        cancel: cancel.clone(),
    });
    let err = run(&cfg, inputs(&start, &b, reward, cancel)).unwrap_err();
    assert!(matches!(err, metaalign_core::Error::Interrupted), "{err}");
    std::fs::remove_dir_all(Layout::new(&b).checkpoint(3)).unwrap();
    let out_b = run(&cfg, inputs(&start, &b, paper(), CancelFlag::default())).unwrap();
    assert_eq!(out_b.steps, 4);
    assert_eq!(steps_without_times(&b), want, "resumed metrics differ");
    let wa = std::fs::read(out.checkpoint.join(peft::WEIGHTS_FILE)).unwrap();
    let wb = std::fs::read(out_b.checkpoint.join(peft::WEIGHTS_FILE)).unwrap();
    assert!(wa == wb, "final adapters differ");

    assert!(
        std::fs::read(start.join("model.safetensors")).unwrap() == base_bytes,
        "the base checkpoint changed"
    );
    // The trained adapter loads with its base and moved away from it; its
    // merge is a plain checkpoint with the same outputs.
    let device = Device::Cpu;
    let trained = QwenPolicy::load(&out.checkpoint, &device).unwrap();
    let base = QwenPolicy::load(&start, &device).unwrap();
    assert!(max_abs_diff(&logits(&trained), &logits(&base)) > 1e-6);
    let merged = trained.merged().unwrap();
    assert!(merged.adapter_config().is_none());
    assert!(max_abs_diff(&logits(&trained), &logits(&merged)) < 1e-4);
}

/// A bf16 checkpoint's base stays bf16 under an adapter (`base_dtype =
/// "stored"`, the default): the same logits as the f32 load of the same
/// values, greedy sampling that picks the same tokens, a base that cannot
/// be trained on its own, and an adapter that trains on it as it would on
/// the widened base.
#[test]
fn a_bf16_base_stays_bf16_under_an_adapter_and_trains_it() {
    use metaalign_rl::checkpoint::{BaseDtype, SaveDtype};
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    let device = Device::Cpu;
    let bf16_dir = tmp.path().join("bf16");
    QwenPolicy::load(&start, &device)
        .unwrap()
        .save_as(&bf16_dir, SaveDtype::Bf16)
        .unwrap();
    let wide = QwenPolicy::load(&bf16_dir, &device).unwrap();
    let half = QwenPolicy::load_with(&bf16_dir, &device, BaseDtype::Stored).unwrap();
    let dtypes: std::collections::BTreeSet<String> = half
        .named_tensors()
        .unwrap()
        .iter()
        .filter(|(n, _)| n.ends_with("proj.weight") || n.contains("embed"))
        .map(|(_, t)| format!("{:?}", t.dtype()))
        .collect();
    assert_eq!(dtypes.len(), 1, "{dtypes:?}");
    assert!(dtypes.contains("BF16"), "{dtypes:?}");
    // Widening bf16 is exact: only the summation order differs.
    let d = max_abs_diff(&logits(&half), &logits(&wide));
    assert!(d < 1e-4, "bf16-held vs f32-held logits differ by {d}");
    // Sampling runs on the half base too.
    let greedy = metaalign_core::SamplingParams {
        max_new_tokens: 6,
        temperature: 0.0,
        ..metaalign_core::SamplingParams::default()
    };
    let (mut a, mut b) = (half, wide);
    let ga = metaalign_core::Policy::generate(&mut a, &["Q: 1 2 3".into()], &greedy).unwrap();
    let gb = metaalign_core::Policy::generate(&mut b, &["Q: 1 2 3".into()], &greedy).unwrap();
    assert_eq!(ga[0].tokens, gb[0].tokens);
    // A half base cannot be trained on its own...
    assert!(a.trainable_vars().is_empty());
    let e = a.check_gradient_coverage().unwrap_err().to_string();
    assert!(e.contains("frozen"), "{e}");
    // ...but its adapter can, and a run resumes bit-identically.
    let mut s = RlSettings {
        prompts_per_step: 2,
        samples_per_prompt: 2,
        max_new_tokens: 12,
        ..RlSettings::default()
    };
    s.steps_per_level = 2;
    s.checkpoint_every = 1;
    s.micro_batch_size = 2;
    s.learning_rate = Some(1e-2);
    s.adapter = Some(AdapterConfig::Lora(all_linear(4)));
    let cfg = ReinforcePpConfig(s.clone());
    let paper = || -> Arc<dyn RewardScheme> { Arc::new(metaalign_tasks::PaperReward::default()) };
    let out_dir = tmp.path().join("run");
    let out = run(
        &cfg,
        inputs(&bf16_dir, &out_dir, paper(), CancelFlag::default()),
    )
    .unwrap();
    assert_eq!(out.steps, 2);
    let trained = QwenPolicy::load_with(&out.checkpoint, &device, BaseDtype::Stored).unwrap();
    assert!(
        max_abs_diff(&logits(&trained), &logits(&b)) > 1e-6,
        "the adapter did not move"
    );
    trained.check_gradient_coverage().unwrap();
    // The same run with the base widened to f32 follows the same steps
    // up to rounding.
    let mut wide_cfg = s;
    wide_cfg.base_dtype = BaseDtype::F32;
    let out_wide = run(
        &ReinforcePpConfig(wide_cfg),
        inputs(
            &bf16_dir,
            &tmp.path().join("wide"),
            paper(),
            CancelFlag::default(),
        ),
    )
    .unwrap();
    let trained_wide = QwenPolicy::load(&out_wide.checkpoint, &device).unwrap();
    let d = max_abs_diff(&logits(&trained), &logits(&trained_wide));
    assert!(
        d < 1e-2,
        "bf16-held and f32-held bases trained apart by {d}"
    );
    // base_dtype without an adapter is refused by name.
    let bad = RlSettings {
        base_dtype: BaseDtype::Bf16,
        ..RlSettings::default()
    };
    let e = run(
        &ReinforcePpConfig(bad),
        inputs(
            &bf16_dir,
            &tmp.path().join("bad"),
            paper(),
            CancelFlag::default(),
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("base_dtype") && e.contains("adapter"), "{e}");
}

#[test]
fn adapter_folders_that_cannot_be_computed_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    let device = Device::Cpu;
    let p = QwenPolicy::load(&start, &device)
        .unwrap()
        .with_adapter(all_linear(2), None, 1, Some(start.clone()))
        .unwrap();
    let dir = tmp.path().join("adapter");
    metaalign_core::Policy::save(&p, &dir).unwrap();
    let config_path = dir.join(peft::CONFIG_FILE);
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    // Round trip: the same settings and tensors come back.
    let read = peft::read_adapter(&dir, &device).unwrap();
    assert_eq!(read.config, all_linear(2));
    assert_eq!(read.tensors.len(), p.adapter_tensors().len());
    for (key, value, expect) in [
        (
            "use_dora",
            serde_json::json!(true),
            "`use_dora = true` is not supported",
        ),
        (
            "rank_pattern",
            serde_json::json!({"q_proj": 4}),
            "`rank_pattern` is not supported",
        ),
        (
            "bias",
            serde_json::json!("all"),
            "`bias = \"all\"` is not supported",
        ),
        (
            "peft_type",
            serde_json::json!("IA3"),
            "peft_type `IA3` is not LORA",
        ),
        (
            "target_modules",
            serde_json::json!(["lm_head"]),
            "unknown target module `lm_head`",
        ),
    ] {
        let mut bad = good.clone();
        bad[key] = value;
        std::fs::write(&config_path, bad.to_string()).unwrap();
        let e = QwenPolicy::load(&dir, &device).unwrap_err().to_string();
        assert!(
            e.contains(expect) && e.contains("adapter_config.json"),
            "{key}: {e}"
        );
    }
    let mut bad = good.clone();
    bad["base_model_name_or_path"] = serde_json::json!(tmp.path().join("nowhere"));
    std::fs::write(&config_path, bad.to_string()).unwrap();
    let e = QwenPolicy::load(&dir, &device).unwrap_err().to_string();
    assert!(e.contains("nowhere"), "{e}");
}

/// PEFT's fixtures: `base/` (transformers' save of a tiny random Qwen2),
/// one folder per adapter case with PEFT's adapter files, PEFT's logits
/// and `merge_and_unload`'s weights.
fn peft_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/peft")
}

/// The fixture base with our character tokenizer beside it (transformers'
/// save has no tokenizer; logits are computed from ids).
fn fixture_base(tmp: &Path) -> PathBuf {
    let dir = tmp.join("base");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(peft_fixtures().join("base").join(f), dir.join(f)).unwrap();
    }
    TextTokenizer::char_level("").unwrap().save(&dir).unwrap();
    dir
}

fn nested(v: &serde_json::Value) -> Vec<f32> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(nested).collect(),
        x => vec![x.as_f64().unwrap() as f32],
    }
}

#[test]
fn peft_adapters_give_peft_logits_and_merge_and_unload_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let base_dir = fixture_base(tmp.path());
    let device = Device::Cpu;
    let mut cases = 0;
    for case in ["qv", "all_linear", "rslora"] {
        let dir = peft_fixtures().join(case);
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let ids: Vec<Vec<u32>> = serde_json::from_value(expected["input_ids"].clone()).unwrap();
        let base = QwenPolicy::load(&base_dir, &device).unwrap();
        let flat = |p: &QwenPolicy| -> Vec<f32> {
            p.logits(&ids, false)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let d = max_abs_diff(&flat(&base), &nested(&expected["logits_base"]));
        assert!(d < 1e-4, "{case}: base logits differ by {d}");
        let read = peft::read_adapter(&dir, &device).unwrap();
        let adapted = base
            .with_adapter(read.config, Some(read.tensors), 0, Some(base_dir.clone()))
            .unwrap();
        let got = flat(&adapted);
        let d = max_abs_diff(&got, &nested(&expected["logits_adapter"]));
        assert!(d < 1e-4, "{case}: adapter logits differ from PEFT's by {d}");
        // merge_and_unload
        let merged = adapted.merged().unwrap();
        let want = candle_core::safetensors::load(dir.join("merged.safetensors"), &device).unwrap();
        let ours: BTreeMap<String, Tensor> = merged.named_tensors().unwrap().into_iter().collect();
        for (name, w) in &want {
            let o = ours
                .get(name)
                .unwrap_or_else(|| panic!("{case}: no tensor {name}"));
            let a: Vec<f32> = o.flatten_all().unwrap().to_vec1().unwrap();
            let b: Vec<f32> = w
                .to_dtype(candle_core::DType::F32)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let d = max_abs_diff(&a, &b);
            assert!(d < 1e-5, "{case}: merged {name} differs from PEFT's by {d}");
        }
        cases += 1;
    }
    assert_eq!(cases, 3);
}

/// An adapter written by metaalign on the fixture base (random A and B, all
/// seven projections, rsLoRA), with our logits: scripts/peft_fixtures.py
/// loads it with PEFT and checks PEFT's logits against ours. Regenerate with
/// `cargo test -p metaalign-rl --test lora -- --ignored write_our_adapter`.
#[test]
#[ignore = "writes the fixture that scripts/peft_fixtures.py checks with PEFT"]
fn write_our_adapter_fixture() {
    use rand::Rng as _;
    let tmp = tempfile::tempdir().unwrap();
    let base_dir = fixture_base(tmp.path());
    let device = Device::Cpu;
    let base = QwenPolicy::load(&base_dir, &device).unwrap();
    let config = LoraConfig {
        r: 4,
        lora_alpha: 8.0,
        use_rslora: true,
        target_modules: TargetModules::AllLinear,
        ..LoraConfig::default()
    };
    let mut rng = metaalign_core::seed::item_rng(7, "lora/fixture", 0);
    let mut random = |shape: (usize, usize)| {
        let v: Vec<f32> = (0..shape.0 * shape.1)
            .map(|_| rng.random_range(-0.3f32..0.3))
            .collect();
        Tensor::from_vec(v, shape, &device).unwrap()
    };
    let tensors: BTreeMap<String, (Tensor, Tensor)> = config
        .modules(base.config())
        .into_iter()
        .map(|(m, o, i)| (m, (random((4, i)), random((o, 4)))))
        .collect();
    let p = base
        .with_adapter(config, Some(tensors), 0, Some(base_dir.clone()))
        .unwrap();
    let out = peft_fixtures().join("ours");
    metaalign_core::Policy::save(&p, &out).unwrap();
    // Self-contained: the base beside it, as in PEFT's own cases.
    let cfg_path = out.join(peft::CONFIG_FILE);
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["base_model_name_or_path"] = serde_json::json!("../base");
    std::fs::write(&cfg_path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    for f in std::fs::read_dir(&out).unwrap() {
        let f = f.unwrap().path();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name != peft::CONFIG_FILE && name != peft::WEIGHTS_FILE {
            std::fs::remove_file(f).unwrap();
        }
    }
    let ids = vec![
        vec![1u32, 17, 42, 299, 5, 128, 77],
        vec![250, 3, 0, 64, 199, 11, 150],
    ];
    let logits: Vec<Vec<Vec<f32>>> = p.logits(&ids, false).unwrap().to_vec3().unwrap();
    let expected = serde_json::json!({ "input_ids": ids, "logits_adapter": logits });
    std::fs::write(out.join("expected.json"), expected.to_string()).unwrap();
}

#[test]
fn our_written_adapter_fixture_is_what_we_write_and_read() {
    let dir = peft_fixtures().join("ours");
    let tmp = tempfile::tempdir().unwrap();
    let base_dir = fixture_base(tmp.path());
    let device = Device::Cpu;
    let read = peft::read_adapter(&dir, &device).unwrap();
    assert!(read.config.use_rslora && read.config.target_modules == TargetModules::AllLinear);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(expected["input_ids"].clone()).unwrap();
    let p = QwenPolicy::load(&base_dir, &device)
        .unwrap()
        .with_adapter(read.config, Some(read.tensors), 0, Some(base_dir.clone()))
        .unwrap();
    let got: Vec<f32> = p
        .logits(&ids, false)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(max_abs_diff(&got, &nested(&expected["logits_adapter"])) < 1e-5);
}
