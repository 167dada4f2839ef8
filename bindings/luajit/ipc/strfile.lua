-- LuaIPC's ipc.strfile: a read-only file-like handle over a Lua string
-- (lipc.memfile.from_string; the string is kept referenced, not copied).
--
--   strfile.open(str) -> handle
-- The handle has the methods of ipc.shm handles: read, lines, seek,
-- setvbuf, size, addr, truncate, close; write and flush return nil,
-- "permission denied". A method of a closed handle raises "attempt to use
-- closed in-memory file".
local lipc = require "lipc"
local base = require "ipc._base"

local strfile = {}

function strfile.open(str)
  str = base.checkstring(str, 1, "open")
  return lipc.memfile.from_string(str, { name = "ipc.strfile", on_flush = base.no_flush }, base.memfile_class)
end

return strfile
