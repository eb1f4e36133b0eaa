//! The `code` verifier: extracts the response's program, runs it against
//! the task's tests in the sandbox, and reports how many passed.
//!
//! The verdict's `parsed` is `"<passed>/<run>"` (what the `pass_fraction`
//! reward reads); `details` names the first failing test and why.

use std::sync::{Arc, Mutex, OnceLock};

use metaalign_core::{format_compact, CompactString, Outcome, Task, Verdict, Verifier};
use metaalign_tasks::common::format::check_response_format;
use serde_json::Value;

use crate::config::{CodeConfig, RewardMode};
use crate::extract::{extract_program, Block, NoProgram};
use crate::problem::Problem;
use crate::runner::{run_tests, RunOptions, RunReport};
use crate::sandbox::{Sandbox, SandboxConfig};

/// Sandboxes by their settings: task sources with the same settings share
/// one, so its concurrency bound holds across them.
type SandboxCache = Mutex<Vec<(String, Arc<Sandbox>)>>;
static SANDBOXES: OnceLock<SandboxCache> = OnceLock::new();

/// The shared sandbox for `config` (set up on first use).
pub fn shared_sandbox(config: &SandboxConfig) -> Result<Arc<Sandbox>, String> {
    let key = format!("{config:?}");
    let cache = SANDBOXES.get_or_init(|| Mutex::new(Vec::new()));
    let mut list = cache
        .lock()
        .map_err(|_| "the sandbox cache is poisoned".to_string())?;
    if let Some((_, s)) = list.iter().find(|(k, _)| *k == key) {
        return Ok(s.clone());
    }
    let sandbox = Arc::new(Sandbox::new(config.clone()).map_err(|e| e.to_string())?);
    list.push((key, sandbox.clone()));
    Ok(sandbox)
}

/// Checks programs by running them (total: a verdict for any text).
pub struct CodeVerifier {
    sandbox_config: SandboxConfig,
    sandbox: OnceLock<Result<Arc<Sandbox>, String>>,
    /// Which fenced block is the program.
    pub block: Block,
    /// Seconds per test.
    pub timeout_s: f64,
    /// All-or-nothing, or the fraction of tests passed.
    pub reward_mode: RewardMode,
    /// With `pass_fraction`: the first N tests count.
    pub fraction_tests: Option<usize>,
    /// Largest output of one test, bytes.
    pub output_cap: usize,
    /// Where each run's temporary folder is made.
    pub scratch: Option<std::path::PathBuf>,
}

impl CodeVerifier {
    /// A verifier with `config`'s settings; the sandbox is set up on first use.
    pub fn new(config: &CodeConfig) -> Self {
        Self {
            sandbox_config: config.sandbox(),
            sandbox: OnceLock::new(),
            block: config.block,
            timeout_s: config.timeout_s,
            reward_mode: config.reward_mode,
            fraction_tests: config.fraction_tests,
            output_cap: (config.output_limit_mb as usize) << 20,
            scratch: config.scratch_dir.clone(),
        }
    }

    /// The sandbox, set up on first use; the error says why programs
    /// cannot run here.
    pub fn sandbox(&self) -> Result<&Arc<Sandbox>, &str> {
        self.sandbox
            .get_or_init(|| {
                let s = shared_sandbox(&self.sandbox_config);
                if let Err(e) = &s {
                    tracing::error!("{e}");
                }
                s
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The run settings for a task (a reward label may carry its own
    /// `timeout_s`, up to 60 s).
    pub fn run_options(&self, task: &Task) -> RunOptions {
        let timeout = task
            .ground_truth
            .get("timeout_s")
            .and_then(Value::as_f64)
            .filter(|t| *t > 0.0 && *t <= 60.0)
            .unwrap_or(self.timeout_s);
        let fraction = self.reward_mode == RewardMode::PassFraction;
        RunOptions {
            timeout,
            limit: if fraction { self.fraction_tests } else { None },
            keep_going: fraction,
            output_cap: self.output_cap,
            scratch: self.scratch.clone(),
            ..RunOptions::default()
        }
    }

    /// Runs a response's program against a task's tests: the report, or
    /// the verdict when no program could run.
    pub fn run(
        &self,
        task: &Task,
        response: &str,
    ) -> Result<(Problem, RunReport), (Outcome, String)> {
        let problem = Problem::from_ground_truth(&task.ground_truth)
            .map_err(|e| (Outcome::Unparseable, e))?;
        if problem.tests.is_empty() {
            return Err((Outcome::Unparseable, "the task has no tests".into()));
        }
        let code = extract_program(response, self.block).map_err(|e| {
            let outcome = match e {
                NoProgram::OtherLanguage(_) => Outcome::Wrong,
                _ => Outcome::Unparseable,
            };
            (outcome, e.describe())
        })?;
        let sandbox = self
            .sandbox()
            .map_err(|e| (Outcome::Unparseable, format!("not run: {e}")))?;
        let token = metaalign_core::cancel::current();
        let cancelled = || token.as_ref().is_some_and(|t| t.is_cancelled());
        let program = problem.program(&code);
        let report = run_tests(
            sandbox,
            &problem,
            &program,
            &self.run_options(task),
            &cancelled,
        );
        Ok((problem, report))
    }
}

impl Verifier for CodeVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        let format = check_response_format(task, response);
        let (outcome, parsed, details): (Outcome, Option<CompactString>, CompactString) =
            match self.run(task, response) {
                Err((outcome, why)) => (outcome, None, why.into()),
                Ok((problem, report)) => {
                    let passed = report.passed();
                    let total = report.total;
                    let parsed = Some(format_compact!("{passed}/{total}"));
                    match report.first_failure() {
                        None if total > 0 => (
                            Outcome::Correct,
                            parsed,
                            format_compact!("all {total} tests passed"),
                        ),
                        None => (Outcome::Wrong, parsed, "no test was run".into()),
                        Some((i, why)) => {
                            let kind = if i < problem.public {
                                "public"
                            } else {
                                "private"
                            };
                            (
                                Outcome::Wrong,
                                parsed,
                                format_compact!(
                                    "{passed}/{total} tests passed; test {} ({kind}): {why}",
                                    i + 1
                                ),
                            )
                        }
                    }
                }
            };
        format.verdict(outcome, parsed, details)
    }
}
