"""Named semaphores shared between processes, with threading.Semaphore's
methods. A lipc semaphore "x" is the POSIX named semaphore sem_open("/x"),
so plain C programs can share it."""
from __future__ import annotations

import operator
import os
from ctypes import ArgumentError, byref, c_int, c_int64
from types import TracebackType
from typing import Any, Optional, Type

from . import _const
from ._errors import _check, _raise
from ._handle import _Handle
from ._lib import lib as _c, quick as _q
from ._cint import to_uint32
from ._named import Name, check_mode, cname, remember, reopen
from ._timeout import deadline, retry_eintr

_VALUE_MAX = 2**31 - 1
_UINT32_MAX = 2**32 - 1
_ONE = 1  # release()'s default, compared by identity: any other n takes the checked path
_wait, _post_n = _c.lipc_sem_wait, _c.lipc_sem_post_n
# Never block: made with the GIL held (lipc._lib.QUICK); _try_wait only with timeout 0.
_try_wait, _post, _value = _q.lipc_sem_wait, _q.lipc_sem_post, _q.lipc_sem_value


def _cname(name: Name) -> bytes:
    return cname(name, "semaphore name")


def unlink_semaphore(name: Name) -> None:
    """Removes the semaphore's name; handles already open keep working.
    NotFoundError (a FileNotFoundError) if there is none."""
    _check(_c.lipc_sem_unlink(_cname(name)), "sem_unlink")


class Semaphore(_Handle):
    """A named counting semaphore shared between processes.

    ``Semaphore(name)`` opens an existing one (NotFoundError if missing);
    ``create=True`` creates it if missing, with ``initial`` value (1 by
    default, as threading.Semaphore() and multiprocessing.Semaphore()
    start, so ``with Semaphore(name, create=True):`` lets one in; pass
    ``initial=0`` for a semaphore that counts events, as C's sem_open and
    posix_ipc's default do) and
    permission bits ``mode`` (0 means 0o600, as in C; the umask applies);
    ``exclusive=True`` (with create) fails with ExistsError if it exists;
    ``unlink_on_close`` removes the name when this handle, if it created
    it, closes. An existing semaphore of another user raises
    PermissionDeniedError unless ``trust_foreign=True``; one that is not a
    valid semaphore raises InvalidArgumentError.

    ``acquire``, ``release`` and ``with sem:`` work as in threading.Semaphore
    (a negative timeout, too, is a try). ``with`` does not close it: call
    ``close()`` (or use contextlib.closing).
    """

    def __init__(self, name: Name, create: bool = False, exclusive: bool = False,
                 initial: int = 1, mode: int = 0o600, unlink_on_close: bool = False,
                 trust_foreign: bool = False) -> None:
        cname = _cname(name)
        initial, mode = to_uint32(initial, "initial"), check_mode(mode)
        if exclusive and not create:
            raise ValueError("exclusive=True needs create=True")
        if initial > _VALUE_MAX:
            raise ValueError(f"initial must be in 0..2**31-1, not {initial}")
        flags = ((_const.CREATE if create else 0) | (_const.EXCL if exclusive else 0) |
                 (_const.UNLINK_ON_CLOSE if unlink_on_close else 0) |
                 (_const.TRUST_FOREIGN if trust_foreign else 0))
        h = c_int64()
        _check(_c.lipc_sem_open(cname, flags, mode, initial, byref(h)), "sem_open")
        self._name = name if isinstance(name, str) else os.fsdecode(name)
        self._own_out()  # the getter's out-parameter (lipc._handle)
        super().__init__(h.value)
        self._trust = bool(trust_foreign)
        remember(self, (type(self), self._name))

    def __reduce__(self) -> Any:
        """Pickles by name: see lipc._named (multiprocessing workers)."""
        self._handle()  # a closed one does not pickle (ValueError)
        return reopen, ((type(self), self._name), (self._name,), {"trust_foreign": self._trust})

    @property
    def name(self) -> str:
        """The name as given."""
        return self._name

    @property
    def value(self) -> int:
        """The current value (a snapshot: other processes may change it)."""
        v = self._out  # see lipc._handle
        try:
            rc = _value(self._ch, v)  # the c_int goes by reference (POINTER(c_int)): no byref object
        except ArgumentError:  # closed: _ch is None (see lipc._handle)
            raise self._closed_error() from None
        if rc:
            _raise(rc, "sem_value")
        return v.value

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Decrements the semaphore, waiting while it is zero: forever, for
        ``timeout`` seconds, or not at all (``blocking=False``, or a timeout
        of 0 or less, as threading.Semaphore). Returns True when acquired,
        False when the time ran out. Signal handlers run during the wait
        (Ctrl-C raises KeyboardInterrupt promptly)."""
        if blocking and timeout is None:
            # The fast path: one try, no clock read, when it is free.
            try:
                rc = _try_wait(self._ch, 0)
            except ArgumentError:  # closed
                raise self._closed_error() from None
            if rc == 0:
                return True
            if rc == _const.EAGAIN or rc == _const.EINTR:
                rc = retry_eintr(self._wait_ms, None, rc == _const.EINTR)
        else:
            self._handle()  # a closed one raises ValueError, whatever the arguments
            if not blocking:
                if timeout is not None:
                    raise ValueError("can't specify timeout for non-blocking acquire")
                timeout = 0
            elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < 0:
                timeout = 0  # threading.Semaphore: a deadline already passed
            rc = retry_eintr(self._wait_ms, deadline(timeout))
        if rc == 0:
            return True
        if rc in (_const.ETIMEDOUT, _const.EAGAIN):
            return False
        _raise(rc, "sem_wait")

    def _wait_ms(self, ms: int) -> Any:  # the C call's int (ctypes: Any)
        # A method, not a lambda in acquire: a closure over self would make
        # self a cell, which every acquire pays for, fast path included.
        return _wait(self._handle(), ms)

    def release(self, n: int = 1) -> None:
        """Adds n to the semaphore in one step, waking up to n waiters, as
        threading.Semaphore.release(n) does. n is an integer: TypeError
        otherwise, ValueError below 1 (as threading's), OverflowError above
        2**32-1; OutOfRangeError (a ValueError) if the value would pass
        2**31-1, in which case nothing is added."""
        if n is _ONE:  # the fast path (the default, and any 1 CPython caches): one call
            try:
                rc = _post(self._ch)
            except ArgumentError:  # closed
                raise self._closed_error() from None
            if rc:
                _raise(rc, "sem_post")
            return
        h = self._handle()
        try:
            n = operator.index(n)
        except TypeError:
            raise TypeError(f"n must be an integer, not {type(n).__name__}") from None
        if n < 1:
            raise ValueError("n must be one or more")
        if n > _UINT32_MAX:
            raise OverflowError(f"n {n} does not fit a C uint32_t (0..{_UINT32_MAX})")
        rc = _post(h) if n == 1 else _post_n(h, n)
        if rc:
            _raise(rc, "sem_post" if n == 1 else "sem_post_n")

    def unlink(self) -> None:
        """Removes this semaphore's name (allowed after close())."""
        unlink_semaphore(self._name)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, t: Optional[Type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _repr_detail(self) -> str:
        return f"name={self._name!r} "

    def __repr__(self) -> str:
        # threading.Semaphore's shape: <threading.Semaphore at 0x...: value=1>
        return self._state_repr("<{cls} at {at} {what}: {state}>", lambda: f"value={self.value}")
