"""lipc's sync objects beside the threading classes they mirror: each test
runs the same behaviour over threading's class and lipc's (parametrized),
so the suite shows where they agree. Where lipc differs on purpose (the
header and the docstrings say why), the difference has its own test at
the end."""
from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import threading
import time
from typing import Any, Callable, Iterator, List

import pytest
from conftest import WINDOWS, unique_name

import lipc

Factory = Callable[..., Any]


def _in_thread(fn: Callable[[], Any]) -> Any:
    out: List[Any] = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join(30)
    assert out, "the thread did not finish"
    return out[0]


@pytest.fixture(params=["threading", "lipc"])
def new_lock(request: pytest.FixtureRequest) -> Iterator[Factory]:
    made: List[Any] = []

    def make() -> Any:
        if request.param == "threading":
            return threading.Lock()
        m = lipc.Mutex(unique_name("par"), create=True, unlink_on_close=True)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


@pytest.fixture(params=["threading", "lipc"])
def new_sem(request: pytest.FixtureRequest) -> Iterator[Factory]:
    made: List[Any] = []

    def make(*value: int) -> Any:
        if request.param == "threading":
            return threading.Semaphore(*value)
        n = unique_name("par")
        if value:
            s = lipc.Semaphore(n, create=True, unlink_on_close=True, initial=value[0])
        else:
            s = lipc.Semaphore(n, create=True, unlink_on_close=True)  # the default: 1
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture(params=["threading", "lipc"])
def new_event(request: pytest.FixtureRequest) -> Iterator[Factory]:
    made: List[Any] = []

    def make() -> Any:
        if request.param == "threading":
            return threading.Event()
        e = lipc.Event(unique_name("par"), create=True, unlink_on_close=True)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


# ---- Lock / Mutex -----------------------------------------------------------

def test_lock_acquire_release_locked_and_with(new_lock: Factory) -> None:
    lock = new_lock()
    assert lock.locked() is False
    assert lock.acquire() is True
    assert lock.locked() is True
    assert _in_thread(lock.locked) is True
    assert _in_thread(lambda: lock.acquire(blocking=False)) is False
    assert _in_thread(lambda: lock.acquire(timeout=0.05)) is False
    lock.release()
    assert lock.locked() is False
    with lock as got:
        assert got is True and lock.locked()
    assert lock.locked() is False


def test_lock_try_by_the_holder_returns_false(new_lock: Factory) -> None:
    lock = new_lock()
    assert lock.acquire()
    assert lock.acquire(blocking=False) is False
    assert lock.acquire(timeout=0) is False
    assert lock.acquire(False) is False  # positional blocking
    lock.release()


def _held_for_a_while(lock: Any, seconds: float = 0.2) -> threading.Thread:
    """A thread that takes lock, holds it for seconds and releases it (a
    lipc mutex is released by the thread that locked it)."""
    got = threading.Event()

    def hold() -> None:
        lock.acquire()
        got.set()
        time.sleep(seconds)
        lock.release()

    t = threading.Thread(target=hold)
    t.start()
    assert got.wait(20)
    return t


def test_lock_timeout_minus_one_waits_forever(new_lock: Factory) -> None:
    lock = new_lock()
    for args, kwargs in (((), {"timeout": -1}), ((True, -1), {}), ((), {})):
        t = _held_for_a_while(lock)
        assert lock.acquire(*args, **kwargs) is True
        lock.release()
        t.join()
    assert lock.acquire(blocking=False, timeout=-1) is True  # -1 is also the non-blocking default
    lock.release()


@pytest.mark.parametrize("kwargs", [{"timeout": -2}, {"timeout": -0.5}, {"blocking": False, "timeout": 1},
                                    {"blocking": False, "timeout": 0}])
def test_lock_bad_timeouts_are_value_errors(new_lock: Factory, kwargs: Any) -> None:
    with pytest.raises(ValueError):
        new_lock().acquire(**kwargs)


def test_lock_a_waiter_gets_it_when_released(new_lock: Factory) -> None:
    lock = new_lock()
    t = _held_for_a_while(lock, 0.1)
    assert lock.acquire(timeout=0.01) is False
    assert lock.acquire(timeout=20) is True
    lock.release()
    t.join()


# ---- Semaphore --------------------------------------------------------------

def test_semaphore_starts_at_one_by_default(new_sem: Factory) -> None:
    s = new_sem()
    with s as got:  # lets one in (blocked forever in lipc before)
        assert got is True
        assert s.acquire(blocking=False) is False
    assert s.acquire(blocking=False) is True


def test_semaphore_negative_timeout_is_a_try(new_sem: Factory) -> None:
    s = new_sem(1)
    t0 = time.monotonic()
    assert s.acquire(timeout=-1) is True
    assert s.acquire(timeout=-1) is False
    assert s.acquire(timeout=-0.5) is False
    assert time.monotonic() - t0 < 5


def test_semaphore_release_n_and_bad_arguments(new_sem: Factory) -> None:
    s = new_sem(0)
    s.release(2)
    assert s.acquire(timeout=0) and s.acquire(blocking=False) and not s.acquire(blocking=False)
    with pytest.raises(ValueError):
        s.release(0)
    with pytest.raises(ValueError):
        s.acquire(blocking=False, timeout=1)
    assert s.acquire(blocking=False, timeout=None) is False


def test_semaphore_waiter_woken_by_release(new_sem: Factory) -> None:
    s = new_sem(0)
    t = threading.Timer(0.1, s.release)
    t.start()
    assert _in_thread(lambda: s.acquire(timeout=20)) is True
    t.join()


# ---- Event ------------------------------------------------------------------

def test_event_set_clear_wait(new_event: Factory) -> None:
    e = new_event()
    assert e.is_set() is False
    assert e.wait(0) is False
    assert e.wait(-1) is False  # a negative timeout just looks
    assert e.wait(0.05) is False
    e.set()
    assert e.is_set() is True and e.wait() is True and e.wait(-1) is True and e.wait(0) is True
    e.clear()
    assert e.is_set() is False
    t = threading.Timer(0.1, e.set)
    t.start()
    assert _in_thread(lambda: e.wait(20)) is True
    t.join()


# ---- Where lipc differs, on purpose -----------------------------------------

def test_mutex_a_waiting_acquire_by_the_holder_raises_instead_of_deadlocking() -> None:
    with contextlib.closing(lipc.Mutex(unique_name("par"), create=True, unlink_on_close=True)) as m:
        with m:
            with pytest.raises(lipc.BusyError):
                m.acquire()  # threading.Lock: deadlock
            with pytest.raises(lipc.BusyError):
                m.acquire(timeout=5)  # threading.Lock: False after 5 s
        assert m.acquire(timeout=None)  # None is forever too (threading.Lock: TypeError)
        m.release()


def test_mutex_release_by_another_thread_raises() -> None:
    # threading.Lock lets any thread release; a robust mutex is the
    # locking thread's (threading.RLock's rule, RuntimeError included).
    with contextlib.closing(lipc.Mutex(unique_name("par"), create=True, unlink_on_close=True)) as m:
        m.acquire()
        e = _in_thread(lambda: _raises(m.release))
        assert isinstance(e, lipc.NotOwnerError) and isinstance(e, RuntimeError)
        m.release()


def _raises(fn: Callable[[], Any]) -> Any:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - returned to the test
        return e
    return None


def test_event_with_closes_the_handle() -> None:
    # threading.Event has no `with`; an event has no acquire/release pair,
    # so lipc's `with` means what a file's does: close at the end.
    n = unique_name("par")
    # On Windows the event goes with its last handle: a second handle keeps
    # it there while the first is closed by `with`.
    other = lipc.Event(n, create=True) if WINDOWS else None
    with lipc.Event(n, create=True) as e:
        assert isinstance(e, lipc.Event) and not e.closed
        e.set()
    assert e.closed
    with pytest.raises(ValueError, match="closed"):
        with e:
            pass
    with contextlib.closing(lipc.Event(n, unlink_on_close=True)) as again:
        assert again.is_set()  # the event itself stays
    if other is not None:
        other.close()
        with pytest.raises(FileNotFoundError):  # gone with its last handle
            lipc.Event(n)
    else:
        lipc.unlink_event(n)


def test_semaphore_initial_zero_counts_events() -> None:
    with contextlib.closing(lipc.Semaphore(unique_name("par"), create=True, initial=0,
                                           unlink_on_close=True)) as s:
        assert s.value == 0 and s.acquire(blocking=False) is False


# ---- Passed to another process by name -----------------------------------------

def _use_in_child(objs: Any) -> str:
    sem, mutex, event, lock = objs
    out = []
    out.append("sem" if sem.acquire(timeout=10) else "no sem")
    with mutex:
        out.append("mutex locked" if mutex.locked() else "?")
    event.set()
    out.append("lock" if lock.acquire(timeout=10) else "no lock")
    lock.release()
    return ",".join(out)


def test_objects_passed_to_a_spawned_process_reopen_there(tmp_path: Any) -> None:
    base = unique_name("par")
    path = str(tmp_path / "lk")
    with contextlib.closing(lipc.Semaphore(base + "-s", create=True, initial=0, unlink_on_close=True)) as s, \
            contextlib.closing(lipc.Mutex(base + "-m", create=True, unlink_on_close=True)) as m, \
            contextlib.closing(lipc.Event(base + "-e", create=True, unlink_on_close=True)) as e, \
            contextlib.closing(lipc.FileLock(path, kind="flock")) as lk:
        s.release()
        assert pickle.loads(pickle.dumps(e)).name == e.name
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            got = pool.apply(_use_in_child, ((s, m, e, lk),))
        assert got == "sem,mutex locked,lock"
        assert e.is_set() and s.value == 0 and not m.locked()
