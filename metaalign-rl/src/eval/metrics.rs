//! Pure evaluation metrics over verdicts.
//!
//! Everything here is a plain function of [`TaskResult`]s (one held-out task
//! answered by one model: a greedy response plus optional samples), so the
//! definitions can be checked on hand-made verdicts without any model:
//!
//! - **greedy pass@1**: fraction of tasks whose greedy (temperature 0)
//!   response is correct — the `accuracy` of every report row;
//! - **avg@k**: mean over tasks of the fraction of the `k` sampled responses
//!   that are correct (the paper's "Avg@k");
//! - **pass@k** (unbiased, Chen et al. 2021): from `n >= k` samples of which
//!   `c` are correct, `1 - C(n-c, k) / C(n, k)`, averaged over tasks;
//! - **oracle ensemble**: a task counts as solved when any model of a set
//!   solves it (greedily);
//! - **format-ok rate** and **mean response length** (tokens) of the greedy
//!   responses.

use std::collections::{BTreeMap, BTreeSet};

use metaalign_core::{Error, Level, Result, Verdict};
use serde::{Deserialize, Serialize};

/// One response of a model to a task, as verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleResult {
    /// The verifier's verdict on the response.
    pub verdict: Verdict,
    /// Number of generated tokens.
    pub length: usize,
}

impl SampleResult {
    /// A verdict on a response of `length` tokens.
    pub fn new(verdict: Verdict, length: usize) -> Self {
        Self { verdict, length }
    }

    /// Whether the verdict is correct.
    pub fn correct(&self) -> bool {
        self.verdict.is_correct()
    }
}

/// Results of one model: by task source name, all its task results.
pub type ModelResults = BTreeMap<String, Vec<TaskResult>>;

/// One held-out task answered by one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// The task's id.
    pub task_id: String,
    /// The task source name (as in `[tasks.NAME]`).
    pub task: String,
    /// The task's difficulty level.
    pub level: Level,
    /// The greedy response.
    pub greedy: SampleResult,
    /// Sampled responses (empty when avg@k is off).
    #[serde(default)]
    pub samples: Vec<SampleResult>,
}

#[cfg(test)]
impl TaskResult {
    /// A greedy-only result (5 tokens, format ok) for tests of what is
    /// built on results.
    pub(crate) fn greedy_only(id: &str, task: &str, level: u32, correct: bool) -> Self {
        let outcome = if correct {
            metaalign_core::Outcome::Correct
        } else {
            metaalign_core::Outcome::Wrong
        };
        let verdict = Verdict {
            format_ok: true,
            outcome,
            parsed: None,
            details: Default::default(),
        };
        TaskResult {
            task_id: id.into(),
            task: task.into(),
            level: Level(level),
            greedy: SampleResult::new(verdict, 5),
            samples: vec![],
        }
    }
}

/// Metrics of one set of task results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of tasks.
    pub count: usize,
    /// Greedy pass@1, 0–1.
    pub accuracy: f64,
    /// Fraction of greedy responses with a well-formed `<think>`/`<answer>` structure.
    pub format_ok: f64,
    /// Fraction of greedy responses whose answer could not be read.
    pub unparseable: f64,
    /// Mean greedy response length in tokens.
    pub mean_length: f64,
    /// Samples per task (the smallest over tasks), when sampling was on.
    pub k: Option<usize>,
    /// avg@k over the sampled responses.
    pub avg_at_k: Option<f64>,
    /// Unbiased pass@k over the sampled responses.
    pub pass_at_k: Option<f64>,
}

/// Greedy pass@1: the fraction of tasks whose greedy response is correct
/// (0 for no tasks).
pub fn greedy_pass_at_1(results: &[TaskResult]) -> f64 {
    mean(
        results
            .iter()
            .map(|r| f64::from(u8::from(r.greedy.correct()))),
    )
}

/// avg@k: mean over tasks of the fraction of sampled responses that are
/// correct. `None` when no task has samples. Tasks without samples are an
/// error in the caller's bookkeeping and are skipped.
pub fn avg_at_k(results: &[TaskResult]) -> Option<f64> {
    let per_task: Vec<f64> = results
        .iter()
        .filter(|r| !r.samples.is_empty())
        .map(|r| {
            let c = r.samples.iter().filter(|s| s.correct()).count();
            c as f64 / r.samples.len() as f64
        })
        .collect();
    if per_task.is_empty() {
        None
    } else {
        Some(mean(per_task.into_iter()))
    }
}

/// The unbiased pass@k estimator for one task: `n` samples, `c` correct.
/// `1 - C(n-c, k)/C(n, k)`, computed as a stable product. Errors when
/// `k == 0`, `k > n` or `c > n`.
pub fn pass_at_k_unbiased(n: usize, c: usize, k: usize) -> Result<f64> {
    if k == 0 || k > n {
        return Err(Error::data(format!(
            "pass@k needs 1 <= k <= n samples, got k = {k}, n = {n}"
        )));
    }
    if c > n {
        return Err(Error::data(format!(
            "pass@k: {c} correct out of {n} samples is impossible"
        )));
    }
    if n - c < k {
        return Ok(1.0);
    }
    // C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)
    let mut fail = 1.0f64;
    for i in (n - c + 1)..=n {
        fail *= 1.0 - k as f64 / i as f64;
    }
    Ok(1.0 - fail)
}

/// Mean unbiased pass@k over tasks with samples (`k` at most the number of
/// samples of every task). `None` when no task has samples.
pub fn pass_at_k(results: &[TaskResult], k: usize) -> Result<Option<f64>> {
    let mut values = Vec::new();
    for r in results.iter().filter(|r| !r.samples.is_empty()) {
        let c = r.samples.iter().filter(|s| s.correct()).count();
        values.push(pass_at_k_unbiased(r.samples.len(), c, k)?);
    }
    Ok(if values.is_empty() {
        None
    } else {
        Some(mean(values.into_iter()))
    })
}

/// Fraction of greedy responses whose format is right.
pub fn format_ok_rate(results: &[TaskResult]) -> f64 {
    mean(
        results
            .iter()
            .map(|r| f64::from(u8::from(r.greedy.verdict.format_ok))),
    )
}

/// Mean greedy response length in tokens.
pub fn mean_length(results: &[TaskResult]) -> f64 {
    mean(results.iter().map(|r| r.greedy.length as f64))
}

/// All metrics of a set of results. pass@k uses `k` = the smallest number
/// of samples over tasks (so every task has enough).
pub fn summarize(results: &[TaskResult]) -> Metrics {
    let k = results
        .iter()
        .map(|r| r.samples.len())
        .filter(|&n| n > 0)
        .min();
    let pass_at_k = k.and_then(|k| pass_at_k(results, k).ok().flatten());
    Metrics {
        count: results.len(),
        accuracy: greedy_pass_at_1(results),
        format_ok: format_ok_rate(results),
        unparseable: mean(results.iter().map(|r| {
            f64::from(u8::from(
                r.greedy.verdict.outcome == metaalign_core::Outcome::Unparseable,
            ))
        })),
        mean_length: mean_length(results),
        k,
        avg_at_k: avg_at_k(results),
        pass_at_k,
    }
}

/// The oracle ensemble of several models: for each task id, whether any
/// model solved it greedily. Every model must have answered the same set of
/// tasks (the error names the first difference).
pub fn oracle(models: &[(&str, &[TaskResult])]) -> Result<BTreeMap<String, bool>> {
    let Some((first_name, first)) = models.first() else {
        return Err(Error::config(
            "the oracle ensemble needs at least one model",
        ));
    };
    let ids: BTreeSet<&str> = first.iter().map(|r| r.task_id.as_str()).collect();
    let mut solved: BTreeMap<String, bool> = ids.iter().map(|id| (id.to_string(), false)).collect();
    for (name, results) in models {
        let these: BTreeSet<&str> = results.iter().map(|r| r.task_id.as_str()).collect();
        if these != ids {
            let missing = ids
                .symmetric_difference(&these)
                .next()
                .copied()
                .unwrap_or("");
            return Err(Error::data(format!(
                "oracle ensemble: models `{first_name}` and `{name}` were evaluated on different tasks (e.g. `{missing}`)"
            )));
        }
        for r in results.iter() {
            if r.greedy.correct() {
                solved.insert(r.task_id.clone(), true);
            }
        }
    }
    Ok(solved)
}

/// Oracle accuracy: the fraction of tasks some model of the set solves.
pub fn oracle_accuracy(models: &[(&str, &[TaskResult])]) -> Result<f64> {
    let solved = oracle(models)?;
    Ok(mean(solved.values().map(|&s| f64::from(u8::from(s)))))
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metaalign_core::Outcome;

    fn verdict(outcome: Outcome, format_ok: bool) -> Verdict {
        Verdict {
            format_ok,
            outcome,
            parsed: None,
            details: Default::default(),
        }
    }

    fn sample(correct: bool, len: usize) -> SampleResult {
        let outcome = if correct {
            Outcome::Correct
        } else {
            Outcome::Wrong
        };
        SampleResult::new(verdict(outcome, true), len)
    }

    fn task(id: &str, greedy: bool, samples: &[bool]) -> TaskResult {
        TaskResult {
            task_id: id.into(),
            task: "deduction".into(),
            level: Level(1),
            greedy: sample(greedy, 10),
            samples: samples.iter().map(|&c| sample(c, 12)).collect(),
        }
    }

    #[test]
    fn greedy_pass_at_1_counts_correct_greedy_responses() {
        let rs = vec![
            task("a", true, &[]),
            task("b", false, &[]),
            task("c", true, &[]),
            task("d", false, &[]),
        ];
        assert_eq!(greedy_pass_at_1(&rs), 0.5);
        assert_eq!(greedy_pass_at_1(&[]), 0.0);
    }

    #[test]
    fn avg_at_k_is_the_mean_per_task_sample_accuracy() {
        // task a: 3/4, task b: 1/4, task c: 0/4 -> (0.75 + 0.25 + 0) / 3
        let rs = vec![
            task("a", false, &[true, true, true, false]),
            task("b", false, &[false, true, false, false]),
            task("c", true, &[false, false, false, false]),
        ];
        let v = avg_at_k(&rs).unwrap();
        assert!((v - 1.0 / 3.0).abs() < 1e-12, "{v}");
        assert_eq!(avg_at_k(&[task("x", true, &[])]), None);
    }

    #[test]
    fn unbiased_pass_at_k_matches_hand_computed_values() {
        // n=4, c=1, k=1: 1/4
        assert!((pass_at_k_unbiased(4, 1, 1).unwrap() - 0.25).abs() < 1e-12);
        // n=4, c=1, k=2: 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5
        assert!((pass_at_k_unbiased(4, 1, 2).unwrap() - 0.5).abs() < 1e-12);
        // n=5, c=2, k=3: 1 - C(3,3)/C(5,3) = 1 - 1/10
        assert!((pass_at_k_unbiased(5, 2, 3).unwrap() - 0.9).abs() < 1e-12);
        // n - c < k: certain
        assert_eq!(pass_at_k_unbiased(4, 3, 2).unwrap(), 1.0);
        assert_eq!(pass_at_k_unbiased(4, 0, 4).unwrap(), 0.0);
        assert!(pass_at_k_unbiased(4, 1, 5).is_err());
        assert!(pass_at_k_unbiased(4, 1, 0).is_err());
        assert!(pass_at_k_unbiased(4, 5, 1).is_err());
        // pass@1 from samples equals avg@k
        let rs = vec![
            task("a", false, &[true, true, true, false]),
            task("b", false, &[false, true, false, false]),
        ];
        let p1 = pass_at_k(&rs, 1).unwrap().unwrap();
        assert!((p1 - avg_at_k(&rs).unwrap()).abs() < 1e-12);
        // pass@4 = fraction of tasks with any correct sample
        assert_eq!(pass_at_k(&rs, 4).unwrap(), Some(1.0));
    }

    #[test]
    fn oracle_counts_a_task_solved_if_any_model_solves_it() {
        let a = vec![
            task("t1", true, &[]),
            task("t2", false, &[]),
            task("t3", false, &[]),
        ];
        let b = vec![
            task("t1", false, &[]),
            task("t2", true, &[]),
            task("t3", false, &[]),
        ];
        let c = vec![
            task("t1", true, &[]),
            task("t2", false, &[]),
            task("t3", false, &[]),
        ];
        let solved = oracle(&[("a", &a), ("b", &b), ("c", &c)]).unwrap();
        assert!(solved["t1"]);
        assert!(solved["t2"]);
        assert!(!solved["t3"]);
        let acc = oracle_accuracy(&[("a", &a), ("b", &b), ("c", &c)]).unwrap();
        assert!((acc - 2.0 / 3.0).abs() < 1e-12);
        // the oracle is at least as good as its best member
        assert!(acc >= greedy_pass_at_1(&a).max(greedy_pass_at_1(&b)));
        // different task sets are refused, naming the models
        let d = vec![
            task("t1", true, &[]),
            task("t9", false, &[]),
            task("t3", false, &[]),
        ];
        let err = oracle(&[("a", &a), ("d", &d)]).unwrap_err().to_string();
        assert!(err.contains("`a`") && err.contains("`d`"), "{err}");
        assert!(oracle(&[]).is_err());
    }

    #[test]
    fn format_rate_length_and_summary() {
        let mut rs = vec![
            task("a", true, &[true, false]),
            task("b", false, &[false, false]),
        ];
        rs[1].greedy = SampleResult::new(verdict(Outcome::Unparseable, false), 30);
        assert_eq!(format_ok_rate(&rs), 0.5);
        assert_eq!(mean_length(&rs), 20.0);
        let m = summarize(&rs);
        assert_eq!(m.count, 2);
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.unparseable, 0.5);
        assert_eq!(m.k, Some(2));
        assert_eq!(m.avg_at_k, Some(0.25));
        assert_eq!(m.pass_at_k, Some(0.5));
    }
}
