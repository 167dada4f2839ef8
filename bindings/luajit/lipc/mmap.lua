-- Memory-mapped files, used in place through ffi pointers.
--
--   mmap.open(path [, opts]) -> m | nil, msg, code, errno
--   mmap.open(path, access [, offset [, length]])   (LuaIPC's argument order)
--       access: "r" read-only (default) | "w" (also "rw", "r+") read-write
--               and shared: writes reach the file and other processes
--               | "c" copy-on-write: writes stay private to this mapping
--       opts: access, offset (bytes, a multiple of mmap.pagesize; default
--             0), length (bytes; 0 or nil: to the end of the file),
--             create = true (create a missing file; with "w" or extend),
--             extend = true (extend a shorter file with zeros to offset +
--             length), mode (permission bits of a created file; 0: 0644)
--       EINVAL with a clear message for: an unaligned or negative offset,
--       an empty file with length 0, an offset at or past the end, offset +
--       length past the end without extend, something not a regular file.
--   mmap.pagesize, mmap.page_size() -> the page size (bytes)
--   m:ptr() -> uint8_t *;  m:addr() -> void *;  m:size() -> bytes mapped
--   m:flush([offset [, length [, async]]]) -> true | nil, msg, code, errno
--       writes changes in [offset, offset+length) of the mapping (length 0
--       or nil: to its end) back to the file; async = true only starts the
--       writing. Nothing to do for "r" and "c" mappings (returns true).
--   m:advise(advice [, offset [, length]]) -> true | nil, ...
--       advice: "normal" | "sequential" | "random" | "willneed" |
--       "dontneed" (drops the pages: a "c" mapping loses its changes) or a
--       LIPC_ADVISE_* number
--   m:read_at([offset [, length]]) -> string copy; m:write_at(offset, data [, length])
--       -> true (raises on an "r" mapping: writing to it would crash)
--   m:file([opts [, class]]) -> a file-like view (lipc/memfile.lua), not
--       writable for "r" mappings; its flush() msyncs [0, position)
--       asynchronously (as LuaIPC). opts: as memfile.new's, plus
--       close_owner = true (closing the view closes m).
--   m:close() -> true (idempotent) | nil, msg, code, errno (unmaps: views
--       from m:file() are closed too, raw pointers dangle)
--   m.handle (number; nil once closed), m.path, m.access ("r", "w" or "c"),
--   m.offset (the file offset mapped)
-- Any method but close() on a closed mapping raises "attempt to use closed mapped file".
--
-- SIGBUS: touching a page of a mapping that lies past the end of its file
-- (another process truncated the file after it was mapped) kills this
-- process with SIGBUS; no library can turn that into an error. Do not
-- truncate files that others have mapped; agree on sizes instead.
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"
local memfile = require "lipc.memfile"

local mmap_open, mmap_addr, mmap_flush = C.lipc_mmap_open, C.lipc_mmap_addr, C.lipc_mmap_flush
local mmap_advise, page_size = C.lipc_mmap_advise, C.lipc_page_size
local fail, check, argerror = errors.fail, errors.check, errors.argerror
local check_cstring, check_uint32 = errors.check_cstring, errors.check_uint32
local get = handle.get
local type, tonumber, tostring, pairs, unpack = type, tonumber, tostring, pairs, unpack

local hbuf = ffi.new("lipc_handle_t[1]")
local pbuf = ffi.new("void *[1]")
local nbuf = ffi.new("int64_t[1]")
local u8p = ffi.typeof("uint8_t *")

local WHAT = "mapped file"
local ACCESS = { r = 1, w = 2, rw = 2, ["r+"] = 2, c = 3 }
local ACCESS_NAME = { "r", "w", "c" }
local CREATE, EXTEND = 1, 2
local ADVICE = { normal = 0, sequential = 1, random = 2, willneed = 3, dontneed = 4 }

local mmap = { ADVICE = ADVICE }
local methods = {}
local mt = { __index = methods }

function mt.__tostring(m)
  return ("lipc.mmap %q (%s)"):format(m.path, m.handle and ("handle %.0f, %s, %d bytes"):format(m.handle, m.access, m._n)
    or "closed")
end

local rc0 = page_size(nbuf)
mmap.pagesize = rc0 == 0 and tonumber(nbuf[0]) or 4096
function mmap.page_size() return mmap.pagesize end

local function check_int(v, argn, fname, what)
  local x = errors.check_int64(v, argn, fname, what, 2)
  return x -- (not a tail call: the error level counts this frame)
end

function mmap.open(path, opts, offset, length)
  check_cstring(path, 1, "open", "path")
  if type(opts) == "string" or opts == nil then
    opts = { access = opts, offset = offset, length = length }
  elseif type(opts) ~= "table" then
    argerror(2, "open", "table or access string", type(opts))
  end
  local access = ACCESS[opts.access or "r"]
  if not access then
    error(("bad argument #2 to 'open' (invalid access '%s': 'r', 'w' or 'c')"):format(tostring(opts.access)), 2)
  end
  local flags = (opts.create and CREATE or 0) + (opts.extend and EXTEND or 0)
  local mode = check_uint32(opts.mode or 0, 2, "open (opts.mode)")
  local off = check_int(opts.offset or 0, 2, "open (offset)")
  local len = check_int(opts.length or 0, 2, "open (length)")
  local rc = mmap_open(path, access, flags, mode, off, len, hbuf)
  if rc < 0 then return fail(rc) end
  local m = handle.wrap(mt, hbuf[0], { path = path, access = ACCESS_NAME[access], offset = off })
  rc = mmap_addr(m.handle, pbuf, nbuf)
  if rc < 0 then -- only EFORKED could get here
    local r = { fail(rc) }
    handle.close(m)
    return unpack(r, 1, 4)
  end
  m._p, m._n = ffi.cast(u8p, pbuf[0]), tonumber(nbuf[0])
  return m
end

function methods:ptr()
  get(self, WHAT)
  return self._p
end

function methods:addr()
  get(self, WHAT)
  return ffi.cast("void *", self._p)
end

function methods:size()
  get(self, WHAT)
  return self._n
end

function methods:flush(offset, length, async)
  local h = get(self, WHAT)
  return check(mmap_flush(h, check_int(offset or 0, 1, "flush"), check_int(length or 0, 2, "flush"),
                          async and 1 or 0))
end

function methods:advise(advice, offset, length)
  local h = get(self, WHAT)
  local a = ADVICE[advice] or advice
  if type(a) ~= "number" and type(a) ~= "cdata" then
    argerror(1, "advise", "'normal', 'sequential', 'random', 'willneed', 'dontneed' or number", tostring(advice))
  end
  a = errors.check_int(a, 1, "advise", -2147483648, 2147483647, "advice")
  return check(mmap_advise(h, check_int(offset or 0, 2, "advise"), check_int(length or 0, 3, "advise"), a))
end

function methods:read_at(offset, length)
  get(self, WHAT)
  local s = memfile.read_at(self._p, self._n, offset, length, "read_at")
  return s -- (not a tail call: the error level counts this frame)
end

function methods:write_at(offset, data, length)
  get(self, WHAT)
  if self.access == "r" then error("write_at: the mapping is read-only (opened with access 'r')", 2) end
  memfile.write_at(self._p, self._n, offset, data, length, "write_at")
  return true
end

-- A view's flush: msync [0, pos) without waiting, as LuaIPC does. Nothing
-- was written before pos 0 (and length 0 would mean "to the end").
local function view_flush(mf, pos)
  local owner = mf.owner
  if pos == 0 or owner.access ~= "w" then return true end
  return check(mmap_flush(get(owner, WHAT), 0, pos, 1))
end

local function close_owner(_, owner) return owner:close() end

function methods:file(opts, class)
  get(self, WHAT)
  if opts ~= nil and type(opts) ~= "table" then argerror(1, "file", "table", type(opts)) end
  local o = { name = "mmap " .. self.path, on_flush = view_flush }
  for k, v in pairs(opts or {}) do o[k] = v end
  o.owner = self
  if self.access == "r" then o.writable = false end
  if o.close_owner then o.on_close = close_owner end
  return memfile.track(self, memfile.new(self._p, self._n, o, class))
end

function methods:close()
  if type(self) == "table" and self.handle then
    memfile.invalidate_views(self)
    self._p = nil
  end
  return handle.close(self)
end

return mmap
