"""Ctrl-C (SIGINT) during blocking process calls raises KeyboardInterrupt
promptly, and lipc works afterwards. Each case runs in a child interpreter,
so a hang fails on a subprocess timeout instead of hanging pytest."""
from __future__ import annotations

import pytest
from conftest import posix_only, run_helper


@pytest.mark.parametrize("what", [
    "wait", "communicate", "read", "write",
    pytest.param("stop", marks=posix_only("a child ignoring SIGTERM makes stop() wait; on Windows stop() "
                                          "terminates at once, nothing to interrupt")),
    pytest.param("run", marks=posix_only("the helper finds the killed child in /proc")),
])
def test_sigint_interrupts_process_calls(what):
    p = run_helper("sigint_proc.py", what, timeout=30)
    out = p.stdout.splitlines()
    report = f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert p.returncode == 0, report
    ki = [line for line in out if line.startswith("KI ")]
    assert ki, "no KeyboardInterrupt during the call\n" + report
    assert float(ki[0].split()[1]) < 1.0, report  # normally ~1 ms
    if what == "run":
        assert "CHILD-GONE" in out, report  # run() kills its child on the way out
    assert out[-1] == "AFTER-OK", report
