"""The end of a Popen's life: the close policy applied at close() even while
another thread waits on the process, finished processes holding no fd, and
communicate()'s cap across calls."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from ctypes import byref, c_int
from typing import Any, Dict

import pytest
from conftest import proc_state, settle, zombies_of

import lipc

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: POSIX children (sh, sleep), SIGTERM/SIGKILL close policies and fds in /proc; test_windows.py covers stop() and wait_any on Windows")
from lipc import _const
from lipc._lib import lib


def open_pidfds() -> int:
    """The pidfds this process holds. Only those: the Go runtime inside lipc
    opens an epoll fd and an eventfd of its own the first time it needs a
    timer (its garbage collector may, at any moment), which would make a
    count of all fds flaky."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[pidfd]"
        except OSError:
            pass
    return n


def in_ppoll(tid: int) -> bool:
    """True while thread tid sleeps in ppoll (read from /proc: no timing)."""
    try:
        with open(f"/proc/self/task/{tid}/syscall") as f:
            return f.read().split()[0] == "271"  # x86-64 ppoll
    except (OSError, IndexError):
        return False


def waiting_thread(p: lipc.Popen, timeout: float) -> Dict[str, Any]:
    """Starts a thread in p.wait(timeout); returns its result dict once the
    thread sleeps in the C wait."""
    res: Dict[str, Any] = {}

    def run() -> None:
        res["tid"] = threading.get_native_id()
        t0 = time.monotonic()
        try:
            res["rc"] = p.wait(timeout)
        except Exception as e:  # noqa: BLE001 - reported to the test
            res["exc"] = e
        res["took"] = time.monotonic() - t0

    t = threading.Thread(target=run)
    t.start()
    res["thread"] = t
    if sys.platform == "linux" and os.uname().machine == "x86_64":
        assert settle(lambda: "tid" in res and in_ppoll(res["tid"]), 5), "the thread never waited"
    else:
        time.sleep(0.3)
    return res


def test_close_with_stop_policy_signals_at_once_while_another_thread_waits():
    p = lipc.Popen(["sleep", "30"], on_close="stop", on_close_grace=10)
    pid = p.pid
    res = waiting_thread(p, 8)
    p.close()
    res["thread"].join(10)
    assert res.get("rc") == -signal.SIGTERM, res
    assert res["took"] < 6, res  # at close, not at the child's end
    assert p.returncode == -signal.SIGTERM
    assert settle(lambda: proc_state(pid) == "gone", 3)


def test_close_with_stop_policy_kills_after_the_grace_while_another_thread_waits():
    p = lipc.Popen(["sh", "-c", "trap '' TERM; echo ready; exec sleep 30"], stdout=lipc.PIPE,
                   on_close="stop", on_close_grace=0.3)
    assert p.stdout.readline() == b"ready\n"
    res = waiting_thread(p, 8)
    t0 = time.monotonic()
    p.close()
    res["thread"].join(10)
    assert res.get("rc") == -signal.SIGKILL, res
    assert time.monotonic() - t0 >= 0.29
    assert settle(lambda: proc_state(p.pid) == "gone", 3)


def test_close_with_leave_policy_lets_the_wait_see_the_real_end():
    p = lipc.Popen(["sh", "-c", "sleep 0.3; exit 4"])
    res = waiting_thread(p, 8)
    p.close()
    res["thread"].join(10)
    assert res.get("rc") == 4, res


def test_finished_processes_hold_no_fds():
    n = 1000
    before = open_pidfds()
    procs = []
    for _ in range(n):
        p = lipc.Popen(["true"])
        p.wait(10)
        procs.append(p)
    held = open_pidfds() - before
    assert held == 0, f"{n} finished Popen objects hold {held} pidfds"
    # every answer comes from what was kept
    p = procs[0]
    assert p.poll() == 0 and p.wait() == 0
    info = p.info()
    assert not info.running and info.exit_code == 0 and info.maxrss_kb > 0 and info.utime is not None
    p.send_signal(signal.SIGTERM)  # exited: nothing happens, as subprocess
    with pytest.raises(ProcessLookupError):
        p.pidfd()
    for p in procs:
        p.close()
    assert open_pidfds() == before


def test_a_pidfd_asked_for_stays_until_close():
    p = lipc.Popen(["true"])
    fd = p.pidfd()
    assert p.wait(10) == 0
    os.fstat(fd)  # still open: a poll on it never meets a reused number
    assert p.pidfd() == fd
    [(ready, ev)] = lipc.wait_fds([(fd, lipc.WAIT_READ)], 0)
    assert ready == fd and ev & lipc.WAIT_READ
    p.close()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_wait_any_with_a_child_reaped_behind_its_back():
    p = lipc.Popen(["true"])
    code = c_int()
    assert lib.lipc_proc_wait(p.handle, 10000, byref(code), None) == 0  # returncode still None
    assert p.returncode is None
    assert lipc.wait_any([p], timeout=5) == [p]
    assert p.returncode == 0
    p.close()
    assert os.getpid() not in zombies_of(os.getpid())
    assert _const.PROC_PIDFD == 9


@pytest.mark.parametrize("over_files", [False, True])
def test_a_smaller_max_output_after_a_timeout(over_files):
    """A later communicate() with a smaller cap than what an earlier one
    (that timed out) collected: that stream is past the cap, and what comes
    back holds no more than the cap."""
    p = lipc.Popen(["sh", "-c", "head -c 3000 /dev/zero; exec sleep 30"], stdout=lipc.PIPE)
    try:
        if over_files:
            assert p.stdout is not None  # taken: Python's own loop
        got = b""
        end = time.monotonic() + 10
        while len(got) < 3000 and time.monotonic() < end:
            with pytest.raises(lipc.TimeoutExpired) as ei:
                p.communicate(timeout=0.1)
            got = ei.value.output or b""
        assert len(got) == 3000
        p.kill()
        with pytest.raises(lipc.OutputLimitError) as lim:
            p.communicate(timeout=5, max_output=1000)
        assert len(lim.value.stdout) == 1000
    finally:
        p.kill()
        p.close()
