"""A parent that spawns `sleep 30` with autokill, prints the child's pid,
then waits to be killed (the test sends it SIGKILL).

  autokill_parent.py [signal-number]
"""
import sys
import time

import lipc

sig = int(sys.argv[1]) if len(sys.argv) > 1 else True
p = lipc.Popen(["sleep", "30"], autokill=sig)
print(p.pid, flush=True)
time.sleep(60)
