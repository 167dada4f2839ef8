-- Named events shared between processes (/dev/shm/lipc.event.NAME).
-- Manual-reset (the default, like Python's threading.Event): set() wakes
-- every waiter and the event stays set until reset(); a waiter that was
-- waiting when set() was called returns even if reset() follows at once.
-- Auto-reset (manual_reset = false): set() lets exactly one waiter through,
-- now or the next to come, and the event is clear again after it.
--
--   event.open(name [, opts]) -> e | nil, msg, code, errno
--       opts: create, exclusive, unlink_on_close, mode (see lipc/named.lua),
--       and, used only when this call creates the event (an existing one
--       keeps what it was made with):
--         manual_reset = true | false   (default true)
--         initially_set = true | false  (default false)
--   event.unlink(name)        -> true | nil, msg, code, errno
--   e:set()                   -> true | nil, msg, code, errno
--   e:reset()  (e:clear())    -> true | nil, msg, code, errno
--   e:wait([timeout])         -> true             the event was set (an
--                                                  auto-reset event is
--                                                  cleared by this wait)
--                              | false, msg, code, errno  not set in time:
--                                                  ETIMEDOUT, or EAGAIN for
--                                                  timeout 0
--                              | nil, msg, code, errno  other failures (EINTR)
--       timeout in seconds: nil/negative = forever, 0 = try once.
--   e:is_set()                -> boolean (a snapshot) | nil, msg, code, errno
--   e:close()                 -> true (idempotent) | nil, msg, code, errno
--   e.handle (number; nil once closed), e.name (as given)
-- Any method but close() on a closed event raises "attempt to use closed event".
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"
local named = require "lipc.named"

local event_open, event_set, event_reset = C.lipc_event_open, C.lipc_event_set, C.lipc_event_reset
local event_wait, event_is_set, event_unlink = C.lipc_event_wait, C.lipc_event_is_set, C.lipc_event_unlink
local fail, check, check_name = errors.fail, errors.check, errors.check_name
local timeout_ms, get = errors.timeout_ms, handle.get
local ETIMEDOUT, EAGAIN = errors.codes.ETIMEDOUT, errors.codes.EAGAIN

local hbuf = ffi.new("lipc_handle_t[1]")
local ibuf = ffi.new("int[1]")

local event = {}
local methods = {}
local mt = { __index = methods }

function mt.__tostring(e)
  return ("lipc.event %q (%s)"):format(e.name, e.handle and ("handle %.0f"):format(e.handle) or "closed")
end

function event.open(name, opts)
  local flags, mode
  name, opts, flags, mode = named.args(name, opts, "open")
  local manual = opts.manual_reset == nil or opts.manual_reset
  local rc = event_open(name, flags, mode, manual and 1 or 0, opts.initially_set and 1 or 0, hbuf)
  if rc < 0 then return fail(rc) end
  return handle.wrap(mt, hbuf[0], { name = name })
end

function event.unlink(name)
  return check(event_unlink(check_name(name, 1, "unlink")))
end

function methods:set()
  return check(event_set(get(self, "event")))
end

function methods:reset()
  return check(event_reset(get(self, "event")))
end
methods.clear = methods.reset

function methods:wait(timeout)
  local h = get(self, "event")
  local rc = event_wait(h, timeout_ms(timeout, 1, "wait"))
  if rc == 0 then return true end
  local _, msg, code, e = fail(rc)
  if code == ETIMEDOUT or code == EAGAIN then return false, msg, code, e end
  return nil, msg, code, e
end

function methods:is_set()
  local rc = event_is_set(get(self, "event"), ibuf)
  if rc < 0 then return fail(rc) end
  return ibuf[0] ~= 0
end

methods.close = handle.close

return event
