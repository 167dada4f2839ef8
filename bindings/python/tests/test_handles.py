"""Handles: random, closed and wrong-kind ones are rejected at the raw C
level (never a crash), and handle objects never pass a dead handle to C."""
from __future__ import annotations

import gc
import random
from ctypes import byref, c_int

import pytest

from conftest import TRUE

import lipc
from lipc import _errors, _sem
from lipc._lib import lib

EBADHANDLE = lipc.Code.EBADHANDLE


def raw_calls(h):
    """Every C function that takes a handle, called with h."""
    v = c_int()
    return {
        "sem_post": lib.lipc_sem_post(h),
        "sem_wait": lib.lipc_sem_wait(h, 0),
        "sem_value": lib.lipc_sem_value(h, byref(v)),
        "handle_kind": lib.lipc_handle_kind(h, byref(v)),
        "close": lib.lipc_close(h),
    }


def assert_bad(h):
    for what, rc in raw_calls(h).items():
        assert rc == EBADHANDLE, (what, h, rc)
        with pytest.raises(lipc.BadHandleError) as ei:
            _errors._check(rc, what)
        assert isinstance(ei.value, ValueError) and ei.value.code_name == "LIPC_EBADHANDLE"


@pytest.mark.parametrize("h", [0, 1, -1, 2, 3, 1000, 2**31, 2**52, 2**53, 2**53 + 1,
                               2**63 - 1, -2**63, 2**52 | (1 << 20)])
def test_small_and_edge_ints(h):
    assert_bad(h)


def test_random_handles():
    rng = random.Random(1234)
    for _ in range(3000):
        h = rng.randrange(2**52, 2**53)
        v = c_int()
        assert lib.lipc_sem_post(h) == EBADHANDLE
        assert lib.lipc_sem_value(h, byref(v)) == EBADHANDLE
        assert lib.lipc_close(h) == EBADHANDLE


def test_real_handle_shape_and_kind(name):
    s = lipc.Semaphore(name, create=True, initial=0)
    try:
        h = s.handle
        assert type(h) is int and 2**52 <= h < 2**53
        assert float(h) == h  # exact in a double, as the header promises
        kind = c_int()
        assert lib.lipc_handle_kind(h, byref(kind)) == 0 and kind.value == lipc.KIND_SEM
    finally:
        s.close()


def test_closed_handle_and_double_close(name):
    s = lipc.Semaphore(name, create=True, initial=0)
    h = s.handle
    assert lib.lipc_close(h) == 0
    assert_bad(h)  # includes a second lipc_close


def test_wrong_kind_handle(name):
    s = lipc.Semaphore(name, create=True, initial=0)
    try:
        for bit in range(20, 53):  # every bit of the generation (a slot bit may name
            assert_bad(s.handle ^ (1 << bit))  # another live handle); close must not close the real one
        s.release()
        assert s.value == 1
    finally:
        s.close()


def test_close_is_idempotent_and_counted(name):
    before = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    s = lipc.Semaphore(name, create=True, initial=0)
    assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == before + 1
    assert not s.closed
    s.close()
    s.close()
    assert s.closed and lipc.diag(lipc.DIAG_LIVE_HANDLES) == before
    assert "closed" in repr(s)


class _NoC:
    def __getattr__(self, attr):
        def called(*args):
            raise AssertionError(f"C function {attr} called with a closed handle")
        return called


def test_use_after_close_raises_without_calling_c(name, monkeypatch):
    s = lipc.Semaphore(name, create=True, initial=0)
    s.close()
    monkeypatch.setattr(_sem, "_c", _NoC())
    for use in (lambda: s.acquire(), lambda: s.acquire(blocking=False),
                lambda: s.release(), lambda: s.value, lambda: s.handle,
                lambda: s.__enter__()):
        with pytest.raises(ValueError, match="operation on closed Semaphore"):
            use()
    s.close()  # still harmless


def test_finalizer_closes_a_forgotten_semaphore(name):
    before = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    s = lipc.Semaphore(name, create=True, initial=0)
    h = s.handle
    del s
    gc.collect()
    assert lipc.diag(lipc.DIAG_LIVE_HANDLES) == before
    assert lib.lipc_close(h) == EBADHANDLE


def test_unnamed_objects_do_not_pickle(name, tmp_path):
    # Named objects pickle by name (test_fork.py); the rest cannot be opened
    # again elsewhere.
    import pickle
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    m = lipc.MappedFile(path)
    try:
        with lipc.Popen(TRUE) as p:
            for o in (m, p):
                with pytest.raises(TypeError, match="open it by name"):
                    pickle.dumps(o)
    finally:
        m.close()
