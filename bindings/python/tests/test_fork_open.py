"""Prefork workers open named objects by name (multiprocessing's "fork"
start method, the default on Linux up to Python 3.13, and gunicorn, celery
and uWSGI workers): the worker is handed a name and opens the semaphore,
shared memory, mutex or event itself, as it would with posix_ipc or
multiprocessing.shared_memory. Go cannot run in a fork child; lipc opens
there in C, with the same checks and errors as anywhere (the C suite's
test_fork_open compares the two case by case). Every wait has a deadline,
so a hang fails the test."""
from __future__ import annotations

import sys

import pytest

if sys.platform == "win32":
    pytest.skip("POSIX only: no fork on Windows", allow_module_level=True)

import multiprocessing
import os
from typing import Any, Dict, List, Tuple

from conftest import unique_name

import lipc

LIMIT = 30.0  # seconds for a worker's answer


def _use_by_name(base: str, i: int) -> Tuple[int, int, bytes, bool]:
    """A worker's job: open the parent's objects by name, use them, close."""
    sem = lipc.Semaphore(base)
    shm = lipc.SharedMemory(base)
    mutex = lipc.Mutex(base)
    event = lipc.Event(base)
    try:
        assert event.wait(10)
        assert sem.acquire(timeout=10)
        with mutex:
            n = int.from_bytes(shm.buf[:4], "little") + 1
            shm.buf[:4] = n.to_bytes(4, "little")
            shm.buf[8 + i] = 1
        sem.release()
        return os.getpid(), n, bytes(shm.buf[4:8]), event.is_set()
    finally:
        for o in (sem, shm, mutex, event):
            o.close()


def _make(base: str) -> List[Any]:
    return [lipc.Semaphore(base, create=True, exclusive=True, initial=1, unlink_on_close=True),
            lipc.SharedMemory(base, create=True, exclusive=True, size=4096, unlink_on_close=True),
            lipc.Mutex(base, create=True, exclusive=True, unlink_on_close=True),
            lipc.Event(base, create=True, exclusive=True, unlink_on_close=True)]


def test_fork_pool_workers_open_by_name():
    base = unique_name("fopool")
    objs = _make(base)
    sem, shm, _, event = objs
    try:
        shm.buf[4:8] = b"papa"
        event.set()
        tasks = 16
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(3) as pool:
            jobs = [pool.apply_async(_use_by_name, (base, i)) for i in range(tasks)]
            results = [j.get(timeout=LIMIT) for j in jobs]
        assert all(r[2] == b"papa" and r[3] for r in results)
        assert sorted(r[1] for r in results) == list(range(1, tasks + 1))  # the mutex held
        assert int.from_bytes(shm.buf[:4], "little") == tasks
        assert bytes(shm.buf[8:8 + tasks]) == b"\x01" * tasks
        assert sem.value == 1
        assert len({r[0] for r in results}) >= 1 and os.getpid() not in {r[0] for r in results}
    finally:
        for o in objs:
            o.close()
    for unlink in (lipc.unlink_semaphore, lipc.unlink_shared_memory, lipc.unlink_mutex, lipc.unlink_event):
        with pytest.raises(lipc.NotFoundError):  # unlink_on_close: the parent's close took them
            unlink(base)


def _create_in_child(base: str) -> str:
    """Creates objects in the worker for the parent to find, then checks
    what opening says when it cannot: the same errors as in the parent."""
    sem = lipc.Semaphore(base + "-c", create=True, exclusive=True, initial=5)
    shm = lipc.SharedMemory(base + "-c", create=True, exclusive=True, size=8192)
    shm.buf[:5] = b"child"
    sem.close(), shm.close()
    return "ok"


def test_fork_process_creates_for_the_parent():
    base = unique_name("focreate")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_create_in_child, (base,)).get(timeout=LIMIT) == "ok"
    sem = lipc.Semaphore(base + "-c", unlink_on_close=False)
    shm = lipc.SharedMemory(base + "-c")
    try:
        assert sem.value == 5 and shm.size == 8192 and bytes(shm.buf[:5]) == b"child"
    finally:
        sem.close(), shm.close()
        lipc.unlink_semaphore(base + "-c"), lipc.unlink_shared_memory(base + "-c")


def _errors(base: str, foreign: str) -> List[Tuple[str, str]]:
    """What each refused open raises: its class and message."""
    attempts = [
        lambda: lipc.Semaphore(base + "-missing"),
        lambda: lipc.SharedMemory(base, create=True, exclusive=True, size=4096),
        lambda: lipc.Mutex("bad/name", create=True),
        lambda: lipc.Event("." + base),
        lambda: lipc.Semaphore("n" * 201),
        lambda: lipc.Semaphore(base + "-short", create=True),  # a 4-byte file: not a semaphore
        lambda: lipc.unlink_mutex(base + "-missing"),
    ]
    if foreign:
        attempts.append(lambda: lipc.Semaphore(foreign))
    out = []
    for attempt in attempts:
        try:
            attempt()
            out.append(("no error", ""))
        except lipc.Error as e:
            out.append((type(e).__name__, str(e)))
    return out


def test_fork_child_refuses_as_the_parent_does():
    base = unique_name("foerr")
    objs = _make(base)
    with open("/dev/shm/sem." + base + "-short", "wb") as f:
        f.write(b"\xff" * 4)
    foreign = ""
    if os.geteuid() == 0:  # a valid semaphore that nobody owns
        foreign = base + "-nobody"
        lipc.Semaphore(foreign, create=True, exclusive=True).close()
        os.chown("/dev/shm/sem." + foreign, 65534, 65534)
    try:
        here = _errors(base, foreign)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            there = pool.apply_async(_errors, (base, foreign)).get(timeout=LIMIT)
        assert there == here
        names: Dict[str, int] = {}
        for cls, _ in there:
            names[cls] = names.get(cls, 0) + 1
        assert "no error" not in names and names["NotFoundError"] == 2 and names["ExistsError"] == 1
        assert names["InvalidArgumentError"] == 3 and names["NameTooLongError"] == 1
        assert names.get("PermissionDeniedError", 0) == (1 if foreign else 0)
    finally:
        for o in objs:
            o.close()
        lipc.unlink_semaphore(base + "-short")
        if foreign:
            lipc.unlink_semaphore(foreign)


def _worker_process(base: str, q: Any) -> None:
    try:
        q.put(_use_by_name(base, 0)[1])
    except BaseException as e:  # noqa: B902 - the parent judges
        q.put(repr(e))


def test_fork_process_opens_by_name():
    base = unique_name("foproc")
    objs = _make(base)
    objs[3].set()
    try:
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_worker_process, args=(base, q))
        p.start()
        try:
            assert q.get(timeout=LIMIT) == 1
        finally:
            p.join(LIMIT)
        assert p.exitcode == 0
        assert lipc.diag(lipc.DIAG_FP_SELFTEST) == 1  # the parent's Go is unharmed
    finally:
        for o in objs:
            o.close()
