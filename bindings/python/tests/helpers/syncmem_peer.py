"""A second process for the mutex, event, shared memory, mapped file and
file lock tests. Prints one line per step so the test can follow it.

  syncmem_peer.py hold-mutex NAME         lock, print "L", sleep until killed
  syncmem_peer.py count NAME SHM N         N times: lock the mutex NAME and add 1
                                          to the 8-byte counter at the start of
                                          the shared memory SHM (slowly)
  syncmem_peer.py set-event NAME DELAY    sleep DELAY, set the event
  syncmem_peer.py shm-writer NAME         write at 0, grow to 1 MiB, write near
                                          the end, print "GREW <size>"
  syncmem_peer.py shm-read NAME SIZE      print the first SIZE bytes (hex)
  syncmem_peer.py mmap-writer PATH        write b"CHILD" at 0 through a shared
                                          mapping, flush
  syncmem_peer.py hold-lock PATH [SECS]   lock, print "L"; sleep until killed,
                                          or SECS then print "U <monotonic>"
                                          and unlock
  syncmem_peer.py try-lock PATH           print "GOT" or "BUSY" (no wait)
  syncmem_peer.py sigint-lock PATH N CPU  pinned to CPU: N times print
                                          "WAITING i" and wait for the lock
                                          forever; "KI i" on KeyboardInterrupt
  syncmem_peer.py sigint-lock-raw PATH N CPU   the same with lipc_flock_lock
                                          itself (timeout -1, again after EINTR)
"""
import os
import sys
import time

import lipc

role, arg = sys.argv[1], sys.argv[2]
if role == "hold-mutex":
    m = lipc.Mutex(arg)
    assert m.acquire(timeout=30)
    print("L", flush=True)
    time.sleep(600)
elif role == "count":
    m, s = lipc.Mutex(arg), lipc.SharedMemory(sys.argv[3])
    for _ in range(int(sys.argv[4])):
        with m:
            v = int.from_bytes(s.buf[:8], "little")
            time.sleep(0)  # let others run between the read and the write
            s.buf[:8] = (v + 1).to_bytes(8, "little")
    s.close()
    m.close()
elif role == "set-event":
    e = lipc.Event(arg)
    time.sleep(float(sys.argv[3]))
    e.set()
    e.close()
elif role == "shm-writer":
    s = lipc.SharedMemory(arg)
    s.buf[:20] = b"written by the child"
    s.grow(1 << 20)
    s.buf[(1 << 20) - 16:(1 << 20) - 4] = b"end of grown"
    print("GREW", s.size, flush=True)
    s.close()
elif role == "shm-read":
    with lipc.SharedMemory(arg) as s:
        print(s.buf[:int(sys.argv[3])].hex(), flush=True)
elif role == "mmap-writer":
    with lipc.MappedFile(arg, "w") as m:
        m.buf[:5] = b"CHILD"
        m.flush()
elif role == "hold-lock":
    lock = lipc.FileLock(arg)
    assert lock.acquire(timeout=30)
    print("L", flush=True)
    if len(sys.argv) > 3:
        time.sleep(float(sys.argv[3]))
        print("U", time.monotonic(), flush=True)
        lock.release()
    else:
        time.sleep(600)
elif role in ("sigint-lock", "sigint-lock-raw"):
    from lipc._lib import lib
    os.sched_setaffinity(0, {int(sys.argv[4])})
    lock = lipc.FileLock(arg)

    def raw():
        while lib.lipc_flock_lock(lock.handle, 0, 0, 1, -1) == lipc.Code.EINTR:
            pass  # Python runs its handlers here: KeyboardInterrupt

    for i in range(int(sys.argv[3])):
        print("WAITING", i, flush=True)
        try:
            raw() if role == "sigint-lock-raw" else lock.acquire()
            print("GOT", i, flush=True)
        except KeyboardInterrupt:
            print("KI", i, flush=True)
elif role == "try-lock":
    lock = lipc.FileLock(arg)
    print("GOT" if lock.acquire(blocking=False) else "BUSY", flush=True)
    lock.close()
else:
    sys.exit(f"unknown role {role}")
