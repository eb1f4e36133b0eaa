//! Tasks, the generators that make them and the verifiers that check them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Result;
use crate::seed::Rng;
use crate::verdict::Verdict;

/// A meta-ability (or a downstream reasoning domain added by a plugin).
///
/// Serialized as a lowercase string: `"deduction"`, `"induction"`,
/// `"abduction"`, or the domain's own name (e.g. `"arithmetic"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ability {
    /// Deduction: from premises to what must follow.
    Deduction,
    /// Induction: from examples to the rule behind them.
    Induction,
    /// Abduction: from observations back to what explains them.
    Abduction,
    /// Any other reasoning domain, named by its plugin.
    Domain(String),
}

impl Ability {
    /// The three meta-abilities of the paper, in the paper's order.
    pub const META: [Ability; 3] = [Ability::Deduction, Ability::Induction, Ability::Abduction];

    /// The lowercase name (`"deduction"`, or the domain's).
    pub fn as_str(&self) -> &str {
        match self {
            Ability::Deduction => "deduction",
            Ability::Induction => "induction",
            Ability::Abduction => "abduction",
            Ability::Domain(name) => name,
        }
    }

    /// Parses a name case-insensitively (`"Deduction"` and `"deduction"`
    /// are the same ability). Never fails: unknown names are domains.
    pub fn parse(name: &str) -> Ability {
        match name.trim().to_ascii_lowercase().as_str() {
            "deduction" => Ability::Deduction,
            "induction" => Ability::Induction,
            "abduction" => Ability::Abduction,
            other => Ability::Domain(other.to_string()),
        }
    }

    /// The capitalised folder name used by the paper's data layout
    /// (`Deduction/1/train.parquet`).
    pub fn folder_name(&self) -> String {
        let s = self.as_str();
        let mut chars = s.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

impl fmt::Display for Ability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Ability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Ability::parse(&s))
    }
}

/// A difficulty level, starting at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Level(pub u32);

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One chat message of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message of `role` saying `content`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// One self-verifiable reasoning task.
///
/// `ground_truth` is task-specific JSON that the task's [`Verifier`] knows
/// how to read (e.g. the formulas and the unique model for deduction); it is
/// what makes the task machine-checkable. `answer` is the reference answer
/// text in the task's answer format (what a correct response puts between
/// `<answer>` tags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Stable identifier, unique within a dataset.
    pub id: String,
    /// Registered task kind that made (and verifies) this task, e.g. `"deduction"`.
    pub kind: String,
    /// The ability it exercises.
    pub ability: Ability,
    /// Its difficulty.
    pub level: Level,
    /// The puzzle statement alone (no instructions, no template).
    pub puzzle: String,
    /// The prompt as chat messages (system + user), before any chat template.
    /// For tasks imported from the paper's data this holds the paper's own
    /// text, which may already contain its chat template (see `templated`).
    pub prompt: Vec<ChatMessage>,
    /// True when `prompt` already has the chat template applied (paper imports).
    #[serde(default)]
    pub templated: bool,
    /// Reference answer text, in the task's answer format.
    pub answer: String,
    /// Machine-checkable ground truth for the verifier.
    pub ground_truth: serde_json::Value,
    /// Optional programmatic chain of thought, usable for supervised warm-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

impl Task {
    /// A task made by `generator`: its kind and ability, the id
    /// `KIND-L<level>-<index>`, the prompt `system` + `user: puzzle`, and the
    /// solver's answer and rationale. Generators of every domain build their
    /// tasks this way, so a new domain writes none of it by hand.
    pub fn generated(
        generator: &(impl TaskGenerator + ?Sized),
        level: Level,
        index: u64,
        system: &str,
        puzzle: String,
        solution: Solution,
        ground_truth: serde_json::Value,
    ) -> Self {
        let kind = generator.kind().to_string();
        Task {
            id: format!("{kind}-L{}-{index}", level.0),
            ability: generator.ability(),
            kind,
            level,
            prompt: vec![
                ChatMessage::new("system", system),
                ChatMessage::new("user", puzzle.clone()),
            ],
            puzzle,
            templated: false,
            answer: solution.answer,
            ground_truth,
            rationale: solution.rationale,
        }
    }
}

/// Makes tasks of one kind at graded difficulty.
pub trait TaskGenerator: Send + Sync {
    /// Registered kind name (`"deduction"`).
    fn kind(&self) -> &str;

    /// The ability its tasks exercise.
    fn ability(&self) -> Ability;

    /// Levels this generator supports, lowest first.
    fn levels(&self) -> Vec<Level>;

    /// Generates one task. Must be a pure function of `(level, rng)` so the
    /// same seed gives the same task on any number of threads. `index` is
    /// used for the task id only.
    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task>;

    /// The verifier for this generator's tasks.
    fn verifier(&self) -> Arc<dyn Verifier>;

    /// The whole task list when this source reads a fixed set of tasks (a
    /// benchmark or a training file) instead of generating them: evaluation
    /// then scores every task in file order instead of drawing held-out
    /// sets, and `generate` draws from this list. `None` for generators.
    fn fixed_tasks(&self) -> Option<&[Task]> {
        None
    }

    /// Solves a task of this kind from its ground truth / puzzle alone (not
    /// from `task.answer`), with an exact solver: the answer text in the
    /// task's answer format, plus a rationale when one can be given. Used by
    /// `metaalign solve` to check stored answers, including the paper's.
    fn solve(&self, task: &Task) -> Result<Solution>;
}

/// A solver's answer to a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// Answer text, as it goes between `<answer>` tags.
    pub answer: String,
    /// A short reasoning trace, when the solver can give one.
    pub rationale: Option<String>,
}

/// Checks responses. Implementations are total: they return a verdict for
/// any response text, never panic and never error.
pub trait Verifier: Send + Sync {
    /// Checks `response` against `task`: its format, its answer, and why.
    fn verify(&self, task: &Task, response: &str) -> Verdict;
}
