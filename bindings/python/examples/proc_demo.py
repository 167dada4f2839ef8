"""proc_demo.py - a two-stage pipeline whose pipe goes from child to child
(never through this process), and a child under a memory limit that fails
and is reported with its exit status, CPU time and peak memory.

    python3 bindings/python/examples/proc_demo.py
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lipc  # noqa: E402


def status(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


# printf 'pear\napple\nfig\n' | sort -- the pipe is made here, given to each
# child, and closed here as soon as each has started (ParentFd close=True).
r, w = os.pipe()
producer = lipc.Popen(["printf", "pear\\napple\\nfig\\n"], stdout=lipc.ParentFd(w, close=True))
sorter = lipc.Popen(["sort"], stdin=lipc.ParentFd(r, close=True), stdout=lipc.PIPE)
sorted_out, _ = sorter.communicate(timeout=5)
assert producer.wait(5) == 0 and sorter.returncode == 0
print(f"Python: pipeline printf (pid {producer.pid}) | sort (pid {sorter.pid}) gave: "
      f"{sorted_out.decode().replace(chr(10), ' ').strip()}")
producer.close()
sorter.close()

# A child that wants 300 MiB under a 100 MiB address-space limit.
limited = lipc.run([sys.executable, "-c", "bytearray(300 * 1024 * 1024)"],
                   rlimits={"as": 100 << 20}, capture_output=True, text=True, timeout=30)
info = limited.info
last = (limited.stderr.strip().splitlines() or [""])[-1]
print(f"Python: memory-limited child (RLIMIT_AS 100 MiB): {status(limited.returncode)}, "
      f"cpu {info.utime + info.stime:.3f} s (user {info.utime:.3f}, sys {info.stime:.3f}), "
      f"max RSS {info.maxrss_kb} KiB; it said: {last}")

# The same in a shell, killed by the kernel's CPU limit instead.
cpu = lipc.run(["sh", "-c", "while :; do :; done"], rlimits={lipc.RLIMIT_CPU: (1, 2)}, timeout=30)
print(f"Python: CPU-limited shell loop (RLIMIT_CPU 1 s): {status(cpu.returncode)}, "
      f"cpu {cpu.info.utime + cpu.info.stime:.3f} s")

# Input in, output and status out, with a deadline; a timeout keeps the output.
res = lipc.run(["tr", "a-z", "A-Z"], input="lipc from python\n", capture_output=True, text=True, timeout=5)
print(f"Python: run tr a-z A-Z -> {res.stdout.strip()!r}, exit code {res.returncode}")
try:
    lipc.run(["sh", "-c", "echo started; exec sleep 10"], capture_output=True, timeout=0.2)
except lipc.TimeoutExpired as e:
    print(f"Python: run with a 0.2 s timeout -> TimeoutExpired; kept output {e.stdout.decode().strip()!r}")

sys.exit(0 if limited.returncode != 0 and cpu.returncode == -signal.SIGXCPU else 1)
