//! Behaviour of the candle policy on tiny models built by the tests.

use candle_core::{Device, Tensor};
use metaalign_core::{Policy, SamplingParams};
use metaalign_rl::model::ModelSpec;
use metaalign_rl::optim::{AdamWConfig, LrSchedule, Optimizer};
use metaalign_rl::policy::{masked_mean, QwenPolicy, ScoreOptions};
use metaalign_rl::tokenizer::TextTokenizer;

fn tiny(seed: u64) -> QwenPolicy {
    let spec = ModelSpec::preset("tiny").unwrap();
    QwenPolicy::fresh(
        &spec,
        TextTokenizer::char_level("").unwrap(),
        seed,
        &Device::Cpu,
    )
    .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn tiny_preset_is_small_and_every_parameter_gets_a_gradient() {
    let p = tiny(1);
    let n = p.num_parameters();
    assert!(n < 1_000_000 && n > 10_000, "{n}");
    p.check_gradient_coverage().unwrap();
    // A frozen copy has nothing to differentiate.
    assert!(p.frozen_copy().unwrap().check_gradient_coverage().is_err());
}

#[test]
fn padded_batch_scores_equal_unpadded_rows() {
    let p = tiny(2);
    let tok = p.tokenizer();
    let rows = [
        (
            tok.encode("A is a knight.").unwrap(),
            tok.encode(" (1) A is True").unwrap(),
        ),
        (
            tok.encode("x").unwrap(),
            tok.encode("¬(P ∧ Q) → R, long continuation").unwrap(),
        ),
        (
            tok.encode("<|im_start|>user\nhi<|im_end|>").unwrap(),
            tok.encode("ok").unwrap(),
        ),
    ];
    let batch = p
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    for (i, r) in rows.iter().enumerate() {
        let single = p
            .score_batch(std::slice::from_ref(r), ScoreOptions::default())
            .unwrap()
            .to_rows()
            .unwrap();
        assert_eq!(single[0].len(), r.1.len());
        let d = max_abs_diff(&batch[i], &single[0]);
        assert!(d < 1e-4, "row {i}: {d}");
    }
    // The training path gives the same values as the no-grad path.
    let train = p
        .score_batch(&rows, ScoreOptions::train())
        .unwrap()
        .to_rows()
        .unwrap();
    for i in 0..rows.len() {
        assert!(max_abs_diff(&batch[i], &train[i]) < 1e-4);
    }
}

#[test]
fn sampling_is_reproducible_and_matches_scoring() {
    let mut p = tiny(3);
    let prompts = vec![
        "Hello".to_string(),
        "¬A ∨ B".to_string(),
        "a much longer prompt here".to_string(),
    ];
    let params = SamplingParams {
        temperature: 1.0,
        top_p: 0.95,
        top_k: Some(50),
        max_new_tokens: 12,
        stop: vec![],
        seed: 11,
    };
    let a = p.generate(&prompts, &params).unwrap();
    let b = p.generate(&prompts, &params).unwrap();
    assert_eq!(a, b);
    // Row results do not depend on the batch they were sampled in.
    // (Log-probs may differ in the last bits: padding changes matmul shapes.)
    let solo = p.generate(&prompts[..1], &params).unwrap();
    assert_eq!(solo[0].tokens, a[0].tokens);
    assert_eq!(solo[0].text, a[0].text);
    assert!(max_abs_diff(&solo[0].logprobs, &a[0].logprobs) < 1e-4);
    let other = p
        .generate(
            &prompts,
            &SamplingParams {
                seed: 12,
                ..params.clone()
            },
        )
        .unwrap();
    assert_ne!(a, other);
    // Sampled log-probs equal the scored log-probs (KV-cache path == full path).
    for (prompt, g) in prompts.iter().zip(&a) {
        let ids = p.encode(prompt).unwrap();
        let s = p.score(&[(ids, g.tokens.clone())]).unwrap();
        assert!(
            max_abs_diff(&s[0], &g.logprobs) < 1e-3,
            "{:?} vs {:?}",
            s[0],
            g.logprobs
        );
        assert!(!g.tokens.is_empty());
    }
    // Greedy is deterministic whatever the seed.
    let g1 = p.generate(&prompts, &SamplingParams::greedy(8)).unwrap();
    let g2 = p
        .generate(
            &prompts,
            &SamplingParams {
                seed: 99,
                ..SamplingParams::greedy(8)
            },
        )
        .unwrap();
    assert_eq!(g1, g2);
}

#[test]
fn stop_strings_end_a_row() {
    let mut p = tiny(4);
    let free = p
        .generate(
            &["abc".to_string()],
            &SamplingParams {
                temperature: 1.0,
                max_new_tokens: 30,
                seed: 5,
                ..Default::default()
            },
        )
        .unwrap();
    let text = &free[0].text;
    // Stop on the third character the model produced freely.
    let stop: String = text.chars().nth(2).map(String::from).unwrap_or_default();
    if stop.is_empty() {
        return;
    }
    let params = SamplingParams {
        temperature: 1.0,
        max_new_tokens: 30,
        seed: 5,
        stop: vec![stop.clone()],
        ..Default::default()
    };
    let g = p.generate(&["abc".to_string()], &params).unwrap();
    assert!(g[0].text.contains(&stop));
    assert!(g[0].tokens.len() <= 3, "{:?}", g[0]);
}

#[test]
fn save_then_load_gives_identical_logprobs_and_bad_checkpoints_error() {
    let p = tiny(5);
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    p.save(&ck).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    ] {
        assert!(ck.join(f).is_file(), "{f}");
    }
    let q = QwenPolicy::load(&ck, &Device::Cpu).unwrap();
    let rows = vec![(
        p.encode("prompt").unwrap(),
        p.encode("continuation ∧ more").unwrap(),
    )];
    let a = p
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    let b = q
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(p.encode("¬A ⊕ B\n").unwrap(), q.encode("¬A ⊕ B\n").unwrap());
    // Saving again over an existing checkpoint replaces it atomically.
    q.save(&ck).unwrap();

    // Missing directory, missing tensor, wrong shape, corrupt file.
    let e = QwenPolicy::load(&dir.path().join("nope"), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a directory"), "{e}");
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(ck.join(f), bad.join(f)).unwrap();
    }
    let mut tensors = p.named_tensors().unwrap();
    tensors.retain(|(n, _)| n != "model.layers.1.self_attn.k_proj.bias");
    metaalign_rl::checkpoint::write_safetensors(
        &bad.join("model.safetensors"),
        &tensors,
        Default::default(),
    )
    .unwrap();
    let e = QwenPolicy::load(&bad, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.layers.1.self_attn.k_proj.bias") && e.contains("[32]"),
        "{e}"
    );
    let mut tensors = p.named_tensors().unwrap();
    for (n, t) in tensors.iter_mut() {
        if n == "model.norm.weight" {
            *t = Tensor::zeros(7, candle_core::DType::F32, &Device::Cpu).unwrap();
        }
    }
    metaalign_rl::checkpoint::write_safetensors(
        &bad.join("model.safetensors"),
        &tensors,
        Default::default(),
    )
    .unwrap();
    let e = QwenPolicy::load(&bad, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.norm.weight") && e.contains("[7]") && e.contains("[64]"),
        "{e}"
    );
    std::fs::write(
        bad.join("model.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00garbage",
    )
    .unwrap();
    let e = QwenPolicy::load(&bad, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("corrupt"), "{e}");
}

#[test]
fn bf16_save_roundtrips_closely() {
    let p = tiny(6);
    let dir = tempfile::tempdir().unwrap();
    p.save_as(
        &dir.path().join("ck"),
        metaalign_rl::checkpoint::SaveDtype::Bf16,
    )
    .unwrap();
    let q = QwenPolicy::load(&dir.path().join("ck"), &Device::Cpu).unwrap();
    let rows = vec![(p.encode("abc").unwrap(), p.encode("def").unwrap())];
    let a = p
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    let b = q
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    assert!(max_abs_diff(&a[0], &b[0]) < 0.05);
}

#[test]
fn frozen_copy_does_not_move_when_the_policy_trains() {
    let p = tiny(7);
    let reference = p.frozen_copy().unwrap();
    let rows = vec![(p.encode("The answer").unwrap(), p.encode(" is 42").unwrap())];
    let before = reference
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    let mut opt = Optimizer::new(
        p.trainable_vars(),
        AdamWConfig {
            lr: 1e-2,
            ..Default::default()
        },
        LrSchedule::constant(),
    )
    .unwrap();
    let s = p.score_batch(&rows, ScoreOptions::train()).unwrap();
    let loss = masked_mean(&s.logprobs, &s.mask).unwrap().neg().unwrap();
    opt.backward_step(&loss).unwrap();
    let after_ref = reference
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    let after_pol = p
        .score_batch(&rows, ScoreOptions::default())
        .unwrap()
        .to_rows()
        .unwrap();
    assert_eq!(before, after_ref);
    assert!(max_abs_diff(&before[0], &after_pol[0]) > 1e-3);
}

#[test]
fn a_tiny_model_learns_a_small_text_set() {
    let p = tiny(8);
    let texts = [
        "A is a knight. B is a knave.",
        "(1) A is True\n(2) B is False",
        "¬(P ∧ Q) ↔ (¬P ∨ ¬Q)",
        "1, 2, 4, 8, 16, 32",
        "<think>easy</think><answer>yes</answer>",
        "P → Q, P, therefore Q",
    ];
    let tok = p.tokenizer();
    let rows: Vec<(Vec<u32>, Vec<u32>)> = texts
        .iter()
        .map(|t| {
            let ids = tok.encode(t).unwrap();
            (ids[..1].to_vec(), ids[1..].to_vec())
        })
        .collect();
    let mut opt = Optimizer::new(
        p.trainable_vars(),
        AdamWConfig {
            lr: 3e-3,
            weight_decay: 0.0,
            ..Default::default()
        },
        LrSchedule::warmup_cosine(10, 200, 0.1),
    )
    .unwrap();
    let mut first = 0.0;
    let mut last = 0.0;
    for step in 0..200 {
        // Two micro-batches of three rows.
        let mut total = 0.0;
        for mb in rows.chunks(3) {
            let s = p.score_batch(mb, ScoreOptions::train()).unwrap();
            let loss = (masked_mean(&s.logprobs, &s.mask).unwrap().neg().unwrap() * 0.5).unwrap();
            total += loss.to_scalar::<f32>().unwrap();
            opt.accumulate(&loss).unwrap();
        }
        let st = opt.step().unwrap();
        assert!(!st.skipped);
        if step == 0 {
            first = total;
        }
        last = total;
    }
    assert!(first > 4.0, "start {first}");
    assert!(last < 0.25 * first, "loss {first} -> {last}");
}

#[test]
fn policy_kinds_materialize_and_validate() {
    use metaalign_core::PolicyConfig;
    let dir = tempfile::tempdir().unwrap();
    let fresh: Box<dyn PolicyConfig> =
        metaalign_core::config::from_toml_str("kind = \"fresh\"\npreset = \"tiny\"", "test")
            .unwrap();
    assert!(fresh.validate().unwrap().is_empty());
    let ck = fresh.materialize(dir.path(), 7, "cpu").unwrap();
    let a = QwenPolicy::load(&ck, &Device::Cpu).unwrap();
    // Seeded: the same seed gives the same weights.
    let ck2 = fresh
        .materialize(&dir.path().join("again"), 7, "cpu")
        .unwrap();
    let b = QwenPolicy::load(&ck2, &Device::Cpu).unwrap();
    let (ta, tb) = (a.named_tensors().unwrap(), b.named_tensors().unwrap());
    for ((na, x), (nb, y)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        assert_eq!(
            x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }
    let bad: Box<dyn PolicyConfig> =
        metaalign_core::config::from_toml_str("kind = \"fresh\"\npreset = \"huge\"", "test")
            .unwrap();
    assert!(bad.validate().unwrap_err().to_string().contains("huge"));
    let hf: Box<dyn PolicyConfig> =
        metaalign_core::config::from_toml_str("kind = \"hf\"\npath = \"/no/such/dir\"", "test")
            .unwrap();
    let warnings = hf.validate().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(hf.materialize(dir.path(), 0, "cpu").is_err());
    let hf_ok: Box<dyn PolicyConfig> = metaalign_core::config::from_toml_str(
        &format!("kind = \"hf\"\npath = {:?}", ck.display().to_string()),
        "test",
    )
    .unwrap();
    assert!(hf_ok.validate().unwrap().is_empty());
    assert_eq!(hf_ok.materialize(dir.path(), 0, "cpu").unwrap(), ck);
    assert!(metaalign_rl::policy::device_from_str("tpu").is_err());
}
