//! A fixed list of tasks read from a file: what a file-backed task kind
//! (`math`, `choice`, a plugin's benchmark) serves instead of generating.
//!
//! Evaluation scores the whole list in file order
//! ([`metaalign_core::TaskGenerator::fixed_tasks`]); trainers draw from it
//! uniformly within a level, through the same holdout filter as generated
//! puzzles.

use std::collections::{BTreeMap, HashMap};

use metaalign_core::seed::{derive_seed, Rng};
use metaalign_core::{Error, Level, Result, Task};
use rand::Rng as _;

use super::records::Location;

/// Tasks of one file, with their levels.
#[derive(Clone, Debug, Default)]
pub struct TaskList {
    /// What the tasks came from, for messages (a path, or "the built-in sample").
    origin: String,
    tasks: Vec<Task>,
    by_level: BTreeMap<Level, Vec<usize>>,
}

impl TaskList {
    /// Checks that there is at least one task and that ids are unique,
    /// naming both places of a duplicate.
    pub fn new(origin: impl Into<String>, rows: Vec<(Location, Task)>) -> Result<Self> {
        let origin = origin.into();
        if rows.is_empty() {
            return Err(Error::data(format!("{origin}: holds no tasks")));
        }
        let mut seen: HashMap<&str, &Location> = HashMap::with_capacity(rows.len());
        for (at, task) in &rows {
            if let Some(first) = seen.insert(task.id.as_str(), at) {
                return Err(Error::data(format!(
                    "{at}: duplicate id `{}` (first at {first})",
                    task.id
                )));
            }
        }
        let tasks: Vec<Task> = rows.into_iter().map(|(_, t)| t).collect();
        let mut by_level: BTreeMap<Level, Vec<usize>> = BTreeMap::new();
        for (i, t) in tasks.iter().enumerate() {
            by_level.entry(t.level).or_default().push(i);
        }
        Ok(Self {
            origin,
            tasks,
            by_level,
        })
    }

    /// What the tasks came from (a path, or "the built-in sample").
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every task, in file order.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The levels present, lowest first.
    pub fn levels(&self) -> Vec<Level> {
        self.by_level.keys().copied().collect()
    }

    /// A task of `level`, drawn uniformly with `rng`.
    pub fn draw(&self, level: Level, rng: &mut Rng) -> Result<Task> {
        let Some(indices) = self.by_level.get(&level) else {
            return Err(Error::config(format!(
                "{}: no task of level {level} (levels: {})",
                self.origin,
                self.levels()
                    .iter()
                    .map(|l| l.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        Ok(self.tasks[indices[rng.random_range(0..indices.len())]].clone())
    }
}

/// A stable id for a row that has none: `<prefix>-<16 hex digits>` of a
/// keyed hash of the problem text, the same on every machine and run.
pub fn stable_task_id(prefix: &str, text: &str) -> String {
    format!("{prefix}-{:016x}", derive_seed(0x6669_6c65_7461_736b, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metaalign_core::{Ability, ChatMessage};

    fn task(id: &str, level: u32) -> Task {
        Task {
            id: id.into(),
            kind: "t".into(),
            ability: Ability::Domain("t".into()),
            level: Level(level),
            puzzle: id.into(),
            prompt: vec![ChatMessage::new("user", id)],
            templated: false,
            answer: "1".into(),
            ground_truth: serde_json::json!({}),
            rationale: None,
        }
    }

    fn at(n: usize) -> Location {
        Location {
            path: "f.jsonl".into(),
            number: n,
            unit: "line",
        }
    }

    #[test]
    fn levels_draws_and_duplicates() {
        let list = TaskList::new(
            "f.jsonl",
            vec![
                (at(1), task("a", 2)),
                (at(2), task("b", 1)),
                (at(3), task("c", 2)),
            ],
        )
        .unwrap();
        assert_eq!(list.levels(), vec![Level(1), Level(2)]);
        let mut rng = metaalign_core::seed::item_rng(1, "t", 0);
        for _ in 0..20 {
            assert_eq!(list.draw(Level(1), &mut rng).unwrap().id, "b");
            assert_eq!(list.draw(Level(2), &mut rng).unwrap().level, Level(2));
        }
        let e = list.draw(Level(3), &mut rng).unwrap_err().to_string();
        assert!(
            e.contains("no task of level 3") && e.contains("1, 2"),
            "{e}"
        );
        let e = TaskList::new(
            "f.jsonl",
            vec![(at(1), task("a", 1)), (at(4), task("a", 1))],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("f.jsonl:4: duplicate id `a` (first at f.jsonl:1)"),
            "{e}"
        );
        assert!(TaskList::new("f.jsonl", vec![]).is_err());
        assert_eq!(stable_task_id("math", "x"), stable_task_id("math", "x"));
        assert_ne!(stable_task_id("math", "x"), stable_task_id("math", "y"));
    }
}
