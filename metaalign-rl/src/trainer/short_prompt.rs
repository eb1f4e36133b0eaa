//! `kind = "short_prompt"`: a task-source layer that replaces a task's chat
//! prompt (system instructions + puzzle + answer-format instructions, about
//! 700 characters for the meta-ability tasks) by the puzzle alone as the
//! user turn. Everything else — kind, ground truth, answer, rationale,
//! verifier, solver — is the inner source's.
//!
//! Why: attention cost grows with the square of the prompt length, and a
//! tiny character-level model learns the answer format from its supervised
//! warm-up, not from instructions; the short prompt makes RL experiments on
//! two CPU cores feasible (`examples/pipelines/rl-evidence.toml`). Training
//! and evaluation see the same prompts because both build their tasks from
//! the same `[tasks.NAME]` source.

use std::sync::Arc;

use metaalign_core::{
    Ability, ChatMessage, Level, Result, Solution, Task, TaskConfig, TaskContext, TaskGenerator,
    Verifier,
};
use serde::{Deserialize, Serialize};

fn default_inner() -> Box<dyn TaskConfig> {
    Box::new(metaalign_tasks::induction::InductionConfig::default())
}

/// Settings of the `short_prompt` layer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortPromptConfig {
    /// The wrapped task source (default `{ kind = "induction" }`).
    #[serde(default = "default_inner")]
    pub inner: Box<dyn TaskConfig>,
    /// Appended to the puzzle on its own line (default: nothing).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instruction: String,
}

impl Default for ShortPromptConfig {
    fn default() -> Self {
        Self {
            inner: default_inner(),
            instruction: String::new(),
        }
    }
}

#[typetag::serde(name = "short_prompt")]
impl TaskConfig for ShortPromptConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        Ok(Arc::new(ShortPrompt::new(
            self.inner.build()?,
            self.instruction.clone(),
        )))
    }

    fn build_in(&self, ctx: &TaskContext) -> Result<Arc<dyn TaskGenerator>> {
        Ok(Arc::new(ShortPrompt::new(
            self.inner.build_in(ctx)?,
            self.instruction.clone(),
        )))
    }

    fn is_fixed_set(&self) -> bool {
        self.inner.is_fixed_set()
    }
}

/// The generator of the `short_prompt` layer.
pub struct ShortPrompt {
    /// The wrapped task source.
    pub inner: Arc<dyn TaskGenerator>,
    /// Appended to the puzzle on its own line.
    pub instruction: String,
    /// The inner source's fixed tasks (a benchmark file), rewritten once.
    fixed: Option<Vec<Task>>,
}

impl ShortPrompt {
    /// Wraps `inner`, rewriting its fixed tasks (if any) once.
    pub fn new(inner: Arc<dyn TaskGenerator>, instruction: String) -> Self {
        let mut layer = Self {
            inner,
            instruction,
            fixed: None,
        };
        layer.fixed = layer
            .inner
            .fixed_tasks()
            .map(|tasks| tasks.iter().map(|t| layer.rewrite(t.clone())).collect());
        layer
    }

    /// The short prompt of a task.
    pub fn rewrite(&self, mut task: Task) -> Task {
        let user = if self.instruction.is_empty() {
            task.puzzle.trim().to_string()
        } else {
            format!("{}\n{}", task.puzzle.trim(), self.instruction)
        };
        task.prompt = vec![ChatMessage::new("user", user)];
        task.templated = false;
        task
    }
}

impl TaskGenerator for ShortPrompt {
    fn kind(&self) -> &str {
        self.inner.kind()
    }
    fn ability(&self) -> Ability {
        self.inner.ability()
    }
    fn levels(&self) -> Vec<Level> {
        self.inner.levels()
    }
    fn generate(
        &self,
        level: Level,
        index: u64,
        rng: &mut metaalign_core::seed::Rng,
    ) -> Result<Task> {
        Ok(self.rewrite(self.inner.generate(level, index, rng)?))
    }
    fn verifier(&self) -> Arc<dyn Verifier> {
        self.inner.verifier()
    }
    fn solve(&self, task: &Task) -> Result<Solution> {
        self.inner.solve(task)
    }
    fn fixed_tasks(&self) -> Option<&[Task]> {
        self.fixed.as_deref()
    }
}
