"""lipc beside posix_ipc, the library a Python user shares POSIX semaphores
and shared memory with today. The header promises that a lipc semaphore "x"
is sem_open("/x") and a lipc shared memory "x" is shm_open("/x"), so a
program on posix_ipc (or C, through glibc) and one on lipc share them both
ways: values, blocking waits woken from the other side, names removed by
either, sizes (lipc's grow included). posix_ipc's own calls are glibc's
sem_* and shm_open, so this is also lipc against glibc's protocol from
Python."""
from __future__ import annotations

import mmap
import threading
import time

import pytest
from conftest import WINDOWS

import lipc

posix_ipc = pytest.importorskip("posix_ipc", reason="posix_ipc (PyPI) is a test dependency")
pytestmark = pytest.mark.skipif(WINDOWS, reason="posix_ipc is POSIX only")


def posix_name(name: str) -> str:
    return "/" + name


def test_semaphore_made_by_posix_ipc_is_lipcs(name):
    theirs = posix_ipc.Semaphore(posix_name(name), posix_ipc.O_CREX, initial_value=0)
    try:
        ours = lipc.Semaphore(name)
        assert ours.value == 0
        ours.release()
        assert theirs.value == 1
        theirs.acquire(5)
        theirs.release()
        theirs.release()
        theirs.release()
        assert ours.value == 3
        assert [ours.acquire(timeout=0) for _ in range(4)] == [True, True, True, False]
        assert theirs.value == 0
        with pytest.raises(posix_ipc.BusyError):
            theirs.acquire(0)
        ours.close()
    finally:
        theirs.close()


def test_semaphore_made_by_lipc_is_posix_ipcs(name):
    ours = lipc.Semaphore(name, create=True, exclusive=True, initial=2)
    theirs = posix_ipc.Semaphore(posix_name(name))
    assert theirs.value == 2
    theirs.acquire(0)
    assert ours.value == 1
    with pytest.raises(posix_ipc.ExistentialError):  # O_CREX on lipc's name
        posix_ipc.Semaphore(posix_name(name), posix_ipc.O_CREX)
    with pytest.raises(lipc.ExistsError):  # and lipc's exclusive on the same
        lipc.Semaphore(name, create=True, exclusive=True)
    ours.unlink()
    with pytest.raises(posix_ipc.ExistentialError):
        posix_ipc.Semaphore(posix_name(name))
    ours.release()  # both handles outlive the name
    assert theirs.value == 2
    theirs.close()
    ours.close()


def test_unlinked_by_posix_ipc_is_gone_for_lipc(name):
    theirs = posix_ipc.Semaphore(posix_name(name), posix_ipc.O_CREX, initial_value=1)
    ours = lipc.Semaphore(name)
    theirs.unlink()
    with pytest.raises(lipc.NotFoundError):
        lipc.Semaphore(name)
    assert ours.acquire(timeout=0) and not ours.acquire(timeout=0)
    ours.close()
    theirs.close()


def woken_within(wait, wake, seconds: float = 10.0) -> float:
    """Starts wait() in a thread, lets it block, calls wake(); returns how
    long wait() took after the wake (it must have blocked, not polled)."""
    done = threading.Event()
    result: list = []

    def waiter():
        result.append(wait())
        done.set()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    assert not done.is_set(), "the wait returned before anything woke it"
    woke_at = time.monotonic()
    wake()
    assert done.wait(seconds), "the wait was not woken from the other library"
    t.join()
    assert result == [True]
    return time.monotonic() - woke_at


def test_posix_ipc_waiter_is_woken_by_lipc(name):
    theirs = posix_ipc.Semaphore(posix_name(name), posix_ipc.O_CREX, initial_value=0)
    ours = lipc.Semaphore(name)
    try:
        def wait():
            theirs.acquire(30)  # glibc's sem_timedwait, asleep on the futex
            return True
        woken_within(wait, ours.release)
        assert ours.value == 0 and theirs.value == 0
    finally:
        ours.close()
        theirs.close()


def test_lipc_waiter_is_woken_by_posix_ipc(name):
    ours = lipc.Semaphore(name, create=True, initial=0)
    theirs = posix_ipc.Semaphore(posix_name(name))
    try:
        woken_within(lambda: ours.acquire(timeout=30), theirs.release)
        assert ours.value == 0
        # Many waiters on each side, each woken exactly once per post.
        got = []
        lock = threading.Lock()

        def lipc_waiter():
            ok = ours.acquire(timeout=30)
            with lock:
                got.append(("lipc", ok))

        def posix_waiter():
            try:
                theirs.acquire(30)
                ok = True
            except posix_ipc.BusyError:
                ok = False
            with lock:
                got.append(("posix_ipc", ok))

        threads = [threading.Thread(target=f) for f in (lipc_waiter, posix_waiter) * 4]
        for t in threads:
            t.start()
        time.sleep(0.2)
        for i in range(8):
            (ours.release if i % 2 else theirs.release)()
        for t in threads:
            t.join(60)
        assert sorted(got) == sorted([("lipc", True)] * 4 + [("posix_ipc", True)] * 4)
        assert ours.value == 0 == theirs.value
    finally:
        ours.close()
        theirs.close()


def test_shared_memory_both_ways(name):
    theirs = posix_ipc.SharedMemory(posix_name(name), posix_ipc.O_CREX, size=8192)
    view = mmap.mmap(theirs.fd, theirs.size)
    try:
        ours = lipc.SharedMemory(name)
        assert ours.size == 8192
        ours.buf[:5] = b"hello"
        assert view[:5] == b"hello"
        view[8187:8192] = b"world"
        assert bytes(ours.buf[8187:8192]) == b"world"
        ours.grow(16384)  # lipc's grow is ftruncate: posix_ipc sees the size
        assert posix_ipc.SharedMemory(posix_name(name)).size == 16384
        assert bytes(ours.buf[:5]) == b"hello" and bytes(ours.buf[16379:]) == bytes(5)
        ours.close()
    finally:
        view.close()
        theirs.close_fd()
        theirs.unlink()
    with pytest.raises(lipc.NotFoundError):
        lipc.SharedMemory(name)


def test_shared_memory_made_by_lipc(name):
    ours = lipc.SharedMemory(name, create=True, exclusive=True, size=4096)
    try:
        ours.buf[100:103] = b"abc"
        theirs = posix_ipc.SharedMemory(posix_name(name))
        assert theirs.size == 4096
        with mmap.mmap(theirs.fd, theirs.size) as view:
            assert view[100:103] == b"abc"
        theirs.close_fd()
        with pytest.raises(posix_ipc.ExistentialError):
            posix_ipc.SharedMemory(posix_name(name), posix_ipc.O_CREX, size=4096)
        ours.unlink()
        with pytest.raises(posix_ipc.ExistentialError):
            posix_ipc.SharedMemory(posix_name(name))
    finally:
        ours.close()
