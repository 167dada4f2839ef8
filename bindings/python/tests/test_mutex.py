"""Mutexes: open/create, acquire/release, per-thread ownership, a holder
killed with -9 (owner died), unrecoverable state, contention between
threads and processes, timeouts, bad input."""
from __future__ import annotations

import contextlib
import os
import stat
import threading
import time

import pytest
from conftest import WINDOWS, finish, least_of, posix_only, read_line, start_helper, unique_name

import lipc


@pytest.fixture
def mutex(name):
    m = lipc.Mutex(name, create=True)
    yield m
    m.close()


def in_thread(fn):
    """Runs fn in another thread; returns what it returned or raised."""
    out = []

    def run():
        try:
            out.append(fn())
        except BaseException as e:  # noqa: B902 - handed to the test
            out.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    assert not t.is_alive()
    return out[0]


def test_create_exclusive_open_missing(names):
    n = unique_name("mx")
    names.append(n)
    with pytest.raises(lipc.NotFoundError):
        lipc.Mutex(n)
    a = lipc.Mutex(n, create=True, exclusive=True)
    with pytest.raises(lipc.ExistsError):
        lipc.Mutex(n, create=True, exclusive=True)
    b = lipc.Mutex("/" + n)  # the same mutex
    try:
        assert a.acquire(blocking=False)
        assert in_thread(lambda: b.acquire(blocking=False)) is False
        a.release()
        assert in_thread(lambda: (b.acquire(blocking=False), b.release())) == (True, None)
    finally:
        a.close()
        b.close()


def test_acquire_release_with(mutex):
    assert mutex.acquire() is True and mutex.owner_died is False
    mutex.release()
    assert mutex.acquire(timeout=0) is True
    mutex.release()
    with mutex as got:
        assert got is True
        assert in_thread(lambda: mutex.acquire(timeout=0.05)) is False
    assert in_thread(lambda: (mutex.acquire(timeout=1), mutex.release())) == (True, None)
    with pytest.raises(ValueError):
        mutex.acquire(blocking=False, timeout=1)
    with pytest.raises(ValueError):
        mutex.acquire(timeout=-2)  # -1 is forever, as threading.Lock's


def test_not_recursive_and_owned_by_the_thread(mutex):
    assert mutex.acquire()
    with pytest.raises(lipc.BusyError) as ei:
        mutex.acquire(timeout=1)
    assert ei.value.code == lipc.Code.EBUSY
    with pytest.raises(lipc.BusyError):
        mutex.acquire()
    assert mutex.acquire(blocking=False) is False  # a try fails as threading.Lock's
    assert mutex.acquire(timeout=0) is False
    e = in_thread(mutex.release)
    assert isinstance(e, lipc.NotOwnerError) and isinstance(e, RuntimeError)
    assert isinstance(e, PermissionError) and e.code == lipc.Code.EPERM
    mutex.release()  # still ours: the failed release changed nothing
    with pytest.raises(RuntimeError):
        mutex.release()
    with pytest.raises(lipc.InvalidArgumentError):
        mutex.consistent()  # no owner died


def test_threads_exclude_each_other(mutex):
    counter = [0]

    def work():
        for _ in range(300):
            with mutex:
                v = counter[0]
                time.sleep(0)  # another thread would run here without the lock
                counter[0] = v + 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert counter[0] == 1200


def test_processes_exclude_each_other(names):
    # distinct names: one namespace holds every kind of object on Windows
    n, sn = unique_name("mxp"), unique_name("mxs")
    names += [n, sn]
    with contextlib.closing(lipc.Mutex(n, create=True)) as m, \
            lipc.SharedMemory(sn, create=True, size=8) as shm:
        kids = [start_helper("syncmem_peer.py", "count", n, sn, "300") for _ in range(2)]
        try:
            for _ in range(300):
                with m:
                    v = int.from_bytes(shm.buf[:8], "little")
                    time.sleep(0)
                    shm.buf[:8] = (v + 1).to_bytes(8, "little")
        finally:
            codes = [k.wait(60) for k in kids]
        assert codes == [0, 0]
        assert int.from_bytes(shm.buf[:8], "little") == 900


def test_holder_killed_gives_owner_died_promptly(mutex):
    p = start_helper("syncmem_peer.py", "hold-mutex", mutex.name)
    try:
        assert read_line(p) == "L"
        assert mutex.acquire(blocking=False) is False
        got = []
        waiting = threading.Event()

        def wait():
            waiting.set()
            got.append(mutex.acquire(timeout=10))
            got.append(time.monotonic())
            got.append(mutex.owner_died)
            mutex.consistent()
            mutex.release()

        t = threading.Thread(target=wait)
        t.start()
        waiting.wait(10)
        time.sleep(0.1)  # the waiter is in its C wait by now
        killed = time.monotonic()
        p.kill()
        t.join(20)
        assert got[0] is True and got[2] is True, got
        assert got[1] - killed < 0.1, f"owner died reported {1000 * (got[1] - killed):.1f} ms after the kill"
    finally:
        finish(p)
    # repaired: usable again, with no owner death to report
    assert mutex.acquire(timeout=1) and mutex.owner_died is False
    mutex.release()


def test_release_without_consistent_makes_it_unrecoverable(mutex):
    p = start_helper("syncmem_peer.py", "hold-mutex", mutex.name)
    try:
        assert read_line(p) == "L"
    finally:
        finish(p)
    assert mutex.acquire(timeout=5) and mutex.owner_died
    mutex.release()  # not marked consistent
    if WINDOWS:
        # Windows has no unrecoverable state (include/lipc.h,
        # lipc_mutex_consistent): a plain unlock; the next locker gets the
        # mutex without owner_died
        assert mutex.acquire(timeout=5) and not mutex.owner_died
        mutex.release()
        return
    with pytest.raises(lipc.NotRecoverableError) as ei:
        mutex.acquire(timeout=0.1)
    assert "recoverable" in str(ei.value) and isinstance(ei.value, lipc.Error)


def test_a_thread_that_exits_holding_it_counts_as_dead(mutex):
    assert in_thread(mutex.acquire) is True  # that thread is gone now
    assert mutex.acquire(timeout=5) and mutex.owner_died
    mutex.consistent()
    assert mutex.owner_died is False
    mutex.release()


@pytest.mark.parametrize("timeout", [0.02, 0.1, 0.25])
def test_timeout_is_neither_early_nor_late(mutex, timeout):
    lateness = least_of(lambda: _late_by(mutex, timeout), below=0.03)
    assert lateness < 0.03, lateness


def _late_by(mutex, timeout):
    hold, done = threading.Event(), threading.Event()

    def holder():
        with mutex:
            hold.set()
            done.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    try:
        hold.wait(10)
        t0 = time.monotonic()
        assert mutex.acquire(timeout=timeout) is False
        elapsed = time.monotonic() - t0
    finally:
        done.set()
        t.join(10)
    assert timeout <= elapsed, elapsed  # never early
    return elapsed - timeout


def test_signals_during_acquire_keep_its_deadline(mutex, ticking_alarm):
    hold, done = threading.Event(), threading.Event()

    def holder():
        with mutex:
            hold.set()
            done.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    try:
        hold.wait(10)
        hits = ticking_alarm()
        t0 = time.monotonic()
        assert mutex.acquire(timeout=0.5) is False
        elapsed = time.monotonic() - t0
    finally:
        done.set()
        t.join(10)
    assert len(hits) >= 2 and 0.5 <= elapsed < 2.5


@posix_only("POSIX names stay in /dev/shm with their mode after close; a Windows object goes with its last handle and has no mode")
def test_unlink_and_unlink_on_close(names):
    n = unique_name("mxu")
    names.append(n)
    m = lipc.Mutex(n, create=True, unlink_on_close=True, mode=0o640)
    assert stat.S_IMODE(os.stat(f"/dev/shm/lipc.mutex.{n}").st_mode) == 0o640
    m.close()
    with pytest.raises(lipc.NotFoundError):
        lipc.Mutex(n)
    m = lipc.Mutex(n, create=True)
    m.close()
    m.unlink()  # by name, after close
    with pytest.raises(FileNotFoundError):
        lipc.unlink_mutex(n)


@pytest.mark.parametrize("bad,cls", [
    ("", lipc.InvalidArgumentError),
    ("a/b", lipc.InvalidArgumentError),
    ("bad name", lipc.InvalidArgumentError),
    (".x", lipc.InvalidArgumentError),
    ("x" * 201, lipc.NameTooLongError),
])
def test_bad_names(bad, cls):
    with pytest.raises(cls) as ei:
        lipc.Mutex(bad, create=True)
    assert "name" in ei.value.message
    with pytest.raises(cls):
        lipc.unlink_mutex(bad)


def test_bad_arguments_and_closed_use(mutex):
    with pytest.raises(ValueError, match="NUL"):
        lipc.Mutex("a\0b", create=True)
    with pytest.raises(ValueError):
        lipc.Mutex("never", exclusive=True)
    with pytest.raises(ValueError):
        lipc.Mutex("never", create=True, mode=0o1000)
    with pytest.raises(TypeError):
        lipc.Mutex(7, create=True)  # type: ignore[arg-type]
    mutex.close()
    mutex.close()  # idempotent
    for call in (mutex.acquire, mutex.release, mutex.consistent):
        with pytest.raises(ValueError, match="closed Mutex"):
            call()
    assert "closed" in repr(mutex)


def test_wrong_kind_handle_is_rejected(mutex, names):
    from lipc._lib import lib
    assert lib.lipc_mutex_lock(mutex.handle ^ (1 << 20), 0, None) == lipc.Code.EBADHANDLE
    sn = unique_name("mxk")  # not the mutex's: one namespace for every kind on Windows
    names.append(sn)
    with contextlib.closing(lipc.Semaphore(sn, create=True, initial=0)) as s:
        assert lib.lipc_mutex_lock(s.handle, 0, None) == lipc.Code.EBADHANDLE
        assert lib.lipc_sem_post(mutex.handle) == lipc.Code.EBADHANDLE


def test_owner_died_is_the_latest_acquire_s_and_can_be_set(mutex):
    # owner_died reads the flag the C lock call wrote (an acquire stores
    # nothing in Python): set by hand it reads back, a failed try leaves it,
    # a lock clears it, and consistent() clears it.
    import threading
    assert mutex.owner_died is False
    mutex.owner_died = True
    assert mutex.owner_died is True
    assert mutex.acquire() is True and mutex.owner_died is False
    mutex.owner_died = True
    got = []
    t = threading.Thread(target=lambda: got.append(mutex.acquire(blocking=False)))
    t.start()
    t.join()
    assert got == [False] and mutex.owner_died is True  # the failed try wrote nothing
    mutex.release()
    assert mutex.acquire(timeout=1) is True and mutex.owner_died is False
    mutex.release()
