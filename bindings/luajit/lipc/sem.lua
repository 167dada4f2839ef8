-- Named semaphores: lipc semaphore "x" is the POSIX sem_open("/x") of the
-- platform, shared with plain C programs and the other lipc bindings.
--
--   sem.open(name [, opts]) -> s | nil, msg, code, errno
--       opts: create (bool), exclusive (bool, with create), value (initial
--       value of a new semaphore, default 0), mode (permission bits of a new
--       semaphore, default 0 = 0600; the umask applies), unlink_on_close
--       (bool: unlink the name when s closes, if s created it),
--       trust_foreign (bool: open an existing semaphore even if another user
--       owns it; without it, EPERM. See lipc/named.lua)
--   sem.unlink(name)        -> true | nil, msg, code, errno
--   s:post([n])             -> true | nil, msg, code, errno
--       adds n (default 1; an integer in 1..2^32-1, else error()) in one
--       step and wakes up to n waiters; ERANGE (nothing added) if the value
--       would pass 2^31-1
--   s:wait([timeout])       -> true             decremented
--                            | false, msg, code, errno  the timeout passed (ETIMEDOUT)
--                                                or, for timeout 0, not available (EAGAIN)
--                            | nil, msg, code, errno  any other failure, EINTR included
--       timeout in seconds: nil/negative = forever, 0 = try once. As in
--       LuaIPC's dec(), not getting the semaphore in time is an answer
--       (false), not an error; unlike LuaIPC, EINTR is returned (nil) rather
--       than retried, since Lua has no signal handlers to run in between.
--   s:trywait()             -> s:wait(0)
--   s:value()               -> number | nil, msg, code, errno
--   s:close()               -> true (idempotent) | nil, msg, code, errno
--   s.handle (number; nil once closed), s.name (as given)
-- Any method but close() on a closed semaphore raises
-- "attempt to use closed semaphore".
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"

local sem_open, sem_post, sem_wait = C.lipc_sem_open, C.lipc_sem_post, C.lipc_sem_wait
local sem_post_n = C.lipc_sem_post_n
local sem_value, sem_unlink = C.lipc_sem_value, C.lipc_sem_unlink
local fail, check, check_type, check_uint32 = errors.fail, errors.check, errors.check_type, errors.check_uint32
local check_name, check_int = errors.check_name, errors.check_int
local timeout_ms, get = errors.timeout_ms, handle.get
local ETIMEDOUT, EAGAIN = errors.codes.ETIMEDOUT, errors.codes.EAGAIN

-- Out-parameters, allocated once: a LuaJIT state runs one thread at a time
-- and nothing between the call and the read can reenter these functions.
local hbuf = ffi.new("lipc_handle_t[1]")
local ibuf = ffi.new("int[1]")

local CREATE, EXCL, UNLINK_ON_CLOSE, TRUST_FOREIGN = 1, 2, 4, 8

local sem = { CREATE = CREATE, EXCL = EXCL, UNLINK_ON_CLOSE = UNLINK_ON_CLOSE, TRUST_FOREIGN = TRUST_FOREIGN }
local methods = {}
local mt = { __index = methods }

function mt.__tostring(s)
  -- %.0f: tostring() would print a handle with 14 digits, inexactly.
  return ("lipc.sem %q (%s)"):format(s.name, s.handle and ("handle %.0f"):format(s.handle) or "closed")
end

function sem.open(name, opts)
  check_name(name, 1, "open")
  if opts ~= nil then check_type(opts, "table", 2, "open") end
  opts = opts or {}
  local flags = (opts.create and CREATE or 0) + (opts.exclusive and EXCL or 0)
              + (opts.unlink_on_close and UNLINK_ON_CLOSE or 0) + (opts.trust_foreign and TRUST_FOREIGN or 0)
  local mode = check_uint32(opts.mode or 0, 2, "open (opts.mode)")
  local value = check_uint32(opts.value or 0, 2, "open (opts.value)")
  local rc = sem_open(name, flags, mode, value, hbuf)
  if rc < 0 then return fail(rc) end
  return handle.wrap(mt, hbuf[0], { name = name })
end

function sem.unlink(name)
  return check(sem_unlink(check_name(name, 1, "unlink")))
end

function methods:post(n)
  local h = get(self, "semaphore")
  if n == nil then return check(sem_post(h)) end
  return check(sem_post_n(h, check_int(n, 1, "post", 1, 4294967295, "count")))
end

function methods:wait(timeout)
  local h = get(self, "semaphore")
  local rc = sem_wait(h, timeout_ms(timeout, 1, "wait"))
  if rc == 0 then return true end
  local _, msg, code, e = fail(rc)
  if code == ETIMEDOUT or code == EAGAIN then return false, msg, code, e end
  return nil, msg, code, e
end

function methods:trywait()
  get(self, "semaphore")
  return self:wait(0)
end

function methods:value()
  local rc = sem_value(get(self, "semaphore"), ibuf)
  if rc < 0 then return fail(rc) end
  return ibuf[0]
end

methods.close = handle.close

return sem
