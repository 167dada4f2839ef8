"""SIGINT whose C handler runs on another thread than the main one, which
waits forever in lipc: the kernel may pick any thread for a process-directed
signal, and Python only raises KeyboardInterrupt in the main thread.

  sigint_elsewhere.py sem|mutex|event|fds|proc

Prints "KI <seconds from the signal>" or "NO-INTERRUPT"."""
import os
import signal
import sys
import threading
import time

import lipc

what = sys.argv[1]
name = f"lipc-py-elsewhere-{os.getpid()}"
ready = threading.Event()
sent = []


def other_thread():
    # Everything but this thread blocks SIGINT while it is sent, so the
    # handler runs here; the main thread's wait is never interrupted by it.
    ready.wait()
    time.sleep(0.2)
    sent.append(time.monotonic())
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)


sem = lipc.Semaphore(name + "-s", create=True, initial=0, unlink_on_close=True)
mutex = lipc.Mutex(name + "-m", create=True, unlink_on_close=True)
event = lipc.Event(name + "-e", create=True, unlink_on_close=True)
r, w = os.pipe()
holder = threading.Thread(target=lambda: (mutex.acquire(), ready.set(), time.sleep(5)), daemon=True)
holder.start()
ready.wait()
t = threading.Thread(target=other_thread, daemon=True)
t.start()
proc = lipc.Popen(["sleep", "5"]) if what == "proc" else None
try:
    if what == "sem":
        sem.acquire()
    elif what == "mutex":
        mutex.acquire()
    elif what == "event":
        event.wait()
    elif what == "fds":
        lipc.wait_fds([(r, lipc.WAIT_READ)], None)
    else:
        proc.wait()
    print("NO-INTERRUPT", flush=True)
except KeyboardInterrupt:
    print(f"KI {time.monotonic() - sent[0]:.3f}", flush=True)
if proc:
    proc.kill()
    proc.wait()
