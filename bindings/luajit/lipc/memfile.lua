-- A file-like view over any pointer + size: Lua file methods (read, lines,
-- write, seek, setvbuf, flush, close) over memory, read and written in
-- place. shm:file() and mmap:file() return one; so does
-- memfile.from_string(s) (read-only). It is the piece the LuaIPC
-- compatibility layer builds ipc.shm / ipc.mmap / ipc.strfile handles on,
-- so it behaves as LuaIPC's "memfile" does:
--
--   memfile.new(ptr, size [, opts [, class]]) -> mf
--       ptr: any ffi pointer (or nil with size 0); size: bytes (>= 0).
--       opts: readable (default true), writable (default true),
--             owner (any value: kept referenced while the view is open, so
--               the memory it owns is not collected under the view),
--             on_close = function(mf, owner) ... end (called once, by
--               the first close(), after the view is marked closed; its
--               results are close()'s),
--             on_flush = function(mf, pos) ... end (flush()'s results;
--               without it flush() does nothing and returns true),
--             name (for tostring).
--       class: a metatable from memfile.class(), to add methods.
--   memfile.from_string(s [, opts [, class]]) -> a read-only view of the Lua
--       string s (kept referenced; no copy); class as memfile.new's
--   memfile.class(extra_methods) -> a metatable whose objects have
--       extra_methods, then these; memfile.new(ptr, size, opts, class)
--   memfile.is(v)              -> true if v is a memfile (of any class)
--   memfile.invalidate(mf)     -> marks mf closed WITHOUT calling on_close:
--       for an owner whose memory goes away (lipc's shm and mmap objects do
--       this to their views when they close, so a view can never touch
--       unmapped memory)
--
--   mf:read(...)  formats as file:read: a number n (bytes, an integer >= 0),
--       "a" (the rest; "" at the end), "l" (a line without its "\n" and
--       without a "\r" before it: the default), "L" (a line with its
--       "\r\n" / "\n"); a leading "*" is allowed ("*l"). Returns one value a
--       format; at the end a format yields nil and reading stops there.
--       read(0) is "" before the end, nil at it. "n" (numbers) is not
--       supported: error "bad argument #i to 'read' (invalid format)".
--       Not readable: nil, "permission denied", EPERM.
--   mf:lines(...)  an iterator of mf:read(...) (default "l"); raises
--       "permission denied" at once if the view is not readable.
--   mf:write(...)  strings and numbers (numbers as "%.14g", as Lua's io),
--       copied at the position. -> mf | nil, "not enough space", ERANGE when
--       they do not fit: the part that fits is written and the position is
--       the end. Not writable: nil, "permission denied", EPERM.
--   mf:seek([whence [, offset]]) whence "set" | "cur" (default) | "end" ->
--       the new position | nil, "invalid offset", EINVAL outside [0, size]
--   mf:truncate([n])  shrinks the VIEW (never the memory) to n bytes
--       (default: the position) -> true | nil, "new size too large", EINVAL
--   mf:size() -> bytes in the view;  mf:addr() -> void * (the start);
--   mf:ptr() -> uint8_t * (the start)
--   mf:read_into(buf, n) -> bytes copied into buf (0 at the end): no Lua string
--   mf:write_from(buf, n) -> mf | nil, "not enough space", ERANGE (partial, as write)
--   mf:setvbuf(mode) -> true (mode "no" | "full" | "line"; nothing to buffer)
--   mf:flush() -> true, or what opts.on_flush returns (mmap views: msync of
--       [0, pos), asynchronous, as LuaIPC)
--   mf:close() -> true | what on_close returns; idempotent (a second close
--       returns true); mf:isclosed() -> boolean
-- Every other method on a closed view raises "attempt to use closed in-memory file".
-- io.type(mf) is nil: it is not a Lua file. The view never reads or writes
-- outside [ptr, ptr + size): bounds are checked in Lua before every copy.
local ffi = require "ffi"
local errors = require "lipc.errors"

-- A private name for libc's memchr: lipc declares no libc name in LuaJIT's
-- shared C namespace (see lipc/util.lua).
ffi.cdef [[void *lipc__memchr(const void *s, int c, size_t n) __asm__("memchr");]]
local libc = ffi.C

local codes = errors.codes
local EPERM, EINVAL, ERANGE = codes.EPERM, codes.EINVAL, codes.ERANGE
local argerror = errors.argerror
local u8p = ffi.typeof("uint8_t *")
local voidp = ffi.typeof("void *")
local copy, fstring, cast = ffi.copy, ffi.string, ffi.cast
local type, select, error, tostring, tonumber, setmetatable, getmetatable, unpack =
  type, select, error, tostring, tonumber, setmetatable, getmetatable, unpack
local floor, byte, format = math.floor, string.byte, string.format

local CLOSED = "attempt to use closed in-memory file"
local NO_PERM, NO_SPACE, BAD_OFFSET = "permission denied", "not enough space", "invalid offset"

local memfile = {}
local methods = {}
local mt = { __index = methods }
memfile.methods, memfile.mt = methods, mt
local classes = setmetatable({ [mt] = true }, { __mode = "k" })

local function tostr(mf)
  if mf.closed then return "in-memory file (closed)" end
  local a = tostring(cast(voidp, mf._p)):match("0x%x+") or "?"
  return ("in-memory file (%s%s)"):format(mf.name and (mf.name .. ", ") or "", a)
end
mt.__tostring = tostr

function memfile.class(extra)
  if extra ~= nil and type(extra) ~= "table" then argerror(1, "class", "table", type(extra)) end
  local cls = { __index = setmetatable(extra or {}, { __index = methods }), __tostring = tostr }
  classes[cls] = true
  return cls
end

function memfile.is(v)
  return type(v) == "table" and classes[getmetatable(v)] == true
end

local function check_size(n, argn, fname)
  if type(n) ~= "number" or n ~= floor(n) or n < 0 or n >= 2^53 then
    argerror(argn, fname, "size (integer >= 0)", type(n) == "number" and tostring(n) or type(n), 2)
  end
  return n
end

function memfile.new(ptr, size, opts, class)
  check_size(size, 2, "new")
  if opts ~= nil and type(opts) ~= "table" then argerror(3, "new", "table", type(opts)) end
  if class ~= nil and not classes[class] then argerror(4, "new", "class from memfile.class()", type(class)) end
  opts = opts or {}
  if size > 0 and (type(ptr) ~= "cdata" or ptr == nil) then
    argerror(1, "new", "pointer (cdata)", type(ptr) == "cdata" and "NULL" or type(ptr))
  end
  local mf = {
    _p = size > 0 and cast(u8p, ptr) or cast(u8p, 0),
    _n = size, _pos = 0,
    _r = opts.readable ~= false, _w = opts.writable ~= false,
    owner = opts.owner, name = opts.name,
    _on_close = opts.on_close, _on_flush = opts.on_flush,
    closed = false,
  }
  return setmetatable(mf, class or mt)
end

function memfile.from_string(s, opts, class)
  if type(s) ~= "string" then argerror(1, "from_string", "string", type(s)) end
  if opts ~= nil and type(opts) ~= "table" then argerror(2, "from_string", "table", type(opts)) end
  if class ~= nil and not classes[class] then argerror(3, "from_string", "class from memfile.class()", type(class)) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.readable, o.writable, o.owner = true, false, s
  return memfile.new(#s > 0 and cast("const uint8_t *", s) or nil, #s, o, class)
end

function memfile.invalidate(mf)
  mf.closed = true
  mf._p, mf._n, mf._pos, mf.owner = nil, 0, 0, nil
end

---- for owners of memory (lipc's shm and mmap objects) ----

local weak_keys = { __mode = "k" }

-- Remembers that mf views owner's memory, so memfile.invalidate_views(owner)
-- can close it when that memory goes away.
function memfile.track(owner, mf)
  local v = owner._views
  if not v then
    v = setmetatable({}, weak_keys)
    owner._views = v
  end
  v[mf] = true
  return mf
end

function memfile.invalidate_views(owner)
  local v = owner._views
  if not v then return end
  owner._views = nil
  for mf in pairs(v) do memfile.invalidate(mf) end
end

-- Bounds-checked copies for owners' read_at / write_at: offset and length
-- must lie in [0, size]; misuse raises at the caller of the public method.
local function check_range(size, off, len, fname)
  if type(off) ~= "number" or off ~= floor(off) or off < 0 or off > size then
    error(format("bad argument #1 to '%s' (offset in 0..%d expected, got %s)", fname, size, tostring(off)), 4)
  end
  if type(len) ~= "number" or len ~= floor(len) or len < 0 or off + len > size then
    error(format("bad argument #2 to '%s' (length in 0..%d expected, got %s)", fname, size - off, tostring(len)), 4)
  end
end

-- The bytes [off, off+len) of ptr (len default: to size) as a string.
function memfile.read_at(ptr, size, off, len, fname)
  off = off or 0
  if len == nil and type(off) == "number" then len = size - off end
  check_range(size, off, len, fname)
  return fstring(cast(u8p, ptr) + off, len)
end

-- Copies the string s (or its first len bytes) to ptr + off.
function memfile.write_at(ptr, size, off, s, len, fname)
  if type(s) ~= "string" then error(format("bad argument #2 to '%s' (string expected, got %s)", fname, type(s)), 3) end
  len = len or #s
  if len > #s then error(format("bad argument #3 to '%s' (length <= #data expected, got %s)", fname, tostring(len)), 3) end
  check_range(size, off, len, fname)
  copy(cast(u8p, ptr) + off, s, len)
end

-- The open view, or an error at the caller of the public method.
local function live(mf)
  if type(mf) ~= "table" or mf.closed == nil then error("bad self (call it as mf:method())", 3) end
  if mf.closed then error(CLOSED, 3) end
  return mf
end

---- reading ----

local function read_line(mf, keep)
  local p, pos, n = mf._p, mf._pos, mf._n
  if pos >= n then return nil end
  local q = libc.lipc__memchr(p + pos, 10, n - pos)
  if q == nil then
    mf._pos = n
    return fstring(p + pos, n - pos)
  end
  local e = tonumber(cast(u8p, q) - p) -- index of the "\n"
  mf._pos = e + 1
  if keep then return fstring(p + pos, e + 1 - pos) end
  if e > pos and p[e - 1] == 13 then e = e - 1 end
  return fstring(p + pos, e - pos)
end

local function read_count(mf, k)
  local pos, n = mf._pos, mf._n
  if pos >= n then return nil end
  if k > n - pos then k = n - pos end
  mf._pos = pos + k
  return fstring(mf._p + pos, k)
end

local function read_all(mf)
  local pos, n = mf._pos, mf._n
  mf._pos = n
  if pos >= n then return "" end
  return fstring(mf._p + pos, n - pos)
end

-- A format -> a reader function and its argument; raises for a bad one.
-- i: the format's argument number; level: of the public method's caller.
local LINE, LINEK, ALL = 1, 2, 3
local function parse(f, i, fname)
  if type(f) == "number" then
    if f >= 0 and f == floor(f) then return f end
  elseif type(f) == "string" then
    local c = byte(f, byte(f, 1) == 42 and 2 or 1) -- skip a leading "*"
    if c == 108 then return -LINE elseif c == 76 then return -LINEK elseif c == 97 then return -ALL end
  end
  error(format("bad argument #%d to '%s' (invalid format)", i, fname), 3)
end

local function read1(mf, f)
  if f >= 0 then return read_count(mf, f) end
  if f == -LINE then return read_line(mf, false) end
  if f == -LINEK then return read_line(mf, true) end
  return read_all(mf)
end

function methods:read(...)
  live(self)
  local nf = select("#", ...)
  if nf == 0 then
    if not self._r then return nil, NO_PERM, EPERM end
    return read_line(self, false)
  end
  if nf == 1 then
    local f = parse((...), 1, "read")
    if not self._r then return nil, NO_PERM, EPERM end
    return read1(self, f)
  end
  local fs = { ... }
  for i = 1, nf do fs[i] = parse(fs[i], i, "read") end
  if not self._r then return nil, NO_PERM, EPERM end
  local out = {}
  for i = 1, nf do
    local v = read1(self, fs[i])
    out[i] = v
    if v == nil then return unpack(out, 1, i) end
  end
  return unpack(out, 1, nf)
end

function methods:lines(...)
  live(self)
  local nf = select("#", ...)
  local fs = { ... }
  for i = 1, nf do parse(fs[i], i, "lines") end
  if not self._r then error(NO_PERM, 2) end
  if nf == 0 then
    return function() return self:read() end
  end
  return function() return self:read(unpack(fs, 1, nf)) end
end

function methods:read_into(buf, k)
  live(self)
  check_size(k, 2, "read_into")
  if type(buf) ~= "cdata" then argerror(1, "read_into", "pointer (cdata)", type(buf)) end
  if not self._r then return nil, NO_PERM, EPERM end
  local pos, n = self._pos, self._n
  if k > n - pos then k = n - pos end
  if k > 0 then copy(buf, self._p + pos, k) end
  self._pos = pos + k
  return k
end

---- writing ----

-- Copies len bytes of src (string or pointer) at the position; partial when
-- they do not fit.
local function put(mf, src, len)
  local pos, n = mf._pos, mf._n
  local room = n - pos
  if len > room then
    if room > 0 then copy(mf._p + pos, src, room) end
    mf._pos = n
    return false
  end
  if len > 0 then copy(mf._p + pos, src, len) end
  mf._pos = pos + len
  return true
end

function methods:write(...)
  live(self)
  local nv = select("#", ...)
  for i = 1, nv do -- check every argument before writing any
    local t = type((select(i, ...)))
    if t ~= "string" and t ~= "number" then argerror(i, "write", "string", t) end
  end
  if not self._w then return nil, NO_PERM, EPERM end
  for i = 1, nv do
    local v = select(i, ...)
    if type(v) == "number" then v = format("%.14g", v) end
    if not put(self, v, #v) then return nil, NO_SPACE, ERANGE end
  end
  return self
end

function methods:write_from(buf, k)
  live(self)
  if type(buf) ~= "cdata" and type(buf) ~= "string" then argerror(1, "write_from", "pointer (cdata)", type(buf)) end
  check_size(k, 2, "write_from")
  if type(buf) == "string" and k > #buf then argerror(2, "write_from", "size <= #string", tostring(k)) end
  if not self._w then return nil, NO_PERM, EPERM end
  if not put(self, buf, k) then return nil, NO_SPACE, ERANGE end
  return self
end

---- position and size ----

local whences = { set = true, cur = true, ["end"] = true }

function methods:seek(whence, offset)
  live(self)
  whence = whence or "cur"
  if not whences[whence] then error(format("bad argument #1 to 'seek' (invalid option '%s')", tostring(whence)), 2) end
  offset = offset or 0
  if type(offset) ~= "number" or offset ~= floor(offset) then
    argerror(2, "seek", "integer offset", type(offset) == "number" and tostring(offset) or type(offset))
  end
  local base = whence == "set" and 0 or whence == "cur" and self._pos or self._n
  local np = base + offset
  if np < 0 or np > self._n then return nil, BAD_OFFSET, EINVAL end
  self._pos = np
  return np
end

function methods:truncate(n)
  live(self)
  if n == nil then n = self._pos end
  check_size(n, 1, "truncate")
  if n > self._n then return nil, "new size too large", EINVAL end
  self._n = n
  if self._pos > n then self._pos = n end
  return true
end

function methods:size() return live(self)._n end
function methods:addr() return cast(voidp, live(self)._p) end
function methods:ptr() return live(self)._p end

local vbuf_modes = { no = true, full = true, line = true }
function methods:setvbuf(mode)
  live(self)
  if not vbuf_modes[mode] then error(format("bad argument #1 to 'setvbuf' (invalid option '%s')", tostring(mode)), 2) end
  return true
end

function methods:flush()
  live(self)
  if self._on_flush then return self._on_flush(self, self._pos) end
  return true
end

function methods:isclosed()
  return self.closed == true
end

function methods:close()
  if type(self) ~= "table" or self.closed == nil then error("bad self for close (call it as mf:close())", 2) end
  if self.closed then return true end
  local on_close, owner = self._on_close, self.owner
  memfile.invalidate(self)
  if on_close then return on_close(self, owner) end
  return true
end

return memfile
