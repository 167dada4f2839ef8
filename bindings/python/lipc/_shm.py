"""Named shared memory in the shape of multiprocessing.shared_memory:
``SharedMemory(name, create=False, size=0)`` with ``.buf`` (a zero-copy
memoryview), ``.name``, ``.size``, ``close()`` and ``unlink()``, plus
``grow()``, ``refresh()`` and a file-like view (``file()``).

lipc's "x" is the platform's POSIX shared memory shm_open("/x"), on Linux
the file /dev/shm/x: plain C (shm_open + mmap), Python's mmap module over
/dev/shm/x, multiprocessing.shared_memory.SharedMemory("x") and the other
lipc bindings all see the same bytes.

Differences from multiprocessing.shared_memory:

- ``create=True`` opens the object if it already exists (as lipc's other
  named objects do); add ``exclusive=True`` for multiprocessing's "fail if
  it exists". ``name=None`` with ``create=True`` picks a fresh random name
  (exclusive), as multiprocessing does.
- ``size`` is exact (no rounding up to pages) and must be > 0 to create;
  opening an existing object maps it whole (pass 0).
- It can grow: ``grow(n)`` enlarges the object and maps a larger view here
  at once (``.buf`` and ``.address`` change); other handles (other
  processes) see the new size after ``refresh()``. Views taken before a
  grow or refresh stay valid and show the same bytes until close().
- No resource tracker: nothing unlinks the name behind your back; use
  ``unlink()`` or ``unlink_on_close=True``.
- ``with SharedMemory(...) as shm:`` closes it at the end.

close() while views of the memory are still in use raises BufferError, as
multiprocessing's does; see lipc._memview for the exact rule.
"""
from __future__ import annotations

import secrets
from ctypes import byref, c_int64, c_void_p
from typing import Any, Optional, Tuple

from . import _const
from ._cint import to_int64
from ._errors import ExistsError, _check
from ._lib import lib as _c
from ._memview import _Mapped
from ._named import Name, as_str, check_mode, cname, open_flags, remember, reopen

__all__ = ["SharedMemory", "unlink_shared_memory"]

_FRESH_TRIES = 16


def _fresh_name() -> str:
    """A random name for ``name=None`` (64 bits: a clash is retried, never
    expected)."""
    return f"lipc-{secrets.token_hex(8)}"


def unlink_shared_memory(name: Name) -> None:
    """Removes the shared memory object's name; handles already open keep
    working. NotFoundError (a FileNotFoundError) if there is none."""
    _check(_c.lipc_shm_unlink(cname(name, "shared memory name")), "shm_unlink")


def _addr(h: int) -> Tuple[int, int]:
    p, n = c_void_p(), c_int64()
    _check(_c.lipc_shm_addr(h, byref(p), byref(n)), "shm_addr")
    return p.value or 0, n.value


class SharedMemory(_Mapped):
    """A named shared memory object, mapped read-write.

    ``SharedMemory(name)`` opens an existing one whole (NotFoundError if
    missing); ``create=True`` creates it if missing with ``size`` bytes
    (zeros) and permission bits ``mode``; ``exclusive=True`` fails with
    ExistsError if it exists; ``unlink_on_close`` removes the name when
    this handle, if it created it, closes; ``trust_foreign`` opens an object
    another user owns (see lipc._named).
    """

    def __init__(self, name: Optional[Name] = None, create: bool = False, size: int = 0, *,
                 exclusive: bool = False, mode: int = 0o600, unlink_on_close: bool = False,
                 trust_foreign: bool = False) -> None:
        size = to_int64(size, "size")
        mode = check_mode(mode)
        h = c_int64()
        if name is None:
            if not create:
                raise ValueError("name=None needs create=True (it makes a new object)")
            for _ in range(_FRESH_TRIES):
                name = _fresh_name()
                flags = open_flags(True, True, unlink_on_close)
                try:
                    _check(_c.lipc_shm_open(cname(name), flags, mode, size, byref(h)), "shm_open")
                    break
                except ExistsError:
                    continue
            else:  # pragma: no cover - 16 collisions of 64 random bits
                raise ExistsError(_const.EEXIST, "shm_open: no free random name")
        else:
            flags = open_flags(create, exclusive, unlink_on_close, trust_foreign)
            _check(_c.lipc_shm_open(cname(name, "shared memory name"), flags, mode, size, byref(h)),
                   "shm_open")
        self._name = as_str(name)
        try:
            addr, n = _addr(h.value)
        except BaseException:
            _c.lipc_close(h.value)
            raise
        super().__init__(h.value, addr, n, readonly=False)
        self._trust = bool(trust_foreign)
        remember(self, (type(self), self._name))

    def __reduce__(self) -> Any:
        """Pickles by name: see lipc._named (multiprocessing workers). A
        subclass unpickles as itself, as multiprocessing's SharedMemory does
        (its __init__ is called with the name and ``trust_foreign``)."""
        self._handle()  # a closed one does not pickle (ValueError)
        return reopen, ((type(self), self._name), (self._name,), {"trust_foreign": self._trust})

    @property
    def name(self) -> str:
        """The name as given (or as made up for name=None)."""
        return self._name

    def _remap(self) -> None:
        addr, n = _addr(self._handle())
        if addr != self._addr or n != self._size:
            self._exports.add(addr, n, readonly=False)
            self._addr, self._size = addr, n

    def grow(self, size: int) -> None:
        """Grows the object to ``size`` bytes (never shrinks: other
        processes may be using the end; InvalidArgumentError unless size is
        above the current size) and maps this handle's larger view: ``buf``
        and ``address`` change, earlier views stay valid until close()."""
        size = to_int64(size, "size")
        _check(_c.lipc_shm_grow(self._handle(), size), "shm_grow")
        self._remap()

    def refresh(self) -> int:
        """Maps a larger view if another handle grew the object; returns
        the size now mapped. Earlier views stay valid until close()."""
        n = c_int64()
        _check(_c.lipc_shm_refresh(self._handle(), byref(n)), "shm_refresh")
        if n.value != self._size:
            self._remap()
        return self._size

    def unlink(self) -> None:
        """Removes this object's name (allowed after close()); open handles,
        here and elsewhere, keep working."""
        unlink_shared_memory(self._name)

    def _repr_detail(self) -> str:
        return f"name={self._name!r} size={self._size} "
