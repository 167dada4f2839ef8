-- lipc: portable inter-process communication for LuaJIT, over liblipc.
-- Error policy: a call that fails returns nil, message, code, errno (code is
-- the negative LIPC_* code, see lipc.errors), except that a wait that merely
-- timed out or a try that would block (semaphore, mutex, event, file lock,
-- process) returns false, message, code, errno, and misuse (a wrong
-- argument type, a closed object) raises an error.
--
--   lipc.version()              -> "0.1.0"
--   lipc.strerror(code)         -> static text of a code
--   lipc.error_name(code)       -> "LIPC_EINVAL", "LIPC_EOS", "LIPC_UNKNOWN"
--   lipc.os_errno(code)         -> the errno an OS-family code carries, or nil
--   lipc.posix_errno(code [, errno]) -> the positive errno of a failure: errno if
--                                  lipc gave one, else the code's (EINVAL 22, ...)
--   lipc.clock()                -> seconds on CLOCK_MONOTONIC, the clock of lipc's
--                                  deadlines (for absolute expiry times)
--   lipc.errors                 -> code names only: lipc.errors.EINVAL == -1,
--                                  ..., EOS_BASE == -1000 (see lipc/errors.lua)
--   lipc.wait_fds(entries [, timeout]) -> ready entries   (lipc/wait.lua)
--   lipc.sem.open(name [, opts]) -> semaphore object      (lipc/sem.lua)
--   lipc.sem.unlink(name)
--   lipc.mutex.open(name [, opts]) -> robust mutex        (lipc/mutex.lua)
--   lipc.event.open(name [, opts]) -> event               (lipc/event.lua)
--   lipc.shm.open(name [, opts])   -> shared memory       (lipc/shm.lua)
--   lipc.mmap.open(path [, opts])  -> mapped file         (lipc/mmap.lua)
--   lipc.flock.open(path [, opts]) / from_file(f [, opts]) -> file lock,
--     lipc.flock.lock_file / trylock_file / unlock_file  (lipc/flock.lua)
--   lipc.memfile.new(ptr, size [, opts]) / from_string(s) -> a file-like
--     view over memory (read/lines/write/seek)            (lipc/memfile.lua)
--   lipc.page_size()            -> the page size (mmap offsets are multiples)
--   (mutex.unlink, event.unlink, shm.unlink as sem.unlink)
--   lipc.proc.spawn(cmd [, opts]) -> process object       (lipc/proc.lua)
--   lipc.proc.run / prepare / wait_any / pipe / signals   (lipc/proc.lua)
--   lipc.pipe.new() -> r, w; lipc.pipe.wrap(fd, mode)     (lipc/pipe.lua)
--     (p:read/lines/write with strings, p:read_into/write_from with ffi buffers)
--   lipc.env.get/set/unset/list, lipc.env(...)            (lipc/env.lua)
--   lipc.quote.sh/win/cmd/arg/join/esc                    (lipc/quote.lua)
--   lipc.close(handle)          -> true            close any raw handle number
--   lipc.handle_kind(handle)    -> kind number     (lipc.KIND_SEM, KIND_PROC, KIND_SPAWNATTR,
--                                  KIND_MUTEX, KIND_EVENT, KIND_SHM, KIND_MMAP, KIND_FLOCK)
--   lipc.set_call_mode(mode)    -> true            "direct" | "handoff" | number
--   lipc.diag(what)             -> number          "call_mode", "live_handles", ...
--   lipc.C, lipc.library_path   the raw ffi namespace and the file it came from
--
-- Timeouts are seconds (fractions allowed): nil or negative waits forever,
-- 0 tries once; so does math.huge or any time longer than the library ever
-- waits (2^31 - 1 s); NaN raises. Handles are plain Lua numbers, exact
-- below 2^53.
-- Numbers bound for C are checked, never truncated (lipc/errors.lua): an
-- integer (no fraction, not NaN or +-inf) within +-2^53, in the range of the
-- C type (and of the call); a 64-bit integer cdata (5LL, 2ULL^60) is taken
-- too and compared exactly, the way to pass an int64_t beyond 2^53.
-- Anything else raises "bad argument ...".
-- lipc declares no libc function and no C type of its own in LuaJIT's
-- shared C namespace (lipc/util.lua), so other FFI libraries that declare
-- struct timespec, fcntl, ... load before or after it.
local ffi = require "ffi"
local lib = require "lipc.lib"
local errors = require "lipc.errors"
local wait = require "lipc.wait"
local util = require "lipc.util"

local C = lib.C
local lipc_close, lipc_handle_kind = C.lipc_close, C.lipc_handle_kind
local lipc_set_call_mode, lipc_diag = C.lipc_set_call_mode, C.lipc_diag
local fail, argerror = errors.fail, errors.argerror
local type = type

local lipc = {
  errors = errors.codes,
  sem = require "lipc.sem",
  mutex = require "lipc.mutex",
  event = require "lipc.event",
  shm = require "lipc.shm",
  mmap = require "lipc.mmap",
  flock = require "lipc.flock",
  memfile = require "lipc.memfile",
  proc = require "lipc.proc",
  pipe = require "lipc.pipe",
  env = require "lipc.env",
  quote = require "lipc.quote",
  wait_fds = wait.wait_fds,
  strerror = errors.strerror,
  error_name = errors.name,
  os_errno = errors.os_errno,
  posix_errno = errors.posix_errno,
  clock = util.now,
  C = C,
  library_path = lib.path,
  KIND_SEM = 1, KIND_PROC = 2, KIND_SPAWNATTR = 3, KIND_MUTEX = 4, KIND_EVENT = 5,
  KIND_SHM = 6, KIND_MMAP = 7, KIND_FLOCK = 8,
  WAIT_READ = wait.WAIT_READ, WAIT_WRITE = wait.WAIT_WRITE,
  WAIT_HUP = wait.WAIT_HUP, WAIT_ERR = wait.WAIT_ERR,
  CALL_DIRECT = 1, CALL_HANDOFF = 2,
}

local version = ffi.string(C.lipc_version()) -- static in C; read once
function lipc.version() return version end
lipc.page_size = lipc.mmap.page_size

local kbuf = ffi.new("int[1]")
local dbuf = ffi.new("int64_t[1]")

local INT_MIN, INT_MAX = -2147483648, 2147483647

-- A raw handle: a Lua number (never boxed int64 cdata: host-runtimes.md
-- F13) that is an integer, for the int64_t parameter; lipc says EBADHANDLE
-- for one that is not open.
local function check_handle(h, fname)
  if type(h) ~= "number" then argerror(1, fname, "handle (number)", type(h), 2) end
  local x = errors.check_int64(h, 1, fname, "handle", 2)
  return x -- (not a tail call: the error level counts this frame)
end

function lipc.close(h)
  local rc = lipc_close(check_handle(h, "close"))
  if rc < 0 then return fail(rc) end
  return true
end

function lipc.handle_kind(h)
  local rc = lipc_handle_kind(check_handle(h, "handle_kind"), kbuf)
  if rc < 0 then return fail(rc) end
  return kbuf[0]
end

local call_modes = { direct = 1, handoff = 2 }

function lipc.set_call_mode(mode)
  local m = call_modes[mode] or mode
  if type(m) ~= "number" and type(m) ~= "cdata" then
    argerror(1, "set_call_mode", "'direct', 'handoff' or number", tostring(mode))
  end
  local rc = lipc_set_call_mode(errors.check_int(m, 1, "set_call_mode", INT_MIN, INT_MAX, "mode"))
  if rc < 0 then return fail(rc) end
  return true
end

local diag_names = {
  call_mode = 1, host_nofile = 2, threads_wrapped = 3, stack_lookups = 4,
  fp_selftest = 5, go_thread = 6, live_handles = 7, go_panics = 8,
  go_signals_blocked = 9,
}

function lipc.diag(what)
  local w = diag_names[what] or what
  if type(w) ~= "number" and type(w) ~= "cdata" then
    argerror(1, "diag", "figure name or number", tostring(what))
  end
  local rc = lipc_diag(errors.check_int(w, 1, "diag", INT_MIN, INT_MAX, "figure"), dbuf)
  if rc < 0 then return fail(rc) end
  return tonumber(dbuf[0])
end

-- The fds lipc holds open that no lipc object of yours stands for, as a list
-- of numbers: the Go runtime's, for the life of the process (its poller's
-- epoll fd and eventfd; the cgroup files it re-reads), and the pidfds of
-- children whose process was closed while they ran (lipc reaps them). A
-- daemon that closes every fd above 2 after loading lipc must spare these
-- (ask right before), or the runtime aborts the process at its next poll.
-- Those closed already are not listed; {} on Windows.
local nbuf = ffi.new("size_t[1]")
function lipc.runtime_fds()
  local room = 0
  while true do
    local fds = ffi.new("int[?]", room > 0 and room or 1)
    local rc = C.lipc_runtime_fds(fds, room, nbuf)
    if rc < 0 then return fail(rc) end
    local n = tonumber(nbuf[0])
    if n <= room then
      local t = {}
      for i = 0, n - 1 do t[i + 1] = fds[i] end
      return t
    end
    room = n
  end
end

return lipc
