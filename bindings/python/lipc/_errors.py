"""lipc's exceptions, and ``_check``: the one place a negative return code
becomes one of them.

Every failure of the library raises a subclass of ``lipc.Error`` (itself an
``OSError``) carrying ``.code`` (the LIPC_E* code, a ``lipc.Code`` when
known), ``.code_name`` ("LIPC_ENOENT"), ``.errno`` (the errno behind it, 0
when none) and ``.message`` (lipc_last_error: what was being done and why).
Each subclass also inherits the builtin exception a Python user would catch
for the same failure:

=================  =====================  ================================
code               lipc class             also a
=================  =====================  ================================
LIPC_EINVAL        InvalidArgumentError   ValueError
LIPC_ENAMETOOLONG  NameTooLongError       InvalidArgumentError, ValueError
LIPC_EBADHANDLE    BadHandleError         ValueError
LIPC_ENOENT        NotFoundError          FileNotFoundError
LIPC_EEXIST        ExistsError            FileExistsError
LIPC_EPERM         PermissionDeniedError  PermissionError
LIPC_ETIMEDOUT     TimedOutError          TimeoutError
LIPC_EINTR         InterruptedCallError   InterruptedError
LIPC_EAGAIN        WouldBlockError        BlockingIOError
LIPC_ERANGE        OutOfRangeError        ValueError
LIPC_ESTATUSLOST   StatusLostError        ChildProcessError
LIPC_EBUSY         BusyError              -
LIPC_ENOMEM        OutOfMemoryError       -
LIPC_ECLOSED       ClosedError            -
LIPC_ENOTSUP       NotSupportedError      -
LIPC_EFORKED       ForkedError            -
OS errors, others  Error                  OSError
=================  =====================  ================================

An OS error (LIPC_EOS_BASE - errno) whose errno Python maps to a builtin
OSError subclass raises a subclass of Error and of that builtin, found in
this module under the builtin's name: ``lipc._errors.NotADirectoryError``
is an Error and a NotADirectoryError (a working directory that is a file),
likewise IsADirectoryError, BrokenPipeError, ProcessLookupError, the
ConnectionError family, ... ; other errnos raise Error itself. A pipe
write whose reading end is closed (LIPC_ECLOSED) raises PipeClosedError,
also a BrokenPipeError as os.write's EPIPE would be.
Mutexes (lipc._mutex) add two: NotOwnerError (EPERM from a release by a
thread that does not hold it; also a PermissionError and a RuntimeError, as
threading.RLock raises) and NotRecoverableError (ENOTRECOVERABLE).

Arguments that Python can see are wrong (a negative timeout, a name with a
NUL byte) raise plain ValueError or TypeError before any C call, and an int
that does not fit its C type raises OverflowError (see lipc._cint); using a
closed object raises ValueError("operation on closed Semaphore"). Waits that
time out return False or an empty list (as threading and select do) rather
than raise TimedOutError, except where the model API raises: Popen.wait()
and communicate() raise lipc.TimeoutExpired, subprocess's own exception (a
subprocess.TimeoutExpired, so no OSError, as in subprocess), and
``with FileLock(path, timeout=...)`` raises TimedOutError, as the filelock
package's Timeout does. Closing a mapping whose views are in use raises
BufferError, as multiprocessing.shared_memory does.
"""
from __future__ import annotations

import errno as _errno
import sys
from typing import Dict, Mapping, NoReturn, Optional, Tuple, Type

from . import _const
from ._cint import to_int
from ._lib import lib as _c


def _text(b: "bytes | None") -> str:
    return b.decode("utf-8", "replace") if b else ""


def error_name(code: int) -> str:
    """The symbolic name of a code ("LIPC_EINVAL", "LIPC_EOS", ...).
    TypeError for a non-integer, OverflowError beyond a C int."""
    return _text(_c.lipc_error_name(to_int(code, "code")))


def strerror(code: int) -> str:
    """A short English description of any code (as os.strerror: TypeError
    for a non-integer, OverflowError beyond a C int)."""
    return _text(_c.lipc_strerror(to_int(code, "code")))


_WINDOWS = sys.platform == "win32"


def _errno_of_winerror(winerror: int) -> int:
    """The errno Python's OSError gives a Windows error code (EINVAL for
    one it does not know), as OSError(0, "", None, winerror).errno."""
    return OSError(0, "", None, winerror).errno or 0


class Error(OSError):
    """Root of lipc's exceptions. ``Error(code, message, errno)``."""

    code: int
    code_name: str
    message: str

    def __init__(self, code: int, message: str = "", errno: int = 0) -> None:
        message = message or strerror(code)
        self._oserr = errno  # what lipc_errno() said
        if _WINDOWS and errno:
            # lipc_errno() is a Windows error code there: as Python's own
            # OSError on Windows, .winerror keeps it and .errno is the errno
            # Python maps it to.
            super().__init__(0, message, None, errno)
        else:
            super().__init__(errno, message)
        self.code = _const.Code.of(code)
        self.code_name = error_name(code)
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} [{self.code_name}]"

    # OSError's default pickling would rebuild from (errno, strerror); the
    # exception crosses processes in multiprocessing, so keep our own args.
    def __reduce__(self) -> Tuple[type, Tuple[int, str, int]]:
        return (type(self), (int(self.code), self.message, self._oserr or 0))


class InvalidArgumentError(Error, ValueError):
    """LIPC_EINVAL: the library rejected an argument (a bad name, ...)."""


class NameTooLongError(InvalidArgumentError):
    """LIPC_ENAMETOOLONG: a name or path is too long."""


class BadHandleError(Error, ValueError):
    """LIPC_EBADHANDLE: not an open handle of the expected kind."""


class NotFoundError(Error, FileNotFoundError):
    """LIPC_ENOENT."""


class ExistsError(Error, FileExistsError):
    """LIPC_EEXIST."""


class PermissionDeniedError(Error, PermissionError):
    """LIPC_EPERM (EACCES or EPERM, or a name that is a symbolic link)."""


class TimedOutError(Error, TimeoutError):
    """LIPC_ETIMEDOUT."""


class InterruptedCallError(Error, InterruptedError):
    """LIPC_EINTR. The binding's waits retry it themselves (PEP 475)."""


class WouldBlockError(Error, BlockingIOError):
    """LIPC_EAGAIN: a try found the object not ready."""


class OutOfRangeError(Error, ValueError):
    """LIPC_ERANGE, e.g. a semaphore released past 2**31-1."""


class StatusLostError(Error, ChildProcessError):
    """LIPC_ESTATUSLOST: someone else reaped the child."""


class BusyError(Error):
    """LIPC_EBUSY."""


class OutOfMemoryError(Error):
    """LIPC_ENOMEM."""


class ClosedError(Error):
    """LIPC_ECLOSED: the other end or the object was closed."""


class NotSupportedError(Error):
    """LIPC_ENOTSUP."""


class ForkedError(Error):
    """LIPC_EFORKED: mapping files, growing shared memory, spawning or using
    the parent's processes in the child of os.fork() (or of multiprocessing's
    "fork" start method), where the Go runtime inside lipc cannot run.
    Objects opened before the fork keep working there, and named objects
    and FileLocks open there; open the rest in the parent first, or use the
    "spawn" or "forkserver" start method."""


class PipeClosedError(ClosedError, BrokenPipeError):
    """LIPC_ECLOSED from a pipe write: the reading end is closed (EPIPE,
    without SIGPIPE). Also a BrokenPipeError, as os.write would raise."""


def _os_classes() -> Dict[int, Type[Error]]:
    # Note: after this runs, the builtin names it covers (NotADirectoryError,
    # BrokenPipeError, ...) mean the lipc classes in this module's globals;
    # everything above that uses a builtin is defined before it.
    # One class per builtin OSError subclass that an errno selects, each an
    # Error too; defined here at import under the builtin's name so that
    # pickle finds them in any process.
    by_builtin: Dict[type, Type[Error]] = {}
    out: Dict[int, Type[Error]] = {}
    for num in sorted(set(_errno.errorcode)):
        builtin = type(OSError(num, ""))
        if builtin is OSError:
            continue
        if builtin not in by_builtin:
            cls = type(builtin.__name__, (Error, builtin), {
                "__doc__": f"An OS error ({builtin.__name__}) lipc reported with its errno.",
                "__module__": __name__})
            globals()[builtin.__name__] = cls
            by_builtin[builtin] = cls
        out[num] = by_builtin[builtin]
    return out


_OS_CLASSES = _os_classes()

_CLASSES: Dict[int, Type[Error]] = {
    _const.EINVAL: InvalidArgumentError,
    _const.ENAMETOOLONG: NameTooLongError,
    _const.EBADHANDLE: BadHandleError,
    _const.ENOENT: NotFoundError,
    _const.EEXIST: ExistsError,
    _const.EPERM: PermissionDeniedError,
    _const.ETIMEDOUT: TimedOutError,
    _const.EINTR: InterruptedCallError,
    _const.EAGAIN: WouldBlockError,
    _const.ERANGE: OutOfRangeError,
    _const.ESTATUSLOST: StatusLostError,
    _const.EBUSY: BusyError,
    _const.ENOMEM: OutOfMemoryError,
    _const.ECLOSED: ClosedError,
    _const.ENOTSUP: NotSupportedError,
    _const.EFORKED: ForkedError,
}


def error_class(code: int) -> Type[Error]:
    """The exception class raised for ``code``."""
    cls = _CLASSES.get(code)
    if cls is not None:
        return cls
    if code <= _const.EOS_BASE:
        oserr = _const.EOS_BASE - code  # an errno; a Windows error code on Windows
        return _OS_CLASSES.get(_errno_of_winerror(oserr) if _WINDOWS else oserr, Error)
    return Error


def _raise(rc: int, what: str, classes: Optional[Mapping[int, Type[Error]]] = None) -> NoReturn:
    # The message and errno are per-thread and overwritten by the next lipc
    # call on this thread: read them before anything else.
    message = _text(_c.lipc_last_error())
    err = _c.lipc_errno()
    if not message:
        message = f"{what}: {strerror(rc)}"
    cls = classes.get(rc) if classes else None
    raise (cls or error_class(rc))(rc, message, err)


def _check(rc: int, what: str, classes: Optional[Mapping[int, Type[Error]]] = None) -> int:
    """Returns rc when it is not negative; raises the matching Error if it is.
    ``what`` names the operation when the library left no message;
    ``classes`` may choose a more precise class for some codes."""
    if rc >= 0:
        return rc
    _raise(rc, what, classes)
