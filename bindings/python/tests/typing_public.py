"""The public API's types, as a user's type checker sees them: mypy checks
this file with the package (mypy.ini); it is never run. A change that makes
a public type vaguer (Any) or wrong fails the "python types" stage."""
from __future__ import annotations

import socket
from typing import List, Optional, Tuple

from typing_extensions import assert_type

import lipc


def public_types(sock: socket.socket, fd: int) -> None:
    assert_type(lipc.version(), str)
    assert_type(lipc.quote_sh("it's"), str)
    assert_type(lipc.quote_win(b"a b"), bytes)
    assert_type(lipc.quote_cmd("x"), str)
    assert_type(lipc.getenv("HOME"), Optional[str])
    assert_type(lipc.environ_list(), List[str])
    # wait_fds hands back each fd as it was given
    assert_type(lipc.wait_fds([(sock, lipc.WAIT_READ)], 0), List[Tuple[socket.socket, int]])
    assert_type(lipc.wait_fds({fd: lipc.WAIT_READ}, 0), List[Tuple[int, int]])

    sem = lipc.Semaphore("t", create=True)
    assert_type(sem.acquire(timeout=0.1), bool)
    assert_type(sem.value, int)
    m = lipc.Mutex("t", create=True)
    assert_type(m.acquire(timeout=0.1), bool)
    assert_type(m.owner_died, bool)
    ev = lipc.Event("t", create=True)
    assert_type(ev.wait(0.1), bool)
    assert_type(ev.is_set(), bool)

    shm = lipc.SharedMemory("t", create=True, size=4096)
    assert_type(shm.buf, memoryview)
    assert_type(shm.refresh(), int)
    with shm.file() as f:
        assert_type(f, lipc.MemoryFile)
        assert_type(f.read(4), bytes)
        assert_type(f.write(b"abcd"), int)
        assert_type(f.readinto(bytearray(4)), int)
    with lipc.MappedFile("/tmp/x", "w") as mf:
        assert_type(mf.buf, memoryview)
        assert_type(mf.size, int)

    lipc.FileLock(sock)                  # an object with fileno()
    lipc.FileLock(fd)
    lipc.FileLock("/tmp/x.lock")
    with lipc.FileLock(b"/tmp/x.lock") as lock:
        assert_type(lock, lipc.FileLock)
        assert_type(lock.acquire(timeout=1), bool)
