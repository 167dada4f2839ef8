"""Prefork workers open lock files themselves (multiprocessing's "fork"
start method, gunicorn, celery): a worker handed a path makes its own
FileLock, and the workers' locks exclude each other and the parent's. Go
cannot run in a fork child; lipc opens the file there in C, with the same
checks and errors as anywhere (the C suite's test_fork_flock compares the
two case by case). Every wait has a deadline, so a hang fails the test."""
from __future__ import annotations

import sys

import pytest

if sys.platform == "win32":
    pytest.skip("POSIX only: no fork on Windows", allow_module_level=True)

import multiprocessing
import os
import time
from typing import List, Tuple

import lipc

LIMIT = 60.0  # seconds for the pool's answers


def _count_under_lock(lock_path: str, data_path: str, log_path: str, kind: str, from_fd: bool) -> int:
    """A worker's job: its own FileLock on the path, then a read-modify-write
    of a counter that loses updates unless the lock excludes the others."""
    f = open(lock_path, "r+b") if from_fd else None
    lock = lipc.FileLock(f if from_fd else lock_path, kind=kind, timeout=30)  # type: ignore[arg-type]
    try:
        with lock:
            with open(log_path, "ab", buffering=0) as log:
                log.write(b"+%d\n" % os.getpid())
                with open(data_path, "r+b") as d:
                    n = int(d.read() or b"0")
                    time.sleep(0.005)  # widen the window a missing lock would leave
                    d.seek(0)
                    d.write(b"%08d" % (n + 1))
                log.write(b"-%d\n" % os.getpid())
    finally:
        lock.close()
        if f:
            f.close()
    return os.getpid()


def _entries(log_path: str) -> List[Tuple[str, str]]:
    with open(log_path, "rb") as f:
        return [(line[:1].decode(), line[1:].decode()) for line in f.read().split()]


@pytest.mark.parametrize("kind,from_fd", [("fcntl", False), ("flock", False), ("fcntl", True)])
def test_fork_pool_workers_open_and_exclude(tmp_path, kind, from_fd):
    lock_path, data_path, log_path = (str(tmp_path / n) for n in ("lock", "data", "log"))
    for p in (lock_path, data_path, log_path):
        open(p, "wb").close()
    assert lipc.version()  # the parent has used lipc: its workers are fork children of a Go process
    tasks = 24
    with multiprocessing.get_context("fork").Pool(4) as pool:
        jobs = [pool.apply_async(_count_under_lock, (lock_path, data_path, log_path, kind, from_fd))
                for _ in range(tasks)]
        pids = [j.get(timeout=LIMIT) for j in jobs]
    assert os.getpid() not in pids
    with open(data_path, "rb") as d:
        assert int(d.read()) == tasks  # no update lost
    entries = _entries(log_path)
    assert len(entries) == 2 * tasks
    for i in range(0, len(entries), 2):  # never two inside at once
        assert entries[i][0] == "+" and entries[i + 1] == ("-", entries[i][1]), entries[i:i + 2]


def _try_lock(lock_path: str, kind: str) -> Tuple[bool, bool]:
    lock = lipc.FileLock(lock_path, kind=kind)
    try:
        first = lock.acquire(blocking=False)  # the parent holds it
        second = lock.acquire(timeout=30)  # the parent lets go
        lock.release()
        return first, second
    finally:
        lock.close()


@pytest.mark.parametrize("kind", ["fcntl", "flock"])
def test_fork_worker_lock_meets_the_parents(tmp_path, kind):
    lock_path = str(tmp_path / "lock")
    parent = lipc.FileLock(lock_path, kind=kind)
    parent.acquire()
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            job = pool.apply_async(_try_lock, (lock_path, kind))
            time.sleep(0.3)  # the worker's try has failed by now (if not, it waits: still correct)
            parent.release()
            first, second = job.get(timeout=LIMIT)
        assert (first, second) == (False, True)
    finally:
        parent.close()


def _open_missing(path: str) -> str:
    try:
        lipc.FileLock(path, create=False)
    except lipc.NotFoundError as e:
        return str(e)
    return "opened"


def test_fork_worker_errors_as_the_parent(tmp_path):
    missing = str(tmp_path / "missing")
    with pytest.raises(lipc.NotFoundError) as ei:
        lipc.FileLock(missing, create=False)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_open_missing, (missing,)).get(timeout=LIMIT) == str(ei.value)
