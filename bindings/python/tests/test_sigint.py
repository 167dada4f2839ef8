"""Ctrl-C during a lipc wait while other threads use lipc (host-runtimes.md
F8, rule 2): KeyboardInterrupt must arrive promptly, the other threads must
carry on unharmed, and lipc must still work. Runs in a child interpreter so
that a hang fails the test instead of hanging pytest."""
from __future__ import annotations

import pytest
from conftest import posix_only, run_helper


@pytest.mark.parametrize("mode", ["direct", "handoff"])
@pytest.mark.parametrize("what", ["sem", "fds"])
def test_sigint_interrupts_a_wait(what, mode):
    p = run_helper("sigint_wait.py", what, mode, timeout=30)
    out = p.stdout.splitlines()
    report = f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert p.returncode == 0, report
    ki = [line for line in out if line.startswith("KI ")]
    assert ki, "no KeyboardInterrupt during the wait\n" + report
    assert float(ki[0].split()[1]) < 2.0, report  # generous: normally ~1 ms
    assert not [line for line in out if line.startswith(("WORKER-ERROR", "WORKERS-HUNG"))], report
    counts = [int(c) for c in next(line for line in out if line.startswith("WORKERS ")).split()[1:]]
    assert len(counts) == 4 and min(counts) > 0, report
    during = int(next(line for line in out if line.startswith("DURING-WAIT ")).split()[1])
    assert during > 0, report  # the wait released the GIL
    assert out[-1] == "AFTER-OK", report


@posix_only("signal.pthread_kill picks the thread that runs the C handler; on Windows every "
            "Ctrl-C is handled on a thread of the console's own, which test_sigint_interrupts_a_wait is")
@pytest.mark.parametrize("what", ["sem", "mutex", "event", "fds", "proc"])
def test_sigint_handled_on_another_thread_ends_a_main_thread_wait(what):
    # A process-directed SIGINT may be taken by any thread that does not
    # block it; Python then only sets a flag for the main thread, which sits
    # in a C wait. The binding's main-thread waits are made of short calls,
    # so the KeyboardInterrupt comes within one of them (0.1 s), not never.
    p = run_helper("sigint_elsewhere.py", what, timeout=30)
    report = f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    lines = p.stdout.splitlines()
    assert lines and lines[0].startswith("KI "), report
    assert float(lines[0].split()[1]) < 2.0, report
