-- Error helpers shared by every lipc module, so each failure looks the same:
--   failure (the C call returned a negative code) -> nil, message, code, errno
--   misuse (wrong argument type, a closed object)  -> error(message, level)
-- message is lipc_last_error(), read right after the failing call, before
-- any other lipc call on this thread overwrites it; code is the negative
-- LIPC_* code as a Lua number; errno is lipc_errno() (0 when none).
local ffi = require "ffi"
local C = require("lipc.lib").C

local last_error, lipc_errno = C.lipc_last_error, C.lipc_errno
local strerror, error_name = C.lipc_strerror, C.lipc_error_name
local floor, huge, type, error, tostring = math.floor, math.huge, type, error, tostring

-- Code names, as in include/lipc.h without the LIPC_ prefix; public as
-- lipc.errors (codes only, so it can be iterated). tests/test_basics.lua
-- checks it against the header.
local codes = {
  OK = 0, EINVAL = -1, EBADHANDLE = -2, ENOENT = -3, EEXIST = -4, EPERM = -5,
  ETIMEDOUT = -6, EINTR = -7, EBUSY = -8, EAGAIN = -9, ENOMEM = -10,
  ECLOSED = -11, ENOTSUP = -12, EFORKED = -13, ESTATUSLOST = -14,
  ENAMETOOLONG = -15, ERANGE = -16, EOS_BASE = -1000,
}

local errors = { codes = codes }

-- The static English text of any code.
function errors.strerror(code)
  return ffi.string(strerror(code))
end

-- "LIPC_EINVAL"; "LIPC_EOS" for OS errors; "LIPC_UNKNOWN" otherwise.
function errors.name(code)
  return ffi.string(error_name(code))
end

-- For codes <= EOS_BASE: the errno they carry, else nil.
function errors.os_errno(code)
  if code <= -1000 then return -1000 - code end
  return nil
end

-- The errno a code stands for where lipc reported none (Linux numbers):
-- validation failures that lipc finds itself carry errno 0.
local code_errno = {
  [-1] = 22, [-2] = 9, [-3] = 2, [-4] = 17, [-5] = 13, [-6] = 110, [-7] = 4,
  [-8] = 16, [-9] = 11, [-10] = 12, [-11] = 32, [-12] = 95, [-13] = 95,
  [-14] = 10, [-15] = 36, [-16] = 34,
}

-- The POSIX errno of a failure, for APIs that report errno numbers (the
-- LuaIPC compatibility layer): errno when lipc reported one (> 0), else the
-- errno the code stands for (LIPC_EINVAL 22, LIPC_ENOENT 2, LIPC_EPERM 13
-- (EACCES), LIPC_ECLOSED 32 (EPIPE), LIPC_EBADHANDLE 9 (EBADF), an OS code
-- its own errno, ...; 0 for LIPC_OK or an unknown code). Public as
-- lipc.posix_errno; lipc.strerror(lipc.errors.EOS_BASE - e) is its text.
function errors.posix_errno(code, errno)
  if type(errno) == "number" and errno > 0 then return errno end
  if type(code) ~= "number" then return 0 end
  if code <= -1000 then return -1000 - code end
  return code_errno[code] or 0
end

-- Turns a failed call's code into nil, message, code, errno. Must be the
-- first thing done after the failing C call: errno is read before the
-- message because reading the message allocates (a pointer cdata), and an
-- allocation may run finalizers that call lipc.
function errors.fail(code)
  local e = lipc_errno()
  local msg = ffi.string(last_error())
  if msg == "" then msg = ffi.string(strerror(code)) end -- message could not be allocated
  return nil, msg, code, e
end

-- true on success, else the failure values.
function errors.check(code)
  if code >= 0 then return true end
  return errors.fail(code)
end

---- misuse: raised, with the level pointing at the user's call ----

-- level is the stack level of the public function being misused, counted
-- from the caller of this helper (so a public function passes 1 and the
-- error points at its caller).
function errors.argerror(n, fname, expected, got, level)
  error(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fname, expected, got),
        (level or 1) + 2)
end

local function check_type(v, t, n, fname, level)
  if type(v) ~= t then errors.argerror(n, fname, t, type(v), (level or 1) + 1) end
  return v
end
errors.check_type = check_type

-- A non-negative integer that fits uint32_t (the C side checks tighter limits).
function errors.check_uint32(v, n, fname, level)
  if type(v) ~= "number" or v ~= floor(v) or v < 0 or v > 4294967295 then
    errors.argerror(n, fname, "integer in 0..2^32-1", type(v) == "number" and tostring(v) or type(v),
                    (level or 1) + 1)
  end
  return v
end

-- Seconds (Lua's usual unit) -> the C API's int64 milliseconds.
-- nil, a negative number or math.huge wait forever (-1); 0 tries once; a
-- positive time is rounded UP to whole milliseconds so a wait never ends
-- before the time asked for.
function errors.timeout_ms(t, n, fname, level)
  if t == nil then return -1 end
  if type(t) ~= "number" or t ~= t then
    errors.argerror(n, fname, "seconds (number) or nil", t ~= t and "nan" or type(t), (level or 1) + 1)
  end
  if t < 0 or t == huge then return -1 end
  if t == 0 then return 0 end
  local ms = t * 1000
  if ms > 2^53 then return 2^53 end -- the C side caps far-off deadlines anyway
  -- The small slack keeps 0.29 s (290.00000000000006 ms) at 290.
  return math.max(1, math.ceil(ms - 1e-6))
end

-- A name for a named object: a string without NUL bytes, since C would
-- silently cut "a\0b" to "a" and name another object. The C side checks
-- the rest of the name rule (and fails with EINVAL, not an error()).
function errors.check_name(v, n, fname, level)
  if type(v) ~= "string" then errors.argerror(n, fname, "string", type(v), (level or 1) + 1) end
  if v:find("\0", 1, true) then
    errors.argerror(n, fname, "name without NUL bytes", "a string with one", (level or 1) + 1)
  end
  return v
end

-- A string bound for a C `const char *` (an argument, a path, a variable):
-- numbers are accepted as Lua does (tostring), NUL bytes refused since C
-- would silently cut the string there. `what` names the value in the
-- message, e.g. "argument", "path".
function errors.check_cstring(v, n, fname, what, level)
  local t = type(v)
  if t == "number" then return tostring(v) end
  if t ~= "string" then errors.argerror(n, fname, (what or "string") .. " (string)", t, (level or 1) + 1) end
  if v:find("\0", 1, true) then
    errors.argerror(n, fname, (what or "string") .. " without NUL bytes", "a string with one", (level or 1) + 1)
  end
  return v
end

-- An integer (a Lua number with no fraction) in [lo, hi].
function errors.check_int(v, n, fname, lo, hi, what, level)
  if type(v) ~= "number" or v ~= floor(v) or v < lo or v > hi then
    errors.argerror(n, fname, (what or "integer") .. (" in %d..%d"):format(lo, hi),
                    type(v) == "number" and tostring(v) or type(v), (level or 1) + 1)
  end
  return v
end

return errors
