//! `kind = "merge_search"`: tries a small grid of merge weights (under one
//! merge method, or under each of several), scores each merged model on a
//! validation split (greedy pass@1, averaged over the validation task
//! sources), and keeps the best as `model`. The paper chose its 1.0 / 0.2 /
//! 0.1 linear weights empirically; this makes that choice, and the choice of
//! method (linear, task arithmetic, TIES, ...), a reproducible stage.
//!
//! ```toml
//! [[stages]]
//! name = "merged"
//! kind = "merge_search"
//! models = [{ from = "deduction.model" }, { from = "induction.model" }, { from = "abduction.model" }]
//! method = { kind = "linear" }
//! search = { grid = [[1.0, 0.2, 0.1], [1.0, 0.5, 0.5], [1.0, 1.0, 1.0]], validation = { tasks = ["deduction", "induction", "abduction"], count = 20, levels = [1] } }
//! ```
//!
//! `methods = [{ kind = "linear" }, { kind = "task_arithmetic" }, ...]`
//! instead of `method` tries every grid point under every method (methods
//! that need a base use `base`).
//!
//! Each grid point is merged into a scratch folder, evaluated, then deleted
//! (only one candidate is on disk at a time, which matters for 7B models);
//! its scores go to `search/<i>.json`, so an interrupted search resumes at
//! the next point. The best point is merged again into `model`. Validation
//! tasks come from the `validation` seed stream, which held-out test sets
//! exclude (see `metaalign_rl::eval::heldout`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use metaalign_core::atomic::write_atomic;
use metaalign_core::merge::{MergeInputs, MergeModel, MergeOptions};
use metaalign_core::pipeline::{
    Artifact, ArtifactKind, InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext,
};
use metaalign_core::{Error, MergeConfig, Result, StageConfig, TaskGenerator};
use metaalign_rl::eval::metrics::greedy_pass_at_1;
use metaalign_rl::eval::run::{build_sets, evaluate_policy, EvalOptions};
use metaalign_rl::eval::Split;
use metaalign_rl::policy::{device_from_str, QwenPolicy};
use serde::{Deserialize, Serialize};

/// One input model: a reference plus fixed per-model parameters of the
/// method (anything but `weight`, which the grid sets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchModel {
    /// `"<stage>.model"` or `"policy"`.
    pub from: String,
    /// Name in reports (default: the stage part of `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The method's per-model keys (`density`, …), passed through.
    #[serde(flatten)]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl SearchModel {
    /// The name in reports: `name`, else the stage part of `from`.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.from
                .split('.')
                .next()
                .unwrap_or(&self.from)
                .to_string()
        })
    }
}

/// The validation split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// Task source names.
    pub tasks: Vec<String>,
    /// Tasks per source and level.
    #[serde(default = "default_count")]
    pub count: usize,
    /// Levels; default: every level of each source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<u32>>,
    /// Generation budget per validation task.
    #[serde(default = "default_max_new_tokens")]
    pub max_new_tokens: usize,
    /// Tasks decoded at once.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

fn default_count() -> usize {
    50
}
fn default_max_new_tokens() -> usize {
    256
}
fn default_batch_size() -> usize {
    32
}

/// `search = { grid = [...], validation = { ... } }`: the weight grid and
/// how its points are scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Weight vectors, one weight per model in `models` order.
    pub grid: Vec<Vec<f64>>,
    /// The validation split that scores each point.
    pub validation: Validation,
}

/// `kind = "merge_search"`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeSearchStage {
    /// The models to merge, each with its method keys.
    pub models: Vec<SearchModel>,
    /// Base model reference for task-vector methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The merge method (or give `methods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Box<dyn MergeConfig>>,
    /// Several methods, each tried at every grid point.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<Box<dyn MergeConfig>>,
    /// The grid and the validation that scores it.
    pub search: Search,
}

/// Scores of one grid point under one method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridResult {
    /// The method's kind name.
    #[serde(default)]
    pub method: String,
    /// The method's whole table, to recognise the point on resume.
    #[serde(default)]
    pub method_config: serde_json::Value,
    /// The weights, one per model.
    pub weights: Vec<f64>,
    /// Validation greedy pass@1 per task source.
    pub accuracy: BTreeMap<String, f64>,
    /// Mean over task sources: the selection score.
    pub score: f64,
}

impl MergeSearchStage {
    /// The methods tried, in order.
    fn methods(&self) -> Vec<&dyn MergeConfig> {
        self.method
            .iter()
            .chain(&self.methods)
            .map(|m| m.as_ref())
            .collect()
    }

    fn check(&self, task_names: &[String]) -> Result<()> {
        match (&self.method, self.methods.is_empty()) {
            (None, true) => return Err(Error::config(
                "merge_search: give `method` (one merge method) or `methods` (several to compare)",
            )),
            (Some(_), false) => {
                return Err(Error::config(
                    "merge_search: give either `method` or `methods`, not both",
                ))
            }
            _ => {}
        }
        if self.models.len() < 2 {
            return Err(Error::config("merge_search: needs at least two `models`"));
        }
        let mut names: Vec<String> = Vec::new();
        for m in &self.models {
            let n = m.display_name();
            if names.contains(&n) {
                return Err(Error::config(format!(
                    "merge_search: model name `{n}` is used twice; set `name` on one of them"
                )));
            }
            if m.params.contains_key("weight") {
                return Err(Error::config(format!(
                    "merge_search: model `{n}` sets `weight`, but the weights come from `search.grid`"
                )));
            }
            names.push(n);
        }
        if self.search.grid.is_empty() {
            return Err(Error::config("merge_search: `search.grid` is empty"));
        }
        for (i, w) in self.search.grid.iter().enumerate() {
            if w.len() != self.models.len() {
                return Err(Error::config(format!(
                    "merge_search: grid point {} has {} weights but there are {} models ({})",
                    i + 1,
                    w.len(),
                    self.models.len(),
                    names.join(", ")
                )));
            }
            if w.iter().any(|x| !x.is_finite()) {
                return Err(Error::config(format!(
                    "merge_search: grid point {} has a non-finite weight",
                    i + 1
                )));
            }
        }
        let v = &self.search.validation;
        if v.tasks.is_empty() {
            return Err(Error::config(
                "merge_search: `search.validation.tasks` is empty",
            ));
        }
        for t in &v.tasks {
            if !task_names.contains(t) {
                return Err(Error::config(format!(
                    "merge_search: validation task source `{t}` is not declared in [tasks] (declared: {})",
                    task_names.join(", ")
                )));
            }
        }
        if v.count == 0 {
            return Err(Error::config(
                "merge_search: `search.validation.count` must be at least 1",
            ));
        }
        Ok(())
    }

    fn merge_inputs(&self, ctx: &StageContext, weights: &[f64], out: &Path) -> Result<MergeInputs> {
        let models = self
            .models
            .iter()
            .zip(weights)
            .map(|(m, &w)| {
                let mut mm = MergeModel::new(m.display_name(), ctx.input(&m.from)?.path.clone());
                mm.params = m.params.clone();
                mm.params.insert("weight".into(), serde_json::json!(w));
                Ok(mm)
            })
            .collect::<Result<Vec<_>>>()?;
        let base = match &self.base {
            Some(b) => Some(MergeModel::new("base", ctx.input(b)?.path.clone())),
            None => None,
        };
        Ok(MergeInputs {
            models,
            base,
            out: out.to_path_buf(),
            seed: ctx.seed,
            options: MergeOptions {
                overwrite: true,
                ..MergeOptions::default()
            },
        })
    }
}

fn remove_dir(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

#[typetag::serde(name = "merge_search")]
#[async_trait]
impl StageConfig for MergeSearchStage {
    fn inputs(&self) -> Vec<InputRef> {
        let mut v: Vec<InputRef> = self
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| InputRef::model(format!("models[{i}]"), m.from.clone()))
            .collect();
        if let Some(b) = &self.base {
            v.push(InputRef::model("base", b.clone()));
        }
        v
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("model", ArtifactKind::Model)]
    }

    fn task_sources(&self) -> Vec<String> {
        self.search.validation.tasks.clone()
    }

    fn validate(&self, ctx: &ValidateContext) -> Result<Vec<String>> {
        self.check(&ctx.task_names)?;
        for m in self.methods() {
            m.build()?;
        }
        Ok(Vec::new())
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.check(&ctx.tasks.keys().cloned().collect::<Vec<_>>())?;
        let methods = self.methods();
        let mergers = methods
            .iter()
            .map(|m| m.build())
            .collect::<Result<Vec<_>>>()?;
        let configs: Vec<serde_json::Value> = methods
            .iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<_, _>>()?;
        let v = self.search.validation.clone();
        let sources: Vec<(String, Arc<dyn TaskGenerator>)> = v
            .tasks
            .iter()
            .map(|n| Ok((n.clone(), ctx.task(n)?.clone())))
            .collect::<Result<_>>()?;
        let opts = EvalOptions {
            count: v.count,
            levels: v.levels.clone(),
            avg_k: 0,
            max_new_tokens: v.max_new_tokens,
            batch_size: v.batch_size,
            seed: ctx.settings.seed,
            holdout: ctx.settings.holdout,
            ..EvalOptions::default()
        };
        let sets = Arc::new(build_sets(&sources, &opts, Split::Validation)?);
        let search_dir = ctx.dir.join("search");
        std::fs::create_dir_all(&search_dir).map_err(|e| Error::io(&search_dir, e))?;
        let candidate = ctx.dir.join("candidate");
        let mut results: Vec<GridResult> = Vec::new();
        // Candidates: every grid point under the first method, then the next.
        let grid_len = self.search.grid.len();
        for i in 0..mergers.len() * grid_len {
            let (merger, config) = (&mergers[i / grid_len], &configs[i / grid_len]);
            let weights = &self.search.grid[i % grid_len];
            ctx.cancel.check()?;
            let record = search_dir.join(format!("{i}.json"));
            if let Ok(text) = std::fs::read_to_string(&record) {
                if let Ok(r) = serde_json::from_str::<GridResult>(&text) {
                    if r.weights == *weights && r.method_config == *config {
                        tracing::info!("merge_search: candidate {} already scored", i + 1);
                        results.push(r);
                        continue;
                    }
                }
            }
            remove_dir(&candidate)?;
            merger
                .merge(&self.merge_inputs(&ctx, weights, &candidate)?)
                .await?;
            let device = ctx.settings.device.clone();
            let (sets2, opts2, cancel, cand) = (
                sets.clone(),
                opts.clone(),
                ctx.cancel.clone(),
                candidate.clone(),
            );
            let by_task = tokio::task::spawn_blocking(move || {
                let mut policy = QwenPolicy::load(&cand, &device_from_str(&device)?)?;
                evaluate_policy(&mut policy, &sets2, &opts2, &cancel, |_| {})
            })
            .await
            .map_err(|e| Error::msg(format!("merge_search evaluation panicked: {e}")))??;
            let accuracy: BTreeMap<String, f64> = by_task
                .iter()
                .map(|(t, rs)| (t.clone(), greedy_pass_at_1(rs)))
                .collect();
            let score = accuracy.values().sum::<f64>() / accuracy.len().max(1) as f64;
            tracing::info!(
                "merge_search: {} weights {weights:?}: validation score {:.1}%",
                merger.kind(),
                100.0 * score
            );
            ctx.metrics.log(serde_json::json!({
                "event": "merge_search",
                "point": i,
                "method": merger.kind(),
                "weights": weights,
                "score": score,
                "accuracy": accuracy,
            }))?;
            let r = GridResult {
                method: merger.kind().to_string(),
                method_config: config.clone(),
                weights: weights.clone(),
                accuracy,
                score,
            };
            write_atomic(&record, serde_json::to_string_pretty(&r)?.as_bytes())?;
            results.push(r);
            remove_dir(&candidate)?;
        }
        // best score, first on ties
        let best =
            results.iter().enumerate().fold(
                0usize,
                |b, (i, r)| if r.score > results[b].score { i } else { b },
            );
        let out = ctx.dir.join("model");
        let summary_path = ctx.dir.join("search.json");
        let best_method = best / self.search.grid.len();
        let summary = serde_json::json!({
            "models": self.models.iter().map(SearchModel::display_name).collect::<Vec<_>>(),
            "grid": results,
            "best": best,
            "best_method": configs[best_method],
            "best_weights": results[best].weights,
        });
        let done = out.join("config.json").is_file()
            && std::fs::read_to_string(&summary_path)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|s| {
                    s["best_weights"] == summary["best_weights"]
                        && s["best_method"] == summary["best_method"]
                });
        if !done {
            remove_dir(&out)?;
            mergers[best_method]
                .merge(&self.merge_inputs(&ctx, &results[best].weights, &out)?)
                .await?;
            write_atomic(
                &summary_path,
                serde_json::to_string_pretty(&summary)?.as_bytes(),
            )?;
        }
        record_in_run_report(&ctx.run_dir, &ctx.stage, &summary)?;

        let names: Vec<String> = self.models.iter().map(SearchModel::display_name).collect();
        let kinds: Vec<&str> = mergers.iter().map(|m| m.kind()).collect();
        let mut md = format!(
            "Merge search ({}): {} candidates scored on a validation split of {} tasks per source and level ({}). Kept the best: **{} {}**.\n\n",
            kinds.join(", "),
            results.len(),
            v.count,
            v.tasks.join(", "),
            results[best].method,
            fmt_weights(&names, &results[best].weights)
        );
        md.push_str("| # | method | weights |");
        for t in &v.tasks {
            let _ = write!(md, " {t} |");
        }
        md.push_str(" mean |\n|---|---|---|");
        for _ in 0..=v.tasks.len() {
            md.push_str("---:|");
        }
        md.push('\n');
        for (i, r) in results.iter().enumerate() {
            let mark = if i == best { " ★" } else { "" };
            let _ = write!(
                md,
                "| {}{mark} | {} | {} |",
                i + 1,
                r.method,
                fmt_weights(&names, &r.weights)
            );
            for t in &v.tasks {
                let _ = write!(
                    md,
                    " {:.1} |",
                    100.0 * r.accuracy.get(t).copied().unwrap_or(0.0)
                );
            }
            let _ = writeln!(md, " {:.1} |", 100.0 * r.score);
        }
        let mut outputs = StageOutputs::default();
        outputs.artifacts.insert(
            "model".into(),
            Artifact {
                kind: ArtifactKind::Model,
                path: out,
            },
        );
        outputs.report = Some(md);
        Ok(outputs)
    }
}

fn fmt_weights(names: &[String], weights: &[f64]) -> String {
    names
        .iter()
        .zip(weights)
        .map(|(n, w)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Records the search under `search.<stage>` in the run's `report.json`.
fn record_in_run_report(run_dir: &Path, stage: &str, summary: &serde_json::Value) -> Result<()> {
    let path = run_dir.join("report.json");
    let mut doc: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({ "results": [] }));
    if !doc["search"].is_object() {
        doc["search"] = serde_json::json!({});
    }
    doc["search"][stage] = summary.clone();
    write_atomic(&path, serde_json::to_string_pretty(&doc)?.as_bytes())
}
