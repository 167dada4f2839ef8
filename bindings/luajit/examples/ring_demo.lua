-- ring_demo.lua - a ring of records in lipc shared memory, filled by a
-- producer in another language and emptied by this LuaJIT consumer. Two
-- lipc semaphores count free slots ("slots") and filled ones ("items"); a
-- lipc mutex guards the ring's head and tail. The producers:
--   C       a program compiled here at run time against include/lipc.h
--   Python  python3 with the Python binding (lipc.Semaphore; the ring is
--           Python's mmap over /dev/shm/NAME, lipc's shm being POSIX shm;
--           the mutex through the binding's raw ctypes functions)
-- The ring has 4 slots and each producer sends 12 records, so it wraps and
-- the producer waits for free slots.
--   LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' \
--     luajit bindings/luajit/examples/ring_demo.lua [c|python|both]   (default both;
--     a producer whose language is not available is skipped, not failed)
local ffi = require "ffi"
local lipc = require "lipc"

local which = arg and arg[1] or "both"
local CAP, COUNT = 4, 12

-- The shared layout (both producers write exactly this).
ffi.cdef [[
struct ring_hdr { uint32_t capacity, head, tail, done; };
struct ring_rec { uint32_t seq, pid; double value; char text[48]; };
]]
local HDR, REC = ffi.sizeof("struct ring_hdr"), ffi.sizeof("struct ring_rec") -- 16, 64

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
if here:sub(1, 1) ~= "/" then here = os.getenv("PWD") .. "/" .. here end
local repo = here .. "/../../.."
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
pcall(ffi.cdef, "int getpid(void);")
local pid = ffi.C.getpid()
local tmp = (os.getenv("TMPDIR") or "/tmp") .. "/lipc-ring-demo-" .. pid
local function sh(cmd)
  local r = os.execute(cmd)
  return r == 0 or r == true
end

local C_PRODUCER = [[
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lipc.h"
struct ring_hdr { uint32_t capacity, head, tail, done; };
struct ring_rec { uint32_t seq, pid; double value; char text[48]; };
static char n[256];
static const char *nm(const char *base, const char *suffix) { snprintf(n, sizeof n, "%s%s", base, suffix); return n; }
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  const char *base = argv[1];
  int count = atoi(argv[2]);
  lipc_handle_t shm, slots, items, mx;
  void *p;
  if (lipc_shm_open(base, 0, 0, 0, &shm) || lipc_shm_addr(shm, &p, NULL) ||
      lipc_sem_open(nm(base, "-slots"), 0, 0, 0, &slots) || lipc_sem_open(nm(base, "-items"), 0, 0, 0, &items) ||
      lipc_mutex_open(nm(base, "-mx"), 0, 0, &mx)) {
    fprintf(stderr, "C producer: %s\n", lipc_last_error());
    return 1;
  }
  struct ring_hdr *hdr = p;
  struct ring_rec *recs = (struct ring_rec *)(hdr + 1);
  printf("C producer (pid %d): sending %d records\n", (int)getpid(), count);
  fflush(stdout);
  for (int i = 1; i <= count; i++) {
    if (lipc_sem_wait(slots, 5000)) { fprintf(stderr, "C producer: %s\n", lipc_last_error()); return 1; }
    if (lipc_mutex_lock(mx, 5000, NULL)) { fprintf(stderr, "C producer: %s\n", lipc_last_error()); return 1; }
    struct ring_rec *r = &recs[hdr->head % hdr->capacity];
    r->seq = (uint32_t)i;
    r->pid = (uint32_t)getpid();
    r->value = i * 1.5;
    snprintf(r->text, sizeof r->text, "C says hello #%d", i);
    hdr->head++;
    if (i == count) hdr->done = 1;
    lipc_mutex_unlock(mx);
    lipc_sem_post(items);
  }
  return 0;
}
]]

local PY_PRODUCER = [[
import mmap, os, struct, sys
from ctypes import byref, c_int64
import lipc
from lipc._lib import lib as raw   # the binding's ctypes functions (its mutex class may come later)

base, count = sys.argv[1], int(sys.argv[2])
slots = lipc.Semaphore(base + "-slots")
items = lipc.Semaphore(base + "-items")
mx = c_int64()
if raw.lipc_mutex_open((base + "-mx").encode(), 0, 0, byref(mx)) != 0:
    sys.exit("Python producer: " + raw.lipc_last_error().decode())
fd = os.open("/dev/shm/" + base, os.O_RDWR)   # lipc's shm "x" is POSIX shm "/x"
ring = mmap.mmap(fd, 0)
os.close(fd)
HDR = struct.Struct("=4I")        # capacity, head, tail, done
REC = struct.Struct("=2Id48s")    # seq, pid, value, text
print(f"Python producer (pid {os.getpid()}): sending {count} records", flush=True)
for i in range(1, count + 1):
    if not slots.acquire(timeout=5):
        sys.exit("Python producer: no free slot in 5 s")
    if raw.lipc_mutex_lock(mx, 5000, None) != 0:
        sys.exit("Python producer: " + raw.lipc_last_error().decode())
    cap, head, tail, done = HDR.unpack_from(ring, 0)
    REC.pack_into(ring, HDR.size + (head % cap) * REC.size, i, os.getpid(), i * 2.5,
                  f"Python says hi #{i}".encode())
    HDR.pack_into(ring, 0, cap, head + 1, tail, 1 if i == count else 0)
    raw.lipc_mutex_unlock(mx)
    items.release()
ring.close()
]]

-- Builds the argv of a producer, or nil and why it is not available.
local function c_producer(base)
  sh("mkdir -p " .. q(tmp))
  local src, exe = tmp .. "/ring_producer.c", tmp .. "/ring_producer"
  local f = assert(io.open(src, "w"))
  f:write(C_PRODUCER)
  f:close()
  local cmd = ("%s -O2 -o %s %s -I%s -L%s -llipc -Wl,-rpath,%s 2>&1"):format(os.getenv("CC") or "cc", q(exe), q(src),
    q(repo .. "/include"), q(repo .. "/build"), q(repo .. "/build"))
  local p = io.popen(cmd)
  local out = p:read("*a")
  local ok = p:close()
  if not (ok == true or ok == 0) then return nil, "cannot compile the C producer: " .. out end
  return { exe, base, tostring(COUNT) }, {}
end

local function python_producer(base)
  local pypath = repo .. "/bindings/python"
  local lib = lipc.library_path
  if lib:sub(1, 1) ~= "/" then lib = os.getenv("PWD") .. "/" .. lib end
  if not sh(("PYTHONPATH=%s python3 -c 'import lipc' >/dev/null 2>&1"):format(q(pypath))) then
    return nil, "python3 cannot import the Python binding"
  end
  return { "python3", "-c", PY_PRODUCER, base, tostring(COUNT) },
    { env_add = { PYTHONPATH = pypath, LIPC_LIBRARY = lib } }
end

-- One exchange: create the ring, start the producer, consume COUNT records.
local function exchange(lang, make_argv)
  local base = ("lipc-ring-%d-%s"):format(pid, lang)
  local shm = assert(lipc.shm.open(base, { create = true, exclusive = true, unlink_on_close = true,
                                           size = HDR + CAP * REC }))
  local slots = assert(lipc.sem.open(base .. "-slots", { create = true, exclusive = true, value = CAP,
                                                         unlink_on_close = true }))
  local items = assert(lipc.sem.open(base .. "-items", { create = true, exclusive = true, unlink_on_close = true }))
  local mx = assert(lipc.mutex.open(base .. "-mx", { create = true, exclusive = true, unlink_on_close = true }))
  local hdr = ffi.cast("struct ring_hdr *", shm:ptr())
  local recs = ffi.cast("struct ring_rec *", shm:ptr() + HDR)
  hdr.capacity = CAP

  local argv, opts = make_argv(base)
  if not argv then
    print(("LuaJIT consumer: %s producer skipped (%s)"):format(lang, opts))
    shm:close(); slots:close(); items:close(); mx:close()
    return true
  end
  io.stdout:flush()
  local p = assert(lipc.proc.spawn(argv, opts))
  local ok, sum = true, 0
  for i = 1, COUNT do
    local got, msg = items:wait(10)
    if not got then
      print("LuaJIT consumer: no record in 10 s: " .. tostring(msg))
      ok = false
      break
    end
    local locked, why = mx:lock(5)
    assert(locked, why)
    if why == "owner_died" then mx:consistent() end
    local r = recs[hdr.tail % hdr.capacity]
    local seq, from, value, text = r.seq, r.pid, r.value, ffi.string(r.text)
    local done = hdr.done
    hdr.tail = hdr.tail + 1
    mx:unlock()
    slots:post()
    if seq ~= i then ok = false end
    sum = sum + value
    print(("LuaJIT consumer: record %2d from %s pid %d: value %5.1f %q%s"):format(seq, lang, from, value, text,
      (i == COUNT and done == 1) and " (last)" or ""))
  end
  local code, sig = p:wait(10)
  p:close()
  print(("LuaJIT consumer: %d records from %s through a ring of %d slots (head %d, tail %d), sum %.1f, "
    .. "producer exit %s, order %s")
    :format(COUNT, lang, CAP, hdr.head, hdr.tail, sum, tostring(code), ok and "kept" or "BROKEN"))
  shm:close(); slots:close(); items:close(); mx:close()
  return ok and code == 0 and sig == 0
end

local good = true
if which == "c" or which == "both" then good = exchange("C", c_producer) and good end
if which == "python" or which == "both" then good = exchange("Python", python_producer) and good end
sh("rm -rf " .. q(tmp))
os.exit(good and 0 or 1)
