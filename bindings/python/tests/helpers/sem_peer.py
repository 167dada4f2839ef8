"""A second process for the semaphore tests:
  sem_peer.py post NAME DELAY   open NAME, sleep DELAY, release it
  sem_peer.py wait NAME TIMEOUT open NAME, acquire it; exit 0 if acquired
"""
import sys
import time

import lipc

action, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sem = lipc.Semaphore(name)
try:
    if action == "post":
        time.sleep(seconds)
        sem.release()
        sys.exit(0)
    sys.exit(0 if sem.acquire(timeout=seconds) else 3)
finally:
    sem.close()
