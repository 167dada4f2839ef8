"""ring_demo.py - a Python producer and a consumer in another language
sharing a ring of records in lipc shared memory.

Two lipc semaphores count the free slots ("-slots") and the filled ones
("-items"); a lipc mutex ("-mx") guards the ring's head and tail. The
producer is this Python process, writing records in place through
SharedMemory.buf (struct.pack_into: no copies). The consumer runs as a
child started with lipc.Popen:

  luajit  the LuaJIT binding, reading the ring through ffi pointers
  c       a C program compiled here at run time against include/lipc.h

The ring has 4 slots and 12 records go through it, so it wraps and the
producer waits for free slots. The layout is the one of the LuaJIT
binding's ring_demo.lua (which runs the other way round).

    python3 bindings/python/examples/ring_demo.py [luajit|c|both]   (default: both;
    a consumer whose language is not available is skipped, not failed)
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.dirname(HERE))
import lipc  # noqa: E402
from lipc import _lib  # noqa: E402

CAP, COUNT = 4, 12
HDR = struct.Struct("=4I")  # capacity, head, tail, done
REC = struct.Struct("=2Id48s")  # seq, pid, value, text

LUA_CONSUMER = r"""
local ffi = require "ffi"
local lipc = require "lipc"
local base, count = arg[1], tonumber(arg[2])
ffi.cdef [[
struct ring_hdr { uint32_t capacity, head, tail, done; };
struct ring_rec { uint32_t seq, pid; double value; char text[48]; };
int getpid(void);
]]
local shm = assert(lipc.shm.open(base))
local slots = assert(lipc.sem.open(base .. "-slots"))
local items = assert(lipc.sem.open(base .. "-items"))
local mx = assert(lipc.mutex.open(base .. "-mx"))
local hdr = ffi.cast("struct ring_hdr *", shm:ptr())
local recs = ffi.cast("struct ring_rec *", shm:ptr() + ffi.sizeof("struct ring_hdr"))
local sum = 0
for i = 1, count do
  assert(items:wait(10))
  local locked, why = mx:lock(5)
  assert(locked, why)
  if why == "owner_died" then mx:consistent() end
  local r = recs[hdr.tail % hdr.capacity]
  local seq, from, value, text = r.seq, r.pid, r.value, ffi.string(r.text)
  hdr.tail = hdr.tail + 1
  mx:unlock()
  slots:post()
  assert(seq == i, "records out of order")
  sum = sum + value
  print(("  LuaJIT consumer (pid %d): record %2d from pid %d: %5.1f %q"):format(ffi.C.getpid(), seq, from, value, text))
  io.stdout:flush()
end
print(("  LuaJIT consumer: %d records, sum %.1f"):format(count, sum))
"""

C_CONSUMER = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "lipc.h"
struct ring_hdr { uint32_t capacity, head, tail, done; };
struct ring_rec { uint32_t seq, pid; double value; char text[48]; };
static char n[256];
static const char *nm(const char *base, const char *s) { snprintf(n, sizeof n, "%s%s", base, s); return n; }
#define TRY(x) do { if ((x) != 0) { fprintf(stderr, "C consumer: %s\n", lipc_last_error()); return 1; } } while (0)
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  const char *base = argv[1];
  int count = atoi(argv[2]), died = 0;
  lipc_handle_t shm, slots, items, mx;
  void *p;
  TRY(lipc_shm_open(base, 0, 0, 0, &shm));
  TRY(lipc_shm_addr(shm, &p, NULL));
  TRY(lipc_sem_open(nm(base, "-slots"), 0, 0, 0, &slots));
  TRY(lipc_sem_open(nm(base, "-items"), 0, 0, 0, &items));
  TRY(lipc_mutex_open(nm(base, "-mx"), 0, 0, &mx));
  struct ring_hdr *hdr = p;
  struct ring_rec *recs = (struct ring_rec *)(hdr + 1);
  double sum = 0;
  for (int i = 1; i <= count; i++) {
    TRY(lipc_sem_wait(items, 10000));
    TRY(lipc_mutex_lock(mx, 5000, &died));
    if (died) lipc_mutex_consistent(mx);
    struct ring_rec r = recs[hdr->tail % hdr->capacity];
    hdr->tail++;
    lipc_mutex_unlock(mx);
    TRY(lipc_sem_post(slots));
    if ((int)r.seq != i) { fprintf(stderr, "C consumer: records out of order\n"); return 1; }
    sum += r.value;
    printf("  C consumer (pid %d): record %2u from pid %u: %5.1f \"%.48s\"\n", (int)getpid(), r.seq, r.pid,
           r.value, r.text);
    fflush(stdout);
  }
  printf("  C consumer: %d records, sum %.1f\n", count, sum);
  return 0;
}
"""


def lua_consumer(tmp: str):
    exe = shutil.which("luajit")
    if not exe:
        return None, "luajit is not installed"
    script = os.path.join(tmp, "ring_consumer.lua")
    with open(script, "w") as f:
        f.write(LUA_CONSUMER)
    lua_path = f"{REPO}/bindings/luajit/?.lua;{REPO}/bindings/luajit/?/init.lua;;"
    return [exe, script], {"LUA_PATH": lua_path}


def c_consumer(tmp: str):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None, "no C compiler"
    src, exe = os.path.join(tmp, "ring_consumer.c"), os.path.join(tmp, "ring_consumer")
    with open(src, "w") as f:
        f.write(C_CONSUMER)
    libdir = os.path.dirname(os.path.abspath(_lib.PATH)) if os.sep in _lib.PATH else f"{REPO}/build"
    r = subprocess.run([cc, "-O2", "-o", exe, src, f"-I{REPO}/include", f"-L{libdir}", "-llipc",
                        f"-Wl,-rpath,{libdir}"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"cannot compile the C consumer: {r.stderr.strip()}"
    return [exe], {}


def exchange(lang: str, make) -> bool:
    base = f"lipc-pyring-{os.getpid()}-{lang}"
    with tempfile.TemporaryDirectory(prefix="lipc-ring-") as tmp:
        argv, env = make(tmp)
        if argv is None:
            print(f"Python producer: {lang} consumer skipped ({env})")
            return True
        ring = lipc.SharedMemory(base, create=True, exclusive=True, size=HDR.size + CAP * REC.size,
                                 unlink_on_close=True)
        slots = lipc.Semaphore(base + "-slots", create=True, exclusive=True, initial=CAP,
                               unlink_on_close=True)
        items = lipc.Semaphore(base + "-items", create=True, initial=0, exclusive=True, unlink_on_close=True)
        mx = lipc.Mutex(base + "-mx", create=True, exclusive=True, unlink_on_close=True)
        try:
            HDR.pack_into(ring.buf, 0, CAP, 0, 0, 0)
            print(f"Python producer (pid {os.getpid()}): {COUNT} records through a ring of {CAP} "
                  f"slots to a {lang} consumer", flush=True)
            with lipc.Popen([*argv, base, str(COUNT)], extra_env=env, on_close="stop") as child:
                for i in range(1, COUNT + 1):
                    if not slots.acquire(timeout=10):
                        print("Python producer: no free slot in 10 s")
                        return False
                    with mx:
                        if mx.owner_died:
                            mx.consistent()
                        cap, head, tail, _ = HDR.unpack_from(ring.buf, 0)
                        REC.pack_into(ring.buf, HDR.size + (head % cap) * REC.size, i, os.getpid(),
                                      i * 2.5, f"Python says hi #{i}".encode())
                        HDR.pack_into(ring.buf, 0, cap, head + 1, tail, int(i == COUNT))
                    print(f"Python producer: put record {i:2d} (slot {head % cap})", flush=True)
                    items.release()
                code = child.wait(timeout=10)
            _, head, tail, done = HDR.unpack_from(ring.buf, 0)
            print(f"Python producer: {lang} consumer exited {code}; head {head}, tail {tail}, "
                  f"{'done' if done else 'not done'}; free slots {slots.value}")
            return code == 0 and head == tail == COUNT
        finally:
            for obj in (ring, slots, items, mx):
                obj.close()


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    if which not in ("luajit", "c", "both"):
        print(__doc__)
        return 2
    ok = True
    if which in ("luajit", "both"):
        ok = exchange("LuaJIT", lua_consumer) and ok
    if which in ("c", "both"):
        ok = exchange("C", c_consumer) and ok
    print("ring demo:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
