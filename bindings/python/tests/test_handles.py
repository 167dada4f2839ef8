"""Handles: random, closed and wrong-kind ones are rejected at the raw C
level (never a crash), and handle objects never pass a dead handle to C."""
from __future__ import annotations

import gc
import random
from ctypes import byref, c_int, c_int64

import pytest

from conftest import TRUE

import lipc
from lipc import _const, _errors, _sem
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
    gc.collect()  # (objects an earlier test left in cycles, e.g. a failed test's traceback, go first)
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


def _closed_uses(name, tmp_path):
    """(object, [calls]) for every kind whose hot methods pass the handle
    to C as a ready c_int64 (lipc._handle): closed, it is None."""
    from conftest import unique_name  # one name each: Windows has one namespace for all three
    sem = lipc.Semaphore(name, create=True, initial=1, unlink_on_close=True)
    mutex = lipc.Mutex(unique_name(), create=True, unlink_on_close=True)
    event = lipc.Event(unique_name(), create=True, unlink_on_close=True)
    lock = lipc.FileLock(str(tmp_path / "lock"))
    lock.acquire()  # held when closed: release() must still see the closed object first
    return [
        (sem, [lambda: sem.value, lambda: sem.acquire(), lambda: sem.acquire(timeout=1),
               lambda: sem.acquire(blocking=False), lambda: sem.release(), lambda: sem.release(2)]),
        (mutex, [lambda: mutex.acquire(), lambda: mutex.acquire(timeout=1), lambda: mutex.release(),
                 lambda: mutex.locked()]),
        (event, [lambda: event.set(), lambda: event.clear(), lambda: event.is_set(), lambda: event.wait(),
                 lambda: event.wait(0), lambda: event.wait(1)]),
        (lock, [lambda: lock.acquire(), lambda: lock.acquire(blocking=False), lambda: lock.release()]),
    ]


def test_every_hot_method_of_a_closed_object_raises_the_closed_error(name, tmp_path):
    # ctypes refuses the closed object's None handle (ctypes.ArgumentError,
    # a TypeError) before any C call; the binding must say what happened.
    for obj, uses in _closed_uses(name, tmp_path):
        obj.close()
        for use in uses:
            with pytest.raises(ValueError) as ei:
                use()
            assert type(ei.value) is ValueError, (obj, ei.value)
            assert str(ei.value) == f"operation on closed {type(obj).__name__}", (obj, ei.value)


def test_handles_still_open_at_exit_are_closed(name):
    # The finalizers' registry closes at interpreter exit what is still
    # open, as weakref.finalize did: here a semaphore kept alive by a
    # module global and a reference cycle, whose close removes its name.
    from conftest import child_env
    import subprocess
    import sys
    code = ("import lipc, sys\n"
            "class Keep: pass\n"
            "k = Keep(); k.self = k\n"
            f"k.sem = lipc.Semaphore({name!r}, create=True, exclusive=True, unlink_on_close=True)\n"
            "sys.modules['keep'] = k\n"
            "print('open', flush=True)\n")
    r = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "open\n", r
    with pytest.raises(lipc.NotFoundError):
        lipc.Semaphore(name)


def test_snapshot_getters_from_many_threads():
    # Semaphore.value, Event.is_set and Mutex.locked write their C
    # out-parameter into one c_int per object (lipc._handle): two threads
    # must never read another object's answer, which one c_int shared
    # between objects would give them as soon as the GIL changes hands.
    import threading
    from conftest import unique_name
    sems = [lipc.Semaphore(unique_name(), create=True, initial=v, unlink_on_close=True) for v in (0, 7)]
    events = [lipc.Event(unique_name(), create=True, initially_set=v, unlink_on_close=True) for v in (False, True)]
    mutexes = [lipc.Mutex(unique_name(), create=True, unlink_on_close=True) for _ in range(2)]
    mutexes[1].acquire()  # held by this thread: locked() reads True from every thread
    wrong: list = []

    def check(i: int) -> None:
        sem, ev, mx = sems[i], events[i], mutexes[i]
        want_value, want = (0, False) if i == 0 else (7, True)
        for _ in range(20000):
            if sem.value != want_value or ev.is_set() is not want or mx.locked() is not want:
                wrong.append(i)
                return

    try:
        threads = [threading.Thread(target=check, args=(i % 2,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wrong == []
    finally:
        mutexes[1].release()
        for o in sems + events + mutexes:
            o.close()



def _quick_methods(name, tmp_path):
    """(object, method name, call) for every method whose fast path makes
    a call of lipc._lib.QUICK (with the GIL held)."""
    from conftest import unique_name
    sem = lipc.Semaphore(name, create=True, initial=1, unlink_on_close=True)
    mutex = lipc.Mutex(unique_name(), create=True, unlink_on_close=True)
    event = lipc.Event(unique_name(), create=True, initially_set=True, unlink_on_close=True)
    return (sem, mutex, event), [
        (sem, "value", lambda: sem.value), (sem, "acquire", sem.acquire), (sem, "release", sem.release),
        (mutex, "acquire", mutex.acquire), (mutex, "release", mutex.release), (mutex, "locked", mutex.locked),
        (event, "set", event.set), (event, "clear", event.clear), (event, "wait", event.wait),
        (event, "is_set", event.is_set)]


def test_quick_calls_hold_the_gil_and_fail_as_the_others(name, tmp_path):
    # The snapshot getters share one out-parameter per object between
    # threads, which is safe only because their C calls hold the GIL
    # (ctypes.PyDLL): a CDLL function there would let two threads' C calls
    # write it at once.
    import ctypes
    from lipc import _event, _lib, _mutex, _sem
    for fn in (_sem._value, _mutex._locked, _event._is_set, _sem._try_wait, _sem._post, _mutex._try_lock,
               _mutex._unlock, _event._set, _event._reset, _event._try_wait):
        assert fn._flags_ & ctypes._FUNCFLAG_PYTHONAPI, fn  # PyDLL's: the GIL stays held
        assert fn.__name__ in _lib.QUICK
    for fn in (_sem._wait, _mutex._lock, _event._wait):  # the waits that may sleep release it
        assert not fn._flags_ & ctypes._FUNCFLAG_PYTHONAPI, fn
    # Errors from those calls: the same exceptions, with C's message. Each
    # object gets another kind's handle, which C refuses.
    objs, methods = _quick_methods(name, tmp_path)
    try:
        for obj, what, call in methods:
            ch = obj._ch
            obj._ch = c_int64(objs[(objs.index(obj) + 1) % 3].handle)
            try:
                with pytest.raises(lipc.BadHandleError) as ei:
                    call()
            finally:
                obj._ch = ch
            assert ei.value.code == EBADHANDLE and "handle" in ei.value.message, (obj, what, ei.value)
    finally:
        for o in objs:
            o.close()


def test_getters_with_the_gil_share_the_objects_out_parameter(name):
    # With the GIL (this build), each object's getter writes the c_int the
    # object made at open: no c_int per read.
    from conftest import unique_name
    sem = lipc.Semaphore(name, create=True, initial=5, unlink_on_close=True)
    mutex = lipc.Mutex(unique_name(), create=True, unlink_on_close=True)
    event = lipc.Event(unique_name(), create=True, initially_set=True, unlink_on_close=True)
    try:
        for obj, read, want in ((sem, lambda: sem.value, 5), (mutex, mutex.locked, False),
                                (event, event.is_set, True)):
            out = obj._out
            out.value = -7
            assert read() == want and obj._out is out and out.value == int(want), obj
    finally:
        for o in (sem, mutex, event):
            o.close()


def test_getters_without_the_gil_make_their_own_out_parameter(name):
    # A free-threaded build (no GIL orders the C calls) gives each read a
    # c_int of its own. In a child whose sysconfig says the GIL is disabled
    # (as 3.13t's does) before lipc is imported: the getters still answer
    # right, from threads too, and no object keeps a c_int to share.
    import subprocess
    import sys
    from conftest import child_env
    code = f"""
import sysconfig, threading
real = sysconfig.get_config_var
sysconfig.get_config_var = lambda key: 1 if key == "Py_GIL_DISABLED" else real(key)
import lipc
from lipc import _handle
assert not _handle.GIL_ORDERS_CALLS
sem = lipc.Semaphore({name!r} + "s", create=True, initial=5, unlink_on_close=True)
mutex = lipc.Mutex({name!r} + "m", create=True, unlink_on_close=True)
event = lipc.Event({name!r} + "e", create=True, initially_set=True, unlink_on_close=True)
reads = ((sem, lambda: sem.value, 5), (mutex, mutex.locked, False), (event, event.is_set, True))
for obj, read, want in reads:
    assert "_out" not in vars(obj) and obj._out is not obj._out, obj
    assert read() == want, obj
bad = []
def reader():
    for _ in range(2000):
        for obj, read, want in reads:
            if read() != want:
                bad.append(obj)
ts = [threading.Thread(target=reader) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
assert not bad, bad[:3]
for obj, _, _ in reads:
    obj.close()
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr


def test_waits_that_may_sleep_let_other_threads_run(name):
    # The tries hold the GIL (lipc._lib.QUICK); a wait that sleeps must
    # not, or the thread that would end it never runs. In a child, so that
    # a wait holding the GIL fails this test (timeout) instead of hanging it.
    import subprocess
    import sys
    from conftest import child_env
    code = f"""
import threading, time, lipc
sem = lipc.Semaphore({name!r} + "s", create=True, initial=0, unlink_on_close=True)
ev = lipc.Event({name!r} + "e", create=True, unlink_on_close=True)
m = lipc.Mutex({name!r} + "m", create=True, unlink_on_close=True)
m.acquire()
got = []
def waits():
    got.append(sem.acquire())
    got.append(ev.wait())
    got.append(m.acquire())
    m.release()
t = threading.Thread(target=waits)
t.start()
for end in (sem.release, ev.set, m.release):
    time.sleep(0.2)  # the other thread is in its wait by now; this thread needs the GIL back
    end()
t.join()
print(got, flush=True)
"""
    r = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "[True, True, True]\n", r


def test_hot_methods_make_no_closure_cells():
    # A lambda in a method that captures self (or another local) makes it a
    # cell, built on every call, fast path included (issue 12): the waits
    # after a failed first try go through methods instead.
    from lipc import _event, _flock, _mutex
    for fn in (lipc.Semaphore.acquire, lipc.Semaphore.release, _mutex.Mutex.acquire, _mutex.Mutex.release,
               _event.Event.wait, _event.Event.set, _flock.FileLock.acquire, _flock.FileLock.release):
        assert fn.__code__.co_cellvars == (), fn


_FIRST_HANDLE = """
import sys, lipc
s = lipc.Semaphore(sys.argv[1], create=True)
print(s.handle)
s.close()
"""


def test_a_handle_from_another_process_is_not_valid_here(name):
    """Each process draws where its handle values start (lipc.h), so a
    handle that crossed from another process (a pickle of the number, a
    file) is refused here instead of reaching this process's object: two
    fresh interpreters open one semaphore each, first thing, and neither
    number is a handle here, nor is either this process's."""
    import subprocess
    import sys

    from conftest import child_env

    theirs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", _FIRST_HANDLE, name], env=child_env(),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        theirs.append(int(r.stdout))
    mine = lipc.Semaphore(name, create=True)
    try:
        assert theirs[0] != theirs[1] and mine.handle not in theirs
        kind = c_int()
        for h in theirs:
            assert lib.lipc_handle_kind(h, byref(kind)) == _const.EBADHANDLE
    finally:
        mine.close()
