"""Ctrl-C (SIGINT) during endless mutex, event and file-lock waits: a
KeyboardInterrupt arrives promptly and the objects still work. Runs in a
child interpreter so that a hang fails the test instead of hanging pytest."""
from __future__ import annotations

import signal
import time

from conftest import WINDOWS, finish, read_line, start_helper


def test_sigint_interrupts_mutex_event_and_lock_waits(tmp_path):
    lockfile = tmp_path / "lock"
    lockfile.write_bytes(b"")
    p = start_helper("sigint_sync.py", str(lockfile))
    try:
        for kind in ("mutex", "event", "flock"):
            assert read_line(p) == f"WAITING {kind}"
            if WINDOWS:  # the helper presses Ctrl-C in its own console 0.2 s after WAITING
                sent = time.monotonic() + 0.2
            else:
                time.sleep(0.2)  # into the C wait
                sent = time.monotonic()
                p.send_signal(signal.SIGINT)
            assert read_line(p, timeout=10) == f"KI {kind}"
            assert time.monotonic() - sent < (1.0 if WINDOWS else 0.5), f"{kind}: KeyboardInterrupt took too long"
            assert read_line(p) == f"OK {kind}"
        assert read_line(p) == "DONE"
        assert p.wait(30) == 0
    finally:
        finish(p)
