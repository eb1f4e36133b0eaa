# The in-sandbox test runner of the `code` domain, run as
# `python3 -I -S -c <this file> --zygote` once per sandbox slot: a zygote that
# imports everything once, then forks one child per sample (a command line
# on stdin names the sample's folder). The child compiles the program once
# and runs it once per test, LiveCodeBench-style, so a sample costs a fork,
# not an interpreter start and its imports. After each sample the zygote
# (PID 1 of the sandbox's PID namespace) kills every other process in the
# namespace, reaps them, empties the private /tmp, /var/tmp, /dev/shm and
# /run/lock, and says `done`.
#
# Nothing here sees expected outputs: the child reports what the program
# printed (stdin tests) or returned (functional tests) on the result
# channel, one JSON line per test, and the Rust side compares. The
# program's own writes to fd 1 go to stderr.
import builtins, faulthandler, io, json, os, resource, select, shutil, signal, subprocess, sys, time

sys.set_int_max_str_digits(0) if hasattr(sys, "set_int_max_str_digits") else None

_res = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)


def emit(obj):
    data = (json.dumps(obj, ensure_ascii=True) + "\n").encode()
    view = memoryview(data)
    while view:
        n = _res.write(view)
        view = view[n:]


SPEC = {}
TIMEOUT = 6.0
CAP = 1 << 24

# LiveCodeBench's `import_string`, run before every program.
PRELUDE = (
    "from string import *\nfrom re import *\nfrom datetime import *\n"
    "from collections import *\nfrom heapq import *\nfrom bisect import *\n"
    "from copy import *\nfrom math import *\nfrom random import *\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\n"
    "from operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\n"
    "from builtins import *\nfrom typing import *\nimport string\nimport re\n"
    "import datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\n"
    "import math\nimport random\nimport statistics\nimport itertools\nimport functools\n"
    "import operator\nimport io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
)


class _Timeout(BaseException):
    pass


class _OutputLimit(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


signal.signal(signal.SIGALRM, _alarm)


class _Capped(io.BytesIO):
    def write(self, b):
        if self.tell() + len(b) > CAP:
            raise _OutputLimit()
        return super().write(b)

    def close(self):
        pass


def _reason(e):
    text = "%s: %s" % (type(e).__name__, e)
    return text[:500]


def enc(v, depth=0):
    """A return value as tagged JSON: exact types only (a subclass, a set
    or any other object is `X`, which equals nothing)."""
    if depth > 64:
        return ["X", "nested too deep"]
    t = type(v)
    if v is None:
        return ["N"]
    if t is bool:
        return ["B", v]
    if t is int:
        return ["I", str(v)]
    if t is float:
        return ["F", repr(v)]
    if t is str:
        return ["S", v]
    if t is list:
        return ["L", [enc(x, depth + 1) for x in v]]
    if t is tuple:
        return ["T", [enc(x, depth + 1) for x in v]]
    if t is dict:
        return ["D", [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]]
    return ["X", t.__name__]


prelude = compile(PRELUDE, "<prelude>", "exec")
code = None
# What running the prelude leaves in a namespace, made once: each test starts
# from a copy (the same names as running it again, without the cost).
_TEMPLATE = {"__name__": "__main__", "__builtins__": builtins}
exec(prelude, _TEMPLATE)
_TEMPLATE["__name__"] = "__main__"
_TEMPLATE["__builtins__"] = builtins
def namespace():
    g = dict(_TEMPLATE)
    # `from sys import *` as of now: this test's streams.
    g["stdin"], g["stdout"], g["stderr"] = sys.stdin, sys.stdout, sys.stderr
    return g


def run_timed(fn):
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def report(i, t0, status, **extra):
    extra.update({"i": i, "s": status, "ms": round((time.perf_counter() - t0) * 1000, 3)})
    emit(extra)
    return status == "ok"


def run_stdin(i, text):
    with open("stdin.txt", "wb") as f:
        f.write(text.encode("utf-8", "surrogatepass"))
    fd = os.open("stdin.txt", os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "rb", closefd=False)), encoding="utf-8")
    buf = _Capped()
    sys.stdout = io.TextIOWrapper(buf, encoding="utf-8", errors="replace")
    g = namespace()
    t0 = time.perf_counter()
    try:
        try:
            run_timed(lambda: exec(code, g))
        except SystemExit:
            pass
        sys.stdout.flush()
    except _Timeout:
        return report(i, t0, "timeout")
    except _OutputLimit:
        return report(i, t0, "output_limit")
    except BaseException as e:
        return report(i, t0, "error", err=_reason(e))
    finally:
        sys.stdout = sys.__stdout__
    return report(i, t0, "ok", out=buf.getvalue().decode("utf-8", "replace"))


method = None


def run_functional(i, text):
    global method
    buf = _Capped()
    sys.stdout = io.TextIOWrapper(buf, encoding="utf-8", errors="replace")
    t0 = time.perf_counter()
    try:
        if method is None:
            g = namespace()
            run_timed(lambda: exec(code, g))
            fn = SPEC["fn_name"]
            if "class Solution" in SPEC["code"]:
                method = getattr(g["Solution"](), fn)
            else:
                method = g[fn]
        args = [json.loads(line) for line in text.split("\n")]
        out = run_timed(lambda: method(*args))
        if type(out) is tuple:
            out = list(out)
        value = enc(out)
    except _Timeout:
        return report(i, t0, "timeout")
    except _OutputLimit:
        return report(i, t0, "output_limit")
    except BaseException as e:
        return report(i, t0, "error", err=_reason(e))
    finally:
        sys.stdout = sys.__stdout__
    return report(i, t0, "ok", value=value)


def run_script(i, text):
    buf = _Capped()
    sys.stdout = io.TextIOWrapper(buf, encoding="utf-8", errors="replace")
    g = namespace()
    t0 = time.perf_counter()
    try:
        def body():
            exec(code, g)
            exec(compile(SPEC["test_code"], "<test>", "exec"), g)
            entry = SPEC.get("entry_point")
            if entry and "check" in g:
                g["check"](g[entry])
        run_timed(body)
    except _Timeout:
        return report(i, t0, "timeout")
    except _OutputLimit:
        return report(i, t0, "output_limit")
    except BaseException as e:
        return report(i, t0, "error", err=_reason(e))
    finally:
        sys.stdout = sys.__stdout__
    return report(i, t0, "ok")


def disable_destructive_calls():
    """What LiveCodeBench's runner (`reliability_guard` in testing_util.py)
    takes away from a program before its tests, so that a program calling
    them fails there and here alike (the sandbox contains them anyway): the
    same os, shutil and subprocess functions become None, `quit` and `help`
    too, and the same modules cannot be imported."""
    faulthandler.disable()
    builtins.quit = None
    builtins.help = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir",
        "setuid", "fork", "forkpty", "killpg", "rename", "renames", "truncate",
        "replace", "unlink", "fchmod", "fchown", "chmod", "chown", "chroot",
        "lchflags", "lchmod", "lchown", "getcwd", "chdir",
    ):
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def run_sample(path):
    """The child: runs one sample's tests (spec in `path`)."""
    global SPEC, TIMEOUT, CAP, code
    with open(path, "rb") as f:
        SPEC = json.loads(f.read())
    os.unlink(path)
    TIMEOUT = float(SPEC["timeout"])
    CAP = int(SPEC["output_cap"])
    try:
        code = compile(SPEC["code"], "<solution>", "exec")
    except BaseException as e:  # SyntaxError, ValueError (NUL bytes), ...
        emit({"i": SPEC["start"], "s": "compile", "err": _reason(e)})
        return
    disable_destructive_calls()
    emit({"ready": True})
    run = {"stdin": run_stdin, "functional": run_functional, "script": run_script}[SPEC["mode"]]
    for k, text in enumerate(SPEC["inputs"]):
        if not run(SPEC["start"] + k, text) and not SPEC["keep_going"]:
            break


_pending = b""


def command():
    """The next command line from Rust (None at end of input)."""
    global _pending
    while b"\n" not in _pending:
        chunk = os.read(0, 65536)
        if not chunk:
            return None
        _pending += chunk
    line, _pending = _pending.split(b"\n", 1)
    return json.loads(line)


INIT = os.getpid() == 1
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


def _wipe(path):
    for name in os.listdir(path):
        full = os.path.join(path, name)
        try:
            if os.path.isdir(full) and not os.path.islink(full):
                os.chmod(full, 0o700)
                _wipe(full)
                os.rmdir(full)
            else:
                os.unlink(full)
        except OSError:
            pass


def cleanup(pid):
    """Kills whatever the sample left and reaps it all."""
    if INIT:
        try:
            os.kill(-1, signal.SIGKILL)  # every process of the namespace but us
        except OSError:
            pass
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            p, _ = os.waitpid(-1, 0 if INIT else os.WNOHANG)
        except ChildProcessError:
            break
        if p == 0:
            break
    if INIT:
        for d in SCRATCH:
            try:
                _wipe(d)
            except OSError:
                pass


def zygote():
    try:  # /proc/1/* unreadable to the samples (same user id)
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:
        pass
    emit({"zygote": True})
    while True:
        cmd = command()
        if cmd is None:
            os._exit(0)
        if "dir" not in cmd:
            continue
        pid = os.fork()
        if pid == 0:
            try:
                null = os.open("/dev/null", os.O_RDONLY)
                os.dup2(null, 0)
                os.close(null)
                os.setsid()
                signal.signal(signal.SIGALRM, _alarm)
                os.chdir(cmd["dir"])
                cpu = int(cmd["cpu"])
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
                run_sample("spec.json")
            except BaseException as e:
                try:
                    emit({"fatal": _reason(e)})
                except BaseException:
                    pass
            os._exit(0)
        status = None
        pidfd = os.pidfd_open(pid)
        while status is None:
            if b"\n" not in _pending:
                ready, _, _ = select.select([0, pidfd], [], [])
                if pidfd in ready:
                    status = os.waitpid(pid, 0)[1]
                    break
            stop = command()
            if stop is None:
                cleanup(pid)
                os._exit(0)
            if stop.get("stop"):
                if INIT:
                    os.kill(pid, signal.SIGKILL)
                else:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                status = os.waitpid(pid, 0)[1]
        os.close(pidfd)
        cleanup(pid)
        emit({"done": os.waitstatus_to_exitcode(status)})


zygote()
