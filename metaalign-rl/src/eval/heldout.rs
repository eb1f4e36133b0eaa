//! Held-out test (and validation) sets.
//!
//! Held-out tasks are generated per task source and per level from their
//! own seed stream: `derive_seed(run_seed, "heldout/<source>/L<level>")`
//! (validation sets, used by merge-weight search, use the label
//! `"validation/..."`). Training stages draw their tasks from streams
//! derived from the run seed and the *stage name*, so the evaluation streams
//! never coincide with a training stream; a task can still repeat by chance
//! when a level's puzzle space is tiny, so [`heldout_tasks`] also drops
//! duplicate puzzles within a set and any puzzle listed in `exclude` (e.g.
//! the validation puzzles when building the test set). Every model of a run
//! is evaluated on the same tasks, which makes the oracle ensemble and the
//! comparisons between models paired.

use std::collections::HashSet;

use metaalign_core::seed::{derive_seed, item_rng};
use metaalign_core::{Error, Level, Result, Task, TaskGenerator};

/// Which split a set is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The test set reports are computed on.
    Test,
    /// The validation set merge-weight search picks weights on.
    Validation,
}

impl Split {
    pub fn label(self) -> &'static str {
        match self {
            Split::Test => "heldout",
            Split::Validation => "validation",
        }
    }
}

/// The seed of one split of one task source at one level.
pub fn split_seed(run_seed: u64, split: Split, source: &str, level: Level) -> u64 {
    derive_seed(
        run_seed,
        &format!("{}/{source}/L{}", split.label(), level.0),
    )
}

/// `count` distinct tasks of `level` from `generator`, drawn from the split's
/// own stream. Puzzles in `exclude` and repeats are skipped; gives up with
/// a clear error when the level cannot supply that many distinct puzzles.
pub fn heldout_tasks(
    generator: &dyn TaskGenerator,
    source: &str,
    level: Level,
    count: usize,
    run_seed: u64,
    split: Split,
    exclude: &HashSet<String>,
) -> Result<Vec<Task>> {
    if !generator.levels().contains(&level) {
        return Err(Error::config(format!(
            "task source `{source}` ({}) has no level {level}; its levels are {}",
            generator.kind(),
            generator
                .levels()
                .iter()
                .map(|l| l.0.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let seed = split_seed(run_seed, split, source, level);
    let mut seen: HashSet<String> = HashSet::new();
    let mut tasks = Vec::with_capacity(count);
    let max_draws = count.saturating_mul(20).max(100) as u64;
    let mut index = 0u64;
    while tasks.len() < count {
        if index >= max_draws {
            return Err(Error::data(format!(
                "task source `{source}` level {level}: only {} distinct {} puzzles in {max_draws} draws, {count} wanted",
                tasks.len(),
                split.label()
            )));
        }
        let mut rng = item_rng(seed, "task", index);
        let mut task = generator.generate(level, index, &mut rng)?;
        index += 1;
        if exclude.contains(&task.puzzle) || !seen.insert(task.puzzle.clone()) {
            continue;
        }
        task.id = format!("{}-{}-{}", split.label(), task.id, tasks.len());
        tasks.push(task);
    }
    Ok(tasks)
}
