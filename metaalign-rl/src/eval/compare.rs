//! Paired comparisons of two models on the same held-out tasks.
//!
//! Every evaluated model answers the same tasks, so the difference in
//! greedy pass@1 is measured per task: `d_i` = correct(model) −
//! correct(baseline) ∈ {−1, 0, 1} over the tasks both answered (paired by
//! task id). The difference is the mean of the `d_i`, its standard error
//! the sample standard deviation of the `d_i` (n − 1 denominator) over
//! √n. Pairing removes the variance the two models share (easy and hard
//! tasks), so it is much tighter than comparing two independent accuracies.
//!
//! A comparison over several tasks also gets a `"mean"` row: the mean of
//! the per-task differences, with standard error `√(Σ se²) / A` over the
//! `A` tasks (the tasks are independent samples).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metrics::ModelResults;
use super::metrics::TaskResult;

/// The `task` of a row over several tasks.
pub const MEAN: &str = "mean";

/// A difference in accuracy (0–1 scale) with its standard error and the
/// number of paired tasks behind it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Mean accuracy difference, model − baseline.
    pub diff: f64,
    /// Standard error of `diff`.
    pub stderr: f64,
    /// Number of paired tasks.
    pub n: usize,
}

impl Paired {
    /// The difference in standard errors. When every task moved the same
    /// way (`stderr` = 0 over two or more tasks) it is ±∞; a difference of
    /// 0, or one task alone, is 0.
    pub fn z(&self) -> f64 {
        if self.stderr > 0.0 {
            self.diff / self.stderr
        } else if self.diff == 0.0 || self.n < 2 {
            0.0
        } else {
            f64::INFINITY.copysign(self.diff)
        }
    }
}

/// Mean and standard error of per-task differences (0 standard error for
/// fewer than two tasks, where the spread is unknown).
pub fn from_diffs(diffs: &[f64]) -> Paired {
    let n = diffs.len();
    if n == 0 {
        return Paired {
            diff: 0.0,
            stderr: 0.0,
            n: 0,
        };
    }
    let mean = diffs.iter().sum::<f64>() / n as f64;
    let stderr = if n < 2 {
        0.0
    } else {
        let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (var / n as f64).sqrt()
    };
    Paired {
        diff: mean,
        stderr,
        n,
    }
}

/// The paired difference in greedy pass@1 of `model` over `baseline`,
/// over the task ids both answered.
pub fn paired(model: &[TaskResult], baseline: &[TaskResult]) -> Paired {
    let base: BTreeMap<&str, bool> = baseline
        .iter()
        .map(|r| (r.task_id.as_str(), r.greedy.correct()))
        .collect();
    let diffs: Vec<f64> = model
        .iter()
        .filter_map(|r| {
            let b = *base.get(r.task_id.as_str())?;
            Some(f64::from(u8::from(r.greedy.correct())) - f64::from(u8::from(b)))
        })
        .collect();
    from_diffs(&diffs)
}

/// The mean of per-task comparisons: mean difference, standard error
/// `√(Σ se²) / A`, `n` the paired tasks in all.
pub fn mean_of(parts: &[Paired]) -> Paired {
    let a = parts.len();
    if a == 0 {
        return from_diffs(&[]);
    }
    Paired {
        diff: parts.iter().map(|p| p.diff).sum::<f64>() / a as f64,
        stderr: parts.iter().map(|p| p.stderr.powi(2)).sum::<f64>().sqrt() / a as f64,
        n: parts.iter().map(|p| p.n).sum(),
    }
}

/// One row of `report.json`'s `comparisons`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The model whose accuracy is compared.
    pub model: String,
    /// The model it is compared against.
    pub baseline: String,
    /// A task source name, or `"mean"` for the mean over `over`.
    pub task: String,
    /// accuracy(model) − accuracy(baseline) on the paired tasks, 0–1 scale.
    pub diff: f64,
    /// Standard error of `diff`.
    pub stderr: f64,
    /// Paired tasks.
    pub n: usize,
    /// The task is the model's own ability (a specialist on what it was
    /// trained for).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own: bool,
    /// The tasks a `"mean"` row averages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub over: Vec<String>,
}

impl Comparison {
    /// The row's difference, standard error and count as a [`Paired`].
    pub fn paired(&self) -> Paired {
        Paired {
            diff: self.diff,
            stderr: self.stderr,
            n: self.n,
        }
    }
}

/// A comparison to compute: `model` against `baseline` on `tasks`;
/// `own` names the model's own ability, if it has one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Planned {
    pub model: String,
    pub baseline: String,
    pub tasks: Vec<String>,
    pub own: Option<String>,
}

/// The rows of the planned comparisons: one per task, plus a `"mean"` row
/// for a comparison over several tasks. Tasks neither model answered are
/// left out (with a warning), and then there is no mean row, which would
/// average over a different set of tasks than asked. A row computed
/// already (the same model, baseline, task and mean tasks) is not repeated.
pub(crate) fn rows(models: &[(String, ModelResults)], planned: &[Planned]) -> Vec<Comparison> {
    fn results<'a>(
        models: &'a [(String, ModelResults)],
        model: &str,
        task: &str,
    ) -> &'a [TaskResult] {
        models
            .iter()
            .find(|(n, _)| n == model)
            .and_then(|(_, r)| r.get(task))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    let mut out: Vec<Comparison> = Vec::new();
    let mut push = |row: Comparison| {
        let same = |r: &Comparison| {
            r.model == row.model
                && r.baseline == row.baseline
                && r.task == row.task
                && r.over == row.over
        };
        if !out.iter().any(same) {
            out.push(row);
        }
    };
    for p in planned {
        let mut parts = Vec::new();
        for task in &p.tasks {
            let d = paired(
                results(models, &p.model, task),
                results(models, &p.baseline, task),
            );
            if d.n == 0 {
                tracing::warn!(
                    "comparison {} vs {} on {task}: no task answered by both; left out",
                    p.model,
                    p.baseline
                );
                continue;
            }
            parts.push(d);
            push(row(p, task, d, Vec::new()));
        }
        if p.tasks.len() > 1 && parts.len() == p.tasks.len() {
            push(row(p, MEAN, mean_of(&parts), p.tasks.clone()));
        }
    }
    out
}

fn row(p: &Planned, task: &str, d: Paired, over: Vec<String>) -> Comparison {
    Comparison {
        model: p.model.clone(),
        baseline: p.baseline.clone(),
        task: task.to_string(),
        diff: d.diff,
        stderr: d.stderr,
        n: d.n,
        own: p.own.as_deref() == Some(task),
        over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn tr(id: &str, correct: bool) -> TaskResult {
        TaskResult::greedy_only(id, "t", 1, correct)
    }

    #[test]
    fn paired_difference_and_its_standard_error_by_hand() {
        // d = [1, 0, 0, -1, 1]: mean 0.2; deviations 0.8, -0.2, -0.2, -1.2,
        // 0.8; squares sum 0.64 + 0.04 + 0.04 + 1.44 + 0.64 = 2.8; sample
        // variance 2.8 / 4 = 0.7; se = sqrt(0.7 / 5) = sqrt(0.14).
        let p = from_diffs(&[1.0, 0.0, 0.0, -1.0, 1.0]);
        assert_eq!(p.n, 5);
        assert!(close(p.diff, 0.2), "{p:?}");
        assert!(close(p.stderr, 0.14f64.sqrt()), "{p:?}");
        assert!(close(p.z(), 0.2 / 0.14f64.sqrt()));
        // one task: no spread to estimate
        assert_eq!(from_diffs(&[1.0]).stderr, 0.0);
        assert_eq!(from_diffs(&[1.0]).z(), 0.0);
        assert_eq!(from_diffs(&[]).n, 0);
        // every task moved the same way
        assert_eq!(from_diffs(&[-1.0, -1.0]).z(), f64::NEG_INFINITY);
        assert_eq!(from_diffs(&[0.0, 0.0]).z(), 0.0);
    }

    #[test]
    fn pairs_by_task_id_over_the_tasks_both_answered() {
        // The same d as above, in a different order on each side, plus a task
        // only the model answered (left out).
        let model = vec![
            tr("a", true),
            tr("b", true),
            tr("c", false),
            tr("d", false),
            tr("e", true),
            tr("only-model", true),
        ];
        let base = vec![
            tr("e", false),
            tr("d", true),
            tr("c", false),
            tr("b", true),
            tr("a", false),
        ];
        let p = paired(&model, &base);
        assert_eq!(p.n, 5);
        assert!(close(p.diff, 0.2), "{p:?}");
        assert!(close(p.stderr, 0.14f64.sqrt()), "{p:?}");
        // the other way round: the same size, opposite sign
        let q = paired(&base, &model);
        assert!(close(q.diff, -0.2) && close(q.stderr, p.stderr));
    }

    #[test]
    fn mean_over_tasks_by_hand() {
        let a = Paired {
            diff: 0.1,
            stderr: 0.03,
            n: 100,
        };
        let b = Paired {
            diff: -0.05,
            stderr: 0.04,
            n: 50,
        };
        let m = mean_of(&[a, b]);
        assert!(close(m.diff, 0.025));
        // sqrt(0.03² + 0.04²) / 2 = 0.05 / 2
        assert!(close(m.stderr, 0.025));
        assert_eq!(m.n, 150);
    }

    #[test]
    fn rows_per_task_then_the_mean_without_repeats() {
        let results = |bits: [bool; 4]| -> ModelResults {
            ["x", "y"]
                .iter()
                .map(|t| {
                    let rs = bits
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| tr(&format!("{t}{i}"), c))
                        .collect();
                    (t.to_string(), rs)
                })
                .collect()
        };
        let models = vec![
            ("m".to_string(), results([true, true, false, true])),
            ("b".to_string(), results([false, true, false, false])),
        ];
        let plan = Planned {
            model: "m".into(),
            baseline: "b".into(),
            tasks: vec!["x".into(), "y".into()],
            own: Some("y".into()),
        };
        let out = rows(&models, &[plan.clone(), plan]);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!((out[0].task.as_str(), out[0].own), ("x", false));
        assert_eq!((out[1].task.as_str(), out[1].own), ("y", true));
        // d = [1, 0, 0, 1]: mean 0.5, sample variance 1/3, se = sqrt(1/12)
        assert!(close(out[0].diff, 0.5) && close(out[0].stderr, (1.0f64 / 12.0).sqrt()));
        assert_eq!(out[2].task, MEAN);
        assert_eq!(out[2].over, ["x", "y"]);
        assert_eq!(out[2].n, 8);
        assert!(close(out[2].diff, 0.5));
        assert!(close(out[2].stderr, (2.0 / 12.0f64).sqrt() / 2.0));
        // a task the baseline never answered: no row, and no mean
        let plan = Planned {
            model: "m".into(),
            baseline: "b".into(),
            tasks: vec!["x".into(), "z".into()],
            own: None,
        };
        let out = rows(&models, &[plan]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].task, "x");
    }
}
