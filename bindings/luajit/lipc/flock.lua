-- File locks, shared or exclusive, waiting in C with timeouts.
--
-- Two families of lock, which Linux keeps apart (neither excludes the
-- other); pick the one the other programs use (see include/lipc.h, "File
-- locks"):
--   kind = "fcntl" (the default): byte ranges. They meet lockf, fcntl
--     locks of C, Python's fcntl.lockf, SQLite, LuaIPC's ipc.filelock.
--   kind = "flock": whole-file flock(2) locks. They meet flock(1) from
--     util-linux, Python's filelock package and fcntl.flock, Perl's flock.
--     No range (offset and length stay nil or 0); any access will do.
--     Changing the mode of a held flock lock is not atomic (flock(2)): a
--     change that fails leaves no lock.
-- Two kinds of owner for fcntl locks:
--   handle-owned (the default; Linux open-file-description locks): the
--     locks belong to the lock object. Two objects exclude each other, in
--     one process too; closing some other fd of the file does not drop
--     them; closing the object releases them.
--   classic (from_file(f, {classic = true}), lock_file): the process's
--     fcntl locks on that fd, as LuaIPC's ipc.filelock and C's lockf take:
--     a second lock of the same process always succeeds, closing ANY fd of
--     the file drops them, and closing the object keeps them (unlock does
--     not). Classic and handle-owned locks conflict even within a process.
-- flock locks are handle-owned. The kernel releases the locks of a process
-- that dies. A waiter is woken at once by a lipc unlock or close, and sees
-- a release by anything else within about a millisecond.
--
--   flock.open(path [, opts]) -> L | nil, msg, code, errno
--       opts: access = "rw" (default) | "r" | "w" (exclusive fcntl locks
--             need "w", shared ones "r"), create = true (create a missing
--             file), mode (permission bits of a created file; 0: 0644),
--             kind = "fcntl" (default) | "flock". A string second argument
--             is opts.access.
--   flock.from_file(file [, opts]) -> L | nil, msg, code, errno
--       file: a Lua io file (flushed first) or an fd number.
--       opts.classic = true: the process's fcntl locks on that fd itself
--       (the file must stay open while L is used; L keeps an io file
--       referenced so it is not collected). Otherwise lipc opens the file
--       again with the same access and the locks are L's own; the caller's
--       file is untouched.
--   L:lock([mode [, offset [, length [, timeout]]]])
--       mode: "w" (also "rw", "x", "exclusive", true; the default) or "r"
--       (also "s", "shared", false); length 0/nil: to the end of the file,
--       however far it grows; timeout seconds (nil: forever, 0: try once).
--       Locking a range L already holds changes its mode.
--       -> true | false, msg, code, errno (EAGAIN: held elsewhere, for
--          timeout 0; ETIMEDOUT) | nil, msg, code, errno (EINTR; EINVAL: a
--          negative offset or length, or the file not open for this kind
--          of lock)
--   L:trylock([mode [, offset [, length]]]) -> L:lock(mode, offset, length, 0)
--   L:unlock([offset [, length]]) -> true | nil, ... (unlocking a range that
--       is not locked is not an error)
--   L:close() -> true (idempotent) | nil, ...
--   L.handle (number; nil once closed), L.path (or nil), L.kind ("fcntl" or
--   "flock"), L.classic, L.file
--
-- Classic locks on Lua io files, LuaIPC's ipc.filelock (the compat layer's base):
--   flock.lock_file(f [, mode [, offset [, length [, timeout]]]])  -> as L:lock
--   flock.trylock_file(f [, mode [, offset [, length]]])           -> as L:trylock
--   flock.unlock_file(f [, offset [, length]])                     -> as L:unlock
--     f must be an open Lua io file (a closed one raises "attempt to use
--     closed file"). Buffered writes are flushed before locking and before
--     unlocking, and after locking f's read buffer is dropped (a seek to the
--     current position) so reads see what the previous holder wrote. One
--     classic lock object per file is kept (weakly) for these calls.
-- Any method but close() on a closed object raises "attempt to use closed file lock".
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"
local util = require "lipc.util"

local flock_open, flock_from_fd = C.lipc_flock_open, C.lipc_flock_from_fd
local flock_lock, flock_unlock = C.lipc_flock_lock, C.lipc_flock_unlock
local fail, check, argerror = errors.fail, errors.check, errors.argerror
local check_cstring, check_uint32, timeout_ms = errors.check_cstring, errors.check_uint32, errors.timeout_ms
local get = handle.get
local ETIMEDOUT, EAGAIN = errors.codes.ETIMEDOUT, errors.codes.EAGAIN
local type, tostring, setmetatable = type, tostring, setmetatable

local hbuf = ffi.new("lipc_handle_t[1]")

local WHAT = "file lock"
local FILE_READ, FILE_WRITE, FILE_CREATE, FLOCK_WHOLE = 1, 2, 8, 64
local KINDS = { fcntl = true, flock = true }
local ACCESS = { r = FILE_READ, w = FILE_WRITE, rw = FILE_READ + FILE_WRITE, ["r+"] = FILE_READ + FILE_WRITE }
local EXCLUSIVE = { w = true, rw = true, x = true, exclusive = true, r = false, s = false, shared = false }

local flock = {}
local methods = {}
local mt = { __index = methods }

function mt.__tostring(L)
  return ("lipc.flock %s (%s)"):format(L.path and ("%q"):format(L.path) or (L.fd and ("fd " .. L.fd) or "?"),
    L.handle and ("handle %.0f, %s%s"):format(L.handle, L.kind, L.classic and ", classic" or "") or "closed")
end

-- opts.kind, checked: "fcntl" or "flock".
local function kind_of(opts, fname)
  local k = opts.kind or "fcntl"
  if not KINDS[k] then
    error(("bad argument #2 to '%s' (invalid kind '%s': 'fcntl' or 'flock')"):format(fname, tostring(k)), 3)
  end
  return k
end

function flock.open(path, opts)
  check_cstring(path, 1, "open", "path")
  if type(opts) == "string" then opts = { access = opts } end
  if opts ~= nil and type(opts) ~= "table" then argerror(2, "open", "table or access string", type(opts)) end
  opts = opts or {}
  local kind = kind_of(opts, "open")
  local flags = ACCESS[opts.access or "rw"]
  if not flags then
    error(("bad argument #2 to 'open' (invalid access '%s': 'r', 'w' or 'rw')"):format(tostring(opts.access)), 2)
  end
  if opts.create then flags = flags + FILE_CREATE end
  if kind == "flock" then flags = flags + FLOCK_WHOLE end
  local mode = check_uint32(opts.mode or 0, 2, "open (opts.mode)")
  local rc = flock_open(path, flags, mode, hbuf)
  if rc < 0 then return fail(rc) end
  return handle.wrap(mt, hbuf[0], { path = path, kind = kind, classic = false })
end

-- The fd of a Lua io file or an fd number; raises for anything else.
-- level: of the public function, from the caller of file_fd.
local function file_fd(f, fname, level)
  if type(f) == "number" or type(f) == "cdata" then
    local fd = errors.check_int(f, 1, fname, -2147483648, 2147483647, "fd", level + 1)
    return fd -- (not a tail call: the error level counts this frame)
  end
  local t = io.type(f)
  if t == "closed file" then error("attempt to use closed file", level + 2) end
  if t ~= "file" then argerror(1, fname, "FILE* or fd", type(f), level + 1) end
  return util.file_fd(f)
end

function flock.from_file(f, opts)
  local fd = file_fd(f, "from_file", 1)
  if opts ~= nil and type(opts) ~= "table" then argerror(2, "from_file", "table", type(opts)) end
  local classic = opts and opts.classic and true or false
  local kind = kind_of(opts or {}, "from_file")
  if classic and kind == "flock" then
    error("bad argument #2 to 'from_file' (classic is a kind of fcntl lock, not of flock)", 2)
  end
  local rc = flock_from_fd(fd, kind == "flock" and FLOCK_WHOLE or (classic and 1 or 0), hbuf)
  if rc < 0 then return fail(rc) end
  -- A classic object uses f's own fd: keep f from being collected (and
  -- closed, which would drop the locks) while the object lives.
  return handle.wrap(mt, hbuf[0], { fd = fd, kind = kind, classic = classic,
    file = classic and io.type(f) == "file" and f or nil })
end

local function exclusive_of(mode, argn, fname)
  if mode == nil or mode == true then return 1 end
  if mode == false then return 0 end
  local x = EXCLUSIVE[mode]
  if x == nil then
    error(("bad argument #%d to '%s' (invalid mode '%s': 'w' (exclusive) or 'r' (shared))")
      :format(argn, fname, tostring(mode)), 4)
  end
  return x and 1 or 0
end

-- level: of the public function, counted from the caller of range.
local function range(v, argn, fname, level)
  if v == nil then return 0 end
  local x = errors.check_int64(v, argn, fname, "integer", (level or 1) + 1)
  return x -- (not a tail call: the error level counts this frame)
end

-- a: the argument number of mode (1 for methods, 2 for the *_file functions).
local function lock(h, mode, offset, length, timeout, fname, a)
  local x = exclusive_of(mode, a, fname)
  local rc = flock_lock(h, range(offset, a + 1, fname, 2), range(length, a + 2, fname, 2), x,
                        timeout_ms(timeout, a + 3, fname, 2))
  if rc == 0 then return true end
  local _, msg, code, e = fail(rc)
  if code == ETIMEDOUT or code == EAGAIN then return false, msg, code, e end
  return nil, msg, code, e
end

-- (Not tail calls: lock()'s error levels count this frame.)
function methods:lock(mode, offset, length, timeout)
  local ok, msg, code, e = lock(get(self, WHAT), mode, offset, length, timeout, "lock", 1)
  if ok then return true end
  return ok, msg, code, e
end

function methods:trylock(mode, offset, length)
  local ok, msg, code, e = lock(get(self, WHAT), mode, offset, length, 0, "trylock", 1)
  if ok then return true end
  return ok, msg, code, e
end

function methods:unlock(offset, length)
  local h = get(self, WHAT)
  return check(flock_unlock(h, range(offset, 1, "unlock"), range(length, 2, "unlock")))
end

methods.close = handle.close

---- classic locks on Lua io files ----

local by_file = setmetatable({}, { __mode = "k" })

-- The classic lock object of io file f (made once), after flushing f.
local function classic_of(f, fname)
  local t = io.type(f)
  if t == "closed file" then error("attempt to use closed file", 3) end
  if t ~= "file" then argerror(1, fname, "FILE*", type(f), 2) end
  local L = by_file[f]
  if L then
    f:flush()
    return L
  end
  local fd = util.file_fd(f) -- flushes
  local rc = flock_from_fd(fd, 1, hbuf)
  if rc < 0 then return fail(rc) end
  L = handle.wrap(mt, hbuf[0], { fd = fd, kind = "fcntl", classic = true })
  by_file[f] = L -- not L.file = f: a strong ref back would keep f alive forever
  return L
end

local function after_lock(f, ok, ...)
  if ok then f:seek("cur") end -- drop stdio's read buffer
  return ok, ...
end

function flock.lock_file(f, mode, offset, length, timeout)
  local L, msg, code, e = classic_of(f, "lock_file")
  if not L then return nil, msg, code, e end
  return after_lock(f, lock(L.handle, mode, offset, length, timeout, "lock_file", 2))
end

function flock.trylock_file(f, mode, offset, length)
  local L, msg, code, e = classic_of(f, "trylock_file")
  if not L then return nil, msg, code, e end
  return after_lock(f, lock(L.handle, mode, offset, length, 0, "trylock_file", 2))
end

function flock.unlock_file(f, offset, length)
  local L, msg, code, e = classic_of(f, "unlock_file")
  if not L then return nil, msg, code, e end
  return check(flock_unlock(L.handle, range(offset, 2, "unlock_file"), range(length, 3, "unlock_file")))
end

return flock
