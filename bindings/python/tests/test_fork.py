"""A host fork (os.fork, multiprocessing's "fork" start method) after lipc
was used (host-runtimes.md F7): in the child every call that needs Go must
raise ForkedError at once instead of hanging; pure-C calls keep working.
The parent always waits with a deadline, so a hang fails the test."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Callable, Dict, List

import pytest
from conftest import unique_name

import lipc

CHILD_LIMIT = 20.0  # seconds before a silent child counts as hung


def child_checks(sem: lipc.Semaphore, name: str) -> Dict[str, List[Any]]:
    """Runs in the forked child: each check's outcome and duration."""
    out: Dict[str, List[Any]] = {}

    def record(label: str, fn: Callable[[], object]) -> None:
        t0 = time.monotonic()
        try:
            res: List[Any] = ["ok", repr(fn())]
        except lipc.ForkedError as e:
            res = ["forked", int(e.code), e.code_name, e.message]
        except BaseException as e:  # noqa: B902 - the parent judges
            res = ["other", repr(e)]
        out[label] = res + [time.monotonic() - t0]

    record("sem_open", lambda: lipc.Semaphore(name + "-child", create=True))
    record("fp_selftest", lambda: lipc.diag(lipc.DIAG_FP_SELFTEST))
    record("sem_release", lambda: sem.release())
    record("sem_close", lambda: sem.close())
    record("close_again", lambda: sem.close())  # the object is closed now
    record("unlink", lambda: lipc.unlink_semaphore(name))
    record("version", lipc.version)
    record("strerror", lambda: lipc.strerror(lipc.Code.EFORKED))
    record("error_name", lambda: lipc.error_name(lipc.Code.EFORKED))
    record("wait_fds", lambda: lipc.wait_fds([], 0.01))
    return out


def fork_and_check(sem: lipc.Semaphore, name: str) -> Dict[str, List[Any]]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            os.close(r)
            res = child_checks(sem, name)
            os.write(w, json.dumps(res).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + CHILD_LIMIT
    status = 0
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        pytest.fail(f"forked child hung for {CHILD_LIMIT} s")
    with os.fdopen(r, "rb") as f:
        data = f.read()
    assert os.waitstatus_to_exitcode(status) == 0, data
    return json.loads(data)


def assert_child_results(res: Dict[str, List[Any]]) -> None:
    for label in ("sem_open", "fp_selftest", "sem_release", "unlink"):
        kind, *rest = res[label]
        assert kind == "forked", (label, res[label])
        code, code_name, message, seconds = rest
        assert code == lipc.Code.EFORKED and code_name == "LIPC_EFORKED"
        assert "fork" in message and seconds < 2.0, (label, res[label])
    # close frees the child's copy in C; the parent's handle stays open
    assert res["sem_close"][:2] == ["ok", "None"]
    assert res["close_again"][:2] == ["ok", "None"]
    assert res["version"][:2] == ["ok", repr(lipc.version())]
    assert res["strerror"][:2] == ["ok", repr("unusable in the child of a fork")]
    assert res["error_name"][:2] == ["ok", repr("LIPC_EFORKED")]
    assert res["wait_fds"][:2] == ["ok", "[]"]


def test_fork_child_gets_forked_error(names):
    name = unique_name("fork")
    names.append(name)
    sem = lipc.Semaphore(name, create=True)
    try:
        assert_child_results(fork_and_check(sem, name))
        sem.release()  # the parent is unaffected
        assert sem.acquire(timeout=5) and lipc.diag(lipc.DIAG_FP_SELFTEST) == 1
    finally:
        sem.close()


def test_fork_while_other_threads_are_inside_lipc(names):
    # If Go was busy at fork time, even entering Go hangs in the child: the
    # check must happen in C before any Go code runs.
    name = unique_name("forkbusy")
    names.append(name)
    stop = threading.Event()
    errors: List[str] = []

    def busy(i: int) -> None:
        try:
            while not stop.is_set():
                s = lipc.Semaphore(f"{name}-{i}", create=True, unlink_on_close=True)
                s.release()
                s.acquire(timeout=1)
                lipc.diag(lipc.DIAG_FP_SELFTEST)
                s.close()
        except BaseException as e:  # noqa: B902
            errors.append(repr(e))

    threads = [threading.Thread(target=busy, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    sem = lipc.Semaphore(name, create=True)
    try:
        for _ in range(5):
            time.sleep(0.02)
            assert_child_results(fork_and_check(sem, name))
    finally:
        stop.set()
        for t in threads:
            t.join(20)
        sem.close()
    assert not errors


def _mp_open(name: str) -> None:
    lipc.Semaphore(name, create=True)


def _mp_version() -> str:
    return lipc.version()


def test_multiprocessing_fork_gives_a_clear_error():
    assert lipc.version()  # the parent has used lipc
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_mp_version).get(timeout=CHILD_LIMIT) == lipc.version()
        with pytest.raises(lipc.ForkedError) as ei:  # not a hang (TimeoutError)
            pool.apply_async(_mp_open, (unique_name("mp"),)).get(timeout=CHILD_LIMIT)
    assert ei.value.code == lipc.Code.EFORKED and "fork" in str(ei.value)
