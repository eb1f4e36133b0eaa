//! The memory plan against measured peak RSS: one RL step (or SFT step) of
//! the real trainer on a randomly initialised model of a published shape,
//! then the plan's estimate for the same settings (with the prompt length
//! actually drawn) beside this process's peak RSS (VmHWM).
//!
//! Two processes, so the model's creation does not count:
//!
//! ```sh
//! cargo run --release -p metaalign-rl --example bench_memory -- init qwen2.5-0.5b /tmp/m05 [bf16]
//! cargo run --release -p metaalign-rl --example bench_memory -- step /tmp/m05 \
//!     --prompts 2 --samples 2 --new-tokens 32 --micro 4 [--lora-r 16] [--kind grpo|sft] \
//!     [--base-dtype stored|bf16|f32] [--checkpointing]
//! ```
//!
//! `init ... bf16` saves the weights in bf16, as published checkpoints are;
//! with an adapter the base then stays bf16 in memory (`base_dtype`).
//! `--device cuda:0` runs the step on a GPU (a `--features cuda` build).
//!
//! `rollout DIR --rows 32 --prompt-tokens 120 --new-tokens 128
//! [--base-dtype ...] [--device ...]` times one batch of sampling (KV
//! cache, temperature 1, EOS off) and prints tokens per second, for the
//! side-by-side with transformers' `generate` (`scripts/lora_step_bench.py
//! rollout`).
//!
//! Shapes: `qwen2.5-0.5b` (hidden 896, 24 layers, 14 / 2 heads,
//! intermediate 4864, vocab 151,936, tied), `qwen2.5-1.5b`, `tiny`, `small`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{Device, Tensor};
use metaalign_core::pipeline::{CancelFlag, MetricsSink};
use metaalign_core::{Level, Policy, TrainInputs, TrainerConfig};
use metaalign_rl::adapter::{AdapterConfig, LoraConfig, TargetModules};
use metaalign_rl::checkpoint::{BaseDtype, SaveDtype};
use metaalign_rl::memory::{estimate, TrainingShape};
use metaalign_rl::model::{ModelConfig, ModelSpec};
use metaalign_rl::tokenizer::TextTokenizer;
use metaalign_rl::trainer::{GrpoConfig, RlSettings, SftSettings};
use metaalign_rl::{QwenPolicy, SftConfig};

fn spec(name: &str) -> (ModelSpec, usize) {
    let published = |h, l, a, kv, i, vocab| {
        let mut s = ModelSpec::preset("tiny").unwrap();
        s.hidden_size = h;
        s.num_hidden_layers = l;
        s.num_attention_heads = a;
        s.num_key_value_heads = kv;
        s.intermediate_size = i;
        s.max_position_embeddings = 32768;
        s.rope_theta = 1_000_000.0;
        s.tie_word_embeddings = true;
        (s, vocab)
    };
    match name {
        "qwen2.5-0.5b" => published(896, 24, 14, 2, 4864, 151_936),
        "qwen2.5-1.5b" => published(1536, 28, 12, 2, 8960, 151_936),
        other => (
            ModelSpec::preset(other).unwrap_or_else(|| panic!("unknown shape {other}")),
            272,
        ),
    }
}

fn init(shape: &str, out: &Path, dtype: SaveDtype) {
    let (spec, vocab) = spec(shape);
    let tok = TextTokenizer::char_level("").unwrap();
    let cfg: ModelConfig = spec.to_config(vocab, tok.token_to_id("<|endoftext|>"), tok.eos_ids());
    let device = Device::Cpu;
    let mut tensors = BTreeMap::new();
    for (i, (name, shape)) in cfg.param_shapes().into_iter().enumerate() {
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, candle_core::DType::F32, &device).unwrap()
        } else if name.ends_with(".bias") {
            Tensor::zeros(shape, candle_core::DType::F32, &device).unwrap()
        } else {
            // Uniform with the std of HF's normal(0, 0.02): fast to draw.
            let n: usize = shape.iter().product();
            let mut state = 0x9e3779b97f4a7c15u64 ^ (i as u64);
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.0693
                })
                .collect();
            Tensor::from_vec(v, shape, &device).unwrap()
        };
        tensors.insert(name, t);
    }
    let policy = QwenPolicy::from_tensors(cfg, tensors, tok, None, &device).unwrap();
    policy.save_as(out, dtype).unwrap();
    println!(
        "wrote {shape} ({} parameters, {dtype:?}) to {}",
        policy.num_parameters(),
        out.display()
    );
}

fn arg<T: std::str::FromStr>(args: &[String], key: &str, default: T) -> T {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("bad {key}")))
        .unwrap_or(default)
}

fn step(model: &Path, args: &[String]) {
    let prompts: usize = arg(args, "--prompts", 2);
    let samples: usize = arg(args, "--samples", 2);
    let new_tokens: usize = arg(args, "--new-tokens", 32);
    let micro: usize = arg(args, "--micro", 4);
    let lora_r: usize = arg(args, "--lora-r", 0);
    let kind: String = arg(args, "--kind", "grpo".to_string());
    let base_dtype: BaseDtype = serde_json::from_value(serde_json::Value::String(arg(
        args,
        "--base-dtype",
        "stored".to_string(),
    )))
    .expect("--base-dtype: stored, bf16, f16 or f32");
    let device: String = arg(args, "--device", "cpu".to_string());
    let checkpointing = args.iter().any(|a| a == "--checkpointing");
    let adapter = (lora_r > 0).then(|| {
        AdapterConfig::Lora(LoraConfig {
            r: lora_r,
            lora_alpha: 2.0 * lora_r as f64,
            target_modules: TargetModules::AllLinear,
            ..LoraConfig::default()
        })
    });
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let source = metaalign_core::config::from_toml_str::<Box<dyn metaalign_core::TaskConfig>>(
        "kind = \"short_prompt\"\ninner = { kind = \"induction\", rationale = true, rationale_style = \"step\" }",
        "bench",
    )
    .unwrap()
    .build()
    .unwrap();
    // The longest prompt the step can draw, tokenized as the trainer does.
    let tok = TextTokenizer::load(model, &[], None).unwrap();
    let mut rng = metaalign_core::seed::item_rng(1, "bench", 0);
    let prompt_tokens = (0..64)
        .map(|i| {
            let t = source.generate(Level(1), i, &mut rng).unwrap();
            let user = &t.prompt.last().unwrap().content;
            tok.encode(&tok.chat_prompt(None, user)).unwrap().len()
        })
        .max()
        .unwrap();
    // SFT's targets: the worked step and the answer, as the trainer writes them.
    let mut rng = metaalign_core::seed::item_rng(1, "bench", 0);
    let target_tokens = (0..64)
        .map(|i| {
            let t = source.generate(Level(1), i, &mut rng).unwrap();
            let target = format!(
                "<think>\n{}\n</think>\n<answer>{}</answer><|im_end|>",
                t.rationale.unwrap_or_default(),
                t.answer
            );
            tok.encode(&target).unwrap().len()
        })
        .max()
        .unwrap();
    let (trainer, shape): (Box<dyn TrainerConfig>, TrainingShape) = if kind == "sft" {
        let mut s = SftSettings {
            batch_size: prompts * samples,
            ..SftSettings::default()
        };
        s.micro_batch_size = micro;
        s.steps_per_level = 1;
        s.checkpoint_every = 0;
        s.learning_rate = Some(1e-5);
        s.adapter = adapter.clone();
        s.base_dtype = base_dtype;
        s.gradient_checkpointing = checkpointing;
        (
            Box::new(SftConfig(s)),
            TrainingShape {
                prompt_tokens,
                rollout_rows: 0,
                new_tokens: target_tokens,
                micro_batch: micro.min(prompts * samples),
                reference: false,
                adapter: None,
                half_base: false,
                checkpointing: false,
            },
        )
    } else {
        let mut s = RlSettings {
            prompts_per_step: prompts,
            samples_per_prompt: samples,
            max_new_tokens: new_tokens,
            temperature: 1.0,
            stop: Vec::new(),
            ..RlSettings::default()
        };
        s.micro_batch_size = micro;
        s.steps_per_level = 1;
        s.checkpoint_every = 0;
        s.learning_rate = Some(1e-5);
        s.adapter = adapter.clone();
        s.base_dtype = base_dtype;
        s.gradient_checkpointing = checkpointing;
        (
            Box::new(GrpoConfig(s)),
            TrainingShape {
                prompt_tokens,
                rollout_rows: prompts * samples,
                new_tokens,
                micro_batch: micro,
                reference: true,
                adapter: None,
                half_base: false,
                checkpointing: false,
            },
        )
    };
    let architecture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("config.json")).unwrap()).unwrap();
    let shape = TrainingShape {
        adapter: adapter.as_ref().map(|a| a.lora()),
        half_base: metaalign_rl::memory::half_base(&architecture, adapter.is_some(), base_dtype),
        checkpointing,
        ..shape
    };
    let out = std::env::temp_dir().join(format!("bench_memory_{}", std::process::id()));
    let inputs = TrainInputs {
        start: model.to_path_buf(),
        tasks: BTreeMap::from([("induction".to_string(), source)]),
        levels: vec![Level(1)],
        reward: Arc::new(metaalign_tasks::BinaryReward::default()),
        out_dir: out.clone(),
        seed: 1,
        holdout: metaalign_core::HoldOut::default(),
        device: device.clone(),
        metrics: MetricsSink::discard(),
        cancel: CancelFlag::default(),
    };
    let started = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(trainer.build().unwrap().train(inputs)).unwrap();
    let wall = started.elapsed().as_secs_f64();
    let measured = metaalign_core::memory::peak_rss_bytes().unwrap_or(0);
    let _ = std::fs::remove_dir_all(&out);
    let cfg = metaalign_rl::checkpoint::load_config(model).unwrap();
    let plan = estimate(&cfg, &shape);
    let ratio = plan.peak as f64 / measured.max(1) as f64;
    println!("{kind}: {prompts} prompts x {samples} samples, {new_tokens} new tokens, micro-batch {micro}, lora r {lora_r}, base {base_dtype:?}, checkpointing {checkpointing}, prompts up to {prompt_tokens} tokens");
    println!("  wall {wall:.1} s (one step, load and save included)");
    println!("  plan     {plan}");
    println!(
        "  measured {} peak RSS; estimate / measured = {ratio:.2}",
        metaalign_core::memory::human(measured)
    );
}

/// One batch of sampling: `rows` random prompts of `prompt_tokens`, exactly
/// `new_tokens` each (EOS off), temperature 1.
fn rollout(model: &Path, args: &[String]) {
    use metaalign_core::SamplingParams;
    let rows: usize = arg(args, "--rows", 32);
    let prompt_tokens: usize = arg(args, "--prompt-tokens", 120);
    let new_tokens: usize = arg(args, "--new-tokens", 128);
    let base_dtype: BaseDtype = serde_json::from_value(serde_json::Value::String(arg(
        args,
        "--base-dtype",
        "stored".to_string(),
    )))
    .expect("--base-dtype: stored, bf16, f16 or f32");
    let device =
        metaalign_rl::policy::device_from_str(&arg(args, "--device", "cpu".to_string())).unwrap();
    let loaded = std::time::Instant::now();
    let mut policy = QwenPolicy::load_with(model, &device, base_dtype).unwrap();
    let load_s = loaded.elapsed().as_secs_f64();
    policy.set_eos_ids(Vec::new());
    policy.batch_size = rows;
    let vocab = policy.config().vocab_size as u64;
    let mut state = 0x2545f4914f6cdd1du64;
    let prompts: Vec<Vec<u32>> = (0..rows)
        .map(|_| {
            (0..prompt_tokens)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % vocab.min(272)) as u32
                })
                .collect()
        })
        .collect();
    let params = SamplingParams {
        temperature: 1.0,
        max_new_tokens: new_tokens,
        ..SamplingParams::default()
    };
    let started = std::time::Instant::now();
    let out = policy.sample_ids(&prompts, &params).unwrap();
    let wall = started.elapsed().as_secs_f64();
    let tokens: usize = out.iter().map(|g| g.tokens.len()).sum();
    println!("rollout: {rows} rows x {new_tokens} new tokens after {prompt_tokens} prompt tokens, base {base_dtype:?}, {device:?}");
    println!(
        "  {tokens} tokens in {wall:.2} s: {:.1} tokens/s (load {load_s:.1} s, not counted); peak RSS {}",
        tokens as f64 / wall,
        metaalign_core::memory::human(metaalign_core::memory::peak_rss_bytes().unwrap_or(0))
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("init") => init(
            &args[1],
            &PathBuf::from(&args[2]),
            match args.get(3).map(String::as_str) {
                Some("bf16") => SaveDtype::Bf16,
                _ => SaveDtype::F32,
            },
        ),
        Some("step") => step(&PathBuf::from(&args[1]), &args[2..]),
        Some("rollout") => rollout(&PathBuf::from(&args[1]), &args[2..]),
        Some("load") => {
            let p = QwenPolicy::load(&PathBuf::from(&args[1]), &Device::Cpu).unwrap();
            println!(
                "loaded {} parameters: peak RSS {}",
                p.num_parameters(),
                metaalign_core::memory::human(metaalign_core::memory::peak_rss_bytes().unwrap_or(0))
            );
        }
        _ => eprintln!("usage: bench_memory init SHAPE DIR [bf16] | step DIR [--prompts N --samples N --new-tokens N --micro N --lora-r R --kind grpo|sft --base-dtype stored|bf16|f32 --checkpointing --device cpu|cuda:0] | rollout DIR [--rows N --prompt-tokens N --new-tokens N --base-dtype .. --device ..]"),
    }
}
