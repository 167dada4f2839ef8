"""The Python host soak: worker threads use lipc while the main thread is
blocked in lipc and interrupted by SIGINT over and over (host-runtimes.md
F8). Seconds long by default; LIPC_SOAK_SECONDS makes it minutes (make
soak). Runs in a child interpreter, so a hang fails on the timeout instead
of hanging pytest."""
import os
import pathlib
import subprocess
import sys

from conftest import HELPER_FLAGS, child_env

HELPER = pathlib.Path(__file__).parent / "helpers" / "soak_worker.py"


def test_soak_threads_and_sigint():
    seconds = float(os.environ.get("LIPC_SOAK_SECONDS", "3"))
    env = child_env()
    p = subprocess.run([sys.executable, str(HELPER), str(seconds)], capture_output=True, text=True,
                       timeout=seconds + 60, env=env, creationflags=HELPER_FLAGS)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "errors []" in p.stdout, p.stdout
