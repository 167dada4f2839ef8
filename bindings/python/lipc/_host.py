"""Host integration and diagnostics: the call mode, lipc_diag, and the pure-C
version and error-text functions (these keep working after os.fork())."""
from __future__ import annotations

from ctypes import byref, c_int, c_int64, c_size_t
from typing import List

from ._cint import to_int
from ._const import DIAG_CALL_MODE
from ._errors import _check
from ._lib import lib as _c


def version() -> str:
    """The library's version string, e.g. "0.1.0". Works after fork."""
    v: bytes = _c.lipc_version()
    return v.decode("ascii")


def set_call_mode(mode: int) -> None:
    """CALL_DIRECT (the default: Python threads run lipc's Go code
    themselves, ~100 ns) or CALL_HANDOFF (Go work is handed to lipc-owned
    threads, tens of microseconds). Process-wide. Waits run in C either way."""
    _check(_c.lipc_set_call_mode(to_int(mode, "mode")), "set_call_mode")


def call_mode() -> int:
    """The current CALL_* mode."""
    return diag(DIAG_CALL_MODE)


def diag(what: int) -> int:
    """The diagnostic figure ``what`` (a DIAG_* constant) names."""
    v = c_int64()
    _check(_c.lipc_diag(to_int(what, "what"), byref(v)), "diag")
    return v.value



def runtime_fds() -> List[int]:
    """The file descriptors lipc holds open that no lipc object of yours
    stands for: the Go runtime's, for the life of the process (its poller's
    epoll fd and eventfd; the cgroup files it re-reads), and the pidfds of
    children whose Process was closed while they ran (lipc reaps them).
    A daemon that closes every fd above 2 after ``import lipc`` must spare
    them, or the runtime aborts the process at its next poll; ask right
    before the close. A daemon that forks as it detaches cannot use lipc
    afterwards (ForkedError): python-daemon with ``detach_process=False``
    and ``files_preserve=lipc.runtime_fds()``, or import lipc inside the
    DaemonContext. Those closed already are not listed. [] on Windows.
    Works after fork."""
    n = c_size_t()
    while True:
        room = n.value
        fds = (c_int * max(room, 1))()
        _check(_c.lipc_runtime_fds(fds, room, byref(n)), "runtime_fds")
        if n.value <= room:
            return list(fds[:n.value])
