"""What the Ctrl-C helpers share across systems.

ctrl_c(): Ctrl-C to this process, as a user pressing it. POSIX: SIGINT to
the process. Windows: CTRL_C_EVENT to this process's console
(GenerateConsoleCtrlEvent): the console control handlers run, lipc's (which
ends its waits with LIPC_EINTR) and Python's (which flags
KeyboardInterrupt). conftest starts the helpers with a console of their own
(CREATE_NEW_CONSOLE) on Windows, so the event reaches no other process.

SLEEP: argv of a child that sleeps n seconds (sleep(1) or a Python).
"""
import os
import signal
import sys

WINDOWS = sys.platform == "win32"


def ctrl_c() -> None:
    if WINDOWS:
        import ctypes
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        if not kernel32.GenerateConsoleCtrlEvent(signal.CTRL_C_EVENT, 0):
            raise ctypes.WinError(ctypes.get_last_error())
    else:
        os.kill(os.getpid(), signal.SIGINT)


def sleep_argv(seconds: float) -> list:
    if WINDOWS:
        return [sys.executable, "-c", f"import time; time.sleep({seconds})"]
    return ["sleep", str(seconds)]


def echo_argv(text: str) -> list:
    """A child that writes text and a newline ("\\n" on every system)."""
    if WINDOWS:
        return [sys.executable, "-c", f"import sys; sys.stdout.buffer.write({(text + chr(10)).encode()!r})"]
    return ["echo", text]
