"""What spawning and reading a child cost through lipc from Python, beside
Python's own ways of doing the same, in the same run:

  spawn+wait of /bin/true (median microseconds): lipc.run, lipc.Popen +
    wait, and the raw C calls on one reused attributes handle, beside
    os.posix_spawn + os.waitpid, subprocess.run and subprocess.Popen +
    wait; and of "true" found on PATH, run and Popen + wait beside
    subprocess's; measured alternately so both sides see the same machine.
  reading 64 MiB from `head -c 67108864 /dev/zero` (median MB/s): raw
    lipc_fd_read in 1 MiB chunks into one buffer (beside an os.read loop of
    1 MiB on an os.posix_spawn'd pipe, and beside subprocess capture),
    Popen.stdout.read() (beside subprocess.Popen's), and
    lipc.run(capture_output=True) (communicate in C; beside
    subprocess.run(capture_output=True), and beside libc's read(2) called
    through ctypes in a loop that reuses one 1 MiB buffer and in one that
    keeps all 64 MiB in a buffer grown by doubling, as
    tests/bench/bench_proc.c's); each round runs every function of a row
    once, in turn, as the machine's pipe throughput can change by half
    from one minute to the next.
  many small outputs (median microseconds per child, --lines children
    each): /bin/echo's one line through lipc.run(capture_output=True) and
    Popen.communicate, beside subprocess's.

    python3 bench/bench_proc.py [--spawns N] [--reads N] [--lines N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from ctypes import CDLL, addressof, byref, c_int, c_int64, c_size_t, c_ssize_t, c_void_p, create_string_buffer
from typing import Callable, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lipc  # noqa: E402
from lipc import _const  # noqa: E402
from lipc._lib import PATH, lib  # noqa: E402
from bench_record import record  # noqa: E402

TRUE = "/bin/true"
BYTES = 64 << 20
CHUNK = 1 << 20
HEAD = ["head", "-c", str(BYTES), "/dev/zero"]


def check(rc: int) -> None:
    if rc != 0:
        raise RuntimeError(f"lipc: {lib.lipc_last_error().decode()} ({rc})")


def alternate(a: Callable[[], object], b: Callable[[], object], n: int) -> Tuple[float, float]:
    """Medians (microseconds) of a and b, run alternately n times each."""
    ta: List[float] = []
    tb: List[float] = []
    a(), b()  # warm up
    for _ in range(n):
        t0 = time.perf_counter_ns()
        a()
        t1 = time.perf_counter_ns()
        b()
        t2 = time.perf_counter_ns()
        ta.append((t1 - t0) / 1e3)
        tb.append((t2 - t1) / 1e3)
    return statistics.median(ta), statistics.median(tb)


def us_row(label: str, ours: float, base: float, base_label: str) -> None:
    print(f"python  {label:<28} {ours:8.1f} us/op    {base_label:<22} {base:8.1f} us/op    ratio {ours / base:.2f}")
    record(label, ours, "us/op", base_label, base)


def mbs_row(label: str, ours: float, base: float, base_label: str) -> None:
    print(f"python  {label:<28} {ours:8.0f} MB/s     {base_label:<22} {base:8.0f} MB/s     ratio {ours / base:.2f}")
    record(label, ours, "MB/s", base_label, base)


# -- spawn + wait -------------------------------------------------------------

def posix_spawn_wait() -> None:
    pid = os.posix_spawn(TRUE, [TRUE], os.environ)
    os.waitpid(pid, 0)


def lipc_run() -> None:
    lipc.run([TRUE])


def lipc_popen() -> None:
    p = lipc.Popen([TRUE])
    p.wait()
    p.close()


class Raw:
    """The C calls alone, on one attributes handle."""

    def __init__(self) -> None:
        a = c_int64()
        check(lib.lipc_spawnattr_new(byref(a)))
        check(lib.lipc_spawnattr_arg(a.value, TRUE.encode()))
        self.attr = a.value
        self.h = c_int64()
        self.code = c_int()

    def __call__(self) -> None:
        check(lib.lipc_proc_spawn(self.attr, byref(self.h)))
        check(lib.lipc_proc_wait(self.h.value, -1, byref(self.code), None))
        lib.lipc_close(self.h.value)

    def close(self) -> None:
        lib.lipc_close(self.attr)


def subprocess_run() -> None:
    subprocess.run([TRUE])


# The issue's own case: lipc.run(["true"]), the program found on PATH
# (lipc searches in C; subprocess builds each candidate path in Python).
def lipc_run_path() -> None:
    lipc.run(["true"])


def subprocess_run_path() -> None:
    subprocess.run(["true"])


def lipc_popen_path() -> None:
    p = lipc.Popen(["true"])
    p.wait()
    p.close()


def subprocess_popen_path() -> None:
    subprocess.Popen(["true"]).wait()


def subprocess_popen() -> None:
    p = subprocess.Popen([TRUE])
    p.wait()


# -- reading 64 MiB -----------------------------------------------------------

def mbs(fns: List[Callable[[], int]], rounds: int) -> List[float]:
    """Median MB/s of each of fns, over rounds that run every one once, in
    turn, starting from a different one each round."""
    speeds: List[List[float]] = [[] for _ in fns]
    for r in range(rounds):
        for k in range(len(fns)):
            i = (r + k) % len(fns)
            t0 = time.perf_counter()
            n = fns[i]()
            dt = time.perf_counter() - t0
            if n != BYTES:
                raise RuntimeError(f"short read: {n} bytes")
            speeds[i].append(n / dt / 1e6)
    return [statistics.median(s) for s in speeds]


BUF = create_string_buffer(CHUNK)


def lipc_raw_read() -> int:
    a, h, fd, n = c_int64(), c_int64(), c_int(), c_size_t()
    check(lib.lipc_spawnattr_new(byref(a)))
    for arg in HEAD:
        check(lib.lipc_spawnattr_arg(a.value, arg.encode()))
    check(lib.lipc_spawnattr_set_fd(a.value, 1, _const.FD_PIPE_OUT, 0, None, 0, 0))
    check(lib.lipc_proc_spawn(a.value, byref(h)))
    lib.lipc_close(a.value)
    check(lib.lipc_proc_take_fd(h.value, 1, byref(fd)))
    total = 0
    while True:
        check(lib.lipc_fd_read(fd.value, BUF, CHUNK, -1, byref(n)))
        if n.value == 0:
            break
        total += n.value
    lib.lipc_fd_close(fd.value)
    check(lib.lipc_proc_wait(h.value, -1, None, None))
    lib.lipc_close(h.value)
    return total


def lipc_popen_read() -> int:
    with lipc.Popen(HEAD, stdout=lipc.PIPE) as p:
        return len(p.stdout.read())


def lipc_run_capture() -> int:
    return len(lipc.run(HEAD, capture_output=True).stdout)


def subprocess_popen_read() -> int:
    with subprocess.Popen(HEAD, stdout=subprocess.PIPE) as p:
        return len(p.stdout.read())


def subprocess_capture() -> int:
    return len(subprocess.run(HEAD, capture_output=True).stdout)


LIBC = CDLL(None, use_errno=True)
LIBC.read.argtypes, LIBC.read.restype = [c_int, c_void_p, c_size_t], c_ssize_t
LIBC.malloc.argtypes, LIBC.malloc.restype = [c_size_t], c_void_p
LIBC.realloc.argtypes, LIBC.realloc.restype = [c_void_p, c_size_t], c_void_p
LIBC.free.argtypes, LIBC.free.restype = [c_void_p], None


def spawn_head() -> Tuple[int, int]:
    """head on a new pipe (os.posix_spawn): its pid and the read end."""
    r, w = os.pipe()
    pid = os.posix_spawn(HEAD[0] if os.path.isabs(HEAD[0]) else "/usr/bin/head", HEAD, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)])
    os.close(w)
    return pid, r


def os_read_loop() -> int:
    pid, r = spawn_head()
    total = 0
    while True:
        b = os.read(r, CHUNK)
        if not b:
            break
        total += len(b)
    os.close(r)
    os.waitpid(pid, 0)
    return total


def c_read_loop() -> int:
    """libc's read(2) in a loop into one reused 1 MiB buffer: keeps nothing."""
    pid, r = spawn_head()
    buf = addressof(BUF)
    total = 0
    while True:
        n = LIBC.read(r, buf, CHUNK)
        if n <= 0:
            break
        total += n
    os.close(r)
    os.waitpid(pid, 0)
    return total


def c_read_loop_kept() -> int:
    """libc's read(2) in a loop that keeps everything: one malloc'd buffer
    grown by doubling (tests/bench/bench_proc.c's read_grow)."""
    pid, r = spawn_head()
    size, cap = 0, 2 * CHUNK
    buf = LIBC.malloc(cap)
    try:
        while True:
            if cap - size < CHUNK:
                cap *= 2
                grown = LIBC.realloc(buf, cap)
                if not grown:
                    raise MemoryError("realloc")
                buf = grown
            n = LIBC.read(r, buf + size, CHUNK)
            if n <= 0:
                break
            size += n
    finally:
        LIBC.free(buf)
        os.close(r)
        os.waitpid(pid, 0)
    return size


# -- many small outputs ---------------------------------------------------------

LINE = ["/bin/echo", "a line of output"]


def lipc_run_line() -> None:
    assert lipc.run(LINE, capture_output=True).stdout == b"a line of output\n"


def subprocess_run_line() -> None:
    assert subprocess.run(LINE, capture_output=True).stdout == b"a line of output\n"


def lipc_communicate_line() -> None:
    with lipc.Popen(LINE, stdout=lipc.PIPE) as p:
        assert p.communicate()[0] == b"a line of output\n"


def subprocess_communicate_line() -> None:
    with subprocess.Popen(LINE, stdout=subprocess.PIPE) as p:
        assert p.communicate()[0] == b"a line of output\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spawns", type=int, default=int(os.environ.get("LIPC_BENCH_SPAWNS", 300)))
    ap.add_argument("--reads", type=int, default=int(os.environ.get("LIPC_BENCH_READS", 5)))
    ap.add_argument("--lines", type=int, default=int(os.environ.get("LIPC_BENCH_LINES", 1000)))
    a = ap.parse_args()
    raw = Raw()
    try:
        base = "posix_spawn+waitpid"
        ours, theirs = alternate(raw, posix_spawn_wait, a.spawns)
        us_row("spawn+wait raw C calls", ours, theirs, base)
        ours, theirs = alternate(lipc_popen, posix_spawn_wait, a.spawns)
        us_row("spawn+wait Popen+wait", ours, theirs, base)
        ours, theirs = alternate(lipc_run, posix_spawn_wait, a.spawns)
        us_row("spawn+wait lipc.run", ours, theirs, base)
        ours, theirs = alternate(lipc_run, subprocess_run, a.spawns)
        us_row("spawn+wait lipc.run", ours, theirs, "subprocess.run")
        ours, theirs = alternate(lipc_popen, subprocess_popen, a.spawns)
        us_row("spawn+wait Popen+wait", ours, theirs, "subprocess.Popen+wait")
        ours, theirs = alternate(lipc_run_path, subprocess_run_path, a.spawns)
        us_row("spawn+wait lipc.run PATH", ours, theirs, "subprocess.run PATH")
        ours, theirs = alternate(lipc_popen_path, subprocess_popen_path, a.spawns)
        us_row("spawn+wait Popen+wait PATH", ours, theirs, "subprocess Popen PATH")
    finally:
        raw.close()
    raw_read, os_read = mbs([lipc_raw_read, os_read_loop], a.reads)
    mbs_row("read 64 MiB raw fd_read 1 MiB", raw_read, os_read, "os.read 1 MiB loop")
    ours, theirs = mbs([lipc_popen_read, subprocess_popen_read], a.reads)
    mbs_row("read 64 MiB Popen.stdout.read", ours, theirs, "subprocess stdout.read")
    capture, sub, raw_read, c_loop, c_kept = mbs(
        [lipc_run_capture, subprocess_capture, lipc_raw_read, c_read_loop, c_read_loop_kept], a.reads)
    mbs_row("read 64 MiB lipc.run capture", capture, sub, "subprocess capture")
    mbs_row("read 64 MiB raw fd_read 1 MiB", raw_read, sub, "subprocess capture")
    mbs_row("read 64 MiB lipc.run capture", capture, c_loop, "libc read(2) loop")
    mbs_row("read 64 MiB lipc.run capture", capture, c_kept, "libc read(2), kept")
    ours, theirs = alternate(lipc_run_line, subprocess_run_line, a.lines)
    us_row("a line: run capture", ours, theirs, "subprocess.run capture")
    ours, theirs = alternate(lipc_communicate_line, subprocess_communicate_line, a.lines)
    us_row("a line: Popen.communicate", ours, theirs, "subprocess communicate")
    print(f"spawn+wait: median of {a.spawns}; 64 MiB reads: median of {a.reads}; "
          f"a line captured: median of {a.lines} children each; library {PATH}")


if __name__ == "__main__":
    main()
