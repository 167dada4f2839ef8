"""Named events shared between processes, with threading.Event's methods
(set, clear, is_set, wait) plus a choice made at creation:

- ``manual_reset=True`` (the default, threading.Event's behaviour): set()
  wakes every waiter and the event stays set until clear(). A waiter that
  was already waiting when set() was called returns True even if clear()
  follows at once.
- ``manual_reset=False`` (auto-reset, as Windows' auto-reset events):
  while waiters are blocked, each set() releases exactly one of them (three
  sets release three); a set() with nobody waiting leaves the event set,
  and the next wait takes it and clears it.

The event lives in /dev/shm/lipc.event.NAME; an existing event keeps the
kind and state it was created with (``manual_reset`` and ``initially_set``
apply only when this call creates it).

``wait(timeout)`` reads timeouts as threading.Event.wait: None waits
forever, 0 or a negative number just looks. ``with Event(...) as ev:``
closes the handle at the end of the block, as a file's ``with`` does:
threading.Event has no ``with`` and an event has no acquire/release pair,
so closing is the one meaning the statement can have (the event itself,
and its name, stay for other handles).
"""
from __future__ import annotations

import time
from ctypes import ArgumentError, byref, c_int, c_int64
from types import TracebackType
from typing import Any, Optional, Type

from . import _const
from ._errors import _check, _raise
from ._handle import _Handle
from ._lib import lib as _c, quick as _q
from ._named import Name, as_str, check_mode, cname, open_flags, remember, reopen
from ._timeout import retry_eintr, seconds

__all__ = ["Event", "unlink_event"]

_wait = _c.lipc_event_wait
# Never block: made with the GIL held (lipc._lib.QUICK); _try_wait only with timeout 0.
_set, _reset, _try_wait, _is_set = _q.lipc_event_set, _q.lipc_event_reset, _q.lipc_event_wait, _q.lipc_event_is_set


def unlink_event(name: Name) -> None:
    """Removes the event's name; handles already open keep working.
    NotFoundError (a FileNotFoundError) if there is none."""
    _check(_c.lipc_event_unlink(cname(name, "event name")), "event_unlink")


class Event(_Handle):
    """A named event shared between processes.

    ``Event(name)`` opens an existing one (NotFoundError if missing);
    ``create=True`` creates it if missing, manual- or auto-reset, set or
    clear; ``exclusive``, ``mode``, ``unlink_on_close`` and
    ``trust_foreign`` as for Semaphore.
    """

    def __init__(self, name: Name, create: bool = False, exclusive: bool = False,
                 manual_reset: bool = True, initially_set: bool = False, mode: int = 0o600,
                 unlink_on_close: bool = False, trust_foreign: bool = False) -> None:
        c = cname(name, "event name")
        flags = open_flags(create, exclusive, unlink_on_close, trust_foreign)
        h = c_int64()
        _check(_c.lipc_event_open(c, flags, check_mode(mode), int(bool(manual_reset)),
                                  int(bool(initially_set)), byref(h)), "event_open")
        self._name = as_str(name)
        self._own_out()  # the getter's out-parameter (lipc._handle)
        super().__init__(h.value)
        self._trust = bool(trust_foreign)
        remember(self, (type(self), self._name))

    def __reduce__(self) -> Any:
        """Pickles by name: see lipc._named (multiprocessing workers)."""
        self._handle()  # a closed one does not pickle (ValueError)
        return reopen, ((type(self), self._name), (self._name,), {"trust_foreign": self._trust})

    @property
    def name(self) -> str:
        """The name as given."""
        return self._name

    def set(self) -> None:
        """Sets the event: wakes every waiter (manual-reset) or lets one
        through (auto-reset)."""
        try:
            rc = _set(self._ch)
        except ArgumentError:  # closed: _ch is None (see lipc._handle)
            raise self._closed_error() from None
        if rc:
            _raise(rc, "event_set")

    def clear(self) -> None:
        """Clears the event (lipc_event_reset)."""
        try:
            rc = _reset(self._ch)
        except ArgumentError:  # closed
            raise self._closed_error() from None
        if rc:
            _raise(rc, "event_reset")

    reset = clear

    def is_set(self) -> bool:
        """Whether it is set now (a snapshot: other processes may change it)."""
        v = self._out  # see lipc._handle
        try:
            rc = _is_set(self._ch, v)  # the c_int goes by reference (POINTER(c_int)): no byref object
        except ArgumentError:  # closed: _ch is None (see lipc._handle)
            raise self._closed_error() from None
        if rc:
            _raise(rc, "event_is_set")
        return v.value != 0

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits until the event is set, forever or for ``timeout`` seconds
        (0 or negative: just look, as threading.Event). True when it was
        set (an auto-reset event is cleared by this wait), False when the
        time ran out. Signal handlers run during the wait (Ctrl-C raises
        KeyboardInterrupt promptly)."""
        if timeout is None:
            t = None
        else:
            if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < 0:
                timeout = 0
            t = seconds(timeout)  # validated before anything else
        # One look first: a set event costs one call and no clock read.
        try:
            rc = _try_wait(self._ch, 0)
        except ArgumentError:  # closed
            raise self._closed_error() from None
        if rc == 0:  # it was set: nothing else to look at
            return True
        if rc == _const.EINTR or (rc == _const.EAGAIN and t != 0):
            rc = retry_eintr(self._wait_ms, None if t is None else time.monotonic() + t,
                             rc == _const.EINTR)
        if rc == 0:
            return True
        if rc in (_const.ETIMEDOUT, _const.EAGAIN):
            return False
        _raise(rc, "event_wait")

    def _wait_ms(self, ms: int) -> Any:  # the C call's int (ctypes: Any)
        # A method, not a lambda in wait: a closure over self would make
        # self a cell, which every wait pays for, the first look included.
        return _wait(self._handle(), ms)

    def unlink(self) -> None:
        """Removes this event's name (allowed after close())."""
        unlink_event(self._name)

    def __enter__(self) -> "Event":
        self._handle()  # a closed one raises ValueError
        return self

    def __exit__(self, t: Optional[Type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def _repr_detail(self) -> str:
        return f"name={self._name!r} "

    def __repr__(self) -> str:
        # threading.Event's shape: <threading.Event at 0x...: unset>
        return self._state_repr("<{cls} at {at} {what}: {state}>", lambda: "set" if self.is_set() else "unset")
