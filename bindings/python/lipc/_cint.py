"""Numbers bound for C: every int the binding passes to liblipc goes
through one of these first, because ctypes converts a Python int to a C
integer type by keeping its low bits (``send_signal(2**32 + 9)`` would send
signal 9), and raises ``ctypes.ArgumentError`` for a float or None.

The rule, the same for every argument (it is CPython's own, as ``os.kill``,
``os.umask``, ``mmap.mmap`` and ``fcntl.lockf`` apply it to theirs):

- not an integer (a float, None, a str; anything without ``__index__``):
  TypeError. bool is an int, as everywhere in Python.
- an integer that does not fit the C type: OverflowError.
- a negative integer where the C type is unsigned (a size, a count, an
  initial value, permission bits): ValueError, as ``threading.Semaphore(-1)``
  and ``SharedMemory(size=-1)`` raise.
- a value the C type holds but the call refuses: ValueError, from a check
  here or from the library (InvalidArgumentError is a ValueError).

Timeouts and grace times in seconds are converted to the C API's int64
milliseconds by lipc._timeout, which never overflows: a time too large for
C (more than the 2**31 - 1 seconds the library waits at most) waits as long
as the library can, i.e. forever.
"""
from __future__ import annotations

import operator
from typing import Any

INT_MIN, INT_MAX = -2**31, 2**31 - 1
UINT32_MAX = 2**32 - 1
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
SIZE_MAX = 2**64 - 1


def integer(value: Any, what: str) -> int:
    """value as a Python int (operator.index); TypeError naming `what`."""
    if type(value) is int:
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _signed(value: Any, what: str, lo: int, hi: int, ctype: str) -> int:
    v = integer(value, what)
    if not lo <= v <= hi:
        raise OverflowError(f"{what} {v} does not fit a C {ctype} ({lo}..{hi})")
    return v


def _unsigned(value: Any, what: str, hi: int, ctype: str) -> int:
    v = integer(value, what)
    if v < 0:
        raise ValueError(f"{what} must not be negative, not {v}")
    if v > hi:
        raise OverflowError(f"{what} {v} does not fit a C {ctype} (0..{hi})")
    return v


def to_int(value: Any, what: str) -> int:
    """An int for a C `int` parameter."""
    return _signed(value, what, INT_MIN, INT_MAX, "int")


def to_int64(value: Any, what: str) -> int:
    """An int for a C `int64_t` parameter."""
    return _signed(value, what, INT64_MIN, INT64_MAX, "int64_t")


def to_uint32(value: Any, what: str) -> int:
    """An int for a C `uint32_t` parameter (negative: ValueError)."""
    return _unsigned(value, what, UINT32_MAX, "uint32_t")


def to_size(value: Any, what: str) -> int:
    """An int for a C `size_t` parameter (negative: ValueError)."""
    return _unsigned(value, what, SIZE_MAX, "size_t")
