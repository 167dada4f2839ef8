"""File locks, shared or exclusive, as a context manager with a timeout (the
shape of the filelock package, with threading.Lock's acquire/release):

    with lipc.FileLock("/var/tmp/app.lock", timeout=5):   # TimedOutError after 5 s
        ...

``FileLock(target, exclusive=True, timeout=None, offset=0, length=0, *,
kind="fcntl", classic=False, create=True, mode=0o644)``:

- ``kind`` picks one of two families of lock that Linux keeps apart
  (neither excludes the other), so pick the one the other programs use:

  - ``"fcntl"`` (the default): byte-range locks. They meet fcntl.lockf,
    C's lockf and fcntl(F_SETLK), SQLite, Perl's fcntl locks, and lipc's
    default locks in C, LuaJIT and Lisp.
  - ``"flock"``: whole-file flock(2) locks. They meet the ``filelock``
    package (its FileLock and UnixFileLock), fcntl.flock, flock(1) from
    util-linux (``flock /var/tmp/app.lock cmd``), Perl's flock. No range
    (offset and length stay 0), and any access mode will do.

- ``target`` is a path (opened for locking, created if missing unless
  ``create=False``) or an open file: a file object or an fd. A file
  object is kept referenced while the lock exists.
- The locks belong to this FileLock (Linux open-file-description locks):
  two FileLock objects exclude each other, in this process (threads) as in
  others, and closing some other fd of the file does not drop them. A
  FileLock is not a counter and not shared between threads: acquiring it
  again just succeeds. Give each thread its own FileLock.
- ``classic=True`` (an open file only) uses the process's classic fcntl
  locks on that fd instead, for code that must interoperate with
  fcntl.lockf: a second lock of the same process always succeeds, closing
  ANY fd of the file in this process drops them, and close() of this
  object does not (release() does).
- The kernel releases the locks of a process that dies, however it dies.
- [offset, offset+length) is the range; length 0 means to the end of the
  file, however far it grows. Exclusive locks need the file open for
  writing, shared ones for reading.

acquire(blocking=True, timeout=...) -> bool as threading.Lock (the default
timeout is the one given at construction); a negative timeout waits
forever, as threading.Lock's -1 and filelock's -1 do; ``with`` raises
TimedOutError (a TimeoutError) when the lock cannot be had in time.
``locked()`` and ``is_locked`` (filelock's name) say whether this object
holds its lock. A waiter gets a lock that a lipc holder released at once
(lipc's unlocks wake lipc's waiters), and one that another program
released within about a millisecond; signal handlers run during the wait.
Unlike filelock's, a FileLock is not reentrant: acquiring it again while
held just succeeds, and one release() unlocks.
"""
from __future__ import annotations

import errno as _errno
import functools
import operator
import os
import time
from ctypes import ArgumentError, byref, c_int64
from types import TracebackType
from typing import Any, Literal, Optional, Type, Union, cast

from . import _const
from ._cint import to_int, to_int64
from ._errors import TimedOutError, _check, _raise
from ._handle import _Handle
from ._lib import lib as _c
from ._osfd import to_lipc
from ._named import check_mode, remember, reopen
from ._timeout import deadline, retry_eintr, seconds
from ._types import FileDescriptorLike, StrOrBytesPath

__all__ = ["FileLock"]

_DEFAULT: Any = object()
_lock, _unlock = _c.lipc_flock_lock, _c.lipc_flock_unlock
Target = Union[StrOrBytesPath, FileDescriptorLike]


def _forever_if_negative(timeout: Any) -> Any:
    """A negative number of seconds is forever (threading.Lock's -1,
    filelock's default -1); anything else goes to the shared check."""
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < 0:
        return None
    return timeout


def _fd_of(target: Target) -> Optional[int]:
    if isinstance(target, bool):
        raise TypeError("FileLock target must be a path, a file object or an fd, not bool")
    if isinstance(target, int):
        return target
    fileno = getattr(target, "fileno", None)
    return None if fileno is None else operator.index(fileno())


class FileLock(_Handle):
    """A byte-range lock on a file. See the module docstring."""

    def __init__(self, target: Target, exclusive: bool = True, timeout: Optional[float] = None,
                 offset: int = 0, length: int = 0, *, kind: Literal["fcntl", "flock"] = "fcntl",
                 classic: bool = False, create: bool = True, mode: int = 0o644) -> None:
        self.exclusive = bool(exclusive)
        self.offset, self.length = to_int64(offset, "offset"), to_int64(length, "length")
        if self.offset < 0 or self.length < 0:
            raise ValueError(f"offset and length must not be negative ({self.offset}, {self.length})")
        if kind not in ("fcntl", "flock"):
            raise ValueError(f"kind must be 'fcntl' or 'flock', not {kind!r}")
        whole = kind == "flock"
        if whole and (self.offset or self.length):
            raise ValueError("flock locks are whole-file: offset and length must be 0")
        if whole and classic:
            raise ValueError("classic=True is a kind of fcntl lock, not of flock")
        timeout = _forever_if_negative(timeout)
        deadline(timeout)  # validates it
        self.timeout = timeout
        self.kind = kind
        self._held = False
        self._file = None
        h = c_int64()
        fd = _fd_of(target)
        if fd is None:
            path = os.fsencode(os.fspath(cast(StrOrBytesPath, target)))  # not an fd: a path
            if b"\0" in path:
                raise ValueError("path contains a NUL byte")
            if classic:
                raise ValueError("classic=True locks an open file: pass a file object or an fd")
            # flock(2) needs no access mode for either lock; reading
            # keeps a lock on a read-only file possible.
            flags = ((_const.FILE_READ if whole or not self.exclusive else 0) |
                     (_const.FILE_CREATE if create else 0) | (_const.FLOCK_WHOLE if whole else 0))
            _check(_c.lipc_flock_open(path, flags, check_mode(mode), byref(h)), "flock_open")
            self.path: Optional[Union[str, bytes]] = os.fsdecode(path)
        else:
            fd = to_int(fd, "fd")
            how = _const.FLOCK_WHOLE if whole else int(bool(classic))
            _check(_c.lipc_flock_from_fd(to_lipc(fd, "fd"), how, byref(h)), "flock_from_fd")
            self._file = target  # a file object must stay open (classic) and referenced
            name = getattr(target, "name", None)  # a file object's path (an int if opened from an fd)
            self.path = name if isinstance(name, (str, bytes)) else None
        self.classic = bool(classic)
        super().__init__(h.value)
        if fd is None:
            remember(self, (type(self), self.path, self.offset, self.length, self.exclusive, kind))

    def __reduce__(self) -> Any:
        """Pickles by path, range and mode, unlocked (see lipc._named); a
        lock made from an fd or file object does not pickle."""
        self._handle()  # a closed one does not pickle (ValueError)
        if not hasattr(self, "_pickle_key"):
            raise TypeError("cannot pickle a FileLock made from an fd or file object: "
                            "make it from a path")
        return reopen, (self._pickle_key, (self.path, self.exclusive, self.timeout, self.offset, self.length),
                        {"create": False, "kind": self.kind})

    def acquire(self, blocking: bool = True, timeout: Optional[float] = _DEFAULT) -> bool:
        """Locks the range, waiting forever (timeout None or negative), for
        ``timeout`` seconds, or not at all (``blocking=False``); the default
        is the timeout given at construction. True when locked, False when
        not in time. InvalidArgumentError when the file is not open for this
        kind of lock (an exclusive fcntl lock on a read-only file)."""
        if not blocking:
            if timeout is not _DEFAULT and timeout != -1:
                raise ValueError("can't specify a timeout for a non-blocking acquire")
            timeout = 0
        elif timeout is _DEFAULT:
            timeout = self.timeout
        else:
            timeout = _forever_if_negative(timeout)
        t = None if timeout is None else seconds(timeout)  # validated before anything else
        ex = 1 if self.exclusive else 0
        offset, length = self.offset, self.length
        # One try first: a free lock costs one call and no clock read.
        try:
            rc = _lock(self._ch, offset, length, ex, 0)
        except ArgumentError:  # closed: _ch is None (see lipc._handle)
            raise self._closed_error() from None
        if rc == 0:  # got it: nothing else to look at
            self._held = True
            return True
        if rc == _const.EINTR or (rc == _const.EAGAIN and t != 0):
            rc = retry_eintr(functools.partial(self._lock_ms, offset, length, ex),
                             None if t is None else time.monotonic() + t, rc == _const.EINTR)
        if rc == 0:
            self._held = True
            return True
        if rc in (_const.ETIMEDOUT, _const.EAGAIN):
            return False
        _raise(rc, "flock_lock")

    def _lock_ms(self, offset: int, length: int, ex: int, ms: int) -> Any:  # the C call's int
        # A method (with functools.partial), not a lambda in acquire: a
        # closure over self and the range would make them cells, which
        # every acquire pays for, the first try included.
        return _lock(self._handle(), offset, length, ex, ms)

    def release(self) -> None:
        """Unlocks the range. RuntimeError if this FileLock does not hold it
        (as threading.Lock)."""
        if not self._held:
            self._handle()  # a closed one: ValueError, as for any use
            raise RuntimeError("release of an unlocked FileLock")
        try:
            rc = _unlock(self._ch, self.offset, self.length)
        except ArgumentError:  # closed
            raise self._closed_error() from None
        if rc:
            _raise(rc, "flock_unlock")
        self._held = False

    def locked(self) -> bool:
        """Whether this FileLock holds its lock (as far as it knows: closing
        another fd of the file drops classic locks behind its back)."""
        return self._held and not self.closed

    @property
    def is_locked(self) -> bool:
        """locked(), under the filelock package's name."""
        return self.locked()

    def close(self) -> None:
        """Closes the lock handle; its own locks (not classic ones) go with
        it. Idempotent."""
        try:
            super().close()
        finally:
            self._held = False
            self._file = None

    def __enter__(self) -> "FileLock":
        if not self.acquire():
            what = os.fsdecode(self.path) if self.path else "the file"
            raise TimedOutError(_const.ETIMEDOUT, f"could not lock {what} within {self.timeout} s",
                                _errno.ETIMEDOUT)
        return self

    def __exit__(self, t: Optional[Type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _repr_detail(self) -> str:
        mode = "exclusive" if self.exclusive else "shared"
        return f"path={self.path!r} {self.kind} {mode}{' classic' if self.classic else ''} "
