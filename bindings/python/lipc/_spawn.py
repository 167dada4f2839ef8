"""Spawn attributes: turning Popen's arguments into a lipc spawn-attributes
handle (lipc_spawnattr_*), and the small value types Popen accepts for a
child fd (File, ParentFd) and for resource limits (Resource, RLIMIT_*).

Everything Python can see is wrong (a NUL byte, an fd number out of range,
an unknown resource) raises ValueError or TypeError here, before C; the
rest is checked once, in the library.
"""
from __future__ import annotations

import enum
import os
import signal
import subprocess
import sys
from ctypes import byref, c_int64
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _const
from ._cint import to_int, to_int64, to_uint32
from ._errors import _check, _raise
from ._lib import lib as _c
from ._osfd import WINDOWS, to_lipc
from ._timeout import grace_ms

# The stream constants have subprocess's values, so subprocess.PIPE,
# subprocess.STDOUT and subprocess.DEVNULL work here too.
PIPE = -1
STDOUT = -2
DEVNULL = -3

_MAX_CHILD_FD = 1023
StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()  # as os.fsencode's


def cstr(value: Any, what: str) -> bytes:
    """str, bytes or os.PathLike -> bytes for C (os.fsencode), refusing NUL."""
    if type(value) is str:  # the common case: what os.fsencode does with it, without its checks
        b = value.encode(_FS_ENCODING, _FS_ERRORS)
    else:
        try:
            b = os.fsencode(value)
        except TypeError:
            raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(value).__name__}") from None
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL byte: {value!r}")
    return b


class File:
    """A child fd opened on a file by the child side of the spawn:
    ``stdout=lipc.File("out.log", "a")``. mode is "r", "w" (create,
    truncate), "a" (create, append), "x" (create, must not exist), each
    optionally with "+" (read and write); perm the permission bits of a new
    file. A file that cannot be opened fails the spawn (FileNotFoundError,
    PermissionError, ... with .filename set)."""

    _MODES = {
        "r": _const.FILE_READ,
        "w": _const.FILE_WRITE | _const.FILE_CREATE | _const.FILE_TRUNC,
        "a": _const.FILE_APPEND | _const.FILE_CREATE,
        "x": _const.FILE_WRITE | _const.FILE_CREATE | _const.FILE_EXCL,
    }

    def __init__(self, path: StrPath, mode: str = "r", perm: int = 0o666) -> None:
        self.path = path
        self.cpath = cstr(path, "File path")
        base = mode.replace("b", "").replace("+", "")
        if base not in self._MODES or mode.count("+") > 1:
            raise ValueError(f"File mode must be r, w, a or x, optionally with +, not {mode!r}")
        self.flags = self._MODES[base] | (_const.FILE_READ | _const.FILE_WRITE if "+" in mode else 0)
        self.mode = mode
        self.perm = to_uint32(perm, "File perm")
        if self.perm > 0o7777:
            raise ValueError(f"File perm must be permission bits, not {perm:#o}")

    def __repr__(self) -> str:
        return f"lipc.File({self.path!r}, {self.mode!r})"


class ParentFd:
    """A parent fd given to the child, optionally closed in the parent once
    the child has started (``close=True``: the end of a pipe the parent
    created only to connect two children)."""

    def __init__(self, fd: Any, close: bool = False) -> None:
        self.fd = fileno(fd)
        self.close = bool(close)

    def __repr__(self) -> str:
        return f"lipc.ParentFd({self.fd}, close={self.close})"


class Resource(enum.IntEnum):
    """lipc's resource numbers (LIPC_RLIMIT_*), which are not the resource
    module's: Popen's rlimits takes these, names ("nofile"), or the
    resource module's RLIMIT_* numbers, each mapped by its name."""

    CPU = _const.RLIMIT_CPU
    FSIZE = _const.RLIMIT_FSIZE
    DATA = _const.RLIMIT_DATA
    STACK = _const.RLIMIT_STACK
    CORE = _const.RLIMIT_CORE
    NOFILE = _const.RLIMIT_NOFILE
    AS = _const.RLIMIT_AS
    NPROC = _const.RLIMIT_NPROC
    MEMLOCK = _const.RLIMIT_MEMLOCK


def _host_resources() -> Dict[int, Resource]:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on a POSIX system
        return {}
    return {getattr(resource, f"RLIMIT_{r.name}"): r for r in Resource
            if hasattr(resource, f"RLIMIT_{r.name}")}


_HOST_RESOURCES = _host_resources()


def resource_of(key: Any) -> Resource:
    """A Resource from a Resource, a name ("cpu", "RLIMIT_CPU") or a
    resource-module number."""
    if isinstance(key, Resource):
        return key
    if isinstance(key, str):
        name = key.upper()
        name = name[7:] if name.startswith("RLIMIT_") else name
        try:
            return Resource[name]
        except KeyError:
            raise ValueError(f"unknown resource {key!r}; known: "
                             f"{', '.join(r.name.lower() for r in Resource)}") from None
    if isinstance(key, int) and not isinstance(key, bool):
        try:
            return _HOST_RESOURCES[key]
        except KeyError:
            raise ValueError(f"resource module number {key} is not one lipc can set") from None
    raise TypeError(f"a resource is a name, a lipc.RLIMIT_* or a resource.RLIMIT_*, not {type(key).__name__}")


def _limit(v: Any) -> int:
    if v is None:
        return _const.RLIM_INFINITY
    lim = to_int64(v, "resource limit")
    if lim < -1:
        raise ValueError(f"a resource limit must be >= 0 (or None / RLIM_INFINITY), not {lim}")
    return lim


def limits_of(value: Any) -> Tuple[int, int]:
    """(soft, hard) from an int (both), a pair, or None (unlimited)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"a resource limit pair is (soft, hard), not {value!r}")
        return _limit(value[0]), _limit(value[1])
    v = _limit(value)
    return v, v


def fileno(obj: Any) -> int:
    """An fd from an int or an object with fileno(); TypeError for anything
    else, OverflowError for an int that does not fit a C int."""
    if isinstance(obj, int) and not isinstance(obj, bool):
        return to_int(obj, "fd")
    get = getattr(obj, "fileno", None)
    if get is None:
        raise TypeError(f"expected an fd (int) or an object with fileno(), not {type(obj).__name__}")
    return to_int(get(), "fileno()")


# SIGKILL's number, which Windows' signal module lacks: on Windows lipc reads
# any autokill signal as "terminate with the job object" (include/lipc.h).
SIGKILL = int(getattr(signal, "SIGKILL", 9))


def _signal_number(value: Any) -> int:
    if value is True:
        return SIGKILL
    if value is None or value is False:
        return 0
    return to_int(value, "autokill")


class SpawnAttr:
    """A lipc spawn-attributes handle; each method is one setter. Internal
    and short-lived: Popen closes it in a finally block as soon as the child
    is started, so it carries no finalizer (a weakref.finalize costs more
    than the C calls that fill a plain spawn)."""

    def __init__(self) -> None:
        h = c_int64()
        _check(_c.lipc_spawnattr_new(byref(h)), "spawnattr_new")
        self.handle: int = h.value
        # Windows: C-runtime fds of ParentFd(close=True), closed by Popen
        # once the child runs (closing the HANDLE in lipc would leave the
        # fd dangling over a handle number that may be reused).
        self.close_after: List[int] = []

    def close(self) -> None:
        h, self.handle = self.handle, 0
        if h:
            _check(_c.lipc_close(h), "close")

    def arg(self, a: Any) -> None:
        _check(_spawnattr_arg(self.handle, cstr(a, "argument")), "spawnattr_arg")

    def args(self, argv: Iterable[Any]) -> None:
        """arg() for each, in one loop."""
        h = c_int64(self.handle)  # converted once for all the calls
        for a in argv:
            rc = _spawnattr_arg(h, cstr(a, "argument"))
            if rc:
                _raise(rc, "spawnattr_arg")

    def shell(self, command: Any) -> None:
        _check(_c.lipc_spawnattr_shell(self.handle, cstr(command, "command")), "spawnattr_shell")

    def program(self, path: Any) -> None:
        _check(_c.lipc_spawnattr_set_program(self.handle, cstr(path, "executable")), "set_program")

    def cwd(self, path: Any) -> None:
        _check(_c.lipc_spawnattr_set_cwd(self.handle, cstr(path, "cwd")), "set_cwd")

    def env_clear(self) -> None:
        _check(_c.lipc_spawnattr_env_clear(self.handle), "env_clear")

    def env_set(self, name: Any, value: Any) -> None:
        _check(_c.lipc_spawnattr_env_set(self.handle, cstr(name, "environment name"),
                                         cstr(value, "environment value")), "env_set")

    def env_unset(self, name: Any) -> None:
        _check(_c.lipc_spawnattr_env_unset(self.handle, cstr(name, "environment name")), "env_unset")

    def fd(self, child_fd: int, kind: int, arg: int = 0, path: Optional[bytes] = None,
           flags: int = 0, mode: int = 0) -> None:
        _check(_spawnattr_set_fd(self.handle, child_fd, kind, arg, path, flags, mode), "set_fd")

    def set_int(self, setter: str, *values: int) -> None:
        _check(getattr(_c, f"lipc_spawnattr_{setter}")(self.handle, *values), setter)


_spawnattr_arg = _c.lipc_spawnattr_arg
_spawnattr_set_fd = _c.lipc_spawnattr_set_fd
_spawnattr_set_sigdefault = _c.lipc_spawnattr_set_sigdefault


def _fd_spec(attr: SpawnAttr, child_fd: int, spec: Any, what: str) -> Optional[str]:
    """Maps child_fd as spec says; returns "r"/"w" for a pipe Popen reads or
    writes, else None."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = to_int(spec, what)  # an fd, PIPE, DEVNULL or STDOUT: a C int
    if spec is None:
        attr.fd(child_fd, _const.FD_INHERIT if child_fd <= 2 else _const.FD_CLOSE)
    elif isinstance(spec, File):
        attr.fd(child_fd, _const.FD_FILE, 0, spec.cpath, spec.flags, spec.perm)
    elif isinstance(spec, ParentFd):
        if WINDOWS:
            attr.fd(child_fd, _const.FD_PARENT, to_lipc(spec.fd, what))
            if spec.close:
                attr.close_after.append(spec.fd)
        else:
            attr.fd(child_fd, _const.FD_PARENT, spec.fd, None, _const.FD_CLOSE_PARENT if spec.close else 0)
    elif isinstance(spec, int) and not isinstance(spec, bool) and spec < 0:
        if spec == PIPE:
            if child_fd > 2:
                raise ValueError(f"{what}: PIPE is for stdin, stdout and stderr only")
            attr.fd(child_fd, _const.FD_PIPE_IN if child_fd == 0 else _const.FD_PIPE_OUT)
            return "w" if child_fd == 0 else "r"
        if spec == DEVNULL:
            attr.fd(child_fd, _const.FD_NULL)
        elif spec == STDOUT:
            if child_fd != 2:
                raise ValueError(f"{what}: STDOUT is for stderr only")
            attr.fd(2, _const.FD_CHILD, 1)
        else:
            raise ValueError(f"{what}: {spec} is not an fd, PIPE, DEVNULL or STDOUT")
    else:
        fd = fileno(spec)
        if fd < 0:
            raise ValueError(f"{what}: {spec!r} has no open fd")
        # A number that is no open fd: OSError EBADF, as subprocess's child
        # reports it (lipc would call it a bad fd map, EINVAL).
        os.fstat(fd)
        attr.fd(child_fd, _const.FD_PARENT, to_lipc(fd, what))
    return None


def _child_fd(n: Any, what: str) -> int:
    fd = to_int(n, f"{what}: child fd")
    if not 0 <= fd <= _MAX_CHILD_FD:
        raise ValueError(f"{what}: child fd {fd} is out of range 0..{_MAX_CHILD_FD}")
    return fd


_MAX_ID = 2**32 - 2  # (uid_t)-1 means "no change" to the kernel


def _id_of(value: Any, what: str, lookup: Any, field: str, too_big: type = OverflowError) -> int:
    """A uid or gid from an int or a name (looked up as subprocess does):
    ValueError when negative, too_big (subprocess's: OverflowError for
    user= and group=, ValueError in extra_groups=) above the kernel's."""
    if isinstance(value, str):
        return int(getattr(lookup(value), field))
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{what} ID cannot be negative, got {value}")
        if value > _MAX_ID:
            raise too_big(f"{what} ID {value} is greater than maximum ({_MAX_ID})")
        return value
    raise TypeError(f"{what} must be an integer or a string, not {type(value).__name__}")


def credentials(user: Any, group: Any, extra_groups: Optional[Iterable[Any]]
                ) -> Tuple[Optional[int], Optional[int], Optional[List[int]]]:
    """(uid, gid, [gid, ...]) from Popen's user=, group= and extra_groups=
    (ints or names), None where not asked, checked as subprocess checks
    them."""
    uid = gid = None
    gids: Optional[List[int]] = None
    if sys.platform == "win32":  # as subprocess on Windows
        for value, what in ((group, "group"), (extra_groups, "extra_groups"), (user, "user")):
            if value is not None:
                raise ValueError(f"The '{what}' parameter is not supported on the current platform")
    else:
        if group is not None or extra_groups is not None:
            import grp
            if group is not None:
                gid = _id_of(group, "Group", grp.getgrnam, "gr_gid")
            if extra_groups is not None:
                gids = [_id_of(g, "Group", grp.getgrnam, "gr_gid", ValueError) for g in extra_groups]
        if user is not None:
            import pwd
            uid = _id_of(user, "User", pwd.getpwnam, "pw_uid")
    return uid, gid, gids


# What CPython ignores for itself, and its subprocess resets with
# restore_signals=True (SIGXFZ exists on no Linux).
RUNTIME_IGNORED = tuple(int(getattr(signal, n)) for n in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, n))


def build(attr: SpawnAttr, argv: Sequence[Any], *, shell: bool, executable: Any, stdio: Tuple[Any, Any, Any],
          fds: Optional[Mapping[int, Any]], pass_fds: Iterable[Any], cwd: Any, env: Optional[Mapping[Any, Any]],
          extra_env: Optional[Mapping[Any, Any]], unset_env: Optional[Iterable[Any]], umask: int,
          start_new_session: bool, process_group: Optional[int], rlimits: Optional[Mapping[Any, Any]],
          autokill: Any, on_close: Any, on_close_grace: float, close_fds: bool = True,
          restore_signals: Any = True, pipesize: int = -1, user: Optional[int] = None,
          group: Optional[int] = None, extra_groups: Optional[Sequence[int]] = None,
          new_process_group: bool = False) -> Dict[int, str]:
    """Fills attr from Popen's arguments; returns {child fd: "r"/"w"} for the
    pipes Popen will hand out.

    On Windows, as subprocess there: shell=True runs the command with
    cmd.exe (lipc_spawnattr_shell; a list is joined with list2cmdline
    first, an executable given is the shell run as `executable /c command`);
    pass_fds is refused (ValueError: a child has no fd numbers above 2);
    umask, start_new_session, process_group and restore_signals are ignored
    (no such things there); new_process_group (creationflags'
    CREATE_NEW_PROCESS_GROUP) asks lipc for a group of the child's own, the
    one CTRL_BREAK_EVENT reaches."""
    argv = list(argv)
    if WINDOWS:
        pass_fds = tuple(pass_fds)
        if pass_fds:
            raise ValueError("pass_fds is not supported on Windows (a Windows child has stdin, stdout and "
                             "stderr only; pass other handles by value)")
        umask, start_new_session, process_group, restore_signals = -1, False, None, False
        if new_process_group:
            process_group = 0
    if shell and WINDOWS:
        if not argv:
            raise ValueError("shell=True needs a command")
        command = argv[0] if len(argv) == 1 and isinstance(argv[0], (str, bytes)) else \
            subprocess.list2cmdline([os.fsdecode(a) for a in argv])
        if executable is None:
            attr.shell(command)
        else:
            for a in (executable, "/c", command):
                attr.arg(a)
    elif shell:
        if not argv:
            raise ValueError("shell=True needs a command")
        # As subprocess: [executable or /bin/sh, "-c", command, $0, $1...],
        # so a shell given as executable sees itself as argv[0] (bash run
        # as /bin/sh would go into POSIX mode).
        shell_argv = [executable if executable is not None else "/bin/sh", "-c", argv[0], *argv[1:]]
        attr.args(shell_argv)
    else:
        attr.args(argv)
    if executable is not None:
        attr.program(executable)
    if cwd is not None:
        attr.cwd(cwd)
    if env is not None:
        attr.env_clear()
        for k, v in env.items():
            attr.env_set(k, v)
    if extra_env:
        for k, v in extra_env.items():
            attr.env_set(k, v)
    if unset_env:
        for k in unset_env:
            attr.env_unset(k)
    if not close_fds:
        attr.set_int("set_keep_fds", 1)
    if restore_signals == "all":
        attr.set_int("set_sigreset", _const.SIGRESET_ALL)
    elif restore_signals:
        h = c_int64(attr.handle)
        for sig in RUNTIME_IGNORED:
            rc = _spawnattr_set_sigdefault(h, sig, 1)
            if rc:
                _raise(rc, "set_sigdefault")
    if pipesize > 0:
        attr.set_int("set_pipesize", pipesize)
    if extra_groups is not None:
        attr.set_int("groups_clear")
        for g in extra_groups:
            attr.set_int("groups_add", g)
    if group is not None:
        attr.set_int("set_group", group)
    if user is not None:
        attr.set_int("set_user", user)

    pipes: Dict[int, str] = {}
    mapped: Dict[int, str] = {}
    for n in pass_fds:
        fd = _child_fd(fileno(n), "pass_fds")
        if fd <= 2:
            raise ValueError(f"pass_fds: {fd} is a standard stream: use stdin=, stdout= or stderr=")
        mapped[fd] = "pass_fds"
        attr.fd(fd, _const.FD_PARENT, fd)
    for n, spec in (fds or {}).items():
        fd = _child_fd(n, "fds")
        if fd in mapped:
            raise ValueError(f"child fd {fd} is given twice (fds and {mapped[fd]})")
        mapped[fd] = "fds"
        if _fd_spec(attr, fd, spec, f"fds[{fd}]"):
            raise ValueError(f"fds[{fd}]: PIPE is for stdin, stdout and stderr only")
    for fd, (name, spec) in enumerate(zip(("stdin", "stdout", "stderr"), stdio)):
        if spec is None:  # inherited, or given by fds
            continue
        if fd in mapped:
            raise ValueError(f"child fd {fd} is given twice ({name} and fds)")
        kind = _fd_spec(attr, fd, spec, name)
        if kind:
            pipes[fd] = kind

    if umask != -1:
        attr.set_int("set_umask", to_int(umask, "umask"))
    if start_new_session:
        attr.set_int("set_setsid", 1)
    if process_group is not None:
        attr.set_int("set_pgroup", to_int64(process_group, "process_group"))
    if rlimits:
        for key, value in rlimits.items():
            soft, hard = limits_of(value)
            attr.set_int("set_rlimit", int(resource_of(key)), soft, hard)
    if autokill is not None:
        sig = _signal_number(autokill)
        if sig:
            attr.set_int("set_autokill", sig)
    policy = _ON_CLOSE.get(on_close, on_close)
    if policy not in (_const.ON_CLOSE_LEAVE, _const.ON_CLOSE_STOP):
        raise ValueError(f"on_close must be 'leave' or 'stop', not {on_close!r}")
    if policy == _const.ON_CLOSE_STOP or type(on_close_grace) is not float or not 0.0 <= on_close_grace:
        # Checked whatever the policy (a plain float >= 0, the default's
        # kind, cannot be wrong: inf and any length are fine).
        grace = grace_ms(on_close_grace, "on_close_grace")
        if policy == _const.ON_CLOSE_STOP:
            attr.set_int("set_on_close", policy, grace)
    return pipes


_ON_CLOSE = {"leave": _const.ON_CLOSE_LEAVE, "stop": _const.ON_CLOSE_STOP}
