"""Runs CPython's own shared-memory tests, test._test_multiprocessing's
_TestSharedMemory (SharedMemory, ShareableList, SharedMemoryManager), with
lipc.SharedMemory in the place of multiprocessing.shared_memory.SharedMemory,
once per start method (fork, spawn, forkserver), as CPython's own
test_multiprocessing_<method> packages run it: the class is made by the test
module's install_tests_in_module_dict(..., only_type="processes"), with its
setUpModule and tearDownModule. The tests come from the running
interpreter's test package, so each CPython runs its own (3.10 to 3.13
run it: 13 tests a start method, 16 on 3.13).

What stands in for multiprocessing's SharedMemory is lipc.SharedMemory called
the way multiprocessing calls its own, through a subclass that changes one
thing: multiprocessing's create=True fails if the name exists, lipc's needs
exclusive=True for that (bindings/python/README.md, "SharedMemory vs
multiprocessing"). It is put in the module itself
(multiprocessing.shared_memory.SharedMemory), so ShareableList and
SharedMemoryManager, which look it up there, run on lipc too. This happens
when this file is imported, so "spawn" and "forkserver" children, which
import it again as __mp_main__, use lipc as well; they find lipc as the
parent did (this checkout on sys.path, LIPC_LIBRARY inherited). On a CPython
whose fork server really preloads __main__ (3.14, recent 3.13 releases:
gh-126631; the tests ask for it), this file, and so lipc, is imported in the
fork server itself, its workers are fork children, and the two tests
excluded for "fork" fail with "forkserver" too: that is lipc's limitation
(bindings/python/README.md, "Fork and multiprocessing"), not the runner's.

One private helper is wired, not mocked away: two tests check that a fresh
name (name=None) that is already taken is retried, by mocking
multiprocessing.shared_memory._make_filename; lipc's fresh names are drawn
from that function here, so the mock feeds lipc's retry loop.

Where lipc differs on purpose, or a test checks CPython's internals, the
test is skipped as shm_exclusions.txt (next to this file) says, with the
reason; everything else must pass.

Two things print that are not failures. Where a test hands CPython's
resource tracker a name to forget that only lipc opened (lipc registers
nothing there), the tracker process prints a KeyError traceback. With "fork",
the manager's server cannot unlink the segments it tracks (see the
exclusions), so the summary names what this runner unlinked instead.

Usage: python3 run_shm_tests.py [-v] [-k PATTERN] [--start fork,spawn,forkserver];
exit status 0 when every test that ran passed. Prints one line: passed /
failed / excluded / skipped.
"""
from __future__ import annotations

import argparse
import inspect
import os
import signal
import sys
import unittest
from typing import Any, Dict, List, Optional, Set, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's lipc package, as the binding's tests use

import multiprocessing.shared_memory as mp_shm  # noqa: E402

import lipc  # noqa: E402
import lipc._shm  # noqa: E402

METHODS = ("fork", "spawn", "forkserver")
_created: Set[str] = set()  # names the tests created in this process, to clean up what they leave


class SharedMemory(lipc.SharedMemory):
    """lipc.SharedMemory with multiprocessing's meaning of create=True:
    a new object, FileExistsError if the name is taken."""

    def __init__(self, name: Optional[str] = None, create: bool = False, size: int = 0, **kw: Any) -> None:
        super().__init__(name, create, size, exclusive=bool(create), **kw)
        if create:
            _created.add(self.name)


def _mp_fresh_name() -> str:
    return mp_shm._make_filename()  # looked up at each call: the tests mock it


mp_shm.SharedMemory = SharedMemory  # type: ignore[misc]
lipc._shm._fresh_name = _mp_fresh_name


def exclusions() -> Dict[str, Tuple[Set[str], str]]:
    """test name -> (start methods it is excluded for, reason)."""
    # The file format of run.py's exclusions.txt, read by run.py's reader
    # (loaded by path: this directory need not be on sys.path).
    import importlib.util
    spec = importlib.util.spec_from_file_location("lipc_cpython_tests_run", os.path.join(HERE, "run.py"))
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    lines = run.exclusions
    out: Dict[str, Tuple[Set[str], str]] = {}
    for key, reason in lines("shm_exclusions.txt").items():
        name, _, only = key.partition("@")
        methods = set(only.split(",")) if only else set(METHODS)
        if not methods <= set(METHODS):
            raise SystemExit(f"shm_exclusions.txt: {key}: start methods are {METHODS}")
        out[name] = (methods, reason)
    return out


def suite_for(method: str, excl: Dict[str, Tuple[Set[str], str]], pattern: Optional[str],
              seen: Set[str]) -> Tuple[unittest.TestSuite, Dict[str, Any], int]:
    """The shared-memory tests for one start method, with their module's
    setUp/tearDown; excluded ones are left out and counted."""
    from test import _test_multiprocessing as tm
    ns: Dict[str, Any] = {"__name__": __name__}
    if "only_type" in inspect.signature(tm.install_tests_in_module_dict).parameters:
        tm.install_tests_in_module_dict(ns, method, only_type="processes")
    else:  # 3.10: every class is made, this one is picked below
        tm.install_tests_in_module_dict(ns, method)
    cls = ns["WithProcessesTestSharedMemory"]
    cls.__qualname__ = f"{cls.__name__}[{method}]"
    suite = unittest.TestSuite()
    n_excl = 0
    for test in unittest.TestLoader().loadTestsFromTestCase(cls):
        tid = f"_TestSharedMemory.{test._testMethodName}"
        seen.add(tid)
        if pattern and pattern not in f"{tid}@{method}":
            continue
        if tid in excl and method in excl[tid][0]:
            n_excl += 1
            continue
        suite.addTest(test)
    return suite, ns, n_excl


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", action="store_true")
    ap.add_argument("-k", default=None, help="run only tests whose Class.test@method contains this")
    ap.add_argument("--start", default=",".join(METHODS), help="start methods, comma-separated")
    opts = ap.parse_args()
    try:
        from test import _test_multiprocessing  # noqa: F401
    except ImportError as e:
        print(f"CPython's test package is missing ({e}); scripts/deps.sh installs it", file=sys.stderr)
        return 2
    excl = exclusions()
    # test_shared_memory_SharedMemoryServer_ignores_sigint expects SIGINT to
    # raise KeyboardInterrupt here, as it does in a terminal; a shell starts
    # a background job (`make test &`) with SIGINT ignored, and Python then
    # keeps it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    seen: Set[str] = set()
    totals = [0, 0, 0, 0]  # passed, failed, excluded, skipped
    for method in opts.start.split(","):
        if method not in METHODS:
            raise SystemExit(f"unknown start method {method!r}")
        suite, ns, n_excl = suite_for(method, excl, opts.k, seen)
        ns["setUpModule"]()
        try:
            result = unittest.TextTestRunner(verbosity=2 if opts.v else 1, stream=sys.stderr).run(suite)
        finally:
            ns["tearDownModule"]()
        # A test with subtests counts once, however many of them failed.
        failed = len({getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors}
                     | {t.id() for t in result.unexpectedSuccesses})
        skipped = len(result.skipped)
        for i, n in enumerate((result.testsRun - failed - skipped, failed, n_excl, skipped)):
            totals[i] += n
    left = cleanup()
    stale = [k for k in excl if k not in seen]
    if stale:
        print(f"shm_exclusions.txt names tests this CPython does not have: {stale}", file=sys.stderr)
        return 2
    print(f"CPython _TestSharedMemory on lipc ({opts.start}): {totals[0]} passed, {totals[1]} failed, "
          f"{totals[2]} excluded, {totals[3]} skipped by CPython's own conditions"
          + (f"; unlinked {len(left)} objects the tests left: {left}" if left else ""))
    return 0 if totals[1] == 0 else 1


def cleanup() -> List[str]:
    """Unlinks what the tests created here and left behind (a test that
    failed half-way; with "fork", what the manager's server could not
    unlink); returns those names."""
    left = []
    for name in sorted(_created):
        try:
            lipc.unlink_shared_memory(name)
            left.append(name)
        except FileNotFoundError:
            pass
    return left


if __name__ == "__main__":
    sys.exit(main())
