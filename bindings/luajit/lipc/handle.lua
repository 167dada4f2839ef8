-- Lifecycle of every lipc handle object (semaphores now; mutexes, events,
-- shm later): a plain Lua table whose `handle` field is the handle as a Lua
-- NUMBER (never boxed int64 cdata: that is truthy when 0, a distinct table
-- key per value, and inexact above 2^53), `nil` once closed.
--
-- The finalizer is a backstop only: a small cdata box holding the handle,
-- armed with ffi.gc the moment the handle exists and disarmed by close(), so
-- a forgotten object still releases its handle, and a closed one is never
-- closed twice.
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"

local lipc_close = C.lipc_close
local box_t = ffi.typeof("lipc_handle_t[1]")
local error, tonumber, type = error, tonumber, type

-- Never raises: an error cannot escape a finalizer, and a failed close here
-- (a handle closed behind our back with lipc.close) only sets last_error.
local function finalize(box) lipc_close(box[0]) end

local handle = {}

-- Wraps a freshly created handle (cdata or number) in an object of class mt.
-- Call it right after the C call that created the handle, before anything
-- that could raise, so the handle is never left without a finalizer.
function handle.wrap(mt, h, fields)
  local obj = fields or {}
  local n = tonumber(h)
  local box = box_t()
  box[0] = n
  obj._gc = ffi.gc(box, finalize)
  obj.handle = n
  return setmetatable(obj, mt)
end

-- The handle of an open object; for a closed one, error(...) at the caller
-- of the public method (level 3 from here: get, the method, its caller).
function handle.get(obj, what)
  if type(obj) ~= "table" then error("bad self for a " .. what .. " method (call it as obj:method())", 3) end
  local h = obj.handle
  if h == nil then error("attempt to use closed " .. what, 3) end
  return h
end

-- Idempotent close: the first call closes and disarms the finalizer (even if
-- the C close fails: the handle is unusable either way, and a finalizer
-- retrying it would only fail again); later calls return true.
function handle.close(obj)
  if type(obj) ~= "table" then error("bad self for close (call it as obj:close())", 2) end
  local h = obj.handle
  if h == nil then return true end
  obj.handle = nil
  ffi.gc(obj._gc, nil)
  obj._gc = nil
  local rc = lipc_close(h)
  if rc < 0 then return errors.fail(rc) end
  return true
end

return handle
