//! Merge configuration in TOML: the standalone file of
//! `metaalign merge --config merge.toml`, and the pipeline stage `merge`.
//!
//! Standalone:
//! ```toml
//! method = { kind = "linear" }      # any registered Merge kind, with its options
//! dtype = "float32"                 # output dtype (default: the inputs')
//! # base = "path/to/base"           # or { name = "base", path = "..." }
//! [[models]]
//! name = "deduction"                # optional (default: the directory name)
//! path = "runs/maa/deduction/model" # relative to this file
//! weight = 1.0                      # per-model parameters of the method
//! [[models]]
//! path = "runs/maa/induction/model"
//! weight = 0.2
//! ```
//!
//! Pipeline stage:
//! ```toml
//! [[stages]]
//! name = "merged"
//! kind = "merge"
//! models = [{ from = "deduction.model", weight = 1.0 }, { from = "induction.model", weight = 0.2 }]
//! method = { kind = "linear" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use metaalign_core::config::{MergeConfig, StageConfig};
use metaalign_core::merge::{MergeInputs, MergeModel, MergeOptions, MergeSummary};
use metaalign_core::pipeline::{
    Artifact, ArtifactKind, InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext,
};
use metaalign_core::{Error, Result};

use crate::dtype::FloatDType;
use crate::params::ParamValue;

/// A size in bytes: an integer, or a string with a K/M/B(G) suffix as in
/// mergekit's `--out-shard-size` ("5B" = 5·10⁹ bytes, "500M").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum ByteSize {
    Bytes(u64),
    Text(String),
}

impl ByteSize {
    /// The size in bytes.
    pub(crate) fn bytes(&self) -> Result<u64> {
        match self {
            ByteSize::Bytes(b) => Ok(*b),
            ByteSize::Text(s) => parse_size(s),
        }
    }
}

/// Parses "5B", "500M", "2GB", "1000" into bytes (decimal multipliers).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_uppercase();
    let suffixes: [(&str, f64); 7] = [
        ("GB", 1e9),
        ("MB", 1e6),
        ("KB", 1e3),
        ("G", 1e9),
        ("B", 1e9),
        ("M", 1e6),
        ("K", 1e3),
    ];
    let (num, mult) = suffixes
        .iter()
        .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n, *m)))
        .unwrap_or((t.as_str(), 1.0));
    let value: f64 = num.trim().parse().map_err(|_| {
        Error::config(format!(
            "invalid size `{s}` (examples: 5B, 500M, 2000000000)"
        ))
    })?;
    if value.is_nan() || value < 0.0 || !value.is_finite() {
        return Err(Error::config(format!("invalid size `{s}`")));
    }
    Ok((value * mult) as u64)
}

/// One model of a standalone merge file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelEntry {
    /// Name for per-model settings (default: the directory name).
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Checkpoint directory (a relative path is relative to the file).
    pub(crate) path: PathBuf,
    /// Per-model parameters (`weight`, `density`, ...).
    #[serde(flatten)]
    pub(crate) params: BTreeMap<String, serde_json::Value>,
}

/// `base = "path"` or `base = { name, path }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum BaseEntry {
    Path(PathBuf),
    Model {
        #[serde(default)]
        name: Option<String>,
        path: PathBuf,
    },
}

/// Output settings shared by the standalone file and the stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputSettings {
    /// `float32`, `bfloat16` or `float16`.
    #[serde(default)]
    pub(crate) dtype: Option<String>,
    /// Maximum bytes per shard ("5B" default, as mergekit).
    #[serde(default)]
    pub(crate) shard_size: Option<ByteSize>,
    /// Name of the model whose config/tokenizer files are copied.
    #[serde(default)]
    pub(crate) copy_files_from: Option<String>,
    /// Worker threads.
    #[serde(default)]
    pub(crate) threads: Option<usize>,
    /// Bound on the memory of tensors merged at once ("1000M"...).
    #[serde(default)]
    pub(crate) max_in_flight: Option<ByteSize>,
}

impl OutputSettings {
    /// The core merge options (checked: dtype and sizes parse).
    pub(crate) fn options(&self) -> Result<MergeOptions> {
        if let Some(d) = &self.dtype {
            d.parse::<FloatDType>()?;
        }
        Ok(MergeOptions {
            out_dtype: self.dtype.clone(),
            shard_size_bytes: self.shard_size.as_ref().map(ByteSize::bytes).transpose()?,
            copy_files_from: self.copy_files_from.clone(),
            overwrite: false,
            progress: false,
            max_in_flight_bytes: self
                .max_in_flight
                .as_ref()
                .map(ByteSize::bytes)
                .transpose()?,
            threads: self.threads,
        })
    }
}

/// The standalone merge file (`metaalign merge --config merge.toml`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeSpec {
    /// The merge method and its options (`method = { kind = "linear" }`).
    pub method: Box<dyn MergeConfig>,
    /// The models to merge, in order.
    pub(crate) models: Vec<ModelEntry>,
    /// Base model, for the methods that need one.
    #[serde(default)]
    pub(crate) base: Option<BaseEntry>,
    /// Seed of stochastic methods (DARE).
    #[serde(default)]
    pub seed: u64,
    /// Output dtype (default: the inputs').
    #[serde(default)]
    pub(crate) dtype: Option<String>,
    /// Maximum bytes per output shard.
    #[serde(default)]
    pub(crate) shard_size: Option<ByteSize>,
    /// Name of the model whose config/tokenizer files are copied.
    #[serde(default)]
    pub(crate) copy_files_from: Option<String>,
    /// Worker threads.
    #[serde(default)]
    pub(crate) threads: Option<usize>,
    /// Bound on the memory of tensors merged at once.
    #[serde(default)]
    pub(crate) max_in_flight: Option<ByteSize>,
}

fn default_name(path: &Path, i: usize) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| format!("model{i}"))
}

fn resolve(base_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

fn check_params(name: &str, params: &BTreeMap<String, serde_json::Value>) -> Result<()> {
    for (k, v) in params {
        ParamValue::from_json(v, &format!("model `{name}` parameter `{k}`"))?;
    }
    Ok(())
}

impl MergeSpec {
    /// Parses a standalone merge file (errors name the line).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        metaalign_core::config::from_toml_str(text, origin)
    }

    /// Reads and parses a standalone merge file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    fn settings(&self) -> OutputSettings {
        OutputSettings {
            dtype: self.dtype.clone(),
            shard_size: self.shard_size.clone(),
            copy_files_from: self.copy_files_from.clone(),
            threads: self.threads,
            max_in_flight: self.max_in_flight.clone(),
        }
    }

    /// The core merge inputs, with relative paths resolved against `base_dir`.
    pub fn to_inputs(&self, base_dir: &Path, out: &Path) -> Result<MergeInputs> {
        if self.models.is_empty() {
            return Err(Error::config(
                "a merge needs at least one entry in `models`",
            ));
        }
        let mut models = Vec::new();
        for (i, m) in self.models.iter().enumerate() {
            let name = m.name.clone().unwrap_or_else(|| default_name(&m.path, i));
            check_params(&name, &m.params)?;
            models.push(MergeModel {
                name,
                path: resolve(base_dir, &m.path),
                params: m.params.clone(),
            });
        }
        let base = self.base.as_ref().map(|b| {
            let (name, path) = match b {
                BaseEntry::Path(p) => (None, p),
                BaseEntry::Model { name, path } => (name.clone(), path),
            };
            MergeModel::new(
                name.unwrap_or_else(|| "base".to_string()),
                resolve(base_dir, path),
            )
        });
        Ok(MergeInputs {
            models,
            base,
            out: out.to_path_buf(),
            seed: self.seed,
            options: self.settings().options()?,
        })
    }

    /// Builds the method and runs the merge.
    pub async fn run(
        &self,
        base_dir: &Path,
        out: &Path,
        options: impl FnOnce(&mut MergeOptions),
    ) -> Result<MergeSummary> {
        let mut inputs = self.to_inputs(base_dir, out)?;
        options(&mut inputs.options);
        let merger = self.method.build()?;
        merger.merge(&inputs).await
    }
}

/// One model of the `merge` stage: a reference plus per-model parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StageModel {
    /// `"<stage>.model"` or `"policy"`.
    pub(crate) from: String,
    /// Name for per-model settings and reports (default: the stage name).
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Per-model parameters (`weight`, `density`, ...).
    #[serde(flatten)]
    pub(crate) params: BTreeMap<String, serde_json::Value>,
}

impl StageModel {
    fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.from
                .split('.')
                .next()
                .unwrap_or(&self.from)
                .to_string()
        })
    }
}

/// The pipeline stage `merge`: merges earlier stages' models into `model`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeStageConfig {
    /// The models to merge, in order.
    pub(crate) models: Vec<StageModel>,
    /// Base model reference for task-vector methods and slerp.
    #[serde(default)]
    pub base: Option<String>,
    /// The merge method and its options.
    pub(crate) method: Box<dyn MergeConfig>,
    /// Output dtype (default: the inputs').
    #[serde(default)]
    pub(crate) dtype: Option<String>,
    /// Maximum bytes per output shard.
    #[serde(default)]
    pub(crate) shard_size: Option<ByteSize>,
    /// Model name (as in `models`, or `base`) whose config/tokenizer are copied.
    #[serde(default)]
    pub copy_files_from: Option<String>,
    /// Worker threads.
    #[serde(default)]
    pub(crate) threads: Option<usize>,
    /// Bound on the memory of tensors merged at once.
    #[serde(default)]
    pub(crate) max_in_flight: Option<ByteSize>,
}

impl MergeStageConfig {
    fn settings(&self) -> OutputSettings {
        OutputSettings {
            dtype: self.dtype.clone(),
            shard_size: self.shard_size.clone(),
            copy_files_from: self.copy_files_from.clone(),
            threads: self.threads,
            max_in_flight: self.max_in_flight.clone(),
        }
    }

    fn check(&self) -> Result<()> {
        if self.models.is_empty() {
            return Err(Error::config(
                "stage `merge` needs at least one entry in `models`",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.models {
            let name = m.display_name();
            if !seen.insert(name.clone()) {
                return Err(Error::config(format!(
                    "stage `merge`: two models are named `{name}`; set `name = ...` on one of them"
                )));
            }
            check_params(&name, &m.params)?;
        }
        self.settings().options()?;
        self.method.build()?;
        Ok(())
    }
}

#[typetag::serde(name = "merge")]
#[async_trait]
impl StageConfig for MergeStageConfig {
    fn inputs(&self) -> Vec<InputRef> {
        let mut refs: Vec<InputRef> = self
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| InputRef::model(format!("models[{i}]"), m.from.clone()))
            .collect();
        if let Some(b) = &self.base {
            refs.push(InputRef::model("base", b.clone()));
        }
        refs
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("model", ArtifactKind::Model)]
    }

    fn validate(&self, _ctx: &ValidateContext) -> Result<Vec<String>> {
        self.check()?;
        Ok(Vec::new())
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.check()?;
        let out = ctx.dir.join("model");
        let mut outputs = StageOutputs::default();
        outputs.artifacts.insert(
            "model".into(),
            Artifact {
                kind: ArtifactKind::Model,
                path: out.clone(),
            },
        );
        // A finished merge (renamed into place atomically) is reused on re-run.
        if out.join("metaalign_merge.json").is_file() {
            outputs.report = Some(format!(
                "## Merge `{}`\n\nReused the finished merge in `{}`.\n",
                ctx.stage,
                out.display()
            ));
            return Ok(outputs);
        }
        ctx.cancel.check()?;
        let mut models = Vec::new();
        for m in &self.models {
            models.push(MergeModel {
                name: m.display_name(),
                path: ctx.input(&m.from)?.path.clone(),
                params: m.params.clone(),
            });
        }
        let base = match &self.base {
            Some(b) => Some(MergeModel::new(
                b.split('.').next().unwrap_or(b).to_string(),
                ctx.input(b)?.path.clone(),
            )),
            None => None,
        };
        let mut options = self.settings().options()?;
        options.overwrite = true;
        options.progress = true;
        let inputs = MergeInputs {
            models,
            base,
            out: out.clone(),
            seed: ctx.seed,
            options,
        };
        let merger = self.method.build()?;
        let summary = merger.merge(&inputs).await?;
        ctx.metrics.log(serde_json::json!({
            "event": "merge",
            "method": merger.kind(),
            "tensors": summary.tensors,
            "bytes_written": summary.bytes_written,
            "seconds": summary.seconds,
            "peak_rss_bytes": summary.peak_rss_bytes,
        }))?;
        let weights: Vec<String> = inputs
            .models
            .iter()
            .map(|m| {
                let params: Vec<String> =
                    m.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("| {} | {} |", m.name, params.join(", "))
            })
            .collect();
        outputs.report = Some(format!(
            "## Merge `{}`\n\nMethod `{}`{}: {} tensors, {:.1} MB written in {:.1} s.\n\n| model | parameters |\n|---|---|\n{}\n",
            ctx.stage,
            merger.kind(),
            inputs.base.as_ref().map(|b| format!(" (base `{}`)", b.name)).unwrap_or_default(),
            summary.tensors,
            summary.bytes_written as f64 / 1e6,
            summary.seconds,
            weights.join("\n")
        ));
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5B").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("500M").unwrap(), 500_000_000);
        assert_eq!(parse_size("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("x").is_err());
    }
}
