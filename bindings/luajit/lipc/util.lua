-- Small shared pieces for the modules that deal with processes and fds:
-- the few libc functions lipc's API leaves to the host (pipe2, fcntl,
-- fileno, the monotonic clock; under private names, see below), and the
-- "string into a caller buffer,
-- retry with the size needed" call shape of lipc_env_get, lipc_proc_path and
-- the quoting functions.
--
-- Linux values (x86, x86_64, arm, aarch64, riscv): O_NONBLOCK 0x800,
-- O_CLOEXEC 0x80000, F_GETFL 3, F_SETFL 4, CLOCK_MONOTONIC 1.
-- On Windows an "fd" of lipc's API is a HANDLE value (include/lipc.h), so
-- the same pieces come from kernel32 and the C runtime LuaJIT was linked
-- with (ffi.C covers both there): CreatePipe (handles not inheritable: the
-- counterpart of close-on-exec; lipc hands a child exactly the handles of
-- its fd map), _get_osfhandle(_fileno(FILE *)), QueryPerformanceCounter
-- (monotonic). There is no O_NONBLOCK: lipc_fd_read/lipc_fd_write keep
-- their timeouts on Windows handles themselves, so set_nonblock does nothing.
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
local windows = ffi.os == "Windows"
if windows then
  ffi.cdef [[
int lipc__CreatePipe(void **r, void **w, void *sa, uint32_t size) __asm__("CreatePipe");
uint32_t lipc__GetLastError(void) __asm__("GetLastError");
int lipc__QueryPerformanceCounter(int64_t *count) __asm__("QueryPerformanceCounter");
int lipc__QueryPerformanceFrequency(int64_t *freq) __asm__("QueryPerformanceFrequency");
int lipc__fileno(void *stream) __asm__("_fileno");
intptr_t lipc__get_osfhandle(int fd) __asm__("_get_osfhandle");
]]
else
  ffi.cdef [[
int lipc__pipe2(int fds[2], int flags) __asm__("pipe2");
int lipc__fcntl(int fd, int cmd, ...) __asm__("fcntl");
int lipc__fileno(void *stream) __asm__("fileno");
int lipc__clock_gettime(int clk, void *tp) __asm__("clock_gettime");
]]
end

local libc = ffi.C
local band, bor, bnot = bit.band, bit.bor, bit.bnot
local ERANGE = errors.codes.ERANGE
local fail = errors.fail

local O_NONBLOCK, O_CLOEXEC, F_GETFL, F_SETFL = 0x800, 0x80000, 3, 4

local util = {}
util.windows = windows

if windows then
  local cnt = ffi.new("int64_t[1]")
  libc.lipc__QueryPerformanceFrequency(cnt)
  local freq = tonumber(cnt[0])
  -- Seconds on the performance counter (monotonic; lipc's deadlines are
  -- durations, so any monotonic clock serves for absolute expiry times).
  function util.now()
    libc.lipc__QueryPerformanceCounter(cnt)
    return tonumber(cnt[0]) / freq
  end

  -- No O_NONBLOCK on Windows: lipc keeps its timeouts on handles itself.
  function util.set_nonblock() return true end

  -- A new anonymous pipe: read handle, write handle (not inheritable), or
  -- nil, the Windows error code.
  local ends = ffi.new("void *[2]")
  function util.pipe()
    if libc.lipc__CreatePipe(ends, ends + 1, nil, 0) == 0 then
      return nil, tonumber(libc.lipc__GetLastError())
    end
    return tonumber(ffi.cast("intptr_t", ends[0])), tonumber(ffi.cast("intptr_t", ends[1]))
  end

  -- The HANDLE of an open Lua io file (as an API "fd"), flushed first; nil
  -- for a closed file, one without a handle, or anything else.
  function util.file_fd(f)
    if io.type(f) ~= "file" then return nil end
    pcall(f.flush, f)
    local fp = ffi.cast("void *", f)
    if fp == nil then return nil end
    local fd = libc.lipc__fileno(fp)
    if fd < 0 then return nil end
    local hd = tonumber(libc.lipc__get_osfhandle(fd))
    if hd == -1 or hd == -2 then return nil end
    return hd
  end
else
  local ts = ffi.new(ffi.typeof("struct { long tv_sec; long tv_nsec; }"))
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
