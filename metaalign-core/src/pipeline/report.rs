//! What a run reports: each stage's [`StageStatus`] and record, the
//! [`RunSummary`] that [`run`](super::run) returns, and the run's
//! `report.md`, rewritten after every stage.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::file::Pipeline;
use super::StageOutputs;
use crate::atomic::write_atomic;
use crate::error::Result;

/// What happened to a stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Ran to completion in this invocation.
    Ran,
    /// Up to date: its marker matched, its outputs were restored.
    Skipped,
    /// Failed with this message.
    Failed(String),
    /// Stopped by Ctrl-C; re-running resumes.
    Interrupted,
    /// Not reached (an earlier stage failed or was interrupted).
    Pending,
}

impl StageStatus {
    /// The status as the report's stage table shows it.
    fn label(&self) -> &'static str {
        match self {
            StageStatus::Ran => "ran",
            StageStatus::Skipped => "skipped (up to date)",
            StageStatus::Failed(_) => "FAILED",
            StageStatus::Interrupted => "interrupted",
            StageStatus::Pending => "not run",
        }
    }
}

/// One stage's record in a [`RunSummary`].
#[derive(Clone, Debug)]
pub struct StageRecord {
    /// The stage's name.
    pub name: String,
    pub(crate) kind: String,
    /// What happened to it.
    pub status: StageStatus,
    /// Duration of the run that produced the outputs (for a skipped stage,
    /// of its earlier run).
    pub duration: Duration,
    /// Its outputs, with absolute paths (empty unless it ran or was skipped).
    pub outputs: StageOutputs,
}

/// The result of [`run`](super::run).
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// `<out_dir>/<run name>/`.
    pub run_dir: PathBuf,
    /// The starting policy's checkpoint, when `[policy]` is set.
    pub policy: Option<PathBuf>,
    /// Every stage, in run order.
    pub stages: Vec<StageRecord>,
}

impl RunSummary {
    /// Every stage pending: the summary before anything ran.
    pub(crate) fn new(pipeline: &Pipeline, run_dir: PathBuf) -> Self {
        RunSummary {
            run_dir,
            policy: None,
            stages: pipeline
                .stages
                .iter()
                .map(|s| StageRecord {
                    name: s.name.clone(),
                    kind: s.kind.clone(),
                    status: StageStatus::Pending,
                    duration: Duration::ZERO,
                    outputs: StageOutputs::default(),
                })
                .collect(),
        }
    }

    /// The record of the stage called `name`.
    pub fn stage(&self, name: &str) -> Option<&StageRecord> {
        self.stages.iter().find(|s| s.name == name)
    }
}

/// Writes `report.md`: the stage table, then each stage's own section.
pub(crate) fn write_report(pipeline: &Pipeline, summary: &RunSummary) -> Result<()> {
    let run_dir = &summary.run_dir;
    let mut md = String::new();
    let s = &pipeline.settings;
    let _ = writeln!(md, "# Run `{}`\n", s.name);
    let _ = writeln!(
        md,
        "Config: `config.toml` (copied from `{}`) · seed {} · device `{}`\n",
        pipeline.origin, s.seed, s.device
    );
    if let (Some(policy), Some(path)) = (&pipeline.policy, &summary.policy) {
        let _ = writeln!(
            md,
            "Starting policy: {} → `{}`\n",
            policy.describe(),
            display_rel(path, run_dir)
        );
    }
    // Stage summaries first: what the run found, before how it ran.
    let summaries: Vec<(&str, &str)> = summary
        .stages
        .iter()
        .filter(|r| !matches!(r.status, StageStatus::Failed(_)))
        .filter_map(|r| Some((r.name.as_str(), r.outputs.summary.as_deref()?)))
        .collect();
    for (name, text) in &summaries {
        let _ = writeln!(md, "## Summary (stage `{name}`)\n\n{}\n", text.trim_end());
    }
    if !summaries.is_empty() {
        let _ = writeln!(md, "## Stages\n");
    }
    let _ = writeln!(md, "| # | stage | kind | status | duration | outputs |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (i, r) in summary.stages.iter().enumerate() {
        let outputs: Vec<String> = r
            .outputs
            .artifacts
            .iter()
            .map(|(n, a)| format!("`{n}`: `{}`", display_rel(&a.path, run_dir)))
            .collect();
        let duration = if r.status == StageStatus::Pending {
            "–".to_string()
        } else {
            format_duration(r.duration)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            r.name,
            r.kind,
            r.status.label(),
            duration,
            if outputs.is_empty() {
                "–".to_string()
            } else {
                outputs.join("<br>")
            }
        );
    }
    for r in &summary.stages {
        if let StageStatus::Failed(message) = &r.status {
            let _ = writeln!(md, "\n## {} (failed)\n\n```\n{message}\n```", r.name);
        } else if let Some(section) = &r.outputs.report {
            let _ = writeln!(md, "\n## {}\n\n{}", r.name, section.trim_end());
        }
    }
    if summary
        .stages
        .iter()
        .any(|r| r.status == StageStatus::Interrupted)
    {
        let _ = writeln!(
            md,
            "\nThe run was interrupted. Run the same command again to resume: finished stages are skipped and the interrupted one continues from its folder."
        );
    }
    write_atomic(&run_dir.join("report.md"), md.as_bytes())
}

fn display_rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}
