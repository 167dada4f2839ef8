"""The base of every lipc object that owns a handle (Semaphore, Popen and its
spawn attributes, Mutex, Event, SharedMemory, MappedFile, FileLock):
explicit, idempotent close(); no C call with a closed handle; a finalizer
only as a backstop.

The finalizer normally hangs on the object itself. Objects whose memory is
handed out as memoryviews (SharedMemory, MappedFile) hang it on an anchor
that the exported buffers reference too, so a forgotten object whose views
are still in use is not unmapped under them: its handle closes when the
object and every view are gone.

The finalizer is a weak reference in a module registry rather than a
weakref.finalize, which costs two to four times as much to make and to
detach (issue 12: it is paid by every spawn and every open). It does what
weakref.finalize did here: the handle closes when its object is collected,
or at interpreter exit (atexit) for objects still alive then, and close()
and the finalizer close it once between them, whichever comes first and
from whatever thread: taking the registry entry (one dict.pop, atomic
under the GIL) is the right to close.

Hot methods pass ``self._ch``, the handle as a ready c_int64, rather than
the int: ctypes then converts nothing (about 90 ns a call, issue 12).
close() sets it to None, which ctypes refuses (ctypes.ArgumentError)
before any C call: the methods turn that into the closed-object
ValueError, so the open check costs the fast path nothing."""
from __future__ import annotations

import atexit
import sysconfig
import weakref
from ctypes import c_int, c_int64
from typing import Callable, Dict, NoReturn, Optional

from ._errors import _check
from ._lib import lib as _c

_close = _c.lipc_close

# The out-parameter of the snapshot getters (Semaphore.value,
# Event.is_set, Mutex.locked) is one c_int per object, made at open: their
# C calls hold the GIL (lipc._lib.QUICK), so no other thread runs while C
# writes it. Another thread may run between the call's return and the read
# of the c_int, and a getter it calls on the same object writes the c_int
# again: the read then gives that newer snapshot, taken while the first
# getter was running, which is still an answer that getter may give. A
# free-threaded build has no GIL to order the calls: there each read makes
# its own c_int. (A pool of c_ints taken and given back cost two calls a
# read; a c_int made for each call 30-50 ns: issue 12.) The getters read
# ``self._out``: an attribute set at open (_Handle._own_out) where the GIL
# orders the calls, and a property that makes a new c_int where none does.
# The choice is made once, when this module is imported: a test of it at
# each read was 10 ns of Semaphore.value's 260 (issue 12: 1.15x a bare
# ctypes call at most).
GIL_ORDERS_CALLS = not sysconfig.get_config_var("Py_GIL_DISABLED")


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A weak reference to the object (or anchor) whose collection closes
    the handle h."""

    __slots__ = ("h",)
    h: int


# id(ref) -> ref for every handle still to be closed. A ref is alive while
# it is in here, so its id is unique among the keys.
_live: Dict[int, _Ref] = {}


def _collected(ref: _Ref) -> None:
    if _live.pop(id(ref), None) is not None:
        _close(ref.h)


@atexit.register
def _close_at_exit() -> None:
    # As weakref.finalize's atexit: the newest first.
    for key in reversed(list(_live)):
        ref = _live.pop(key, None)
        if ref is not None:
            _close(ref.h)


class _Handle:
    _h: Optional[int]
    _ch: Optional[c_int64]

    def __init__(self, h: int, anchor: Optional[object] = None) -> None:
        self._h = h = int(h)
        self._ch = c_int64(h)
        ref = _Ref(self if anchor is None else anchor, _collected)
        ref.h = h
        self._ref = ref
        _live[id(ref)] = ref

    if GIL_ORDERS_CALLS:
        _out: c_int

        def _own_out(self) -> None:
            """Gives the object the out-parameter of its snapshot getter."""
            self._out = c_int()
    else:
        @property  # the same name and type, read-only: mypy sees both branches
        def _out(self) -> c_int:  # type: ignore[misc]
            return c_int()

        def _own_out(self) -> None:
            pass

    def _handle(self) -> int:
        """The open handle; ValueError if closed (C never sees a dead one)."""
        h = self._h
        if h is None:
            raise self._closed_error()
        return h

    def _closed_error(self) -> ValueError:
        return ValueError(f"operation on closed {type(self).__name__}")

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
        ref = self._ref
        self._h = self._ch = None
        if _live.pop(id(ref), None) is not None:
            _check(_close(ref.h), "close")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle a lipc {type(self).__name__}: "
                        "open it by name in the other process")

    def _repr_detail(self) -> str:
        return ""

    def __repr__(self) -> str:
        state = "closed" if self._h is None else f"handle={self._h:#x}"
        return f"<lipc.{type(self).__name__} {self._repr_detail()}{state}>"

    def _state_repr(self, shaped: str, state: Callable[[], str]) -> str:
        """repr in the shape of the threading object this one mirrors:
        shaped is a format with {cls}, {at} (id, as threading's), {what}
        (name and handle, or closed) and {state}: state() for an open one
        ("?" if asking fails: a repr never raises), "closed" otherwise."""
        if self._h is None:
            what, st = self._repr_detail().strip(), "closed"
        else:
            what = f"{self._repr_detail()}handle={self._h:#x}"
            try:
                st = state()
            except Exception:  # noqa: BLE001 - a repr must not raise
                st = "?"
        return shaped.format(cls=f"lipc.{type(self).__name__}", at=f"{id(self):#x}", what=what, state=st)
