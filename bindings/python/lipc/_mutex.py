"""Named robust mutexes shared between processes, with threading.Lock's
methods (acquire, release, locked, ``with``), which behave as threading.Lock's
do except where said below.

A lipc mutex is glibc's process-shared robust pthread mutex in
/dev/shm/lipc.mutex.NAME. Ownership belongs to the locking *thread*, as
with threading.RLock: only that thread may release it.

How a dead owner is reported: when a process (or thread) died holding the
mutex, the next ``acquire()`` still succeeds and returns True -- the lock
IS held -- and sets ``m.owner_died`` to True. Repair the state the mutex
protects, call ``m.consistent()``, then ``release()``. Releasing without
``consistent()`` makes the mutex unusable for everyone (later acquires raise
NotRecoverableError) until it is unlinked and created again. ``owner_died``
describes the latest acquire through this object and is cleared by
``consistent()`` and by the next acquire::

    with m:                      # acquire(); release() at the end
        if m.owner_died:
            repair_shared_state()
            m.consistent()
        ...

As threading.Lock: ``acquire(timeout=-1)`` (the default) and
``acquire(timeout=None)`` wait forever, another negative timeout is a
ValueError, ``acquire(blocking=False)`` and ``acquire(timeout=0)`` by the
thread that holds the mutex return False, ``locked()`` says whether any
thread (of any process) holds it now. Where it differs, on purpose:

- a *waiting* acquire by the thread that holds it raises BusyError at once
  (it is not recursive): threading.Lock would deadlock, or sleep out the
  timeout and return False, since only this thread could release it;
- releasing a mutex this thread does not hold raises NotOwnerError (a
  PermissionError and a RuntimeError, as threading.RLock's release raises
  RuntimeError): ownership is the locking thread's, as for RLock, because
  the mutex is robust (the kernel must know whom it belongs to when that
  thread dies).
"""
from __future__ import annotations

import errno as _errno
from ctypes import ArgumentError, byref, c_int, c_int64
from types import TracebackType
from typing import Any, Optional, Type

from . import _const
from ._errors import Error, PermissionDeniedError, _check, _raise
from ._handle import _Handle
from ._lib import lib as _c, quick as _q
from ._named import Name, as_str, check_mode, cname, open_flags, remember, reopen
from ._timeout import deadline, retry_eintr

_FOREVER_VALUES = (None, -1)

__all__ = ["Mutex", "unlink_mutex", "NotOwnerError", "NotRecoverableError"]


class NotOwnerError(PermissionDeniedError, RuntimeError):
    """release() by a thread that does not hold the mutex (LIPC_EPERM);
    nothing changed."""


class NotRecoverableError(Error):
    """An owner died and its successor released the mutex without
    consistent(): unusable until unlinked and created again
    (ENOTRECOVERABLE)."""


_NOT_RECOVERABLE = _const.EOS_BASE - _errno.ENOTRECOVERABLE
_LOCK_ERRORS = {_NOT_RECOVERABLE: NotRecoverableError}
_UNLOCK_ERRORS = {_const.EPERM: NotOwnerError}
_lock = _c.lipc_mutex_lock
# Never block: made with the GIL held (lipc._lib.QUICK); _try_lock only with timeout 0.
_try_lock, _unlock, _locked = _q.lipc_mutex_lock, _q.lipc_mutex_unlock, _q.lipc_mutex_locked
_FOREVER: Optional[float] = -1  # acquire's default timeout; the same int object whenever it is the default


def unlink_mutex(name: Name) -> None:
    """Removes the mutex's name; handles already open keep working.
    NotFoundError (a FileNotFoundError) if there is none."""
    _check(_c.lipc_mutex_unlink(cname(name, "mutex name")), "mutex_unlink")


class Mutex(_Handle):
    """A named robust mutex shared between processes.

    ``Mutex(name)`` opens an existing one (NotFoundError if missing);
    ``create=True`` creates it if missing with permission bits ``mode``;
    ``exclusive=True`` (with create) fails with ExistsError if it exists;
    ``unlink_on_close`` removes the name when this handle, if it created
    it, closes; ``trust_foreign`` opens another user's mutex (see
    lipc._named). ``with m:`` acquires and releases (it does not close).

    Closing while a thread of this process holds it leaves it locked until
    that thread exits (then the next locker sees owner_died): release first.
    """

    def __init__(self, name: Name, create: bool = False, exclusive: bool = False,
                 mode: int = 0o600, unlink_on_close: bool = False,
                 trust_foreign: bool = False) -> None:
        c = cname(name, "mutex name")
        flags = open_flags(create, exclusive, unlink_on_close, trust_foreign)
        h = c_int64()
        _check(_c.lipc_mutex_open(c, flags, check_mode(mode), byref(h)), "mutex_open")
        self._name = as_str(name)
        # Passed as it is: ctypes takes a c_int for a POINTER(c_int)
        # parameter by reference, 100 ns a call faster than a byref()
        # object (issue 12). It is also what owner_died reads.
        self._died = c_int()
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
    def owner_died(self) -> bool:
        """True when the latest acquire through this object got the mutex
        from an owner that died holding it (see above); cleared by
        consistent() and by the next acquire. It reads the flag the C call
        wrote (lipc_mutex_lock writes it when, and only when, it locks), so
        an acquire stores nothing (an attribute set on every acquire was
        5% of an acquire+release pair, issue 12)."""
        return self._died.value != 0

    @owner_died.setter
    def owner_died(self, value: bool) -> None:
        self._died.value = 1 if value else 0

    def acquire(self, blocking: bool = True, timeout: Optional[float] = -1) -> bool:
        """Locks, waiting forever (timeout -1, the default, or None), for
        ``timeout`` seconds, or not at all (``blocking=False``). True when
        locked (check ``owner_died``), False when the time ran out or, for
        a try, when it is held (by this thread too). Signal handlers run
        during the wait (Ctrl-C raises KeyboardInterrupt promptly, without
        the lock). BusyError for a waiting acquire by the thread that holds
        it; NotRecoverableError (see above). ValueError for a negative
        timeout other than -1, and for a timeout with ``blocking=False``,
        as threading.Lock. A huge timeout (inf included) waits forever, as
        every lipc wait does, where threading.Lock raises OverflowError."""
        # The C call writes *owner_died only when it locks, and only the
        # thread that locked can succeed until it releases, so one c_int
        # per object serves every thread.
        died = self._died
        if blocking is True and timeout is _FOREVER:  # the defaults: checked first, as fast as can be
            forever = True
        else:
            forever = timeout is None or (timeout == -1 and type(timeout) in (int, float))
        if blocking and forever:
            # The fast path: one try, no clock read, when it is free.
            try:
                rc = _try_lock(self._ch, 0, died)
            except ArgumentError:  # closed: _ch is None (see lipc._handle)
                raise self._closed_error() from None
            if rc == 0:
                return True
            if rc == _const.EAGAIN or rc == _const.EINTR:
                rc = retry_eintr(self._lock_ms, None, rc == _const.EINTR)
        else:
            self._handle()  # a closed one raises ValueError, whatever the arguments
            if not blocking:
                if not forever:
                    raise ValueError("can't specify a timeout for a non-blocking call")
                timeout = 0
            elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < 0:
                raise ValueError("timeout value must be a non-negative number or -1 (forever)")
            rc = retry_eintr(self._lock_ms, deadline(timeout))
        if rc == 0:
            return True
        if rc in (_const.ETIMEDOUT, _const.EAGAIN):
            return False
        _raise(rc, "mutex_lock", _LOCK_ERRORS)

    def _lock_ms(self, ms: int) -> Any:  # the C call's int (ctypes: Any)
        # A method, not a lambda in acquire: a closure over self and died
        # would make them cells, which every acquire pays for, fast path
        # included.
        return _lock(self._handle(), ms, self._died)

    def release(self) -> None:
        """Unlocks. NotOwnerError if this thread does not hold it."""
        try:
            rc = _unlock(self._ch)
        except ArgumentError:  # closed
            raise self._closed_error() from None
        if rc:
            _raise(rc, "mutex_unlock", _UNLOCK_ERRORS)

    def locked(self) -> bool:
        """Whether some thread, of any process, holds the mutex now (a
        snapshot, as threading.Lock.locked()). A mutex whose owner died
        holding it reads as free: the next acquire gets it (owner_died)."""
        v = self._out  # see lipc._handle
        try:
            rc = _locked(self._ch, v)  # the c_int goes by reference (POINTER(c_int)): no byref object
        except ArgumentError:  # closed: _ch is None (see lipc._handle)
            raise self._closed_error() from None
        if rc:
            _raise(rc, "mutex_locked")
        return v.value != 0

    def consistent(self) -> None:
        """After an acquire that set ``owner_died``: marks the protected
        state repaired (clears ``owner_died``). InvalidArgumentError when the
        lock is not held after an owner died."""
        _check(_c.lipc_mutex_consistent(self._handle()), "mutex_consistent")
        self.owner_died = False

    def unlink(self) -> None:
        """Removes this mutex's name (allowed after close())."""
        unlink_mutex(self._name)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, t: Optional[Type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _repr_detail(self) -> str:
        return f"name={self._name!r} "

    def __repr__(self) -> str:
        # threading.Lock's shape: <unlocked _thread.lock object at 0x...>
        return self._state_repr("<{state} {cls} object {what} at {at}>",
                                lambda: "locked" if self.locked() else "unlocked")
