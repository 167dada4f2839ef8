-- What the LuaIPC compatibility modules (ipc.shm, ipc.sem, ipc.mmap,
-- ipc.filelock, ipc.proc, ipc.strfile) share: LuaIPC's error convention and
-- name rule, and its file-like handle, all over lipc's own binding.
--
-- LuaIPC's conventions (see /work/shared/design/peer-apis.md):
--   success -> a true value (true when there is nothing better);
--   failure -> nil, strerror(errno), errno  (errno a POSITIVE number, the
--              message the C library's text for it, e.g. "No such file or
--              directory");
--   misuse  -> a Lua error with LuaIPC's message.
-- lipc failures come as nil, message, code, errno; fail() turns them into
-- LuaIPC's triple with lipc.posix_errno (lipc's errno, or the errno its code
-- stands for when lipc found the problem itself).
local lipc = require "lipc"

local memfile, errors = lipc.memfile, lipc.errors
local posix_errno, strerror = lipc.posix_errno, lipc.strerror
local EOS_BASE = errors.EOS_BASE
local type, error, tostring, tonumber, floor, ipairs, pcall = type, error, tostring, tonumber, math.floor, ipairs, pcall

local base = {}

-- The C library's text of errno e ("No such file or directory").
function base.strerror(e)
  return strerror(EOS_BASE - e)
end

-- LuaIPC's failure triple for errno e.
function base.errno_fail(e)
  return nil, base.strerror(e), e
end

-- LuaIPC's failure triple for a lipc failure (nil, msg, code, errno).
function base.fail(_, _, code, errno)
  local e = posix_errno(code, errno)
  if e == 0 then e = 5 end -- EIO: never report "success" for a failure
  return nil, base.strerror(e), e
end

-- On Windows LuaIPC reports GetLastError() codes (its own document: "an
-- error message, and a numeric error code"), so the triple there is nil,
-- lipc's message (the step and Windows' text), the Windows error code:
-- lipc_errno when Windows reported one, else the Windows code of the lipc
-- code (lipc found the problem itself: a bad name, a timeout, ...).
local win_code = {
  [-1] = 87,   -- EINVAL: ERROR_INVALID_PARAMETER
  [-2] = 6,    -- EBADHANDLE: ERROR_INVALID_HANDLE
  [-3] = 2,    -- ENOENT: ERROR_FILE_NOT_FOUND
  [-4] = 183,  -- EEXIST: ERROR_ALREADY_EXISTS
  [-5] = 5,    -- EPERM: ERROR_ACCESS_DENIED
  [-6] = 1460, -- ETIMEDOUT: ERROR_TIMEOUT
  [-7] = 1223, -- EINTR: ERROR_CANCELLED
  [-8] = 170,  -- EBUSY: ERROR_BUSY
  [-9] = 33,   -- EAGAIN: ERROR_LOCK_VIOLATION
  [-10] = 8,   -- ENOMEM: ERROR_NOT_ENOUGH_MEMORY
  [-11] = 109, -- ECLOSED: ERROR_BROKEN_PIPE
  [-12] = 50,  -- ENOTSUP: ERROR_NOT_SUPPORTED
  [-15] = 206, -- ENAMETOOLONG: ERROR_FILENAME_EXCED_RANGE
  [-16] = 234, -- ERANGE: ERROR_MORE_DATA
}
base.windows = require("ffi").os == "Windows"
base.win_code = win_code
if base.windows then
  -- Names LuaIPC checks itself ("" too long, "/" invalid): Windows codes.
  local win_of_errno = { [22] = 87, [36] = 206, [2] = 2, [17] = 183, [13] = 5, [5] = 1117 }
  function base.errno_fail(e)
    local w = win_of_errno[e] or e
    return nil, base.strerror(e), w
  end
  function base.fail(_, msg, code, errno)
    local w = (type(errno) == "number" and errno > 0) and errno or win_code[code] or 1117 -- ERROR_IO_DEVICE
    return nil, type(msg) == "string" and msg ~= "" and msg or "error " .. w, w
  end
end

---- misuse, raised at the caller of the public function ----

function base.argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), (level or 1) + 2)
end

-- luaL_checkstring: a string, or a number as a string.
function base.checkstring(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  base.argerror(n, fname, "string expected, got " .. (v == nil and "no value" or t), 2)
end

-- luaL_optinteger / luaL_checkinteger: an integer-valued number, as Lua
-- 5.3 checks it: NaN, +-inf and numbers beyond 2^53 (where a double has lost
-- its units) have "no integer representation" instead of being truncated
-- on their way to C.
function base.optinteger(v, def, n, fname)
  if v == nil then
    if def == nil then base.argerror(n, fname, "number expected, got no value", 2) end
    return def
  end
  if type(v) == "string" and tonumber(v) then v = tonumber(v) end
  if type(v) ~= "number" then base.argerror(n, fname, "number expected, got " .. type(v), 2) end
  if v ~= floor(v) or v > 2 ^ 53 or v < -2 ^ 53 then
    base.argerror(n, fname, "number has no integer representation", 2)
  end
  return v
end

-- luaL_checkoption: one of the names in list (a set), or def when nil.
function base.checkoption(v, def, set, n, fname)
  if v == nil then v = def end
  if type(v) ~= "string" or not set[v] then
    if v == nil then base.argerror(n, fname, "string expected, got no value", 2) end
    base.argerror(n, fname, ("invalid option '%s'"):format(tostring(v)), 2)
  end
  return v
end

---- LuaIPC's name rule for shared memory and semaphores ----
-- Not empty, no '/', at most NAME_MAX - 2 bytes (the name becomes "/name").
-- Returns nil or the errno LuaIPC gives: "" and too long names ENAMETOOLONG
-- (36), a '/' EINVAL (22). lipc checks its own (stricter, portable) rule
-- after this one: letters, digits, '.', '_' and '-', at most 200 bytes.
function base.name_errno(name)
  if name == "" or #name > 253 then return 36 end
  if name:find("/", 1, true) then return 22 end
  return nil
end

---- the file-like handle of ipc.shm, ipc.mmap and ipc.strfile ----
-- lipc's memfile (lipc/memfile.lua) with LuaIPC's own edges: a failure is
-- nil, message (no third value); close() of a closed handle raises, as every
-- other method does; a write to a closed handle raises instead of writing
-- to nowhere. Read-only handles are made with on_flush = base.no_flush
-- (flush() -> nil, "permission denied", as LuaIPC).

local M = memfile.methods
local CLOSED = "attempt to use closed in-memory file"

-- The results of pcall(memfile method, ...): raised errors go on at the
-- caller of the public method (pcall, a C function, added no position);
-- a failure (nil, msg, code) becomes nil, msg; the rest is unchanged.
local function two(...)
  local a, b = ...
  if a == nil and b ~= nil then return nil, b end
  return ...
end

local function rethrow(ok, ...)
  if ok then return two(...) end
  error((...), 3) -- rethrow (1), the public method (2), its caller (3)
end

local extra = {}

for _, name in ipairs({ "read", "lines", "write", "seek", "setvbuf", "truncate", "size", "addr" }) do
  local f = M[name]
  extra[name] = function(self, ...) return rethrow(pcall(f, self, ...)) end
end

function extra:truncate(n)
  if type(self) == "table" and self.closed then error(CLOSED, 2) end
  if n == nil then base.argerror(1, "truncate", "number expected, got no value") end
  return rethrow(pcall(M.truncate, self, n))
end

function extra:setvbuf(mode, size)
  if size ~= nil then base.optinteger(size, 0, 2, "setvbuf") end
  return rethrow(pcall(M.setvbuf, self, mode))
end

-- flush: mmap handles msync through lipc (its failures become LuaIPC's
-- triple); read-only handles refuse (base.no_flush).
local function flushed(ok, ...)
  if not ok then error((...), 3) end
  local a, b, code, errno = ...
  if a == nil and type(errno) == "number" then return base.fail(a, b, code, errno) end
  return two(...)
end

function extra:flush()
  return flushed(pcall(M.flush, self))
end

function extra:close()
  if type(self) == "table" and self.closed then error(CLOSED, 2) end
  return flushed(pcall(M.close, self))
end

base.memfile_class = memfile.class(extra)

-- on_flush of read-only handles (strfile, mmap "r"): LuaIPC refuses to flush them.
function base.no_flush() return nil, "permission denied" end

return base
