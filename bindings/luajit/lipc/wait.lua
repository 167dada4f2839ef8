-- Waiting for file descriptors, in C on this thread (lipc_wait_fds).
--
--   wait_fds(entries [, timeout]) -> ready | nil, msg, code, errno
--     entries: a list of tables { fd = n, read = bool, write = bool }; an fd
--       below 0 is ignored; with neither read nor write only hang-up and
--       error conditions are reported. timeout in seconds, nil = forever,
--       0 = poll once. An empty list is a sleep that signals can interrupt.
--     ready: the list of the caller's entry tables that are ready, in the
--       order given. Every entry (ready or not) gets its result fields set:
--       revents (LIPC_WAIT_* bits), readable, writable, hup, err (booleans).
--     Failures: ETIMEDOUT when nothing got ready in time, EINTR when a
--       signal handler ran (returned, not retried: the caller decides).
local ffi = require "ffi"
local bit = require "bit"
local C = require("lipc.lib").C
local errors = require "lipc.errors"

local lipc_wait_fds = C.lipc_wait_fds
local band = bit.band
local fail, timeout_ms, argerror = errors.fail, errors.timeout_ms, errors.argerror
local type = type

local READ, WRITE, HUP, ERR = 1, 2, 4, 8
local MAX = 4096 -- the C limit; more is refused with EINVAL there too

-- Arrays reused across calls (grown on demand): one LuaJIT state runs one
-- thread at a time, so nothing else can be using them during a call.
local cap, fds, events, revents = 0, nil, nil, nil
local nready = ffi.new("int[1]")

local function reserve(n)
  if n <= cap then return end
  cap = math.max(n, 16)
  fds, events, revents = ffi.new("int[?]", cap), ffi.new("int[?]", cap), ffi.new("int[?]", cap)
end

local function wait_fds(entries, timeout)
  if type(entries) ~= "table" then argerror(1, "wait_fds", "table", type(entries)) end
  local n = #entries
  if n > MAX then argerror(1, "wait_fds", "at most " .. MAX .. " entries", n) end
  local ms = timeout_ms(timeout, 2, "wait_fds")
  reserve(n)
  for i = 1, n do
    local e = entries[i]
    if type(e) ~= "table" or (type(e.fd) ~= "number" and type(e.fd) ~= "cdata") then
      argerror(1, "wait_fds", "list of {fd=number,...}", "a bad entry #" .. i)
    end
    -- an int array would keep only the low bits of a wider number
    fds[i - 1] = errors.check_int(e.fd, 1, "wait_fds", -2147483648, 2147483647, "entry #" .. i .. " fd")
    events[i - 1] = (e.read and READ or 0) + (e.write and WRITE or 0)
  end
  local rc = lipc_wait_fds(fds, events, revents, n, ms, nready)
  if rc < 0 then return fail(rc) end
  local ready = {}
  for i = 1, n do
    local e, r = entries[i], revents[i - 1]
    e.revents = r
    e.readable, e.writable = band(r, READ) ~= 0, band(r, WRITE) ~= 0
    e.hup, e.err = band(r, HUP) ~= 0, band(r, ERR) ~= 0
    if r ~= 0 then ready[#ready + 1] = e end
  end
  return ready
end

return {
  wait_fds = wait_fds,
  WAIT_READ = READ, WAIT_WRITE = WRITE, WAIT_HUP = HUP, WAIT_ERR = ERR,
}
