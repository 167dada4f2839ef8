"""ns per call through ctypes: lipc next to a plain C function called the
same way, so the table shows what lipc adds over ctypes' own cost.

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


if __name__ == "__main__":
    main()
