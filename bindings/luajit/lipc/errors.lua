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
local floor, type, error, tostring, tonumber = math.floor, type, error, tostring, tonumber
local istype = ffi.istype
local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")

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

local INT_MIN, INT_MAX = -2147483648, 2147483647

-- The static English text of any code (an integer that fits a C int).
function errors.strerror(code)
  return ffi.string(strerror(errors.check_int(code, 1, "strerror", INT_MIN, INT_MAX, "code")))
end

-- "LIPC_EINVAL"; "LIPC_EOS" for OS errors; "LIPC_UNKNOWN" otherwise.
function errors.name(code)
  return ffi.string(error_name(errors.check_int(code, 1, "error_name", INT_MIN, INT_MAX, "code")))
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

---- numbers bound for C ----
-- LuaJIT converts a Lua number to a C integer type by truncating it: 2^32 + 9
-- passed as an int is 9, 1.5 is 1, NaN is anything. So every number lipc
-- hands to C is checked here first, and misuse raises: a number must be an
-- integer (no fraction, not NaN, not +-inf) no larger in magnitude than
-- 2^53 (beyond it a double has lost the units: 2^53 + 1 reads as 2^53), in
-- the C type's range (and the range the call asks for). A 64-bit integer
-- cdata (int64_t or uint64_t, e.g. 5LL or 2ULL^60) is taken too, compared
-- exactly: it is how to pass an int64_t beyond 2^53.

local EXACT = 2 ^ 53
local INT64_MAX_U = 0x7fffffffffffffffULL
local EXACT_LL = 9007199254740992LL -- 2^53

-- How a bad value is shown: a number with all its digits (tostring would
-- show 2^53 + 2 as 9.007199254741e+15), a cdata as LuaJIT prints it.
local function what_of(v)
  if type(v) == "number" then return ("%.17g"):format(v) end
  if type(v) == "cdata" then return tostring(v) end
  return type(v)
end
errors.what_of = what_of

-- v as a Lua number, or nil when it is not an integer in [lo, hi]. lo and
-- hi are Lua numbers within +-2^53 (so they convert to int64_t exactly);
-- 64-bit cdata compare exactly with them. check_int64 covers the whole
-- int64_t range.
local function integer_in(v, lo, hi)
  local t = type(v)
  if t == "number" then
    if v ~= v or v ~= floor(v) or v > EXACT or v < -EXACT or v < lo or v > hi then return nil end
    return v
  end
  if t == "cdata" then
    local x
    if istype(int64_t, v) then
      x = v
    elseif istype(uint64_t, v) and v <= INT64_MAX_U then
      x = int64_t(v)
    else
      return nil
    end
    if x < lo or x > hi then return nil end
    return tonumber(x)
  end
  return nil
end

-- An integer (a Lua number with no fraction, at most 2^53 in magnitude, or
-- a 64-bit integer cdata) in [lo, hi]; returns it as a Lua number.
function errors.check_int(v, n, fname, lo, hi, what, level)
  local x = integer_in(v, lo, hi)
  if x == nil then
    errors.argerror(n, fname, (what or "integer") .. (" in %.0f..%.0f"):format(lo, hi), what_of(v),
                    (level or 1) + 1)
  end
  return x
end

-- A non-negative integer that fits uint32_t (the C side checks tighter limits).
function errors.check_uint32(v, n, fname, level)
  local x = integer_in(v, 0, 4294967295)
  if x == nil then
    errors.argerror(n, fname, "integer in 0..2^32-1", what_of(v), (level or 1) + 1)
  end
  return x
end

-- An integer for an int64_t parameter: a Lua number within +-2^53, or an
-- int64_t / uint64_t cdata that fits int64_t (returned as int64_t cdata
-- when beyond 2^53, so C gets it exactly).
function errors.check_int64(v, n, fname, what, level)
  local t = type(v)
  if t == "number" then
    if v == v and v == floor(v) and v <= EXACT and v >= -EXACT then return v end
  elseif t == "cdata" and (istype(int64_t, v) or (istype(uint64_t, v) and v <= INT64_MAX_U)) then
    -- Compared as int64_t, not as tonumber's double: that rounds 2^53 + 1
    -- to 2^53, which is within the bound, and C got the wrong value.
    local x = int64_t(v)
    if x >= -EXACT_LL and x <= EXACT_LL then return tonumber(x) end
    return x
  end
  errors.argerror(n, fname, (what or "integer") .. " (within +-2^53, or an int64_t cdata)", what_of(v),
                  (level or 1) + 1)
end

-- The longest time the library waits: it caps every deadline at 2^31 - 1
-- seconds (capi/wait.c). Longer timeouts are forever; longer grace times
-- this.
local MAX_S = 2147483647
errors.MAX_MS = MAX_S * 1000

-- Seconds (Lua's usual unit) -> the C API's int64 milliseconds.
-- nil, a negative number (-math.huge too), math.huge or any time longer than
-- the library waits (2^31 - 1 s) wait forever (-1); 0 tries once; a
-- positive time is rounded UP to whole milliseconds so a wait never ends
-- before the time asked for. NaN and non-numbers raise.
function errors.timeout_ms(t, n, fname, level)
  if t == nil then return -1 end
  if type(t) ~= "number" or t ~= t then
    errors.argerror(n, fname, "seconds (number) or nil", t ~= t and "nan" or type(t), (level or 1) + 1)
  end
  if t < 0 or t >= MAX_S then return -1 end
  if t == 0 then return 0 end
  -- The small slack keeps 0.29 s (290.00000000000006 ms) at 290.
  return math.max(1, math.ceil(t * 1000 - 1e-6))
end

-- A grace time (seconds >= 0; math.huge: as long as the library waits) ->
-- int64 milliseconds in 0..MAX_MS. Not a timeout: negative is an error, and
-- "forever" must stay a time (lipc_proc_stop reads -1 as no grace at all).
function errors.grace_ms(t, n, fname, level)
  if type(t) ~= "number" or t ~= t or t < 0 then
    errors.argerror(n, fname, "grace seconds >= 0", what_of(t), (level or 1) + 1)
  end
  if t >= MAX_S then return errors.MAX_MS end
  return math.ceil(t * 1000 - 1e-6)
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

return errors
