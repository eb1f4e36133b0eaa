//! Running a policy on held-out sets: batched greedy generation (and
//! optional sampling for avg@k / pass@k), verified by each task's verifier.

use std::collections::BTreeMap;
use std::sync::Arc;

use metaalign_core::pipeline::CancelFlag;
use metaalign_core::seed::derive_seed;
use metaalign_core::{
    Error, Generation, HoldOut, Level, Result, SamplingParams, Task, TaskGenerator, Verdict,
    Verifier,
};
use serde::{Deserialize, Serialize};

use super::heldout::{heldout_tasks, Split};
use super::metrics::ModelResults;
use super::metrics::{SampleResult, TaskResult};
use crate::policy::QwenPolicy;

/// How to evaluate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Tasks per source and level.
    pub count: usize,
    /// Levels to evaluate; `None` = every level of each source.
    pub levels: Option<Vec<u32>>,
    /// Samples per task for avg@k / pass@k (0 = greedy only).
    pub avg_k: usize,
    /// Sampling temperature of the k samples (greedy responses use 0).
    pub temperature: f64,
    /// Nucleus threshold of the k samples.
    pub top_p: f64,
    /// Top-k cut-off of the k samples (`None`: off).
    pub top_k: Option<usize>,
    /// Generation budget per response, in tokens.
    pub max_new_tokens: usize,
    /// Rows per generation batch.
    pub batch_size: usize,
    /// The seed the held-out sets derive from (normally the run seed, so
    /// every evaluate stage of a run uses the same test set).
    pub seed: u64,
    /// Which puzzles test and validation sets may hold (the run's
    /// `[run] holdout`, the same split its trainers respected).
    pub holdout: HoldOut,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            count: 100,
            levels: None,
            avg_k: 0,
            temperature: 0.7,
            top_p: 1.0,
            top_k: None,
            max_new_tokens: 256,
            batch_size: 32,
            seed: 0,
            holdout: HoldOut::default(),
        }
    }
}

/// One held-out set: the tasks of one source at one level.
pub struct EvalSet {
    /// Task source name.
    pub source: String,
    /// Difficulty level of every task in the set.
    pub level: Level,
    /// The held-out tasks.
    pub tasks: Vec<Task>,
    /// Checks responses to these tasks.
    pub verifier: Arc<dyn Verifier>,
}

/// Builds the sets of a split for each source and level. Test and
/// validation sets come from disjoint parts of the puzzle space, so weights
/// picked on validation are never scored on the same puzzles.
pub fn build_sets(
    sources: &[(String, Arc<dyn TaskGenerator>)],
    opts: &EvalOptions,
    split: Split,
) -> Result<Vec<EvalSet>> {
    if opts.count == 0 {
        return Err(Error::config("evaluation `count` must be at least 1"));
    }
    let mut sets = Vec::new();
    for (name, generator) in sources {
        let levels: Vec<Level> = match &opts.levels {
            Some(ls) => ls.iter().map(|&l| Level(l)).collect(),
            None => generator.levels(),
        };
        if let Some(fixed) = generator.fixed_tasks() {
            sets.extend(fixed_sets(name, generator.as_ref(), fixed, &levels)?);
            continue;
        }
        for level in levels {
            let tasks = heldout_tasks(
                generator.as_ref(),
                name,
                level,
                opts.count,
                opts.seed,
                split,
                &opts.holdout,
            )?;
            sets.push(EvalSet {
                source: name.clone(),
                level,
                tasks,
                verifier: generator.verifier(),
            });
        }
    }
    Ok(sets)
}

/// The sets of a source that reads a fixed task list (a benchmark file):
/// every task of each wanted level, in file order, with the file's ids. A
/// benchmark is scored whole; `count`, the seed and the holdout shares do
/// not apply (trainers only ever draw a file's training part).
fn fixed_sets(
    source: &str,
    generator: &dyn TaskGenerator,
    tasks: &[Task],
    levels: &[Level],
) -> Result<Vec<EvalSet>> {
    let mut sets = Vec::new();
    for &level in levels {
        let of_level: Vec<Task> = tasks.iter().filter(|t| t.level == level).cloned().collect();
        if of_level.is_empty() {
            return Err(Error::config(format!(
                "task source `{source}` ({}) has no task of level {level}; its levels are {}",
                generator.kind(),
                generator
                    .levels()
                    .iter()
                    .map(|l| l.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        sets.push(EvalSet {
            source: source.to_string(),
            level,
            tasks: of_level,
            verifier: generator.verifier(),
        });
    }
    Ok(sets)
}

/// One verified response, for the responses log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// The task's id.
    pub task_id: String,
    /// Task source name.
    pub task: String,
    /// The task's difficulty level.
    pub level: Level,
    /// `greedy` or `sample-<i>`.
    pub mode: String,
    /// The response text (special tokens kept, cut after `</answer>`).
    pub response: String,
    /// The verifier's verdict on it.
    pub verdict: Verdict,
}

/// The response text of a generation, special tokens (`<think>`,
/// `<answer>`...) kept and end-of-sequence tokens removed, cut after the
/// first `</answer>` (where a stop string ends generation).
pub fn response_text(policy: &QwenPolicy, generation: &Generation) -> Result<String> {
    let eos = policy.eos_ids();
    let pad = policy.tokenizer().pad_id();
    let ids: Vec<u32> = generation
        .tokens
        .iter()
        .copied()
        .filter(|t| !eos.contains(t) && *t != pad)
        .collect();
    let text = policy.tokenizer().decode_with_special(&ids)?;
    Ok(cut_after_answer(&text).to_string())
}

/// The text up to and including the first `</answer>`, or all of it.
pub fn cut_after_answer(text: &str) -> &str {
    const CLOSE: &str = "</answer>";
    match text.find(CLOSE) {
        Some(i) => &text[..i + CLOSE.len()],
        None => text,
    }
}

/// Evaluates one policy on every set. `on_response` sees each verified
/// response (for logs). Checks `cancel` between batches.
pub fn evaluate_policy(
    policy: &mut QwenPolicy,
    sets: &[EvalSet],
    opts: &EvalOptions,
    cancel: &CancelFlag,
    mut on_response: impl FnMut(ResponseRecord),
) -> Result<ModelResults> {
    let template = policy.tokenizer().chat_template().clone();
    policy.batch_size = opts.batch_size.max(1);
    let mut out: ModelResults = BTreeMap::new();
    for set in sets {
        let prompts: Vec<Vec<u32>> = set
            .tasks
            .iter()
            .map(|t| policy.tokenizer().encode(&template.render_task(t)?))
            .collect::<Result<_>>()?;
        let set_seed = derive_seed(
            opts.seed,
            &format!("eval-sample/{}/L{}", set.source, set.level.0),
        );
        let greedy_params = SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            top_k: None,
            max_new_tokens: opts.max_new_tokens,
            stop: vec!["</answer>".into()],
            seed: set_seed,
        };
        let greedy = generate_chunked(policy, &prompts, &greedy_params, opts.batch_size, cancel)?;
        let mut results: Vec<TaskResult> = Vec::with_capacity(set.tasks.len());
        for (task, generation) in set.tasks.iter().zip(&greedy) {
            let text = response_text(policy, generation)?;
            let verdict = set.verifier.verify(task, &text);
            on_response(ResponseRecord {
                task_id: task.id.clone(),
                task: set.source.clone(),
                level: set.level,
                mode: "greedy".into(),
                response: text,
                verdict: verdict.clone(),
            });
            results.push(TaskResult {
                task_id: task.id.clone(),
                task: set.source.clone(),
                level: set.level,
                greedy: SampleResult::new(verdict, generation.tokens.len()),
                samples: Vec::new(),
            });
        }
        if opts.avg_k > 0 {
            let k = opts.avg_k;
            let repeated: Vec<Vec<u32>> = prompts
                .iter()
                .flat_map(|p| std::iter::repeat_n(p.clone(), k))
                .collect();
            let params = SamplingParams {
                temperature: opts.temperature,
                top_p: opts.top_p,
                top_k: opts.top_k,
                ..greedy_params.clone()
            };
            let sampled = generate_chunked(policy, &repeated, &params, opts.batch_size, cancel)?;
            for (i, generation) in sampled.iter().enumerate() {
                let (ti, si) = (i / k, i % k);
                let task = &set.tasks[ti];
                let text = response_text(policy, generation)?;
                let verdict = set.verifier.verify(task, &text);
                on_response(ResponseRecord {
                    task_id: task.id.clone(),
                    task: set.source.clone(),
                    level: set.level,
                    mode: format!("sample-{si}"),
                    response: text,
                    verdict: verdict.clone(),
                });
                results[ti]
                    .samples
                    .push(SampleResult::new(verdict, generation.tokens.len()));
            }
        }
        tracing::info!(
            "{} L{}: greedy pass@1 {:.1}% on {} tasks",
            set.source,
            set.level,
            100.0 * super::metrics::greedy_pass_at_1(&results),
            results.len()
        );
        out.entry(set.source.clone()).or_default().extend(results);
    }
    Ok(out)
}

/// Generates in chunks so an interrupt is seen between batches. Each chunk
/// gets its own seed so sampled rows differ across chunks.
fn generate_chunked(
    policy: &QwenPolicy,
    prompts: &[Vec<u32>],
    params: &SamplingParams,
    batch_size: usize,
    cancel: &CancelFlag,
) -> Result<Vec<Generation>> {
    let mut out = Vec::with_capacity(prompts.len());
    for (c, chunk) in prompts.chunks(batch_size.max(1)).enumerate() {
        cancel.check()?;
        let p = SamplingParams {
            seed: derive_seed(params.seed, &format!("chunk-{c}")),
            ..params.clone()
        };
        out.extend(policy.sample_ids(chunk, &p)?);
    }
    Ok(out)
}
