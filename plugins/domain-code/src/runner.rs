//! Runs one program against a problem's tests: the harness
//! (`harness.py`) in the sandbox, one interpreter for as many tests as
//! pass in a row, results compared here (expected outputs never enter
//! the sandbox).

use std::ffi::OsString;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::check::{compare_stdout, compare_value};
use crate::problem::{Mode, Problem};
use crate::pyvalue::{from_json, from_tagged};
use crate::sandbox::{Line, Running, Sandbox, Slot, Zygote};

/// The harness source, passed with `python -c`.
pub const HARNESS: &str = include_str!("harness.py");

/// How to run the tests of one sample.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Per-test time limit, seconds.
    pub timeout: f64,
    /// Run only the first `limit` tests.
    pub limit: Option<usize>,
    /// Go on after a failed test (pass-fraction rewards); otherwise stop
    /// at the first failure, as LiveCodeBench does.
    pub keep_going: bool,
    /// Largest output of one test, bytes.
    pub output_cap: usize,
    /// Time the interpreter may take to start, seconds.
    pub startup: f64,
    /// Where the per-run temporary folders go (default: the system's).
    pub scratch: Option<std::path::PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout: 6.0,
            limit: None,
            keep_going: false,
            output_cap: 16 << 20,
            startup: 10.0,
            scratch: None,
        }
    }
}

/// One test's result.
#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome {
    /// The test passed.
    pub passed: bool,
    /// Why it failed (or `None`).
    pub reason: Option<String>,
    /// Seconds the test ran inside the harness, when known.
    pub seconds: Option<f64>,
}

impl TestOutcome {
    fn fail(reason: impl Into<String>) -> Self {
        Self {
            passed: false,
            reason: Some(reason.into()),
            seconds: None,
        }
    }
}

/// The results of a sample: one per test run (tests after a first
/// failure are not run unless `keep_going`).
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// One outcome per test run, in order.
    pub outcomes: Vec<TestOutcome>,
    /// Tests that were to be run.
    pub total: usize,
    /// Interpreters started.
    pub processes: usize,
}

impl RunReport {
    /// Tests that passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed).count()
    }

    /// Every test was run and passed.
    pub fn all_passed(&self) -> bool {
        self.total > 0 && self.passed() == self.total
    }

    /// The first failure: its index and reason.
    pub fn first_failure(&self) -> Option<(usize, &str)> {
        self.outcomes
            .iter()
            .enumerate()
            .find(|(_, o)| !o.passed)
            .map(|(i, o)| (i, o.reason.as_deref().unwrap_or("failed")))
    }
}

/// Runs `program` against `problem` in `sandbox`; `cancelled` is polled
/// while it runs (the programs are killed when it turns true).
pub fn run_tests(
    sandbox: &Sandbox,
    problem: &Problem,
    program: &str,
    opts: &RunOptions,
    cancelled: &dyn Fn() -> bool,
) -> RunReport {
    let n = opts
        .limit
        .map_or(problem.tests.len(), |l| l.min(problem.tests.len()));
    let mut report = RunReport {
        total: n,
        ..RunReport::default()
    };
    let expected: Vec<Option<Result<crate::pyvalue::Py, String>>> = problem.tests[..n]
        .iter()
        .map(|t| (problem.mode == Mode::Functional).then(|| from_json(&t.output)))
        .collect();
    let mut next = 0;
    while next < n {
        if cancelled() {
            fill(&mut report, n, "cancelled: the request went away");
            return report;
        }
        let stop = run_batch(
            sandbox,
            problem,
            program,
            opts,
            next,
            n,
            &expected,
            &mut report,
            cancelled,
        );
        next = report.outcomes.len();
        if stop || !opts.keep_going {
            break;
        }
    }
    if !opts.keep_going || report.outcomes.len() < n {
        // Tests after a first failure are not run: they count as failed.
        let reason = report
            .first_failure()
            .map(|(i, r)| format!("not run: test {} failed ({r})", i + 1))
            .unwrap_or_else(|| "not run".into());
        fill(&mut report, n, &reason);
    }
    report
}

fn fill(report: &mut RunReport, n: usize, reason: &str) {
    while report.outcomes.len() < n {
        report.outcomes.push(TestOutcome::fail(reason));
    }
}

/// CPU seconds of a zygote itself (each sample sets its own limit).
const ZYGOTE_CPU: u64 = 1 << 31;

fn start_zygote(sandbox: &Sandbox, slot: &Slot, opts: &RunOptions) -> Result<Zygote, String> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("metaalign-code-slot-");
    let dir = match &opts.scratch {
        Some(base) => builder.tempdir_in(base),
        None => builder.tempdir(),
    }
    .map_err(|e| format!("sandbox: cannot make a folder: {e}"))?;
    let args: Vec<OsString> = vec![
        "-I".into(),
        "-S".into(),
        "-c".into(),
        HARNESS.into(),
        "--zygote".into(),
    ];
    let mut run = sandbox
        .spawn(slot, dir.path(), &args, ZYGOTE_CPU, true)
        .map_err(|e| format!("sandbox: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs_f64(opts.startup);
    match run.next_line(deadline, &|| false) {
        Line::Text(t) if t == b"{\"zygote\": true}" => Ok(Zygote { run, dir, runs: 0 }),
        other => {
            run.kill();
            let ended = run.finish();
            Err(format!(
                "sandbox: the test runner did not start ({other:?}, {}): {}",
                ended.describe(),
                clip(String::from_utf8_lossy(&ended.stderr).trim())
            ))
        }
    }
}

/// How a sample's run ended for its zygote.
enum Ending {
    /// `done` was read: the zygote is ready for the next sample.
    Done,
    /// The child is still running (or its end was not read): stop it.
    Stop,
    /// The channel cannot be trusted any more: kill the zygote.
    Kill,
}

/// Tests `from..n` in one forked child of the slot's zygote; returns true
/// when nothing more should be run (a compile error, cancellation, or a
/// sandbox failure).
#[allow(clippy::too_many_arguments)]
fn run_batch(
    sandbox: &Sandbox,
    problem: &Problem,
    program: &str,
    opts: &RunOptions,
    from: usize,
    n: usize,
    expected: &[Option<Result<crate::pyvalue::Py, String>>],
    report: &mut RunReport,
    cancelled: &dyn Fn() -> bool,
) -> bool {
    let slot = sandbox.slot();
    let parked = sandbox
        .parked
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&slot.index))
        .filter(|z| z.run.is_open());
    let mut zygote = match parked {
        Some(z) => z,
        None => {
            report.processes += 1;
            match start_zygote(sandbox, &slot, opts) {
                Ok(z) => z,
                Err(e) => {
                    fill(report, n, &e);
                    return true;
                }
            }
        }
    };
    zygote.runs += 1;
    let name = format!("run-{}", zygote.runs);
    let rundir = zygote.dir.path().join(&name);
    let mode = match problem.mode {
        Mode::Stdin => "stdin",
        Mode::Functional => "functional",
        Mode::Script => "script",
    };
    let inputs: Vec<&str> = problem.tests[from..n]
        .iter()
        .map(|t| t.input.as_str())
        .collect();
    let spec = json!({
        "mode": mode,
        "code": program,
        "fn_name": problem.fn_name,
        "test_code": problem.test_code,
        "entry_point": problem.entry_point,
        "timeout": opts.timeout,
        "output_cap": opts.output_cap,
        "keep_going": opts.keep_going,
        "start": from,
        "inputs": inputs,
    });
    let cpu = (opts.timeout * (n - from) as f64).ceil() as u64 + 2;
    let command = format!("{}\n", json!({"dir": name, "cpu": cpu}));
    let prepared = std::fs::create_dir(&rundir)
        .and_then(|()| std::fs::write(rundir.join("spec.json"), spec.to_string()))
        .and_then(|()| sandbox.prepare_dir(&slot, &rundir))
        .and_then(|()| zygote.run.send(command.as_bytes()));
    if let Err(e) = prepared {
        let _ = std::fs::remove_dir_all(&rundir);
        fill(report, n, &format!("sandbox: cannot start the tests: {e}"));
        return true;
    }
    zygote.run.max_line = opts.output_cap.saturating_mul(7).saturating_add(1 << 16);
    let (stop, ending) = read_results(
        &mut zygote.run,
        problem,
        opts,
        n,
        expected,
        report,
        cancelled,
    );
    let healthy = match ending {
        Ending::Done => true,
        Ending::Kill => false,
        Ending::Stop => {
            // Kill the sample's processes; the zygote answers `done`.
            zygote.run.send(b"{\"stop\": true}\n").is_ok() && wait_done(&mut zygote.run)
        }
    };
    let _ = std::fs::remove_dir_all(&rundir);
    if healthy {
        if let Ok(mut p) = sandbox.parked.lock() {
            p.insert(slot.index, zygote);
        }
    } else {
        zygote.run.kill();
        drop(zygote);
    }
    drop(slot);
    stop
}

/// Reads lines until the zygote's `done` (within a few seconds).
fn wait_done(run: &mut Running) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match run.next_line(deadline, &|| false) {
            Line::Text(t) => {
                if serde_json::from_slice::<Value>(&t)
                    .ok()
                    .is_some_and(|v| v.get("done").is_some())
                {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// Reads the results of tests `report.outcomes.len()..n`.
#[allow(clippy::too_many_arguments)]
fn read_results(
    run: &mut Running,
    problem: &Problem,
    opts: &RunOptions,
    n: usize,
    expected: &[Option<Result<crate::pyvalue::Py, String>>],
    report: &mut RunReport,
    cancelled: &dyn Fn() -> bool,
) -> (bool, Ending) {
    let grace = Duration::from_millis(1000);
    let per_test = Duration::from_secs_f64(opts.timeout) + grace;
    // The child says `ready` once it has compiled the program.
    let startup = Duration::from_secs_f64(opts.startup);
    let mut deadline = Instant::now() + startup;
    // However the channel is abused, the batch ends by this time.
    let last = deadline + per_test * (n - report.outcomes.len()) as u32;
    let mut ready = false;
    let overwritten = "the program wrote over the runner's channel";
    loop {
        let index = report.outcomes.len();
        let text = match run.next_line(deadline.min(last), cancelled) {
            Line::Text(t) => t,
            Line::Cancelled => {
                fill(report, n, "cancelled: the request went away");
                return (true, Ending::Stop);
            }
            Line::Timeout => {
                let why = if ready {
                    format!("time limit exceeded ({:.3} s, killed)", opts.timeout)
                } else {
                    "the program did not start in time".to_string()
                };
                if index < n {
                    report.outcomes.push(TestOutcome::fail(why));
                }
                return (false, Ending::Stop);
            }
            Line::TooLong => {
                if index < n {
                    report
                        .outcomes
                        .push(TestOutcome::fail("output limit exceeded"));
                }
                return (false, Ending::Kill);
            }
            Line::Eof | Line::Failed(_) => {
                if index < n {
                    report
                        .outcomes
                        .push(TestOutcome::fail("the test runner stopped (killed)"));
                }
                return (false, Ending::Kill);
            }
        };
        let Ok(msg) = serde_json::from_slice::<Value>(&text) else {
            if index < n {
                report.outcomes.push(TestOutcome::fail(overwritten));
            }
            return (false, Ending::Kill);
        };
        if let Some(code) = msg.get("done") {
            if index < n {
                report.outcomes.push(TestOutcome::fail(format!(
                    "the program ended the runner (exit status {code})"
                )));
            }
            return (false, Ending::Done);
        }
        if msg.get("ready").is_some() {
            if ready {
                // Only the runner says it once; a program saying it again
                // would reset the clock.
                if index < n {
                    report.outcomes.push(TestOutcome::fail(overwritten));
                }
                return (false, Ending::Kill);
            }
            ready = true;
            deadline = Instant::now() + per_test;
            continue;
        }
        if let Some(err) = msg.get("fatal") {
            if index < n {
                report.outcomes.push(TestOutcome::fail(format!(
                    "the test runner failed: {}",
                    clip(err.as_str().unwrap_or(""))
                )));
            }
            continue;
        }
        if index >= n || msg.get("i").and_then(Value::as_u64) != Some(index as u64) {
            if index < n {
                report.outcomes.push(TestOutcome::fail(overwritten));
            }
            return (false, Ending::Kill);
        }
        let status = msg.get("s").and_then(Value::as_str).unwrap_or("");
        let seconds = msg.get("ms").and_then(Value::as_f64).map(|ms| ms / 1000.0);
        let outcome = match status {
            "compile" => {
                let err = msg.get("err").and_then(Value::as_str).unwrap_or("");
                fill(report, n, &format!("compile error: {}", clip(err)));
                // The child ends by itself; its `done` follows.
                return (
                    true,
                    if wait_done(run) {
                        Ending::Done
                    } else {
                        Ending::Kill
                    },
                );
            }
            "timeout" => TestOutcome::fail(format!("time limit exceeded ({:.3} s)", opts.timeout)),
            "output_limit" => {
                TestOutcome::fail(format!("output limit exceeded ({} bytes)", opts.output_cap))
            }
            "error" => {
                let err = msg.get("err").and_then(Value::as_str).unwrap_or("");
                TestOutcome::fail(format!("runtime error: {}", clip(err)))
            }
            "ok" => judge(problem, index, &msg, expected[index].as_ref()),
            _ => {
                report.outcomes.push(TestOutcome::fail(overwritten));
                return (false, Ending::Kill);
            }
        };
        let passed = outcome.passed;
        report.outcomes.push(TestOutcome { seconds, ..outcome });
        deadline = Instant::now() + per_test;
        if !passed && !opts.keep_going {
            return (false, Ending::Stop);
        }
        if report.outcomes.len() == n {
            // All read: the child ends by itself.
            let ending = if wait_done(run) {
                Ending::Done
            } else {
                Ending::Kill
            };
            return (false, ending);
        }
    }
}

/// Judges a test the harness ran to its end.
fn judge(
    problem: &Problem,
    index: usize,
    msg: &Value,
    expected: Option<&Result<crate::pyvalue::Py, String>>,
) -> TestOutcome {
    let result = match problem.mode {
        Mode::Script => Ok(()),
        Mode::Stdin => {
            let got = msg.get("out").and_then(Value::as_str).unwrap_or("");
            compare_stdout(got, &problem.tests[index].output)
        }
        Mode::Functional => match (msg.get("value").map(from_tagged), expected) {
            (Some(Ok(got)), Some(Ok(want))) => compare_value(&got, want),
            (Some(Err(e)), _) => Err(e),
            (_, Some(Err(e))) => Err(format!("the expected output is not JSON: {e}")),
            _ => Err("no value returned".into()),
        },
    };
    match result {
        Ok(()) => TestOutcome {
            passed: true,
            reason: None,
            seconds: None,
        },
        Err(e) => TestOutcome::fail(e),
    }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}
