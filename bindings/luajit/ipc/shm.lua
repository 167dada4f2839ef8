-- LuaIPC's ipc.shm over lipc's shared memory (lipc/shm.lua).
--
--   shm.create(name, size) -> handle | nil, strerror(errno), errno
--       a new segment (exclusive: EEXIST 17 if the name exists), mode
--       0600, size bytes (0: EINVAL 22), reading as zeros. The creator
--       owns it: its handle's close() (or collection) unmaps AND removes
--       the name, so a later attach fails with ENOENT (2); handles already
--       attached keep working.
--   shm.attach(name) -> handle | nil, strerror(errno), errno
--       an existing segment, mapped whole (ENOENT 2 if missing); close()
--       only unmaps.
--   name: not empty and no '/' (LuaIPC's rule: "" -> ENAMETOOLONG 36,
--   "a/b" -> EINVAL 22), and lipc's portable rule on top: ASCII letters,
--   digits, '.', '_', '-', at most 200 bytes (else EINVAL 22, or
--   ENAMETOOLONG 36 for the length). The segment is POSIX shm "/name"
--   (/dev/shm/name), shared with LuaIPC programs, C and lipc's bindings.
--
-- A handle has the methods of a Lua file (read, lines, write, seek,
-- setvbuf, flush, close) over the memory in place, plus size() (bytes),
-- addr() (the start, as a void * cdata where LuaIPC gives a light
-- userdata) and truncate(n) (uses only the first n bytes from now on; the
-- segment keeps its size). read/lines formats: a byte count, "a", "l",
-- "L" (with or without "*"); "n" is not supported (an error, as LuaIPC).
-- A method of a closed handle raises "attempt to use closed in-memory file".
local lipc = require "lipc"
local base = require "ipc._base"

local shm = {}

local function view(s, name)
  return s:file({ close_owner = true, name = "ipc.shm " .. name }, base.memfile_class)
end

function shm.create(name, size)
  name = base.checkstring(name, 1, "create")
  size = base.optinteger(size, nil, 2, "create")
  local e = base.name_errno(name)
  if e then return base.errno_fail(e) end
  if size <= 0 then return base.errno_fail(22) end
  local s, msg, code, errno = lipc.shm.open(name, {
    create = true, exclusive = true, unlink_on_close = true, size = size,
  })
  if not s then return base.fail(s, msg, code, errno) end
  return view(s, name)
end

function shm.attach(name)
  name = base.checkstring(name, 1, "attach")
  local e = base.name_errno(name)
  if e then return base.errno_fail(e) end
  local s, msg, code, errno = lipc.shm.open(name)
  if not s then return base.fail(s, msg, code, errno) end
  return view(s, name)
end

return shm
