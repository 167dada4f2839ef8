-- Pipe ends as Lua objects: the parent's end of a child's pipe (from
-- p:stdout(), p:pipe(n), ...), both ends of a new pipe (lipc.proc.pipe()),
-- or any fd the caller hands over (pipe.wrap). The object owns its fd:
-- close() closes it (idempotent), an ffi.gc finalizer is the backstop.
-- Reads and writes wait in C with timeouts (lipc_fd_read / lipc_fd_write);
-- a write to a pipe nobody reads is an error (ECLOSED), never SIGPIPE.
--
--   pipe.new()                 -> r, w | nil, msg, code, errno
--       a new pipe (close-on-exec, so only children it is given to see it).
--       Give an end to a child as stdin=/stdout=/fds[n]= of lipc.proc.spawn:
--       it is handed over (closed here once the child started).
--   pipe.wrap(fd, mode [, name]) -> an object owning fd; mode "r" or "w"
--
--   p:read([what [, timeout]])
--       what: a number n    up to n bytes, as soon as some are there
--             "a" / "*a"    everything up to end of file ("" if at EOF)
--             "l" / "*l"    a line without its "\n" (the default)
--             "L" / "*L"    a line with its "\n"
--     -> string
--      | nil                          end of file (as file:read)
--      | false, msg, code, errno      the timeout passed (ETIMEDOUT): nothing
--                                     is lost, what came is kept for the next read
--      | nil, msg, code, errno        a failure (EINTR included)
--   p:lines([what [, timeout]])  -> iterator over p:read(what, timeout), ends at
--       EOF; raises on a failure or timeout (as file:lines does on errors)
--   p:read_into(buf, size [, timeout]) -> n   copies up to size bytes into the
--       ffi buffer buf as soon as some are there (what an earlier read kept
--       comes first), no Lua string made; 0 at end of file (size 0: 0 at
--       once) | false, msg, code, errno (timeout) | nil, msg, code, errno
--   p:write(s [, timeout])  -> true
--      | false, msg, code, errno, nwritten   timed out after nwritten bytes
--      | nil, msg, code, errno, nwritten     failure (ECLOSED: no reader left)
--   p:write_from(buf, size [, timeout]) -> as p:write, for size bytes at the
--       ffi pointer buf (or the first size bytes of a string)
--   p:settimeout(t)         default timeout of read/write (nil: forever)
--   p:fileno()              -> the fd (a number)
--   p:close()               -> true (idempotent) | nil, msg, code, errno
--   p.mode ("r"/"w"), p.name, p.fd (nil once closed)
-- Timeouts are seconds (nil or negative: forever, 0: try once).
-- Every method but close() raises "attempt to use closed pipe" once closed.
--
-- The fd is switched to O_NONBLOCK before the first read or write: lipc's
-- fd_read/fd_write only keep their timeouts on non-blocking fds (a blocking
-- fd blocks inside read(2)/write(2) past the deadline). Ends taken from a
-- child (lipc_proc_take_fd) are non-blocking already. An end handed to a
-- child is made blocking again, as programs expect of their stdin/stdout.
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local util = require "lipc.util"

local fd_read, fd_write, fd_close = C.lipc_fd_read, C.lipc_fd_write, C.lipc_fd_close
local fail, timeout_ms, argerror = errors.fail, errors.timeout_ms, errors.argerror
local ETIMEDOUT = errors.codes.ETIMEDOUT
local now = util.now
local type, error, tostring, setmetatable, concat = type, error, tostring, setmetatable, table.concat
local sub, find = string.sub, string.find

local CHUNK = 65536
local MAX_READ = 4 * 1048576 -- one read(n) asks C for at most this much
local box_t = ffi.typeof("int[1]")
local nbuf = ffi.new("size_t[1]")
-- One read buffer for every pipe, grown on demand: a LuaJIT state runs one
-- thread at a time and nothing reenters a read while it runs.
local rcap = CHUNK
local rbuf = ffi.new("char[?]", rcap)

local function finalize(box)
  if box[0] >= 0 then fd_close(box[0]) end
end

local pipe = {}
local methods = {}
local mt = { __index = methods }
pipe.mt = mt

function mt.__tostring(p)
  return ("lipc.pipe %s (%s)"):format(p.name or "?", p.fd and ("fd %d, %s"):format(p.fd, p.mode) or "closed")
end

function pipe.is(v) return getmetatable(v) == mt end

-- nonblock: the fd is known to be O_NONBLOCK already.
local function wrap(fd, mode, name, nonblock)
  local box = box_t()
  box[0] = fd
  return setmetatable({
    fd = fd, mode = mode, name = name, _gc = ffi.gc(box, finalize),
    _buf = "", _nb = nonblock or false, timeout = nil,
  }, mt)
end
pipe._wrap = wrap

function pipe.wrap(fd, mode, name)
  errors.check_int(fd, 1, "wrap", 0, 2147483647, "fd")
  if mode ~= "r" and mode ~= "w" then argerror(2, "wrap", "'r' or 'w'", tostring(mode)) end
  return wrap(fd, mode, name or ("fd " .. fd))
end

function pipe.new()
  local r, w = util.pipe()
  if not r then
    local e = w
    local code = errors.codes.EOS_BASE - e
    return nil, "pipe: " .. errors.strerror(code), code, e
  end
  return wrap(r, "r", "pipe read end"), wrap(w, "w", "pipe write end")
end

-- The fd of an open pipe; raises at the caller of the public method.
local function getfd(p)
  if type(p) ~= "table" or getmetatable(p) ~= mt then
    error("bad self for a pipe method (call it as p:method())", 3)
  end
  local fd = p.fd
  if fd == nil then error("attempt to use closed pipe", 3) end
  if not p._nb then
    util.set_nonblock(fd, true)
    p._nb = true
  end
  return fd
end

-- Forgets the fd without closing it (lipc closed it, or a child owns it now).
function pipe._release(p)
  if p.fd == nil then return end
  p._gc[0] = -1
  ffi.gc(p._gc, nil)
  p.fd, p._buf = nil, ""
end

-- Prepares an end to be handed to a child: blocking again, as a child's
-- stdin/stdout should be. Returns the fd.
function pipe._handover_fd(p)
  local fd = p.fd
  if fd == nil then error("attempt to use closed pipe", 4) end
  util.set_nonblock(fd, false)
  p._nb = false
  return fd
end

function methods:fileno()
  if type(self) ~= "table" or getmetatable(self) ~= mt then error("bad self for fileno", 2) end
  local fd = self.fd
  if fd == nil then error("attempt to use closed pipe", 2) end
  return fd
end

function methods:settimeout(t)
  if type(self) ~= "table" or getmetatable(self) ~= mt then error("bad self for settimeout", 2) end
  timeout_ms(t, 1, "settimeout") -- validates
  self.timeout = t
  return true
end

function methods:close()
  if type(self) ~= "table" or getmetatable(self) ~= mt then error("bad self for close (call it as p:close())", 2) end
  local fd = self.fd
  if fd == nil then return true end
  pipe._release(self)
  local rc = fd_close(fd)
  if rc < 0 then return fail(rc) end
  return true
end

-- One read(2)-sized step: appends up to `want` bytes to p._buf.
-- Returns n (0 at EOF), or the failure values.
local function fill(p, fd, want, ms)
  if want > rcap then
    rcap = want
    rbuf = ffi.new("char[?]", rcap)
  end
  local rc = fd_read(fd, rbuf, want, ms, nbuf)
  if rc < 0 then return fail(rc) end
  local n = tonumber(nbuf[0])
  if n > 0 then
    local s = ffi.string(rbuf, n)
    p._buf = p._buf == "" and s or p._buf .. s
  end
  return n
end

-- Milliseconds left until the deadline (seconds on the monotonic clock), or
-- -1 for none; never 0 for a deadline not yet passed (0 would mean "try
-- once" and a late first try must still get its chance).
local function left(deadline, ms0)
  if ms0 <= 0 then return ms0 end
  local ms = math.ceil((deadline - now()) * 1000)
  return ms > 0 and ms or 0
end

-- Turns a failure of fill into read's return values: false for a timeout.
local function failed(_, msg, code, e)
  if code == ETIMEDOUT then return false, msg, code, e end
  return nil, msg, code, e
end

local formats = { a = "a", ["*a"] = "a", l = "l", ["*l"] = "l", L = "L", ["*L"] = "L" }

function methods:read(what, timeout)
  local fd = getfd(self)
  if what == nil then what = "l" end
  if timeout == nil then timeout = self.timeout end
  local ms0 = timeout_ms(timeout, 2, "read")
  local deadline = ms0 > 0 and now() + ms0 / 1000 or 0
  if type(what) == "number" then
    if what ~= what or what < 0 or what ~= math.floor(what) or what > 2^53 then
      argerror(1, "read", "count >= 0", errors.what_of(what))
    end
    local buf = self._buf
    if buf == "" then
      local n, msg, code, e = fill(self, fd, what == 0 and CHUNK or what < MAX_READ and what or MAX_READ, ms0)
      if n == nil then return failed(n, msg, code, e) end
      if n == 0 then return nil end
      buf = self._buf
    end
    if what == 0 then return "" end
    if #buf <= what then
      self._buf = ""
      return buf
    end
    self._buf = sub(buf, what + 1)
    return sub(buf, 1, what)
  end
  local fmt = formats[what]
  if not fmt then argerror(1, "read", "number, 'a', 'l' or 'L'", tostring(what)) end
  if fmt == "a" then
    local parts, np = { self._buf }, 1
    self._buf = ""
    while true do
      local n, msg, code, e = fill(self, fd, CHUNK, left(deadline, ms0))
      if n == nil then
        -- keep what came (in order) for the next read
        np = np + 1
        parts[np] = self._buf
        self._buf = concat(parts, "", 1, np)
        return failed(n, msg, code, e)
      end
      if n == 0 then break end
      np = np + 1
      parts[np] = self._buf
      self._buf = ""
    end
    return concat(parts, "", 1, np)
  end
  -- a line
  local from = 1
  while true do
    local buf = self._buf
    local i = find(buf, "\n", from, true)
    if i then
      self._buf = sub(buf, i + 1)
      return sub(buf, 1, fmt == "L" and i or i - 1)
    end
    from = #buf + 1
    local n, msg, code, e = fill(self, fd, CHUNK, left(deadline, ms0))
    if n == nil then return failed(n, msg, code, e) end
    if n == 0 then
      if buf == "" then return nil end
      self._buf = ""
      return buf
    end
  end
end

function methods:lines(what, timeout)
  getfd(self)
  return function()
    local s, msg, code = self:read(what, timeout)
    if s == nil and msg == nil then return nil end
    if not s then error(("pipe:lines: %s (%s)"):format(msg, errors.name(code)), 2) end
    return s
  end
end

function methods:read_into(buf, size, timeout)
  local fd = getfd(self)
  if type(buf) ~= "cdata" then argerror(1, "read_into", "ffi buffer (cdata)", type(buf)) end
  errors.check_int(size, 2, "read_into", 0, 2^53, "size")
  if timeout == nil then timeout = self.timeout end
  local ms = timeout_ms(timeout, 3, "read_into")
  if size == 0 then return 0 end
  local kept = self._buf
  if kept ~= "" then -- what an earlier read kept comes first
    local n = #kept < size and #kept or size
    ffi.copy(buf, kept, n)
    self._buf = sub(kept, n + 1)
    return n
  end
  local rc = fd_read(fd, buf, size, ms, nbuf)
  if rc < 0 then return failed(fail(rc)) end
  return tonumber(nbuf[0])
end

-- Writes size bytes at ptr within ms; the results of write().
local function write_raw(fd, ptr, size, ms)
  local rc = fd_write(fd, ptr, size, ms, nbuf)
  if rc == 0 then return true end
  local _, msg, code, e = fail(rc)
  local n = tonumber(nbuf[0])
  if code == ETIMEDOUT then return false, msg, code, e, n end
  return nil, msg, code, e, n
end

function methods:write(s, timeout)
  local fd = getfd(self)
  if type(s) == "number" then s = tostring(s) end
  if type(s) ~= "string" then argerror(1, "write", "string", type(s)) end
  if timeout == nil then timeout = self.timeout end
  return write_raw(fd, s, #s, timeout_ms(timeout, 2, "write"))
end

function methods:write_from(buf, size, timeout)
  local fd = getfd(self)
  local t = type(buf)
  if t ~= "cdata" and t ~= "string" then argerror(1, "write_from", "ffi pointer or string", t) end
  errors.check_int(size, 2, "write_from", 0, t == "string" and #buf or 2^53, "size")
  if timeout == nil then timeout = self.timeout end
  return write_raw(fd, buf, size, timeout_ms(timeout, 3, "write_from"))
end

-- For wait_any: buffered data counts as readable at once.
function pipe._buffered(p) return p._buf ~= "" end

return pipe
