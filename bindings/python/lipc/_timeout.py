"""Timeouts: Python seconds (float or None) to the C API's int64
milliseconds, and the PEP 475 loop every blocking call shares.

lipc never retries EINTR itself (so Ctrl-C reaches the host promptly); the
binding retries here with the time that remains. Between two calls Python
runs its signal handlers, so a handler that raises (SIGINT's
KeyboardInterrupt) ends the wait at once.

What a timeout may be, for every wait of the binding: None or math.inf
(forever), or a number of seconds >= 0 (0: try once). A negative number or
NaN is a ValueError, anything else (a str, a bool) a TypeError. A finite
time longer than the library ever waits (it caps deadlines at 2**31 - 1
seconds, some 68 years) is forever too: no conversion to milliseconds can
overflow. Grace times (Popen.stop, on_close_grace) follow the same rule,
except that forever is the library's longest time, since a grace of "no
time" and one of "forever" are different requests.
"""
from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any, Callable, Optional

from ._const import EINTR, ETIMEDOUT

MAX_S = 2**31 - 1        # the longest wait the library makes (capi/wait.c caps deadlines)
MAX_MS = MAX_S * 1000    # the same, in the C API's milliseconds


def seconds(timeout: Any, what: str = "timeout") -> Optional[float]:
    """Validates a time in seconds; returns it as a number, or None for
    forever (None, inf, or longer than the library waits)."""
    if timeout is None:
        return None
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
        raise TypeError(f"{what} must be a number of seconds or None, not {type(timeout).__name__}")
    if isinstance(timeout, int):
        if timeout < 0:
            raise ValueError(f"{what} must be a non-negative number of seconds or None, not {timeout!r}")
        return None if timeout >= MAX_S else timeout
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"{what} must be a non-negative number of seconds or None, not {timeout!r}")
    return None if timeout >= MAX_S else timeout


def deadline(timeout: Any) -> Optional[float]:
    """Validates a timeout in seconds; returns a time.monotonic() deadline,
    or None for "wait forever"."""
    t = seconds(timeout)
    return None if t is None else time.monotonic() + t


def remaining_ms(dl: Optional[float]) -> int:
    """Milliseconds left until dl (-1: forever; 0: try once), rounded up so a
    wait never ends before the caller's timeout."""
    if dl is None:
        return -1
    left = dl - time.monotonic()
    if left <= 0:
        return 0
    return min(math.ceil(left * 1000), MAX_MS)


def grace_ms(grace: Any, what: str = "grace") -> int:
    """A grace time in seconds as milliseconds for C: >= 0, at most MAX_MS
    (None and inf: MAX_MS, as long as the library waits)."""
    t = seconds(grace, what)
    return MAX_MS if t is None else min(math.ceil(t * 1000), MAX_MS)


def remaining_grace_ms(dl: Optional[float]) -> int:
    """remaining_ms for a grace time: a deadline of None (forever) is the
    longest time the library waits, never -1 (which lipc_proc_stop reads
    as no grace at all)."""
    return MAX_MS if dl is None else remaining_ms(dl)


# The longest the main thread sleeps in one call of a wait. A process-directed
# signal (Ctrl-C) usually interrupts the main thread's wait with EINTR, but
# the kernel may hand it to another thread, or it may land just after the
# main thread released the GIL and before its wait began; Python runs its
# handlers between two calls, so in the main thread no wait outlives a
# KeyboardInterrupt by more than this.
SLICE_MS = 100

# Windows: Ctrl-C runs the console's control handlers one after the other
# on a thread of their own, lipc's first (it was installed last), which ends
# the wait with EINTR, then Python's, which flags KeyboardInterrupt. The
# main thread may be back in C before Python's has run: the call after an
# EINTR is short, so the KeyboardInterrupt comes within it, not a slice later.
AFTER_INTR_MS = 5 if sys.platform == "win32" else SLICE_MS


def retry_eintr(call: Callable[[int], Any], dl: Optional[float], after_eintr: bool = False) -> int:
    """Runs call(timeout_ms), a pure wait, until it returns something other
    than EINTR; in the main thread, in slices of at most SLICE_MS. (call
    returns Any: it is usually a lambda around a ctypes function.)
    after_eintr: the caller's own first try just returned EINTR, so the
    first slice is the short one that follows an EINTR."""
    main = threading.current_thread() is threading.main_thread()
    slice_ms = AFTER_INTR_MS if after_eintr else SLICE_MS
    while True:
        ms = remaining_ms(dl)
        rc: int
        if main and (ms < 0 or ms > slice_ms):
            rc = call(slice_ms)
            if rc == ETIMEDOUT:
                slice_ms = SLICE_MS
                continue  # the caller's time is not up; pending handlers run here
        else:
            rc = call(ms)
        if rc != EINTR:
            return rc
        slice_ms = AFTER_INTR_MS
