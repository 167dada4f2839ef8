"""Memory-mapped files: ``MappedFile(path, mode, offset, length)`` with a
zero-copy ``.buf`` memoryview, ``flush()``, ``advise()`` and a file-like
view (``file()``), in the spirit of the mmap module.

mode (mmap's access):
  "r"  read-only (``.buf`` is a read-only memoryview)     mmap.ACCESS_READ
  "w"  read-write, shared: writes reach the file and every
       other process that maps it                          mmap.ACCESS_WRITE
  "c"  copy-on-write: writes stay private to this mapping  mmap.ACCESS_COPY

``offset`` must be a multiple of ``page_size()`` (mmap.ALLOCATIONGRANULARITY
on Linux); ``length`` 0 maps to the end of the file. ``create=True`` creates
a missing file (permission bits ``perms``, 0o644 by default) and
``extend=True`` extends a shorter file with zeros to offset + length; with
neither, an empty file, an offset at or past the end, or a length past the
end is an InvalidArgumentError whose message says which.

SIGBUS: if another process truncates the file while it is mapped, touching
a page past the new end kills this process with SIGBUS (Python cannot catch
it; faulthandler only reports it). No library can turn that into an
exception. Do not truncate files that others have mapped.

close() while views of the memory are in use raises BufferError; see
lipc._memview. ``with MappedFile(...) as m:`` closes it at the end.
"""
from __future__ import annotations

import os
from ctypes import byref, c_int64, c_void_p
from typing import Dict

from . import _const
from ._cint import to_int, to_int64
from ._errors import _check
from ._lib import lib as _c
from ._memview import _Mapped
from ._named import check_mode
from ._types import StrOrBytesPath

__all__ = ["MappedFile", "page_size"]

_ACCESS: Dict[str, int] = {"r": _const.MMAP_READ, "w": _const.MMAP_WRITE, "c": _const.MMAP_COPY}
Path = StrOrBytesPath


def page_size() -> int:
    """The page size: mapping offsets are multiples of it."""
    n = c_int64()
    _check(_c.lipc_page_size(byref(n)), "page_size")
    return n.value


class MappedFile(_Mapped):
    """``MappedFile(path, mode="r", offset=0, length=0, *, create=False,
    extend=False, perms=0o644)``: length bytes of the file at path from
    offset, mapped. See the module docstring."""

    def __init__(self, path: Path, mode: str = "r", offset: int = 0, length: int = 0, *,
                 create: bool = False, extend: bool = False, perms: int = 0o644) -> None:
        if mode not in _ACCESS:
            raise ValueError(f"mode must be 'r', 'w' or 'c', not {mode!r}")
        cpath = os.fsencode(os.fspath(path))
        if b"\0" in cpath:
            raise ValueError("path contains a NUL byte")
        offset, length = to_int64(offset, "offset"), to_int64(length, "length")
        perms = check_mode(perms, "perms")
        flags = (_const.MMAP_CREATE if create else 0) | (_const.MMAP_EXTEND if extend else 0)
        h = c_int64()
        _check(_c.lipc_mmap_open(cpath, _ACCESS[mode], flags, perms, offset, length,
                                 byref(h)), "mmap_open")
        p, n = c_void_p(), c_int64()
        rc = _c.lipc_mmap_addr(h.value, byref(p), byref(n))
        if rc < 0:
            _c.lipc_close(h.value)
            _check(rc, "mmap_addr")
        self._path = path
        self._mode = mode
        self._offset = offset
        super().__init__(h.value, p.value or 0, n.value, readonly=mode == "r")

    @property
    def path(self) -> Path:
        """The path as given."""
        return self._path

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def offset(self) -> int:
        """Where in the file the mapping starts."""
        return self._offset

    def flush(self, offset: int = 0, size: int = 0, *, wait: bool = True) -> None:
        """Writes changes in [offset, offset+size) of the mapping (size 0:
        to its end) back to the file; ``wait=False`` only starts the
        writing. Nothing to do for "r" and "c" mappings.
        InvalidArgumentError for a range outside the mapping."""
        offset, size = to_int64(offset, "offset"), to_int64(size, "size")
        _check(_c.lipc_mmap_flush(self._handle(), offset, size, 0 if wait else 1), "mmap_flush")

    def advise(self, advice: int, start: int = 0, length: int = 0) -> None:
        """Tells the kernel how [start, start+length) (length 0: to the end)
        will be used: ADVISE_NORMAL, _SEQUENTIAL, _RANDOM, _WILLNEED or
        _DONTNEED (which drops the pages: a "c" mapping loses its changes)."""
        advice = to_int(advice, "advice")
        start, length = to_int64(start, "start"), to_int64(length, "length")
        _check(_c.lipc_mmap_advise(self._handle(), start, length, advice), "mmap_advise")

    def _repr_detail(self) -> str:
        return f"path={self._path!r} mode={self._mode!r} offset={self._offset} size={self._size} "
