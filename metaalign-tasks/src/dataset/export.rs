//! Whole curricula in the paper's layout, for distributed RL engines:
//! `DIR/{Deduction,Induction,Abduction}/{level}/{train,test}.parquet` in
//! veRL's schema (with the `label` column), or `.jsonl` files with
//! `prompt` and `label` fields for OpenRLHF.

use std::collections::HashSet;

use std::io::Write;
use std::path::{Path, PathBuf};

use metaalign_core::config::default_task_source;
use metaalign_core::seed::derive_seed;
use metaalign_core::{Error, Level, Result, Task};
use serde_json::json;

use crate::common::ChatTemplate;
use crate::generate::generate_range;

/// Output flavour of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// veRL parquet (the paper's layout and column types, plus `label`).
    Verl,
    /// JSONL for OpenRLHF: `prompt` (the templated prompt text, ending with
    /// `<think>`), `label` (the task record JSON), plus `id`, `ability`, `level`.
    OpenRlhf,
}

impl std::str::FromStr for ExportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "verl" => Ok(ExportFormat::Verl),
            "openrlhf" => Ok(ExportFormat::OpenRlhf),
            other => Err(Error::config(format!(
                "unknown export format `{other}` (expected `verl` or `openrlhf`)"
            ))),
        }
    }
}

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Task kinds (`deduction`, `induction`, `abduction`, or a plugin's).
    pub kinds: Vec<String>,
    /// Levels to export, for every kind.
    pub levels: Vec<u32>,
    /// Training tasks per kind and level.
    pub train: usize,
    /// Test tasks per kind and level (none also in the training split).
    pub test: usize,
    /// Seed of both splits' task streams.
    pub seed: u64,
    /// veRL parquet or OpenRLHF JSONL.
    pub format: ExportFormat,
    /// Renders the OpenRLHF prompts (the built-in Qwen template by default,
    /// or a checkpoint's own: [`ChatTemplate::from_checkpoint`]).
    pub template: ChatTemplate,
}

/// Parses a level list: `1-5`, `1,2,4` or a mix (`1-3,5`).
pub fn parse_levels(spec: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            Error::config(format!(
                "bad level list `{spec}` (expected e.g. `1-5` or `1,2,4`)"
            ))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<u32>().map_err(|_| bad())?,
                b.trim().parse::<u32>().map_err(|_| bad())?,
            ),
            None => {
                let l = part.parse::<u32>().map_err(|_| bad())?;
                (l, l)
            }
        };
        if a == 0 || b < a {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err(Error::config("the level list is empty"));
    }
    Ok(out)
}

/// One written file.
#[derive(Clone, Debug)]
pub struct ExportedFile {
    /// Where it was written.
    pub path: PathBuf,
    /// The task kind it holds.
    pub kind: String,
    /// The level it holds.
    pub level: u32,
    /// `train` or `test`.
    pub split: String,
    /// Tasks written.
    pub rows: usize,
}

/// Test tasks: generated from their own stream, skipping any whose puzzle
/// is also in the training split (so the test split never leaks).
fn test_tasks(
    gen: &dyn metaalign_core::TaskGenerator,
    level: Level,
    count: usize,
    seed: u64,
    train: &[Task],
) -> Result<Vec<Task>> {
    let seen: HashSet<&str> = train.iter().map(|t| t.puzzle.as_str()).collect();
    let mut out: Vec<Task> = Vec::with_capacity(count);
    let mut ids: HashSet<String> = train.iter().map(|t| t.id.clone()).collect();
    let mut next = 0u64;
    let mut rounds = 0;
    while out.len() < count {
        rounds += 1;
        if rounds > 50 {
            return Err(Error::data(format!(
                "{} level {level}: cannot find {count} test puzzles distinct from the training split (only {} after {next} tries)",
                gen.kind(),
                out.len()
            )));
        }
        let want = (count - out.len()) as u64 + 8;
        let batch = generate_range(gen, level, next..next + want, seed)?;
        next += want;
        for t in batch {
            if out.len() < count && !seen.contains(t.puzzle.as_str()) && ids.insert(t.id.clone()) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

fn write_openrlhf(path: &Path, tasks: &[Task], template: &ChatTemplate) -> Result<()> {
    metaalign_core::atomic::write_buffered(path, |w| {
        for t in tasks {
            let line = json!({
                "id": t.id,
                "ability": t.ability.as_str(),
                "level": t.level.0,
                "prompt": template.render_task(t)?,
                "label": serde_json::to_string(t)?,
            });
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    })
}

/// Exports a curriculum into `dir`. Deterministic: the same options give
/// byte-identical files.
pub fn export_curriculum(dir: &Path, opts: &ExportOptions) -> Result<Vec<ExportedFile>> {
    let mut written = Vec::new();
    for kind in &opts.kinds {
        let gen = default_task_source(kind)?;
        let supported = gen.levels();
        for &level in &opts.levels {
            let level = Level(level);
            if !supported.is_empty() && !supported.contains(&level) {
                return Err(Error::config(format!(
                    "task kind `{kind}` has no level {level} (levels: {})",
                    supported
                        .iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let folder = dir
                .join(gen.ability().folder_name())
                .join(level.0.to_string());
            std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
            let train = generate_range(
                gen.as_ref(),
                level,
                0..opts.train as u64,
                derive_seed(opts.seed, "export/train"),
            )?;
            let test = test_tasks(
                gen.as_ref(),
                level,
                opts.test,
                derive_seed(opts.seed, "export/test"),
                &train,
            )?;
            for (split, tasks) in [("train", &train), ("test", &test)] {
                let ext = match opts.format {
                    ExportFormat::Verl => "parquet",
                    ExportFormat::OpenRlhf => "jsonl",
                };
                let path = folder.join(format!("{split}.{ext}"));
                match opts.format {
                    ExportFormat::Verl => super::write_verl(&path, tasks, split)?,
                    ExportFormat::OpenRlhf => write_openrlhf(&path, tasks, &opts.template)?,
                }
                written.push(ExportedFile {
                    path,
                    kind: kind.clone(),
                    level: level.0,
                    split: split.to_string(),
                    rows: tasks.len(),
                });
            }
        }
    }
    Ok(written)
}
