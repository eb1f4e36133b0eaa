//! `report.json` and `report.md`: the evaluation results as rows and as
//! tables in the paper's shape.
//!
//! `report.json` holds:
//! - `results`: rows `{"model", "task", "level", "accuracy", "n", ...}`:
//!   `accuracy` is greedy pass@1 in 0–1, `n` the number of tasks, `level`
//!   null for rows over all levels; the oracle ensemble is a row whose
//!   `model` is `"oracle"`. Further metrics (avg@k, pass@k, format-ok rate,
//!   mean length) are further fields. Reports written before `n` have
//!   `count`, which is still read.
//! - `comparisons`: paired differences `{"model", "baseline", "task",
//!   "diff", "stderr", "n"}` (see [`super::compare`]), `own` on a
//!   specialist's own ability, and `task = "mean"` rows with `over`;
//! - `claims`: the roles that chose the comparisons (see [`super::claims`]);
//! - `models`, `settings`, `tables` and free `extra` sections.
//!
//! `report.md` opens with the claims in words and the comparisons table
//! (see [`super::summary`]), then the tables of accuracies.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::claims::Claims;
use super::compare::Comparison;
use super::metrics::{self, Metrics, TaskResult};
use super::summary;

/// The model name of oracle-ensemble rows.
pub const ORACLE: &str = "oracle";

/// One row of `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Model name (or `"oracle"` for an oracle ensemble).
    pub model: String,
    /// Task source name.
    pub task: String,
    /// `None` for the row over all levels.
    pub level: Option<u32>,
    /// Greedy pass@1, 0–1.
    pub accuracy: f64,
    /// Number of tasks.
    #[serde(alias = "count")]
    pub n: usize,
    /// Fraction of greedy responses with a well-formed `<think>`/`<answer>` structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_ok: Option<f64>,
    /// Fraction of greedy responses whose answer could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparseable: Option<f64>,
    /// Mean greedy response length in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_length: Option<f64>,
    /// Samples per task behind `avg_at_k` and `pass_at_k`, when sampling was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// avg@k: mean fraction of correct samples per task, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_at_k: Option<f64>,
    /// Unbiased pass@k over the samples, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_at_k: Option<f64>,
    /// Members of an oracle ensemble.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
}

impl ReportRow {
    fn from_metrics(model: &str, task: &str, level: Option<u32>, m: &Metrics) -> Self {
        Self {
            model: model.to_string(),
            task: task.to_string(),
            level,
            accuracy: m.accuracy,
            n: m.count,
            format_ok: Some(m.format_ok),
            unparseable: Some(m.unparseable),
            mean_length: Some(m.mean_length),
            k: m.k,
            avg_at_k: m.avg_at_k,
            pass_at_k: m.pass_at_k,
            members: None,
        }
    }
}

/// A table of the markdown report: rows are models, columns tasks (the
/// paper's Table 1: benchmarks as columns, then their average).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Heading of the table in `report.md`.
    pub title: String,
    /// Model names in row order (`"oracle"` allowed).
    pub models: Vec<String>,
    /// Task source names in column order.
    pub tasks: Vec<String>,
    /// What the cells show (default greedy pass@1).
    #[serde(default, skip_serializing_if = "TableMetric::is_default")]
    pub metric: TableMetric,
    /// Per-column exceptions, e.g. `{ aime = "avg@k" }` (AIME is usually
    /// reported as avg@16 or avg@32).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metric_by_task: BTreeMap<String, TableMetric>,
}

impl TableSpec {
    /// A table of greedy pass@1.
    pub fn new(title: impl Into<String>, models: Vec<String>, tasks: Vec<String>) -> Self {
        Self {
            title: title.into(),
            models,
            tasks,
            metric: TableMetric::default(),
            metric_by_task: BTreeMap::new(),
        }
    }

    /// The metric of a column.
    pub fn metric_of(&self, task: &str) -> TableMetric {
        self.metric_by_task
            .get(task)
            .copied()
            .unwrap_or(self.metric)
    }
}

/// A table cell's metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableMetric {
    /// Greedy (or first-response) pass@1.
    #[default]
    #[serde(rename = "pass@1")]
    PassAt1,
    /// Mean accuracy over the k samples of each task.
    #[serde(rename = "avg@k")]
    AvgAtK,
    /// Unbiased pass@k over the k samples.
    #[serde(rename = "pass@k")]
    PassAtK,
}

impl TableMetric {
    pub(crate) fn is_default(&self) -> bool {
        *self == TableMetric::PassAt1
    }

    /// The value of a row, 0–1; `None` when the row lacks it (no samples).
    pub fn of(self, row: &ReportRow) -> Option<f64> {
        match self {
            TableMetric::PassAt1 => Some(row.accuracy),
            TableMetric::AvgAtK => row.avg_at_k,
            TableMetric::PassAtK => row.pass_at_k,
        }
    }

    /// A column suffix naming the metric when it is not pass@1.
    fn suffix(self, k: Option<usize>) -> String {
        let k = k.map_or("k".to_string(), |k| k.to_string());
        match self {
            TableMetric::PassAt1 => String::new(),
            TableMetric::AvgAtK => format!(" (avg@{k})"),
            TableMetric::PassAtK => format!(" (pass@{k})"),
        }
    }
}

/// Sampling settings recorded in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalSettings {
    /// Held-out tasks per generated source and level.
    pub count: usize,
    /// Levels evaluated.
    pub levels: Vec<u32>,
    /// Samples per task for avg@k / pass@k (0 = greedy only).
    pub avg_k: usize,
    /// Sampling temperature of the k samples (greedy responses use 0).
    pub temperature: f64,
    /// Nucleus threshold of the k samples.
    pub top_p: f64,
    /// Generation budget per response, in tokens.
    pub max_new_tokens: usize,
    /// Seed the held-out sets (and the sampling) derive from.
    pub seed: u64,
    /// Task sources that are fixed files (benchmarks), scored whole, with
    /// their number of tasks; `count` applies to the others.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixed: BTreeMap<String, usize>,
}

/// The whole evaluation report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Accuracy rows: per model, task source and level, and over all levels.
    pub results: Vec<ReportRow>,
    /// Model name -> the reference or path it was loaded from.
    pub models: BTreeMap<String, String>,
    /// How the responses were generated.
    pub settings: EvalSettings,
    /// Tables of `report.md`.
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    /// Paired comparisons of models on the same tasks.
    #[serde(default)]
    pub comparisons: Vec<Comparison>,
    /// The roles behind the claims summary, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// Extra sections (e.g. a merge-weight search) as free JSON.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

pub use super::metrics::ModelResults;

/// Builds the rows: per model, task and level, then per model and task over
/// all levels; then the oracle rows over `oracle` models (if any).
pub fn build_rows(models: &[(String, ModelResults)], oracle: &[String]) -> Result<Vec<ReportRow>> {
    let mut rows = Vec::new();
    for (name, by_task) in models {
        for (task, results) in by_task {
            for (level, rs) in by_level(results) {
                rows.push(ReportRow::from_metrics(
                    name,
                    task,
                    Some(level),
                    &metrics::summarize(&rs),
                ));
            }
            rows.push(ReportRow::from_metrics(
                name,
                task,
                None,
                &metrics::summarize(results),
            ));
        }
    }
    if !oracle.is_empty() {
        let members: Vec<(&str, &ModelResults)> = oracle
            .iter()
            .map(|m| {
                models
                    .iter()
                    .find(|(n, _)| n == m)
                    .map(|(n, r)| (n.as_str(), r))
                    .ok_or_else(|| {
                        Error::config(format!(
                            "oracle member `{m}` is not an evaluated model (models: {})",
                            models
                                .iter()
                                .map(|(n, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        let tasks: Vec<&String> = members[0].1.keys().collect();
        for task in tasks {
            let per_model: Vec<(&str, &[TaskResult])> = members
                .iter()
                .map(|(n, r)| {
                    (
                        *n,
                        r.get(task)
                            .map(|v| v.as_slice())
                            .unwrap_or(&[] as &[TaskResult]),
                    )
                })
                .collect();
            let all = per_model[0].1;
            let mut levels: Vec<u32> = all.iter().map(|r| r.level.0).collect();
            levels.sort_unstable();
            levels.dedup();
            for level in levels.into_iter().map(Some).chain([None]) {
                let filtered: Vec<(&str, Vec<TaskResult>)> = per_model
                    .iter()
                    .map(|(n, rs)| {
                        (
                            *n,
                            rs.iter()
                                .filter(|r| level.is_none_or(|l| r.level.0 == l))
                                .cloned()
                                .collect(),
                        )
                    })
                    .collect();
                let refs: Vec<(&str, &[TaskResult])> =
                    filtered.iter().map(|(n, v)| (*n, v.as_slice())).collect();
                let solved = metrics::oracle(&refs)?;
                let acc = if solved.is_empty() {
                    0.0
                } else {
                    solved.values().filter(|&&s| s).count() as f64 / solved.len() as f64
                };
                rows.push(ReportRow {
                    model: ORACLE.to_string(),
                    task: task.clone(),
                    level,
                    accuracy: acc,
                    n: solved.len(),
                    format_ok: None,
                    unparseable: None,
                    mean_length: None,
                    k: None,
                    avg_at_k: None,
                    pass_at_k: None,
                    members: Some(oracle.to_vec()),
                });
            }
        }
    }
    Ok(rows)
}

fn by_level(results: &[TaskResult]) -> BTreeMap<u32, Vec<TaskResult>> {
    let mut out: BTreeMap<u32, Vec<TaskResult>> = BTreeMap::new();
    for r in results {
        out.entry(r.level.0).or_default().push(r.clone());
    }
    out
}

impl Report {
    /// The row of a model, task and level (None = all levels).
    pub fn row(&self, model: &str, task: &str, level: Option<u32>) -> Option<&ReportRow> {
        self.results
            .iter()
            .find(|r| r.model == model && r.task == task && r.level == level)
    }

    /// Model names in row order of first appearance.
    pub fn model_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in &self.results {
            if !names.contains(&r.model) {
                names.push(r.model.clone());
            }
        }
        names
    }

    /// Task names in order of first appearance.
    pub fn task_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in &self.results {
            if !names.contains(&r.task) {
                names.push(r.task.clone());
            }
        }
        names
    }

    /// The tables to render: the configured ones, or one table of every
    /// model by every task.
    pub fn effective_tables(&self) -> Vec<TableSpec> {
        if self.tables.is_empty() {
            vec![TableSpec::new(
                "Greedy pass@1 (%) on held-out tasks",
                self.model_names(),
                self.task_names(),
            )]
        } else {
            self.tables.clone()
        }
    }

    /// Renders the markdown report: the claims summary, then the body.
    pub fn to_markdown(&self) -> String {
        match self.claims_markdown() {
            Some(claims) => format!("{claims}\n{}", self.body_markdown()),
            None => self.body_markdown(),
        }
    }

    /// The paper's claims in words, when `claims` is set.
    pub fn claims_markdown(&self) -> Option<String> {
        let claims = self.claims.as_ref()?;
        Some(summary::claims_summary(claims, &self.comparisons))
    }

    /// Everything but the claims: the comparisons table and the tables of
    /// accuracies.
    pub fn body_markdown(&self) -> String {
        let mut md = String::new();
        if !self.comparisons.is_empty() {
            md.push_str(&summary::comparisons_table(&self.comparisons));
            md.push('\n');
        }
        let s = &self.settings;
        let levels = s
            .levels
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let generated = self.results.iter().any(|r| !s.fixed.contains_key(&r.task));
        if generated || s.fixed.is_empty() {
            let _ = writeln!(
                md,
                "Held-out tasks: {} per task and level (levels {levels}), greedy decoding, up to {} new tokens.",
                s.count, s.max_new_tokens
            );
        }
        if !s.fixed.is_empty() {
            let files = s
                .fixed
                .iter()
                .map(|(name, n)| format!("{name} ({n})"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                md,
                "Benchmark files, every task scored: {files}; greedy decoding, up to {} new tokens.",
                s.max_new_tokens
            );
        }
        if s.avg_k > 0 {
            let _ = writeln!(
                md,
                "Sampled metrics: avg@{k} and pass@{k} from {k} samples per task at temperature {}, top-p {}.",
                s.temperature,
                s.top_p,
                k = s.avg_k
            );
        }
        md.push('\n');
        for table in self.effective_tables() {
            let _ = writeln!(md, "### {}\n", table.title);
            md.push_str(&self.table(&table));
            md.push('\n');
        }
        let _ = writeln!(md, "### Per level (greedy pass@1, %)\n");
        md.push_str(&self.level_table());
        md.push('\n');
        let _ = writeln!(md, "### Further metrics (all levels)\n");
        md.push_str(&self.metrics_table());
        md
    }

    /// Models × tasks, all-level greedy pass@1 in percent, plus the average.
    pub fn accuracy_table(&self, models: &[String], tasks: &[String]) -> String {
        self.table(&TableSpec::new("", models.to_vec(), tasks.to_vec()))
    }

    /// A table's models × tasks in percent (each column in its metric),
    /// plus the average over the columns.
    pub fn table(&self, spec: &TableSpec) -> String {
        let (models, tasks) = (&spec.models, &spec.tasks);
        let mut md = String::new();
        let _ = write!(md, "| Model |");
        for t in tasks {
            let k = self
                .results
                .iter()
                .find(|r| &r.task == t && r.level.is_none() && r.k.is_some())
                .and_then(|r| r.k);
            let _ = write!(md, " {t}{} |", spec.metric_of(t).suffix(k));
        }
        if tasks.len() > 1 {
            md.push_str(" Avg. |");
        }
        md.push('\n');
        md.push_str("|---|");
        for _ in 0..tasks.len() + usize::from(tasks.len() > 1) {
            md.push_str("---:|");
        }
        md.push('\n');
        for m in models {
            let _ = write!(md, "| {m} |");
            let mut sum = 0.0;
            let mut n = 0;
            for t in tasks {
                match self.row(m, t, None).and_then(|r| spec.metric_of(t).of(r)) {
                    Some(v) => {
                        let _ = write!(md, " {:.1} |", 100.0 * v);
                        sum += v;
                        n += 1;
                    }
                    None => md.push_str(" – |"),
                }
            }
            if tasks.len() > 1 {
                if n == tasks.len() {
                    let _ = write!(md, " {:.1} |", 100.0 * sum / n as f64);
                } else {
                    md.push_str(" – |");
                }
            }
            md.push('\n');
        }
        md
    }

    fn level_table(&self) -> String {
        let mut cols: Vec<(String, u32)> = Vec::new();
        for r in &self.results {
            if let Some(l) = r.level {
                if !cols.contains(&(r.task.clone(), l)) {
                    cols.push((r.task.clone(), l));
                }
            }
        }
        let mut md = String::from("| Model |");
        for (t, l) in &cols {
            let _ = write!(md, " {t} L{l} |");
        }
        md.push_str("\n|---|");
        for _ in &cols {
            md.push_str("---:|");
        }
        md.push('\n');
        for m in self.model_names() {
            let _ = write!(md, "| {m} |");
            for (t, l) in &cols {
                match self.row(&m, t, Some(*l)) {
                    Some(r) => {
                        let _ = write!(md, " {:.1} |", 100.0 * r.accuracy);
                    }
                    None => md.push_str(" – |"),
                }
            }
            md.push('\n');
        }
        md
    }

    fn metrics_table(&self) -> String {
        let mut md = String::from(
            "| Model | Task | n | pass@1 | avg@k | pass@k | format ok | unparseable | mean tokens |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let pct = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.1}", 100.0 * v));
        for r in self.results.iter().filter(|r| r.level.is_none()) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {} | {} | {} | {} | {} |",
                r.model,
                r.task,
                r.n,
                100.0 * r.accuracy,
                pct(r.avg_at_k),
                pct(r.pass_at_k),
                pct(r.format_ok),
                pct(r.unparseable),
                r.mean_length.map_or("–".to_string(), |v| format!("{v:.1}")),
            );
        }
        md
    }

    /// Writes `report.json` into `dir`.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        metaalign_core::atomic::write_atomic(path, text.as_bytes())
    }

    /// Reads a `report.json` written by [`Report::write_json`].
    pub fn read_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::data(format!("{}: not a report: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(id: &str, level: u32, correct: bool) -> TaskResult {
        TaskResult::greedy_only(id, "deduction", level, correct)
    }

    fn settings() -> EvalSettings {
        EvalSettings {
            count: 2,
            levels: vec![1, 2],
            avg_k: 0,
            temperature: 0.7,
            top_p: 1.0,
            max_new_tokens: 64,
            seed: 1,
            fixed: BTreeMap::new(),
        }
    }

    #[test]
    fn rows_per_level_all_levels_and_oracle() {
        let a: ModelResults = [(
            "deduction".to_string(),
            vec![
                tr("t1", 1, true),
                tr("t2", 1, false),
                tr("t3", 2, false),
                tr("t4", 2, false),
            ],
        )]
        .into();
        let b: ModelResults = [(
            "deduction".to_string(),
            vec![
                tr("t1", 1, false),
                tr("t2", 1, false),
                tr("t3", 2, true),
                tr("t4", 2, false),
            ],
        )]
        .into();
        let models = vec![("a".to_string(), a), ("b".to_string(), b)];
        let rows = build_rows(&models, &["a".into(), "b".into()]).unwrap();
        let report = Report {
            results: rows,
            models: BTreeMap::new(),
            settings: settings(),
            tables: vec![],
            comparisons: vec![],
            claims: None,
            extra: BTreeMap::new(),
        };
        assert_eq!(report.row("a", "deduction", Some(1)).unwrap().accuracy, 0.5);
        assert_eq!(report.row("a", "deduction", Some(2)).unwrap().accuracy, 0.0);
        assert_eq!(report.row("a", "deduction", None).unwrap().accuracy, 0.25);
        assert_eq!(
            report.row("oracle", "deduction", None).unwrap().accuracy,
            0.5
        );
        assert_eq!(
            report.row("oracle", "deduction", Some(2)).unwrap().accuracy,
            0.5
        );
        let json = serde_json::to_value(&report).unwrap();
        let rows = json["results"].as_array().unwrap();
        assert!(rows
            .iter()
            .any(|r| r["model"] == "oracle" && r["level"].is_null()));
        assert!(rows.iter().all(|r| r["accuracy"].as_f64().unwrap() <= 1.0));
        let md = report.to_markdown();
        assert!(md.contains("| oracle | 50.0 |"), "{md}");
        assert!(md.contains("deduction L2"), "{md}");
        // unknown oracle member
        let err = build_rows(&models, &["zzz".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zzz"), "{err}");
    }

    /// Results of one model: per task source, correctness of tasks 0, 1, ...
    fn results(tasks: &[(&str, [bool; 4])]) -> ModelResults {
        tasks
            .iter()
            .map(|(task, bits)| {
                let rs = bits
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| TaskResult {
                        task: task.to_string(),
                        ..tr(&format!("{task}-{i}"), 1, c)
                    })
                    .collect();
                (task.to_string(), rs)
            })
            .collect()
    }

    #[test]
    fn comparisons_and_the_claims_summary_from_hand_made_results() {
        const F: bool = false;
        const T: bool = true;
        let models = vec![
            (
                "w".to_string(),
                results(&[("deduction", [F, F, T, F]), ("induction", [T, F, F, F])]),
            ),
            (
                "deduction".to_string(),
                results(&[("deduction", [T, T, T, F]), ("induction", [T, F, F, F])]),
            ),
            (
                "induction".to_string(),
                results(&[("deduction", [F, F, T, F]), ("induction", [T, T, T, T])]),
            ),
            (
                "merged".to_string(),
                results(&[("deduction", [T, F, T, F]), ("induction", [T, T, T, F])]),
            ),
            ("dm".to_string(), results(&[("arith", [T, T, F, T])])),
            ("di".to_string(), results(&[("arith", [F, T, F, F])])),
        ];
        let claims: Claims = toml::from_str(
            r#"
            warm_start = "w"
            specialists = { induction = "induction", deduction = "deduction" }
            merged = "merged"
            domain = { task = "arith", meta = "dm", ins = "di" }
            "#,
        )
        .unwrap();
        let tasks: Vec<String> = ["deduction", "induction", "arith"]
            .map(String::from)
            .to_vec();
        let plan = super::super::claims::plan(Some(&claims), &[], &tasks);
        let report = Report {
            results: build_rows(&models, &[]).unwrap(),
            models: BTreeMap::new(),
            settings: settings(),
            tables: vec![],
            comparisons: super::super::compare::rows(&models, &plan),
            claims: Some(claims),
            extra: BTreeMap::new(),
        };
        let get = |model: &str, task: &str| {
            report
                .comparisons
                .iter()
                .find(|c| c.model == model && c.baseline == "w" && c.task == task)
                .unwrap_or_else(|| panic!("no comparison {model} {task}"))
        };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        let se_half = (1.0f64 / 12.0).sqrt(); // d = [1, 1, 0, 0]: sd² = 1/3, n = 4
                                              // deduction specialist on deduction: d = [1, 1, 0, 0]
        let c = get("deduction", "deduction");
        assert!(
            c.own && c.n == 4 && close(c.diff, 0.5) && close(c.stderr, se_half),
            "{c:?}"
        );
        // on induction: identical answers
        let c = get("deduction", "induction");
        assert!(
            !c.own && close(c.diff, 0.0) && close(c.stderr, 0.0),
            "{c:?}"
        );
        // induction specialist on induction: d = [0, 1, 1, 1]: sd² = 1/4, se = 1/4
        let c = get("induction", "induction");
        assert!(
            c.own && close(c.diff, 0.75) && close(c.stderr, 0.25),
            "{c:?}"
        );
        // merged: d = [1, 0, 0, 0] (se 1/4) and [0, 1, 1, 0] (se sqrt(1/12))
        assert!(close(get("merged", "deduction").diff, 0.25));
        assert!(close(get("merged", "deduction").stderr, 0.25));
        assert!(close(get("merged", "induction").diff, 0.5));
        let mean = get("merged", "mean");
        assert!(close(mean.diff, 0.375), "{mean:?}");
        assert!(
            close(mean.stderr, (0.0625f64 + 1.0 / 12.0).sqrt() / 2.0),
            "{mean:?}"
        );
        assert_eq!(mean.n, 8);
        assert_eq!(mean.over, ["deduction", "induction"]);
        let domain = report
            .comparisons
            .iter()
            .find(|c| c.model == "dm" && c.baseline == "di")
            .unwrap();
        assert!(close(domain.diff, 0.5) && domain.task == "arith" && domain.n == 4);
        // 2 specialists (each on both abilities, plus the mean), merged (same),
        // domain: 3 + 3 + 3 + 1
        assert_eq!(report.comparisons.len(), 10, "{:?}", report.comparisons);

        let md = report.to_markdown();
        assert!(md.starts_with("### Claims"), "{md}");
        assert!(
            md.contains("1. Specialists gain on their own ability: deduction +50.0 ± 28.9 points (1.7 SE), induction +75.0 ± 25.0 points (3.0 SE) — holds for 1 of 2 (≥ 3 SE)."),
            "{md}"
        );
        assert!(
            md.contains("2. The merge keeps the gains: merged mean +37.5 ± 19.1 points (2.0 SE) over the warm start — not shown (< 3 SE); keeps n/a / 67% of each specialist's own gain (deduction / induction)."),
            "{md}"
        );
        assert!(
            md.contains("3. Domain RL from the merge (dm) vs from the warm start (di) on arith: no detectable difference at n = 4 (+50.0 ± 28.9 points (1.7 SE))."),
            "{md}"
        );
        assert!(
            md.contains("| merged | w | mean (deduction, induction) | +37.5 | 19.1 | 2.0 | 8 |"),
            "{md}"
        );
        assert!(
            md.contains("| induction | w | induction (own) | +75.0 | 25.0 | 3.0 | 4 |"),
            "{md}"
        );
        // the summary comes before the accuracy tables
        assert!(md.find("### Claims") < md.find("### Greedy pass@1"));

        // report.json: rows carry `n`, comparisons their fields; it reads back
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["results"][0]["n"], 4);
        assert!(json["results"][0].get("count").is_none());
        let own = json["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["own"] == true)
            .unwrap();
        assert_eq!(own["model"], "deduction");
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn reports_written_before_n_and_comparisons_still_read() {
        let old = r#"{
            "results": [{"model": "a", "task": "deduction", "level": null, "accuracy": 0.5, "count": 8}],
            "models": {},
            "settings": {"count": 8, "levels": [1], "avg_k": 0, "temperature": 0.7, "top_p": 1.0, "max_new_tokens": 8, "seed": 1}
        }"#;
        let report: Report = serde_json::from_str(old).unwrap();
        assert_eq!(report.results[0].n, 8);
        assert!(report.comparisons.is_empty() && report.claims.is_none());
        assert!(!report.to_markdown().contains("### Claims"));
    }
}
