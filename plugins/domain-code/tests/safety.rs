//! Hostile programs, run for real: each scores 0 with a reason within its
//! limit, leaves no process and no file behind, and the next program
//! still runs. Skipped (with the reason printed) where python3 is missing
//! or the machine cannot isolate programs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use metaalign_domain_code::{
    run_tests, Mode, Problem, RunOptions, Sandbox, SandboxConfig, TestCase,
};

const TIMEOUT: f64 = 1.0;
const SLOTS: u32 = 2;

/// A sandbox of its own for one test (its own user ids), or why not.
fn sandbox(uid_base: u32) -> Option<Sandbox> {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return None;
    }
    match Sandbox::new(SandboxConfig {
        memory_mb: 512,
        concurrency: SLOTS as usize,
        uid_base,
        ..SandboxConfig::default()
    }) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("skipped: {e}");
            None
        }
    }
}

fn sum_problem() -> Problem {
    Problem {
        mode: Mode::Stdin,
        tests: vec![
            TestCase {
                input: "1 2\n".into(),
                output: "3\n".into(),
            },
            TestCase {
                input: "20 22\n".into(),
                output: "42\n".into(),
            },
        ],
        fn_name: None,
        test_code: None,
        entry_point: None,
        prefix_code: None,
        public: 1,
    }
}

const GOOD: &str = "a, b = map(int, input().split())\nprint(a + b)";

/// Processes of the sandbox users still alive, but the slots' test runners
/// (each is PID 1 of its namespace and waits for the next sample).
fn leftovers(uid_base: u32) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let uid: Option<u32> = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|u| u.parse().ok());
        let runner = status
            .lines()
            .find(|l| l.starts_with("NSpid:"))
            .is_some_and(|l| l.split_whitespace().last() == Some("1"));
        if !runner && uid.is_some_and(|u| (uid_base..uid_base + SLOTS).contains(&u)) {
            found.push(format!(
                "pid {}: {}",
                name.to_string_lossy(),
                status.lines().next().unwrap_or("")
            ));
        }
    }
    found
}

/// Files the sandbox users own in the host's shared temporary places.
fn stray_files(uid_base: u32) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    for dir in ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if let Ok(m) = e.metadata() {
                if (uid_base..uid_base + SLOTS).contains(&m.uid()) {
                    found.push(e.path());
                }
            }
        }
    }
    found
}

struct Case {
    uid_base: u32,
    sandbox: Sandbox,
    scratch: tempfile::TempDir,
}

impl Case {
    fn new(uid_base: u32) -> Option<Self> {
        let sandbox = sandbox(uid_base)?;
        Some(Case {
            uid_base,
            sandbox,
            scratch: tempfile::tempdir().unwrap(),
        })
    }

    fn opts(&self) -> RunOptions {
        RunOptions {
            timeout: TIMEOUT,
            output_cap: 1 << 20,
            startup: 10.0,
            scratch: Some(self.scratch.path().to_path_buf()),
            ..RunOptions::default()
        }
    }

    /// Runs a hostile program: it must fail test 1 with a reason
    /// containing one of `reasons`, within `limit`, leaving nothing.
    fn hostile(&self, code: &str, reasons: &[&str], limit: Duration) -> String {
        let start = Instant::now();
        let report = run_tests(&self.sandbox, &sum_problem(), code, &self.opts(), &|| false);
        let took = start.elapsed();
        assert_eq!(report.passed(), 0, "{code}: {report:?}");
        let reason = report.outcomes[0].reason.clone().unwrap_or_default();
        assert!(
            reasons.iter().any(|r| reason.contains(r)),
            "{code}: reason `{reason}` is none of {reasons:?}"
        );
        assert!(took < limit, "{code}: took {took:?}, limit {limit:?}");
        self.assert_clean(code);
        // The next program still runs.
        let next = run_tests(&self.sandbox, &sum_problem(), GOOD, &self.opts(), &|| false);
        assert!(next.all_passed(), "after {code}: {next:?}");
        self.assert_clean(code);
        reason
    }

    fn assert_clean(&self, code: &str) {
        // The kernel reaps a killed namespace before our wait returns; allow
        // a moment for /proc to catch up.
        let mut left = leftovers(self.uid_base);
        for _ in 0..20 {
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            left = leftovers(self.uid_base);
        }
        assert!(left.is_empty(), "{code}: processes left: {left:?}");
        // Only the slots' own (empty) folders remain.
        for slot in std::fs::read_dir(self.scratch.path()).unwrap().flatten() {
            let files: Vec<_> = std::fs::read_dir(slot.path()).unwrap().flatten().collect();
            assert!(files.is_empty(), "{code}: scratch not cleaned: {files:?}");
        }
        let stray = stray_files(self.uid_base);
        assert!(stray.is_empty(), "{code}: files left: {stray:?}");
    }
}

fn limit() -> Duration {
    // The per-test limit, the runner's grace second, and start-up.
    Duration::from_secs_f64(TIMEOUT + 1.0 + 4.0)
}

#[test]
fn infinite_loop() {
    let Some(c) = Case::new(1_800_000_000) else {
        return;
    };
    c.hostile("while True:\n    pass", &["time limit"], limit());
    // Even when it ignores the harness's alarm.
    c.hostile(
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
        &["time limit"],
        limit(),
    );
}

#[test]
fn fork_bomb() {
    let Some(c) = Case::new(1_800_000_100) else {
        return;
    };
    c.hostile(
        // Through `posix`, past the functions the LiveCodeBench guard takes
        // away (`os.fork` is None): the sandbox must hold on its own.
        "import posix\nwhile True:\n    try:\n        posix.fork()\n    except OSError:\n        pass",
        &["time limit", "ended the runner"],
        limit(),
    );
}

#[test]
fn memory_bomb() {
    let Some(c) = Case::new(1_800_000_200) else {
        return;
    };
    let r = c.hostile(
        "x = bytearray(1 << 34)\nprint(3)",
        &["MemoryError"],
        limit(),
    );
    println!("memory bomb: {r}");
    // Grown step by step (touching every page takes a while on 2 cores).
    let r = c.hostile(
        "a = []\nwhile True:\n    a.append(bytearray(1 << 24))",
        &["MemoryError", "ended the runner", "time limit"],
        limit(),
    );
    println!("memory bomb: {r}");
}

#[test]
fn a_gigabyte_of_output() {
    let Some(c) = Case::new(1_800_000_300) else {
        return;
    };
    c.hostile(
        "import sys\nsys.stdout.write('x' * (1 << 30))",
        &["output limit", "MemoryError"],
        limit(),
    );
    c.hostile(
        "import sys\nchunk = 'x' * 65536\nfor _ in range(1 << 14):\n    sys.stdout.write(chunk)",
        &["output limit"],
        limit(),
    );
    // Straight to the file descriptor, past the captured stdout.
    c.hostile(
        "import os\nchunk = b'x' * 65536\nfor _ in range(1 << 14):\n    os.write(1, chunk)",
        &["wrong answer", "time limit"],
        limit(),
    );
}

#[test]
fn sleep_forever() {
    let Some(c) = Case::new(1_800_000_400) else {
        return;
    };
    c.hostile("import time\ntime.sleep(10 ** 9)", &["time limit"], limit());
    c.hostile(
        "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\ntime.sleep(10 ** 9)",
        &["time limit"],
        limit(),
    );
}

#[test]
fn write_outside_the_temporary_folder() {
    let Some(c) = Case::new(1_800_000_500) else {
        return;
    };
    let outside =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("escape-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("pwned.txt");
    let host_tmp = PathBuf::from(format!("/tmp/metaalign-escape-{}.txt", std::process::id()));
    let code = format!(
        "open({tmp:?}, 'w').write('x')\nopen({target:?}, 'w').write('x')\nprint(3)",
        tmp = host_tmp.display().to_string(),
        target = target.display().to_string(),
    );
    let r = c.hostile(&code, &["PermissionError", "Read-only"], limit());
    println!("write outside: {r}");
    assert!(!target.exists(), "the program wrote {}", target.display());
    assert!(
        !host_tmp.exists(),
        "the program wrote {}",
        host_tmp.display()
    );
    std::fs::remove_dir_all(&outside).unwrap();
}

#[test]
fn read_an_environment_secret() {
    let Some(c) = Case::new(1_800_000_600) else {
        return;
    };
    // A variable of this process's environment (cargo sets CARGO_PKG_NAME
    // for test runs) stands for a secret. The program prints what it finds
    // and the expected output is the secret, so reading it would pass.
    let name = ["CARGO_PKG_NAME", "PATH"]
        .into_iter()
        .find(|n| std::env::var(n).is_ok_and(|v| !v.is_empty()))
        .expect("cargo sets CARGO_PKG_NAME");
    let secret = std::env::var(name).unwrap();
    let problem = Problem {
        mode: Mode::Stdin,
        tests: vec![TestCase {
            input: String::new(),
            output: secret.clone(),
        }],
        ..sum_problem()
    };
    let code = format!(
        "import os\nfound = os.environ.get({name:?}, 'no secret')\nfor p in ('/proc/1/environ', '/proc/self/environ'):\n    try:\n        found += open(p).read()\n    except OSError:\n        pass\nprint(found)"
    );
    let report = run_tests(&c.sandbox, &problem, &code, &c.opts(), &|| false);
    assert_eq!(report.passed(), 0, "{report:?}");
    let reason = report.outcomes[0].reason.clone().unwrap();
    assert!(
        reason.contains("wrong answer") && reason.contains("got `no secret`"),
        "{reason}"
    );
    c.assert_clean(&code);
}

#[test]
fn connect_to_a_local_port() {
    let Some(c) = Case::new(1_800_000_700) else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\ns.sendall(b'leak')\nprint(3)"
    );
    let r = c.hostile(
        &code,
        &["OSError", "ConnectionRefused", "unreachable", "Network"],
        limit(),
    );
    println!("connect: {r}");
    assert!(
        listener.accept().is_err(),
        "the program connected to the port"
    );
}

#[test]
fn kill_the_parent() {
    let Some(c) = Case::new(1_800_000_800) else {
        return;
    };
    let me = std::process::id();
    let code = format!(
        "import os, posix, signal\nfor pid in ({me}, os.getppid()):\n    try:\n        posix.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\nposix.killpg(0, signal.SIGKILL)\nprint(0)"
    );
    // Nothing outside is visible from the PID namespace, and the program is
    // its init, which ignores signals from inside: it goes on, and fails.
    c.hostile(&code, &["ended the runner", "wrong answer"], limit());
}

#[test]
fn leave_a_child_behind() {
    let Some(c) = Case::new(1_800_000_900) else {
        return;
    };
    let code = "import os, posix, time\nif posix.fork() == 0:\n    os.setsid()\n    if posix.fork() == 0:\n        time.sleep(10 ** 9)\n    os._exit(0)\nprint('bye')";
    c.hostile(code, &["wrong answer"], limit());
}

#[test]
fn destructive_calls_fail_as_in_livecodebench() {
    let Some(c) = Case::new(1_800_001_300) else {
        return;
    };
    // LiveCodeBench's runner sets these to None before a program runs; a
    // program that calls one fails there, so it fails here too.
    for call in [
        "os.kill(1, 0)",
        "os.getcwd()",
        "subprocess.Popen(['true'])",
        "shutil.rmtree('x')",
    ] {
        let code =
            format!("import os, shutil, subprocess\n{call}\nprint(sum(map(int, input().split())))");
        c.hostile(&code, &["NoneType"], limit());
    }
}

#[test]
fn a_correct_program_passes_and_reports_per_test_time() {
    let Some(c) = Case::new(1_800_001_000) else {
        return;
    };
    let report = run_tests(&c.sandbox, &sum_problem(), GOOD, &c.opts(), &|| false);
    assert!(report.all_passed(), "{report:?}");
    assert_eq!(report.processes, 1);
    assert!(report.outcomes.iter().all(|o| o.seconds.is_some()));
    c.assert_clean(GOOD);
}

#[test]
fn cancellation_kills_the_program() {
    let Some(c) = Case::new(1_800_001_100) else {
        return;
    };
    let start = Instant::now();
    let cancel_at = start + Duration::from_millis(300);
    let opts = RunOptions {
        timeout: 30.0,
        ..c.opts()
    };
    let report = run_tests(
        &c.sandbox,
        &sum_problem(),
        "while True: pass",
        &opts,
        &|| Instant::now() > cancel_at,
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        report.outcomes[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("cancelled"),
        "{report:?}"
    );
    c.assert_clean("cancelled");
}

#[test]
fn a_program_cannot_reset_the_clock_through_the_runners_channel() {
    let Some(c) = Case::new(1_800_001_200) else {
        return;
    };
    // Blocks the alarm, then keeps telling the runner it is `ready`.
    let code = "import os, signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\nwhile True:\n    for fd in range(3, 20):\n        try:\n            os.write(fd, b'{\"ready\": true}\\n')\n        except OSError:\n            pass\n    time.sleep(0.3)";
    c.hostile(code, &["channel", "time limit"], limit());
}
