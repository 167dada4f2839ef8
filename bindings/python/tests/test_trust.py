"""Named objects another user made (or planted), objects that are not
valid, the trust_foreign flag, the umask, and auto-reset events releasing
one blocked waiter per set (issue 9)."""
from __future__ import annotations

import sys

import pytest

if sys.platform == "win32":
    pytest.skip("POSIX only: objects of another user in /dev/shm, file modes and the umask (Windows named objects take the creator session's default security and ignore mode); the auto-reset case is test_event's and test_threading_parity's too",
                allow_module_level=True)

import contextlib
import os
import platform
import stat
import threading
import time

import lipc

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: gives files to another user (nobody)")

PATHS = {
    "sem": "/dev/shm/sem.{}",
    "mutex": "/dev/shm/lipc.mutex.{}",
    "event": "/dev/shm/lipc.event.{}",
    "shm": "/dev/shm/{}",
}


def open_kind(kind, name, **kw):
    if kind == "sem":
        if kw.get("create"):
            kw.setdefault("initial", 0)
        return lipc.Semaphore(name, **kw)
    if kind == "mutex":
        return lipc.Mutex(name, **kw)
    if kind == "event":
        return lipc.Event(name, **kw)
    if kw.get("create"):
        kw.setdefault("size", 64)
    return lipc.SharedMemory(name, **kw)


def plant(path, data):
    """Writes path as user nobody would have: mode 0666, owned by nobody."""
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o666)
    os.chown(path, NOBODY, NOBODY)


@needs_root
@pytest.mark.parametrize("kind", sorted(PATHS))
def test_planted_by_another_user_is_refused(kind, name):
    path = PATHS[kind].format(name)
    plant(path, b"\xff" * (32 if kind == "sem" else 64))
    with pytest.raises(lipc.PermissionDeniedError) as ei:
        open_kind(kind, name, create=True)
    assert isinstance(ei.value, PermissionError) and "uid 65534" in str(ei.value)
    if kind == "shm":
        with contextlib.closing(open_kind(kind, name, trust_foreign=True)) as s:
            assert bytes(s.buf[:4]) == b"\xff" * 4
    else:
        with pytest.raises(lipc.InvalidArgumentError, match="is not a valid"):
            open_kind(kind, name, create=True, trust_foreign=True)
    with open(path, "rb") as f:
        assert set(f.read()) == {0xff}


@needs_root
@pytest.mark.parametrize("kind", sorted(PATHS))
def test_trust_foreign_opens_a_valid_object_of_another_user(kind, name):
    with contextlib.closing(open_kind(kind, name, create=True, mode=0o666)):
        pass
    os.chown(PATHS[kind].format(name), NOBODY, NOBODY)
    with pytest.raises(lipc.PermissionDeniedError):
        open_kind(kind, name)
    with contextlib.closing(open_kind(kind, name, trust_foreign=True)) as o:
        if kind == "sem":
            o.release(2)
            assert o.acquire(timeout=0) and o.value == 1
        elif kind == "mutex":
            assert o.acquire(timeout=1)
            o.release()
        elif kind == "event":
            o.set()
            assert o.wait(0)
        else:
            o.buf[0] = 7


@pytest.mark.parametrize("kind,data", [
    ("sem", b"\xff" * 32),
    ("sem", b"\x00" * 32),  # "private" 0: not process-shared
    ("sem", b"\x00" * 10),
    ("mutex", b"\x00" * 64),
    ("event", b"\x00" * 64),
    ("event", b"\x00" * 8 + b"1vel" + b"\x00" * 52),  # lipc 0.1.0's event
])
def test_invalid_objects_are_refused(kind, data, name):
    path = PATHS[kind].format(name)
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(lipc.InvalidArgumentError) as ei:
        open_kind(kind, name, create=True)
    assert isinstance(ei.value, ValueError)


@pytest.mark.parametrize("kind", sorted(PATHS))
def test_a_directory_under_the_name_is_refused(kind, name):
    os.mkdir(PATHS[kind].format(name))
    try:
        with pytest.raises(lipc.InvalidArgumentError, match="directory"):
            open_kind(kind, name, create=True)
    finally:
        os.rmdir(PATHS[kind].format(name))


@pytest.mark.parametrize("kind", sorted(PATHS))
def test_mode_goes_through_the_umask(kind, name):
    old = os.umask(0o027)
    try:
        with contextlib.closing(open_kind(kind, name, create=True, mode=0o666)):
            assert stat.S_IMODE(os.stat(PATHS[kind].format(name)).st_mode) == 0o640
    finally:
        os.umask(old)


def test_garbage_after_open_raises_instead_of_aborting(name):
    with contextlib.closing(lipc.Semaphore(name, create=True, initial=0)) as s:
        with open(PATHS["sem"].format(name), "r+b") as f:
            f.write(b"\xff" * 32)
        for call in (s.release, lambda: s.acquire(timeout=0.1), lambda: s.value):
            with pytest.raises(lipc.InvalidArgumentError, match="not a valid semaphore"):
                call()


_SYS_FUTEX = {"x86_64": 202, "aarch64": 98}.get(platform.machine())


def asleep_in_futex(tid: int) -> bool:
    """Whether thread tid of this process is blocked in a shared futex wait
    (FUTEX_WAIT_BITSET, what lipc's waits use) right now."""
    try:
        with open(f"/proc/self/task/{tid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    return len(fields) >= 3 and fields[0] == str(_SYS_FUTEX) and int(fields[2], 16) == 9


@pytest.mark.skipif(_SYS_FUTEX is None, reason="futex syscall number unknown on this machine")
def test_auto_reset_releases_one_blocked_waiter_per_set(name):
    """Three threads (each with its own mapping) blocked in wait, three
    back-to-back set() calls: all three wake, round after round; a wait
    begun after the sets takes none of their releases."""
    ev = lipc.Event(name, create=True, manual_reset=False)
    handles = [lipc.Event(name) for _ in range(3)]
    try:
        for _ in range(100):
            woke, tids = [], []

            def waiter(h):
                tids.append(threading.get_native_id())
                woke.append(h.wait(20))

            threads = [threading.Thread(target=waiter, args=(h,)) for h in handles]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            while not (len(tids) == 3 and all(asleep_in_futex(t) for t in tids)):
                assert time.monotonic() < deadline, "the waiters never blocked"
                time.sleep(0.0005)
            ev.set()
            ev.set()
            ev.set()
            assert ev.wait(0.001) is False
            for t in threads:
                t.join(30)
            assert woke == [True, True, True]
            assert not ev.is_set()
    finally:
        for h in handles + [ev]:
            h.close()
