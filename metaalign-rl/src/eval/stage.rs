//! The `evaluate` stage: every named model on the held-out sets of the
//! named task sources, then `report.json`, a report section and charts.
//!
//! ```toml
//! [[stages]]
//! name = "eval"
//! kind = "evaluate"
//! models = { warmup = "warmup.model", merged = "merged.model" }
//! tasks = ["deduction", "induction", "abduction"]
//! levels = [1, 2]
//! count = 100
//! avg_k = 4            # samples per task for avg@k / pass@k (0 = off)
//! temperature = 0.7
//! top_p = 1.0
//! oracle = ["deduction", "induction", "abduction"]
//! tables = [{ title = "Table 1", models = ["warmup", "merged", "oracle"], tasks = ["deduction"] }]
//! # the paper's claims: roles -> paired comparisons and a summary in words
//! claims = { warm_start = "warmup", specialists = { deduction = "deduction" }, merged = "merged" }
//! compare = [{ model = "merged", baseline = "deduction" }]   # further comparisons
//! ```
//!
//! The stage writes `report.json` (its own rows) into its folder and merges
//! its rows, tagged with the stage name, into the run's `report.json`.
//! Each model's results are cached in `results/<model>.json` and its
//! responses in `responses/<model>.jsonl`, so an interrupted evaluation
//! resumes with the next model.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use metaalign_core::atomic::write_atomic;
use metaalign_core::pipeline::{
    Artifact, ArtifactKind, InputRef, OutputDecl, RunSettings, StageContext, StageOutputs,
    ValidateContext,
};
use metaalign_core::{Error, Result, StageConfig, TaskGenerator};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::charts;
use super::claims::{self, Claims, CompareSpec, Known};
use super::compare;
use super::heldout::Split;
use super::report::{build_rows, EvalSettings, ModelResults, Report, TableSpec, ORACLE};
use super::run::{build_sets, evaluate_policy, EvalOptions};
use crate::policy::{device_from_str, QwenPolicy};

/// Model names to references, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelMap(pub Vec<(String, String)>);

impl ModelMap {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for ModelMap {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ModelMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of model name = \"<stage>.model\" (or \"policy\")")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<ModelMap, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    if out.iter().any(|(n, _)| *n == k) {
                        return Err(serde::de::Error::custom(format!(
                            "model `{k}` is listed twice"
                        )));
                    }
                    out.push((k, v));
                }
                Ok(ModelMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn default_count() -> usize {
    100
}
fn default_temperature() -> f64 {
    0.7
}
fn default_top_p() -> f64 {
    1.0
}
fn default_max_new_tokens() -> usize {
    256
}
fn default_batch_size() -> usize {
    32
}

/// `kind = "evaluate"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateStage {
    /// Model name -> reference (`"<stage>.model"` or `"policy"`).
    #[serde(default, skip_serializing_if = "ModelMap::is_empty")]
    pub models: ModelMap,
    /// Offline models: name -> responses generated elsewhere (a folder of
    /// `<task source>.jsonl`, or one file for one source; relative to the
    /// pipeline file), scored into the same report (see `eval::offline`).
    #[serde(default, skip_serializing_if = "ModelMap::is_empty")]
    pub responses: ModelMap,
    /// Task source names (`[tasks.NAME]`).
    pub tasks: Vec<String>,
    /// Levels; default: every level of each source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<u32>>,
    /// Held-out tasks per source and level.
    #[serde(default = "default_count")]
    pub count: usize,
    /// Samples per task for avg@k and pass@k (0 = greedy only).
    #[serde(default)]
    pub avg_k: usize,
    /// Sampling temperature of the k samples (default 0.7; greedy responses use 0).
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Nucleus threshold of the k samples (default 1: off).
    #[serde(default = "default_top_p")]
    pub top_p: f64,
    /// Top-k cut-off of the k samples (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Generation budget per response, in tokens (default 256).
    #[serde(default = "default_max_new_tokens")]
    pub max_new_tokens: usize,
    /// Rows per generation batch (default 32).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Models of the oracle ensemble (a task counts as solved if any solves it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oracle: Vec<String>,
    /// Tables of the markdown report; default: every model by every task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableSpec>,
    /// The recipe's roles (warm start, specialists, merged, domain RL): the
    /// paired comparisons that test the paper's three claims, and a summary
    /// of them at the top of the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// Further paired comparisons: `{ model, baseline, tasks }` (default
    /// tasks: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<CompareSpec>,
    /// Seed of the held-out sets; default: the run seed (shared by every
    /// evaluate stage of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Which held-out part to draw from: `"test"` (default) or
    /// `"validation"` (for choosing settings without touching the test set).
    #[serde(default, skip_serializing_if = "Split::is_test")]
    pub split: Split,
}

impl EvaluateStage {
    /// `models` on `tasks` with every other setting at its default.
    pub fn new(models: ModelMap, tasks: Vec<String>) -> Self {
        Self {
            models,
            responses: ModelMap::default(),
            tasks,
            levels: None,
            count: default_count(),
            avg_k: 0,
            temperature: default_temperature(),
            top_p: default_top_p(),
            top_k: None,
            max_new_tokens: default_max_new_tokens(),
            batch_size: default_batch_size(),
            oracle: Vec::new(),
            tables: Vec::new(),
            claims: None,
            compare: Vec::new(),
            seed: None,
            split: Split::Test,
        }
    }

    fn options(&self, run: &RunSettings) -> EvalOptions {
        EvalOptions {
            count: self.count,
            levels: self.levels.clone(),
            avg_k: self.avg_k,
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            max_new_tokens: self.max_new_tokens,
            batch_size: self.batch_size,
            seed: self.seed.unwrap_or(run.seed),
            holdout: run.holdout,
        }
    }

    /// Static checks shared by `validate` and `run`.
    pub fn check(&self, task_names: &[String]) -> Result<()> {
        if self.models.0.is_empty() && self.responses.0.is_empty() {
            return Err(Error::config(
                "evaluate: `models` and `responses` are both empty; name at least one model to evaluate",
            ));
        }
        if self.tasks.is_empty() {
            return Err(Error::config("evaluate: `tasks` is empty"));
        }
        let names: Vec<&str> = self
            .models
            .0
            .iter()
            .chain(&self.responses.0)
            .map(|(n, _)| n.as_str())
            .collect();
        if let Some(dup) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
        {
            return Err(Error::config(format!(
                "evaluate: model `{}` is named in both `models` and `responses`",
                dup.1
            )));
        }
        if names.contains(&ORACLE) {
            return Err(Error::config(
                "evaluate: `oracle` is reserved for the oracle ensemble; rename that model",
            ));
        }
        for t in &self.tasks {
            if !task_names.contains(t) {
                return Err(Error::config(format!(
                    "evaluate: task source `{t}` is not declared in [tasks] (declared: {})",
                    task_names.join(", ")
                )));
            }
        }
        for m in &self.oracle {
            if !names.contains(&m.as_str()) {
                return Err(Error::config(format!(
                    "evaluate: oracle member `{m}` is not one of `models` ({})",
                    names.join(", ")
                )));
            }
        }
        for table in &self.tables {
            for m in &table.models {
                if m != ORACLE && !names.contains(&m.as_str()) {
                    return Err(Error::config(format!(
                        "evaluate: table `{}` lists model `{m}`, which is not one of `models` ({})",
                        table.title,
                        names.join(", ")
                    )));
                }
                if m == ORACLE && self.oracle.is_empty() {
                    return Err(Error::config(format!(
                        "evaluate: table `{}` lists `oracle` but no `oracle` members are set",
                        table.title
                    )));
                }
            }
            for t in &table.tasks {
                if !self.tasks.contains(t) {
                    return Err(Error::config(format!(
                        "evaluate: table `{}` lists task `{t}`, which is not one of `tasks` ({})",
                        table.title,
                        self.tasks.join(", ")
                    )));
                }
            }
        }
        let known = Known {
            models: &names,
            tasks: &self.tasks,
        };
        if let Some(c) = &self.claims {
            c.check(&known)?;
        }
        for (i, c) in self.compare.iter().enumerate() {
            c.check(i, &known)?;
        }
        if self.count == 0 {
            return Err(Error::config("evaluate: `count` must be at least 1"));
        }
        if self.levels.as_ref().is_some_and(|l| l.is_empty()) {
            return Err(Error::config("evaluate: `levels` is empty"));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::config(format!(
                "evaluate: `top_p` must be in (0, 1], got {}",
                self.top_p
            )));
        }
        if self.avg_k > 0 && self.temperature <= 0.0 {
            return Err(Error::config(
                "evaluate: avg@k needs `temperature` > 0 (greedy samples would all be equal)",
            ));
        }
        if self.max_new_tokens == 0 {
            return Err(Error::config(
                "evaluate: `max_new_tokens` must be at least 1",
            ));
        }
        Ok(())
    }

    fn run_blocking(&self, ctx: &StageContext) -> Result<StageOutputs> {
        self.check(&ctx.tasks.keys().cloned().collect::<Vec<_>>())?;
        let sources: Vec<(String, Arc<dyn TaskGenerator>)> = self
            .tasks
            .iter()
            .map(|n| Ok((n.clone(), ctx.task(n)?.clone())))
            .collect::<Result<_>>()?;
        let opts = self.options(&ctx.settings);
        let sets = build_sets(&sources, &opts, self.split)?;
        let device = device_from_str(&ctx.settings.device)?;
        let results_dir = ctx.dir.join("results");
        let responses_dir = ctx.dir.join("responses");
        for d in [&results_dir, &responses_dir] {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let mut all: Vec<(String, ModelResults)> = Vec::new();
        let mut model_paths = BTreeMap::new();
        for (name, reference) in &self.models.0 {
            let path = ctx.input(reference)?.path.clone();
            model_paths.insert(name.clone(), format!("{reference} ({})", path.display()));
            let cache = results_dir.join(format!("{name}.json"));
            let results: ModelResults = if cache.is_file() {
                tracing::info!(
                    "evaluate: `{name}` already evaluated, reading {}",
                    cache.display()
                );
                let text = std::fs::read_to_string(&cache).map_err(|e| Error::io(&cache, e))?;
                serde_json::from_str(&text)?
            } else {
                tracing::info!("evaluate: `{name}` ({})", path.display());
                let mut policy = QwenPolicy::load(&path, &device)?;
                let log_path = responses_dir.join(format!("{name}.jsonl"));
                let file = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
                let mut log = std::io::BufWriter::new(file);
                let mut log_err: Option<std::io::Error> = None;
                let total: usize = sets.iter().map(|s| s.tasks.len() * (1 + opts.avg_k)).sum();
                let bar = metaalign_core::progress::bar(
                    total as u64,
                    format!("eval {name}"),
                    "responses",
                );
                let results = evaluate_policy(&mut policy, &sets, &opts, &ctx.cancel, |rec| {
                    bar.inc(1);
                    if log_err.is_none() {
                        if let Err(e) = serde_json::to_writer(&mut log, &rec)
                            .map_err(std::io::Error::other)
                            .and_then(|_| log.write_all(b"\n"))
                        {
                            log_err = Some(e);
                        }
                    }
                })?;
                bar.finish_and_clear();
                if let Some(e) = log_err {
                    return Err(Error::io(&log_path, e));
                }
                log.flush().map_err(|e| Error::io(&log_path, e))?;
                write_atomic(&cache, serde_json::to_string(&results)?.as_bytes())?;
                results
            };
            for (task, rs) in &results {
                ctx.metrics.log(serde_json::json!({
                    "event": "eval",
                    "model": name,
                    "task": task,
                    "accuracy": super::metrics::greedy_pass_at_1(rs),
                    "count": rs.len(),
                }))?;
            }
            all.push((name.clone(), results));
        }
        for (name, given) in &self.responses.0 {
            let path = ctx.base_dir.join(given);
            tracing::info!("evaluate: `{name}` from responses at {}", path.display());
            model_paths.insert(name.clone(), format!("responses {}", path.display()));
            let log_path = responses_dir.join(format!("{name}.jsonl"));
            let mut log = Vec::new();
            let results = super::offline::score_responses(&sets, &path, |rec| {
                if serde_json::to_writer(&mut log, &rec).is_ok() {
                    log.push(b'\n');
                }
            })?;
            write_atomic(&log_path, &log)?;
            all.push((name.clone(), results));
        }
        let rows = build_rows(&all, &self.oracle)?;
        let planned = claims::plan(self.claims.as_ref(), &self.compare, &self.tasks);
        let report = Report {
            results: rows,
            comparisons: compare::rows(&all, &planned),
            claims: self.claims.clone(),
            models: model_paths,
            settings: EvalSettings {
                count: self.count,
                levels: sets.iter().map(|s| s.level.0).fold(Vec::new(), |mut v, l| {
                    if !v.contains(&l) {
                        v.push(l);
                    }
                    v
                }),
                avg_k: self.avg_k,
                temperature: self.temperature,
                top_p: self.top_p,
                max_new_tokens: self.max_new_tokens,
                seed: opts.seed,
                fixed: sources
                    .iter()
                    .filter_map(|(name, g)| g.fixed_tasks().map(|_| name))
                    .map(|name| {
                        let n = sets
                            .iter()
                            .filter(|s| &s.source == name)
                            .map(|s| s.tasks.len());
                        (name.clone(), n.sum())
                    })
                    .collect(),
            },
            tables: self.tables.clone(),
            extra: BTreeMap::new(),
        };
        let section = write_report_files(&report, ctx)?;
        let mut outputs = StageOutputs {
            report: Some(section),
            // The claims open the run's report.md; the section has the rest.
            summary: report.claims_markdown(),
            ..StageOutputs::default()
        };
        outputs.artifacts.insert(
            "report".into(),
            Artifact {
                kind: ArtifactKind::File,
                path: ctx.dir.join("report.json"),
            },
        );
        Ok(outputs)
    }
}

/// Writes the stage's `report.json`, merges its rows into the run's
/// `report.json`, draws the charts and returns the markdown section (the
/// report without its claims summary, which the run's report.md puts first).
pub fn write_report_files(report: &Report, ctx: &StageContext) -> Result<String> {
    report.write_json(&ctx.dir.join("report.json"))?;
    merge_into_run_report(report, &ctx.stage, &ctx.run_dir)?;
    let mut md = report.body_markdown();
    let rel = ctx
        .dir
        .strip_prefix(&ctx.run_dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| ctx.dir.clone());
    let mut images: Vec<(String, PathBuf)> = Vec::new();
    for (i, table) in report.effective_tables().iter().enumerate() {
        let file = format!("accuracy-{}.png", i + 1);
        let path = ctx.dir.join(&file);
        match charts::accuracy_bars(report, &table.models, &table.tasks, &table.title, &path) {
            Ok(()) => images.push((table.title.clone(), rel.join(&file))),
            Err(e) => tracing::warn!("chart {}: {e}", path.display()),
        }
    }
    let metrics = ctx.run_dir.join("metrics.jsonl");
    if metrics.is_file() {
        match charts::training_curves(&metrics, &ctx.dir) {
            Ok(files) => {
                for f in files {
                    let title = f
                        .file_stem()
                        .map(|s| {
                            s.to_string_lossy()
                                .trim_start_matches("curves-")
                                .to_string()
                        })
                        .unwrap_or_default();
                    if let Some(name) = f.file_name() {
                        images.push((format!("training curves: {title}"), rel.join(name)));
                    }
                }
            }
            Err(e) => tracing::warn!("training curves: {e}"),
        }
    }
    if !images.is_empty() {
        md.push_str("\n### Charts\n\n");
        for (title, path) in images {
            md.push_str(&format!("![{title}]({})\n\n", path.display()));
        }
    }
    Ok(md)
}

/// Replaces this stage's `results` and `comparisons` rows in
/// `<run_dir>/report.json` (rows get a `stage` field), keeping other
/// stages' rows.
pub fn merge_into_run_report(report: &Report, stage: &str, run_dir: &Path) -> Result<()> {
    let path = run_dir.join("report.json");
    let mut doc: serde_json::Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({})),
        Err(_) => serde_json::json!({}),
    };
    if !doc.is_object() {
        doc = serde_json::json!({});
    }
    let results = tagged_rows(&doc, "results", &report.results, stage)?;
    let comparisons = tagged_rows(&doc, "comparisons", &report.comparisons, stage)?;
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| Error::msg("report.json is not an object"))?;
    obj.insert("results".into(), results);
    obj.insert("comparisons".into(), comparisons);
    let mut stages = obj
        .get("stages")
        .and_then(|s| s.as_object())
        .cloned()
        .unwrap_or_default();
    let mut summary = serde_json::json!({
        "models": report.models,
        "settings": report.settings,
    });
    if let Some(claims) = &report.claims {
        summary["claims"] = serde_json::to_value(claims)?;
    }
    if !report.extra.is_empty() {
        summary["extra"] = serde_json::to_value(&report.extra)?;
    }
    stages.insert(stage.to_string(), summary);
    obj.insert("stages".into(), serde_json::Value::Object(stages));
    write_atomic(&path, serde_json::to_string_pretty(&doc)?.as_bytes())
}

/// The array `key` of `doc` with this stage's rows replaced by `rows`,
/// each tagged with a `stage` field.
fn tagged_rows<T: Serialize>(
    doc: &serde_json::Value,
    key: &str,
    rows: &[T],
    stage: &str,
) -> Result<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = doc
        .get(key)
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.get("stage").and_then(|s| s.as_str()) != Some(stage))
        .collect();
    for row in rows {
        let mut v = serde_json::to_value(row)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("stage".into(), serde_json::Value::String(stage.to_string()));
        }
        out.push(v);
    }
    Ok(serde_json::Value::Array(out))
}

#[typetag::serde(name = "evaluate")]
#[async_trait]
impl StageConfig for EvaluateStage {
    fn inputs(&self) -> Vec<InputRef> {
        self.models
            .0
            .iter()
            .map(|(name, reference)| InputRef::model(format!("models.{name}"), reference.clone()))
            .collect()
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("report", ArtifactKind::File)]
    }

    fn task_sources(&self) -> Vec<String> {
        self.tasks.clone()
    }

    fn validate(&self, ctx: &ValidateContext) -> Result<Vec<String>> {
        self.check(&ctx.task_names)?;
        Ok(Vec::new())
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        let stage = self.clone();
        tokio::task::spawn_blocking(move || stage.run_blocking(&ctx))
            .await
            .map_err(|e| Error::msg(format!("evaluate stage panicked: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metaalign_core::pipeline::{CancelFlag, MetricsSink, RunSettings};
    use metaalign_core::Policy;

    fn context(run_dir: &Path, model: &Path) -> StageContext {
        let dir = run_dir.join("eval");
        std::fs::create_dir_all(&dir).unwrap();
        let mut inputs = BTreeMap::new();
        inputs.insert(
            "policy".to_string(),
            Artifact {
                kind: ArtifactKind::Model,
                path: model.to_path_buf(),
            },
        );
        let mut tasks: BTreeMap<String, Arc<dyn TaskGenerator>> = BTreeMap::new();
        tasks.insert(
            "deduction".into(),
            metaalign_core::config::default_task_source("deduction").unwrap(),
        );
        StageContext {
            stage: "eval".into(),
            dir,
            run_dir: run_dir.to_path_buf(),
            settings: RunSettings {
                name: "t".into(),
                out_dir: run_dir.to_path_buf(),
                seed: 3,
                device: "cpu".into(),
                holdout: Default::default(),
                memory_limit_gb: None,
            },
            inputs,
            tasks,
            base_dir: run_dir.to_path_buf(),
            metrics: MetricsSink::open(&run_dir.join("metrics.jsonl"), "eval").unwrap(),
            cancel: CancelFlag::default(),
            seed: 1,
        }
    }

    fn stage() -> EvaluateStage {
        metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
        let text = r#"
            models = { b = "policy", a = "policy" }
            tasks = ["deduction"]
            levels = [1]
            count = 3
            avg_k = 2
            max_new_tokens = 8
            oracle = ["a", "b"]
            tables = [{ title = "T", models = ["b", "a", "oracle"], tasks = ["deduction"] }]
            claims = { warm_start = "b", specialists = { deduction = "a" } }
            compare = [{ model = "a", baseline = "b" }]
        "#;
        // registered under its kind
        let boxed: Box<dyn StageConfig> =
            metaalign_core::config::from_toml_str(&format!("kind = \"evaluate\"\n{text}"), "test")
                .unwrap();
        assert_eq!(boxed.outputs()[0].name, "report");
        metaalign_core::config::from_toml_str(text, "test").unwrap()
    }

    /// A fresh seeded tiny checkpoint in `dir/model`.
    fn tiny_model(dir: &Path) -> PathBuf {
        let model = dir.join("model");
        crate::policy::FreshPolicyConfig::default()
            .build(5, "cpu")
            .unwrap()
            .save(&model)
            .unwrap();
        model
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn evaluates_a_real_tiny_model_and_resumes_from_its_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let model = tiny_model(tmp.path());
        let st = stage();
        // the order written in TOML is kept
        assert_eq!(st.models.0[0].0, "b");
        let run_dir = tmp.path().join("run");
        let out = st.run(context(&run_dir, &model)).await.unwrap();
        let report = Report::read_json(&out.artifacts["report"].path).unwrap();
        let a = report.row("a", "deduction", None).unwrap();
        let b = report.row("b", "deduction", None).unwrap();
        assert_eq!(a.n, 3);
        assert_eq!(a.k, Some(2));
        // the same checkpoint gives the same greedy results
        assert_eq!(a.accuracy, b.accuracy);
        assert!(report.row("oracle", "deduction", Some(1)).is_some());
        // one comparison: `compare` repeats the claims' own, which is kept
        assert_eq!(report.comparisons.len(), 1, "{:?}", report.comparisons);
        let c = &report.comparisons[0];
        assert!(
            c.own && c.n == 3 && c.diff == 0.0 && c.stderr == 0.0,
            "{c:?}"
        );
        // the claims go to the top of the run's report.md, the rest stays
        let claims = out.summary.unwrap();
        assert!(
            claims.starts_with("### Claims")
                && claims.contains("1. Specialists gain on their own ability: deduction +0.0"),
            "{claims}"
        );
        let section = out.report.unwrap();
        assert!(
            !section.contains("### Claims") && section.contains("| a | b | deduction (own) |"),
            "{section}"
        );
        assert!(
            section.contains("### T") && section.contains("accuracy-1.png"),
            "{section}"
        );
        assert!(run_dir.join("eval/accuracy-1.png").is_file());
        let responses = std::fs::read_to_string(run_dir.join("eval/responses/a.jsonl")).unwrap();
        assert_eq!(responses.lines().count(), 3 * (1 + 2));
        let run_report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
                .unwrap();
        let rows = run_report["results"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["stage"] == "eval"));
        assert_eq!(run_report["comparisons"][0]["stage"], "eval");
        assert_eq!(run_report["stages"]["eval"]["claims"]["warm_start"], "b");
        assert!(rows
            .iter()
            .any(|r| r["model"] == "oracle" && r["level"].is_null()));

        // A second run reads the cached results instead of generating again.
        std::fs::remove_file(run_dir.join("eval/responses/a.jsonl")).unwrap();
        let again = st.run(context(&run_dir, &model)).await.unwrap();
        assert!(!run_dir.join("eval/responses/a.jsonl").exists());
        let report2 = Report::read_json(&again.artifacts["report"].path).unwrap();
        assert_eq!(report.results, report2.results);
        // and the run report still holds one copy of the rows
        let run_report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(run_report["results"].as_array().unwrap().len(), rows.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_validation_stage_scores_the_validation_part_only() {
        let tmp = tempfile::tempdir().unwrap();
        let model = tiny_model(tmp.path());
        let mut st = stage();
        st.avg_k = 0;
        st.split = Split::Validation;
        let text = toml::to_string(&st).unwrap();
        assert!(text.contains("split = \"validation\""), "{text}");
        let run_dir = tmp.path().join("run");
        st.run(context(&run_dir, &model)).await.unwrap();
        let holdout = metaalign_core::HoldOut::default();
        let responses = std::fs::read_to_string(run_dir.join("eval/responses/a.jsonl")).unwrap();
        let generator = metaalign_tasks::deduction::DeductionGenerator::default();
        for line in responses.lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = r["task_id"].as_str().unwrap();
            assert!(id.starts_with("validation-"), "{id}");
            // the id's generator index regenerates the same puzzle, in the
            // validation part
            let index: u64 = id.split('-').nth(3).unwrap().parse().unwrap();
            let seed = super::super::heldout::split_seed(
                3,
                Split::Validation,
                "deduction",
                metaalign_core::Level(1),
            );
            let mut rng = metaalign_core::seed::item_rng(seed, "task", index);
            let task = generator
                .generate(metaalign_core::Level(1), index, &mut rng)
                .unwrap();
            assert_eq!(
                holdout.part_of(&task.puzzle),
                metaalign_core::Part::Validation
            );
        }
    }

    #[test]
    fn bad_configs_are_refused_with_the_problem_named() {
        let mut st = stage();
        let names = vec!["deduction".to_string()];
        st.check(&names).unwrap();
        let err = st
            .check(&["induction".to_string()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`deduction`"), "{err}");
        st.oracle = vec!["zzz".into()];
        assert!(st.check(&names).unwrap_err().to_string().contains("zzz"));
        let mut st = stage();
        st.tables[0].models.push("nope".into());
        assert!(st.check(&names).unwrap_err().to_string().contains("nope"));
        // claims and comparisons name evaluated models and tasks only
        let mut st = stage();
        if let Some(c) = st.claims.as_mut() {
            c.merged = vec!["mergd".into()];
        }
        let err = st.check(&names).unwrap_err().to_string();
        assert!(
            err.contains("`mergd`") && err.contains("claims.merged") && err.contains("b, a"),
            "{err}"
        );
        let mut st = stage();
        if let Some(c) = st.claims.as_mut() {
            c.specialists = [("induction".to_string(), "a".to_string())].into();
        }
        let err = st.check(&names).unwrap_err().to_string();
        assert!(
            err.contains("`induction`") && err.contains("tasks: deduction"),
            "{err}"
        );
        let mut st = stage();
        st.compare[0].baseline = "oracle".into();
        let err = st.check(&names).unwrap_err().to_string();
        assert!(
            err.contains("compare[0].baseline") && err.contains("`oracle`"),
            "{err}"
        );
        let mut st = stage();
        st.temperature = 0.0;
        assert!(st
            .check(&names)
            .unwrap_err()
            .to_string()
            .contains("temperature"));
        let text = "kind = \"evaluate\"\nmodels = { a = \"policy\" }\ntasks = [\"d\"]\nbogus = 1";
        let err = metaalign_core::config::from_toml_str::<Box<dyn StageConfig>>(text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
    }
}
