//! Runs untrusted programs on Linux, contained.
//!
//! Every run gets, with full isolation (the default; needs root, which
//! this project's machines are, and a kernel that allows namespaces):
//! - a fresh working directory (the caller's temporary folder), owned by a
//!   sandbox-only user id (`uid_base + slot`), groups dropped,
//!   `no_new_privs` set;
//! - an empty environment;
//! - its own session and process group, and its own PID namespace: the
//!   program is PID 1 of it, sees no other process, and when it ends or is
//!   killed the kernel kills everything it started;
//! - a network namespace with nothing in it (not even a loopback that is
//!   up): no TCP/UDP anywhere, 127.0.0.1 included. One such namespace is
//!   shared by the runs of one [`Sandbox`];
//! - its own mount namespace: empty size-limited tmpfs over `/tmp`,
//!   `/var/tmp`, `/dev/shm`, `/run/lock` (the world-writable places), and
//!   over `/root` and `/home` (secrets in home folders); the interpreter's
//!   folder is bound back read-only when it lives there; a `/proc` of its
//!   own PID namespace;
//! - rlimits: CPU seconds, address space, file size, open files,
//!   processes (per uid, so per slot), no core files;
//! - a wall-clock limit enforced by the caller ([`Running::next_line`]);
//!   [`Running::kill`] kills the whole PID namespace (the runner in
//!   `crate::runner` keeps one sandboxed interpreter per slot and has it
//!   kill a sample's processes itself, see `harness.py`);
//! - capped stdout/stderr (the caller reads at most a fixed number of
//!   bytes per line and keeps only the first bytes of stderr).
//!
//! Not isolated: the program can read world-readable files of the host
//! (the file system is not replaced, only the places above are covered),
//! see the host's kernel, CPU and memory size, and use CPU and memory up
//! to its limits (no cgroup); runs of one `Sandbox` share its empty
//! network namespace (abstract Unix sockets could reach another run).
//!
//! Without root (or where namespaces are refused) only the unsandboxed
//! mode is possible: rlimits, an empty environment, a new session and a
//! wall-clock kill of the process group; it runs only when the config says
//! `allow_unsandboxed = true`.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Limits and settings of the sandbox (from the task config).
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The Python interpreter (a name on `PATH` or a path).
    pub interpreter: String,
    /// Address-space limit, MiB.
    pub memory_mb: u64,
    /// Largest file the program may write, MiB.
    pub file_size_mb: u64,
    /// Open files.
    pub open_files: u64,
    /// Processes (and threads) of the sandbox user.
    pub processes: u64,
    /// Programs run at once.
    pub concurrency: usize,
    /// First user id of the sandbox users (one per slot).
    pub uid_base: u32,
    /// Run without isolation when none is possible.
    pub allow_unsandboxed: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            interpreter: "python3".into(),
            memory_mb: 2048,
            file_size_mb: 16,
            open_files: 64,
            processes: 16,
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            uid_base: 1_700_000_000,
            allow_unsandboxed: false,
        }
    }
}

/// How contained a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Namespaces (PID, network, mount) and a sandbox user.
    Full,
    /// Rlimits, an empty environment and a process group only.
    Unsandboxed,
}

/// The sandbox: a resolved interpreter, an empty network namespace, and
/// `concurrency` slots (one user id each).
pub struct Sandbox {
    config: SandboxConfig,
    isolation: Isolation,
    interpreter: PathBuf,
    /// Folders mounted over with an empty tmpfs, and their tmpfs options.
    covered: Vec<(CString, CString)>,
    /// The interpreter's prefix when it lies under a covered folder: the
    /// prefixes of its path (the last is the prefix itself), re-created in
    /// the tmpfs and bound back.
    rebind: Option<Vec<CString>>,
    netns: Option<OwnedFd>,
    free: Mutex<Vec<u32>>,
    freed: Condvar,
    /// The test runners kept alive per slot (see [`crate::runner`]).
    pub(crate) parked: Mutex<std::collections::HashMap<u32, Zygote>>,
}

/// A test runner kept alive for one slot: the harness in zygote mode, in
/// its sandbox, working in the slot's folder (each sample gets a fresh
/// folder inside it, reached by a relative path: the folder itself lies
/// under a place the sandbox covers).
pub(crate) struct Zygote {
    pub(crate) run: Running,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) runs: u64,
}

/// A slot held for one program at a time.
pub struct Slot<'a> {
    sandbox: &'a Sandbox,
    /// The slot's number (its sandbox user is `uid_base + index`).
    pub index: u32,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.sandbox.free.lock() {
            free.push(self.index);
            self.sandbox.freed.notify_one();
        }
    }
}

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::other("a path holds a NUL byte"))
}

/// Creates a network namespace with nothing in it, from a short-lived
/// thread (`unshare(CLONE_NEWNET)` applies to the calling thread only), and
/// returns a handle that keeps it alive.
fn empty_netns() -> io::Result<OwnedFd> {
    std::thread::spawn(|| {
        // SAFETY: plain syscalls on this thread; the fd is owned on success.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                return Err(os_err("unshare(CLONE_NEWNET)"));
            }
            let path = c"/proc/thread-self/ns/net";
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(os_err("open /proc/thread-self/ns/net"));
            }
            Ok(OwnedFd::from_raw_fd(fd))
        }
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}

/// The interpreter's real executable and prefix (a pyenv shim resolves to
/// the interpreter it runs).
fn resolve_interpreter(name: &str) -> io::Result<(PathBuf, PathBuf)> {
    let out = Command::new(name)
        .args([
            "-I",
            "-S",
            "-c",
            "import sys; print(sys.executable); print(sys.base_prefix)",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{name}`: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "`{name}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(exe), Some(prefix)) if !exe.is_empty() => {
            Ok((PathBuf::from(exe), PathBuf::from(prefix)))
        }
        _ => Err(io::Error::other(format!(
            "`{name}` did not name its executable"
        ))),
    }
}

/// World-writable places and home folders, covered with an empty tmpfs.
const COVER: [(&str, &str); 6] = [
    ("/tmp", "size=64m,mode=1777"),
    ("/var/tmp", "size=16m,mode=1777"),
    ("/dev/shm", "size=16m,mode=1777"),
    ("/run/lock", "size=1m,mode=1777"),
    ("/root", "size=1m,mode=755"),
    ("/home", "size=1m,mode=755"),
];

impl Sandbox {
    /// Resolves the interpreter and sets up isolation; an error when no
    /// isolation is possible and `allow_unsandboxed` is off.
    pub fn new(config: SandboxConfig) -> io::Result<Self> {
        let (interpreter, prefix) = resolve_interpreter(&config.interpreter)?;
        let concurrency = config.concurrency.max(1) as u32;
        let mut sandbox = Sandbox {
            isolation: Isolation::Unsandboxed,
            interpreter,
            covered: Vec::new(),
            rebind: None,
            netns: None,
            free: Mutex::new((0..concurrency).rev().collect()),
            freed: Condvar::new(),
            parked: Mutex::new(std::collections::HashMap::new()),
            config,
        };
        let why_not = match sandbox.try_full(&prefix) {
            Ok(()) => return Ok(sandbox),
            Err(e) => e,
        };
        if !sandbox.config.allow_unsandboxed {
            return Err(io::Error::other(format!(
                "code: cannot isolate programs on this machine ({why_not}); the sandbox needs \
                 root and Linux namespaces (PID, network, mount). Refusing to run model-written \
                 code without isolation: run as root, or set `allow_unsandboxed = true` to run \
                 with rlimits and a process group only"
            )));
        }
        tracing::warn!(
            "code: running programs WITHOUT isolation (allow_unsandboxed = true): {why_not}"
        );
        sandbox.isolation = Isolation::Unsandboxed;
        Ok(sandbox)
    }

    fn try_full(&mut self, prefix: &Path) -> io::Result<()> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(io::Error::other("not running as root"));
        }
        self.netns = Some(empty_netns()?);
        for (dir, opts) in COVER {
            if Path::new(dir).is_dir() {
                self.covered
                    .push((cstring(dir.as_bytes())?, cstring(opts.as_bytes())?));
            }
        }
        let prefix = prefix
            .canonicalize()
            .unwrap_or_else(|_| prefix.to_path_buf());
        let under_cover = COVER
            .iter()
            .any(|(dir, _)| prefix.starts_with(dir) && Path::new(dir).is_dir());
        if under_cover {
            if self.covered.first().map(|(d, _)| d.as_bytes()) != Some(b"/tmp".as_slice()) {
                return Err(io::Error::other(
                    "the interpreter lives in a hidden folder and there is no /tmp to stage it",
                ));
            }
            let mut parts = Vec::new();
            let mut acc = PathBuf::new();
            for c in prefix.components() {
                acc.push(c);
                parts.push(cstring(acc.as_os_str().as_bytes())?);
            }
            self.rebind = Some(parts);
        }
        self.isolation = Isolation::Full;
        // Probe: a trivial program must run inside.
        let dir = tempfile::tempdir()?;
        let slot = self.slot();
        let mut run = self.spawn(
            &slot,
            dir.path(),
            &["-c".into(), "print(1)".into()],
            5,
            false,
        )?;
        let line = run.next_line(Instant::now() + Duration::from_secs(20), &|| false);
        let status = run.finish();
        match line {
            Line::Text(t) if t == b"1" => Ok(()),
            other => Err(io::Error::other(format!(
                "a probe run inside the sandbox failed ({other:?}, {}; stderr: {})",
                status.describe(),
                String::from_utf8_lossy(&status.stderr).trim()
            ))),
        }
    }

    /// How programs are isolated on this machine.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// The interpreter's resolved path.
    pub fn interpreter(&self) -> &Path {
        &self.interpreter
    }

    /// The settings it was made with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The user id of a slot.
    pub fn uid(&self, slot: &Slot) -> u32 {
        self.config.uid_base.saturating_add(slot.index)
    }

    /// Waits for a free slot.
    pub fn slot(&self) -> Slot<'_> {
        let mut free = match self.free.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        loop {
            if let Some(index) = free.pop() {
                return Slot {
                    sandbox: self,
                    index,
                };
            }
            free = match self.freed.wait(free) {
                Ok(f) => f,
                Err(p) => p.into_inner(),
            };
        }
    }

    /// Gives the working directory to the slot's user (full isolation).
    pub fn prepare_dir(&self, slot: &Slot, dir: &Path) -> io::Result<()> {
        if self.isolation == Isolation::Full {
            let uid = self.uid(slot);
            std::os::unix::fs::chown(dir, Some(uid), Some(uid))?;
        }
        Ok(())
    }

    /// Starts the interpreter with `args` in `dir` (which the caller owns
    /// and removes), with `cpu_seconds` of CPU time; with `input`, its stdin
    /// is a pipe ([`Running::send`]).
    pub fn spawn(
        &self,
        slot: &Slot,
        dir: &Path,
        args: &[OsString],
        cpu_seconds: u64,
        input: bool,
    ) -> io::Result<Running> {
        self.prepare_dir(slot, dir)?;
        let mut cmd = Command::new(&self.interpreter);
        cmd.args(args)
            .env_clear()
            .current_dir(dir)
            .stdin(if input { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let limits = [
            (libc::RLIMIT_CPU, cpu_seconds.max(1), cpu_seconds.max(1) + 1),
            (
                libc::RLIMIT_AS,
                self.config.memory_mb << 20,
                self.config.memory_mb << 20,
            ),
            (
                libc::RLIMIT_FSIZE,
                self.config.file_size_mb << 20,
                self.config.file_size_mb << 20,
            ),
            (
                libc::RLIMIT_NOFILE,
                self.config.open_files,
                self.config.open_files,
            ),
            (
                libc::RLIMIT_NPROC,
                self.config.processes,
                self.config.processes,
            ),
            (libc::RLIMIT_CORE, 0, 0),
        ];
        let set_limits = move || -> io::Result<()> {
            for (res, soft, hard) in limits {
                let rl = libc::rlimit {
                    rlim_cur: soft as libc::rlim_t,
                    rlim_max: hard as libc::rlim_t,
                };
                // SAFETY: setrlimit with a valid struct.
                if unsafe { libc::setrlimit(res, &rl) } != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        };
        let mut pid_pipe: Option<(File, OwnedFd)> = None;
        match self.isolation {
            Isolation::Unsandboxed => {
                // SAFETY: the closure only makes async-signal-safe calls.
                unsafe {
                    cmd.pre_exec(move || {
                        if libc::setsid() < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        set_limits()
                    });
                }
            }
            Isolation::Full => {
                let mut fds = [0; 2];
                // SAFETY: pipe2 fills two fds, owned right after.
                if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                    return Err(os_err("pipe2"));
                }
                // SAFETY: both fds were just created.
                let (r, w) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
                let pid_w = w.as_raw_fd();
                pid_pipe = Some((r, w));
                let netns = self.netns.as_ref().map_or(-1, |fd| fd.as_raw_fd());
                // Owned copies: the closure runs in the child, after fork.
                let covered = self.covered.clone();
                let rebind_parts: Option<Vec<CString>> = self.rebind.clone();
                let uid = self.uid(slot);
                // SAFETY: the closure runs in the forked child before exec
                // and only makes async-signal-safe system calls on data
                // prepared above (no allocation, no locks).
                unsafe {
                    cmd.pre_exec(move || {
                        child_setup(
                            pid_w,
                            netns,
                            &covered,
                            rebind_parts.as_deref(),
                            &set_limits,
                            uid,
                        )
                    });
                }
            }
        }
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", self.interpreter.display()),
            )
        })?;
        // The namespace's PID 1, as seen from here: the intermediate child
        // wrote it before the program was exec'd.
        let pid1 = match pid_pipe {
            Some((mut r, w)) => {
                drop(w);
                let mut buf = [0u8; 4];
                match r.read_exact(&mut buf) {
                    Ok(()) => Some(i32::from_ne_bytes(buf)),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(io::Error::new(
                            e.kind(),
                            format!("the sandbox did not start: {e}"),
                        ));
                    }
                }
            }
            None => None,
        };
        Running::new(child, pid1)
    }
}

/// The child's setup under full isolation (runs between fork and exec).
///
/// # Safety
/// Only async-signal-safe calls; all pointers point at NUL-terminated
/// strings that outlive the call.
unsafe fn child_setup(
    pid_w: RawFd,
    netns: RawFd,
    covered: &[(CString, CString)],
    rebind: Option<&[CString]>,
    set_limits: &dyn Fn() -> io::Result<()>,
    uid: u32,
) -> io::Result<()> {
    let fail = || Err(io::Error::last_os_error());
    if libc::setsid() < 0 {
        return fail();
    }
    if netns >= 0 && libc::setns(netns, libc::CLONE_NEWNET) != 0 {
        return fail();
    }
    if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID) != 0 {
        return fail();
    }
    let pid = libc::fork();
    if pid < 0 {
        return fail();
    }
    if pid > 0 {
        // The intermediate: report PID 1, close everything, wait for it and
        // pass its status on.
        let bytes = pid.to_ne_bytes();
        libc::write(pid_w, bytes.as_ptr().cast(), bytes.len());
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
            for fd in 0..1024 {
                libc::close(fd);
            }
        }
        let mut status = 0;
        loop {
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(125);
            }
        }
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        libc::_exit(128 + libc::WTERMSIG(status));
    }
    // PID 1 of the new namespaces; the working directory is already the
    // run's folder, which the mounts below do not hide from us.
    let none = c"none".as_ptr();
    if libc::mount(
        std::ptr::null(),
        c"/".as_ptr(),
        std::ptr::null(),
        libc::MS_REC | libc::MS_PRIVATE,
        std::ptr::null(),
    ) != 0
    {
        return fail();
    }
    if libc::mount(
        c"proc".as_ptr(),
        c"/proc".as_ptr(),
        c"proc".as_ptr(),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        std::ptr::null(),
    ) != 0
    {
        return fail();
    }
    // The interpreter's folder may be about to be covered (pyenv under
    // /root): bind it to a staging folder in the fresh /tmp (covered
    // first) while it is still visible, then back to its own path in the
    // new tmpfs, read-only. (A bind from a handle opened before the
    // namespace was made is refused by the kernel.)
    let stage = c"/tmp/.metaalign-interpreter".as_ptr();
    for (k, (dir, opts)) in covered.iter().enumerate() {
        if libc::mount(
            none,
            dir.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            opts.as_ptr().cast(),
        ) != 0
        {
            return fail();
        }
        if let (0, Some(parts)) = (k, rebind) {
            let Some(prefix) = parts.last() else {
                return fail();
            };
            if libc::mkdir(stage, 0o755) != 0
                || libc::mount(
                    prefix.as_ptr(),
                    stage,
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ) != 0
            {
                return fail();
            }
        }
    }
    if let Some(parts) = rebind {
        for p in parts {
            libc::mkdir(p.as_ptr(), 0o755);
        }
        let Some(target) = parts.last().map(|t| t.as_ptr()) else {
            return fail();
        };
        if libc::mount(
            stage,
            target,
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ) != 0
            || libc::mount(
                std::ptr::null(),
                target,
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID,
                std::ptr::null(),
            ) != 0
            || libc::umount2(stage, libc::MNT_DETACH) != 0
        {
            return fail();
        }
        libc::rmdir(stage);
    }
    set_limits()?;
    if libc::setgroups(0, std::ptr::null()) != 0 {
        return fail();
    }
    if libc::setresgid(uid, uid, uid) != 0 || libc::setresuid(uid, uid, uid) != 0 {
        return fail();
    }
    // Changing credentials clears the parent-death signal: set it after.
    if libc::prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
        0 as libc::c_ulong,
        0 as libc::c_ulong,
        0 as libc::c_ulong,
    ) != 0
    {
        return fail();
    }
    if libc::prctl(
        libc::PR_SET_NO_NEW_PRIVS,
        1 as libc::c_ulong,
        0 as libc::c_ulong,
        0 as libc::c_ulong,
        0 as libc::c_ulong,
    ) != 0
    {
        return fail();
    }
    Ok(())
}

/// What reading a line of the program's stdout gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A full line, without its newline.
    Text(Vec<u8>),
    /// The program closed its stdout (it ended).
    Eof,
    /// No full line before the deadline.
    Timeout,
    /// A line longer than the cap.
    TooLong,
    /// The caller's cancellation flag was set.
    Cancelled,
    /// Reading failed.
    Failed(String),
}

/// How a run ended.
#[derive(Debug)]
pub struct Ended {
    /// The exit status, when the process was waited for.
    pub status: Option<ExitStatus>,
    /// The first bytes of stderr.
    pub stderr: Vec<u8>,
}

impl Ended {
    /// How it ended, in words (exit code, signal, stderr excerpt).
    pub fn describe(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        match self.status {
            None => "not waited for".into(),
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) if c > 128 => format!("killed by signal {}", c - 128),
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => "ended".into(),
            },
        }
    }
}

/// Bytes of stderr kept.
const STDERR_KEEP: usize = 16 << 10;

/// A started program: its stdout read line by line with deadlines, its
/// stderr drained (the first bytes kept). Dropping it kills and reaps
/// everything it started.
pub struct Running {
    child: Option<Child>,
    input: Option<std::process::ChildStdin>,
    pid1: Option<i32>,
    pgid: i32,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    buf: Vec<u8>,
    stderr: Vec<u8>,
    /// Longest accepted line, bytes.
    pub max_line: usize,
    killed: bool,
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Running {
    fn new(mut child: Child, pid1: Option<i32>) -> io::Result<Self> {
        let input = child.stdin.take();
        let out: Option<OwnedFd> = child.stdout.take().map(OwnedFd::from);
        let err: Option<OwnedFd> = child.stderr.take().map(OwnedFd::from);
        for fd in out.iter().chain(err.iter()) {
            set_nonblocking(fd.as_raw_fd())?;
        }
        Ok(Running {
            pgid: child.id() as i32,
            input,
            child: Some(child),
            pid1,
            out,
            err,
            buf: Vec::new(),
            stderr: Vec::new(),
            max_line: 64 << 20,
            killed: false,
        })
    }

    /// Writes to the program's stdin (when it was started with `input`).
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        match self.input.as_mut() {
            Some(w) => w.write_all(bytes),
            None => Err(io::Error::other("the program has no stdin pipe")),
        }
    }

    /// True while the program's stdout is open.
    pub fn is_open(&self) -> bool {
        self.out.is_some() && !self.killed
    }

    /// The next line of stdout (without its newline), waiting at most
    /// until `deadline`; `cancelled` is asked every 50 ms.
    pub fn next_line(&mut self, deadline: Instant, cancelled: &dyn Fn() -> bool) -> Line {
        loop {
            if let Some(pos) = memchr_nl(&self.buf) {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                return Line::Text(line);
            }
            if self.buf.len() > self.max_line {
                return Line::TooLong;
            }
            if self.out.is_none() {
                return Line::Eof;
            }
            if cancelled() {
                return Line::Cancelled;
            }
            let now = Instant::now();
            if now >= deadline {
                return Line::Timeout;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            if let Err(e) = self.pump(wait) {
                return Line::Failed(e.to_string());
            }
        }
    }

    /// Waits up to `wait` for output and reads what is there.
    fn pump(&mut self, wait: Duration) -> io::Result<()> {
        let mut fds = Vec::with_capacity(2);
        for fd in [&self.out, &self.err].into_iter().flatten() {
            fds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if fds.is_empty() {
            std::thread::sleep(wait);
            return Ok(());
        }
        let ms = wait.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: poll on a valid array of pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        let mut chunk = vec![0u8; 64 << 10];
        for which in [0, 1] {
            loop {
                let slot = if which == 0 {
                    &mut self.out
                } else {
                    &mut self.err
                };
                let Some(fd) = slot.as_ref() else { break };
                // SAFETY: read into a buffer of the given length.
                let r =
                    unsafe { libc::read(fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
                if r == 0 {
                    *slot = None;
                    break;
                }
                if r < 0 {
                    let e = io::Error::last_os_error();
                    match e.kind() {
                        io::ErrorKind::WouldBlock => break,
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(e),
                    }
                }
                let got = &chunk[..r as usize];
                if which == 0 {
                    self.buf.extend_from_slice(got);
                    if self.buf.len() > self.max_line && memchr_nl(&self.buf).is_none() {
                        break;
                    }
                } else if self.stderr.len() < STDERR_KEEP {
                    let room = STDERR_KEEP - self.stderr.len();
                    self.stderr.extend_from_slice(&got[..got.len().min(room)]);
                }
            }
        }
        Ok(())
    }

    /// Kills everything the program started: PID 1 of its namespace (the
    /// kernel then kills the rest) and its process group.
    pub fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.killed = true;
        // SAFETY: kill with pids we started.
        unsafe {
            if let Some(p) = self.pid1 {
                libc::kill(p, libc::SIGKILL);
            } else {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
        }
    }

    /// Waits for the program to end (after its stdout closed or a kill)
    /// and returns how it ended. Under full isolation every process of the
    /// namespace is gone when this returns.
    pub fn finish(mut self) -> Ended {
        self.reap()
    }

    fn reap(&mut self) -> Ended {
        // End of input tells a waiting program to finish.
        drop(self.input.take());
        let Some(mut child) = self.child.take() else {
            return Ended {
                status: None,
                stderr: std::mem::take(&mut self.stderr),
            };
        };
        // Give a program that closed its stdout a moment to exit, then kill.
        let until = Instant::now() + Duration::from_millis(if self.killed { 0 } else { 200 });
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < until => {
                    let _ = self.pump(Duration::from_millis(5));
                }
                Ok(None) => {
                    self.kill();
                    break child.wait().ok();
                }
                Err(_) => {
                    self.kill();
                    break child.wait().ok();
                }
            }
        };
        if self.pid1.is_none() {
            // No PID namespace: whatever stayed in the group goes now.
            // SAFETY: kill of our own process group id.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
        }
        let _ = self.pump(Duration::from_millis(1));
        Ended {
            status,
            stderr: std::mem::take(&mut self.stderr),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.kill();
            let _ = self.reap();
        }
    }
}

fn memchr_nl(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}
