//! Offline evaluation: scores responses generated elsewhere (vLLM on a
//! cluster) against the same sets a live evaluation uses, into the same
//! results, report and charts.
//!
//! A model's responses are a folder holding one `<task source>.jsonl` per
//! evaluated source (or, for a stage with one task source, a single
//! `.jsonl` file), each line `{"id", "response"}` with the benchmark's task
//! id. One line per task gives pass@1; several lines with the same id are
//! `k` samples: the first is the pass@1 response and all of them make
//! avg@k and pass@k. Every task of the set must be answered, and every id
//! must belong to the set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use metaalign_core::{Error, Result};
use metaalign_tasks::dataset::score::read_sampled_responses;

use super::metrics::ModelResults;
use super::metrics::{SampleResult, TaskResult};
use super::run::{EvalSet, ResponseRecord};

/// The responses file of `source` for a model whose responses are at `path`.
pub fn responses_file(path: &Path, source: &str, sources: usize) -> Result<PathBuf> {
    if path.is_dir() {
        let file = path.join(format!("{source}.jsonl"));
        if file.is_file() {
            Ok(file)
        } else {
            Err(Error::data(format!(
                "{}: no responses for task source `{source}` (expected {source}.jsonl there)",
                path.display()
            )))
        }
    } else if path.is_file() && sources == 1 {
        Ok(path.to_path_buf())
    } else if path.is_file() {
        Err(Error::config(format!(
            "{}: one responses file serves one task source; with {sources} sources give a folder holding <source>.jsonl for each",
            path.display()
        )))
    } else {
        Err(Error::data(format!(
            "{}: no such responses file or folder",
            path.display()
        )))
    }
}

/// Scores the responses at `path` on every set.
pub fn score_responses(
    sets: &[EvalSet],
    path: &Path,
    mut on_response: impl FnMut(ResponseRecord),
) -> Result<ModelResults> {
    let mut sources: Vec<&str> = sets.iter().map(|s| s.source.as_str()).collect();
    sources.dedup();
    let mut out = ModelResults::new();
    for source in &sources {
        let file = responses_file(path, source, sources.len())?;
        let lines = read_sampled_responses(&file)?;
        let mut by_id: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
        for (line, rec) in &lines {
            by_id
                .entry(rec.id.as_str())
                .or_default()
                .push((*line, rec.response.as_str()));
        }
        let mut known = 0usize;
        for set in sets.iter().filter(|s| s.source == *source) {
            let mut missing: Vec<&str> = Vec::new();
            let mut results = Vec::with_capacity(set.tasks.len());
            for task in &set.tasks {
                let Some(responses) = by_id.get(task.id.as_str()) else {
                    missing.push(&task.id);
                    continue;
                };
                known += 1;
                let samples: Vec<SampleResult> = responses
                    .iter()
                    .enumerate()
                    .map(|(i, (_, text))| {
                        let verdict = set.verifier.verify(task, text);
                        on_response(ResponseRecord {
                            task_id: task.id.clone(),
                            task: set.source.clone(),
                            level: set.level,
                            mode: if responses.len() == 1 {
                                "greedy".into()
                            } else {
                                format!("sample-{i}")
                            },
                            response: text.to_string(),
                            verdict: verdict.clone(),
                        });
                        // Offline responses come as text: length in characters.
                        SampleResult::new(verdict, text.chars().count())
                    })
                    .collect();
                results.push(TaskResult {
                    task_id: task.id.clone(),
                    task: set.source.clone(),
                    level: set.level,
                    greedy: samples[0].clone(),
                    samples: if samples.len() > 1 {
                        samples
                    } else {
                        Vec::new()
                    },
                });
            }
            if !missing.is_empty() {
                return Err(Error::data(format!(
                    "{}: no response for {} of the {} tasks of `{}` level {} (first missing id: `{}`)",
                    file.display(),
                    missing.len(),
                    set.tasks.len(),
                    set.source,
                    set.level,
                    missing[0]
                )));
            }
            out.entry(set.source.clone()).or_default().extend(results);
        }
        if known < by_id.len() {
            let ids: std::collections::HashSet<&str> = sets
                .iter()
                .filter(|s| s.source == *source)
                .flat_map(|s| s.tasks.iter().map(|t| t.id.as_str()))
                .collect();
            if let Some((line, rec)) = lines.iter().find(|(_, r)| !ids.contains(r.id.as_str())) {
                return Err(Error::data(format!(
                    "{}:{line}: id `{}` is not a task of `{source}` (of the levels evaluated)",
                    file.display(),
                    rec.id
                )));
            }
        }
    }
    Ok(out)
}
