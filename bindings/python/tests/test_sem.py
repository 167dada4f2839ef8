"""Semaphores: open/create, acquire/release, timeouts, unlink, names, and a
second process."""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
import sys
import threading
import time

import pytest
from conftest import HELPERS, child_env, posix_only, unique_name

import lipc


@pytest.fixture
def sem(name):
    s = lipc.Semaphore(name, create=True, initial=0)
    yield s
    s.close()


def test_create_exclusive_open_missing(names):
    n = unique_name()
    names.append(n)
    with pytest.raises(lipc.NotFoundError):
        lipc.Semaphore(n)
    a = lipc.Semaphore(n, create=True, exclusive=True, initial=2)
    with pytest.raises(lipc.ExistsError):
        lipc.Semaphore(n, create=True, initial=0, exclusive=True)
    b = lipc.Semaphore(n)  # opens the existing one
    c = lipc.Semaphore(n, create=True, initial=9)  # initial ignored: exists
    try:
        assert (a.value, b.value, c.value) == (2, 2, 2)
        b.release()
        assert a.value == 3 and a.handle != b.handle
    finally:
        for s in (a, b, c):
            s.close()


def test_leading_slash_names_the_same_semaphore(names):
    n = unique_name()
    names.append(n)
    with contextlib.closing(lipc.Semaphore(n, create=True, initial=0)) as a, \
            contextlib.closing(lipc.Semaphore("/" + n)) as b:
        a.release()
        assert b.value == 1 and b.name == "/" + n


def test_acquire_release_value(sem):
    assert sem.value == 0
    assert sem.acquire(blocking=False) is False
    sem.release()
    sem.release(2)
    assert sem.value == 3
    assert sem.acquire() is True
    assert sem.acquire(timeout=0) is True
    assert sem.acquire(blocking=False) is True
    assert sem.value == 0
    with pytest.raises(ValueError):
        sem.release(0)
    with pytest.raises(ValueError):
        sem.acquire(blocking=False, timeout=1)
    assert sem.acquire(timeout=-1) is False  # a try, as threading.Semaphore's


def test_acquire_times_out_after_the_full_time(sem):
    t0 = time.monotonic()
    assert sem.acquire(timeout=0.2) is False
    assert time.monotonic() - t0 >= 0.2


def test_blocked_acquire_is_woken_by_another_thread(sem):
    t = threading.Timer(0.2, sem.release)
    t.start()
    t0 = time.monotonic()
    assert sem.acquire(timeout=20) is True
    assert time.monotonic() - t0 >= 0.15
    t.join()


def test_with_acquires_and_releases(sem):
    sem.release()
    with sem as got:
        assert got is True and sem.value == 0
    assert sem.value == 1 and not sem.closed


def test_many_threads_share_one_semaphore(sem):
    count, per = 4, 300

    def work():
        for _ in range(per):
            sem.release()
            assert sem.acquire(timeout=10)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sem.value == 0


def test_release_past_the_maximum_is_out_of_range(name):
    with contextlib.closing(lipc.Semaphore(name, create=True, initial=2**31 - 1)) as s:
        with pytest.raises(lipc.OutOfRangeError) as ei:
            s.release()
        assert isinstance(ei.value, ValueError) and ei.value.errno == errno.EOVERFLOW
        assert s.value == 2**31 - 1


@posix_only("the mode and the umask of the file in /dev/shm (Windows objects have no mode)")
def test_mode_goes_through_the_umask(name):
    old = os.umask(0o077)
    try:
        with contextlib.closing(lipc.Semaphore(name, create=True, initial=0, mode=0o640)):
            assert stat.S_IMODE(os.stat(f"/dev/shm/sem.{name}").st_mode) == 0o600
    finally:
        os.umask(old)


def test_release_n_is_one_step(sem):
    sem.release(5)
    assert sem.value == 5
    # 2**31 - 6 more in one C call: a loop of posts would take half an hour.
    done = []
    t = threading.Thread(target=lambda: done.append(sem.release(2**31 - 6)), daemon=True)
    t.start()
    t.join(20)
    assert done == [None] and sem.value == 2**31 - 1
    with pytest.raises(lipc.OutOfRangeError) as ei:
        sem.release(2)
    assert isinstance(ei.value, ValueError) and ei.value.errno == errno.EOVERFLOW
    assert sem.value == 2**31 - 1


def test_release_n_past_the_maximum_adds_nothing(sem):
    sem.release(3)
    for n in (2**31 - 3, 2**31, 2**32 - 1):
        with pytest.raises(lipc.OutOfRangeError):
            sem.release(n)
        assert sem.value == 3


def test_release_n_checks_n(sem):
    for n, exc in ((0, ValueError), (-1, ValueError), (-2**70, ValueError), (2**32, OverflowError),
                   (2**64, OverflowError), (1.0, TypeError), (2.5, TypeError), ("2", TypeError),
                   (None, TypeError)):
        with pytest.raises(exc):
            sem.release(n)  # type: ignore[arg-type]
    assert sem.value == 0
    sem.release(True)  # bool is an int, as everywhere in Python
    assert sem.value == 1


def test_release_n_wakes_n_waiters(sem):
    got = []
    threads = [threading.Thread(target=lambda: got.append(sem.acquire(timeout=20))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    sem.release(4)
    for t in threads:
        t.join(30)
    assert got == [True] * 4 and sem.value == 0


def test_unlink_keeps_open_handles_working(name):
    s = lipc.Semaphore(name, create=True, initial=0)
    try:
        lipc.unlink_semaphore(name)
        with pytest.raises(lipc.NotFoundError):
            lipc.Semaphore(name)
        with pytest.raises(lipc.NotFoundError):
            lipc.unlink_semaphore(name)
        s.release()
        assert s.acquire(timeout=1)
    finally:
        s.close()
    s2 = lipc.Semaphore(name, create=True, initial=0)
    s2.close()
    s2.unlink()  # by name, after close
    with pytest.raises(FileNotFoundError):
        s2.unlink()


def test_unlink_on_close(name):
    s = lipc.Semaphore(name, create=True, initial=0, unlink_on_close=True)
    other = lipc.Semaphore(name, unlink_on_close=True)  # did not create it
    other.close()
    assert lipc.Semaphore(name).close() is None  # still there
    s.close()
    with pytest.raises(lipc.NotFoundError):
        lipc.Semaphore(name)


@pytest.mark.parametrize("bad,cls", [
    ("", lipc.InvalidArgumentError),
    ("/", lipc.InvalidArgumentError),
    ("a/b", lipc.InvalidArgumentError),
    ("bad name!", lipc.InvalidArgumentError),
    (".hidden", lipc.InvalidArgumentError),
    ("é", lipc.InvalidArgumentError),
    ("x" * 201, lipc.NameTooLongError),
])
def test_bad_names(bad, cls):
    with pytest.raises(cls) as ei:
        lipc.Semaphore(bad, create=True, initial=0)
    assert isinstance(ei.value, ValueError) and "bad name" in ei.value.message
    with pytest.raises(cls):
        lipc.unlink_semaphore(bad)


def test_longest_name_is_fine(names):
    n = (unique_name() + "x" * 200)[:200]
    names.append(n)
    lipc.Semaphore(n, create=True, initial=0).close()


def test_arguments_python_can_check():
    with pytest.raises(ValueError, match="NUL"):
        lipc.Semaphore("a\0b", create=True, initial=0)
    with pytest.raises(TypeError):
        lipc.Semaphore(42, create=True, initial=0)  # type: ignore[arg-type]
    for kwargs in ({"initial": -1}, {"initial": 2**31}, {"mode": 0o1000},
                   {"mode": -1}, {"exclusive": True, "create": False}):
        with pytest.raises(ValueError):
            lipc.Semaphore("never-created", **{"create": True, **kwargs})


def test_second_process_posts_to_our_wait(sem):
    p = subprocess.Popen([sys.executable, os.path.join(HELPERS, "sem_peer.py"), "post", sem.name, "0.2"],
                         env=child_env())
    try:
        t0 = time.monotonic()
        assert sem.acquire(timeout=30) is True
        assert time.monotonic() - t0 >= 0.1
    finally:
        assert p.wait(30) == 0


def test_second_process_waits_for_our_post(sem):
    p = subprocess.Popen([sys.executable, os.path.join(HELPERS, "sem_peer.py"), "wait", sem.name, "30"],
                         env=child_env())
    try:
        time.sleep(0.2)
        assert p.poll() is None, "the peer must be waiting"
        sem.release()
    finally:
        assert p.wait(30) == 0
    assert sem.value == 0


def test_close_while_another_thread_waits(name):
    s = lipc.Semaphore(name, create=True, initial=0)
    got = []
    waiting = threading.Event()

    def wait() -> None:
        waiting.set()
        got.append(s.acquire(timeout=1.0))

    t = threading.Thread(target=wait)
    t.start()
    waiting.wait(20)
    time.sleep(0.2)  # into the C wait by now (the GIL is free while we sleep)
    s.close()  # the waiter keeps its reference and finishes safely
    t.join(20)
    assert got == [False] and s.closed


def test_signals_during_acquire_keep_its_deadline(sem, ticking_alarm):
    hits = ticking_alarm()
    t0 = time.monotonic()
    assert sem.acquire(timeout=0.5) is False
    elapsed = time.monotonic() - t0
    assert len(hits) >= 2 and 0.5 <= elapsed < 2.5  # see test_wait.py


class _Alarm(Exception):
    pass


def test_a_raising_handler_ends_an_endless_acquire(sem, alarm):
    def boom(*_):
        raise _Alarm()

    alarm(0.1, boom)
    t0 = time.monotonic()
    with pytest.raises(_Alarm):
        sem.acquire()
    assert time.monotonic() - t0 < 10
    sem.release()
    assert sem.acquire(timeout=5)  # still usable


def test_repr_and_properties(sem):
    assert sem.name.startswith("lipc-py-") and f"name={sem.name!r}" in repr(sem)
    assert f"handle={sem.handle:#x}" in repr(sem)


def _raw_wait_under_sa_restart(sem, alarm, timeout_ms):
    """Raw lipc_sem_wait while a SIGALRM handler installed with SA_RESTART
    (what C hosts and most runtimes use) runs after 0.2 s; a thread posts
    after 2 s so the wait ends even if the signal does not end it."""
    import signal
    from lipc._lib import lib
    h = sem.handle
    alarm(0.2, lambda *_: None)
    signal.siginterrupt(signal.SIGALRM, False)  # SA_RESTART
    poster = threading.Timer(2.0, lambda: lib.lipc_sem_post(h))
    poster.start()
    try:
        t0 = time.monotonic()
        rc = lib.lipc_sem_wait(h, timeout_ms)
        return rc, time.monotonic() - t0
    finally:
        poster.cancel()


def test_sa_restart_signal_interrupts_a_timed_sem_wait(sem, alarm):
    rc, elapsed = _raw_wait_under_sa_restart(sem, alarm, 30_000)
    assert rc == lipc.Code.EINTR and elapsed < 1.5


def test_sa_restart_signal_interrupts_an_endless_sem_wait(sem, alarm):
    # A plain sem_wait() would be restarted by the kernel after an
    # SA_RESTART handler and never give LIPC_EINTR as lipc.h promises.
    rc, elapsed = _raw_wait_under_sa_restart(sem, alarm, -1)
    assert rc == lipc.Code.EINTR and elapsed < 1.5
