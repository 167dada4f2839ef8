"""Memory that lipc maps (shared memory, mapped files) as Python buffers:
the zero-copy ``.buf`` memoryviews, the rule that keeps them from ever
pointing at unmapped memory, and MemoryFile, a file-like view.

Views never dangle
------------------
``.buf`` is a memoryview straight over the mapping (no copy): slices write
through, ``numpy.frombuffer(m.buf, ...)`` and ``ctypes.c_char.from_buffer``
work on it. What happens to the views when the mapping goes away:

- ``close()`` while a view of the memory is still in use (a slice, a cast,
  a numpy array, a MemoryFile, ``ctypes ... from_buffer``) raises
  BufferError and closes nothing, as multiprocessing.shared_memory's
  close() (an mmap's) does; release the views (``view.release()``, ``del``,
  close the file) and call close() again. A plain reference to ``.buf``
  itself does not count: close() releases it (using it afterwards raises
  ValueError, never a crash) -- also when close() then refuses, so take
  ``.buf`` again after a refused close().
- an object that is garbage-collected while views of its memory live on is
  not unmapped under them: the mapping stays until the last view is gone,
  then the finalizer closes the handle.

How: the exporter behind every view is a ctypes array over the mapping,
and each view made from it (slices, casts, memoryview(view)) keeps one
managed buffer alive that holds a reference to that array, so the array's
reference count tells whether any view is still in use; direct exports of
``.buf`` itself (numpy) make its release() raise. Each array also holds the
anchor that carries the handle's finalizer (see _handle.py). This relies on
CPython's reference counting, as does every ctypes binding's lifetime.

MemoryFile
----------
``MemoryFile(obj)`` (or ``obj.file()``) is an io.RawIOBase over a fixed
region: readinto() and write() copy once, straight between the mapping and
the caller's buffer; read() and readall() return one bytes copy; seek()
and tell() as in files. The size is fixed: a write that does not fit
raises OSError(ENOSPC) and writes nothing (as mmap.write refuses); seeking
past the end is allowed, reading there gives b"". Wrap it in
io.BufferedRandom / io.TextIOWrapper for buffering and text. It holds a
view, so close it before closing the mapping.
"""
from __future__ import annotations

import errno
import io
import operator
import os
import sys
from ctypes import c_char
from types import TracebackType
from typing import TYPE_CHECKING, Any, List, Optional, Type, TypeVar, Union

from ._handle import _Handle

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = ["MemoryFile"]

_M = TypeVar("_M", bound="_Mapped")


class _Anchor:
    """Carries the handle's finalizer; referenced by the mapping object and
    by every array its views come from."""

    __slots__ = ("__weakref__",)


class _Exports:
    """The memoryviews one mapping handed out, one per mapped view of it
    (shared memory maps a new view at each grow)."""

    def __init__(self, anchor: _Anchor) -> None:
        self._anchor = anchor
        self._arrays: List[Any] = []
        self._baseline: List[int] = []
        self._masters: List[Optional[memoryview]] = []
        self._readonly: List[bool] = []

    def _refs(self, i: int) -> int:
        # Always measured through this one expression, so the baseline and
        # the check count the same temporaries whatever the interpreter.
        return sys.getrefcount(self._arrays[i])

    def add(self, addr: int, size: int, readonly: bool) -> memoryview:
        """A view of size bytes at addr; it becomes the current one."""
        arr = (c_char * size).from_address(addr)
        setattr(arr, "_lipc_anchor", self._anchor)  # the views keep the mapping open
        self._arrays.append(arr)
        del arr
        self._baseline.append(self._refs(len(self._arrays) - 1))
        self._readonly.append(readonly)
        self._masters.append(self._master(len(self._arrays) - 1))
        return self.current()

    def _master(self, i: int) -> memoryview:
        mv = memoryview(self._arrays[i]).cast("B")
        return mv.toreadonly() if self._readonly[i] else mv

    def current(self) -> memoryview:
        mv = self._masters[-1]
        assert mv is not None
        return mv

    def in_use(self) -> int:
        """How many of the arrays still have views in use (a snapshot)."""
        return sum(self._refs(i) > self._baseline[i] for i in range(len(self._arrays)))

    def release(self) -> None:
        """Releases every view, or raises BufferError if any is still in
        use; then the masters (the .buf objects) are made anew, since a
        master must be released to see whether other views share it."""
        busy = 0
        for i, mv in enumerate(self._masters):
            if mv is None:
                continue
            try:
                mv.release()
            except BufferError:  # exported by .buf itself (numpy, from_buffer)
                busy += 1
                continue
            self._masters[i] = None
        busy += self.in_use()
        if busy:
            for i, mv in enumerate(self._masters):
                if mv is None:
                    self._masters[i] = self._master(i)
            raise BufferError("cannot close: views of the mapped memory are still in use "
                              "(slices, casts, numpy arrays, file views); release them first")
        self._arrays.clear()
        self._masters.clear()


class _Mapped(_Handle):
    """Base of SharedMemory and MappedFile: a handle whose memory is
    exported as memoryviews."""

    _exports: _Exports
    _size: int

    def __init__(self, h: int, addr: int, size: int, readonly: bool) -> None:
        anchor = _Anchor()
        super().__init__(h, anchor)
        self._anchor = anchor
        self._exports = _Exports(anchor)
        self._exports.add(addr, size, readonly)
        self._size = size
        self._addr = addr

    @property
    def buf(self) -> memoryview:
        """A memoryview of the mapping (format "B"), zero-copy. ValueError
        once closed. See the module's notes on views and close()."""
        self._handle()
        return self._exports.current()

    @property
    def size(self) -> int:
        """Bytes in the current view (still readable after close)."""
        return self._size

    @property
    def address(self) -> int:
        """The address of the current view, for ctypes or C code. Valid
        while this object is open (and any view of it exists)."""
        self._handle()
        return self._addr

    def file(self) -> "MemoryFile":
        """A MemoryFile (io.RawIOBase) over the current view."""
        return MemoryFile(self)

    def close(self) -> None:
        """Unmaps and closes. Idempotent. BufferError (and nothing closed)
        while views of the memory are still in use."""
        if self._h is None:
            return
        self._exports.release()
        super().close()

    def __enter__(self: _M) -> _M:
        self._handle()
        return self

    def __exit__(self, t: Optional[Type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()


class MemoryFile(io.RawIOBase):
    """``MemoryFile(obj, readonly=False)``: a file-like view of a
    SharedMemory's or MappedFile's current view, or of any writable (or,
    read-only, any) C-contiguous buffer. See the module docstring."""

    def __init__(self, obj: Union[_Mapped, ReadableBuffer], readonly: bool = False,
                 name: Optional[str] = None) -> None:
        super().__init__()
        src = obj.buf if isinstance(obj, _Mapped) else obj
        view = memoryview(src)
        try:
            self._view = view.cast("B") if view.format != "B" or view.ndim != 1 else view[:]
        finally:
            view.release()
        if readonly and not self._view.readonly:
            ro = self._view.toreadonly()
            self._view.release()
            self._view = ro
        self._pos = 0
        self._size = len(self._view)
        self.name: Optional[str] = name if name is not None else getattr(obj, "name", None)

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        self._checkClosed()
        return True

    def writable(self) -> bool:
        self._checkClosed()
        return not self._view.readonly

    def seekable(self) -> bool:
        self._checkClosed()
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._checkClosed()
        offset = operator.index(offset)
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._pos + offset
        elif whence == os.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, b: WriteableBuffer) -> int:
        """Copies up to len(b) bytes from the mapping into b (one copy)."""
        self._checkClosed()
        with memoryview(b) as raw, raw.cast("B") as dest:
            n = max(0, min(len(dest), self._size - self._pos))
            if n:
                dest[:n] = self._view[self._pos:self._pos + n]
            self._pos += n
            return n

    def read(self, size: Optional[int] = -1) -> bytes:
        """Up to size bytes (all to the end when size is negative or None),
        as one bytes copy."""
        self._checkClosed()
        size = -1 if size is None else operator.index(size)
        start = min(self._pos, self._size)
        end = self._size if size < 0 else min(self._size, start + size)
        data = self._view[start:end].tobytes()
        self._pos = max(self._pos, end)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readline(self, size: Optional[int] = -1) -> bytes:
        self._checkClosed()
        size = -1 if size is None else operator.index(size)
        start = min(self._pos, self._size)
        limit = self._size if size < 0 else min(self._size, start + size)
        step, end = 256, start
        while end < limit:  # look in growing chunks: one copy of what is returned
            chunk_end = min(limit, end + step)
            i = self._view[end:chunk_end].tobytes().find(b"\n")
            if i >= 0:
                end += i + 1
                break
            end = chunk_end
            step = min(step * 2, 1 << 20)
        self._pos = max(self._pos, end)
        return self._view[start:end].tobytes()

    def write(self, b: ReadableBuffer) -> int:
        """Copies all of b into the mapping at the position (one copy), or
        raises OSError(ENOSPC) and writes nothing if it does not fit."""
        self._checkClosed()
        if self._view.readonly:
            raise io.UnsupportedOperation("write to a read-only memory view")
        with memoryview(b) as raw, raw.cast("B") as src:
            n = len(src)
            if self._pos + n > self._size:
                raise OSError(errno.ENOSPC, f"write of {n} bytes at offset {self._pos} passes the end "
                              f"of the mapped memory ({self._size} bytes)")
            self._view[self._pos:self._pos + n] = src
            self._pos += n
            return n

    def truncate(self, size: Optional[int] = None) -> int:
        raise io.UnsupportedOperation("mapped memory has a fixed size")

    def close(self) -> None:
        # (getattr: __init__ may have failed before the view was made, e.g.
        # on a closed SharedMemory; IOBase's finalizer still calls close.)
        view = getattr(self, "_view", None)
        if not self.closed and view is not None:
            view.release()
        super().close()

    def __repr__(self) -> str:
        if self.closed or not hasattr(self, "_pos"):
            state = "closed"
        else:
            state = f"pos={self._pos} size={self._size}"
        return f"<lipc.MemoryFile name={getattr(self, 'name', None)!r} {state}>"

