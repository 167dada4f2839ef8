"""What every named object (semaphores, mutexes, events, shared memory)
shares: the name as C sees it, the open flags, the permission bits.

Only what C cannot see is checked here (a NUL byte, the Python types); the
name rule itself is checked in one place, the library, whose
InvalidArgumentError says which rule was broken."""
from __future__ import annotations

import os
from typing import Union

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


def open_flags(create: bool, exclusive: bool, unlink_on_close: bool) -> int:
    """LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE as asked."""
    if exclusive and not create:
        raise ValueError("exclusive=True needs create=True")
    return ((_const.CREATE if create else 0) | (_const.EXCL if exclusive else 0) |
            (_const.UNLINK_ON_CLOSE if unlink_on_close else 0))


def check_mode(mode: int, what: str = "mode") -> int:
    """Permission bits 0..0o777 (0 means the library's default). TypeError
    for a non-integer, OverflowError past uint32_t, ValueError otherwise."""
    mode = to_uint32(mode, what)
    if mode > 0o777:
        raise ValueError(f"mode must be permission bits in 0..0o777, not {mode:#o}")
    return mode
