-- LuaIPC's ipc.filelock: classic per-process fcntl byte-range locks on Lua
-- io files, over lipc.flock.lock_file / trylock_file / unlock_file.
--
--   filelock.lock(file, mode [, offset [, nbytes]]) -> true
--       waits until the range is locked; mode "r" (shared), "w" or "rw"
--       (exclusive; "rw" is the default); nbytes absent or 0: to the end of
--       the file, however far it grows
--   filelock.trylock(file, mode [, offset [, nbytes]]) -> true | false
--       false when another process holds a conflicting lock
--   filelock.unlock(file [, offset [, nbytes]]) -> true
-- Errors: nil, strerror(errno), errno (e.g. EBADF 9 for an exclusive lock
-- on a file opened only for reading). The locks belong to the process (a
-- second lock by the same process always succeeds, closing any handle of
-- the file drops them) and are advisory; they exclude other processes, not
-- other threads. Buffered writes are flushed before locking and unlocking,
-- and the read buffer dropped after locking, so each lock holder sees what
-- the previous one wrote. Not a file: raises "bad argument #1 to 'lock'
-- (FILE* expected, got table)"; a closed file: "attempt to use closed file".
local lipc = require "lipc"
local base = require "ipc._base"

local flock = lipc.flock
local EINTR = lipc.errors.EINTR
local error, type, io_type = error, type, io.type

local filelock = {}

local MODES = { r = true, w = true, rw = true }

local function checkfile(f, fname)
  local t = io_type(f)
  if t == "file" then return f end
  if t == "closed file" then error("attempt to use closed file", 3) end
  base.argerror(1, fname, "FILE* expected, got " .. (f == nil and "no value" or type(f)), 2)
end

local function result(ok, msg, code, errno)
  if ok then return true end
  if ok == false then return false end
  return base.fail(ok, msg, code, errno)
end

function filelock.lock(f, mode, offset, nbytes)
  checkfile(f, "lock")
  mode = base.checkoption(mode, "rw", MODES, 2, "lock")
  offset = base.optinteger(offset, 0, 3, "lock")
  nbytes = base.optinteger(nbytes, 0, 4, "lock")
  local ok, msg, code, errno
  repeat -- an interrupted wait goes on, as fcntl(F_SETLKW) callers retry EINTR
    ok, msg, code, errno = flock.lock_file(f, mode == "r" and "r" or "w", offset, nbytes)
  until code ~= EINTR
  if ok == false then return base.fail(nil, msg, code, errno) end -- (a wait without timeout never times out)
  return result(ok, msg, code, errno)
end

function filelock.trylock(f, mode, offset, nbytes)
  checkfile(f, "trylock")
  mode = base.checkoption(mode, "rw", MODES, 2, "trylock")
  offset = base.optinteger(offset, 0, 3, "trylock")
  nbytes = base.optinteger(nbytes, 0, 4, "trylock")
  return result(flock.trylock_file(f, mode == "r" and "r" or "w", offset, nbytes))
end

function filelock.unlock(f, offset, nbytes)
  checkfile(f, "unlock")
  offset = base.optinteger(offset, 0, 2, "unlock")
  nbytes = base.optinteger(nbytes, 0, 3, "unlock")
  return result(flock.unlock_file(f, offset, nbytes))
end

return filelock
