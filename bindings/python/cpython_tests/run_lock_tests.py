"""Runs CPython's own Lib/test/lock_tests.py, the suite test_threading runs
on threading.Lock, Semaphore and Event, on lipc.Mutex, lipc.Semaphore and
lipc.Event: each test class is subclassed with lipc's type as its factory
(every object a fresh named one, unlinked when closed).

Where lipc differs from threading on purpose, the test is skipped as
EXCLUDED below says, with the reason; everything else must pass. The
threading.Condition tests are not run: they take a re-entrant lock as the
default, which no lipc type is.

Usage: python3 run_lock_tests.py [-v]; exit status 0 when every test that
ran passed. Prints one line: passed / failed / excluded.
"""
from __future__ import annotations

import itertools
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's lipc
import lipc  # noqa: E402

EXCLUDED = {
    "LockTests.test_at_fork_reinit": "CPython's private hook (_at_fork_reinit) that threading calls after fork",
    "EventTests.test_at_fork_reinit": "CPython's private hook (_at_fork_reinit) that threading calls after fork",
    "LockTests.test_different_thread": "a robust mutex belongs to the thread that locked it: release by another "
                                       "thread is NotOwnerError, as threading.RLock's rule (lipc.Mutex docs)",
    "LockTests.test_reacquire": "the same: the lock is released by a thread that does not hold it",
    "LockTests.test_timeout": "a timeout above threading.TIMEOUT_MAX (inf included) waits forever, as every "
                              "lipc wait does (tests/test_numbers.py), where threading.Lock raises OverflowError",
    "LockTests.test_state_after_timeout": "a waiting acquire by the thread that holds it raises BusyError at once "
                                          "instead of sleeping out its timeout (lipc.Mutex docs)",
}

_serial = itertools.count()


def _name(tag: str) -> str:
    return f"lipc-locktests-{tag}-{os.getpid()}-{next(_serial)}"


def _mutex() -> lipc.Mutex:
    return lipc.Mutex(_name("m"), create=True, unlink_on_close=True)


def _semaphore(value: int = 1) -> lipc.Semaphore:
    return lipc.Semaphore(_name("s"), create=True, unlink_on_close=True, initial=value)


def _event() -> lipc.Event:
    return lipc.Event(_name("e"), create=True, unlink_on_close=True)


class CountingResult(unittest.TextTestResult):
    """Counts passes as they happen: 3.12.1's testsRun leaves skipped tests
    out, so testsRun less the skips and failures undercounted there."""
    passed = 0

    def addSuccess(self, test: unittest.TestCase) -> None:
        self.passed += 1
        super().addSuccess(test)


def main() -> int:
    try:
        from test import lock_tests
    except ImportError as e:
        print(f"CPython's test package is missing ({e}); scripts/deps.sh installs it", file=sys.stderr)
        return 2
    classes = {
        "LockTests": type("LockTests", (lock_tests.LockTests,), {"locktype": staticmethod(_mutex)}),
        "SemaphoreTests": type("SemaphoreTests", (lock_tests.SemaphoreTests,), {"semtype": staticmethod(_semaphore)}),
        "EventTests": type("EventTests", (lock_tests.EventTests,), {"eventtype": staticmethod(_event)}),
    }
    for key, reason in EXCLUDED.items():
        cls_name, method = key.split(".")
        if not hasattr(classes[cls_name], method):
            raise SystemExit(f"EXCLUDED names {key}, which this CPython's lock_tests does not have")
        setattr(classes[cls_name], method, unittest.skip(f"excluded: {reason}")(getattr(classes[cls_name], method)))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes.values())
    result = unittest.TextTestRunner(verbosity=2 if "-v" in sys.argv else 1, stream=sys.stderr,
                                     resultclass=CountingResult).run(suite)
    excluded = len(result.skipped)
    passed = result.passed
    print(f"CPython lock_tests on lipc: {passed} passed, {len(result.failures) + len(result.errors)} failed, "
          f"{excluded} excluded")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
