-- LuaIPC's ipc.sem over lipc's named semaphores (lipc/sem.lua): POSIX
-- named semaphores "/name" (/dev/shm/sem.name), shared with LuaIPC
-- programs, C's sem_open and lipc's bindings.
--
--   sem.open(name [, n]) -> handle | nil, strerror(errno), errno
--       n given and not 0: create the semaphore with value n (exclusive:
--       EEXIST 17 if it exists); this handle owns it and its close() (or
--       collection) removes the name (handles already open keep working).
--       n absent or 0: open an existing one (ENOENT 2 if missing).
--       Name rule as ipc.shm's.
--   h:inc() -> true                      increments (wakes a waiter)
--   h:dec([timeout]) -> true | false      decrements; timeout in seconds
--       (fractions allowed): absent or negative waits as long as it takes,
--       0 only tries, otherwise waits at most that long; false when it
--       could not decrement in time. Interruptions by signals are retried
--       with the time left. Errors: nil, strerror(errno), errno.
--   h:close() -> true
-- A method of a closed handle (a second close() too) raises "attempt to use
-- invalid semaphore object".
local lipc = require "lipc"
local base = require "ipc._base"

local clock = lipc.clock
local EINTR = lipc.errors.EINTR
local error, setmetatable, type = error, setmetatable, type

local sem = {}
local methods = {}
local mt = { __index = methods, __metatable = false }

function mt.__tostring(h)
  return ("ipc.sem (%s)"):format(h._s and h._s.name or "closed")
end

local function live(h)
  local s = type(h) == "table" and h._s
  if not s then error("attempt to use invalid semaphore object", 3) end
  return s
end

function sem.open(name, n)
  name = base.checkstring(name, 1, "open")
  n = base.optinteger(n, 0, 2, "open")
  local e = base.name_errno(name)
  if e then return base.errno_fail(e) end
  if n < 0 or n > 2147483647 then return base.errno_fail(22) end
  local s, msg, code, errno
  if n ~= 0 then
    s, msg, code, errno = lipc.sem.open(name, { create = true, exclusive = true, value = n, unlink_on_close = true })
  else
    s, msg, code, errno = lipc.sem.open(name)
  end
  if not s then return base.fail(s, msg, code, errno) end
  return setmetatable({ _s = s }, mt)
end

function methods:inc()
  local ok, msg, code, errno = live(self):post()
  if ok then return true end
  return base.fail(ok, msg, code, errno)
end

function methods:dec(timeout)
  local s = live(self)
  if timeout ~= nil and type(timeout) ~= "number" then
    base.argerror(1, "dec", "number expected, got " .. type(timeout))
  end
  if timeout ~= timeout then base.argerror(1, "dec", "number expected, got nan") end
  if timeout ~= nil and timeout < 0 then timeout = nil end
  local deadline = timeout and timeout > 0 and clock() + timeout
  while true do
    local ok, msg, code, errno = s:wait(timeout)
    if ok then return true end
    if ok == false then return false end
    if code ~= EINTR then return base.fail(ok, msg, code, errno) end
    if deadline then -- go on with the time left (0: a last try)
      timeout = deadline - clock()
      if timeout <= 0 then timeout = 0 end
    end
  end
end

function methods:close()
  local s = live(self)
  self._s = nil
  local ok, msg, code, errno = s:close()
  if ok then return true end
  return base.fail(ok, msg, code, errno)
end

return sem
