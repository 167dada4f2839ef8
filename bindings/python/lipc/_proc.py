"""Child processes with subprocess's shape: Popen, run(), call(),
check_call(), check_output(), getoutput(), getstatusoutput(), and
wait_any() over children and pipes. The exceptions are subprocess's tree:
SubprocessError, with TimeoutExpired and CalledProcessError under it (each
also subprocess's own class, so its except clauses catch them).

What lipc adds to subprocess: every start failure is an exception with its
errno (never a child exiting 127), children start with exactly the fds
asked for, resource limits (rlimits=), autokill (the child dies with this
process, however it dies), a close policy, stop(grace) (TERM, then KILL),
CPU and memory figures (info()), a pidfd for multi-waits, and an output cap
for communicate(). Waits sleep in C with the GIL released; Ctrl-C
interrupts them.

Differences worth knowing (bindings/python/README.md says why): preexec_fn
is refused (no Python can run in a vfork-class child); .stdin/.stdout/
.stderr are created when first used (until then communicate() runs
entirely in C); a status that someone else reaped (a host that calls
os.waitpid(-1) or ignores SIGCHLD) raises StatusLostError instead of
reporting exit 0.
"""
from __future__ import annotations

import errno as _errno
import locale
import operator
import os
import signal
import subprocess
import sys
import threading
import types
import warnings
from ctypes import byref, c_int, c_int64, c_size_t, c_void_p, create_string_buffer, string_at
from dataclasses import dataclass
from typing import (IO, TYPE_CHECKING, Any, AnyStr, Callable, Dict, Generic, Iterable, List, Literal, Mapping,
                    NoReturn, Optional, Sequence, Tuple, TypeVar, Union, cast, overload)

from . import _const
from ._cint import to_int, to_size
from ._errors import Error, InvalidArgumentError, OutOfRangeError, StatusLostError, _check, error_class, strerror
from ._handle import _Handle
from ._lib import lib as _c
from ._osfd import WINDOWS, from_lipc, split_cmdline, to_lipc
from ._pipeio import PipeIO, wrap
from ._spawn import DEVNULL, PIPE, STDOUT, File, ParentFd, SpawnAttr, build, credentials, fileno
from ._timeout import SLICE_MS, deadline, remaining_grace_ms, remaining_ms, retry_eintr
from ._wait import wait_fds

__all__ = ["Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput",
           "list2cmdline", "wait_any", "CompletedProcess", "ProcInfo", "SubprocessError", "TimeoutExpired",
           "CalledProcessError", "OutputLimitError", "PIPE", "STDOUT", "DEVNULL", "File", "ParentFd"]

SubprocessError = subprocess.SubprocessError
list2cmdline = subprocess.list2cmdline

_NO_PIDFD = {_const.ENOENT: error_class(_const.EOS_BASE - _errno.ESRCH)}  # ProcessLookupError
_PIPE_BUF = 4096
_READ_CHUNK = 65536
_T = TypeVar("_T")
_DELETED: Any = object()  # del p.stdout: the attribute is gone, as on any object
_STREAMS = ("stdin", "stdout", "stderr")
_proc_wait, _proc_info_many = _c.lipc_proc_wait, _c.lipc_proc_info_many
# ProcInfo's figures, for one lipc_proc_info_many call. The current size is
# read before the peak, so a growing child never shows a peak below it.
_INFO_WHAT = (c_int * 8)(_const.PROC_RUNNING, _const.PROC_EXIT_CODE, _const.PROC_SIGNAL, _const.PROC_CORE_DUMPED,
                         _const.PROC_UTIME_US, _const.PROC_STIME_US, _const.PROC_RSS_KB, _const.PROC_MAXRSS_KB)
_INFO_N = len(_INFO_WHAT)
_InfoValues, _InfoCodes = c_int64 * _INFO_N, c_int * _INFO_N
# A figure's codes that ProcInfo shows: given (0), or None for one that is
# not there now (EAGAIN), here (ENOTSUP) or any more (ESTATUSLOST).
_INFO_OK = frozenset((0, _const.EAGAIN, _const.ENOTSUP, _const.ESTATUSLOST))


def _info_error(codes: List[int]) -> NoReturn:
    """Raises for the first figure whose code ProcInfo cannot show (none
    should come back; a figure's failure leaves no message behind)."""
    what, rc = next((w, c) for w, c in zip(_INFO_WHAT, codes) if c not in _INFO_OK)
    raise error_class(rc)(rc, f"proc_info_many: figure {what}: {strerror(rc)}", 0)


_MINUS_ONE = -1  # bufsize's and pipesize's default, compared by identity: anything else is checked

# The argument types, as typeshed spells them for subprocess.
StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_CMD = Union[StrPath, Sequence[StrPath]]
_FILE = Union[None, int, IO[Any], File, ParentFd]
_ENV = Union[Mapping[bytes, StrPath], Mapping[str, StrPath]]
if TYPE_CHECKING:
    from typing_extensions import Buffer as _Buffer
else:
    _Buffer = bytes


def _sp_timeout(timeout: Optional[float]) -> Optional[float]:
    """subprocess's reading of a timeout: a negative one means "now" (one
    try, then TimeoutExpired), not an error. NaN and non-numbers stay
    errors (lipc._timeout says why)."""
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < 0:
        return 0
    return timeout


class TimeoutExpired(subprocess.TimeoutExpired):
    """A wait or communicate() ran out of time; the child still runs.
    subprocess's own TimeoutExpired (a SubprocessError, not an OSError, so
    an ``except OSError:`` before it does not catch timeouts). .cmd
    .timeout .output (= .stdout) .stderr as subprocess's: the output
    collected so far, bytes (or None)."""

    def __init__(self, cmd: Any, timeout: Optional[float], output: Optional[bytes] = None,
                 stderr: Optional[bytes] = None) -> None:
        super().__init__(cmd, cast(float, timeout), output, stderr)  # None: as lipc was asked

    def __reduce__(self) -> Any:
        return (type(self), (self.cmd, self.timeout, self.output, self.stderr))


class CalledProcessError(subprocess.CalledProcessError):
    """check=True and a non-zero exit status: subprocess's own exception
    type (so its except clauses catch it), with .info (ProcInfo) added."""

    info: Optional["ProcInfo"] = None


class OutputLimitError(OutOfRangeError, subprocess.SubprocessError):
    """communicate(max_output=...): a stream passed the cap. .stdout and
    .stderr hold what was kept (bytes); the child still runs (run() kills
    it). A lipc.OutOfRangeError (ValueError) and a SubprocessError."""

    cmd: Any = None
    limit: int = 0
    output: Optional[bytes] = None
    stderr: Optional[bytes] = None

    @property
    def stdout(self) -> Optional[bytes]:
        return self.output


class CompletedProcess(subprocess.CompletedProcess[_T]):
    """run()'s result: subprocess.CompletedProcess plus .info (ProcInfo:
    CPU times and peak memory of the child)."""

    def __init__(self, args: Any, returncode: int, stdout: Optional[_T] = None, stderr: Optional[_T] = None,
                 info: Optional["ProcInfo"] = None) -> None:
        super().__init__(args, returncode, stdout, stderr)
        self.info = info

    def check_returncode(self) -> None:
        if self.returncode:
            e = CalledProcessError(self.returncode, self.args, cast(Any, self.stdout), cast(Any, self.stderr))
            e.info = self.info
            raise e


@dataclass(frozen=True)
class ProcInfo:
    """Figures of a child (lipc_proc_info). Exit fields are None until the
    child was waited for; rss_kb is None after it exited; the CPU times and
    peak RSS are its totals once reaped. After exit, maxrss_kb is at least
    the parent's RSS when it spawned: Linux keeps the peak of the memory the
    child shared with its parent before exec (so do os.wait4's figures for
    subprocess and posix_spawn children)."""

    pid: int
    running: bool
    returncode: Optional[int]
    exit_code: Optional[int]    # -1 when a signal killed it
    signal: Optional[int]       # the killing signal, or 0
    core_dumped: Optional[bool]
    utime: Optional[float]      # user CPU, seconds
    stime: Optional[float]      # system CPU, seconds
    maxrss_kb: Optional[int]    # peak resident set size, KiB
    rss_kb: Optional[int]       # current resident set size, KiB (running only)


_info_new = object.__new__


def _new_info(**fields: Any) -> ProcInfo:
    """A ProcInfo made without its generated __init__, which goes through
    object.__setattr__ once a field on a frozen dataclass: 4-5 us of a
    run()'s (issue 12). ProcInfo has no __post_init__ and no defaults, and
    its callers give every field, so the object is the same."""
    info = _info_new(ProcInfo)
    info.__dict__.update(fields)
    return info


def _take_buffer(ptr: c_void_p, n: c_size_t) -> Optional[bytes]:
    """Copies and frees a buffer lipc malloc'd."""
    if not ptr.value:
        return None
    try:
        return string_at(ptr.value, n.value)
    finally:
        _c.lipc_free(ptr)


class Popen(_Handle, Generic[AnyStr]):
    """A child process, as subprocess.Popen, over lipc: Popen[bytes], or
    Popen[str] in text mode (text=True, encoding=, errors= or
    universal_newlines=True), as typeshed types subprocess.Popen.

    ``Popen(args, bufsize=-1, executable=None, stdin=None, stdout=None,
    stderr=None, preexec_fn=None, close_fds=True, shell=False, cwd=None,
    env=None, universal_newlines=None, startupinfo=None, creationflags=0,
    restore_signals=True, start_new_session=False, pass_fds=(), *,
    user=None, group=None, extra_groups=None, encoding=None, errors=None,
    text=None, umask=-1, pipesize=-1, process_group=None,`` and lipc's own
    ``fds=None, rlimits=None, autokill=None, on_close="leave",
    on_close_grace=5.0, extra_env=None, unset_env=None)``: subprocess's
    parameters, in its order.

    args: a sequence (program first) or, alone, a str/bytes/path naming the
    program; with shell=True, the command line for the shell (/bin/sh, or
    executable: argv is [shell, "-c", command, *args[1:]]). The program is
    searched in the PATH of the child's environment.

    stdin, stdout, stderr: None (inherit), PIPE, DEVNULL, STDOUT (stderr
    only: 2>&1), an fd or an object with fileno(), a lipc.File(path, mode)
    the child opens, or lipc.ParentFd(fd, close=True) (given to the child,
    closed here once it started). fds={n: spec} maps any child fd the same
    way (no PIPE above 2); pass_fds=(n, ...) passes fds at the same number.
    Every other fd is closed in the child, unless close_fds=False (then
    fds without close-on-exec stay open in it; pass_fds overrides it, with
    a RuntimeWarning, as in subprocess).

    restore_signals: True (default) resets in the child what Python ignores
    for itself (SIGPIPE, SIGXFSZ); a signal this process ignores on purpose
    otherwise stays ignored in the child, as with subprocess. False keeps
    them all; "all" (lipc's) resets every signal, ignored ones included.
    user, group, extra_groups: names or ids, set in the child before exec
    (needs the privilege). pipesize: the capacity of each PIPE.
    preexec_fn is refused: ValueError (see the README).

    env: the whole environment (mapping); None inherits the live C environ
    (os.environ changes included). extra_env / unset_env edit it.
    rlimits: {"cpu": (soft, hard), "nofile": 77, "as": 200 << 20, ...} (a
    single number sets both; None means unlimited; keys may be
    lipc.RLIMIT_* or the resource module's RLIMIT_* too).
    autokill: a signal (or True: SIGKILL) the child gets when this process
    dies, however it dies. on_close: what close() (or the finalizer) does
    to a child still running: "leave" it (still reaped when it exits) or
    "stop" it (SIGTERM, SIGKILL after on_close_grace seconds).

    Start failures raise at once: FileNotFoundError (lipc.NotFoundError),
    PermissionError, NotADirectoryError, ... with errno, strerror (the C
    library's text, as subprocess) and filename set; str() and .message
    say which step failed.

    Attributes: args, pid, returncode (None while running; -N for signal
    N), stdin, stdout, stderr (file objects for PIPE, else None; they may
    be replaced or deleted), executable_path (the program run, after PATH
    search), text_mode. ``with Popen(...) as p:`` closes the pipes, waits,
    then closes.
    """

    args: Any
    pid: int
    returncode: Optional[int]

    if not TYPE_CHECKING:
        # Popen[bytes] is a types.GenericAlias at run time, as subprocess's
        __class_getitem__ = classmethod(types.GenericAlias)

    # For type checkers, typeshed's overloads of subprocess.Popen: Popen[str]
    # when text=True, encoding=, errors= or universal_newlines=True says text
    # mode, Popen[bytes] when none does, Popen[Any] when it cannot be told.
    @overload
    def __init__(
            self: Popen[str], args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ...,
            stdin: _FILE = ..., stdout: _FILE = ..., stderr: _FILE = ...,
            preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ..., shell: bool = ...,
            cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., universal_newlines: Optional[bool] = ...,
            startupinfo: Any = ..., creationflags: int = ...,
            restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
            pass_fds: Iterable[Any] = ..., *, user: Union[str, int, None] = ...,
            group: Union[str, int, None] = ..., extra_groups: Optional[Iterable[Union[str, int]]] = ...,
            encoding: Optional[str] = ..., errors: Optional[str] = ..., text: Literal[True], umask: int = ...,
            pipesize: int = ..., process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
            rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
            on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
            unset_env: Optional[Iterable[Any]] = ...) -> None: ...
    @overload
    def __init__(
            self: Popen[str], args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ...,
            stdin: _FILE = ..., stdout: _FILE = ..., stderr: _FILE = ...,
            preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ..., shell: bool = ...,
            cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., universal_newlines: Optional[bool] = ...,
            startupinfo: Any = ..., creationflags: int = ...,
            restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
            pass_fds: Iterable[Any] = ..., *, user: Union[str, int, None] = ...,
            group: Union[str, int, None] = ..., extra_groups: Optional[Iterable[Union[str, int]]] = ...,
            encoding: str, errors: Optional[str] = ..., text: Optional[bool] = ..., umask: int = ...,
            pipesize: int = ..., process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
            rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
            on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
            unset_env: Optional[Iterable[Any]] = ...) -> None: ...
    @overload
    def __init__(
            self: Popen[str], args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ...,
            stdin: _FILE = ..., stdout: _FILE = ..., stderr: _FILE = ...,
            preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ..., shell: bool = ...,
            cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., universal_newlines: Optional[bool] = ...,
            startupinfo: Any = ..., creationflags: int = ...,
            restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
            pass_fds: Iterable[Any] = ..., *, user: Union[str, int, None] = ...,
            group: Union[str, int, None] = ..., extra_groups: Optional[Iterable[Union[str, int]]] = ...,
            encoding: Optional[str] = ..., errors: str, text: Optional[bool] = ..., umask: int = ...,
            pipesize: int = ..., process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
            rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
            on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
            unset_env: Optional[Iterable[Any]] = ...) -> None: ...
    @overload
    def __init__(
            self: Popen[str], args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ...,
            stdin: _FILE = ..., stdout: _FILE = ..., stderr: _FILE = ...,
            preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ..., shell: bool = ...,
            cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., *, universal_newlines: Literal[True],
            startupinfo: Any = ..., creationflags: int = ...,
            restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
            pass_fds: Iterable[Any] = ..., user: Union[str, int, None] = ...,
            group: Union[str, int, None] = ..., extra_groups: Optional[Iterable[Union[str, int]]] = ...,
            encoding: Optional[str] = ..., errors: Optional[str] = ..., text: Optional[bool] = ...,
            umask: int = ..., pipesize: int = ..., process_group: Optional[int] = ...,
            fds: Optional[Mapping[int, Any]] = ..., rlimits: Optional[Mapping[Any, Any]] = ...,
            autokill: Any = ..., on_close: str = ..., on_close_grace: float = ...,
            extra_env: Optional[Mapping[Any, Any]] = ...,
            unset_env: Optional[Iterable[Any]] = ...) -> None: ...
    @overload
    def __init__(
            self: Popen[bytes], args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ...,
            stdin: _FILE = ..., stdout: _FILE = ..., stderr: _FILE = ...,
            preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ..., shell: bool = ...,
            cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
            universal_newlines: Literal[False, None] = ..., startupinfo: Any = ..., creationflags: int = ...,
            restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
            pass_fds: Iterable[Any] = ..., *, user: Union[str, int, None] = ...,
            group: Union[str, int, None] = ..., extra_groups: Optional[Iterable[Union[str, int]]] = ...,
            encoding: None = ..., errors: None = ..., text: Literal[False, None] = ..., umask: int = ...,
            pipesize: int = ..., process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
            rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
            on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
            unset_env: Optional[Iterable[Any]] = ...) -> None: ...
    @overload
    def __init__(
            self: Popen[Any], args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ...,
            stdin: _FILE = ..., stdout: _FILE = ..., stderr: _FILE = ...,
            preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ..., shell: bool = ...,
            cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., universal_newlines: Optional[bool] = ...,
            startupinfo: Any = ..., creationflags: int = ...,
            restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
            pass_fds: Iterable[Any] = ..., *, user: Union[str, int, None] = ...,
            group: Union[str, int, None] = ..., extra_groups: Optional[Iterable[Union[str, int]]] = ...,
            encoding: Optional[str] = ..., errors: Optional[str] = ..., text: Optional[bool] = ...,
            umask: int = ..., pipesize: int = ..., process_group: Optional[int] = ...,
            fds: Optional[Mapping[int, Any]] = ..., rlimits: Optional[Mapping[Any, Any]] = ...,
            autokill: Any = ..., on_close: str = ..., on_close_grace: float = ...,
            extra_env: Optional[Mapping[Any, Any]] = ...,
            unset_env: Optional[Iterable[Any]] = ...) -> None: ...

    def __init__(self, args: _CMD, bufsize: Optional[int] = -1, executable: Optional[StrPath] = None,
                 stdin: _FILE = None, stdout: _FILE = None, stderr: _FILE = None,
                 preexec_fn: Optional[Callable[[], Any]] = None, close_fds: bool = True, shell: bool = False,
                 cwd: Optional[StrPath] = None, env: Optional[_ENV] = None,
                 universal_newlines: Optional[bool] = None, startupinfo: Any = None, creationflags: int = 0,
                 restore_signals: Union[bool, Literal["all"]] = True, start_new_session: bool = False,
                 pass_fds: Iterable[Any] = (), *, user: Union[str, int, None] = None,
                 group: Union[str, int, None] = None, extra_groups: Optional[Iterable[Union[str, int]]] = None,
                 encoding: Optional[str] = None, errors: Optional[str] = None, text: Optional[bool] = None,
                 umask: int = -1, pipesize: Optional[int] = -1, process_group: Optional[int] = None,
                 fds: Optional[Mapping[int, Any]] = None, rlimits: Optional[Mapping[Any, Any]] = None,
                 autokill: Any = None, on_close: str = "leave", on_close_grace: float = 5.0,
                 extra_env: Optional[Mapping[Any, Any]] = None,
                 unset_env: Optional[Iterable[Any]] = None) -> None:
        self._h = None  # so that __del__ after a failed start finds nothing to do
        self._exit: Optional[Tuple[int, int]] = None  # (exit code, signal) once reaped (_set_status)
        if preexec_fn is not None:
            raise ValueError(
                "preexec_fn is not supported: lipc starts children with a vfork-class clone that shares "
                "this process's memory until exec, where no Python code can run safely (CPython itself "
                "warns that preexec_fn is unsafe with threads). Use the parameters that do it before exec: "
                "start_new_session=, process_group=, user=, group=, extra_groups=, umask=, rlimits=, cwd=, "
                "restore_signals=, autokill=; or run the setup in the child program itself "
                "(e.g. a shell command, or python -c).")
        # The defaults (no startupinfo, creationflags the int 0) need no check.
        new_group = (startupinfo is not None or type(creationflags) is not int or creationflags != 0) and \
            _windows_flags(startupinfo, creationflags)
        if universal_newlines is not None and text is not None and bool(universal_newlines) != bool(text):
            raise subprocess.SubprocessError("Cannot disambiguate when both text and universal_newlines "
                                             "are supplied but different. Pass one or the other.")
        bufsize = -1 if bufsize is None or bufsize is _MINUS_ONE else operator.index(bufsize)
        if pipesize is None:
            pipesize = -1
        elif pipesize is not _MINUS_ONE and (not isinstance(pipesize, int) or isinstance(pipesize, bool)):
            raise TypeError("pipesize must be an integer")
        pass_fds = tuple(pass_fds) if pass_fds else ()
        if pass_fds and not close_fds:
            warnings.warn("pass_fds overriding close_fds.", RuntimeWarning)
            close_fds = True
        if user is None and group is None and extra_groups is None:
            uid = gid = gids = None
        else:
            uid, gid, gids = credentials(user, group, extra_groups)
        self.args = args
        self.returncode = None
        self.text_mode = bool(encoding or errors or text or universal_newlines)
        if bufsize == 1 and not self.text_mode:
            warnings.warn("line buffering (buffering=1) isn't supported in binary mode, the default buffer "
                          "size will be used", RuntimeWarning)
        self._encoding = encoding or (locale.getpreferredencoding(False) if self.text_mode else None)
        self._errors = errors or ("strict" if self.text_mode else None)
        self._bufsize = bufsize
        self._files: Dict[int, Any] = {}      # the pipes handed out, by child fd
        self._assigned: Dict[int, Any] = {}   # p.stdout = ... by the user (_DELETED: del p.stdout)
        self._lock = threading.Lock()
        self._comm_c = False             # lipc_proc_communicate owns the untaken pipes
        self._comm_input: Optional[bytes] = None
        self._comm_py: Optional[Dict[Any, Any]] = None
        self._comm_done: Optional[Tuple[Optional[bytes], Optional[bytes]]] = None
        self._comm_lone_read = False     # the first communicate read one output pipe, no timeout
        self._path: Optional[str] = None
        argv: List[Any]
        if type(args) is list or type(args) is tuple:  # the common case, first
            argv = list(args)
        elif isinstance(args, (str, bytes)) and WINDOWS and not shell:
            # subprocess hands a str to CreateProcess as the command line;
            # lipc takes an argv and quotes it back by the same rules.
            argv = split_cmdline(args)
        elif isinstance(args, (str, bytes)):
            argv = [args]
        elif isinstance(args, os.PathLike):
            if shell:
                raise TypeError("path-like args is not allowed when shell is true")
            argv = [args]
        else:
            argv = list(args)
        if not argv:
            raise IndexError("Popen: args is empty: at least the program to run is needed")
        attr = SpawnAttr()
        try:
            self._pipe_modes = build(
                attr, argv, shell=shell, executable=executable, stdio=(stdin, stdout, stderr), fds=fds,
                pass_fds=pass_fds, cwd=cwd, env=env, extra_env=extra_env, unset_env=unset_env, umask=umask,
                start_new_session=start_new_session, process_group=process_group, rlimits=rlimits,
                autokill=autokill, on_close=on_close, on_close_grace=on_close_grace, close_fds=close_fds,
                restore_signals=restore_signals, pipesize=pipesize, user=uid, group=gid, extra_groups=gids,
                new_process_group=new_group)
            h = c_int64()
            try:
                _check(_c.lipc_proc_spawn(attr.handle, byref(h)), "spawn")
            except Error as e:
                _name_the_file(e, argv, shell, executable, cwd, (stdin, stdout, stderr), fds)
                if e.errno:
                    e.strerror = os.strerror(e.errno)  # as subprocess; str(e) keeps lipc's context
                raise
        finally:
            attr.close()
        for fd in attr.close_after:  # Windows' ParentFd(close=True): the child has it now
            os.close(fd)
        super().__init__(h.value)
        pid = c_int64()
        _check(_c.lipc_proc_pid(self._h, byref(pid)), "proc_pid")
        self.pid = pid.value

    # -- the pipes ---------------------------------------------------------

    def _stream(self, fd: int) -> Any:
        if fd in self._assigned:
            v = self._assigned[fd]
            if v is _DELETED:
                raise AttributeError(f"'Popen' object has no attribute '{_STREAMS[fd]}'")
            return v
        mode = self._pipe_modes.get(fd)
        if mode is None:
            return None
        with self._lock:
            f = self._files.get(fd)
            if f is None:
                if self._comm_c or self._h is None:
                    f = PipeIO._closed_one(mode)  # lipc read (or closed) it already
                else:
                    out = c_int()
                    _check(_c.lipc_proc_take_fd(self._h, fd, byref(out)), "take_fd")
                    # Blocking, as subprocess's pipes are: the fd may be given
                    # to another child (stdin=p.stdout), which shares the
                    # file status flags and would see EAGAIN otherwise.
                    # PipeIO waits through lipc either way.
                    fdnum = from_lipc(out.value, mode == "r")
                    if sys.platform != "win32":
                        os.set_blocking(fdnum, True)
                    f = wrap(fdnum, mode, self._bufsize, self.text_mode, self._encoding, self._errors)
                self._files[fd] = f
            return f

    def _set_stream(self, fd: int, value: Any) -> None:
        # Code written for subprocess may replace or drop a stream
        # (p.stdout = None); from then on the attribute is what it set.
        with self._lock:
            self._assigned[fd] = value

    def _del_stream(self, fd: int) -> None:
        with self._lock:
            if self._assigned.get(fd) is _DELETED:
                raise AttributeError(_STREAMS[fd])
            self._assigned[fd] = _DELETED

    @property
    def stdin(self) -> Optional[IO[AnyStr]]:
        """The writable file object of stdin=PIPE, else None."""
        return cast("Optional[IO[AnyStr]]", self._stream(0))

    @stdin.setter
    def stdin(self, value: Optional[IO[AnyStr]]) -> None:
        self._set_stream(0, value)

    @stdin.deleter
    def stdin(self) -> None:
        self._del_stream(0)

    @property
    def stdout(self) -> Optional[IO[AnyStr]]:
        """The readable file object of stdout=PIPE, else None."""
        return cast("Optional[IO[AnyStr]]", self._stream(1))

    @stdout.setter
    def stdout(self, value: Optional[IO[AnyStr]]) -> None:
        self._set_stream(1, value)

    @stdout.deleter
    def stdout(self) -> None:
        self._del_stream(1)

    @property
    def stderr(self) -> Optional[IO[AnyStr]]:
        """The readable file object of stderr=PIPE, else None."""
        return cast("Optional[IO[AnyStr]]", self._stream(2))

    @stderr.setter
    def stderr(self, value: Optional[IO[AnyStr]]) -> None:
        self._set_stream(2, value)

    @stderr.deleter
    def stderr(self) -> None:
        self._del_stream(2)

    @property
    def universal_newlines(self) -> bool:
        return self.text_mode

    @property
    def executable_path(self) -> str:
        """The program that was run, after PATH search."""
        if self._path is None:
            h = self._handle()
            need = c_size_t()
            size = 256
            while True:
                buf = create_string_buffer(size)
                rc = _c.lipc_proc_path(h, buf, size, byref(need))
                if rc != _const.ERANGE:
                    break
                size = need.value
            _check(rc, "proc_path")
            self._path = os.fsdecode(buf.value)
        return self._path

    # -- status --------------------------------------------------------------

    def _set_status(self, code: int, sig: int) -> int:
        self._exit = (code, sig)
        if WINDOWS and code < 0 and not sig:
            code &= 0xFFFFFFFF  # an exit code is a DWORD (0xC0000005 ...), as subprocess reports it
        self.returncode = -sig if sig else code
        return self.returncode

    def _wait_rc(self, timeout: Optional[float]) -> Tuple[int, int, int]:
        h = self._handle()
        code, sig = c_int(), c_int()  # passed as they are: ctypes takes them by reference
        rc = 0
        if timeout is None:
            # Forever, the common case: the first wait is one slice (as
            # retry_eintr's in the main thread), without the loop's setup.
            rc = _proc_wait(h, SLICE_MS, code, sig)
            if rc != _const.ETIMEDOUT and rc != _const.EINTR:
                return rc, code.value, sig.value
        rc = retry_eintr(lambda ms: _proc_wait(h, ms, code, sig), deadline(_sp_timeout(timeout)),
                         timeout is None and rc == _const.EINTR)
        return rc, code.value, sig.value

    def poll(self) -> Optional[int]:
        """The returncode if the child has exited (reaping it), else None."""
        if self.returncode is not None:
            return self.returncode
        rc, code, sig = self._wait_rc(0)
        if rc == _const.ETIMEDOUT:
            return None
        _check(rc, "wait")
        return self._set_status(code, sig)

    def wait(self, timeout: Optional[float] = None) -> int:
        """Waits for the child to exit; returns returncode. TimeoutExpired
        after timeout seconds. Only the process counts: a grandchild holding
        its pipes open does not delay it."""
        if self.returncode is not None:
            return self.returncode
        rc, code, sig = self._wait_rc(timeout)
        if rc == _const.ETIMEDOUT:
            raise TimeoutExpired(self.args, timeout)
        _check(rc, "wait")
        return self._set_status(code, sig)

    # -- signals -------------------------------------------------------------

    def send_signal(self, sig: int, group: bool = False) -> None:
        """Sends sig to the child (through its pidfd: never to a process that
        reused its pid), or to its process group (group=True; the child must
        lead one: start_new_session or process_group=0). Nothing happens
        once it has exited; a child that exited but was not waited for is
        reaped first (returncode set), as subprocess does.

        On Windows, as subprocess there: SIGTERM is terminate()
        (TerminateProcess through lipc); CTRL_C_EVENT and CTRL_BREAK_EVENT
        go to the child's console process group (os.kill, i.e.
        GenerateConsoleCtrlEvent: the child must share this console and,
        for CTRL_BREAK_EVENT, lead a group: creationflags=
        CREATE_NEW_PROCESS_GROUP); any other signal is a ValueError."""
        sig = to_int(sig, "signal")  # checked first: a bad signal is an error even after exit
        if WINDOWS and sig not in (signal.SIGTERM, _SIGKILL, _CTRL_C_EVENT, _CTRL_BREAK_EVENT):
            raise ValueError(f"Unsupported signal: {sig}")
        try:
            self.poll()
        except StatusLostError:
            pass
        if self.returncode is not None:
            return
        if WINDOWS and sig in (_CTRL_C_EVENT, _CTRL_BREAK_EVENT):
            os.kill(self.pid, sig)
            return
        if WINDOWS:
            sig = _SIGKILL  # terminate = kill = TerminateProcess, as subprocess
        rc = _c.lipc_proc_kill(self._handle(), sig, 1 if group else 0)
        if rc == _const.ENOENT:
            return  # exited, not yet waited for: as subprocess, not an error
        _check(rc, "kill")

    def terminate(self, group: bool = False) -> None:
        """SIGTERM (Windows: TerminateProcess, as kill())."""
        self.send_signal(signal.SIGTERM, group)

    def kill(self, group: bool = False) -> None:
        """SIGKILL (Windows: TerminateProcess, as terminate())."""
        self.send_signal(_SIGKILL, group)

    def killpg(self, sig: int = signal.SIGTERM) -> None:
        """sig to the child's process group (send_signal(sig, group=True))."""
        self.send_signal(sig, group=True)

    def stop(self, grace: float = 5.0, group: bool = False) -> int:
        """SIGTERM, then SIGKILL if the child has not exited within grace
        seconds (None or inf: no SIGKILL; the wait lasts as long as lipc
        waits); waits for it and returns returncode."""
        dl = deadline(grace)  # checked first: a bad grace is an error even after exit
        if self.returncode is not None:
            return self.returncode
        h = self._handle()
        code, sig = c_int(), c_int()
        while True:
            # Going on after EINTR re-sends SIGTERM (harmless) and waits
            # for what is left of the grace time.
            rc = _c.lipc_proc_stop(h, remaining_grace_ms(dl), 1 if group else 0, byref(code), byref(sig))
            if rc != _const.EINTR:
                break
        _check(rc, "stop")
        return self._set_status(code.value, sig.value)

    # -- figures -------------------------------------------------------------

    def pidfd(self) -> int:
        """The child's pidfd (owned by this object): readable once the child
        has exited, for select/poll/lipc.wait_fds. Once asked for, it stays
        open until close(); a child reaped (waited for) before it was asked
        for has none: ProcessLookupError."""
        v = c_int64()
        _check(_c.lipc_proc_info(self._handle(), _const.PROC_PIDFD, byref(v)), "proc_info",
               _NO_PIDFD)
        return v.value

    def info(self) -> ProcInfo:
        """CPU times, peak and current RSS, and the exit (reaping the child
        first if it has exited)."""
        h = self._handle()
        try:
            self.poll()
        except StatusLostError:
            pass
        # All figures in one C call (issue 12: fewer calls a child). A
        # figure that is not there now (EAGAIN), here (ENOTSUP) or any more
        # (ESTATUSLOST) is None; no other code can come back for these.
        values, rcs = _InfoValues(), _InfoCodes()
        _check(_proc_info_many(h, _INFO_WHAT, values, rcs, _INFO_N), "proc_info_many")
        codes = rcs[:]  # slices: one conversion each, not one an element
        if not _INFO_OK.issuperset(codes):
            _info_error(codes)
        running, code, sig, core, ut, st, rss, maxrss = [v if c == 0 else None for v, c in zip(values[:], codes)]
        return _new_info(pid=self.pid, running=bool(running), returncode=self.returncode, exit_code=code,
                         signal=sig, core_dumped=None if core is None else bool(core),
                         utime=None if ut is None else ut / 1e6, stime=None if st is None else st / 1e6,
                         maxrss_kb=maxrss, rss_kb=rss)

    # -- communicate ---------------------------------------------------------

    # Returns (stdout, stderr), each Optional[AnyStr]; typed Any as typeshed
    # types subprocess's, so code written for it type-checks unchanged.
    def communicate(self, input: Optional[AnyStr] = None, timeout: Optional[float] = None,
                    max_output: Optional[int] = None) -> Tuple[Any, Any]:
        """Sends input (bytes, or str in text mode) to stdin and closes it,
        reads stdout and stderr to their end, and waits for the child.
        Returns (stdout, stderr): bytes, str in text mode, None for a stream
        that is not a PIPE. Never deadlocks, whatever the child writes.

        TimeoutExpired after timeout seconds, with the output so far; the
        child keeps running, and a later call (after kill(), say) returns
        everything since the first call. max_output caps the bytes kept per
        stream: OutputLimitError past it."""
        out, err = self._communicate_raw(input, timeout, max_output)
        return self._text(out), self._text(err)

    def _text(self, data: Any) -> Any:
        if data is None or not self.text_mode or isinstance(data, str):
            return data
        s = data.decode(self._encoding or "utf-8", self._errors or "strict")
        return s.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as subprocess

    def _input_bytes(self, input: Any) -> bytes:
        # As subprocess: input after communication started is refused, and
        # a later call (after a timeout) goes on with the first one's input.
        if self._comm_input is not None:
            if input:
                raise ValueError("Cannot send input after starting communication")
            return self._comm_input
        if input is None:
            data = b""
        elif self.text_mode:
            if not isinstance(input, str):
                raise TypeError(f"input must be str in text mode, not {type(input).__name__}")
            data = input.encode(self._encoding or "utf-8", self._errors or "strict")
        elif isinstance(input, str):
            raise TypeError("input must be a bytes-like object, not str (or text=True for str)")
        else:
            data = bytes(memoryview(input).cast("B"))
        self._comm_input = data
        return data

    def _communicate_raw(self, input: Any, timeout: Optional[float],
                         max_output: Optional[int]) -> Tuple[Optional[bytes], Optional[bytes]]:
        cap = 0 if max_output is None else to_size(max_output, "max_output")
        if max_output is not None and cap == 0:
            raise ValueError(f"max_output must be a positive number of bytes or None, not {max_output!r}")
        if self._comm_done is not None:
            # A second call after one that finished: the streams were read to
            # their end and closed. As subprocess: input is refused; a lone
            # stdout or stderr pipe, which subprocess reads with .read() (its
            # fast path), was closed: ValueError; else the same output again.
            if input:
                raise ValueError("Cannot send input after starting communication")
            if self._comm_lone_read:
                raise ValueError("read of closed file")
            return self._comm_done
        if self._comm_input is None:
            piped = [fd for fd in (0, 1, 2) if fd in self._pipe_modes]
            self._comm_lone_read = timeout is None and piped in ([1], [2])
        dl = deadline(_sp_timeout(timeout))
        fast = self._fast_streams(timeout)
        if fast is not None:
            return self._communicate_fast(input, *fast)
        with self._lock:
            use_c = self._comm_c or (self._comm_py is None and not self._files)
            if use_c:
                self._comm_c = True
        data = self._input_bytes(input)
        if use_c:
            out, err = self._communicate_c(data, cap, dl, timeout)
        else:
            out, err = self._communicate_py(data, cap, dl, timeout)
        # A PIPE stream gives bytes (b"" if lipc has nothing), any other None,
        # as does one the user set to None (as subprocess).
        piped = [fd in self._pipe_modes and self._assigned.get(fd, True) not in (None, _DELETED) for fd in (1, 2)]
        result = ((out or b"") if piped[0] else None, (err or b"") if piped[1] else None)
        self._comm_done = result
        return result

    def _fast_streams(self, timeout: Optional[float]) -> Optional[Tuple[Any, Any, Any]]:
        """The streams for subprocess's own fast path, when the user replaced
        one (p.stdin = ..., as tests and wrappers do): no timeout, the first
        call, and at most one stream; else None (lipc's paths)."""
        if timeout is not None or self._comm_input is not None or self._comm_c or self._comm_py is not None:
            return None
        if not any(v is not None and v is not _DELETED for v in self._assigned.values()):
            return None
        s0, s1, s2 = (None if self._assigned.get(fd) is _DELETED else self._stream(fd) for fd in (0, 1, 2))
        if (s0 is not None) + (s1 is not None) + (s2 is not None) > 1:
            return None
        return s0, s1, s2

    def _communicate_fast(self, input: Any, stdin: Any, stdout: Any,
                          stderr: Any) -> Tuple[Optional[bytes], Optional[bytes]]:
        self._comm_input = b""
        out = err = None
        if stdin is not None:
            # As subprocess's _stdin_write: a child that does not read is not
            # an error here (BrokenPipeError, EINVAL from a closed pipe).
            for step in ((lambda: stdin.write(input)) if input else None, stdin.close):
                if step is None:
                    continue
                try:
                    step()
                except BrokenPipeError:
                    pass
                except OSError as e:
                    if e.errno != _errno.EINVAL:
                        raise
        elif stdout is not None:
            out = stdout.read()
            stdout.close()
        elif stderr is not None:
            err = stderr.read()
            stderr.close()
        self.wait()
        self._comm_done = (out, err)
        return out, err

    def _communicate_c(self, data: bytes, cap: int, dl: Optional[float],
                       timeout: Optional[float]) -> Tuple[Optional[bytes], Optional[bytes]]:
        h = self._handle()
        olen, elen = c_size_t(), c_size_t()
        # Not in slices (retry_eintr): each call hands back a copy of all it
        # collected, and slicing a big capture would copy it again and again.
        while True:
            out, err = c_void_p(), c_void_p()
            rc = _c.lipc_proc_communicate(h, data or None, len(data), cap, remaining_ms(dl),
                                          byref(out), byref(olen), byref(err), byref(elen))
            o, e = _take_buffer(out, olen), _take_buffer(err, elen)
            if rc != _const.EINTR:  # on EINTR lipc keeps it all: go on
                break
        if rc == _const.ETIMEDOUT:
            raise TimeoutExpired(self.args, timeout, o, e)
        if rc == _const.ERANGE:
            self._comm_input = None
            raise self._limit_error(cap, o, e)
        _check(rc, "communicate")
        self.wait()  # lipc waited: this only reads the status
        return o, e

    def _limit_error(self, cap: int, out: Optional[bytes], err: Optional[bytes]) -> OutputLimitError:
        e = OutputLimitError(_const.ERANGE, f"communicate: output of {self.args!r} passed max_output "
                             f"({cap} bytes)", _errno.ERANGE)
        e.cmd, e.limit, e.output, e.stderr = self.args, cap, out, err
        return e

    def _communicate_py(self, data: bytes, cap: int, dl: Optional[float],
                        timeout: Optional[float]) -> Tuple[Optional[bytes], Optional[bytes]]:
        # Some pipes were handed out as file objects: do what
        # lipc_proc_communicate does, over them (as subprocess does; data
        # already read into their buffers is not seen, as in subprocess).
        st = self._comm_py
        if st is None:
            st = self._comm_py = {"off": 0, 1: bytearray(), 2: bytearray()}
            stdin = self.stdin
            if stdin is not None:
                try:
                    stdin.flush()
                except (BrokenPipeError, ValueError):
                    pass
                if not data:
                    _close_quietly(stdin)
        streams = {fd: self._stream(fd) for fd in (0, 1, 2) if fd in self._pipe_modes}
        if cap and (len(st[1]) > cap or len(st[2]) > cap):
            # An earlier call (a timeout) kept more than this call's cap: past
            # it already, as lipc_proc_communicate says.
            self._comm_py = None
            raise self._limit_error(cap, bytes(st[1][:cap]), bytes(st[2][:cap]))
        buf = create_string_buffer(_READ_CHUNK)
        n = c_size_t()
        while True:
            want: List[Tuple[int, int]] = []
            f0 = streams.get(0)
            if f0 is not None and not f0.closed:
                if st["off"] < len(data):
                    want.append((f0.fileno(), _const.WAIT_WRITE))
                else:
                    _close_quietly(f0)
            for fd in (1, 2):
                f = streams.get(fd)
                if f is not None and not f.closed:
                    want.append((f.fileno(), _const.WAIT_READ))
            if not want:
                break
            ready = wait_fds(want, None if dl is None else max(0.0, remaining_ms(dl) / 1000))
            if not ready:
                raise TimeoutExpired(self.args, timeout, bytes(st[1]), bytes(st[2]))
            by_fd = {f.fileno(): fd for fd, f in streams.items() if f is not None and not f.closed}
            for rfd, _ in ready:
                fd = by_fd[rfd]
                if fd == 0:
                    chunk = data[st["off"]:st["off"] + _PIPE_BUF]
                    rc = _c.lipc_fd_write(to_lipc(rfd), chunk, len(chunk), 0, byref(n))
                    st["off"] += n.value
                    if rc == _const.ECLOSED:  # the child does not read: drop the rest
                        st["off"] = len(data)
                    elif rc not in (_const.OK, _const.EINTR, _const.ETIMEDOUT):
                        _check(rc, "communicate: write")
                    continue
                rc = _c.lipc_fd_read(to_lipc(rfd), buf, _READ_CHUNK, 0, byref(n))
                if rc in (_const.EINTR, _const.ETIMEDOUT):
                    continue
                _check(rc, "communicate: read")
                if n.value == 0:
                    _close_quietly(streams[fd])
                    continue
                st[fd] += buf.raw[:n.value]
                if cap and len(st[fd]) > cap:
                    self._comm_py = None  # the collection ends here, as in C
                    raise self._limit_error(cap, bytes(st[1][:cap]), bytes(st[2][:cap]))
        try:
            self.wait(None if dl is None else max(0.0, remaining_ms(dl) / 1000))
        except TimeoutExpired as e:
            e.output, e.stderr = bytes(st[1]), bytes(st[2])
            raise
        return bytes(st[1]), bytes(st[2])

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Closes the pipes and the handle. A child still running is left
        running or stopped as on_close says; lipc reaps it either way (no
        zombie). Idempotent; returncode stays readable."""
        for f in list(self._files.values()):
            _close_quietly(f)
        super().close()

    def __enter__(self) -> Popen[AnyStr]:
        return self

    def __exit__(self, exc_type: Any, value: Any, tb: Any) -> None:
        # As subprocess: close stdout and stderr, then stdin, whose flush may
        # fail (BrokenPipeError when the child did not read it all); that
        # error is raised, after the wait, and nothing is dropped silently.
        try:
            for fd in (1, 2):
                f = self._files.get(fd)
                if f is not None:
                    _close_quietly(f)
            f0 = self._files.get(0)
            if f0 is not None:
                f0.close()
            elif 0 in self._pipe_modes and self._h is not None:
                _c.lipc_proc_close_fd(self._h, 0)  # EOF; not taken or already closed: no error
        finally:
            try:
                if exc_type is None or not issubclass(exc_type, KeyboardInterrupt):
                    if self._h is not None:
                        self.wait()
            finally:
                self.close()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # Closing the handle hands a running child to lipc, which reaps it
        # when it exits (or stops it, as on_close says): no zombie is left.
        # A child still running is worth a warning, as subprocess gives. The
        # handle is closed first: a warning recorded with source=self keeps
        # this object alive, and the child must not wait for that.
        if getattr(self, "_h", None) is None:
            return
        try:
            running = self.returncode is None and self.poll() is None
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            running = False
        try:
            _Handle.close(self)
        except Exception:  # noqa: BLE001
            pass
        if running:
            _warn(f"subprocess {self.pid} is still running", ResourceWarning, source=self)

    def __repr__(self) -> str:
        return f"<lipc.Popen: returncode: {self.returncode} args: {self.args!r}>"


def _close_quietly(f: Any) -> None:
    try:
        f.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _name_the_file(e: Error, argv: Sequence[Any], shell: bool, executable: Any, cwd: Any,
                   stdio: Tuple[Any, Any, Any], fds: Optional[Mapping[int, Any]]) -> None:
    """Sets e.filename to what the failure was about, as subprocess does:
    the working directory, a File of the fd map, or the program."""
    if isinstance(e, InvalidArgumentError):
        return
    msg = e.message
    if cwd is not None and "working directory" in msg:
        e.filename = cwd
        return
    for spec in list(stdio) + list((fds or {}).values()):
        if isinstance(spec, File) and f'open "{os.fsdecode(spec.cpath)}"' in msg:
            e.filename = spec.path
            return
    if executable is not None:
        e.filename = executable
    elif shell:
        e.filename = "/bin/sh"
    elif argv:
        e.filename = argv[0]


def wait_any(objects: Iterable[Any], timeout: Optional[float] = None) -> List[Any]:
    """Waits until any of objects is ready; returns those that are, in the
    order given ([] when timeout seconds pass), like
    multiprocessing.connection.wait. A Popen is ready when its child has
    exited (it is reaped, so returncode is set); a pipe or other file
    object (or fd) when readable, or writable if it is a write-only file.
    Waits in C on the pidfds and fds at once."""
    objs = list(objects)
    done = [o for o in objs if isinstance(o, Popen) and o.returncode is not None]
    if done:
        return done
    want: List[Tuple[int, int, bool]] = []
    for o in objs:
        if isinstance(o, Popen):
            try:
                want.append((o.pidfd(), _const.WAIT_READ, True))
            except ProcessLookupError:  # reaped by another thread since the check above
                try:
                    o.poll()
                except StatusLostError:
                    pass
                return [x for x in objs if isinstance(x, Popen) and (x is o or x.returncode is not None)]
            continue
        ev = _const.WAIT_READ
        writable, readable = getattr(o, "writable", None), getattr(o, "readable", None)
        if callable(writable) and callable(readable) and writable() and not readable():
            ev = _const.WAIT_WRITE
        want.append((fileno(o), ev, False))
    ready = {t.i for t, _ in wait_fds([(_Tag(i, fd, raw), ev) for i, (fd, ev, raw) in enumerate(want)],
                                      timeout)}
    out = [objs[i] for i in sorted(ready)]
    for o in out:
        if isinstance(o, Popen):
            try:
                o.poll()
            except StatusLostError:
                pass
    return out


_CREATE_NEW_PROCESS_GROUP = 0x00000200
_SIGKILL = int(getattr(signal, "SIGKILL", 9))
# Windows' console control events (signal.CTRL_C_EVENT, CTRL_BREAK_EVENT
# exist there only); -1 elsewhere, so they match no signal.
_CTRL_C_EVENT = int(getattr(signal, "CTRL_C_EVENT", -1)) if WINDOWS else -1
_CTRL_BREAK_EVENT = int(getattr(signal, "CTRL_BREAK_EVENT", -1)) if WINDOWS else -1


def _windows_flags(startupinfo: Any, creationflags: int) -> bool:
    """Checks Popen's Windows-only startupinfo and creationflags; returns
    whether a new process group was asked for. Elsewhere both are refused
    as subprocess refuses them. On Windows lipc takes creationflags'
    CREATE_NEW_PROCESS_GROUP (the group CTRL_BREAK_EVENT reaches) and a
    STARTUPINFO that asks for nothing (all zero, as STARTUPINFO() makes
    it); any other flag or field raises NotImplementedError naming it,
    never silently ignored (lipc's CreateProcessW call owns the standard
    handles, the console and the handle list)."""
    if not WINDOWS:
        if startupinfo is not None:
            raise ValueError("startupinfo is only supported on Windows platforms")
        if creationflags != 0:
            raise ValueError("creationflags is only supported on Windows platforms")
        return False
    flags = to_int(creationflags, "creationflags")
    other = flags & ~_CREATE_NEW_PROCESS_GROUP
    if other:
        raise NotImplementedError(
            f"creationflags {other:#x}: lipc supports only CREATE_NEW_PROCESS_GROUP on Windows "
            "(the console, priority and detaching flags are not lipc's)")
    if startupinfo is not None:
        used = [f for f in ("dwFlags", "hStdInput", "hStdOutput", "hStdError", "wShowWindow")
                if getattr(startupinfo, f, None)]
        if getattr(startupinfo, "lpAttributeList", None):
            if any(v for v in startupinfo.lpAttributeList.values()):
                used.append("lpAttributeList")
        if used:
            raise NotImplementedError(
                f"startupinfo {', '.join(used)}: lipc does not take a STARTUPINFO on Windows; use "
                "stdin=, stdout=, stderr= (and fds=) for the child's handles")
    return bool(flags & _CREATE_NEW_PROCESS_GROUP)


class _Tag:
    """An fd that remembers its position (wait_fds hands objects back)."""

    __slots__ = ("i", "fd", "_lipc_fd")

    def __init__(self, i: int, fd: int, raw: bool = False) -> None:
        self.i, self.fd = i, fd
        self._lipc_fd = raw  # a pidfd: lipc's own fd (on Windows a process HANDLE), never converted

    def fileno(self) -> int:
        return self.fd


# The same overloads as Popen's: CompletedProcess[str] in text mode, else
# CompletedProcess[bytes] (typeshed's subprocess.run).
@overload
def run(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stdout: _FILE = ..., stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ...,
        close_fds: bool = ..., shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[str] = ..., capture_output: bool = ...,
        timeout: Optional[float] = ..., check: bool = ..., max_output: Optional[int] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ...,
        errors: Optional[str] = ..., text: Literal[True], umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> CompletedProcess[str]: ...
@overload
def run(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stdout: _FILE = ..., stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ...,
        close_fds: bool = ..., shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[str] = ..., capture_output: bool = ...,
        timeout: Optional[float] = ..., check: bool = ..., max_output: Optional[int] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: str, errors: Optional[str] = ...,
        text: Optional[bool] = ..., umask: int = ..., pipesize: int = ..., process_group: Optional[int] = ...,
        fds: Optional[Mapping[int, Any]] = ..., rlimits: Optional[Mapping[Any, Any]] = ...,
        autokill: Any = ..., on_close: str = ..., on_close_grace: float = ...,
        extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> CompletedProcess[str]: ...
@overload
def run(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stdout: _FILE = ..., stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ...,
        close_fds: bool = ..., shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[str] = ..., capture_output: bool = ...,
        timeout: Optional[float] = ..., check: bool = ..., max_output: Optional[int] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ..., errors: str,
        text: Optional[bool] = ..., umask: int = ..., pipesize: int = ..., process_group: Optional[int] = ...,
        fds: Optional[Mapping[int, Any]] = ..., rlimits: Optional[Mapping[Any, Any]] = ...,
        autokill: Any = ..., on_close: str = ..., on_close_grace: float = ...,
        extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> CompletedProcess[str]: ...
@overload
def run(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stdout: _FILE = ..., stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ...,
        close_fds: bool = ..., shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., *,
        universal_newlines: Literal[True], startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., input: Optional[str] = ..., capture_output: bool = ...,
        timeout: Optional[float] = ..., check: bool = ..., max_output: Optional[int] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ...,
        errors: Optional[str] = ..., text: Optional[bool] = ..., umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> CompletedProcess[str]: ...
@overload
def run(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stdout: _FILE = ..., stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ...,
        close_fds: bool = ..., shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Literal[False, None] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[_Buffer] = ..., capture_output: bool = ...,
        timeout: Optional[float] = ..., check: bool = ..., max_output: Optional[int] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: None = ..., errors: None = ...,
        text: Literal[False, None] = ..., umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> CompletedProcess[bytes]: ...
@overload
def run(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stdout: _FILE = ..., stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ...,
        close_fds: bool = ..., shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[Any] = ..., capture_output: bool = ...,
        timeout: Optional[float] = ..., check: bool = ..., max_output: Optional[int] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ...,
        errors: Optional[str] = ..., text: Optional[bool] = ..., umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> CompletedProcess[Any]: ...
def run(*popenargs: Any, input: Any = None, capture_output: bool = False, timeout: Optional[float] = None,
        check: bool = False, max_output: Optional[int] = None, **kwargs: Any) -> CompletedProcess[Any]:
    """Runs a command and waits for it, as subprocess.run: returns a
    CompletedProcess (with .info: CPU times and peak memory). input= feeds
    stdin; capture_output=True pipes stdout and stderr; on timeout the child
    is killed, waited for, and TimeoutExpired carries the output it wrote
    until then (what its pipes held when it was killed included; a
    grandchild that keeps them open does not delay the exception);
    check=True raises CalledProcessError (a subprocess.CalledProcessError)
    on a non-zero status. Other arguments go to Popen."""
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = kwargs["stderr"] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            if input is None and max_output is None and not process._pipe_modes:
                # Nothing to feed or collect: communicate would only wait,
                # through one more C call (issue 12: fewer calls a child).
                process.wait(timeout)
                stdout = stderr = None
            else:
                stdout, stderr = process.communicate(input, timeout=timeout, max_output=max_output)
        except TimeoutExpired as exc:
            process.kill()
            process.wait()
            exc.output, exc.stderr = _collect_after_kill(process, exc)
            raise
        except BaseException:
            process.kill()
            raise
        retcode = process.wait()
        info = process.info()
    if check and retcode:
        e = CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
        e.info = info
        raise e
    return CompletedProcess(process.args, retcode, stdout, stderr, info)


def _collect_after_kill(p: Popen[Any], exc: TimeoutExpired) -> Tuple[Any, Any]:
    # lipc kept what was read before the timeout; a second communicate
    # that does not wait (timeout 0) adds what the pipes still hold. A
    # grandchild may hold them open: end of file is not waited for.
    try:
        out, err = p._communicate_raw(None, 0, None)
    except TimeoutExpired as again:
        out, err = again.output, again.stderr
    except (Error, ValueError):
        return exc.output, exc.stderr
    return out, err


def call(*popenargs: Any, timeout: Optional[float] = None, **kwargs: Any) -> int:
    """Runs a command, waits, returns its returncode (subprocess.call)."""
    with Popen(*popenargs, **kwargs) as p:
        try:
            return p.wait(timeout=timeout)
        except BaseException:
            p.kill()
            raise


def check_call(*popenargs: Any, **kwargs: Any) -> int:
    """call(), raising CalledProcessError on a non-zero status."""
    retcode = call(*popenargs, **kwargs)
    if retcode:
        cmd = kwargs.get("args")
        if cmd is None:
            cmd = popenargs[0]
        raise CalledProcessError(retcode, cmd)
    return 0


# str in text mode, else bytes (typeshed's subprocess.check_output).
@overload
def check_output(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ...,
        shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[str] = ..., timeout: Optional[float] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ...,
        errors: Optional[str] = ..., text: Literal[True], umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> str: ...
@overload
def check_output(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ...,
        shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[str] = ..., timeout: Optional[float] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: str, errors: Optional[str] = ...,
        text: Optional[bool] = ..., umask: int = ..., pipesize: int = ..., process_group: Optional[int] = ...,
        fds: Optional[Mapping[int, Any]] = ..., rlimits: Optional[Mapping[Any, Any]] = ...,
        autokill: Any = ..., on_close: str = ..., on_close_grace: float = ...,
        extra_env: Optional[Mapping[Any, Any]] = ..., unset_env: Optional[Iterable[Any]] = ...) -> str: ...
@overload
def check_output(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ...,
        shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[str] = ..., timeout: Optional[float] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ..., errors: str,
        text: Optional[bool] = ..., umask: int = ..., pipesize: int = ..., process_group: Optional[int] = ...,
        fds: Optional[Mapping[int, Any]] = ..., rlimits: Optional[Mapping[Any, Any]] = ...,
        autokill: Any = ..., on_close: str = ..., on_close_grace: float = ...,
        extra_env: Optional[Mapping[Any, Any]] = ..., unset_env: Optional[Iterable[Any]] = ...) -> str: ...
@overload
def check_output(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ...,
        shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ..., *,
        universal_newlines: Literal[True], startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., input: Optional[str] = ..., timeout: Optional[float] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ...,
        errors: Optional[str] = ..., text: Optional[bool] = ..., umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> str: ...
@overload
def check_output(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ...,
        shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Literal[False, None] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[_Buffer] = ..., timeout: Optional[float] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: None = ..., errors: None = ...,
        text: Literal[False, None] = ..., umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> bytes: ...
@overload
def check_output(
        args: _CMD, bufsize: int = ..., executable: Optional[StrPath] = ..., stdin: _FILE = ...,
        stderr: _FILE = ..., preexec_fn: Optional[Callable[[], Any]] = ..., close_fds: bool = ...,
        shell: bool = ..., cwd: Optional[StrPath] = ..., env: Optional[_ENV] = ...,
        universal_newlines: Optional[bool] = ..., startupinfo: Any = ..., creationflags: int = ...,
        restore_signals: Union[bool, Literal['all']] = ..., start_new_session: bool = ...,
        pass_fds: Iterable[Any] = ..., *, input: Optional[Any] = ..., timeout: Optional[float] = ...,
        user: Union[str, int, None] = ..., group: Union[str, int, None] = ...,
        extra_groups: Optional[Iterable[Union[str, int]]] = ..., encoding: Optional[str] = ...,
        errors: Optional[str] = ..., text: Optional[bool] = ..., umask: int = ..., pipesize: int = ...,
        process_group: Optional[int] = ..., fds: Optional[Mapping[int, Any]] = ...,
        rlimits: Optional[Mapping[Any, Any]] = ..., autokill: Any = ..., on_close: str = ...,
        on_close_grace: float = ..., extra_env: Optional[Mapping[Any, Any]] = ...,
        unset_env: Optional[Iterable[Any]] = ...) -> Any: ...
def check_output(*popenargs: Any, timeout: Optional[float] = None, **kwargs: Any) -> Any:
    """run(..., stdout=PIPE, check=True).stdout (subprocess.check_output)."""
    for kw in ("stdout", "check"):
        if kw in kwargs:
            raise ValueError(f"{kw} argument not allowed, it will be overridden.")
    if "input" in kwargs and kwargs["input"] is None:
        text = any(kwargs.get(k) for k in ("universal_newlines", "text", "encoding", "errors"))
        kwargs["input"] = "" if text else b""
    run_: Any = run  # the overloads type callers; here the keywords are passed on as given
    return run_(*popenargs, stdout=PIPE, timeout=timeout, check=True, **kwargs).stdout


def getstatusoutput(cmd: Union[str, bytes, os.PathLike[str], os.PathLike[bytes]], *,
                    encoding: Optional[str] = None, errors: Optional[str] = None) -> Tuple[int, str]:
    """(exitcode, output) of a shell command, stderr included and one
    trailing newline removed (subprocess.getstatusoutput)."""
    try:
        data = check_output(cmd, shell=True, text=True, stderr=STDOUT, encoding=encoding, errors=errors)
        exitcode = 0
    except CalledProcessError as ex:
        data = ex.output
        exitcode = ex.returncode
    if data[-1:] == "\n":
        data = data[:-1]
    return exitcode, data


def getoutput(cmd: Union[str, bytes, os.PathLike[str], os.PathLike[bytes]], *,
              encoding: Optional[str] = None, errors: Optional[str] = None) -> str:
    """The output of a shell command (subprocess.getoutput)."""
    return getstatusoutput(cmd, encoding=encoding, errors=errors)[1]
