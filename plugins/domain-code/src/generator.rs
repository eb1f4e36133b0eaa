//! The `code` task source: the rows of a problem file as tasks, with
//! LiveCodeBench's prompts inside our chat template.

use std::path::Path;
use std::sync::Arc;

use metaalign_core::seed::Rng;
use metaalign_core::{
    Ability, ChatMessage, Error, Level, Result, Solution, Task, TaskConfig, TaskContext,
    TaskGenerator, Verifier,
};
use metaalign_tasks::dataset::{read_records, records_from_jsonl, Record, TaskList};

use crate::config::CodeConfig;
use crate::layout::{read_question, Layout, Question};
use crate::problem::Mode;
use crate::verifier::CodeVerifier;
use crate::KIND;

/// The sample the project ships (20 problems in LiveCodeBench's layout,
/// written by `scripts/write_code_samples.py`), used when a `code` source
/// has no `path`.
pub const SAMPLE: &str = include_str!("../../../examples/data/livecodebench-sample.jsonl");
const SAMPLE_ORIGIN: &str = "the built-in LiveCodeBench-layout sample";

/// LiveCodeBench's system message.
pub const SYSTEM_PROMPT: &str =
    "You are an expert Python programmer. You will be given a question \
(problem specification) and will generate a correct Python program that matches the specification \
and passes all tests.";

const WITH_STARTER: &str = "You will use the following starter code to write the solution to the \
problem and enclose your code within delimiters.";
const WITHOUT_STARTER: &str = "Read the inputs from stdin solve the problem and write the answer to \
stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. \
Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output \
to STDOUT.";

/// LiveCodeBench's question template (`get_generic_question_template_answer`).
pub fn render(q: &Question) -> String {
    let mut p = format!("### Question:\n{}\n\n", q.statement.trim_end());
    match (&q.starter_code, q.problem.mode) {
        (Some(starter), _) => {
            p.push_str(&format!("### Format: {WITH_STARTER}\n"));
            p.push_str(&format!("```python\n{}\n```\n\n", starter.trim_end()));
        }
        (None, Mode::Script) => {
            p.push_str("### Format: Write a Python program that solves the task and enclose your code within delimiters.\n");
            p.push_str("```python\n# YOUR CODE HERE\n```\n\n");
        }
        (None, _) => {
            p.push_str(&format!("### Format: {WITHOUT_STARTER}\n"));
            p.push_str("```python\n# YOUR CODE HERE\n```\n\n");
        }
    }
    p.push_str("### Answer: (use the provided format with backticks)\n\n");
    p
}

/// A program as a response would give it.
pub fn fenced(code: &str) -> String {
    format!("```python\n{}\n```", code.trim_end())
}

/// Tasks of one problem file, and their verifier.
pub struct CodeTasks {
    list: TaskList,
    verifier: Arc<CodeVerifier>,
}

impl CodeTasks {
    /// Reads the configured file (or the shipped sample). The sandbox is
    /// set up on the first verification, not here.
    pub fn load(config: &CodeConfig, ctx: &TaskContext) -> Result<Self> {
        let (origin, records) = match &config.path {
            Some(path) => {
                let path = ctx.resolve(path);
                (path.display().to_string(), read_records(&path)?)
            }
            None => (SAMPLE_ORIGIN.to_string(), sample_records()?),
        };
        let layout = match (config.layout, records.first()) {
            (Layout::Auto, Some(first)) => Layout::detect(first),
            (l, _) => l,
        };
        let take = config.limit.unwrap_or(usize::MAX);
        let mut rows = Vec::with_capacity(records.len().min(take));
        for record in records.iter().take(take) {
            let q = read_question(record, layout, config.tests)?;
            rows.push((record.at.clone(), task_of(q)?));
        }
        let mut settings = config.clone();
        settings.scratch_dir = config.scratch_dir.as_ref().map(|d| ctx.resolve(d));
        Ok(Self {
            list: TaskList::new(origin, rows)?,
            verifier: Arc::new(CodeVerifier::new(&settings)),
        })
    }

    /// The verifier, typed (the reward service reads its settings).
    pub fn code_verifier(&self) -> &Arc<CodeVerifier> {
        &self.verifier
    }
}

fn sample_records() -> Result<Vec<Record>> {
    records_from_jsonl(Path::new(SAMPLE_ORIGIN), SAMPLE)
}

fn task_of(q: Question) -> Result<Task> {
    let puzzle = render(&q);
    let mut ground_truth = serde_json::to_value(&q.problem)
        .map_err(|e| Error::data(format!("problem `{}`: {e}", q.id)))?;
    if let (Some(title), serde_json::Value::Object(gt)) = (&q.title, &mut ground_truth) {
        gt.insert("title".into(), title.clone().into());
    }
    let answer = q
        .solution
        .as_deref()
        .map(|s| fenced(&q.problem.program(s)))
        .unwrap_or_default();
    Ok(Task {
        id: q.id,
        kind: KIND.to_string(),
        ability: Ability::Domain(KIND.to_string()),
        level: Level(q.level),
        prompt: vec![
            ChatMessage::new("system", SYSTEM_PROMPT),
            ChatMessage::new("user", puzzle.clone()),
        ],
        puzzle,
        templated: false,
        ground_truth,
        answer,
        rationale: None,
    })
}

impl TaskGenerator for CodeTasks {
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

    /// The file's reference solution, when it has one.
    fn solve(&self, task: &Task) -> Result<Solution> {
        if task.answer.is_empty() {
            return Err(Error::data(format!(
                "task `{}`: the file has no reference solution",
                task.id
            )));
        }
        Ok(Solution {
            answer: task.answer.clone(),
            rationale: None,
        })
    }
}

/// Reads a problem file with the default settings (for tools and tests).
pub fn load_file(path: &Path) -> Result<CodeTasks> {
    CodeTasks::load(
        &CodeConfig {
            path: Some(path.to_path_buf()),
            ..CodeConfig::default()
        },
        &TaskContext::default(),
    )
}

/// The factory: a config is checked, then its file is read into tasks.
#[typetag::serde(name = "code")]
impl TaskConfig for CodeConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        self.build_in(&TaskContext::default())
    }

    fn build_in(&self, ctx: &TaskContext) -> Result<Arc<dyn TaskGenerator>> {
        self.check()?;
        Ok(Arc::new(CodeTasks::load(self, ctx)?))
    }

    fn is_fixed_set(&self) -> bool {
        true
    }
}
