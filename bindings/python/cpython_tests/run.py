"""Runs CPython's own Lib/test/test_subprocess.py with lipc in the place of
subprocess, for the POSIX classes (ProcessTestCase, POSIXProcessTestCase,
RunFuncTestCase, MiscTests, ContextManagerTests).

The test module's global `subprocess` is replaced by a module that is the
real subprocess with lipc's public API on top (Popen, run, call,
check_call, check_output, the exceptions, getoutput...), so the private
names a test may read (_active, _cleanup, _PopenSelector) still exist.
Tests of CPython's internals are skipped as exclusions.txt (next to this
file) lists them, each with its reason.

Usage: python3 run.py [-v] [-k PATTERN] [--list] [--jobs N] [--durations N];
exit status 0 when every test that ran passed. Prints one line: passed /
failed / excluded / skipped. Most of the suite's time is its children's
sleeps, so --jobs N (default 4) runs it as N processes, each a share of the
tests, at once.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
import subprocess as _real
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's lipc package, as the binding's tests use
CLASSES = ("ProcessTestCase", "POSIXProcessTestCase", "RunFuncTestCase", "MiscTests", "ContextManagerTests")


def lipc_as_subprocess() -> types.ModuleType:
    import lipc
    shim = types.ModuleType("subprocess")
    shim.__dict__.update(_real.__dict__)
    for name in ("Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput",
                 "list2cmdline", "CompletedProcess", "SubprocessError", "TimeoutExpired",
                 "CalledProcessError", "PIPE", "STDOUT", "DEVNULL"):
        setattr(shim, name, getattr(lipc, name))  # every one from lipc
    shim.__name__ = "subprocess"
    return shim


def exclusions(filename: str = "exclusions.txt") -> dict[str, str]:
    """The file's entries for this interpreter (the file lies next to this
    one; run_shm_tests.py reads its own through this too): `Class.test
    reason`, or `Class.test [>=3.13] reason` for an entry of some versions
    only (a test that moved, or exists only there; comma-joined >=, < bounds)."""
    out = {}
    with open(os.path.join(HERE, filename)) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition(" ")
            reason = reason.strip()
            if reason.startswith("["):
                spec, _, reason = reason[1:].partition("]")
                if not for_this_python(name, spec):
                    continue
                reason = reason.strip()
            if not reason:
                raise SystemExit(f"{filename}: {name} has no reason")
            out[name] = reason
    return out


def for_this_python(name: str, spec: str) -> bool:
    """Whether sys.version_info meets spec, e.g. ">=3.12,<3.13"."""
    ok = True
    for bound in spec.split(","):
        m = re.fullmatch(r"\s*(>=|<)\s*(\d+(?:\.\d+)*)\s*", bound)
        if not m:
            raise SystemExit(f"exclusions.txt: {name}: a bound is >=X.Y or <X.Y, not {bound!r}")
        ver = tuple(int(x) for x in m.group(2).split("."))
        here = sys.version_info[:len(ver)]
        ok = ok and (here >= ver if m.group(1) == ">=" else here < ver)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", action="store_true")
    ap.add_argument("-k", default=None, help="run only tests whose id contains this")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jobs", type=int, default=4, help="processes to share the tests (1: this one)")
    ap.add_argument("--shard", default=None, help=argparse.SUPPRESS)  # "i/n", for --jobs
    ap.add_argument("--durations", type=int, default=0, help="show the N slowest tests")
    opts = ap.parse_args()
    if opts.jobs > 1 and opts.shard is None and not opts.list:
        return run_shards(opts)
    try:
        from test import test_subprocess as ts
    except ImportError as e:
        print(f"CPython's test package is missing ({e}); scripts/deps.sh installs it", file=sys.stderr)
        return 2
    ts.subprocess = lipc_as_subprocess()
    excl = exclusions()
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    seen = set()
    n_excl = 0
    for cls_name in CLASSES:
        for test in loader.loadTestsFromTestCase(getattr(ts, cls_name)):
            tid = f"{cls_name}.{test._testMethodName}"
            if tid in seen:
                continue
            seen.add(tid)
            if opts.k and opts.k not in tid:
                continue
            if tid in excl:
                n_excl += 1
                continue
            if opts.shard is not None:
                i, n = map(int, opts.shard.split("/"))
                if (len(seen) - 1) % n != i:
                    continue
            suite.addTest(test)
    stale = [k for k in excl if k not in seen]
    if stale:
        print(f"exclusions.txt names tests that do not exist: {stale}", file=sys.stderr)
        return 2
    if opts.list:
        for t in suite:
            print(t.id())
        return 0
    # Each process in a working directory of its own, as CPython's regrtest
    # runs its workers: tests make files named after fixed names there
    # (os_helper.temp_cwd() makes "tempcwd"), and shards would collide.
    import tempfile
    work = tempfile.TemporaryDirectory(prefix="lipc-cpython-tests-")
    os.chdir(work.name)
    ts.setUpModule()
    # test_no_leaking opens files until the soft RLIMIT_NOFILE stops it and
    # skips when 1026 do not reach it: at Linux's default soft limit (1024)
    # it runs, as on most machines, where a higher limit (this one has 20000)
    # skips it.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft > 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    times: dict[str, float] = {}
    passes: list[str] = []  # counted, not testsRun less the rest: 3.12.1's testsRun leaves skips out

    class Timed(unittest.TextTestResult):
        def startTest(self, test: unittest.TestCase) -> None:
            self._t0 = time.monotonic()
            super().startTest(test)

        def stopTest(self, test: unittest.TestCase) -> None:
            times[test.id()] = time.monotonic() - self._t0
            super().stopTest(test)

        def addSuccess(self, test: unittest.TestCase) -> None:
            passes.append(test.id())
            super().addSuccess(test)

    runner = unittest.TextTestRunner(verbosity=2 if opts.v else 1, stream=sys.stdout, resultclass=Timed)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = len(passes)
    for tid, t in sorted(times.items(), key=lambda kv: -kv[1])[:opts.durations]:
        print(f"{t:7.2f} s  {tid}")
    os.chdir(HERE)
    work.cleanup()
    if opts.shard is not None:
        print("SHARD " + json.dumps([passed, failed, skipped]))
    else:
        print(f"cpython test_subprocess on lipc: {passed} passed, {failed} failed, "
              f"{n_excl} excluded, {skipped} skipped by CPython's own conditions")
    return 0 if failed == 0 else 1


def run_shards(opts: argparse.Namespace) -> int:
    """Runs the tests as opts.jobs processes at once; sums their counts."""
    base = [sys.executable, os.path.abspath(__file__)] + (["-v"] if opts.v else []) + \
        (["-k", opts.k] if opts.k else []) + ["--durations", str(opts.durations)]
    procs = [_real.Popen(base + ["--shard", f"{i}/{opts.jobs}"], stdout=_real.PIPE, stderr=_real.STDOUT)
             for i in range(opts.jobs)]
    totals = [0, 0, 0]
    ok = True
    for p in procs:
        out = p.communicate()[0].decode(errors="replace")
        ok = p.returncode == 0 and ok
        counts = None
        for line in out.splitlines():
            if line.startswith("SHARD "):
                counts = json.loads(line[6:])
        if counts is None or p.returncode != 0:
            sys.stdout.write(out)
            ok = False
        elif opts.v or opts.durations:
            sys.stdout.write(out)
        for j, c in enumerate(counts or []):
            totals[j] += c
    n_excl = len(exclusions())
    print(f"cpython test_subprocess on lipc: {totals[0]} passed, {totals[1]} failed, "
          f"{n_excl} excluded, {totals[2]} skipped by CPython's own conditions ({opts.jobs} processes)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
