//! Test-only kinds for the pipeline tests: stages that write small files,
//! count how often they ran, fail or get interrupted on request, and a
//! policy kind that materializes a marker directory. They are added by
//! [`TestKinds`], a plugin like any other.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use metaalign_core::pipeline::{
    Artifact, ArtifactKind, InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext,
};
use metaalign_core::{Error, PolicyConfig, Result, RewardConfig, StageConfig};
use serde::{Deserialize, Serialize};

/// Writes `<stage>/model/value.txt` = (input value + "+")? + `value`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProduceStage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub value: String,
    /// Fail after writing a partial file.
    #[serde(default)]
    pub fail: bool,
    /// Task sources to draw one level-1 task from each.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// A nested component, to test errors inside nested typetag tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<Box<dyn RewardConfig>>,
}

/// How many times stage `name` actually ran in `run_dir`.
pub fn run_count(run_dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(run_dir.join("counts").join(name))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn count_run(ctx: &StageContext) -> Result<()> {
    use std::io::Write;
    let dir = ctx.run_dir.join("counts");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(&ctx.stage);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    writeln!(f, "{}", ctx.seed).map_err(|e| Error::io(&path, e))
}

pub fn read_value(model_dir: &Path) -> String {
    std::fs::read_to_string(model_dir.join("value.txt")).unwrap_or_default()
}

#[typetag::serde(name = "test_produce")]
#[async_trait]
impl StageConfig for ProduceStage {
    fn inputs(&self) -> Vec<InputRef> {
        self.from
            .iter()
            .map(|f| InputRef::model("from", f.clone()))
            .collect()
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("model", ArtifactKind::Model)]
    }

    fn task_sources(&self) -> Vec<String> {
        self.tasks.clone()
    }

    fn validate(&self, _ctx: &ValidateContext) -> Result<Vec<String>> {
        if self.value.is_empty() {
            return Err(Error::config("`value` must not be empty"));
        }
        Ok(if self.value == "warn" {
            vec!["value is `warn`".to_string()]
        } else {
            Vec::new()
        })
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        count_run(&ctx)?;
        let model = ctx.dir.join("model");
        std::fs::create_dir_all(&model).map_err(|e| Error::io(&model, e))?;
        let mut value = String::new();
        if let Some(from) = &self.from {
            value = read_value(&ctx.input(from)?.path);
            value.push('+');
        }
        value.push_str(&self.value);
        for name in &self.tasks {
            let source = ctx.task(name)?;
            let mut rng = metaalign_core::seed::item_rng(ctx.seed, name, 0);
            let task = source.generate(metaalign_core::Level(1), 0, &mut rng)?;
            value.push_str(&format!("[{}]", task.kind));
        }
        if self.fail {
            std::fs::write(model.join("partial.txt"), "x").map_err(|e| Error::io(&model, e))?;
            return Err(Error::msg(format!("{} was asked to fail", ctx.stage)));
        }
        std::fs::write(model.join("value.txt"), &value).map_err(|e| Error::io(&model, e))?;
        ctx.metrics
            .log(serde_json::json!({"step": 1, "value_len": value.len()}))?;
        let mut out = StageOutputs::default();
        out.artifacts.insert(
            "model".into(),
            Artifact {
                kind: ArtifactKind::Model,
                path: model,
            },
        );
        out.report = Some(format!("value: `{value}`"));
        Ok(out)
    }
}

/// Reads a model and writes a summary file; counts its steps in
/// `<stage>/progress.txt` and resumes from there. If `<run dir>/cancel-at`
/// holds a number k, it sets the cancel flag after step k (simulating Ctrl-C).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepsStage {
    pub model: String,
    pub steps: u32,
}

#[typetag::serde(name = "test_steps")]
#[async_trait]
impl StageConfig for StepsStage {
    fn inputs(&self) -> Vec<InputRef> {
        vec![InputRef::model("model", self.model.clone())]
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("summary", ArtifactKind::File)]
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        count_run(&ctx)?;
        let progress = ctx.dir.join("progress.txt");
        let mut done: u32 = std::fs::read_to_string(&progress)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let cancel_at: Option<u32> = std::fs::read_to_string(ctx.run_dir.join("cancel-at"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let executed = ctx.dir.join("executed.txt");
        while done < self.steps {
            ctx.cancel.check()?;
            done += 1;
            std::fs::write(&progress, done.to_string()).map_err(|e| Error::io(&progress, e))?;
            let mut log = std::fs::read_to_string(&executed).unwrap_or_default();
            log.push_str(&format!("{done}\n"));
            std::fs::write(&executed, log).map_err(|e| Error::io(&executed, e))?;
            if cancel_at == Some(done) {
                ctx.cancel.cancel();
            }
        }
        let value = read_value(&ctx.input(&self.model)?.path);
        let summary = ctx.dir.join("summary.txt");
        std::fs::write(&summary, format!("{value} x{}", self.steps))
            .map_err(|e| Error::io(&summary, e))?;
        let mut out = StageOutputs::default();
        out.artifacts.insert(
            "summary".into(),
            Artifact {
                kind: ArtifactKind::File,
                path: summary,
            },
        );
        Ok(out)
    }
}

/// A policy that materializes `<dir>/model/value.txt`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestPolicy {
    pub value: String,
    #[serde(default, with = "metaalign_core::pipeline::paths::option")]
    pub data: Option<PathBuf>,
}

#[typetag::serde(name = "test_policy")]
impl PolicyConfig for TestPolicy {
    fn describe(&self) -> String {
        format!("test policy `{}`", self.value)
    }

    fn validate(&self) -> Result<Vec<String>> {
        Ok(match &self.data {
            Some(p) if !p.exists() => vec![format!("{} does not exist", p.display())],
            _ => Vec::new(),
        })
    }

    fn materialize(&self, dir: &Path, seed: u64, _device: &str) -> Result<PathBuf> {
        let model = dir.join("model");
        std::fs::create_dir_all(&model).map_err(|e| Error::io(&model, e))?;
        std::fs::write(model.join("value.txt"), format!("{}@{seed}", self.value))
            .map_err(|e| Error::io(&model, e))?;
        Ok(model)
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The test kinds, added like any plugin's.
pub struct TestKinds;

impl metaalign_core::Plugin for TestKinds {
    fn build(&self, registry: &mut metaalign_core::Registry) {
        registry
            .add_stage(
                "test stage: writes a value file (optionally derived from an input model)",
                ProduceStage {
                    from: None,
                    value: "a".into(),
                    fail: false,
                    tasks: Vec::new(),
                    reward: None,
                },
            )
            .add_stage(
                "test stage: resumable steps over an input model, writes a summary file",
                StepsStage {
                    model: "policy".into(),
                    steps: 3,
                },
            )
            .add_policy(
                "test policy: a directory with a value file",
                TestPolicy {
                    value: "p".into(),
                    data: None,
                },
            );
    }
}

/// Installs the built-in kinds and the test kinds.
pub fn init() {
    metaalign::install_default_plugins().unwrap();
    metaalign_core::registry::ensure(&TestKinds).unwrap();
}
