"""The base of every lipc object that owns a handle (Semaphore, Popen and its
spawn attributes, Mutex, Event, SharedMemory, MappedFile, FileLock):
explicit, idempotent close(); no C call with a closed handle; a finalizer
only as a backstop.

The finalizer normally hangs on the object itself. Objects whose memory is
handed out as memoryviews (SharedMemory, MappedFile) hang it on an anchor
that the exported buffers reference too, so a forgotten object whose views
are still in use is not unmapped under them: its handle closes when the
object and every view are gone."""
from __future__ import annotations

import weakref
from typing import NoReturn, Optional

from ._errors import _check
from ._lib import lib as _c


class _Handle:
    _h: Optional[int]

    def __init__(self, h: int, anchor: Optional[object] = None) -> None:
        self._h = int(h)
        # The finalizer holds the handle, not the object. It also serves as
        # the close() gate: detach() hands its arguments to one caller only,
        # so two threads closing at once close the handle once.
        self._finalizer = weakref.finalize(self if anchor is None else anchor, _c.lipc_close, self._h)

    def _handle(self) -> int:
        """The open handle; ValueError if closed (C never sees a dead one)."""
        h = self._h
        if h is None:
            raise ValueError(f"operation on closed {type(self).__name__}")
        return h

    @property
    def handle(self) -> int:
        """The raw lipc handle (an int in [2**52, 2**53)), for the C API."""
        return self._handle()

    @property
    def closed(self) -> bool:
        return self._h is None

    def close(self) -> None:
        """Closes the handle. Idempotent; later use raises ValueError. A
        thread blocked in a wait on it finishes that wait safely."""
        detached = self._finalizer.detach()
        self._h = None
        if detached is not None:
            _check(_c.lipc_close(detached[2][0]), "close")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle a lipc {type(self).__name__}: "
                        "open it by name in the other process")

    def _repr_detail(self) -> str:
        return ""

    def __repr__(self) -> str:
        state = "closed" if self._h is None else f"handle={self._h:#x}"
        return f"<lipc.{type(self).__name__} {self._repr_detail()}{state}>"
