//! Parallel, deterministic dataset generation.
//!
//! Item `i` of a dataset of `kind` at `level` under `seed` is generated
//! from its own RNG stream, `item_rng(seed, "<kind>/level-<L>", i)`, so the
//! output is byte-identical whatever the number of threads.

use metaalign_core::seed::item_rng;
use metaalign_core::{Error, Level, Result, Task, TaskGenerator};
use rayon::prelude::*;

/// The RNG stream label of a kind and level (`"deduction/level-2"`).
pub fn stream_label(kind: &str, level: Level) -> String {
    format!("{kind}/level-{}", level.0)
}

/// Generates `count` tasks of one level, in index order, on rayon's
/// current pool.
pub fn generate_tasks(
    generator: &dyn TaskGenerator,
    level: Level,
    count: usize,
    seed: u64,
) -> Result<Vec<Task>> {
    generate_range(generator, level, 0..count as u64, seed)
}

/// Generates the tasks of indices `range` (for datasets extended later or
/// generated in chunks: the same index always gives the same task).
pub fn generate_range(
    generator: &dyn TaskGenerator,
    level: Level,
    range: std::ops::Range<u64>,
    seed: u64,
) -> Result<Vec<Task>> {
    let supported = generator.levels();
    if !supported.is_empty() && !supported.contains(&level) && level < supported[0] {
        return Err(Error::config(format!(
            "task kind `{}` has no level {level} (its levels start at {})",
            generator.kind(),
            supported[0]
        )));
    }
    let label = stream_label(generator.kind(), level);
    range
        .into_par_iter()
        .map(|i| {
            let mut rng = item_rng(seed, &label, i);
            generator.generate(level, i, &mut rng)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use metaalign_core::seed::Rng;
    use metaalign_core::{Ability, ChatMessage, Outcome, Solution, Verdict, Verifier};
    use rand::Rng as _;

    use super::*;

    /// A toy kind whose task is a function of its RNG stream, and whose
    /// generation time varies (so threads finish out of order).
    struct Toy;

    struct ToyVerifier;
    impl Verifier for ToyVerifier {
        fn verify(&self, _: &Task, _: &str) -> Verdict {
            Verdict {
                format_ok: true,
                outcome: Outcome::Correct,
                parsed: None,
                details: Default::default(),
            }
        }
    }

    impl TaskGenerator for Toy {
        fn kind(&self) -> &str {
            "toy"
        }
        fn ability(&self) -> Ability {
            Ability::Domain("toy".into())
        }
        fn levels(&self) -> Vec<Level> {
            vec![Level(1), Level(2)]
        }
        fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
            let spins = rng.random_range(0..2000u32);
            let mut x = 0u64;
            for _ in 0..spins {
                x = x.wrapping_add(rng.random::<u64>());
            }
            Ok(Task {
                id: format!("toy-L{}-{index}", level.0),
                kind: "toy".into(),
                ability: self.ability(),
                level,
                puzzle: format!("{x}"),
                prompt: vec![ChatMessage::new("user", format!("{x}?"))],
                templated: false,
                answer: format!("{}", x % 7),
                ground_truth: serde_json::json!({ "x": x }),
                rationale: None,
            })
        }
        fn verifier(&self) -> Arc<dyn Verifier> {
            Arc::new(ToyVerifier)
        }
        fn solve(&self, task: &Task) -> Result<Solution> {
            Ok(Solution {
                answer: task.answer.clone(),
                rationale: None,
            })
        }
    }

    fn bytes(tasks: &[Task]) -> Vec<u8> {
        tasks
            .iter()
            .flat_map(|t| {
                let mut l = serde_json::to_vec(t).unwrap();
                l.push(b'\n');
                l
            })
            .collect()
    }

    #[test]
    fn output_does_not_depend_on_thread_count() {
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let many = rayon::ThreadPoolBuilder::new()
            .num_threads(7)
            .build()
            .unwrap();
        let a = one.install(|| generate_tasks(&Toy, Level(2), 300, 42).unwrap());
        let b = many.install(|| generate_tasks(&Toy, Level(2), 300, 42).unwrap());
        assert_eq!(bytes(&a), bytes(&b));
        assert_eq!(a.len(), 300);
        // Different seeds and levels give different streams.
        let c = generate_tasks(&Toy, Level(2), 300, 43).unwrap();
        assert_ne!(bytes(&a), bytes(&c));
        let d = generate_tasks(&Toy, Level(1), 300, 42).unwrap();
        assert_ne!(a[0].puzzle, d[0].puzzle);
        // A range is the matching slice of the whole.
        let r = generate_range(&Toy, Level(2), 100..150, 42).unwrap();
        assert_eq!(bytes(&r), bytes(&a[100..150]));
    }
}
