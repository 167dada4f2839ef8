"""Timeouts: Python seconds (float or None) to the C API's int64
milliseconds, and the PEP 475 loop every blocking call shares.

lipc never retries EINTR itself (so Ctrl-C reaches the host promptly); the
binding retries here with the time that remains. Between two calls Python
runs its signal handlers, so a handler that raises (SIGINT's
KeyboardInterrupt) ends the wait at once.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional

from ._const import EINTR

_MAX_MS = 2**62  # far beyond any real wait; the C side clamps further


def deadline(timeout: Optional[float]) -> Optional[float]:
    """Validates a timeout in seconds; returns a time.monotonic() deadline,
    or None for "wait forever"."""
    if timeout is None:
        return None
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number of seconds or None, not {timeout!r}")
    if math.isinf(timeout):
        return None
    return time.monotonic() + timeout


def remaining_ms(dl: Optional[float]) -> int:
    """Milliseconds left until dl (-1: forever; 0: try once), rounded up so a
    wait never ends before the caller's timeout."""
    if dl is None:
        return -1
    left = dl - time.monotonic()
    if left <= 0:
        return 0
    return min(math.ceil(left * 1000), _MAX_MS)


def retry_eintr(call: Callable[[int], int], dl: Optional[float]) -> int:
    """Runs call(timeout_ms) until it returns something other than EINTR."""
    while True:
        rc = call(remaining_ms(dl))
        if rc != EINTR:
            return rc
