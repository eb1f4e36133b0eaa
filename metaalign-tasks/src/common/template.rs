//! Chat templates: how a task's messages become the model's prompt text.

use metaalign_core::{ChatMessage, Task};
use serde::{Deserialize, Serialize};

use super::format::THINK_OPEN;

/// A chat template. The default is Qwen's `<|im_start|>role\n…<|im_end|>`
/// form; the assistant turn is opened and seeded with `<think>` so the
/// model starts reasoning at once, as in the paper's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatTemplate {
    /// Put before each message; `{role}` is replaced by the role.
    pub message_prefix: String,
    /// Put after each message.
    pub message_suffix: String,
    /// Opens the assistant turn after the last message.
    pub assistant_prefix: String,
    /// Appended after the assistant prefix (the start of the response).
    pub generation_prefix: String,
}

impl Default for ChatTemplate {
    fn default() -> Self {
        Self::qwen()
    }
}

impl ChatTemplate {
    /// Qwen2 / Qwen2.5 (ChatML).
    pub fn qwen() -> Self {
        Self {
            message_prefix: "<|im_start|>{role}\n".into(),
            message_suffix: "<|im_end|>\n".into(),
            assistant_prefix: "<|im_start|>assistant\n".into(),
            generation_prefix: THINK_OPEN.into(),
        }
    }

    /// Renders messages and opens the assistant turn.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        let mut out = String::new();
        for m in messages {
            out.push_str(&self.message_prefix.replace("{role}", &m.role));
            out.push_str(&m.content);
            out.push_str(&self.message_suffix);
        }
        out.push_str(&self.assistant_prefix);
        out.push_str(&self.generation_prefix);
        out
    }

    /// The prompt text of a task: its own text when it was imported already
    /// templated (the paper's data), else rendered with this template.
    pub fn render_task(&self, task: &Task) -> String {
        if task.templated {
            task.prompt.iter().map(|m| m.content.as_str()).collect()
        } else {
            self.render(&task.prompt)
        }
    }
}
