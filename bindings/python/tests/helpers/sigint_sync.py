"""Ctrl-C during endless Mutex.acquire(), Event.wait() and FileLock.acquire().

  sigint_sync.py LOCKFILE

For each kind: a helper thread holds the mutex or the file lock (the event
is just never set), the main thread prints "WAITING <kind>" and blocks
without a timeout; the parent sends SIGINT. Prints "KI <kind>" when
KeyboardInterrupt arrived, then "OK <kind>" once the object still works,
and "DONE" at the end.
"""
import os
import sys
import threading

import lipc

# (the embeddable Windows CPython does not put the script's folder on sys.path)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostint import WINDOWS, ctrl_c

base = f"lipc-py-sigsync-{os.getpid()}"
lockfile = sys.argv[1]


def held_by_thread(acquire, release):
    """A thread takes the object and keeps it until the returned event."""
    got, done = threading.Event(), threading.Event()

    def hold():
        acquire()
        got.set()
        done.wait(60)
        release()

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    got.wait(10)
    return done, t


def interrupted(kind, wait):
    if WINDOWS:  # no signal from outside: Ctrl-C in this console, 0.2 s after WAITING
        threading.Timer(0.2, ctrl_c).start()
    print("WAITING", kind, flush=True)
    try:
        wait()
        print("NO-INTERRUPT", kind, flush=True)
    except KeyboardInterrupt:
        print("KI", kind, flush=True)


m = lipc.Mutex(base + "-m", create=True, unlink_on_close=True)  # (one namespace for all kinds on Windows)
done, t = held_by_thread(m.acquire, m.release)
interrupted("mutex", m.acquire)
done.set()
t.join(10)
assert m.acquire(timeout=5) and not m.owner_died
m.release()
print("OK mutex", flush=True)

ev = lipc.Event(base + "-e", create=True, unlink_on_close=True)
interrupted("event", ev.wait)
ev.set()
assert ev.wait(5)
print("OK event", flush=True)

holder, waiter = lipc.FileLock(lockfile), lipc.FileLock(lockfile)
done, t = held_by_thread(holder.acquire, holder.release)
interrupted("flock", waiter.acquire)
done.set()
t.join(10)
assert waiter.acquire(timeout=5)
waiter.release()
print("OK flock", flush=True)
for obj in (m, ev, holder, waiter):
    obj.close()
print("DONE", flush=True)
