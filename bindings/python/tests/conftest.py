"""Shared fixtures. The tests run against the build tree's library
(<repo>/build/liblipc.so) unless LIPC_LIBRARY names another.

With LIPC_TEST_INSTALLED=1 they run against an installed lipc instead (make
test installs the wheel into a fresh venv and runs them with its Python):
lipc must then be imported from outside this source tree and load the
library its wheel carries, and helper interpreters get no source path."""
from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.normpath(os.path.join(PYDIR, "..", ".."))
HEADER = os.path.join(REPO, "include", "lipc.h")
BUILD_LIB = (os.path.join(REPO, "build", "windows", "lipc.dll") if sys.platform == "win32"
             else os.path.join(REPO, "build", "liblipc.so"))
HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers")

INSTALLED = os.environ.get("LIPC_TEST_INSTALLED") == "1"
WINDOWS = sys.platform == "win32"
# scripts/windows/test.sh runs this suite under Wine, which lacks a few
# things Windows has (shared/design/windows-wine.md, gaps 1-6): tests that
# meet one are skipped under Wine only (under_wine), naming the gap.
UNDER_WINE = WINDOWS and os.environ.get("LIPC_UNDER_WINE") == "1"


def under_wine(gap: str) -> Any:
    """skipif for a test that Wine (not Windows) fails: gap says which."""
    return pytest.mark.skipif(UNDER_WINE, reason=f"Wine 8 differs from Windows: {gap}")


# Children every system has: a Python on Windows for true(1), sleep(1), echo(1).
TRUE = [sys.executable, "-c", "pass"] if WINDOWS else ["true"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(300)"] if WINDOWS else ["sleep", "300"]
ECHO_HI = [sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'hi\\n')"] if WINDOWS else ["echo", "hi"]


# POSIX-only tests: skipif(WINDOWS) with the reason.
def posix_only(reason: str) -> Any:
    return pytest.mark.skipif(WINDOWS, reason=f"POSIX only: {reason}")


if UNDER_WINE:
    # Not in windows-wine.md's list: Wine 8 has no KERNEL32 CopyFile2, which
    # shutil.copy2 (so copytree) calls on Windows from Python 3.12; the
    # process then dies in Wine's debugger. shutil copies by reading and
    # writing when _winapi lacks it, as on older Windows.
    import _winapi
    import shutil

    class _WinapiWithoutCopyFile2:
        def __getattr__(self, name: str) -> Any:
            if name == "CopyFile2":
                raise AttributeError(name)
            return getattr(_winapi, name)

    shutil._winapi = _WinapiWithoutCopyFile2()  # type: ignore[attr-defined]

if UNDER_WINE:
    # Wine's gap 7 (windows-wine.md): CreateProcessW fails now and then with
    # ERROR_INTERNAL_ERROR (1359), on Wine only. A test whose call phase
    # failed with that error (anywhere in the exception's chain) runs once
    # more, from its setup; a second failure stands. Nothing else is run
    # again, and Windows never is.
    from _pytest.runner import runtestprotocol

    _ERROR_INTERNAL_ERROR = 1359

    def _met_gap7(exc: Any) -> bool:
        seen = set()
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            if getattr(exc, "winerror", None) == _ERROR_INTERNAL_ERROR:
                return True
            exc = exc.__cause__ or exc.__context__
        return False

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        if call.when == "call" and report.failed and call.excinfo is not None:
            report.lipc_wine_gap7 = _met_gap7(call.excinfo.value)

    def pytest_runtest_protocol(item: Any, nextitem: Any) -> bool:
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        if any(getattr(r, "lipc_wine_gap7", False) for r in reports):
            sys.stderr.write(f"\n{item.nodeid}: CreateProcessW gave ERROR_INTERNAL_ERROR "
                             "(Wine's gap 7): run once more\n")
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
        for r in reports:
            item.ihook.pytest_runtest_logreport(report=r)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

if INSTALLED:
    if os.environ.get("LIPC_LIBRARY"):
        pytest.exit("LIPC_TEST_INSTALLED=1 tests the library the wheel carries: unset LIPC_LIBRARY",
                    returncode=2)
elif not os.environ.get("LIPC_LIBRARY"):
    if not os.path.exists(BUILD_LIB):
        pytest.exit(f"{BUILD_LIB} is missing: run `make -C {REPO}` first", returncode=2)
    # A stale copy in lipc/ (left by packaging) must not shadow the build.
    os.environ["LIPC_LIBRARY"] = BUILD_LIB

import lipc  # noqa: E402

if INSTALLED:
    _pkg = os.path.dirname(os.path.abspath(lipc.__file__))
    if os.path.commonpath([_pkg, REPO]) == REPO:
        pytest.exit(f"LIPC_TEST_INSTALLED=1 but lipc was imported from the source tree ({_pkg})",
                    returncode=2)
    if lipc._lib.PATH != os.path.join(_pkg, lipc._lib.LIBNAME):
        pytest.exit(f"the installed lipc loaded {lipc._lib.PATH}, not the library in its package",
                    returncode=2)

# The Ctrl-C tests (test_*sigint*, test_soak, the SIGINT cases in test_flock)
# need SIGINT to raise KeyboardInterrupt, here and in the helper interpreters.
# Python sets that up only when SIGINT is not ignored at start-up, and a
# shell ignores SIGINT in what it starts in the background (`make test &`,
# nohup, CI runners): every one of those tests then hung until its timeout.
# A handler (unlike SIG_IGN) is reset to the default by exec, so the helpers
# start as an interactive Python would.
signal.signal(signal.SIGINT, signal.default_int_handler)

_counter = itertools.count()


def unique_name(tag: str = "t") -> str:
    """A semaphore name no other run (or parallel test process) uses."""
    return f"lipc-py-{tag}-{os.getpid()}-{next(_counter)}"


def unlink_everywhere(n: str) -> None:
    """Removes whatever semaphore, mutex, event or shared memory is named n."""
    for unlink in (lipc.unlink_semaphore, lipc.unlink_mutex, lipc.unlink_event,
                   lipc.unlink_shared_memory):
        try:
            unlink(n)
        except lipc.NotFoundError:
            pass


@pytest.fixture
def names() -> Iterator[List[str]]:
    """A list to append names of semaphores, mutexes, events and shared
    memory to; whatever has each name is unlinked after the test."""
    made: List[str] = []
    yield made
    for n in made:
        unlink_everywhere(n)


@pytest.fixture
def name(names: List[str]) -> str:
    n = unique_name()
    names.append(n)
    return n


def header_defines() -> Dict[str, str]:
    """#define NAME VALUE lines of include/lipc.h (value text, comments cut)."""
    out = {}
    with open(HEADER) as f:
        for line in f:
            m = re.match(r"#define\s+(LIPC_\w+)\s+(\S.*?)\s*(/\*.*)?$", line)
            if m and "(" not in m.group(1):
                out[m.group(1)] = m.group(2)
    return out


def child_env(**extra: str) -> Dict[str, str]:
    """Environment for a child Python that imports this lipc."""
    env = dict(os.environ)
    if not INSTALLED:
        env["PYTHONPATH"] = PYDIR + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# Windows: each helper gets a console of its own, so the Ctrl-C it presses
# (helpers/hostint.py) reaches it and not pytest.
HELPER_FLAGS = subprocess.CREATE_NEW_CONSOLE if WINDOWS else 0  # type: ignore[attr-defined]


def start_helper(script: str, *args: str, **env: str) -> subprocess.Popen:
    """Starts tests/helpers/<script> in a fresh interpreter with stdout
    piped, unbuffered (read it with read_line)."""
    return subprocess.Popen([sys.executable, os.path.join(HELPERS, script), *args],
                            env=child_env(**env), stdout=subprocess.PIPE, bufsize=0,
                            creationflags=HELPER_FLAGS)


def read_line(p: subprocess.Popen, timeout: float = 30) -> str:
    """The next stdout line of a helper, or a failure (never a hang)."""
    assert p.stdout is not None
    end = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):  # unbuffered: nothing hides in a buffer
        assert lipc.wait_fds([(p.stdout, lipc.WAIT_READ)], max(0.0, end - time.monotonic())), \
            f"no line from the helper in {timeout} s (got {line!r})"
        c = p.stdout.read(1)
        if not c:
            break
        line += c
    return line.decode().rstrip("\r\n")  # a Windows helper's text stdout ends lines with \r\n


def finish(p: subprocess.Popen) -> int:
    """Kills (if still running) and reaps a helper; its exit status."""
    if p.poll() is None:
        p.kill()
    rc = p.wait(30)
    if p.stdout is not None:
        p.stdout.close()
    return rc


def run_helper(script: str, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Runs tests/helpers/<script> in a fresh interpreter; a hang becomes a
    failed test (TimeoutExpired), never a hung pytest."""
    return subprocess.run([sys.executable, os.path.join(HELPERS, script), *args],
                          env=child_env(**env), capture_output=True, text=True,
                          timeout=timeout, creationflags=HELPER_FLAGS)


@pytest.fixture
def alarm() -> Iterator[Callable[..., None]]:
    """alarm(delay, handler, interval=0): SIGALRM after delay seconds (then
    every interval seconds); the old handler is back after the test."""
    if WINDOWS:
        pytest.skip("POSIX only: SIGALRM and setitimer (on Windows the one interruption of a wait is "
                    "Ctrl-C: test_sigint.py, test_sync_sigint.py, test_proc_sigint.py)")
    old = signal.getsignal(signal.SIGALRM)

    def arm(delay: float, handler: Any, interval: float = 0) -> None:
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, delay, interval)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def ticking_alarm(alarm: Callable[..., None]) -> Callable[[], List[float]]:
    """SIGALRM every 50 ms for 3 s, with a handler that only records: a wait
    that restarted with its full timeout after each EINTR would last 3 s."""
    def start() -> List[float]:
        hits: List[float] = []

        def tick(*_: Any) -> None:
            hits.append(time.monotonic())
            if len(hits) >= 60:
                signal.setitimer(signal.ITIMER_REAL, 0)

        alarm(0.05, tick, 0.05)
        return hits

    return start


def proc_state(pid: int) -> str:
    """The state letter of a process ("R", "S", "Z", ...), or "gone"."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return "gone"


def zombies_of(ppid: int) -> List[int]:
    """Children of ppid in state Z."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == ppid:
            out.append(int(d))
    return out


def open_fds() -> List[int]:
    return sorted(int(x) for x in os.listdir("/proc/self/fd"))


def settle(cond: Callable[[], bool], timeout: float = 3.0, step: float = 0.02) -> bool:
    """Polls cond until true or timeout seconds pass; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= end:
            return cond()
        time.sleep(step)


def least_of(measure: Callable[[], float], tries: int = 3, below: float = 0.0) -> float:
    """The smallest of up to `tries` measurements, stopping at the first one
    under `below`. A latency test asserts on this: a machine busy with other
    work delays one try now and then, while a real slowness (polling, an extra
    slice) delays every try."""
    best = measure()
    for _ in range(tries - 1):
        if best < below:
            break
        best = min(best, measure())
    return best
