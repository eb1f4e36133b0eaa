//! The `choice` task source: the rows of a multiple-choice file as tasks
//! whose answer is the correct option's letter.

use std::path::Path;
use std::sync::Arc;

use metaalign_core::seed::Rng;
use metaalign_core::{
    Ability, ChatMessage, Error, Level, Result, Solution, Task, TaskConfig, TaskContext,
    TaskGenerator, Verifier,
};
use metaalign_tasks::dataset::{read_records, records_from_jsonl, Record, TaskList};
use serde_json::json;

use crate::config::ChoiceConfig;
use crate::layout::{letter, read_question, Layout, Question};
use crate::verifier::ChoiceVerifier;
use crate::KIND;

/// The sample the project ships (20 questions in GPQA's layout), used when
/// a `choice` source has no `path`.
pub const SAMPLE: &str = include_str!("../../../examples/data/gpqa-sample.jsonl");
const SAMPLE_ORIGIN: &str = "the built-in GPQA-layout sample";

/// Instructions of every multiple-choice prompt: reason, then one letter.
pub const SYSTEM_PROMPT: &str = "Answer the multiple-choice question. Think step by step inside \
<think> </think>, then give only the letter of the correct option inside <answer> </answer>, \
for example <answer>B</answer>.";

/// Tasks of one multiple-choice file, and their verifier.
pub struct ChoiceTasks {
    list: TaskList,
    verifier: Arc<ChoiceVerifier>,
}

impl ChoiceTasks {
    /// Reads the configured file (or the shipped sample); GPQA options are
    /// shuffled from `ctx.seed`.
    pub fn load(config: &ChoiceConfig, ctx: &TaskContext) -> Result<Self> {
        let (origin, records) = match &config.path {
            Some(path) => {
                let path = ctx.resolve(path);
                (path.display().to_string(), read_records(&path)?)
            }
            None => (SAMPLE_ORIGIN.to_string(), sample_records()?),
        };
        let layout = match (config.layout, records.first()) {
            (Layout::Auto, _) if config.correct_field.is_some() => Layout::Gpqa,
            (Layout::Auto, _) if config.incorrect_fields.is_some() => Layout::Gpqa,
            (Layout::Auto, Some(first)) => Layout::detect(first),
            (l, _) => l,
        };
        let fields = config.fields(layout)?;
        let take = config.limit.unwrap_or(usize::MAX);
        let mut rows = Vec::with_capacity(records.len().min(take));
        for record in records.iter().take(take) {
            let q = read_question(record, layout, &fields, ctx.seed, config.shuffle)?;
            rows.push((record.at.clone(), task_of(q, config.rationale)));
        }
        Ok(Self {
            list: TaskList::new(origin, rows)?,
            verifier: Arc::new(ChoiceVerifier),
        })
    }
}

fn sample_records() -> Result<Vec<Record>> {
    records_from_jsonl(Path::new(SAMPLE_ORIGIN), SAMPLE)
}

/// The question followed by one `(A) …` line per option.
pub fn render(question: &str, choices: &[String]) -> String {
    let mut text = question.trim().to_string();
    text.push('\n');
    for (i, c) in choices.iter().enumerate() {
        text.push_str(&format!("\n({}) {}", letter(i), c));
    }
    text
}

fn task_of(q: Question, rationale: bool) -> Task {
    let answer = letter(q.answer).to_string();
    let puzzle = render(&q.question, &q.choices);
    Task {
        id: q.id,
        kind: KIND.to_string(),
        ability: Ability::Domain(KIND.to_string()),
        level: Level(1),
        prompt: vec![
            ChatMessage::new("system", SYSTEM_PROMPT),
            ChatMessage::new("user", puzzle.clone()),
        ],
        puzzle,
        templated: false,
        ground_truth: json!({
            "answer": answer,
            "choices": q.choices,
            "correct_text": q.choices[q.answer],
        }),
        answer,
        rationale: if rationale { q.explanation } else { None },
    }
}

impl TaskGenerator for ChoiceTasks {
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

    /// The gold letter is the solution.
    fn solve(&self, task: &Task) -> Result<Solution> {
        let gold = task
            .ground_truth
            .get("answer")
            .and_then(|a| a.as_str())
            .ok_or_else(|| Error::data(format!("task `{}`: no gold answer", task.id)))?;
        Ok(Solution {
            answer: gold.to_string(),
            rationale: task.rationale.clone(),
        })
    }
}

/// Reads a multiple-choice file with the default settings at `seed`
/// (for tools and tests).
pub fn load_file(path: &Path, seed: u64) -> Result<ChoiceTasks> {
    ChoiceTasks::load(
        &ChoiceConfig {
            path: Some(path.to_path_buf()),
            ..ChoiceConfig::default()
        },
        &TaskContext {
            seed,
            ..TaskContext::default()
        },
    )
}

/// The factory: a config is checked, then its file is read into tasks.
#[typetag::serde(name = "choice")]
impl TaskConfig for ChoiceConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        self.build_in(&TaskContext::default())
    }

    fn build_in(&self, ctx: &TaskContext) -> Result<Arc<dyn TaskGenerator>> {
        self.check()?;
        Ok(Arc::new(ChoiceTasks::load(self, ctx)?))
    }

    fn is_fixed_set(&self) -> bool {
        true
    }
}
