//! `metaalign model`: create, sample from and score candle policies.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use metaalign_core::{Policy, SamplingParams};
use metaalign_rl::checkpoint::BaseDtype;
use metaalign_rl::model::ModelSpec;
use metaalign_rl::policy::device_from_str;
use metaalign_rl::tokenizer::TextTokenizer;
use metaalign_rl::QwenPolicy;

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Create a fresh seeded model (HF layout) from a preset (`tiny`, `small`) or a spec file.
    Init(InitArgs),
    /// Sample a continuation of a prompt; prints only the continuation.
    Sample(SampleArgs),
    /// Per-token log-probs of continuations given prompts (JSONL in, JSONL out).
    Score(ScoreArgs),
    /// Render messages with a checkpoint's chat template (its
    /// `tokenizer_config.json` `chat_template`, as transformers'
    /// `apply_chat_template`); prints the text exactly, no newline added.
    ChatTemplate(ChatTemplateArgs),
    /// Fold a LoRA adapter (PEFT layout) into its base and save a plain HF
    /// checkpoint (as PEFT's `merge_and_unload` + `save_pretrained`).
    MergeAdapter(MergeAdapterArgs),
}

#[derive(Debug, Args)]
pub struct MergeAdapterArgs {
    /// The base HF checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The adapter folder (`adapter_config.json`, `adapter_model.safetensors`).
    #[arg(long, value_name = "ADAPTER_DIR")]
    pub adapter: PathBuf,
    /// Output checkpoint directory (replaced atomically if it exists).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Debug, Args)]
pub struct ChatTemplateArgs {
    /// HF checkpoint directory (only `chat_template.jinja` /
    /// `tokenizer_config.json` are read; without a `chat_template` the
    /// built-in Qwen template is used).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// JSON file: a list of `{"role", "content"}` messages.
    #[arg(long, value_name = "FILE.json")]
    pub messages: PathBuf,
    /// Open the assistant turn after the last message.
    #[arg(long)]
    pub add_generation_prompt: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// A preset name (`tiny`, `small`) or a TOML / JSON file with the spec
    /// (hidden_size, num_hidden_layers, num_attention_heads,
    /// num_key_value_heads, intermediate_size, ...).
    #[arg(long)]
    pub spec: String,
    /// Output checkpoint directory (replaced atomically if it exists).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Extra characters for the character tokenizer.
    #[arg(long, default_value = "")]
    pub extra_chars: String,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// HF checkpoint directory (or a PEFT adapter folder, with its base).
    #[arg(long)]
    pub model: PathBuf,
    /// A LoRA adapter (PEFT layout) to apply on `--model`.
    #[arg(long, value_name = "ADAPTER_DIR")]
    pub adapter: Option<PathBuf>,
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Wrap the prompt in the chat template (user turn + assistant opening).
    #[arg(long)]
    pub chat: bool,
    /// Optional system message (with --chat).
    #[arg(long)]
    pub system: Option<String>,
    /// Stop when the continuation contains this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The weights' matrices in memory: `f32`, `bf16`, `f16`, or `stored`
    /// (bf16 / f16 as the checkpoint stores them); the maths is f32.
    #[arg(long, default_value = "f32", value_parser = parse_base_dtype)]
    pub base_dtype: BaseDtype,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// HF checkpoint directory (or a PEFT adapter folder, with its base).
    #[arg(long)]
    pub model: PathBuf,
    /// A LoRA adapter (PEFT layout) to apply on `--model`.
    #[arg(long, value_name = "ADAPTER_DIR")]
    pub adapter: Option<PathBuf>,
    /// JSONL: each line has `prompt_ids` + `continuation_ids`, or `prompt` + `continuation` text.
    #[arg(long)]
    pub input: PathBuf,
    /// JSONL output, one `{"logprobs": [...]}` per input line, in order.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The weights' matrices in memory: `f32`, `bf16`, `f16`, or `stored`
    /// (bf16 / f16 as the checkpoint stores them); the maths is f32.
    #[arg(long, default_value = "f32", value_parser = parse_base_dtype)]
    pub base_dtype: BaseDtype,
}

pub fn run(args: ModelArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ModelCommand::Init(a) => init(a),
        ModelCommand::Sample(a) => sample(a),
        ModelCommand::Score(a) => score(a),
        ModelCommand::MergeAdapter(a) => merge_adapter(a),
        ModelCommand::ChatTemplate(a) => chat_template(a),
    }
}

fn chat_template(a: ChatTemplateArgs) -> anyhow::Result<ExitCode> {
    use metaalign_tasks::common::template::CHATML_TEMPLATE;
    use metaalign_tasks::common::JinjaTemplate;
    if !a.model.is_dir() {
        bail!(
            "--model {}: no such checkpoint directory",
            a.model.display()
        );
    }
    let cfg_path = a.model.join("tokenizer_config.json");
    let config: serde_json::Value = if cfg_path.is_file() {
        let text = std::fs::read_to_string(&cfg_path)
            .with_context(|| format!("reading {}", cfg_path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid JSON", cfg_path.display()))?
    } else {
        serde_json::json!({})
    };
    let origin = cfg_path.display().to_string();
    let template = match JinjaTemplate::from_checkpoint(&a.model, &config)? {
        Some(t) => t,
        None => {
            eprintln!("{origin}: no chat_template; using the built-in Qwen template");
            let mut builtin = config.clone();
            if let Some(o) = builtin.as_object_mut() {
                o.insert("chat_template".into(), CHATML_TEMPLATE.into());
            }
            JinjaTemplate::from_tokenizer_config(&builtin, "the built-in template")?
                .context("the built-in template")?
        }
    };
    let path = &a.messages;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--messages {}: cannot read", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--messages {}: invalid JSON", path.display()))?;
    let Some(messages) = value.as_array() else {
        bail!(
            "--messages {}: expected a JSON list of {{\"role\", \"content\"}} messages",
            path.display()
        );
    };
    for (i, m) in messages.iter().enumerate() {
        let ok =
            m.get("role").is_some_and(serde_json::Value::is_string) && m.get("content").is_some();
        if !ok {
            bail!(
                "--messages {}: message {i} must be an object with a string `role` and a `content`",
                path.display()
            );
        }
    }
    let rendered =
        template.render_json(messages, a.add_generation_prompt, &serde_json::Map::new())?;
    let mut out = std::io::stdout().lock();
    out.write_all(rendered.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn load_spec(spec: &str) -> anyhow::Result<ModelSpec> {
    if let Some(s) = ModelSpec::preset(spec) {
        return Ok(s);
    }
    let path = PathBuf::from(spec);
    if !path.is_file() {
        bail!(
            "--spec `{spec}` is neither a preset ({}) nor an existing file",
            ModelSpec::PRESETS.join(", ")
        );
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        serde_json::from_str(&text)
            .with_context(|| format!("invalid model spec in {}", path.display()))
    } else {
        Ok(metaalign_core::config::from_toml_str(
            &text,
            &path.display().to_string(),
        )?)
    }
}

fn init(a: InitArgs) -> anyhow::Result<ExitCode> {
    let spec = load_spec(&a.spec)?;
    let tok = TextTokenizer::char_level(&a.extra_chars)?;
    let policy = QwenPolicy::fresh(&spec, tok, a.seed, &device_from_str("cpu")?)?;
    policy.save(&a.out)?;
    eprintln!(
        "created {} ({} parameters, vocab {}) in {}",
        policy.config().model_type,
        policy.num_parameters(),
        policy.config().vocab_size,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sample(a: SampleArgs) -> anyhow::Result<ExitCode> {
    if a.temperature < 0.0 {
        bail!("--temperature must be >= 0 (0 = greedy)");
    }
    let mut policy = load_policy(&a.model, a.adapter.as_deref(), &a.device, a.base_dtype)?;
    let prompt = if a.chat {
        policy.chat_prompt(a.system.as_deref(), &a.prompt)
    } else {
        a.prompt.clone()
    };
    let params = SamplingParams {
        temperature: a.temperature,
        top_p: a.top_p,
        top_k: a.top_k,
        max_new_tokens: a.max_new_tokens,
        stop: a.stop.clone(),
        seed: a.seed,
    };
    let g = policy.generate(&[prompt], &params)?;
    let text = g.first().map(|g| g.text.as_str()).unwrap_or("");
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ids_field(v: &serde_json::Value, key: &str, line: usize) -> anyhow::Result<Option<Vec<u32>>> {
    match v.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_u64()
                    .filter(|&n| n <= u32::MAX as u64)
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "line {line}: `{key}` must be a list of token ids, found {x}"
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<u32>>>()
            .map(Some),
        Some(other) => bail!("line {line}: `{key}` must be a list of token ids, found {other}"),
    }
}

fn parse_base_dtype(s: &str) -> Result<BaseDtype, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("`{s}` is not one of f32, bf16, f16, stored"))
}

/// `--model` alone (a checkpoint, or an adapter folder naming its base), or
/// `--model` as the base with `--adapter` on it; the base's matrices held
/// as `base_dtype` says.
fn load_policy(
    model: &std::path::Path,
    adapter: Option<&std::path::Path>,
    device: &str,
    base_dtype: BaseDtype,
) -> anyhow::Result<QwenPolicy> {
    let device = device_from_str(device)?;
    let Some(adapter) = adapter else {
        return Ok(QwenPolicy::load_with(model, &device, base_dtype)?);
    };
    if metaalign_rl::adapter::peft::is_adapter_dir(model) {
        bail!(
            "--model {} is an adapter folder; give the base checkpoint as --model",
            model.display()
        );
    }
    let read = metaalign_rl::adapter::peft::read_adapter(adapter, &device)?;
    let base = QwenPolicy::load_with(model, &device, base_dtype)?;
    Ok(base.with_adapter(
        read.config,
        Some(read.tensors),
        0,
        Some(model.to_path_buf()),
    )?)
}

fn merge_adapter(a: MergeAdapterArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(&a.model, Some(&a.adapter), &a.device, BaseDtype::F32)?;
    let modules = policy.adapter_tensors().len();
    policy.merged()?.save(&a.out)?;
    eprintln!(
        "merged the adapter ({modules} projections) into {} and wrote {}",
        a.model.display(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn score(a: ScoreArgs) -> anyhow::Result<ExitCode> {
    let mut policy = load_policy(&a.model, a.adapter.as_deref(), &a.device, a.base_dtype)?;
    policy.batch_size = a.batch_size.max(1);
    let file =
        std::fs::File::open(&a.input).with_context(|| format!("opening {}", a.input.display()))?;
    let mut rows = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("reading {}", a.input.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {n} is not JSON", a.input.display()))?;
        let pair = match (
            ids_field(&v, "prompt_ids", n)?,
            ids_field(&v, "continuation_ids", n)?,
        ) {
            (Some(p), Some(c)) => (p, c),
            (None, None) => {
                let p = v.get("prompt").and_then(|x| x.as_str());
                let c = v.get("continuation").and_then(|x| x.as_str());
                match (p, c) {
                    (Some(p), Some(c)) => (policy.encode(p)?, policy.encode(c)?),
                    _ => bail!(
                        "{}: line {n} needs `prompt_ids` + `continuation_ids` or `prompt` + `continuation`",
                        a.input.display()
                    ),
                }
            }
            _ => bail!(
                "{}: line {n} needs both `prompt_ids` and `continuation_ids`",
                a.input.display()
            ),
        };
        rows.push(pair);
    }
    let scores = policy.score(&rows)?;
    let mut text = String::new();
    for s in scores {
        text.push_str(&serde_json::to_string(
            &serde_json::json!({ "logprobs": s }),
        )?);
        text.push('\n');
    }
    std::fs::write(&a.out, text).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!("scored {} rows into {}", rows.len(), a.out.display());
    Ok(ExitCode::SUCCESS)
}
