"""What every named object (semaphores, mutexes, events, shared memory)
shares: the name as C sees it, the open flags, the permission bits.

Opening an existing object that another user owns raises
PermissionDeniedError unless ``trust_foreign=True`` (LIPC_TRUST_FOREIGN):
anyone can create a file under any name in /dev/shm first, so a name is
trusted only when this process's user made it. An object that is not a
valid object of its kind raises InvalidArgumentError (a ValueError), even
when trusted. ``mode`` goes through the umask, as os.open's does.

Only what C cannot see is checked here (a NUL byte, the Python types); the
name rule itself is checked in one place, the library, whose
InvalidArgumentError says which rule was broken."""
from __future__ import annotations

import os
import weakref
from typing import Any, Dict, Tuple, Union

from . import _const
from ._cint import to_uint32

Name = Union[str, bytes]


def cname(name: Name, what: str = "name") -> bytes:
    """The name as bytes for C; ValueError for a NUL byte."""
    b = os.fsencode(name)
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL byte")
    return b


def as_str(name: Name) -> str:
    return name if isinstance(name, str) else os.fsdecode(name)


def open_flags(create: bool, exclusive: bool, unlink_on_close: bool,
               trust_foreign: bool = False) -> int:
    """LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE | LIPC_TRUST_FOREIGN
    as asked."""
    if exclusive and not create:
        raise ValueError("exclusive=True needs create=True")
    return ((_const.CREATE if create else 0) | (_const.EXCL if exclusive else 0) |
            (_const.UNLINK_ON_CLOSE if unlink_on_close else 0) |
            (_const.TRUST_FOREIGN if trust_foreign else 0))


def check_mode(mode: int, what: str = "mode") -> int:
    """Permission bits 0..0o777 (0 means the library's default). TypeError
    for a non-integer, OverflowError past uint32_t, ValueError otherwise."""
    mode = to_uint32(mode, what)
    if mode > 0o777:
        raise ValueError(f"mode must be permission bits in 0..0o777, not {mode:#o}")
    return mode


# ---- pickling by name --------------------------------------------------------
#
# A lipc object pickles as its name (or a lock's path) and the way it was
# opened, as multiprocessing.shared_memory.SharedMemory does: unpickling opens
# it again, never creating it and never unlinking it on close, with a handle of
# its own. That is what hands objects to multiprocessing's "spawn" and
# "forkserver" workers. A worker started by "fork" inherited the parent's
# objects: unpickling there returns the inherited object itself (one it
# did not inherit it opens by name, which lipc does in C there).

_opened: "weakref.WeakValueDictionary[Tuple[Any, ...], Any]" = weakref.WeakValueDictionary()


def remember(obj: Any, key: Tuple[Any, ...]) -> None:
    """Records an object just opened under key (its class first), in the
    process that opened it."""
    obj._pickle_key = key
    obj._opened_in = os.getpid()
    _opened[key] = obj


def reopen(key: Tuple[Any, ...], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    """Unpickles an object: the one a fork child inherited, else opened
    again as key[0](*args, **kwargs)."""
    inherited = _opened.get(key)
    if inherited is not None and not inherited.closed and inherited._opened_in != os.getpid():
        return inherited
    return key[0](*args, **kwargs)
