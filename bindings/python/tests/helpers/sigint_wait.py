"""SIGINT during a lipc wait, with other threads busy in lipc.

  sigint_wait.py sem|fds direct|handoff

The main thread blocks in Semaphore.acquire() (no timeout) or wait_fds (30 s)
while 4 threads open/post/wait/close semaphores and read diagnostics; a timer
thread sends SIGINT to the process after 0.3 s. Prints one line per finding
for the test to check:
  KI <seconds from the signal to KeyboardInterrupt>
  WORKERS <iterations of each> | WORKER-ERROR <repr> | WORKERS-HUNG
  DURING-WAIT <iterations done while the main thread waited>
  AFTER-OK
"""
import os
import sys
import threading
import time

import lipc

# (the embeddable Windows CPython does not put the script's folder on sys.path)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostint import ctrl_c

what, mode = sys.argv[1], sys.argv[2]
lipc.set_call_mode(lipc.CALL_HANDOFF if mode == "handoff" else lipc.CALL_DIRECT)
stop = threading.Event()
counts = [0] * 4
errors: list = []
base = f"lipc-py-sigint-{os.getpid()}"


def worker(i):
    try:
        while not stop.is_set():
            s = lipc.Semaphore(f"{base}-{i}", create=True, initial=0, unlink_on_close=True)
            s.release(2)
            assert s.acquire(timeout=5) and s.acquire(blocking=False)
            assert not s.acquire(timeout=0.001)
            assert lipc.version() and lipc.diag(lipc.DIAG_LIVE_HANDLES) >= 1
            if sys.platform != "win32":  # (the hand-off mode is Linux's)
                assert lipc.diag(lipc.DIAG_GO_THREAD) == (mode == "handoff")
            s.close()
            counts[i] += 1
    except BaseException as e:  # noqa: B902 - report everything
        errors.append(repr(e))


threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
sent: list = []
during: list = []
before = [0]


def fire():
    time.sleep(0.3)
    sent.append(time.monotonic())
    during.append(sum(counts) - before[0])
    ctrl_c()


main_sem = lipc.Semaphore(f"{base}-main", create=True, initial=0, unlink_on_close=True)
r, w = os.pipe()
threading.Thread(target=fire, daemon=True).start()
before[0] = sum(counts)
try:
    if what == "sem":
        main_sem.acquire()
    else:
        lipc.wait_fds([(r, lipc.WAIT_READ)], 30.0)
    print("NO-INTERRUPT", flush=True)
except KeyboardInterrupt:
    print(f"KI {time.monotonic() - sent[0]:.3f}", flush=True)

stop.set()
for t in threads:
    t.join(20)
if any(t.is_alive() for t in threads):
    print("WORKERS-HUNG", flush=True)
for e in errors:
    print("WORKER-ERROR", e, flush=True)
print("WORKERS", *counts, flush=True)
print("DURING-WAIT", during[0], flush=True)

main_sem.release()
assert main_sem.acquire(timeout=5) and not main_sem.acquire(blocking=False)
os.write(w, b"x")
assert lipc.wait_fds([(r, lipc.WAIT_READ)], 5) == [(r, lipc.WAIT_READ)]
assert lipc.diag(lipc.DIAG_FP_SELFTEST) == 1
main_sem.close()
print("AFTER-OK", flush=True)
