//! Tokenizers: loading an HF `tokenizer.json`, building the character-level
//! tokenizer of fresh models, the chat template, and the special tokens.
//!
//! Fresh models use a character-level tokenizer built as a Qwen2-style
//! byte-level BPE: one token per ASCII character (whitespace included), one
//! per logic symbol (merges of its UTF-8 bytes), any other text as bytes
//! (lossless), and the chat / reasoning markers as special tokens. It is
//! saved as a real `tokenizer.json` that Python `tokenizers` and
//! `transformers` (`Qwen2Tokenizer`) load with identical ids.

use std::path::Path;

use metaalign_core::{Error, Result};
use metaalign_tasks::ChatTemplate;
use serde_json::{json, Value};

/// The special tokens of every fresh model, in id order after the vocabulary.
pub const SPECIAL_TOKENS: [&str; 7] = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
];

/// Logic symbols used by the tasks, beyond printable ASCII.
pub const LOGIC_SYMBOLS: [char; 6] = ['¬', '∧', '∨', '→', '↔', '⊕'];

/// The ChatML template (Qwen's format, without Qwen's default system
/// message), written into `tokenizer_config.json`.
pub use metaalign_tasks::common::template::CHATML_TEMPLATE;

/// A tokenizer plus what the policy needs around it: EOS ids, the pad id
/// and the chat format.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    eos_ids: Vec<u32>,
    pad_id: u32,
    /// `tokenizer_config.json` as loaded (or as we generate it); saved back.
    config: Value,
    chatml: bool,
    /// How prompts are rendered: the config's Jinja `chat_template` when it
    /// has one (other than our own ChatML), else the built-in Qwen template.
    chat_template: ChatTemplate,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab", &self.vocab_size())
            .field("eos_ids", &self.eos_ids)
            .field("pad_id", &self.pad_id)
            .finish()
    }
}

fn tok_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: format!("cannot read tokenizer: {e}"),
    }
}

impl TextTokenizer {
    /// The character-level tokenizer for fresh models: byte-level BPE (the
    /// GPT-2 / Qwen2 scheme, so every text is encodable) whose merges join
    /// the UTF-8 bytes of the logic symbols and of `extra_chars` into one
    /// token each; ASCII characters are single bytes, hence single tokens.
    /// Transformers loads it as a `Qwen2Tokenizer` with identical ids.
    pub fn char_level(extra_chars: &str) -> Result<Self> {
        let b2u = bytes_to_unicode();
        let sym = |bytes: &[u8]| -> String { bytes.iter().map(|&b| b2u[b as usize]).collect() };
        let mut vocab = serde_json::Map::new();
        for b in 0..=255u8 {
            let id = vocab.len();
            vocab.insert(sym(&[b]), json!(id));
        }
        let mut chars: Vec<char> = LOGIC_SYMBOLS.to_vec();
        for c in extra_chars.chars() {
            if c.len_utf8() > 1 && !chars.contains(&c) {
                chars.push(c);
            }
        }
        let mut merges: Vec<Value> = Vec::new();
        for c in &chars {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes().to_vec();
            for k in 2..=bytes.len() {
                let merged = sym(&bytes[..k]);
                if vocab.contains_key(&merged) {
                    continue;
                }
                merges.push(json!([sym(&bytes[..k - 1]), sym(&bytes[k - 1..k])]));
                let id = vocab.len();
                vocab.insert(merged, json!(id));
            }
        }
        let n = vocab.len();
        let added: Vec<Value> = SPECIAL_TOKENS
            .iter()
            .enumerate()
            .map(|(i, t)| {
                json!({"id": n + i, "content": t, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let tj = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null,
                "continuing_subword_prefix": "", "end_of_word_suffix": "",
                "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges
            }
        });
        let inner = tokenizers::Tokenizer::from_bytes(serde_json::to_vec(&tj)?)
            .map_err(|e| Error::msg(format!("building the character tokenizer: {e}")))?;
        let id =
            |t: &str| n as u32 + SPECIAL_TOKENS.iter().position(|s| *s == t).unwrap_or(0) as u32;
        let eos_ids = vec![id("<|im_end|>"), id("<|endoftext|>")];
        let pad_id = id("<|endoftext|>");
        let mut added_dec = serde_json::Map::new();
        for (i, t) in SPECIAL_TOKENS.iter().enumerate() {
            added_dec.insert(
                (n + i).to_string(),
                json!({"content": t, "lstrip": false, "normalized": false, "rstrip": false,
                       "single_word": false, "special": true}),
            );
        }
        let config = json!({
            "tokenizer_class": "Qwen2Tokenizer",
            "added_tokens_decoder": added_dec,
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<answer>", "</answer>"],
            "bos_token": null,
            "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>",
            "unk_token": null,
            "chat_template": CHATML_TEMPLATE,
            "clean_up_tokenization_spaces": false,
            "model_max_length": 4096,
            "split_special_tokens": false,
        });
        Ok(Self {
            inner,
            eos_ids,
            pad_id,
            config,
            chatml: true,
            chat_template: ChatTemplate::qwen(),
        })
    }

    /// Loads `tokenizer.json` (required) and `tokenizer_config.json`
    /// (optional) from a checkpoint directory. `eos_ids` come from the
    /// generation / model config; when empty, `<|im_end|>` and
    /// `<|endoftext|>` (or the tokenizer config's eos token) are used.
    pub fn load(dir: &Path, eos_ids: &[u32], pad_id: Option<u32>) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                message: "missing tokenizer.json".into(),
            });
        }
        let inner = tokenizers::Tokenizer::from_file(&path).map_err(|e| tok_err(&path, e))?;
        let cfg_path = dir.join("tokenizer_config.json");
        let config: Value = if cfg_path.is_file() {
            let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
            serde_json::from_str(&text).map_err(|e| tok_err(&cfg_path, e))?
        } else {
            json!({"tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHATML_TEMPLATE})
        };
        let token_str = |key: &str| -> Option<String> {
            match config.get(key) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(o)) => {
                    o.get("content").and_then(Value::as_str).map(String::from)
                }
                _ => None,
            }
        };
        let mut eos: Vec<u32> = eos_ids.to_vec();
        if eos.is_empty() {
            for t in ["<|im_end|>", "<|endoftext|>"] {
                if let Some(id) = inner.token_to_id(t) {
                    eos.push(id);
                }
            }
        }
        // Generation stops on every id of the generation config's
        // `eos_token_id` plus the tokenizer's own eos token.
        if let Some(id) = token_str("eos_token").and_then(|t| inner.token_to_id(&t)) {
            if !eos.contains(&id) {
                eos.push(id);
            }
        }
        let chat_template = ChatTemplate::from_checkpoint_config(dir, &config)?;
        let pad_id = pad_id
            .or_else(|| token_str("pad_token").and_then(|t| inner.token_to_id(&t)))
            .or_else(|| eos.first().copied())
            .unwrap_or(0);
        let chatml = inner.token_to_id("<|im_start|>").is_some()
            && inner.token_to_id("<|im_end|>").is_some();
        Ok(Self {
            inner,
            eos_ids: eos,
            pad_id,
            config,
            chatml,
            chat_template,
        })
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join("tokenizer.json");
        self.inner
            .save(&path, false)
            .map_err(|e| Error::msg(format!("writing {}: {e}", path.display())))?;
        let cfg_path = dir.join("tokenizer_config.json");
        std::fs::write(&cfg_path, serde_json::to_string_pretty(&self.config)?)
            .map_err(|e| Error::io(&cfg_path, e))
    }

    /// Encodes text to token ids (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::msg(format!("tokenizing: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes ids, skipping special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| Error::msg(format!("decoding: {e}")))
    }

    /// Decodes ids keeping special tokens.
    pub fn decode_with_special(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| Error::msg(format!("decoding: {e}")))
    }

    /// The id of a token of the vocabulary, if it has one.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Number of tokens, added (special) tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids that end a generated row.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// Replaces the ids that end a generated row.
    pub fn set_eos_ids(&mut self, ids: Vec<u32>) {
        self.eos_ids = ids;
    }

    /// The chat template prompts are rendered with: the checkpoint's own
    /// (Jinja `chat_template` of `tokenizer_config.json`) when it has one,
    /// else the built-in Qwen template (fresh models).
    pub fn chat_template(&self) -> &ChatTemplate {
        &self.chat_template
    }

    /// `tokenizer_config.json` as loaded (or as generated for fresh models).
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The id used to pad rows of a batch.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The underlying Hugging Face tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// Chat prompt: optional system turn, the user turn, then the opening
    /// of the assistant turn, rendered with the checkpoint's own Jinja chat
    /// template when it has one, else ChatML. A tokenizer without
    /// `<|im_start|>` (and no template) gets a plain "system\n\nuser\n"
    /// layout instead.
    pub fn chat_prompt(&self, system: Option<&str>, user: &str) -> String {
        if let Some(j) = &self.chat_template.jinja {
            let mut messages = Vec::new();
            if let Some(sys) = system {
                messages.push(metaalign_core::ChatMessage::new("system", sys));
            }
            messages.push(metaalign_core::ChatMessage::new("user", user));
            match j.render(&messages, true) {
                Ok(text) => return text,
                Err(e) => tracing::warn!("{e}; falling back to the plain chat layout"),
            }
        }
        if self.chatml {
            let mut s = String::new();
            if let Some(sys) = system {
                s.push_str(&format!("<|im_start|>system\n{sys}<|im_end|>\n"));
            }
            s.push_str(&format!(
                "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
            ));
            s
        } else {
            match system {
                Some(sys) => format!("{sys}\n\n{user}\n"),
                None => format!("{user}\n"),
            }
        }
    }
}

/// GPT-2's reversible byte -> printable character map (used by ByteLevel).
fn bytes_to_unicode() -> Vec<char> {
    let mut printable: Vec<u32> = (33..=126).chain(161..=172).chain(174..=255).collect();
    let mut map = vec!['\0'; 256];
    for &b in &printable {
        map[b as usize] = char::from_u32(b).unwrap_or('?');
    }
    let mut extra = 0u32;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            map[b as usize] = char::from_u32(256 + extra).unwrap_or('?');
            extra += 1;
            printable.push(b);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_tokenizer_gives_one_token_per_character_and_roundtrips() {
        let t = TextTokenizer::char_level("").unwrap();
        let text = "¬(A ∧ B) → C\n\tx ⊕ y ↔ z ∨ w";
        let ids = t.encode(text).unwrap();
        assert_eq!(ids.len(), text.chars().count());
        assert_eq!(t.decode(&ids).unwrap(), text);
        // Other text falls back to bytes and still round-trips.
        let other = "日本 ü";
        assert_eq!(t.decode(&t.encode(other).unwrap()).unwrap(), other);
        // Special tokens are single ids, skipped when decoding.
        let ids = t.encode("<think>a</think><answer>b</answer>").unwrap();
        assert_eq!(ids.len(), 6);
        assert_eq!(t.decode(&ids).unwrap(), "ab");
        assert_eq!(t.eos_ids().len(), 2);
    }
}

#[cfg(test)]
mod chat_template_tests {
    use super::*;
    use metaalign_core::ChatMessage;

    /// A fresh model's saved tokenizer keeps the built-in template (so
    /// resumed runs render byte-identical prompts); a checkpoint with its own
    /// Jinja template renders with it, and its eos token is a stop token.
    #[test]
    fn checkpoint_template_and_stop_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let t = TextTokenizer::char_level("").unwrap();
        t.save(dir.path()).unwrap();
        let im_end = t.token_to_id("<|im_end|>").unwrap();
        let loaded = TextTokenizer::load(dir.path(), &[im_end], None).unwrap();
        assert!(loaded.chat_template().is_builtin());
        assert_eq!(loaded.eos_ids(), &[im_end]);

        let cfg_path = dir.path().join("tokenizer_config.json");
        let mut cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
        cfg["chat_template"] = json!("{% for m in messages %}<answer>{{ m.role }}: {{ m.content }}</answer>{% endfor %}{% if add_generation_prompt %}<answer>assistant: {% endif %}");
        cfg["eos_token"] = json!({"content": "</answer>", "special": true});
        std::fs::write(&cfg_path, cfg.to_string()).unwrap();
        let loaded = TextTokenizer::load(dir.path(), &[im_end], None).unwrap();
        let close = t.token_to_id("</answer>").unwrap();
        assert_eq!(loaded.eos_ids(), &[im_end, close]);
        let tpl = loaded.chat_template();
        assert!(!tpl.is_builtin());
        assert_eq!(
            tpl.render(&[ChatMessage::new("user", "hi")]).unwrap(),
            "<answer>user: hi</answer><answer>assistant: <think>"
        );
        assert_eq!(tpl.end_of_turn().unwrap(), "</answer>");
        assert_eq!(
            loaded.chat_prompt(None, "hi"),
            "<answer>user: hi</answer><answer>assistant: "
        );

        // A broken template fails the load, naming the file.
        cfg["chat_template"] = json!("{% if %}");
        std::fs::write(&cfg_path, cfg.to_string()).unwrap();
        let err = TextTokenizer::load(dir.path(), &[im_end], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokenizer_config.json"), "{err}");

        // `chat_template.jinja` (where recent transformers save it) wins.
        std::fs::write(
            dir.path().join("chat_template.jinja"),
            "{{ messages[0].content }}|{{ eos_token }}\n",
        )
        .unwrap();
        let loaded = TextTokenizer::load(dir.path(), &[im_end], None).unwrap();
        assert_eq!(
            loaded
                .chat_template()
                .clone()
                .with_generation_prefix("")
                .render(&[ChatMessage::new("user", "hi")])
                .unwrap(),
            "hi|</answer>"
        );
    }
}
