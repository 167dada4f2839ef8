-- Small shared pieces for the modules that deal with processes and fds:
-- the few libc functions lipc's API leaves to the host (pipe2, fcntl,
-- fileno, the monotonic clock; under private names, see below), and the
-- "string into a caller buffer,
-- retry with the size needed" call shape of lipc_env_get, lipc_proc_path and
-- the quoting functions.
--
-- Linux values (x86, x86_64, arm, aarch64, riscv; lipc's proc module is
-- Linux-only today): O_NONBLOCK 0x800, O_CLOEXEC 0x80000, F_GETFL 3,
-- F_SETFL 4, CLOCK_MONOTONIC 1.
local ffi = require "ffi"
local bit = require "bit"
local C = require("lipc.lib").C
local errors = require "lipc.errors"

-- LuaJIT has one C namespace per Lua state, shared by every FFI library in
-- it, and a struct declared twice is an error ("attempt to redefine
-- 'timespec'"), while a function declared twice silently keeps the first
-- declaration, whatever its parameters. So lipc declares no libc name and
-- no C type of its own there: each libc function gets a private name that
-- an asm label binds to the real symbol, and structs are anonymous types
-- kept in locals. Another library (luapower's fs, ljsyscall, ...) may then
-- declare struct timespec, fcntl or clock_gettime its own way, before or
-- after lipc, and both keep working (tests/test_ffi_namespace.lua).
ffi.cdef [[
int lipc__pipe2(int fds[2], int flags) __asm__("pipe2");
int lipc__fcntl(int fd, int cmd, ...) __asm__("fcntl");
int lipc__fileno(void *stream) __asm__("fileno");
int lipc__clock_gettime(int clk, void *tp) __asm__("clock_gettime");
]]
local timespec_t = ffi.typeof("struct { long tv_sec; long tv_nsec; }")

local libc = ffi.C
local band, bor, bnot = bit.band, bit.bor, bit.bnot
local ERANGE = errors.codes.ERANGE
local fail = errors.fail

local O_NONBLOCK, O_CLOEXEC, F_GETFL, F_SETFL = 0x800, 0x80000, 3, 4

local util = {}

local ts = timespec_t()
-- Seconds on CLOCK_MONOTONIC, the clock lipc's deadlines use.
function util.now()
  libc.lipc__clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Sets or clears O_NONBLOCK on fd. Returns true, or nil and the errno text.
function util.set_nonblock(fd, on)
  local fl = libc.lipc__fcntl(fd, F_GETFL)
  if fl < 0 then return nil, "fcntl(F_GETFL) failed on fd " .. fd end
  local nfl = on and bor(fl, O_NONBLOCK) or band(fl, bnot(O_NONBLOCK))
  if nfl ~= fl and libc.lipc__fcntl(fd, F_SETFL, ffi.new("int", nfl)) < 0 then
    return nil, "fcntl(F_SETFL) failed on fd " .. fd
  end
  return true
end

-- A new close-on-exec pipe: read fd, write fd (both blocking), or nil, errno.
local pfds = ffi.new("int[2]")
function util.pipe()
  if libc.lipc__pipe2(pfds, O_CLOEXEC) ~= 0 then return nil, ffi.errno() end
  return pfds[0], pfds[1]
end

-- The fd of an open Lua io file (LuaJIT converts an io file to its FILE *),
-- after flushing what Lua buffered for it so a child writing to the same
-- file comes after it. nil for a closed file or anything else.
function util.file_fd(f)
  if io.type(f) ~= "file" then return nil end
  pcall(f.flush, f)
  local fp = ffi.cast("void *", f)
  if fp == nil then return nil end
  local fd = libc.lipc__fileno(fp)
  if fd < 0 then return nil end
  return fd
end

-- Calls fn(arg, buf, size, needed) -- a lipc function that writes a
-- NUL-terminated string into buf and the size it needs into *needed -- and
-- returns the string, retrying once with the size asked for.
local sbuf_cap = 256
local sbuf = ffi.new("char[?]", sbuf_cap)
local need = ffi.new("size_t[1]")
function util.out_string(fn, arg)
  local rc = fn(arg, sbuf, sbuf_cap, need)
  if rc == ERANGE then
    local n = tonumber(need[0])
    if n > sbuf_cap then
      sbuf_cap = n
      sbuf = ffi.new("char[?]", sbuf_cap)
      rc = fn(arg, sbuf, sbuf_cap, need)
    end
  end
  if rc < 0 then return fail(rc) end
  return ffi.string(sbuf)
end

util.C = C
return util
