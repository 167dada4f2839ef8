-- Named robust mutexes shared between processes (glibc's process-shared
-- robust pthread mutex in /dev/shm/lipc.mutex.NAME). Ownership belongs to
-- the locking thread: in LuaJIT, the OS thread running this Lua state.
--
--   mutex.open(name [, opts]) -> m | nil, msg, code, errno
--       opts: create, exclusive, unlink_on_close, mode (see lipc/named.lua)
--   mutex.unlink(name)        -> true | nil, msg, code, errno
--   m:lock([timeout])
--       -> true                      locked
--        | true, "owner_died"        locked; the previous owner died holding
--                                    it. The lock IS held: repair the state
--                                    it protects, call m:consistent(), then
--                                    m:unlock(). (Unlocking without
--                                    consistent() makes the mutex unusable
--                                    for everyone: later locks fail with
--                                    ENOTRECOVERABLE, an OS-family code whose
--                                    message says "not recoverable", until
--                                    it is unlinked and created again.)
--                                    m.owner_died is true until consistent()
--                                    or the next lock.
--        | false, msg, code, errno   not got in time: ETIMEDOUT, or EAGAIN
--                                    for timeout 0 (the mutex is held, by
--                                    this thread too)
--        | nil, msg, code, errno     any other failure: EINTR (a signal
--                                    handler ran; nothing lost, call again),
--                                    EBUSY (a wait by the thread that holds
--                                    it: not recursive, and waiting would
--                                    deadlock), ENOTRECOVERABLE, ...
--       timeout in seconds: nil/negative = forever, 0 = try once.
--   m:trylock()               -> m:lock(0)
--   m:locked()                -> true | false: whether any thread (of any
--                                process) holds it now, a snapshot (a dead
--                                owner's mutex reads as free)
--   m:unlock()                -> true | nil, msg, code, errno (EPERM: this
--                                thread does not hold it; nothing changes)
--   m:consistent()            -> true | nil, msg, code, errno (EINVAL: not
--                                held after an owner died)
--   m:with_lock(fn, ...)      -> fn(...)'s results: locks (waiting forever),
--                                calls fn, unlocks even when fn raises (and
--                                re-raises). A failure to lock raises.
--                                fn sees m.owner_died.
--   m:close()                 -> true (idempotent) | nil, msg, code, errno
--       Closing while this thread holds the lock leaves it locked (the next
--       locker sees owner_died once this thread exits) and keeps its memory
--       mapped: unlock first.
--   m.handle (number; nil once closed), m.name (as given), m.owner_died
-- Any method but close() on a closed mutex raises "attempt to use closed mutex".
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"
local named = require "lipc.named"

local mutex_open, mutex_lock, mutex_unlock = C.lipc_mutex_open, C.lipc_mutex_lock, C.lipc_mutex_unlock
local mutex_consistent, mutex_unlink = C.lipc_mutex_consistent, C.lipc_mutex_unlink
local mutex_locked = C.lipc_mutex_locked
local fail, check, check_name = errors.fail, errors.check, errors.check_name
local timeout_ms, get = errors.timeout_ms, handle.get
local ETIMEDOUT, EAGAIN = errors.codes.ETIMEDOUT, errors.codes.EAGAIN
local error, pcall, type = error, pcall, type

local hbuf = ffi.new("lipc_handle_t[1]")
local died = ffi.new("int[1]")
local held = ffi.new("int[1]")

local mutex = {}
local methods = {}
local mt = { __index = methods }

function mt.__tostring(m)
  return ("lipc.mutex %q (%s)"):format(m.name, m.handle and ("handle %.0f"):format(m.handle) or "closed")
end

function mutex.open(name, opts)
  local flags, mode
  name, opts, flags, mode = named.args(name, opts, "open")
  local rc = mutex_open(name, flags, mode, hbuf)
  if rc < 0 then return fail(rc) end
  return handle.wrap(mt, hbuf[0], { name = name, owner_died = false })
end

function mutex.unlink(name)
  return check(mutex_unlink(check_name(name, 1, "unlink")))
end

function methods:lock(timeout)
  local h = get(self, "mutex")
  died[0] = 0
  local rc = mutex_lock(h, timeout_ms(timeout, 1, "lock"), died)
  if rc == 0 then
    if died[0] ~= 0 then
      self.owner_died = true
      return true, "owner_died"
    end
    self.owner_died = false
    return true
  end
  local _, msg, code, e = fail(rc)
  if code == ETIMEDOUT or code == EAGAIN then return false, msg, code, e end
  return nil, msg, code, e
end

function methods:trylock()
  get(self, "mutex")
  return self:lock(0)
end

function methods:locked()
  local rc = mutex_locked(get(self, "mutex"), held)
  if rc < 0 then return fail(rc) end
  return held[0] ~= 0
end

function methods:unlock()
  return check(mutex_unlock(get(self, "mutex")))
end

function methods:consistent()
  local rc = mutex_consistent(get(self, "mutex"))
  if rc < 0 then return fail(rc) end
  self.owner_died = false
  return true
end

local function finish(m, ok, ...)
  m:unlock()
  if not ok then error((...), 0) end
  return ...
end

function methods:with_lock(fn, ...)
  get(self, "mutex")
  if type(fn) ~= "function" then errors.argerror(1, "with_lock", "function", type(fn)) end
  local ok, msg, code = self:lock()
  if not ok then error(("mutex %s: lock failed: %s (%s)"):format(self.name, msg, errors.name(code)), 2) end
  return finish(self, pcall(fn, ...))
end

methods.close = handle.close

return mutex
