"""FileLock(kind="flock"): whole-file flock(2) locks that meet the real
tools (flock(1) from util-linux, the filelock package, fcntl.flock), and
stay apart from fcntl locks, as the kernel keeps them; negative timeouts
as threading.Lock and filelock read them; pickling and fork."""
from __future__ import annotations

import sys

import pytest

if sys.platform == "win32":
    pytest.skip("POSIX only: flock(2) locks as flock(1), fcntl.flock and filelock's UnixFileLock take them; Windows has one kind of file lock (LockFileEx), tested by test_flock",
                allow_module_level=True)

import fcntl
import os
import pickle
import shutil
import subprocess
import threading
import time

import lipc

filelock = pytest.importorskip("filelock")  # scripts/deps.sh installs it

needs_flock1 = pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) (util-linux) is missing")


@pytest.fixture
def path(tmp_path: "os.PathLike[str]") -> str:
    p = os.path.join(os.fspath(tmp_path), "lockfile")
    open(p, "wb").close()
    return p


def _fd_flock_free(path: str, op: int = fcntl.LOCK_EX) -> bool:
    """Whether a plain fcntl.flock on a fresh fd gets the file now."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_flock_kind_meets_the_filelock_package_both_ways(path: str) -> None:
    mine = lipc.FileLock(path, kind="flock")
    theirs = filelock.FileLock(path)
    try:
        assert mine.acquire(blocking=False)
        with pytest.raises(filelock.Timeout):
            theirs.acquire(timeout=0.05)
        mine.release()
        theirs.acquire(timeout=5)
        assert mine.acquire(timeout=0.05) is False
        theirs.release()
        assert mine.acquire(timeout=5)
    finally:
        mine.close()


def test_a_filelock_holder_s_release_reaches_a_lipc_waiter(path: str) -> None:
    theirs = filelock.FileLock(path, thread_local=False)  # released by the timer's thread
    theirs.acquire()
    t = threading.Timer(0.1, theirs.release)
    t.start()
    with lipc.FileLock(path, kind="flock", timeout=20) as mine:
        assert mine.locked() and not _fd_flock_free(path)
    t.join()


def test_the_fcntl_kind_does_not_meet_flock_locks(path: str) -> None:
    # The default kind is a byte-range lock: Linux keeps the two apart.
    theirs = filelock.FileLock(path)
    with theirs:
        with lipc.FileLock(path, timeout=0) as mine:
            assert mine.locked()
    with lipc.FileLock(path, kind="flock"):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # lockf is fcntl: apart
            assert not _fd_flock_free(path)
        finally:
            os.close(fd)
    assert _fd_flock_free(path)


@needs_flock1
def test_flock_kind_meets_flock1(path: str) -> None:
    # lipc holds: flock(1) -n fails, then flock(1) -w gets it after release.
    with lipc.FileLock(path, kind="flock"):
        assert subprocess.run(["flock", "-n", path, "true"]).returncode == 1
        assert subprocess.run(["flock", "-n", "-s", path, "true"]).returncode == 1
    assert subprocess.run(["flock", "-n", path, "true"]).returncode == 0
    with lipc.FileLock(path, exclusive=False, kind="flock"):
        assert subprocess.run(["flock", "-n", "-s", path, "true"]).returncode == 0  # shared with shared
        assert subprocess.run(["flock", "-n", path, "true"]).returncode == 1
    # flock(1) holds: lipc waits for it.
    p = subprocess.Popen(["flock", path, "sh", "-c", "echo held; sleep 0.3"], stdout=subprocess.PIPE)
    try:
        assert p.stdout is not None and p.stdout.readline() == b"held\n"
        lock = lipc.FileLock(path, kind="flock")
        assert lock.acquire(blocking=False) is False
        assert lock.acquire(timeout=20)
        assert p.wait(20) == 0
        lock.close()
    finally:
        p.kill()
        p.wait()
        if p.stdout:
            p.stdout.close()


def test_threads_with_their_own_flock_locks_exclude_each_other(path: str) -> None:
    count, inside, errors = [0], [0], []

    def work() -> None:
        with lipc.FileLock(path, kind="flock", timeout=30):
            inside[0] += 1
            if inside[0] != 1:
                errors.append(inside[0])
            time.sleep(0.001)
            inside[0] -= 1
            count[0] += 1

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert count[0] == 8 and not errors


def test_flock_kind_bad_input_and_modes(path: str) -> None:
    with pytest.raises(ValueError, match="whole-file"):
        lipc.FileLock(path, kind="flock", offset=1)
    with pytest.raises(ValueError, match="whole-file"):
        lipc.FileLock(path, kind="flock", length=10)
    with pytest.raises(ValueError, match="classic"):
        with open(path, "rb") as f:
            lipc.FileLock(f, kind="flock", classic=True)
    with pytest.raises(ValueError, match="kind"):
        lipc.FileLock(path, kind="lockf")  # type: ignore[arg-type]
    os.chmod(path, 0o444)  # an exclusive flock needs no write access
    try:
        with lipc.FileLock(path, kind="flock", create=False) as lock:
            assert lock.is_locked and "flock" in repr(lock)
    finally:
        os.chmod(path, 0o644)
    with open(path, "rb") as f:  # from a file object: a lock of its own
        lock = lipc.FileLock(f, kind="flock")
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)
        assert lock.acquire(blocking=False) is False
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        assert lock.acquire(blocking=False)
        lock.close()


@pytest.mark.parametrize("kind", ["fcntl", "flock"])
def test_negative_timeouts_wait_forever_as_threading_and_filelock(path: str, kind: str) -> None:
    holder = lipc.FileLock(path, kind=kind)  # type: ignore[arg-type]
    waiter = lipc.FileLock(path, kind=kind, timeout=-1)  # type: ignore[arg-type]
    assert waiter.timeout is None
    holder.acquire()
    t = threading.Timer(0.2, holder.release)
    t.start()
    assert waiter.acquire(timeout=-1)
    waiter.release()
    assert waiter.acquire(blocking=False, timeout=-1)  # threading.Lock's default -1 is allowed
    waiter.release()
    with pytest.raises(ValueError):
        waiter.acquire(blocking=False, timeout=1)
    t.join()
    holder.close()
    waiter.close()


def test_flock_kind_pickles_with_its_kind(path: str) -> None:
    lock = lipc.FileLock(path, kind="flock", exclusive=False)
    copy = pickle.loads(pickle.dumps(lock))
    try:
        assert copy.kind == "flock" and not copy.exclusive and copy is not lock
        assert lock.acquire(blocking=False) and copy.acquire(blocking=False)  # shared + shared
        assert not _fd_flock_free(path) and _fd_flock_free(path, fcntl.LOCK_SH)
    finally:
        lock.close()
        copy.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_child_s_flock_lock_is_its_own(path: str) -> None:
    # A plain flock fd shares its lock with a fork child (one description);
    # lipc's child opens the file again at its first lock, so the parent's
    # lock excludes it, and the parent's release lets it in.
    lock = lipc.FileLock(path, kind="flock")
    assert lock.acquire()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            if lock.acquire(blocking=False) is False:
                os.write(w, b"A")
                code = 0 if lock.acquire(timeout=10) else 2
        finally:
            os._exit(code)
    try:
        assert os.read(r, 1) == b"A"
        lock.release()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert lock.acquire(timeout=5)  # the child's lock went with it
    finally:
        os.close(r)
        os.close(w)
        lock.close()
