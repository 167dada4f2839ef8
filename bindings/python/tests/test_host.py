"""Call modes and diagnostics: what lipc does for (and to) the host."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

if sys.platform != "win32":
    import resource
from conftest import child_env, posix_only, unique_name

import lipc


@pytest.fixture
def restore_mode():
    before = lipc.call_mode()
    yield
    lipc.set_call_mode(before)
    assert lipc.call_mode() == before


def go_thread_in_threads(mode: int, names) -> list:
    """From 4 Python threads: semaphore round trips, then DIAG_GO_THREAD."""
    lipc.set_call_mode(mode)
    assert lipc.call_mode() == mode
    seen, errors = [], []

    def work(i: int) -> None:
        try:
            n = unique_name(f"mode{mode}")
            names.append(n)
            for _ in range(20):
                s = lipc.Semaphore(n, create=True, initial=0)
                s.release()
                assert s.acquire(timeout=5)
                s.close()
            seen.append(lipc.diag(lipc.DIAG_GO_THREAD))
            assert lipc.diag(lipc.DIAG_FP_SELFTEST) == 1
        except BaseException as e:  # noqa: B902
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    return seen


@posix_only("the hand-off call mode and DIAG_GO_THREAD are Linux host-runtime mechanisms")
def test_handoff_and_direct_from_threads(restore_mode, names):
    assert go_thread_in_threads(lipc.CALL_HANDOFF, names) == [1, 1, 1, 1]
    assert lipc.diag(lipc.DIAG_GO_THREAD) == 1  # and from the main thread
    assert go_thread_in_threads(lipc.CALL_DIRECT, names) == [0, 0, 0, 0]
    assert lipc.diag(lipc.DIAG_GO_THREAD) == 0


def test_unknown_mode_is_invalid(restore_mode):
    before = lipc.call_mode()
    for bad in (0, 3, -1):
        with pytest.raises(lipc.InvalidArgumentError):
            lipc.set_call_mode(bad)
    assert lipc.call_mode() == before


def test_diag_figures():
    assert lipc.diag(lipc.DIAG_FP_SELFTEST) == 1
    if sys.platform != "win32":  # (Linux: lipc wraps Go's thread starts)
        assert lipc.diag(lipc.DIAG_THREADS_WRAPPED) >= 1  # Go's threads got sane FP state
    assert lipc.diag(lipc.DIAG_STACK_LOOKUPS) >= 0
    assert lipc.diag(lipc.DIAG_LIVE_HANDLES) >= 0
    with pytest.raises(lipc.InvalidArgumentError, match="unknown figure"):
        lipc.diag(99)


def _blocked_masks():
    masks = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("SigBlk:"):
                        masks.append(int(line.split()[1], 16))
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return masks


@posix_only("signal masks of threads in /proc (Windows has no signals)")
def test_lipc_threads_keep_every_async_signal_blocked():
    # A C extension's handler without SA_ONSTACK must never run on a
    # goroutine stack (host-runtimes.md F19): lipc's threads block every
    # asynchronous signal, SIGCHLD and SIGPROF too, which Go's runtime would
    # unblock on them. lipc's threads are the ones blocking SIGALRM (Python's
    # never do).
    assert lipc.diag(lipc.DIAG_GO_SIGNALS_BLOCKED) == 1
    bit = lambda sig: 1 << (sig - 1)  # noqa: E731
    lipc_threads = [m for m in _blocked_masks() if m & bit(signal.SIGALRM)]
    assert len(lipc_threads) >= 2
    for m in lipc_threads:
        for sig in (signal.SIGCHLD, signal.SIGPROF, signal.SIGUSR1, signal.SIGINT, signal.SIGTERM):
            assert m & bit(sig), f"a lipc thread leaves {sig!r} unblocked: mask {m:#x}"


@posix_only("RLIMIT_NOFILE, which Windows does not have")
def test_host_nofile_is_given_back():
    # Go raises the soft RLIMIT_NOFILE to the hard one at start; lipc records
    # the host's and restores it (F18). A child with soft < hard shows it.
    code = ("import resource, time\n"
            "_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))\n"
            "import lipc\n"
            "time.sleep(0.2)\n"
            "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], lipc.diag(lipc.DIAG_HOST_NOFILE))\n")
    p = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    soft, recorded = map(int, p.stdout.split())
    want = min(256, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    assert soft == want and recorded == want


# -- the runtime's own fds ------------------------------------------------------

def test_runtime_fds_name_the_poller():
    fds = lipc.runtime_fds()
    assert all(type(fd) is int for fd in fds)
    if sys.platform == "win32":
        assert fds == []  # the runtime holds handles there, not fds
        return
    links = [os.readlink(f"/proc/self/fd/{fd}") for fd in fds]
    assert all(fd > 2 for fd in fds), fds
    assert links.count("anon_inode:[eventpoll]") == 1 and links.count("anon_inode:[eventfd]") == 1, links
    # and the reaper's pidfds, if an earlier test left a child running
    assert all(link.startswith("anon_inode:[event") or "cgroup" in link or "pidfd" in link for link in links), links


# A daemon made the way Python programs make one: python-daemon's
# DaemonContext closes every fd it is not told to keep. Told to keep
# lipc.runtime_fds(), the process goes on spawning (children with autokill
# made the Go runtime poll: with its poller's fds closed, it aborted the
# process, "fatal error: runtime: netpoll failed", in 2 of 3 starts).
DAEMON_SCRIPT = r"""
import os, sys
import daemon
import lipc
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
extra = os.open(os.devnull, os.O_RDONLY)  # not kept: the close-all must take it
keep = lipc.runtime_fds()
with daemon.DaemonContext(files_preserve=keep + [out], detach_process=False,
                          working_directory=os.getcwd()):
    try:
        os.fstat(extra)
        extra_closed = 0
    except OSError:
        extra_closed = 1
    left = [fd for fd in keep if os.path.exists("/proc/self/fd/%d" % fd)]
    for i in range(400):
        lipc.run(["/bin/true"], autokill=True, check=True)
    os.write(out, ("ok %d %s %s" % (extra_closed, keep, left)).encode())
"""


@posix_only("file descriptors and python-daemon are POSIX things")
def test_a_python_daemon_that_spares_runtime_fds_keeps_working(tmp_path):
    pytest.importorskip("daemon")
    result = tmp_path / "result"
    r = subprocess.run([sys.executable, "-c", DAEMON_SCRIPT, str(result)], env=child_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    words = result.read_text().split(" ", 2)
    assert words[0] == "ok", words
    assert words[1] == "1", "the close-all did not run"
    keep, left = words[2].split("] [")
    assert keep.strip("[]") and keep.strip("[]") == left.strip("[]"), (keep, left)  # and spared them


# The README's advice for daemons that fork (python-daemon's default):
# import lipc inside the context; imported before, what needs Go says
# ForkedError, and its message tells a daemon what to do.
FORKING_DAEMON_SCRIPT = r"""
import os, sys
import daemon
result = sys.argv[1]
if sys.argv[2] == "before":
    import lipc
with daemon.DaemonContext(working_directory=os.getcwd()):  # forks twice, then closes every fd
    import lipc
    try:
        lipc.run(["/bin/true"], check=True)
        text = "ok"
    except lipc.ForkedError as e:
        text = "forked: " + str(e)
    with open(result + ".tmp", "w") as f:
        f.write(text)
    os.rename(result + ".tmp", result)
"""


@posix_only("python-daemon forks: a POSIX thing")
@pytest.mark.parametrize("when", ["inside", "before"])
def test_a_forking_python_daemon_imports_lipc_inside(tmp_path, when):
    pytest.importorskip("daemon")
    result = tmp_path / "result"
    r = subprocess.run([sys.executable, "-c", FORKING_DAEMON_SCRIPT, str(result), when], env=child_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]  # the first parent's exit
    deadline = time.monotonic() + 60
    while not result.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = result.read_text()
    if when == "inside":
        assert text == "ok"
    else:
        assert text.startswith("forked: ") and "daemon loads lipc once it has forked" in text, text
