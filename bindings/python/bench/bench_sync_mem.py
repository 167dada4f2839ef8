"""Semaphores, mutexes, shared memory and file locks through lipc from
Python, beside Python's own nearest equivalents, in the same run:

  uncontended pairs (median ns/pair): lipc.Semaphore release+acquire beside
    threading.Semaphore; lipc.Mutex acquire+release beside threading.Lock
    (and both beside the raw C calls through ctypes); lipc.FileLock
    acquire+release beside fcntl.lockf and fcntl.fcntl(F_OFD_SETLK) (when
    the fcntl module has it) on the same file.
  copying 256 MiB (median MB/s, warm pages): into lipc.SharedMemory.buf by
    memoryview slice assignment, beside the same into an mmap.mmap over a
    /dev/shm file and into multiprocessing.shared_memory.SharedMemory.buf;
    the file-like path in 1 MiB chunks (MemoryFile.write) beside
    mmap.mmap.write in 1 MiB chunks.

    python3 bench/bench_sync_mem.py [--rounds N] [--pairs N] [--mib N]
"""
from __future__ import annotations

import argparse
import fcntl
import mmap
import os
import statistics
import struct
import sys
import tempfile
import threading
import time
from multiprocessing import shared_memory
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lipc  # noqa: E402
from lipc._lib import lib  # noqa: E402
from bench_record import record  # noqa: E402

CHUNK = 1 << 20


def ns_per_pair(fn: Callable[[], object], pairs: int, rounds: int) -> float:
    """Median over rounds of the loop time per call, minus an empty loop
    (as bench_calls.py)."""
    def loop(f: Callable[[], object]) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(pairs):
            f()
        return (time.perf_counter_ns() - t0) / pairs

    def nothing() -> None:
        return None

    fn()  # warm up
    return statistics.median(loop(fn) - loop(nothing) for _ in range(rounds))


def row(label: str, ours: float, base: float, base_label: str) -> None:
    print(f"python  {label:<30} {ours:8.1f} ns/pair  {base_label:<22} {base:8.1f} ns/pair  "
          f"ratio {ours / base:.2f}")
    record(label, ours, "ns/pair", base_label, base)


def mbs_row(label: str, ours: float, base: float, base_label: str) -> None:
    print(f"python  {label:<30} {ours:8.0f} MB/s     {base_label:<22} {base:8.0f} MB/s     "
          f"ratio {ours / base:.2f}")
    record(label, ours, "MB/s", base_label, base)


def mbs(fn: Callable[[], None], nbytes: int, rounds: int) -> float:
    fn()  # warm up: every page touched once
    speeds = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        speeds.append(nbytes / (time.perf_counter() - t0) / 1e6)
    return statistics.median(speeds)


def bench_pairs(pairs: int, rounds: int, tag: str) -> None:
    sem = lipc.Semaphore(tag, create=True, initial=0, exclusive=True, unlink_on_close=True)
    mutex = lipc.Mutex(tag, create=True, exclusive=True, unlink_on_close=True)
    try:
        ts, tl = threading.Semaphore(0), threading.Lock()

        def sem_pair() -> None:
            sem.release()
            sem.acquire()

        def ts_pair() -> None:
            ts.release()
            ts.acquire()

        def mutex_pair() -> None:
            mutex.acquire()
            mutex.release()

        def tl_pair() -> None:
            tl.acquire()
            tl.release()

        sh, mh = sem.handle, mutex.handle
        post, wait, lock, unlock = lib.lipc_sem_post, lib.lipc_sem_wait, lib.lipc_mutex_lock, lib.lipc_mutex_unlock

        def raw_sem() -> None:
            post(sh)
            wait(sh, -1)

        def raw_mutex() -> None:
            lock(mh, -1, None)
            unlock(mh)

        row("sem release+acquire", ns_per_pair(sem_pair, pairs, rounds),
            ns_per_pair(ts_pair, pairs, rounds), "threading.Semaphore")
        row("sem raw post+wait (ctypes)", ns_per_pair(raw_sem, pairs, rounds),
            ns_per_pair(ts_pair, pairs, rounds), "threading.Semaphore")
        row("mutex acquire+release", ns_per_pair(mutex_pair, pairs, rounds),
            ns_per_pair(tl_pair, pairs, rounds), "threading.Lock")
        row("mutex raw lock+unlock (ctypes)", ns_per_pair(raw_mutex, pairs, rounds),
            ns_per_pair(tl_pair, pairs, rounds), "threading.Lock")
    finally:
        sem.close()
        mutex.close()


def bench_file_locks(pairs: int, rounds: int) -> None:
    with tempfile.NamedTemporaryFile(prefix="lipc-bench-lock-") as f:
        lock = lipc.FileLock(f.name)
        try:
            def lipc_pair() -> None:
                lock.acquire()
                lock.release()

            fd = f.fileno()

            def lockf_pair() -> None:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                fcntl.lockf(fd, fcntl.LOCK_UN)

            ours = ns_per_pair(lipc_pair, pairs, rounds)
            row("FileLock acquire+release", ours, ns_per_pair(lockf_pair, pairs, rounds), "fcntl.lockf")
            if hasattr(fcntl, "F_OFD_SETLKW"):
                # struct flock on Linux x86-64/aarch64: short type, short whence,
                # off_t start, off_t len, pid_t pid (pid 0 for OFD locks)
                wr = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
                un = struct.pack("hhqqi", fcntl.F_UNLCK, os.SEEK_SET, 0, 0, 0)
                setlkw, setlk = fcntl.F_OFD_SETLKW, fcntl.F_OFD_SETLK

                def ofd_pair() -> None:
                    fcntl.fcntl(fd, setlkw, wr)
                    fcntl.fcntl(fd, setlk, un)

                row("FileLock acquire+release", ours, ns_per_pair(ofd_pair, pairs, rounds),
                    "fcntl F_OFD_SETLK(W)")
        finally:
            lock.close()


def bench_copies(mib: int, rounds: int, tag: str) -> None:
    n = mib << 20
    src = bytes(range(256)) * (n // 256)
    path = f"/dev/shm/{tag}-mmap"
    ours = lipc.SharedMemory(tag, create=True, exclusive=True, size=n, unlink_on_close=True)
    mp = shared_memory.SharedMemory(create=True, size=n)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, n)
        plain = mmap.mmap(fd, n)
        try:
            def lipc_copy() -> None:
                ours.buf[:] = src

            def mmap_copy() -> None:
                plain[:] = src

            def mp_copy() -> None:
                mp.buf[:n] = src

            def lipc_file() -> None:
                with ours.file() as f, memoryview(src) as v:
                    for off in range(0, n, CHUNK):
                        f.write(v[off:off + CHUNK])

            def mmap_file() -> None:
                plain.seek(0)
                with memoryview(src) as v:
                    for off in range(0, n, CHUNK):
                        plain.write(v[off:off + CHUNK])

            label = f"copy {mib} MiB .buf[:] = src"
            lipc_speed = mbs(lipc_copy, n, rounds)
            mbs_row(label, lipc_speed, mbs(mmap_copy, n, rounds), "mmap over /dev/shm")
            mbs_row(label, lipc_speed, mbs(mp_copy, n, rounds), "mp.shared_memory")
            mbs_row(f"copy {mib} MiB file.write 1 MiB", mbs(lipc_file, n, rounds),
                    mbs(mmap_file, n, rounds), "mmap.write 1 MiB")
            if ours.buf[:n] != src:
                raise RuntimeError("the copy did not arrive")
        finally:
            plain.close()
    finally:
        os.close(fd)
        os.unlink(path)
        ours.close()
        mp.close()
        mp.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("LIPC_BENCH_ROUNDS", 7)))
    ap.add_argument("--pairs", type=int, default=int(os.environ.get("LIPC_BENCH_PAIRS", 50_000)))
    ap.add_argument("--mib", type=int, default=int(os.environ.get("LIPC_BENCH_MIB", 256)))
    a = ap.parse_args()
    tag = f"lipc-bench-{os.getpid()}"
    bench_pairs(a.pairs, a.rounds, tag)
    bench_file_locks(a.pairs // 5, a.rounds)
    bench_copies(a.mib, max(3, a.rounds // 2), tag)


if __name__ == "__main__":
    main()
