//! The `generate` pipeline stage: writes a dataset of one task source to the
//! stage folder (output `dataset`).
//!
//! ```toml
//! [[stages]]
//! name = "data"
//! kind = "generate"
//! task = "deduction"     # a source declared in [tasks]
//! levels = [1, 2]
//! count = 1000           # tasks per level
//! format = "jsonl"       # or "parquet" (veRL layout)
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use metaalign_core::pipeline::{
    Artifact, ArtifactKind, InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext,
};
use metaalign_core::{Error, Level, Result, StageConfig, Task};
use serde::{Deserialize, Serialize};

use crate::generate::generate_tasks;

/// Config of the `generate` stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateStage {
    /// The task source (a name under `[tasks]`).
    pub task: String,
    /// Levels to generate, each with `count` tasks.
    #[serde(default = "default_levels")]
    pub levels: Vec<u32>,
    /// Tasks per level (default 1000).
    #[serde(default = "default_count")]
    pub count: usize,
    /// `jsonl` (default) or `parquet`.
    #[serde(default = "default_format")]
    pub format: String,
    /// `extra_info.split` of parquet rows.
    #[serde(default = "default_split")]
    pub split: String,
}

fn default_levels() -> Vec<u32> {
    vec![1]
}
fn default_count() -> usize {
    1000
}
fn default_format() -> String {
    "jsonl".into()
}
fn default_split() -> String {
    "train".into()
}

impl GenerateStage {
    fn check(&self) -> Result<()> {
        if self.levels.is_empty() {
            return Err(Error::config("generate stage: `levels` is empty"));
        }
        if let Some(l) = self.levels.iter().find(|l| **l == 0) {
            return Err(Error::config(format!(
                "generate stage: level {l} is invalid (levels start at 1)"
            )));
        }
        if self.count == 0 {
            return Err(Error::config("generate stage: `count` must be at least 1"));
        }
        if !matches!(self.format.as_str(), "jsonl" | "parquet") {
            return Err(Error::config(format!(
                "generate stage: unknown format `{}` (expected `jsonl` or `parquet`)",
                self.format
            )));
        }
        Ok(())
    }
}

#[typetag::serde(name = "generate")]
#[async_trait]
impl StageConfig for GenerateStage {
    fn inputs(&self) -> Vec<InputRef> {
        Vec::new()
    }

    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("dataset", ArtifactKind::Dataset)]
    }

    fn task_sources(&self) -> Vec<String> {
        vec![self.task.clone()]
    }

    fn validate(&self, ctx: &ValidateContext) -> Result<Vec<String>> {
        self.check()?;
        if !ctx.task_names.contains(&self.task) {
            return Err(Error::config(format!(
                "generate stage: task source `{}` is not declared in [tasks] (declared: {})",
                self.task,
                ctx.task_names.join(", ")
            )));
        }
        Ok(Vec::new())
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.check()?;
        let generator = ctx.task(&self.task)?.clone();
        let path = ctx.dir.join(format!("dataset.{}", self.format));
        std::fs::create_dir_all(&ctx.dir).map_err(|e| Error::io(&ctx.dir, e))?;
        let mut report = format!(
            "Generated `{}` tasks ({}), {} per level, levels {:?}: `{}`\n",
            self.task,
            generator.kind(),
            self.count,
            self.levels,
            path.display()
        );
        if path.exists() {
            // Written atomically (temp file + rename): a finished file from
            // an interrupted run is complete and deterministic.
            report.push_str("(kept from an earlier run)\n");
        } else {
            let (levels, count, seed, split) = (
                self.levels.clone(),
                self.count,
                ctx.seed,
                self.split.clone(),
            );
            let cancel = ctx.cancel.clone();
            let out = path.clone();
            off_runtime(move || -> Result<()> {
                let mut tasks: Vec<Task> = Vec::new();
                for level in levels {
                    cancel.check()?;
                    tasks.extend(generate_tasks(
                        generator.as_ref(),
                        Level(level),
                        count,
                        seed,
                    )?);
                }
                super::write_tasks(&out, &tasks, &split)
            })
            .await?;
            ctx.metrics.log(serde_json::json!({
                "event": "dataset_written",
                "path": path.display().to_string(),
                "tasks": self.count * self.levels.len(),
            }))?;
        }
        let mut outputs = StageOutputs {
            report: Some(report),
            ..StageOutputs::default()
        };
        outputs.artifacts.insert(
            "dataset".into(),
            Artifact {
                kind: ArtifactKind::Dataset,
                path,
            },
        );
        Ok(outputs)
    }
}

/// Runs CPU work on rayon's pool and awaits it without blocking the async
/// runtime (and without depending on a particular runtime).
/// A panic in `work` comes back as an error.
fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> impl Future<Output = Result<T>> {
    struct Shared<T> {
        value: Option<T>,
        waker: Option<Waker>,
    }
    struct Wait<T>(Arc<Mutex<Shared<T>>>);
    impl<T> Future for Wait<T> {
        type Output = T;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            let mut s = match self.0.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            match s.value.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    s.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }
    }
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        waker: None,
    }));
    let theirs = shared.clone();
    rayon::spawn(move || {
        let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
            .unwrap_or_else(|_| Err(Error::msg("dataset generation panicked")));
        let mut s = match theirs.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        s.value = Some(value);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    });
    Wait(shared)
}
