//! Chat templates: how a task's messages become the model's prompt text.

use std::path::Path;

use metaalign_core::{ChatMessage, Error, Result, Task};
use serde::{Deserialize, Serialize};

use super::format::THINK_OPEN;
use super::jinja::JinjaTemplate;

/// The Jinja form of the built-in template, as metaalign writes it into the
/// `tokenizer_config.json` of the checkpoints it creates. A checkpoint
/// carrying exactly this template is rendered with the built-in
/// [`ChatTemplate::qwen`] (same text, no Jinja).
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// A chat template. The built-in one is Qwen's
/// `<|im_start|>role\n…<|im_end|>` form (used for fresh models); a
/// checkpoint whose `tokenizer_config.json` has a Jinja `chat_template` is
/// rendered with that template instead ([`ChatTemplate::from_jinja`]). Either
/// way the assistant turn is opened and then seeded with
/// [`generation_prefix`](Self::generation_prefix) (`<think>` by default) so
/// the model starts reasoning at once, as in the paper's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatTemplate {
    /// Put before each message; `{role}` is replaced by the role.
    /// (Built-in form only.)
    pub message_prefix: String,
    /// Put after each message. (Built-in form only.)
    pub message_suffix: String,
    /// Opens the assistant turn after the last message. (Built-in form only.)
    pub assistant_prefix: String,
    /// Appended after the opened assistant turn (the start of the response),
    /// whichever form renders the messages.
    pub generation_prefix: String,
    /// The checkpoint's own Jinja template: when set it renders the messages
    /// and opens the assistant turn (`add_generation_prompt`), replacing the
    /// three built-in fields above.
    #[serde(skip)]
    pub jinja: Option<JinjaTemplate>,
}

impl Default for ChatTemplate {
    fn default() -> Self {
        Self::qwen()
    }
}

impl ChatTemplate {
    /// Qwen2 / Qwen2.5 (ChatML), built in.
    pub fn qwen() -> Self {
        Self {
            message_prefix: "<|im_start|>{role}\n".into(),
            message_suffix: "<|im_end|>\n".into(),
            assistant_prefix: "<|im_start|>assistant\n".into(),
            generation_prefix: THINK_OPEN.into(),
            jinja: None,
        }
    }

    /// A checkpoint's Jinja template, seeded with the default
    /// `generation_prefix`.
    pub fn from_jinja(template: JinjaTemplate) -> Self {
        Self {
            jinja: Some(template),
            ..Self::qwen()
        }
    }

    /// The template a checkpoint's parsed `tokenizer_config.json` asks for:
    /// its Jinja `chat_template` when it has one (other than metaalign's own
    /// [`CHATML_TEMPLATE`]), else the built-in Qwen template. `origin` names
    /// the file in errors.
    pub fn from_tokenizer_config(config: &serde_json::Value, origin: &str) -> Result<Self> {
        Ok(Self::from_jinja_unless_builtin(
            JinjaTemplate::from_tokenizer_config(config, origin)?,
        ))
    }

    /// The template of a checkpoint directory: `chat_template.jinja` when
    /// present, else the `chat_template` of `tokenizer_config.json`
    /// ([`JinjaTemplate::from_checkpoint`]), else (or for metaalign's own
    /// ChatML) the built-in template.
    pub fn from_checkpoint(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::config(format!("{}: invalid JSON: {e}", path.display())))?
        } else {
            serde_json::Value::Null
        };
        Self::from_checkpoint_config(dir, &config)
    }

    /// [`from_checkpoint`](Self::from_checkpoint) with `tokenizer_config.json`
    /// already parsed (`Null` when absent).
    pub fn from_checkpoint_config(dir: &Path, config: &serde_json::Value) -> Result<Self> {
        Ok(Self::from_jinja_unless_builtin(
            JinjaTemplate::from_checkpoint(dir, config)?,
        ))
    }

    fn from_jinja_unless_builtin(template: Option<JinjaTemplate>) -> Self {
        match template {
            Some(j) if j.source() != CHATML_TEMPLATE => Self::from_jinja(j),
            _ => Self::qwen(),
        }
    }

    /// Whether this is the built-in template (no Jinja).
    pub fn is_builtin(&self) -> bool {
        self.jinja.is_none()
    }

    /// The same template with another `generation_prefix` (`""` for none).
    pub fn with_generation_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.generation_prefix = prefix.into();
        self
    }

    /// Renders messages and opens the assistant turn (then the generation
    /// prefix). Fails only for a Jinja template that raises or errors.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String> {
        let mut out = match &self.jinja {
            Some(j) => j.render(messages, true)?,
            None => {
                let mut out = String::new();
                for m in messages {
                    out.push_str(&self.message_prefix.replace("{role}", &m.role));
                    out.push_str(&m.content);
                    out.push_str(&self.message_suffix);
                }
                out.push_str(&self.assistant_prefix);
                out
            }
        };
        out.push_str(&self.generation_prefix);
        Ok(out)
    }

    /// The prompt text of a task: its own text when it was imported already
    /// templated (the paper's data), else rendered with this template.
    pub fn render_task(&self, task: &Task) -> Result<String> {
        if task.templated {
            Ok(task.prompt.iter().map(|m| m.content.as_str()).collect())
        } else {
            self.render(&task.prompt)
        }
    }

    /// The text that closes an assistant turn (what SFT targets end with):
    /// `<|im_end|>` for the built-in template; for a Jinja template, what it
    /// renders right after an assistant message's content, trailing
    /// whitespace removed (`<|eot_id|>` for Llama-3, `</s>` for Mistral),
    /// falling back to the tokenizer's `eos_token`.
    pub fn end_of_turn(&self) -> Result<String> {
        const MARK: &str = "\u{1}METAALIGN_END_OF_TURN\u{1}";
        match &self.jinja {
            None => Ok(self.message_suffix.trim_end().to_string()),
            Some(j) => {
                let text = j.render(
                    &[
                        ChatMessage::new("user", "Hi."),
                        ChatMessage::new("assistant", MARK),
                    ],
                    false,
                )?;
                let after = text
                    .rfind(MARK)
                    .map(|i| text[i + MARK.len()..].trim_end().to_string())
                    .unwrap_or_default();
                if after.is_empty() {
                    Ok(j.token("eos_token").unwrap_or_default().to_string())
                } else {
                    Ok(after)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_chatml() {
        let t = ChatTemplate::qwen();
        let out = t
            .render(&[
                ChatMessage::new("system", "S"),
                ChatMessage::new("user", "U"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<think>"
        );
        assert_eq!(t.end_of_turn().unwrap(), "<|im_end|>");
    }

    #[test]
    fn jinja_end_of_turn_and_prefix() {
        let src = "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
        let j = JinjaTemplate::new(src, "t", Default::default()).unwrap();
        let t = ChatTemplate::from_jinja(j);
        assert_eq!(t.end_of_turn().unwrap(), "<|eot_id|>");
        let out = t.render(&[ChatMessage::new("user", "U")]).unwrap();
        assert_eq!(
            out,
            "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<think>"
        );
        let plain = t.with_generation_prefix("");
        assert!(plain.render(&[]).unwrap().ends_with("\n\n"));
    }
}
