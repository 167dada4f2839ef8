"""ns per call through ctypes: lipc next to a plain C function called the
same way, so the table shows what lipc adds over ctypes' own cost; then
each binding method next to the same C calls made through bare ctypes
(the same function objects, so prototypes set once; the handle as a ready
c_int64 and a c_int out-parameter made once and passed as it is, as the
binding passes them):
what the binding adds over ctypes (issue 12: at most 1.15 times). The two
sides of each such row run alternately, round after round, and the ratio
is the median of the rounds' ratios, so both see the same machine.

    python3 bench/bench_calls.py [--rounds N] [--calls N]

The baseline .so is compiled at run time with `cc -shared -fPIC` into a
temporary directory. Each figure is the median of several rounds.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from ctypes import byref, c_char_p, c_int, c_int64
from typing import Tuple
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lipc  # noqa: E402
from lipc._lib import lib  # noqa: E402
from bench_record import record  # noqa: E402

BASELINE_C = r"""
const char *base_version(void) { return "0.1.0"; }
int base_lookup(long long h, int *out) { if (h < 0) return -2; *out = 1; return 0; }
"""


def baseline() -> ctypes.CDLL:
    # The file may go once loaded: the mapping stays.
    with tempfile.TemporaryDirectory(prefix="lipc-bench-") as tmp:
        src, so = os.path.join(tmp, "base.c"), os.path.join(tmp, "libbase.so")
        with open(src, "w") as f:
            f.write(BASELINE_C)
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-shared", "-fPIC", "-o", so, src], check=True)
        base = ctypes.CDLL(so)
    base.base_version.restype, base.base_version.argtypes = c_char_p, []
    base.base_lookup.restype, base.base_lookup.argtypes = c_int, [c_int64, ctypes.POINTER(c_int)]
    return base


def ns_per_call(fn: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over rounds of the loop time per call, minus an empty loop."""
    def loop(f: Callable[[], object]) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            f()
        return (time.perf_counter_ns() - t0) / calls

    def nothing() -> None:
        return None

    fn()  # warm up
    return statistics.median(loop(fn) - loop(nothing) for _ in range(rounds))


def ns_alternating(fn: Callable[[], object], base: Callable[[], object], calls: int,
                   rounds: int) -> Tuple[float, float, float]:
    """Medians of (fn's ns per call, base's, fn's / base's), the two loops
    run one after the other in each round."""
    def loop(f: Callable[[], object]) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            f()
        return (time.perf_counter_ns() - t0) / calls

    def nothing() -> None:
        return None

    fn(), base()  # warm up
    ours, theirs, ratios = [], [], []
    for _ in range(rounds):
        empty = loop(nothing)
        a, b = loop(fn) - empty, loop(base) - empty
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return statistics.median(ours), statistics.median(theirs), statistics.median(ratios)


def method_row(label: str, fn: Callable[[], object], base: Callable[[], object], calls: int, rounds: int) -> None:
    ours, theirs, ratio = ns_alternating(fn, base, calls, rounds)
    label = f"method {label}"
    print(f"python  {label:<32} {ours:8.1f} ns/call  bare ctypes {theirs:8.1f} ns/call  ratio {ratio:.2f}")
    record(label, ours, "ns/call", "bare ctypes", theirs)


def binding_methods(calls: int, rounds: int) -> None:
    """Each binding method beside the C calls it makes, through bare ctypes.
    Both sides are called through one Python function (a lambda or a def
    around them), as user code would make either."""
    pid = os.getpid()
    sem = lipc.Semaphore(f"lipc-bench-m-{pid}", create=True, initial=0, exclusive=True, unlink_on_close=True)
    mutex = lipc.Mutex(f"lipc-bench-m-{pid}", create=True, exclusive=True, unlink_on_close=True)
    event = lipc.Event(f"lipc-bench-m-{pid}", create=True, exclusive=True, unlink_on_close=True)
    fd, path = tempfile.mkstemp(prefix="lipc-bench-")
    os.close(fd)
    flock = lipc.FileLock(path)
    try:
        # The handles as ready c_int64 objects, as the binding's methods pass
        # them (lipc._handle: self._ch): an int would make every bare call pay
        # a conversion the binding does not, and flatter the binding.
        sh, mh, eh, fh = (c_int64(o.handle) for o in (sem, mutex, event, flock))
        v, died = c_int(), c_int()
        post, wait, value = lib.lipc_sem_post, lib.lipc_sem_wait, lib.lipc_sem_value
        lock, unlock, locked = lib.lipc_mutex_lock, lib.lipc_mutex_unlock, lib.lipc_mutex_locked
        eset, ewait, ereset, eis = lib.lipc_event_set, lib.lipc_event_wait, lib.lipc_event_reset, lib.lipc_event_is_set
        flk, funl = lib.lipc_flock_lock, lib.lipc_flock_unlock

        def sem_pair() -> None:
            sem.release()
            sem.acquire()

        def sem_pair_c() -> None:
            post(sh)
            wait(sh, 0)

        def mutex_pair() -> None:
            mutex.acquire()
            mutex.release()

        def mutex_pair_c() -> None:
            lock(mh, 0, died)
            unlock(mh)

        def event_pair() -> None:
            event.set()
            event.wait()

        def event_pair_c() -> None:
            eset(eh)
            ewait(eh, 0)

        def flock_pair() -> None:
            flock.acquire()
            flock.release()

        def flock_pair_c() -> None:
            flk(fh, 0, 0, 1, 0)
            funl(fh, 0, 0)

        def sem_value_c() -> int:
            value(sh, v)
            return v.value

        def mutex_locked_c() -> bool:
            locked(mh, v)
            return v.value != 0

        def event_is_set_c() -> bool:
            eis(eh, v)
            return v.value != 0

        method_row("Semaphore.value", lambda: sem.value, sem_value_c, calls, rounds)
        method_row("Semaphore release+acquire", sem_pair, sem_pair_c, calls // 2, rounds)
        method_row("Mutex acquire+release", mutex_pair, mutex_pair_c, calls // 2, rounds)
        method_row("Mutex.locked", lambda: mutex.locked(), mutex_locked_c, calls, rounds)
        method_row("Event set+wait", event_pair, event_pair_c, calls // 2, rounds)
        method_row("Event.clear", lambda: event.clear(), lambda: ereset(eh), calls, rounds)
        method_row("Event.is_set", lambda: event.is_set(), event_is_set_c, calls, rounds)
        method_row("FileLock acquire+release", flock_pair, flock_pair_c, calls // 10, rounds)
    finally:
        for o in (sem, mutex, event, flock):
            o.close()
        os.unlink(path)


def row(label: str, ours: float, base: float, base_label: str = "baseline") -> None:
    print(f"python  {label:<24} {ours:8.1f} ns/call  {base_label:<9} {base:8.1f} ns/call  ratio {ours / base:.2f}")
    record(label, ours, "ns/call", base_label, base)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("LIPC_BENCH_ROUNDS", 7)))
    ap.add_argument("--calls", type=int, default=int(os.environ.get("LIPC_BENCH_CALLS", 100_000)))
    a = ap.parse_args()
    base = baseline()
    v, out = c_int(), c_int()
    name = f"lipc-bench-{os.getpid()}"
    sem = lipc.Semaphore(name, create=True, initial=0, exclusive=True, unlink_on_close=True)
    h = sem.handle
    try:
        row("lipc_version", ns_per_call(lambda: lib.lipc_version(), a.calls, a.rounds),
            ns_per_call(lambda: base.base_version(), a.calls, a.rounds))
        base_lookup = ns_per_call(lambda: base.base_lookup(h, byref(out)), a.calls, a.rounds)
        row("lipc_sem_value", ns_per_call(lambda: lib.lipc_sem_value(h, byref(v)), a.calls, a.rounds), base_lookup)
        row("lipc_handle_kind", ns_per_call(lambda: lib.lipc_handle_kind(h, byref(v)), a.calls, a.rounds), base_lookup)
        row("Semaphore.value", ns_per_call(lambda: sem.value, a.calls, a.rounds), base_lookup)

        def lipc_pair() -> None:
            sem.release()
            sem.acquire()

        ts = threading.Semaphore(0)

        def stdlib_pair() -> None:
            ts.release()
            ts.acquire()

        row("sem release+acquire", ns_per_call(lipc_pair, a.calls // 4, a.rounds),
            ns_per_call(stdlib_pair, a.calls // 4, a.rounds), "threading")
    finally:
        sem.close()
    binding_methods(a.calls, a.rounds)


if __name__ == "__main__":
    main()
