-- LuaIPC's ipc.proc over lipc's processes (lipc/proc.lua): a shell command
-- with its stdin, stdout and stderr optionally piped, and a small event
-- loop (lipc's multi-fd wait over the pipes and the child's pidfd) that
-- feeds stdin and hands stdout/stderr to a callback.
--
--   proc.spawn(cmd, options) -> handle | nil, strerror(errno), errno
--       runs /bin/sh -c cmd (Windows: cmd.exe /c cmd, as os.execute and
--       io.popen there) with the environment and working directory of
--       this process. options (a table):
--         stdin, stdout, stderr  true: a pipe; false/nil: this process's
--                                own stream; a Lua io file: that file (the
--                                child gets its own copy: close yours when
--                                you like)
--         callback = function(stream, data [, msg, errno])  required when
--                                stdout or stderr is a pipe: called with
--                                "stdout" or "stderr" and up to 1024 bytes
--                                at a time (or nil, msg, errno on a read error)
--       The child starts with every signal at its default (SIGPIPE too).
--       A command the shell cannot find ends in nil, "exit", 127 from wait.
--   proc.EOF    pass to h:write to close the child's stdin after the data
--
--   h:write(...) -> true      strings (or numbers) queued for the child's
--       stdin and sent while h:wait runs (as much as fits at once is sent
--       right away); proc.EOF closes stdin once the queue is sent. Raises
--       "process stdin is not connected to a pipe" and "pipe to stdin is
--       already closed". When the child stops reading (closes stdin or
--       exits) what is still queued is dropped.
--   h:kill("term" | "kill") -> true   SIGTERM or SIGKILL (true as well when
--       the child has exited already)
--   h:wait() -> true, "exit", 0 | nil, "exit", code | nil, "signal", signal
--       runs the loop until the child exits, then hands everything it wrote
--       to the callback (the pipes are drained: nothing is lost however
--       much it wrote just before exiting) and returns as os.execute does
--       in Lua 5.2+.
--   h:nowait() -> the same as wait() once the child has exited; false
--       while it runs (one round of the loop, without waiting: what can be
--       sent is sent, what has arrived is handed to the callback)
-- After wait()/nowait() reported the exit, the handle is spent: wait, nowait,
-- kill and write raise "attempt to use invalid process object". A handle
-- collected while its child runs kills the child (SIGTERM then SIGKILL at
-- once) and reaps it.
--
-- Loading this module sets SIGPIPE to "ignore" in this process, as LuaIPC
-- does (writes to a pipe nobody reads fail with EPIPE instead of killing
-- the process).
local ffi = require "ffi"
local lipc = require "lipc"
local base = require "ipc._base"

local P = lipc.proc
local codes = lipc.errors
local ETIMEDOUT, EINTR, ENOENT = codes.ETIMEDOUT, codes.EINTR, codes.ENOENT
local type, error, tostring, select, setmetatable, ipairs, io_type = type, error, tostring, select, setmetatable, ipairs, io.type

local CHUNK = 1024 -- bytes per callback, as LuaIPC's reads

-- (Windows has no SIGPIPE: a write to a pipe nobody reads fails there
-- anyway, ERROR_NO_DATA, and nothing is set.)
-- signal(2) under a private name (lipc declares no libc name in LuaJIT's
-- shared C namespace: see lipc/util.lua); a handler is a pointer either way.
if ffi.os ~= "Windows" then
  ffi.cdef [[void *lipc__signal(int sig, void *handler) __asm__("signal");]]
  -- First a call that runs in lipc's Go runtime: it returns only once the
  -- runtime's start-up has finished, and that start-up puts back the signal
  -- dispositions the host had when lipc was loaded (capi/host.c,
  -- lipc__host_restore), so a SIG_IGN set before it can be reverted to
  -- SIG_DFL (a library bug: see test_basics.lua,
  -- LIBRARY_BUG_signal_disposition_set_after_load_is_reverted).
  lipc.diag("go_thread")
  ffi.C.lipc__signal(13, ffi.cast("void *", 1)) -- SIGPIPE, SIG_IGN
end

local proc = {}

proc.EOF = newproxy(true)
getmetatable(proc.EOF).__tostring = function() return "ipc.proc.EOF" end

local methods = {}
local mt = { __index = methods, __metatable = false }

function mt.__tostring(h)
  return ("ipc.proc (%s)"):format(h._p and ("pid " .. tostring(h._p:pid())) or "invalid")
end

local function live(h)
  local p = type(h) == "table" and h._p
  if not p then error("attempt to use invalid process object", 3) end
  return p
end

-- A stream option -> lipc's spec, and whether it is a pipe.
local function stream(v)
  local t = io_type(v)
  if t == "file" then return v, false end
  if t == "closed file" then error("attempt to use closed file", 3) end
  if v then return "pipe", true end
  return nil, false
end

function proc.spawn(cmd, opts)
  cmd = base.checkstring(cmd, 1, "spawn")
  if type(opts) ~= "table" then
    base.argerror(2, "spawn", "table expected, got " .. (opts == nil and "no value" or type(opts)))
  end
  local sin, pin = stream(opts.stdin)
  local sout, pout = stream(opts.stdout)
  local serr, perr = stream(opts.stderr)
  local cb = opts.callback
  if type(cb) ~= "function" and (pout or perr) then error("'callback' field required", 2) end
  local p, msg, code, errno = P.spawn(cmd, {
    stdin = sin, stdout = sout, stderr = serr,
    on_close = "stop", grace = 0, -- a collected handle: the child is killed and reaped
  })
  if not p then return base.fail(p, msg, code, errno) end
  return setmetatable({
    _p = p, _cb = cb,
    _in = pin and p:stdin() or nil, _piped_in = pin,
    _out = pout and p:stdout() or nil, _err = perr and p:stderr() or nil,
    _q = {}, _qi = 1, _eof = false,
  }, mt)
end

---- stdin ----

local function close_in(h)
  if h._in then h._in:close() end
  h._in, h._q, h._qi = nil, {}, 1
end

-- Sends what fits now; closes stdin once the queue is empty after EOF, or
-- when the child stopped reading (the rest is dropped).
local function pump(h)
  local w, q = h._in, h._q
  if not w then -- stdin is closed (the child stopped reading): drop it
    h._q, h._qi = {}, 1
    return
  end
  while h._qi <= #q do
    local s = q[h._qi]
    local ok, _, code, _, n = w:write(s, 0)
    if ok then
      q[h._qi] = nil
      h._qi = h._qi + 1
    elseif code == ETIMEDOUT then -- full: the rest later
      if n > 0 then q[h._qi] = s:sub(n + 1) end
      return
    else -- EPIPE (the reader is gone) or another failure: nobody will read it
      close_in(h)
      return
    end
  end
  h._q, h._qi = {}, 1
  if h._eof then close_in(h) end
end

function methods:write(...)
  live(self)
  if not self._piped_in then error("process stdin is not connected to a pipe", 2) end
  local q, got_eof = self._q, false
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v == proc.EOF then
      got_eof = true
    elseif type(v) ~= "string" and type(v) ~= "number" then
      base.argerror(i, "write", "string expected, got " .. type(v))
    end
    if self._eof then error("pipe to stdin is already closed", 2) end
    if got_eof then self._eof = true else q[#q + 1] = tostring(v) end
  end
  pump(self)
  return true
end

---- the loop ----

-- One read of stream name ("stdout"/"stderr") without waiting: data to the
-- callback; at end of file (or a read error) the pipe is closed. Returns
-- true if data came.
local function pull(h, name)
  local key = name == "stdout" and "_out" or "_err"
  local r = h[key]
  if not r then return false end
  local data, msg, code, errno = r:read(CHUNK, 0)
  if data then
    h._cb(name, data)
    return true
  end
  if data == false then return false end -- nothing yet
  r:close()
  h[key] = nil
  if msg ~= nil then
    local _, text, e = base.fail(nil, msg, code, errno)
    h._cb(name, nil, text, e)
  end
  return false
end

-- The child has exited: everything it wrote is in the pipes now.
local function finish(h)
  while pull(h, "stdout") do end
  while pull(h, "stderr") do end
  for _, key in ipairs({ "_out", "_err" }) do
    if h[key] then h[key]:close(); h[key] = nil end
  end
  close_in(h)
  local p = h._p
  local code, sig, c, errno
  repeat code, sig, c, errno = p:wait() until c ~= EINTR
  h._p = nil
  p:close()
  if code == nil then return base.fail(code, sig, c, errno) end
  if sig ~= 0 then return nil, "signal", sig end
  if code == 0 then return true, "exit", 0 end
  return nil, "exit", code
end

-- One round: wait (block: as long as it takes; else not at all) for the
-- pipes and the child, then serve what is ready. Returns the exit results
-- once the child has exited, else nothing.
local function round(h, block)
  local p = h._p
  local items = { p }
  if h._out then items[#items + 1] = h._out end
  if h._err then items[#items + 1] = h._err end
  if h._in and (h._qi <= #h._q or h._eof) then items[#items + 1] = h._in end
  local ready, msg, code, errno = P.wait_any(items, block and -1 or 0)
  if not ready then
    if code == ETIMEDOUT or code == EINTR then return end
    return true, base.fail(ready, msg, code, errno)
  end
  local exited = false
  for _, it in ipairs(ready) do
    if it == p then exited = true end
  end
  -- as LuaIPC: stdout, then stderr, then the exit, then stdin
  if h._out then for _, it in ipairs(ready) do if it == h._out then pull(h, "stdout") end end end
  if h._err then for _, it in ipairs(ready) do if it == h._err then pull(h, "stderr") end end end
  if exited then return true, finish(h) end
  if h._in then for _, it in ipairs(ready) do if it == h._in then pump(h) end end end
end

function methods:wait()
  live(self)
  while true do
    local over, a, b, c = round(self, true)
    if over then return a, b, c end
  end
end

function methods:nowait()
  live(self)
  local over, a, b, c = round(self, false)
  if over then return a, b, c end
  return false
end

local SIGNALS = { term = "TERM", kill = "KILL" }

function methods:kill(name)
  local p = live(self)
  local sig = SIGNALS[name]
  if not sig then
    if name == nil then base.argerror(1, "kill", "string expected, got no value") end
    base.argerror(1, "kill", ("invalid option '%s'"):format(tostring(name)))
  end
  local ok, msg, code, errno = p:kill(sig)
  if ok or code == ENOENT then return true end -- ENOENT: it has exited already
  return base.fail(ok, msg, code, errno)
end

return proc
