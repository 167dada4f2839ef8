-- Named shared memory: lipc's "x" is the platform's POSIX shared memory
-- shm_open("/x") (on Linux the file /dev/shm/x), shared with plain C
-- programs (shm_open + mmap), Python's mmap over /dev/shm/x and the other
-- lipc bindings. Memory is used in place through ffi pointers: no copies.
--
--   shm.open(name [, opts]) -> s | nil, msg, code, errno
--       opts: create, exclusive, unlink_on_close, mode (lipc/named.lua),
--             size = bytes of a NEW object (> 0 with create; new memory
--             reads as zeros). An existing object is mapped whole, whatever
--             size says. Zero or negative sizes to create: EINVAL.
--   shm.unlink(name)          -> true | nil, msg, code, errno
--   s:ptr()   -> uint8_t *  the start of this object's current view
--   s:addr()  -> void *     the same address
--   s:size()  -> bytes in the current view
--   s:grow(n) -> true | nil, msg, code, errno   grows the object to n bytes
--       (never shrinks: EINVAL unless n > size) and maps a larger view at a
--       NEW address: take s:ptr() again after it.
--   s:refresh() -> size | nil, ...   maps a larger view if another handle
--       (another process) grew the object; the size now mapped
--   s:read_at([offset [, length]]) -> a string copy of the bytes (default:
--       to the end of the view); out-of-range offsets or lengths raise
--   s:write_at(offset, data [, length]) -> true   copies a string in
--   s:file([opts [, class]]) -> a file-like view (lipc/memfile.lua) of the
--       current view: read/lines/write/seek over the memory in place. opts
--       as memfile.new's (readable, writable, name, on_flush, on_close),
--       plus close_owner = true (closing the view closes s); class from
--       memfile.class().
--   s:close() -> true (idempotent) | nil, msg, code, errno
--   s.handle (number; nil once closed), s.name (as given)
-- Any method but close() on a closed object raises
-- "attempt to use closed shared memory".
--
-- Lifetime of pointers: every view this object mapped (before a grow or a
-- refresh too) stays mapped until s:close(), so pointers taken earlier never
-- dangle while s is open. After close, or once s is garbage (its finalizer
-- closes it), they point to unmapped memory: touching them crashes. Keep s
-- referenced as long as you use its pointers. file() views are safer: they
-- keep s alive, and s:close() closes them (a later use raises).
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"
local named = require "lipc.named"
local memfile = require "lipc.memfile"

local shm_open, shm_addr, shm_grow = C.lipc_shm_open, C.lipc_shm_addr, C.lipc_shm_grow
local shm_refresh, shm_unlink = C.lipc_shm_refresh, C.lipc_shm_unlink
local fail, check, check_name, argerror = errors.fail, errors.check, errors.check_name, errors.argerror
local get = handle.get
local type, tonumber = type, tonumber

local hbuf = ffi.new("lipc_handle_t[1]")
local pbuf = ffi.new("void *[1]")
local nbuf = ffi.new("int64_t[1]")
local u8p = ffi.typeof("uint8_t *")

local WHAT = "shared memory"

local shm = {}
local methods = {}
local mt = { __index = methods }

function mt.__tostring(s)
  return ("lipc.shm %q (%s)"):format(s.name, s.handle and ("handle %.0f"):format(s.handle) or "closed")
end

local function check_bytes(n, argn, fname)
  local x = errors.check_int64(n, argn, fname, "integer size", 2)
  return x -- (not a tail call: the error level counts this frame)
end

function shm.open(name, opts)
  local flags, mode
  name, opts, flags, mode = named.args(name, opts, "open")
  local size = check_bytes(opts.size or 0, 2, "open (opts.size)")
  local rc = shm_open(name, flags, mode, size, hbuf)
  if rc < 0 then return fail(rc) end
  return handle.wrap(mt, hbuf[0], { name = name })
end

function shm.unlink(name)
  return check(shm_unlink(check_name(name, 1, "unlink")))
end

-- The current view: address (void *), size. Raises on a closed object;
-- lipc_shm_addr cannot fail on an open one (it runs in C).
local function view(s)
  local rc = shm_addr(get(s, WHAT), pbuf, nbuf)
  if rc < 0 then
    local _, msg = fail(rc)
    error("shm: " .. msg, 3)
  end
  return pbuf[0], tonumber(nbuf[0])
end

function methods:ptr()
  local p = view(self)
  return ffi.cast(u8p, p)
end

function methods:addr()
  return (view(self))
end

function methods:size()
  local _, n = view(self)
  return n
end

function methods:grow(n)
  local h = get(self, WHAT)
  return check(shm_grow(h, check_bytes(n, 1, "grow")))
end

function methods:refresh()
  local rc = shm_refresh(get(self, WHAT), nbuf)
  if rc < 0 then return fail(rc) end
  return tonumber(nbuf[0])
end

function methods:read_at(offset, length)
  local p, n = view(self)
  local s = memfile.read_at(p, n, offset, length, "read_at")
  return s -- (not a tail call: the error level counts this frame)
end

function methods:write_at(offset, data, length)
  local p, n = view(self)
  memfile.write_at(p, n, offset, data, length, "write_at")
  return true
end

local function close_owner(_, owner) return owner:close() end

function methods:file(opts, class)
  local p, n = view(self)
  if opts ~= nil and type(opts) ~= "table" then argerror(1, "file", "table", type(opts)) end
  local o = { name = "shm " .. self.name }
  for k, v in pairs(opts or {}) do o[k] = v end
  o.owner = self
  if o.close_owner then o.on_close = close_owner end
  return memfile.track(self, memfile.new(p, n, o, class))
end

function methods:close()
  if type(self) == "table" and self.handle then memfile.invalidate_views(self) end
  return handle.close(self)
end

return shm
