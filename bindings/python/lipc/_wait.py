"""wait_fds: wait for file descriptors with lipc_wait_fds, the C wait that
every blocking lipc call shares (it sleeps in C with the GIL released)."""
from __future__ import annotations

import operator
from ctypes import byref, c_int
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

from . import _const
from ._cint import to_int
from ._errors import _check
from ._lib import lib as _c
from ._osfd import WINDOWS, to_lipc
from ._timeout import deadline, retry_eintr
from ._types import FileDescriptorLike

_MAX_FDS = 4096  # the C limit, checked here to give a Python error
_ASKABLE = _const.WAIT_READ | _const.WAIT_WRITE

# Each fd is handed back as it was given: an int, or an object with fileno().
FdLike = TypeVar("FdLike", bound=FileDescriptorLike)


def _fileno(obj: FileDescriptorLike) -> int:
    if isinstance(obj, int) and not isinstance(obj, bool):
        return operator.index(obj)
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        raise TypeError(f"expected an int or an object with fileno(), not {type(obj).__name__}")
    return operator.index(fileno())


def wait_fds(fds: Union[Mapping[FdLike, int], Iterable[Tuple[FdLike, int]]],
             timeout: Optional[float] = None) -> List[Tuple[FdLike, int]]:
    """Waits until any of the descriptors is ready, or timeout seconds pass.

    ``fds`` is a mapping or an iterable of ``(fd, events)`` pairs: fd an int
    or an object with ``fileno()`` (negative ints are ignored), events
    ``WAIT_READ | WAIT_WRITE``. Returns ``[(fd, revents), ...]`` for the
    ready ones, each fd as it was given and revents may add ``WAIT_HUP`` and
    ``WAIT_ERR``; returns ``[]`` when the timeout passes (as select does).
    ``timeout`` None waits forever; an empty ``fds`` is a plain sleep.
    Signals interrupt the wait so their handlers run; it then goes on with
    the time that remains.
    """
    items: Sequence[Tuple[FdLike, int]] = list(fds.items() if isinstance(fds, Mapping) else fds)
    n = len(items)
    if n > _MAX_FDS:
        raise ValueError(f"wait_fds: {n} descriptors, at most {_MAX_FDS}")
    fd_arr, ev_arr, rev_arr = (c_int * n)(), (c_int * n)(), (c_int * n)()
    for i, (obj, events) in enumerate(items):
        # A c_int array would silently keep the low bits of anything wider.
        fd = to_int(_fileno(obj), "wait_fds: fd")
        # On Windows a Python fd is a C-runtime fd: lipc waits on its HANDLE
        # (a negative fd stays negative: ignored). Internal callers pass a
        # HANDLE lipc gave (a process's) with _lipc_fd set.
        if WINDOWS and fd >= 0 and not getattr(obj, "_lipc_fd", False):
            fd = to_lipc(fd, "wait_fds: fd")
        fd_arr[i] = fd
        events = to_int(events, "wait_fds: events")
        if events & ~_ASKABLE:
            raise ValueError(f"wait_fds: events {events:#x}: only WAIT_READ and WAIT_WRITE can be asked for")
        ev_arr[i] = events
    nready = c_int()
    rc = retry_eintr(
        lambda ms: _c.lipc_wait_fds(fd_arr, ev_arr, rev_arr, n, ms, byref(nready)),
        deadline(timeout))
    if rc == _const.ETIMEDOUT:
        return []
    _check(rc, "wait_fds")
    return [(items[i][0], rev_arr[i]) for i in range(n) if rev_arr[i]]
