//! Held-out test (and validation) sets.
//!
//! Held-out tasks come from their own part of each level's puzzle space
//! ([`HoldOut`]: a fixed hash of the puzzle text), which trainers never
//! draw from, and from their own seed stream:
//! `derive_seed(seed, "heldout/<source>/L<level>")` (validation sets, used
//! by merge-weight search, use the label `"validation/..."` and their own
//! part). A set holds distinct puzzles; a smaller set is a prefix of a larger
//! one with the same seed, so changing `count` never changes which kind of
//! puzzle a set holds. Every model of a run is evaluated on the same tasks,
//! which makes the oracle ensemble and the comparisons between models paired.

use std::collections::HashSet;

use metaalign_core::seed::{derive_seed, item_rng};
use metaalign_core::{Error, HoldOut, Level, Part, Result, Task, TaskGenerator};
use serde::{Deserialize, Serialize};

/// Which split a set is (`split = "test"` or `"validation"` in an
/// `evaluate` stage).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The test set reports are computed on.
    #[default]
    Test,
    /// The validation set settings are chosen on (merge-weight search,
    /// sweeps).
    Validation,
}

impl Split {
    /// The split's name in configs: `split = "…"` and `[run] holdout.…`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Validation => "validation",
        }
    }

    /// The prefix of the split's seed stream and task ids (`heldout` for
    /// test sets, kept so existing seeds and ids do not change).
    pub fn label(self) -> &'static str {
        match self {
            Split::Test => "heldout",
            Split::Validation => "validation",
        }
    }

    pub(crate) fn is_test(&self) -> bool {
        *self == Split::Test
    }

    /// The part of the puzzle space the split draws from.
    pub fn part(self) -> Part {
        match self {
            Split::Test => Part::Test,
            Split::Validation => Part::Validation,
        }
    }
}

/// The seed of one split of one task source at one level.
pub fn split_seed(seed: u64, split: Split, source: &str, level: Level) -> u64 {
    derive_seed(seed, &format!("{}/{source}/L{}", split.label(), level.0))
}

/// `count` distinct tasks of `level` from `generator`, drawn from the split's
/// own stream and kept only when `holdout` puts the puzzle in the split's
/// part. Gives up with a clear error when the part cannot supply that many
/// distinct puzzles.
pub fn heldout_tasks(
    generator: &dyn TaskGenerator,
    source: &str,
    level: Level,
    count: usize,
    seed: u64,
    split: Split,
    holdout: &HoldOut,
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
    let share = holdout.share(split.part());
    if share <= 0.0 {
        return Err(Error::config(format!(
            "task source `{source}`: no {} set can be drawn, `[run] holdout.{}` is 0",
            split.label(),
            split.name()
        )));
    }
    let stream = split_seed(seed, split, source, level);
    let mut seen: HashSet<String> = HashSet::new();
    let mut tasks = Vec::with_capacity(count);
    // About 1/share draws land in the part; allow 20 per task kept.
    let max_draws = ((count.max(5) as f64 * 20.0) / share).ceil() as u64;
    let mut index = 0u64;
    while tasks.len() < count {
        if index >= max_draws {
            return Err(Error::data(format!(
                "task source `{source}` level {level}: only {} distinct {} puzzles in {max_draws} draws, {count} wanted \
                 (the {} part holds {:.0}% of this level's puzzles; raise its `[run] holdout` share or lower `count`)",
                tasks.len(),
                split.label(),
                split.label(),
                share * 100.0
            )));
        }
        let mut rng = item_rng(stream, "task", index);
        let mut task = generator.generate(level, index, &mut rng)?;
        index += 1;
        if holdout.part_of(&task.puzzle) != split.part() || !seen.insert(task.puzzle.clone()) {
            continue;
        }
        task.id = format!("{}-{}-{}", split.label(), task.id, tasks.len());
        tasks.push(task);
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use metaalign_tasks::induction::{InductionConfig, InductionGenerator};

    use super::*;
    use crate::trainer::common::draw_task;

    /// Level-1 induction within ±100: a space of about 2,150 puzzles, small
    /// enough for training to draw most of it many times over.
    fn tiny_space() -> Arc<dyn TaskGenerator> {
        Arc::new(
            InductionGenerator::new(InductionConfig {
                max_abs_value: 100,
                rationale: false,
                ..Default::default()
            })
            .unwrap(),
        )
    }

    const HOLDOUT: HoldOut = HoldOut {
        test: 0.3,
        validation: 0.2,
    };

    #[test]
    fn held_out_sets_are_disjoint_stable_under_count_and_never_trained_on() {
        let g = tiny_space();
        let draw = |count, split| {
            heldout_tasks(g.as_ref(), "induction", Level(1), count, 7, split, &HOLDOUT).unwrap()
        };
        let test = draw(300, Split::Test);
        let validation = draw(150, Split::Validation);
        let test_puzzles: HashSet<&str> = test.iter().map(|t| t.puzzle.as_str()).collect();
        assert_eq!(test_puzzles.len(), 300, "a set holds distinct puzzles");
        assert!(test
            .iter()
            .all(|t| HOLDOUT.part_of(&t.puzzle) == Part::Test));
        assert!(validation
            .iter()
            .all(|t| HOLDOUT.part_of(&t.puzzle) == Part::Validation
                && !test_puzzles.contains(t.puzzle.as_str())));
        // A smaller set is a prefix of a larger one: `count` does not change
        // which puzzles a set holds.
        let small = draw(120, Split::Test);
        for (a, b) in small.iter().zip(&test) {
            assert_eq!((&a.id, &a.puzzle), (&b.id, &b.puzzle));
        }
        // 4,000 training draws (about twice the puzzle space) never meet a
        // held-out puzzle, though they cover most of the training part.
        let sources = vec![("induction".to_string(), g.clone())];
        let validation_puzzles: HashSet<&str> =
            validation.iter().map(|t| t.puzzle.as_str()).collect();
        let mut trained: HashSet<String> = HashSet::new();
        for step in 0..125 {
            for p in 0..32 {
                let (_, task) = draw_task(&sources, 5, &HOLDOUT, Level(1), step, 32, p).unwrap();
                assert_eq!(HOLDOUT.part_of(&task.puzzle), Part::Train);
                assert!(!test_puzzles.contains(task.puzzle.as_str()));
                assert!(!validation_puzzles.contains(task.puzzle.as_str()));
                trained.insert(task.puzzle);
            }
        }
        assert!(
            trained.len() > 500,
            "{} distinct training puzzles",
            trained.len()
        );
    }

    #[test]
    fn a_part_too_small_for_the_count_is_named() {
        let g = tiny_space();
        let narrow = HoldOut {
            test: 0.02,
            validation: 0.0,
        };
        let e = heldout_tasks(
            g.as_ref(),
            "induction",
            Level(1),
            500,
            7,
            Split::Test,
            &narrow,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("distinct heldout puzzles") && e.contains("holdout"),
            "{e}"
        );
        let e = heldout_tasks(
            g.as_ref(),
            "induction",
            Level(1),
            5,
            7,
            Split::Validation,
            &narrow,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("holdout.validation` is 0"), "{e}");
        let all = HoldOut {
            test: 0.5,
            validation: 0.499_999_999,
        };
        let sources = vec![("induction".to_string(), g)];
        let e = draw_task(&sources, 5, &all, Level(1), 0, 1, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("were held out"), "{e}");
    }
}
