//! `[tasks.NAME] kind = "code"`: programming problems with tests, checked
//! by running the response's program in a sandbox.

use std::path::PathBuf;

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::extract::Block;
use crate::layout::Layout;
pub use crate::layout::TestSet;
use crate::sandbox::SandboxConfig;

/// What a verdict scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardMode {
    /// Correct only when every test passes (stops at the first failure,
    /// as LiveCodeBench does). Evaluation always uses this.
    #[default]
    Binary,
    /// Runs the first `fraction_tests` tests to the end and reports the
    /// fraction passed (veRL's continuous mode), which the `pass_fraction`
    /// reward turns into the reward; correct when all of them pass.
    PassFraction,
}

/// `[tasks.NAME] kind = "code"`. Every key has a default; without `path`
/// the 20-problem sample in LiveCodeBench's layout that the project ships
/// is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodeConfig {
    /// A `.jsonl`, `.json` (array) or `.parquet` file; relative paths
    /// resolve against the pipeline file's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// `auto`, `livecodebench`, `plain` or `humaneval`.
    pub layout: Layout,
    /// Only the first `limit` rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Which fenced block of a response is the program: `last` or `first`.
    pub block: Block,
    /// Which tests run: `all` or `public`.
    pub tests: TestSet,
    /// Seconds per test (LiveCodeBench evaluates with 6; training
    /// anchors use 10, see `examples/pipelines/code-domain.toml`).
    pub timeout_s: f64,
    /// `binary` or `pass_fraction`.
    pub reward_mode: RewardMode,
    /// With `pass_fraction`: the first N tests count (default: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction_tests: Option<usize>,
    /// The interpreter, a name on PATH or a path.
    pub interpreter: String,
    /// Programs run at once (0: the number of CPU cores).
    pub concurrency: usize,
    /// Address-space limit of a program, MiB.
    pub memory_mb: u64,
    /// Largest output of one test, MiB.
    pub output_limit_mb: u64,
    /// Largest file a program may write, MiB.
    pub file_size_mb: u64,
    /// Processes and threads a program may have at once.
    pub processes: u64,
    /// Files a program may have open.
    pub open_files: u64,
    /// First user id of the sandbox users (one per concurrent program).
    pub uid_base: u32,
    /// Where each run's temporary folder is made (default: the system's
    /// temporary folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch_dir: Option<PathBuf>,
    /// Run programs without isolation where none is possible (unsafe:
    /// only for trusted code on a throwaway machine).
    pub allow_unsandboxed: bool,
}

impl Default for CodeConfig {
    fn default() -> Self {
        let sandbox = SandboxConfig::default();
        Self {
            path: None,
            layout: Layout::Auto,
            limit: None,
            block: Block::Last,
            tests: TestSet::All,
            timeout_s: 6.0,
            reward_mode: RewardMode::Binary,
            fraction_tests: None,
            interpreter: sandbox.interpreter,
            concurrency: 0,
            memory_mb: sandbox.memory_mb,
            output_limit_mb: 16,
            file_size_mb: sandbox.file_size_mb,
            processes: sandbox.processes,
            open_files: sandbox.open_files,
            uid_base: sandbox.uid_base,
            scratch_dir: None,
            allow_unsandboxed: false,
        }
    }
}

impl CodeConfig {
    /// The sandbox settings of this config.
    pub fn sandbox(&self) -> SandboxConfig {
        let defaults = SandboxConfig::default();
        SandboxConfig {
            interpreter: self.interpreter.clone(),
            memory_mb: self.memory_mb,
            file_size_mb: self.file_size_mb,
            open_files: self.open_files,
            processes: self.processes,
            concurrency: if self.concurrency == 0 {
                defaults.concurrency
            } else {
                self.concurrency
            },
            uid_base: self.uid_base,
            allow_unsandboxed: self.allow_unsandboxed,
        }
    }

    /// Refuses settings that cannot work (zero limits, bad timeouts), naming the key.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(format!("code: {m}")));
        if self.limit == Some(0) {
            return bad("`limit` must be at least 1".into());
        }
        if !(self.timeout_s > 0.0 && self.timeout_s <= 600.0) {
            return bad(format!(
                "`timeout_s` must be in (0, 600] seconds, got {}",
                self.timeout_s
            ));
        }
        if self.fraction_tests == Some(0) {
            return bad("`fraction_tests` must be at least 1".into());
        }
        if self.fraction_tests.is_some() && self.reward_mode != RewardMode::PassFraction {
            return bad("`fraction_tests` applies to reward_mode = \"pass_fraction\" only".into());
        }
        if self.memory_mb < 64 {
            return bad(format!(
                "`memory_mb` must be at least 64, got {}",
                self.memory_mb
            ));
        }
        if self.output_limit_mb == 0 || self.output_limit_mb > 1024 {
            return bad("`output_limit_mb` must be in 1..=1024".into());
        }
        if self.processes == 0 || self.open_files < 8 {
            return bad("`processes` must be at least 1 and `open_files` at least 8".into());
        }
        if self.interpreter.trim().is_empty() {
            return bad("`interpreter` is empty".into());
        }
        if self.uid_base == 0 || self.uid_base.checked_add(4096).is_none() {
            return bad("`uid_base` must be a non-root user id with room for the slots".into());
        }
        Ok(())
    }
}
