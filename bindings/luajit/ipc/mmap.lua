-- LuaIPC's ipc.mmap over lipc's mapped files (lipc/mmap.lua).
--
--   mmap.pagesize                         the page size (bytes)
--   mmap.open(path [, mode [, offset [, size]]]) -> handle
--                                        | nil, strerror(errno), errno
--       mode "r" (default: read-only), "w" (write-only: reads give nil,
--       "permission denied") or "rw"; "w" and "rw" are shared mappings, so
--       writes reach the file and every other process that maps it.
--       offset: a multiple of mmap.pagesize (else EINVAL 22); size 0 (the
--       default) maps the rest of the file from offset. An empty file, an
--       offset at or past its end, or offset + size past its end: EINVAL
--       (22); a missing file: ENOENT (2); no permission: EACCES (13).
--       Another mode raises "bad argument #2 to 'open' (invalid option 'x')".
-- The handle has the methods of ipc.shm handles (read, lines, write, seek,
-- setvbuf, flush, size, addr, truncate, close). flush() schedules the
-- bytes before the current position to be written to the file (msync,
-- asynchronous, as LuaIPC); on an "r" handle it is nil, "permission denied".
-- close() unmaps.
local lipc = require "lipc"
local base = require "ipc._base"

local mmap = { pagesize = lipc.mmap.pagesize }

local MODES = { r = true, w = true, rw = true }

function mmap.open(path, mode, offset, size)
  path = base.checkstring(path, 1, "open")
  mode = base.checkoption(mode, "r", MODES, 2, "open")
  offset = base.optinteger(offset, 0, 3, "open")
  size = base.optinteger(size, 0, 4, "open")
  if offset < 0 or size < 0 then return base.errno_fail(22) end
  local m, msg, code, errno = lipc.mmap.open(path, mode == "r" and "r" or "w", offset, size)
  if not m then return base.fail(m, msg, code, errno) end
  return m:file({
    close_owner = true, name = "ipc.mmap " .. path,
    readable = mode ~= "w",
    on_flush = mode == "r" and base.no_flush or nil, -- "w"/"rw": lipc's msync of [0, pos)
  }, base.memfile_class)
end

return mmap
