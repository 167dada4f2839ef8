"""Resource limits, autokill, and leaks: what the child gets before its
first instruction, and what the parent keeps (nothing) after many children."""
from __future__ import annotations

import sys

import pytest

if sys.platform == "win32":
    pytest.skip("POSIX only: rlimits (the resource module), signals as autokill, zombies and fds in "
                "/proc; lipc on Windows caps memory and CPU time with job limits and autokills "
                "through a job object (test_windows.py)", allow_module_level=True)

import os
import resource
import signal
import subprocess
import threading
import time

from conftest import HELPERS, child_env, open_fds, proc_state, settle, zombies_of

import lipc

PY = sys.executable


def fd_diff(before):
    now = open_fds()

    def what(fd):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None  # the listing's own fd, gone already
    new = {fd: what(fd) for fd in now if fd not in before}
    return {"new": {fd: w for fd, w in new.items() if w is not None},
            "gone": [fd for fd in before if fd not in now]}


def limits_line(rlimits, name="Max open files"):
    out = lipc.run(["cat", "/proc/self/limits"], rlimits=rlimits, capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if line.startswith(name))
    return line[len(name):].split()[:2]


def test_rlimit_nofile_seen_by_the_child():
    assert limits_line({"nofile": 77}) == ["77", "77"]
    assert limits_line({lipc.RLIMIT_NOFILE: (77, 88)}) == ["77", "88"]
    assert limits_line({"RLIMIT_NOFILE": (66, 88)}) == ["66", "88"]
    # the resource module's number is mapped by name (it is 7 on Linux, lipc's is 5)
    assert resource.RLIMIT_NOFILE != int(lipc.RLIMIT_NOFILE)
    assert limits_line({resource.RLIMIT_NOFILE: (55, 88)}) == ["55", "88"]
    assert limits_line({"fsize": None}, "Max file size") == ["unlimited", "unlimited"]
    assert limits_line({"core": (0, lipc.RLIM_INFINITY)}, "Max core file size") == ["0", "unlimited"]


def test_children_get_the_hosts_own_nofile():
    out = lipc.run(["sh", "-c", "ulimit -n"], capture_output=True).stdout
    assert int(out) == lipc.diag(lipc.DIAG_HOST_NOFILE)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may raise hard limits")
def test_a_refused_limit_fails_the_spawn():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with pytest.raises(PermissionError) as ei:
        lipc.Popen(["true"], rlimits={"nofile": (10, hard + 1000)})
    assert "setrlimit" in ei.value.message


def test_rlimit_cpu_ends_in_sigxcpu():
    with lipc.Popen(["sh", "-c", "while :; do :; done"], rlimits={"cpu": (1, 2)}) as p:
        assert p.wait(timeout=30) == -signal.SIGXCPU
        info = p.info()
    # (rusage and the limit count CPU time differently: ~0.86 s shows at a 1 s limit)
    assert info.signal == signal.SIGXCPU and info.utime + info.stime > 0.5, info


def test_rlimit_as_makes_a_big_allocation_fail():
    r = lipc.run([PY, "-c", "bytearray(500*1024*1024)"], rlimits={"as": 200 << 20},
                 stderr=lipc.PIPE)
    assert r.returncode == 1 and b"MemoryError" in r.stderr, r
    assert lipc.run([PY, "-c", "bytearray(50*1024*1024)"], rlimits={lipc.RLIMIT_AS: 400 << 20}).returncode == 0


def test_autokill_child_survives_its_spawning_thread():
    got = []

    def spawn():
        got.append(lipc.Popen(["sleep", "5"], autokill=True))

    t = threading.Thread(target=spawn)
    t.start()
    t.join()
    p = got[0]
    try:
        time.sleep(0.3)
        assert p.poll() is None, "the child died with the thread that spawned it"
    finally:
        p.kill()
        assert p.wait(5) == -signal.SIGKILL
        p.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_autokill_after_the_parent_is_killed(sig):
    parent = subprocess.Popen([PY, os.path.join(HELPERS, "autokill_parent.py"), str(int(sig))],
                              stdout=subprocess.PIPE, env=child_env(), text=True)
    try:
        child = int(parent.stdout.readline())
        assert proc_state(child) not in ("gone", "Z")
        parent.kill()  # SIGKILL: no chance to clean up
        parent.wait(10)
        # dead within ~2 s: gone, or a zombie waiting for init to reap it
        assert settle(lambda: proc_state(child) in ("gone", "Z"), 2.0), proc_state(child)
    finally:
        parent.kill()
        parent.wait(10)
        parent.stdout.close()


def test_1000_spawn_wait_cycles_leave_no_zombie_and_no_fd():
    # The Go runtime inside lipc opens its poller's fds (an epoll fd and an
    # eventfd) once, the first time it needs them (its GC's background
    # scavenger may be what does, at any moment): those two are allowed to
    # appear; anything else is a leak.
    fds0 = open_fds()
    live0 = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    t0 = time.monotonic()
    ok = 0
    for _ in range(1000):
        with lipc.Popen(["/bin/true"], stdout=lipc.PIPE) as p:
            ok += p.wait(10) == 0
    assert ok == 1000
    # also children whose handles close while they run (lipc reaps them
    # when they exit, and holds their pidfds until then), and run()
    pids = []
    for _ in range(20):
        p = lipc.Popen(["sleep", "0.2"])
        pids.append(p.pid)
        p.close()
    for _ in range(5):
        p = lipc.Popen(["sleep", "30"], on_close="stop", on_close_grace=0.1)
        pids.append(p.pid)
        p.close()
    for _ in range(50):
        assert lipc.run(["echo", "x"], capture_output=True).stdout == b"x\n"
    assert settle(lambda: all(proc_state(pid) == "gone" for pid in pids), 5), \
        [(pid, proc_state(pid)) for pid in pids if proc_state(pid) != "gone"]
    assert not zombies_of(os.getpid())
    runtime = {"anon_inode:[eventpoll]", "anon_inode:[eventfd]"}

    def no_new_fds():
        d = fd_diff(fds0)
        return not d["gone"] and len(d["new"]) <= 2 and set(d["new"].values()) <= runtime
    assert settle(no_new_fds, 2), fd_diff(fds0)
    assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == live0
    print(f"1000 cycles in {time.monotonic() - t0:.2f} s")
