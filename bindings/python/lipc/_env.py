"""The process environment as C sees it (lipc_env_*), and quoting of
command lines (lipc_quote_*).

os.environ is a copy made at start-up that writes through to C (putenv), so
``os.environ["X"] = "1"`` reaches every child lipc starts. These helpers act
on the C environ directly, as C code, LuaJIT or Lisp in the same process
would see it: lipc.setenv() reaches children too, but does not update
os.environ (Python never re-reads the C environ). Like setenv itself, they
are not safe against another thread reading the environment at the moment.
Names and values are str (os.fsencode / os.fsdecode, as os.environ).
"""
from __future__ import annotations

import os
from ctypes import byref, c_size_t, c_void_p, create_string_buffer, string_at
from typing import Callable, Dict, List, Optional, TypeVar

from . import _const
from ._errors import _check
from ._lib import lib as _c
from ._spawn import cstr

AnyStr = TypeVar("AnyStr", str, bytes)


def _into_buffer(call: Callable[..., int], arg: bytes, what: str, size: int = 256) -> Optional[bytes]:
    """Calls a (arg, buf, size, &needed) function, growing buf to fit;
    None for LIPC_ENOENT."""
    need = c_size_t()
    while True:
        buf = create_string_buffer(size)
        rc = call(arg, buf, size, byref(need))
        if rc == _const.ERANGE and need.value > size:
            size = need.value
            continue
        if rc == _const.ENOENT:
            return None
        _check(rc, what)
        return buf.raw[:need.value - 1]


def getenv(name: str, default: Optional[str] = None) -> Optional[str]:
    """The C environ's value of name, or default if unset."""
    v = _into_buffer(_c.lipc_env_get, cstr(name, "name"), "env_get")
    return default if v is None else os.fsdecode(v)


def setenv(name: str, value: str) -> None:
    """Sets name in the C environ (children started after see it).
    ValueError for an empty name or one with '='."""
    _check(_c.lipc_env_set(cstr(name, "name"), cstr(value, "value")), "env_set")


def unsetenv(name: str) -> None:
    """Removes name from the C environ (no error if unset)."""
    _check(_c.lipc_env_unset(cstr(name, "name")), "env_unset")


def environ_list() -> List[str]:
    """Every "NAME=value" entry of the C environ, in its order."""
    block, n = c_void_p(), c_size_t()
    _check(_c.lipc_env_list(byref(block), byref(n)), "env_list")
    try:
        raw = string_at(block.value, n.value) if block.value else b""
    finally:
        _c.lipc_free(block)
    return [os.fsdecode(e) for e in raw.split(b"\0")[:-1]]


def environ_dict() -> Dict[str, str]:
    """The C environ as a dict (the first entry wins for a repeated name)."""
    out: Dict[str, str] = {}
    for entry in environ_list():
        name, _, value = entry.partition("=")
        out.setdefault(name, value)
    return out


def _quote_bytes(fn: Callable[..., int], b: bytes, what: str) -> bytes:
    if b"\0" in b:
        raise ValueError(f"{what}: argument contains a NUL byte")
    q = _into_buffer(fn, b, what, size=len(b) * 2 + 8)
    assert q is not None
    return q


def _quote(fn: Callable[..., int], arg: AnyStr, what: str) -> AnyStr:
    if isinstance(arg, str):
        return _quote_bytes(fn, arg.encode("utf-8", "surrogateescape"), what).decode("utf-8", "surrogateescape")
    return _quote_bytes(fn, bytes(arg), what)


def quote_sh(arg: AnyStr) -> AnyStr:
    """arg quoted for a POSIX shell (as shlex.quote): unchanged if safe,
    else in single quotes."""
    return _quote(_c.lipc_quote_sh, arg, "quote_sh")


def quote_win(arg: AnyStr) -> AnyStr:
    """arg quoted for a Windows command line (CommandLineToArgvW / the MSVC
    runtime), as subprocess.list2cmdline quotes one argument."""
    return _quote(_c.lipc_quote_win, arg, "quote_win")


def quote_cmd(arg: AnyStr) -> AnyStr:
    """arg quoted for cmd.exe (a .bat or .cmd file): quote_win, then cmd's
    metacharacters and % escaped (CVE-2024-24576). ValueError for a newline
    or carriage return, which cmd.exe cannot pass."""
    return _quote(_c.lipc_quote_cmd, arg, "quote_cmd")
