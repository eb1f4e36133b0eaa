//! The `math` task source: the rows of a benchmark file as tasks.

use std::path::Path;
use std::sync::Arc;

use metaalign_core::seed::Rng;
use metaalign_core::{
    Ability, ChatMessage, Error, Level, Result, Solution, Task, TaskConfig, TaskContext,
    TaskGenerator, Verifier,
};
use metaalign_tasks::dataset::{
    read_records, records_from_jsonl, stable_task_id, Record, TaskList,
};
use serde_json::json;

use crate::answer::CompareOptions;
use crate::config::MathConfig;
use crate::layout::{read_row, Preset, Row};
use crate::verifier::MathVerifier;
use crate::KIND;

/// The sample the project ships (50 problems in MATH-500's layout), used
/// when a `math` source has no `path`.
pub const SAMPLE: &str = include_str!("../../../examples/data/math500-sample.jsonl");
const SAMPLE_ORIGIN: &str = "the built-in MATH-500-layout sample";

/// Instructions of every math prompt: reason, then one boxed answer.
pub const SYSTEM_PROMPT: &str =
    "Solve the math problem. Think step by step inside <think> </think>, \
then give only the final answer inside <answer> </answer> as \\boxed{...}, in simplest exact form.";

/// Tasks of one math file, and their verifier.
pub struct MathTasks {
    list: TaskList,
    verifier: Arc<MathVerifier>,
}

impl MathTasks {
    /// Reads the configured file (or the shipped sample).
    pub fn load(config: &MathConfig, ctx: &TaskContext) -> Result<Self> {
        let (origin, records) = match &config.path {
            Some(path) => {
                let path = ctx.resolve(path);
                (path.display().to_string(), read_records(&path)?)
            }
            None => (SAMPLE_ORIGIN.to_string(), sample_records()?),
        };
        let preset = match (config.preset, records.first()) {
            (Preset::Auto, Some(first)) => Preset::detect(first),
            (p, _) => p,
        };
        let fields = config.fields(preset);
        let take = config.limit.unwrap_or(usize::MAX);
        let mut rows = Vec::with_capacity(records.len().min(take));
        for record in records.iter().take(take) {
            let row = read_row(record, &fields)?;
            rows.push((record.at.clone(), task_of(row, config.rationale)));
        }
        Ok(Self {
            list: TaskList::new(origin, rows)?,
            verifier: Arc::new(MathVerifier::new(CompareOptions {
                float_rounding: config.float_rounding,
                strict: config.strict,
                ..CompareOptions::default()
            })),
        })
    }
}

fn sample_records() -> Result<Vec<Record>> {
    records_from_jsonl(Path::new(SAMPLE_ORIGIN), SAMPLE)
}

/// The answer a response should put between `<answer>` tags.
pub fn boxed(answer: &str) -> String {
    format!("\\boxed{{{}}}", answer.trim())
}

fn task_of(row: Row, rationale: bool) -> Task {
    let id = row
        .id
        .clone()
        .unwrap_or_else(|| stable_task_id(KIND, &row.problem));
    Task {
        id,
        kind: KIND.to_string(),
        ability: Ability::Domain(KIND.to_string()),
        level: Level(row.level.unwrap_or(1)),
        prompt: vec![
            ChatMessage::new("system", SYSTEM_PROMPT),
            ChatMessage::new("user", row.problem.clone()),
        ],
        puzzle: row.problem,
        templated: false,
        answer: boxed(strip_math_delimiters(&row.answer)),
        ground_truth: json!({
            "answer": row.answer,
            "subject": row.subject,
            "level": row.level,
        }),
        rationale: if rationale { row.solution } else { None },
    }
}

/// `$x$`, `$$x$$`, `\(x\)`, `\[x\]` → `x` (gold fields are often wrapped).
pub fn strip_math_delimiters(text: &str) -> &str {
    let t = text.trim();
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(inner) = t
            .strip_prefix(open)
            .and_then(|r| r.strip_suffix(close))
            .filter(|inner| !inner.contains(open) && !inner.is_empty())
        {
            return inner.trim();
        }
    }
    t
}

impl TaskGenerator for MathTasks {
    fn kind(&self) -> &str {
        KIND
    }

    fn ability(&self) -> Ability {
        Ability::Domain(KIND.to_string())
    }

    fn levels(&self) -> Vec<Level> {
        self.list.levels()
    }

    fn generate(&self, level: Level, _index: u64, rng: &mut Rng) -> Result<Task> {
        self.list.draw(level, rng)
    }

    fn verifier(&self) -> Arc<dyn Verifier> {
        self.verifier.clone()
    }

    fn fixed_tasks(&self) -> Option<&[Task]> {
        Some(self.list.tasks())
    }

    /// A file's problems have no solver: the gold answer is the solution
    /// (and `solve --check` verifies that the gold answer reads back as
    /// itself).
    fn solve(&self, task: &Task) -> Result<Solution> {
        let gold = task
            .ground_truth
            .get("answer")
            .and_then(|a| a.as_str())
            .ok_or_else(|| Error::data(format!("task `{}`: no gold answer", task.id)))?;
        Ok(Solution {
            answer: boxed(strip_math_delimiters(gold)),
            rationale: task.rationale.clone(),
        })
    }
}

/// Reads a math file with the default settings (for tools and tests).
pub fn load_file(path: &Path) -> Result<MathTasks> {
    MathTasks::load(
        &MathConfig {
            path: Some(path.to_path_buf()),
            ..MathConfig::default()
        },
        &TaskContext::default(),
    )
}

/// The factory: a config is checked, then its file is read into tasks.
#[typetag::serde(name = "math")]
impl TaskConfig for MathConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        self.build_in(&TaskContext::default())
    }

    fn build_in(&self, ctx: &TaskContext) -> Result<Arc<dyn TaskGenerator>> {
        self.check()?;
        Ok(Arc::new(MathTasks::load(self, ctx)?))
    }

    fn is_fixed_set(&self) -> bool {
        true
    }
}
