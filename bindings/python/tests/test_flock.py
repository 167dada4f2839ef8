"""File locks: contention between threads (each with its own FileLock) and
processes, release by a holder's death, how fast a waiter gets a released
lock, shared and exclusive ranges, file objects and classic locks,
timeouts, bad input."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

if sys.platform != "win32":
    import fcntl
from conftest import finish, least_of, posix_only, read_line, start_helper

import lipc


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "lockfile"
    p.write_bytes(b"")
    return str(p)


def test_two_locks_exclude_each_other_and_ranges(path):
    with lipc.FileLock(path) as a:
        assert a.locked()
        b = lipc.FileLock(path, timeout=0.05)
        assert b.acquire(blocking=False) is False
        t0 = time.monotonic()
        assert b.acquire() is False  # its default timeout
        assert time.monotonic() - t0 >= 0.05
        with pytest.raises(lipc.TimedOutError) as ei:
            with b:
                pass
        assert isinstance(ei.value, TimeoutError) and path in str(ei.value)
        fd = os.open(path, os.O_RDONLY)
        os.close(fd)  # closing some other fd of the file does not drop a's lock
        assert b.acquire(blocking=False) is False
        b.close()
    assert not a.locked()
    left, right = lipc.FileLock(path, offset=0, length=10), lipc.FileLock(path, offset=10, length=10)
    assert left.acquire(timeout=0) and right.acquire(timeout=0)  # disjoint ranges
    left.close()
    right.close()


def test_shared_locks_share_and_exclude_exclusive(path):
    r1, r2 = lipc.FileLock(path, exclusive=False), lipc.FileLock(path, exclusive=False, length=50)
    w = lipc.FileLock(path, length=50)
    try:
        assert r1.acquire(blocking=False) and r2.acquire(blocking=False)
        assert w.acquire(blocking=False) is False
        r1.release()
        r2.release()
        assert w.acquire(blocking=False)
    finally:
        for lock in (r1, r2, w):
            lock.close()


def test_threads_with_their_own_locks_exclude_each_other(path):
    counter = [0]

    def work():
        lock = lipc.FileLock(path)
        for _ in range(100):
            with lock:
                v = counter[0]
                time.sleep(0)
                counter[0] = v + 1
        lock.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert counter[0] == 400


def test_a_waiting_thread_gets_the_released_lock_within_a_few_ms(path):
    def wake() -> float:
        a, b = lipc.FileLock(path), lipc.FileLock(path)
        got = []
        assert a.acquire()

        def wait():
            got.append(b.acquire(timeout=10))
            got.append(time.monotonic())

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.1)
        released = time.monotonic()
        a.release()
        t.join(20)
        a.close()
        b.close()
        assert got[0] is True, got
        return got[1] - released

    delay = least_of(wake, below=0.02)
    assert delay < 0.02, delay


def test_contention_with_another_process(path):
    p = start_helper("syncmem_peer.py", "hold-lock", path)
    lock = lipc.FileLock(path, timeout=0.05)
    try:
        assert read_line(p) == "L"
        assert lock.acquire(blocking=False) is False
        with pytest.raises(lipc.TimedOutError):
            with lock:
                pass
    finally:
        finish(p)
    with lock:  # the other way round: the other process cannot have it
        q = start_helper("syncmem_peer.py", "try-lock", path)
        try:
            assert read_line(q) == "BUSY"
        finally:
            finish(q)
    q = start_helper("syncmem_peer.py", "try-lock", path)
    try:
        assert read_line(q) == "GOT"
    finally:
        finish(q)
    lock.close()


def test_a_killed_holder_releases_its_lock(path):
    lock = lipc.FileLock(path)
    p = start_helper("syncmem_peer.py", "hold-lock", path)
    try:
        assert read_line(p) == "L"
        assert lock.acquire(blocking=False) is False
        assert lock.acquire(timeout=0.1) is False
        p.kill()
        t0 = time.monotonic()
        assert lock.acquire(timeout=5) is True
        assert time.monotonic() - t0 < 1.0
    finally:
        finish(p)
        lock.close()


def test_another_process_releasing_wakes_our_wait(path):
    def wake() -> float:
        p = start_helper("syncmem_peer.py", "hold-lock", path, "0.3")
        try:
            assert read_line(p) == "L"
            with lipc.FileLock(path, timeout=20) as lock:
                got = time.monotonic()
                assert lock.locked()
            released = float(read_line(p).split()[1])  # "U <monotonic>", printed before unlocking
            assert p.wait(30) == 0
        finally:
            finish(p)
        assert got >= released, (got, released)
        return got - released

    delay = least_of(wake, below=0.05)
    assert delay < 0.05, delay


def test_lock_on_a_file_object(path):
    with open(path, "r+b") as f:
        lock = lipc.FileLock(f)
        other = lipc.FileLock(path)
        assert lock.acquire(blocking=False) and not other.acquire(blocking=False)
        assert lock.path == path
        lock.release()
        assert other.acquire(blocking=False)
        other.close()
        lock.close()
        assert not f.closed  # the caller's file stays open
    with open(path, "rb") as f:
        ro = lipc.FileLock(f)
        if sys.platform == "win32":  # LockFileEx takes an exclusive lock on a read-only handle
            assert ro.acquire(blocking=False)
            ro.release()
        else:
            with pytest.raises(lipc.InvalidArgumentError):  # exclusive needs write access
                ro.acquire(blocking=False)
        ro.close()
        shared = lipc.FileLock(f.fileno(), exclusive=False)
        assert shared.acquire(blocking=False)
        shared.close()


@posix_only("fcntl.lockf's locks, which Windows does not have")
def test_classic_locks_are_the_process_s(path):
    with open(path, "r+b") as f:
        c1, c2 = lipc.FileLock(f, classic=True), lipc.FileLock(f, classic=True)
        assert c1.acquire(blocking=False) and c2.acquire(blocking=False)  # same process
        c1.close()  # the process's lock stays
        own = lipc.FileLock(path)
        assert own.acquire(blocking=False) is False
        c2.release()
        assert own.acquire(blocking=False) is True
        own.close()
        c2.close()
        # they are fcntl.lockf's locks: this process may take them again
        c3 = lipc.FileLock(f, classic=True)
        assert c3.acquire(blocking=False)
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        own = lipc.FileLock(path)
        assert own.acquire(blocking=False) is False
        open(path, "rb").close()  # closing ANY fd of the file drops them
        assert own.acquire(blocking=False) is True
        own.close()
        c3.close()
    with pytest.raises(ValueError, match="classic"):
        lipc.FileLock(path, classic=True)


@pytest.mark.parametrize("timeout", [0.02, 0.1, 0.25])
def test_timeout_is_neither_early_nor_late(path, timeout):
    def late() -> float:
        a, b = lipc.FileLock(path), lipc.FileLock(path)
        try:
            assert a.acquire()
            t0 = time.monotonic()
            assert b.acquire(timeout=timeout) is False
            elapsed = time.monotonic() - t0
        finally:
            a.close()
            b.close()
        assert timeout <= elapsed, elapsed  # never early
        return elapsed - timeout

    lateness = least_of(late, below=0.03)
    assert lateness < 0.03, lateness


def test_bad_input(path, tmp_path):
    with pytest.raises(lipc.NotFoundError):
        lipc.FileLock(str(tmp_path / "no" / "such"))
    with pytest.raises(lipc.NotFoundError):
        lipc.FileLock(str(tmp_path / "missing"), create=False)
    with pytest.raises(ValueError):
        lipc.FileLock(path, offset=-1)
    assert lipc.FileLock(path, timeout=-1).timeout is None  # forever, as filelock's -1
    with pytest.raises(ValueError):
        lipc.FileLock(path, timeout=float("nan"))
    with pytest.raises(ValueError):
        lipc.FileLock(path).acquire(timeout=float("nan"))
    with pytest.raises(ValueError, match="NUL"):
        lipc.FileLock("a\0b")
    with pytest.raises(lipc.InvalidArgumentError):
        lipc.FileLock(-1)
    with pytest.raises(lipc.Error) as ei:
        lipc.FileLock(999)
    assert ei.value.errno == 9  # EBADF
    with pytest.raises(TypeError):
        lipc.FileLock(True)  # type: ignore[arg-type]
    lock = lipc.FileLock(path)
    with pytest.raises(RuntimeError):
        lock.release()
    with pytest.raises(ValueError):
        lock.acquire(blocking=False, timeout=1)
    lock.close()
    lock.close()
    for call in (lock.acquire, lock.release):
        with pytest.raises(ValueError, match="closed FileLock"):
            call()


def _rt_hog(cpu):
    """A SCHED_FIFO busy loop pinned to cpu, stopped; None if not allowed."""
    code = ("import os, sys\n"
            f"os.sched_setaffinity(0, {{{cpu}}})\n"
            "try:\n"
            "    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))\n"
            "except OSError:\n"
            "    sys.exit(3)\n"
            "print('R', flush=True)\n"
            "while True:\n"
            "    pass\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, bufsize=0)
    line = p.stdout.readline()
    if line != b"R\n":
        p.wait(10)
        return None
    p.send_signal(signal.SIGSTOP)
    return p


def sigint_while_starved(path, role, tries):
    """Runs the helper's `role` pinned to one CPU, waiting for a lock held
    here; for each wait, a SCHED_FIFO busy loop on that CPU keeps the waiter
    from running while its nap ends and SIGINT arrives, so the signal's
    handler runs after the nap, between two tries. How many SIGINTs got no
    KeyboardInterrupt within 0.5 s (each then gets a second SIGINT)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    cpu = cpus[-1]
    os.sched_setaffinity(0, set(cpus[:-1]))  # this process keeps running beside the hog
    try:
        hog = _rt_hog(cpu)
        if hog is None:
            pytest.skip("cannot run a SCHED_FIFO process here")
        holder = lipc.FileLock(path)
        assert holder.acquire()
        p = start_helper("syncmem_peer.py", role, path, str(tries), str(cpu))
        lost = 0
        try:
            for i in range(tries):
                assert read_line(p) == f"WAITING {i}"
                time.sleep(0.1)  # into the C wait, napping
                hog.send_signal(signal.SIGCONT)  # the waiter cannot run now; its nap ends
                time.sleep(0.03)
                p.send_signal(signal.SIGINT)  # the handler runs when the waiter runs again
                time.sleep(0.01)
                hog.send_signal(signal.SIGSTOP)
                try:
                    line = read_line(p, timeout=0.5)
                except AssertionError:
                    lost += 1
                    p.send_signal(signal.SIGINT)  # no hog now: this one lands in a nap
                    line = read_line(p, timeout=5.0)
                assert line == f"KI {i}"
        finally:
            hog.kill()
            hog.send_signal(signal.SIGCONT)
            hog.wait(10)
            hog.stdout.close()
            finish(p)
            holder.close()
    finally:
        os.sched_setaffinity(0, set(cpus))
    return lost


@posix_only("SIGSTOP/SIGCONT, SCHED_FIFO and SIGINT to a helper")
@pytest.mark.xfail(strict=False, reason=(
    "KNOWN GAP: lipc_flock_lock polls between naps; a SIGINT whose handler runs during a try rather "
    "than a nap is not seen until the next signal. Closing the window needs the signal mask blocked "
    "around the tries, which breaks SBCL's deferred-interrupt bookkeeping on Lisp threads; this "
    "harness starves the waiter on purpose to hit the window every time"))
def test_lipc_flock_lock_does_not_lose_a_signal_between_naps(path):
    # A regression test: lipc_flock_lock polls (a try, then a nap), and a
    # signal whose handler ran between two naps used to be lost, so an
    # endless wait ignored Ctrl-C (fixed in core/flock/flock_linux.c: signals
    # are let in only while it sleeps, atomically, by ppoll).
    lost = sigint_while_starved(path, "sigint-lock-raw", 2)
    assert lost == 0, f"{lost} of 2 SIGINTs were lost by lipc_flock_lock(timeout -1)"


@posix_only("SIGSTOP/SIGCONT, SCHED_FIFO and SIGINT to a helper (Ctrl-C on Windows: test_sync_sigint)")
def test_sigint_reaches_an_endless_acquire_of_a_starved_waiter(path):
    # The C gap above stays, but the binding's endless waits in the main
    # thread are made of 0.1 s calls, and Python runs its handlers between
    # two: the KeyboardInterrupt comes within a slice.
    assert sigint_while_starved(path, "sigint-lock", 2) == 0
