//! Gradient checkpointing per layer: the same gradients as keeping every
//! activation (full weights, a LoRA adapter on an f32 base and on a bf16
//! base), and a trainer run that follows the same steps with it on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::Device;
use metaalign_core::pipeline::{CancelFlag, MetricsSink};
use metaalign_core::{Level, TrainInputs, TrainerConfig};
use metaalign_rl::adapter::{LoraConfig, TargetModules};
use metaalign_rl::checkpoint::{BaseDtype, SaveDtype};
use metaalign_rl::model::checkpointing::{backward, recomputed_layers};
use metaalign_rl::policy::{masked_mean, FreshPolicyConfig};
use metaalign_rl::trainer::{GrpoConfig, Layout, RlSettings};
use metaalign_rl::{QwenPolicy, ScoreOptions};

fn batch() -> Vec<(Vec<u32>, Vec<u32>)> {
    vec![
        (vec![5, 9, 30, 41], vec![7, 2, 19]),
        (vec![11, 12], vec![13, 90, 100, 3, 8]),
    ]
}

/// Every trainable tensor's gradient of the mean log-prob of `batch()`.
fn gradients(p: &QwenPolicy) -> BTreeMap<String, Vec<f32>> {
    let s = p
        .score_batch(
            &batch(),
            ScoreOptions {
                with_grad: true,
                ..ScoreOptions::default()
            },
        )
        .unwrap();
    let loss = masked_mean(&s.logprobs, &s.mask).unwrap();
    let grads = backward(&loss).unwrap();
    p.trainable_vars()
        .into_iter()
        .map(|(name, var)| {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            (name, g.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        })
        .collect()
}

fn assert_same_gradients(mut p: QwenPolicy, what: &str) {
    let before = recomputed_layers();
    let kept = gradients(&p);
    assert_eq!(
        recomputed_layers(),
        before,
        "{what}: recomputed without checkpointing"
    );
    p.set_gradient_checkpointing(true);
    let recomputed = gradients(&p);
    let layers = p.config().num_hidden_layers as u64;
    assert_eq!(
        recomputed_layers(),
        before + layers,
        "{what}: not every layer recomputed"
    );
    assert_eq!(kept.len(), recomputed.len(), "{what}");
    assert!(!kept.is_empty(), "{what}: nothing trainable");
    for (name, a) in &kept {
        let b = &recomputed[name];
        let scale = a.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-3);
        let d = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            d <= 1e-5 * scale.max(1.0),
            "{what} {name}: {d} (scale {scale})"
        );
    }
}

fn fresh(dir: &Path) -> std::path::PathBuf {
    let cfg = FreshPolicyConfig {
        preset: Some("tiny".into()),
        ..FreshPolicyConfig::default()
    };
    let out = dir.join("start");
    metaalign_core::Policy::save(&cfg.build(3, "cpu").unwrap(), &out).unwrap();
    out
}

fn all_linear() -> LoraConfig {
    LoraConfig {
        r: 4,
        lora_alpha: 8.0,
        target_modules: TargetModules::AllLinear,
        ..LoraConfig::default()
    }
}

#[test]
fn checkpointed_layers_give_the_same_gradients() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh(tmp.path());
    let device = Device::Cpu;
    assert_same_gradients(QwenPolicy::load(&start, &device).unwrap(), "full weights");
    // A LoRA adapter whose B is not zero, so every gradient is non-trivial.
    let lora = |p: QwenPolicy| {
        let p = p.with_adapter(all_linear(), None, 1, None).unwrap();
        let moved: BTreeMap<String, (candle_core::Tensor, candle_core::Tensor)> = p
            .adapter_tensors()
            .into_iter()
            .map(|(m, (a, b))| {
                let b = (b.ones_like().unwrap() * 0.01).unwrap();
                (m, (a, b))
            })
            .collect();
        QwenPolicy::load(&start, &device)
            .unwrap()
            .with_adapter(all_linear(), Some(moved), 1, None)
            .unwrap()
    };
    assert_same_gradients(
        lora(QwenPolicy::load(&start, &device).unwrap()),
        "LoRA, f32 base",
    );
    let bf16 = tmp.path().join("bf16");
    QwenPolicy::load(&start, &device)
        .unwrap()
        .save_as(&bf16, SaveDtype::Bf16)
        .unwrap();
    let half = QwenPolicy::load_with(&bf16, &device, BaseDtype::Stored)
        .unwrap()
        .with_adapter(all_linear(), None, 1, None)
        .unwrap();
    let moved = half
        .adapter_tensors()
        .into_iter()
        .map(|(m, (a, b))| (m, (a, (b.ones_like().unwrap() * 0.01).unwrap())))
        .collect();
    let half = QwenPolicy::load_with(&bf16, &device, BaseDtype::Stored)
        .unwrap()
        .with_adapter(all_linear(), Some(moved), 1, None)
        .unwrap();
    assert_same_gradients(half, "LoRA, bf16 base");
}

#[test]
fn a_checkpointed_run_follows_the_same_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh(tmp.path());
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let run = |name: &str, on: bool| {
        let mut s = RlSettings {
            prompts_per_step: 2,
            samples_per_prompt: 2,
            max_new_tokens: 10,
            ..RlSettings::default()
        };
        s.steps_per_level = 2;
        s.micro_batch_size = 2;
        s.learning_rate = Some(1e-3);
        s.gradient_checkpointing = on;
        let source = metaalign_core::config::from_toml_str::<Box<dyn metaalign_core::TaskConfig>>(
            "kind = \"short_prompt\"\ninner = { kind = \"induction\" }",
            "test",
        )
        .unwrap()
        .build()
        .unwrap();
        let out = tmp.path().join(name);
        let inputs = TrainInputs {
            start: start.clone(),
            tasks: BTreeMap::from([("induction".to_string(), source)]),
            levels: vec![Level(1)],
            reward: Arc::new(metaalign_tasks::PaperReward::default()),
            out_dir: out.clone(),
            seed: 2,
            holdout: metaalign_core::HoldOut::default(),
            device: "cpu".into(),
            metrics: MetricsSink::discard(),
            cancel: CancelFlag::default(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(GrpoConfig(s).build().unwrap().train(inputs))
            .unwrap();
        Layout::new(&out).read_steps().unwrap()
    };
    let (kept, recomputed) = (run("kept", false), run("ckpt", true));
    assert_eq!(kept.len(), 2);
    for (a, b) in kept.iter().zip(&recomputed) {
        for key in ["loss", "grad_norm", "entropy", "kl"] {
            let (x, y) = (a[key].as_f64(), b[key].as_f64());
            let (Some(x), Some(y)) = (x, y) else {
                panic!("`{key}` missing from {a} or {b}");
            };
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                "{key}: {x} vs {y}"
            );
        }
    }
}
