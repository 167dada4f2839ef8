-- ns per call from JIT-compiled LuaJIT: lipc_version (pure C in lipc) and a
-- handle lookup (lipc_handle_kind, a C table lookup with an out-param),
-- each beside a plain C baseline .so compiled at run time, so the ratio
-- shows what lipc's entry adds over the FFI call itself. Also an
-- uncontended semaphore post+wait pair, raw and through the binding.
--   cd /work/main && LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' \
--     luajit bindings/luajit/bench/bench_calls.lua [rounds] [iterations]
local ffi = require "ffi"
local lipc = require "lipc"
local record = dofile((arg[0]:match("^(.*/)") or "./") .. "bench_record.lua")

local ROUNDS = tonumber(arg and arg[1]) or tonumber(os.getenv("LIPC_BENCH_ROUNDS")) or 7
local N = tonumber(arg and arg[2]) or tonumber(os.getenv("LIPC_BENCH_CALLS")) or 2000000

pcall(ffi.cdef, "struct timespec { long tv_sec; long tv_nsec; };")
pcall(ffi.cdef, "int clock_gettime(int clk, struct timespec *tp);")
pcall(ffi.cdef, "int getpid(void);")
local ts = ffi.new("struct timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- The baseline: the same shapes as the lipc calls, doing nothing.
local function baseline()
  local dir = (os.getenv("TMPDIR") or "/tmp") .. "/lipc-bench-" .. ffi.C.getpid()
  local c, so = dir .. "/base.c", dir .. "/base.so"
  assert(os.execute("mkdir -p '" .. dir .. "'") == 0)
  local f = assert(io.open(c, "w"))
  f:write([[
#include <stdint.h>
const char *base_version(void) { return "0.1.0"; }
int base_lookup(int64_t h, int *out) { if (h < 0) return -2; *out = 1; return 0; }
]])
  f:close()
  assert(os.execute(("%s -shared -fPIC -O2 -o '%s' '%s'"):format(os.getenv("CC") or "cc", so, c)) == 0,
         "cannot compile the baseline")
  ffi.cdef [[
const char *base_version(void);
int base_lookup(int64_t h, int *out);
]]
  local lib = ffi.load(so)
  os.execute("rm -rf '" .. dir .. "'")
  return lib
end

-- Median ns per iteration of f(n) over ROUNDS rounds, after a warm-up round
-- that gets the loop JIT-compiled.
local function measure(f)
  f(N)
  local t = {}
  for r = 1, ROUNDS do
    local t0 = now()
    f(N)
    t[r] = (now() - t0) * 1e9 / N
  end
  table.sort(t)
  return t[(ROUNDS + 1) / 2] or t[math.floor(ROUNDS / 2) + 1]
end

local B = baseline()
local C = lipc.C

-- Each loop is its own function so each gets its own trace; the functions
-- are cached in locals as the binding does.
local lipc_version, base_version = C.lipc_version, B.base_version
local lipc_kind, base_lookup = C.lipc_handle_kind, B.base_lookup
local out = ffi.new("int[1]")

local name = "lipc-bench-" .. ffi.C.getpid()
local s = assert(lipc.sem.open(name, { create = true, exclusive = true, unlink_on_close = true }))
local h = s.handle
local sem_post, sem_wait = C.lipc_sem_post, C.lipc_sem_wait

local rows = {
  { "lipc_version",
    function(n) for _ = 1, n do lipc_version() end end,
    function(n) for _ = 1, n do base_version() end end, "base_version (plain C)" },
  { "handle_kind",
    function(n) for _ = 1, n do if lipc_kind(h, out) ~= 0 then error("lookup failed") end end end,
    function(n) for _ = 1, n do if base_lookup(h, out) ~= 0 then error("lookup failed") end end end,
    "base_lookup (plain C)" },
}

local function line(label, ns, base, unit, base_name)
  if base then
    print(("luajit  %-28s %6.1f ns/call  baseline %5.1f ns/call  ratio %.2f"):format(label, ns, base, ns / base))
    record(label, ns, "ns/call", base_name or "plain C function", base)
  else
    print(("luajit  %-28s %6.1f ns/%s"):format(label, ns, unit or "call"))
    record(label, ns, "ns/" .. (unit or "call"))
  end
end

print(("%d rounds x %d calls, medians; library %s"):format(ROUNDS, N, lipc.library_path))
for _, r in ipairs(rows) do line(r[1], measure(r[2]), measure(r[3]), nil, r[4]) end

-- Uncontended post+wait pairs (wait finds the value positive; no sleeping).
local M = math.max(1, math.floor(N / 4))
local saveN = N
N = M
line("sem_post+sem_wait (C)", measure(function(n)
  for _ = 1, n do sem_post(h); sem_wait(h, -1) end
end), nil, "pair")
line("s:post()+s:wait() (binding)", measure(function(n)
  for _ = 1, n do s:post(); s:wait() end
end), nil, "pair")
N = saveN
line("lipc.version() (binding)", measure(function(n)
  for _ = 1, n do lipc.version() end
end))
s:close()
