"""SIGINT during a blocking process call.

  sigint_proc.py wait|communicate|read|write|stop|run

The main thread blocks (no timeout) in Popen.wait(), communicate(), a read
of p.stdout, a write to p.stdin that fills the pipe, stop() with a long
grace, or run(); a timer thread sends SIGINT to the process after 0.3 s.
Prints:
  KI <seconds from the signal to KeyboardInterrupt> | NO-INTERRUPT
  CHILD-GONE (run: the child was killed on the way out)
  AFTER-OK (lipc still works afterwards)
"""
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

import lipc

# (the embeddable Windows CPython does not put the script's folder on sys.path)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostint import WINDOWS, ctrl_c, echo_argv, sleep_argv

what = sys.argv[1]
sent = []


def fire():
    time.sleep(0.3)
    sent.append(time.monotonic())
    ctrl_c()


# Windows: Ctrl-C goes to every process of the console, and the sleeping
# child (a Python) shares this one: in a process group of its own it does
# not get the event (as a POSIX test sends SIGINT to this process alone),
# so it is still running when the call is interrupted.
alone = {"creationflags": 0x200} if WINDOWS else {}  # CREATE_NEW_PROCESS_GROUP
p = None
piddir = tempfile.mkdtemp(prefix="lipc-sigint-")
pidfile = os.path.join(piddir, "pid")
if what == "wait":
    p = lipc.Popen(sleep_argv(30), **alone)
elif what in ("communicate", "read"):
    p = lipc.Popen(sleep_argv(30), stdout=lipc.PIPE, **alone)
elif what == "write":
    p = lipc.Popen(sleep_argv(30), stdin=lipc.PIPE, **alone)
elif what == "stop":
    # its own group, so that the cleanup kills the shell's sleep too (an
    # orphaned sleep would hold our stdout open for 30 s)
    # (TERM is ignored across the exec; "ready" once it is, rather than a
    # fixed sleep that a loaded machine can outlast before the trap is set)
    p = lipc.Popen(["sh", "-c", "trap '' TERM; echo ready; exec sleep 30"], process_group=0, stdout=lipc.PIPE)
    assert p.stdout.readline() == b"ready\n"
threading.Thread(target=fire, daemon=True).start()
try:
    if what == "wait":
        p.wait()
    elif what == "communicate":
        p.communicate()
    elif what == "read":
        p.stdout.read()
    elif what == "write":
        p.stdin.write(b"x" * (4 << 20))
        p.stdin.flush()
    elif what == "stop":
        p.stop(60)
    elif what == "run":
        lipc.run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"], capture_output=True)
    print("NO-INTERRUPT", flush=True)
except KeyboardInterrupt:
    print(f"KI {time.monotonic() - sent[0]:.3f}", flush=True)

if what == "run":
    with open(pidfile) as f:
        pid = int(f.read())
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}"):
            print("CHILD-GONE", flush=True)
            break
        time.sleep(0.02)
    shutil.rmtree(piddir)
else:
    assert p.poll() is None, p.poll()
    p.kill(group=what == "stop")
    assert p.wait(5) == (-signal.SIGKILL if not WINDOWS else p.returncode)
    p.close()
    os.rmdir(piddir)
assert lipc.run(echo_argv("ok"), capture_output=True).stdout == b"ok\n"
print("AFTER-OK", flush=True)
