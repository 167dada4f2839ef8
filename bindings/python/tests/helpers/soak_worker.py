"""Soak: threads hammer lipc (semaphores, processes, fd waits, Go calls)
while the main thread blocks in lipc waits and is hit by SIGINT again and
again. Prints a summary line and exits 0 only if every check held.
Duration from argv[1] (seconds)."""
import os
import signal
import sys
import threading
import time

import lipc

# (the embeddable Windows CPython does not put the script's folder on sys.path)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostint import ctrl_c, sleep_argv

duration = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
stop = threading.Event()
errors: list = []
counts = {"ops": 0, "spawns": 0, "interrupts": 0, "wine_internal_errors": 0}
UNDER_WINE = os.environ.get("LIPC_UNDER_WINE") == "1"
lock = threading.Lock()
pid = os.getpid()


def worker(n: int) -> None:
    name = f"pysoak-{pid}-{n}"
    try:
        while not stop.is_set():
            sem = lipc.Semaphore(name, create=True, initial=1, unlink_on_close=True)
            for _ in range(50):
                if not sem.acquire(timeout=0.01):
                    errors.append("acquire failed on a posted semaphore")
                sem.release()
            sem.close()
            r, w = os.pipe()
            lipc.wait_fds([(r, lipc.WAIT_READ)], timeout=0.001)
            os.close(r)
            os.close(w)
            lipc.diag(lipc.DIAG_FP_SELFTEST)
            if n % 2 == 0:
                try:
                    if sys.platform == "win32":
                        # a group of its own: the Ctrl-C pressed in this console is not the child's
                        res = lipc.run(sleep_argv(0), timeout=10, creationflags=0x200)  # CREATE_NEW_PROCESS_GROUP
                    else:
                        res = lipc.run(["/bin/true"], timeout=10)
                except OSError as e:
                    # Wine's CreateProcess fails now and then with
                    # ERROR_INTERNAL_ERROR (docs/windows-wine.md, gap 7)
                    if not (UNDER_WINE and getattr(e, "winerror", None) == 1359):
                        raise
                    with lock:
                        counts["wine_internal_errors"] += 1
                    continue
                if res.returncode != 0:
                    errors.append(f"/bin/true exited {res.returncode}")
                with lock:
                    counts["spawns"] += 1
            with lock:
                counts["ops"] += 53
    except BaseException as e:  # noqa: BLE001 - a soak reports everything
        errors.append(f"worker {n}: {e!r}")


def interrupter() -> None:
    while not stop.is_set():
        time.sleep(0.05)
        ctrl_c()


def main() -> int:
    live0 = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=interrupter))
    for t in threads:
        t.start()
    blocker = lipc.Semaphore(f"pysoak-{pid}-main", create=True, initial=0, unlink_on_close=True)
    end = time.monotonic() + duration
    while time.monotonic() < end:
        try:
            blocker.acquire()  # forever: only SIGINT ends it
            errors.append("a wait on a zero semaphore returned")
        except KeyboardInterrupt:
            counts["interrupts"] += 1
    stop.set()
    # The interrupter may still send one more SIGINT while we join.
    for t in threads:
        while True:
            try:
                t.join()
                break
            except KeyboardInterrupt:
                pass
    blocker.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    time.sleep(0.3)  # children closed while running are reaped by lipc
    live1 = lipc.diag(lipc.DIAG_LIVE_HANDLES)
    if live1 != live0:
        errors.append(f"handles {live0} -> {live1}")
    if counts["interrupts"] < 3 or counts["ops"] == 0 or counts["spawns"] == 0:
        errors.append(f"too little happened: {counts}")
    print("soak", counts, "errors", errors[:5])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
