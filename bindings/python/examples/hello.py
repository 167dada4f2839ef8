"""hello.py - lipc loaded from Python: the version, how calls reach the Go
runtime, and the library's diagnostic figures.

    python3 bindings/python/examples/hello.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lipc  # noqa: E402
from lipc import _lib  # noqa: E402

modes = {lipc.CALL_DIRECT: "direct", lipc.CALL_HANDOFF: "handoff"}
print(f"Python: lipc {lipc.version()} from {_lib.PATH}")
print(f"Python: call mode {modes.get(lipc.call_mode(), '?')}; "
      f"host RLIMIT_NOFILE {lipc.diag(lipc.DIAG_HOST_NOFILE)}; "
      f"FP self-test {lipc.diag(lipc.DIAG_FP_SELFTEST)}; "
      f"Go work on a lipc thread: {'yes' if lipc.diag(lipc.DIAG_GO_THREAD) else 'no'}")
print(f"Python: threads wrapped {lipc.diag(lipc.DIAG_THREADS_WRAPPED)}, "
      f"stack lookups {lipc.diag(lipc.DIAG_STACK_LOOKUPS)}, "
      f"live handles {lipc.diag(lipc.DIAG_LIVE_HANDLES)}")
