-- Shared memory, mapped files and file locks: errors for bad input, shm
-- interop with /dev/shm and with C and Python processes, growing while
-- another process (C, LuaJIT) has it open, mapped-file writes seen by other
-- processes and in the file after flush, copy-on-write staying private,
-- file locks between handles, processes and classic fcntl owners, a lock
-- released when its holder is killed, EINTR.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E, shm, mmap, flock = lipc.errors, lipc.shm, lipc.mmap, lipc.flock

local PS = lipc.page_size()

local function new_shm(size, extra)
  local name = h.obj_name("shm")
  local opts = { create = true, exclusive = true, size = size or 4096 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(shm.open(name, opts)), name
end

local counter = 0
local function tmpfile(content)
  counter = counter + 1
  local path = ("%s/mem-%d"):format(h.tmpdir(), counter)
  local f = assert(io.open(path, "wb"))
  f:write(content or "")
  f:close()
  return path
end

local function file_mode(path)
  local p = io.popen("stat -c %a " .. h.q(path) .. " 2>/dev/null")
  local m = p:read("*l")
  p:close()
  return m
end

local T = {}

---- constants and handles ----

function T.constants_match_the_header()
  local header = h.read_file(h.header)
  local d = {}
  for name, v in header:gmatch("#define%s+LIPC_([%w_]+)%s+(%-?%d+)") do d[name] = tonumber(v) end
  for _, k in ipairs({ "SEM", "PROC", "SPAWNATTR", "MUTEX", "EVENT", "SHM", "MMAP", "FLOCK" }) do
    h.eq(lipc["KIND_" .. k], d["KIND_" .. k], "KIND_" .. k)
  end
  for name, v in pairs(mmap.ADVICE) do h.eq(v, d["ADVISE_" .. name:upper()], "ADVISE_" .. name:upper()) end
  local ps = ffi.new("int64_t[1]")
  h.eq(lipc.C.lipc_page_size(ps), 0, "lipc_page_size")
  h.eq(tonumber(ps[0]), PS, "page size")
end

-- Every function of the new kinds refuses random, small, closed and
-- wrong-kind handles with EBADHANDLE (never a crash).
function T.bad_handles_rejected_by_every_new_function()
  local C = lipc.C
  local i64, ip, pp = ffi.new("int64_t[1]"), ffi.new("int[1]"), ffi.new("void *[1]")
  local function all_reject(bad, what)
    local calls = {
      mutex_lock = C.lipc_mutex_lock(bad, 0, ip), mutex_unlock = C.lipc_mutex_unlock(bad),
      mutex_consistent = C.lipc_mutex_consistent(bad), event_set = C.lipc_event_set(bad),
      event_reset = C.lipc_event_reset(bad), event_wait = C.lipc_event_wait(bad, 0),
      event_is_set = C.lipc_event_is_set(bad, ip), shm_addr = C.lipc_shm_addr(bad, pp, i64),
      shm_grow = C.lipc_shm_grow(bad, 1048576), shm_refresh = C.lipc_shm_refresh(bad, i64),
      mmap_addr = C.lipc_mmap_addr(bad, pp, i64), mmap_flush = C.lipc_mmap_flush(bad, 0, 0, 0),
      mmap_advise = C.lipc_mmap_advise(bad, 0, 0, 0), flock_lock = C.lipc_flock_lock(bad, 0, 0, 1, 0),
      flock_unlock = C.lipc_flock_unlock(bad, 0, 0),
    }
    for fname, rc in pairs(calls) do h.eq(rc, E.EBADHANDLE, what .. ": " .. fname) end
  end
  for _, bad in ipairs({ 0, 1, -1, 2, 2^53, 2^52, 2^52 + 12345, 2^53 - 1 }) do all_reject(bad, "handle " .. bad) end
  -- closed handles of each kind
  local path = tmpfile("x")
  local objs = {
    lipc.mutex.open(h.obj_name("mutex"), { create = true }), lipc.event.open(h.obj_name("event"), { create = true }),
    new_shm(10), mmap.open(path), flock.open(path),
  }
  -- wrong kinds: a live semaphore and spawn attributes are no handle of these kinds
  local sem = assert(lipc.sem.open(h.sem_name(), { create = true }))
  all_reject(sem.handle, "a semaphore")
  local attr = ffi.new("lipc_handle_t[1]")
  h.eq(C.lipc_spawnattr_new(attr), 0, "spawnattr_new")
  all_reject(tonumber(attr[0]), "spawn attributes")
  C.lipc_close(attr[0])
  sem:close()
  -- forgeries: each handle with one bit of its generation changed (a slot
  -- bit changed may name another live handle, which is no forgery)
  for _, o in ipairs(objs) do
    for b = 20, 52, 2 do
      local forged = tonumber(bit.bxor(ffi.new("int64_t", o.handle), bit.lshift(1LL, b)))
      h.fails(E.EBADHANDLE, nil, lipc.handle_kind(forged))
      all_reject(forged, "bit " .. b .. " of " .. tostring(o))
    end
  end
  for _, o in ipairs(objs) do
    local hnum = o.handle
    o:close()
    all_reject(hnum, "closed " .. tostring(o))
  end
end

---- shared memory ----

function T.shm_bad_input()
  local name = h.obj_name("shm")
  h.fails(E.ENOENT, nil, shm.open(name))
  h.fails(E.EINVAL, nil, shm.open(name, { create = true })) -- size 0
  h.fails(E.EINVAL, nil, shm.open(name, { create = true, size = 0 }))
  h.fails(E.EINVAL, nil, shm.open(name, { create = true, size = -5 }))
  h.raises("bad argument #2 to 'open (opts.size)'", shm.open, name, { create = true, size = 1.5 })
  h.raises("bad argument #2 to 'open (opts.size)'", shm.open, name, { create = true, size = "10" })
  for _, c in ipairs({ { "", E.EINVAL }, { "a/b", E.EINVAL }, { "bad name!", E.EINVAL },
                       { string.rep("s", 201), E.ENAMETOOLONG } }) do
    local msg = h.fails(c[2], nil, shm.open(c[1], { create = true, size = 10 }))
    h.ok(#msg > 0, "message")
    h.fails(c[2], nil, shm.unlink(c[1]))
  end
  h.raises("name without NUL bytes", shm.open, "a\0b", { create = true, size = 1 })
  local s = assert(shm.open(name, { create = true, exclusive = true, size = 100 }))
  h.fails(E.EEXIST, nil, shm.open(name, { create = true, exclusive = true, size = 100 }))
  h.fails(E.EINVAL, nil, s:grow(100)) -- never shrinks, never stays
  h.fails(E.EINVAL, nil, s:grow(50))
  h.raises("bad argument #1 to 'grow'", s.grow, s, "big")
  h.raises("bad argument #1 to 'read_at'", s.read_at, s, 101, 0)
  h.raises("bad argument #2 to 'read_at'", s.read_at, s, 90, 11)
  h.raises("bad argument #1 to 'write_at'", s.write_at, s, -1, "x")
  h.raises("bad argument #2 to 'write_at'", s.write_at, s, 95, "123456")
  s:close()
end

-- lipc_shm_open maps an existing object whole and ignores the size given,
-- even a larger one (the usual open-or-create call when another process
-- created it smaller). A regression test.
function T.shm_open_existing_ignores_size()
  local s, name = new_shm(100)
  -- Windows (lipc.h): an existing object's size is rounded up to the page size
  local WHOLE = h.windows and lipc.page_size() or 100
  local a = assert(shm.open(name, { size = 50 }))
  h.eq(a:size(), WHOLE, "size below: ignored, mapped whole")
  a:close()
  local b, msg = shm.open(name, { size = 5000 })
  h.ok(b, "open existing with size 5000 (size is to be ignored): " .. tostring(msg))
  h.eq(b:size(), WHOLE, "mapped whole")
  b:close()
  local c, msg2 = shm.open(name, { create = true, size = 5000 })
  h.ok(c, "open-or-create of an existing smaller object: " .. tostring(msg2))
  h.eq(c:size(), WHOLE, "mapped whole")
  c:close(); s:close()
end

function T.shm_is_dev_shm_and_reads_as_zeros()
  h.posix_only("/dev/shm")
  local s, name = new_shm(4096)
  h.eq(lipc.handle_kind(s.handle), lipc.KIND_SHM, "kind")
  h.eq(s:size(), 4096, "size")
  local p = s:ptr()
  h.eq(ffi.typeof(p), ffi.typeof("uint8_t *"), "ptr type")
  h.ok(s:addr() == ffi.cast("void *", p), "addr is ptr")
  local zeros = true
  for i = 0, 4095 do if p[i] ~= 0 then zeros = false end end
  h.ok(zeros, "new memory reads as zeros")
  ffi.copy(p, "via the pointer")
  h.eq(h.read_file("/dev/shm/" .. name):sub(1, 15), "via the pointer", "/dev/shm file sees it")
  local f = assert(io.open("/dev/shm/" .. name, "r+b"))
  f:seek("set", 100); f:write("via the file"); f:close()
  h.eq(s:read_at(100, 12), "via the file", "the pointer sees the file's write")
  h.eq(#s:read_at(), 4096, "read_at() copies the whole view")
  h.eq(s:write_at(200, "abc"), true, "write_at")
  h.eq(ffi.string(p + 200, 3), "abc", "write_at in place")
  -- another handle of the same name shares the bytes
  local s2 = assert(shm.open("/" .. name))
  h.eq(s2:read_at(0, 15), "via the pointer", "second handle")
  s2:close(); s:close()
end

function T.shm_grow_and_refresh_keep_old_views()
  local a, name = new_shm(4096)
  local b = assert(shm.open(name))
  local old = a:ptr()
  local view = a:file()
  ffi.copy(old, "old bytes")
  if h.windows then
    -- Windows (lipc.h): a section keeps its size; grow is ENOTSUP after
    -- its checks, refresh gives the size mapped
    h.fails(E.EINVAL, nil, a:grow(4096))
    h.fails(E.ENOTSUP, nil, a:grow(3 * 4096))
    h.eq(a:size(), 4096, "not grown")
    h.eq(ffi.string(a:ptr(), 9), "old bytes", "bytes kept")
    h.eq(b:refresh(), 4096, "refresh: the size mapped")
    a:close(); b:close()
    return
  end
  h.eq(a:grow(3 * 4096), true, "grow")
  h.eq(a:size(), 3 * 4096, "grown view")
  local new = a:ptr()
  h.eq(ffi.string(new, 9), "old bytes", "bytes kept")
  h.eq(ffi.string(old, 9), "old bytes", "the old view is still mapped")
  h.eq(view:size(), 4096, "an earlier file view keeps its size")
  h.eq(view:read(9), "old bytes", "and still reads")
  ffi.copy(new + 3 * 4096 - 4, "end")
  h.eq(b:size(), 4096, "the other handle: not grown before refresh")
  h.eq(b:refresh(), 3 * 4096, "refresh")
  h.eq(b:size(), 3 * 4096, "the other handle after refresh")
  h.eq(b:read_at(3 * 4096 - 4, 3), "end", "grown end seen")
  h.eq(b:refresh(), 3 * 4096, "refresh again: nothing new")
  a:close(); b:close()
end

function T.shm_grown_by_a_c_process()
  local s, name = new_shm(4096)
  local old = s:ptr()
  local p, line = h.role("shm-write-grow", name)
  h.eq(line(), "grown", "C grew it")
  h.eq(p:wait(5), 0, "exit")
  h.eq(s:read_at(0, 12), "written by C", "C's bytes")
  h.eq(s:size(), 4096, "not grown here before refresh")
  h.eq(s:refresh(), 1048576, "refresh")
  h.eq(s:read_at(1048576 - 16, 12), "end of grown", "C's bytes at the grown end")
  h.eq(ffi.string(old, 12), "written by C", "old view still valid")
  s:close()
end

function T.shm_grown_while_a_luajit_process_has_it_open()
  h.posix_only("shm grow (Windows: ENOTSUP, tested in shm_grow_and_refresh_keep_old_views)")
  local s, name = new_shm(4096)
  local go = assert(lipc.event.open(h.obj_name("event"), { create = true }))
  s:write_at(0, "head")
  local p, line = h.spawn_luajit(([[
    local lipc = require "lipc"
    local s = assert(lipc.shm.open(%q))
    local go = assert(lipc.event.open(%q))
    print("size " .. s:size()); io.flush()
    assert(go:wait(10))
    print("before refresh " .. s:size())
    print("refresh " .. assert(s:refresh()))
    print(s:read_at(0, 4) .. " " .. s:read_at(65536 - 4, 4))
  ]]):format(name, go.name))
  h.eq(line(), "size 4096", "child sees the first size")
  h.eq(s:grow(65536), true, "grow while the child has it open")
  s:write_at(65536 - 4, "tail")
  go:set()
  h.eq(line(), "before refresh 4096", "child before refresh")
  h.eq(line(), "refresh 65536", "child after refresh")
  h.eq(line(), "head tail", "old bytes intact, new bytes seen")
  h.eq(p:wait(10), 0, "child exit")
  s:close(); go:close()
end

function T.shm_bytes_shared_with_python()
  local s, name = new_shm(4096)
  s:write_at(0, "from luajit\0")
  local p, line = h.spawn_python(([[
import mmap, os
fd = os.open("/dev/shm/" + %q, os.O_RDWR)
m = mmap.mmap(fd, 4096)
os.close(fd)
print(m[:m.find(b"\0")].decode(), flush=True)
m[64:64 + 12] = b"from python\0"
m.close()
print("written", flush=True)
]]):format(name))
  h.eq(line(), "from luajit", "python read our bytes")
  h.eq(line(), "written", "python wrote")
  h.eq(p:wait(10), 0, "python exit")
  h.eq(ffi.string(s:ptr() + 64), "from python", "we read python's bytes in place")
  s:close()
end

function T.shm_unlink_unlink_on_close_and_mode()
  local s, name = new_shm(10, { unlink_on_close = true, mode = tonumber("640", 8) })
  if h.windows then
    -- Windows (lipc.h): mode and unlink_on_close change nothing; unlink is
    -- OK while the object exists and it goes with its last handle
    local other = assert(shm.open(name))
    s:close()
    h.eq(other:write_at(0, "still"), true, "other handle keeps working")
    h.eq(shm.unlink(name), true, "unlink: it exists while other holds it")
    assert(shm.open(name)):close()
    other:close()
    h.fails(E.ENOENT, nil, shm.unlink(name))
    h.fails(E.ENOENT, nil, shm.open(name))
    return
  end
  h.eq(file_mode("/dev/shm/" .. name), "640", "mode")
  local other = assert(shm.open(name))
  s:close()
  h.eq(io.open("/dev/shm/" .. name) == nil, true, "unlinked when the creator closed")
  h.eq(other:write_at(0, "still"), true, "other handle keeps working")
  other:close()
  local t, name2 = new_shm(10)
  h.eq(shm.unlink(name2), true, "unlink")
  h.fails(E.ENOENT, nil, shm.unlink(name2))
  h.fails(E.ENOENT, nil, shm.open(name2))
  h.eq(t:read_at(0, 1), "\0", "open handle keeps working after unlink")
  t:close()
end

function T.shm_closed_object_and_its_views()
  local s = new_shm(100)
  local f = s:file()
  local hnum = s.handle
  h.eq(s:close(), true, "close"); h.eq(s:close(), true, "close again")
  for _, m in ipairs({ "ptr", "addr", "size", "refresh", "read_at", "file" }) do
    h.raises("attempt to use closed shared memory", s[m], s)
  end
  h.raises("attempt to use closed shared memory", s.grow, s, 1000)
  h.raises("attempt to use closed in-memory file", f.read, f)
  h.raises("attempt to use closed in-memory file", f.write, f, "x")
  h.eq(f:isclosed(), true, "view closed with its owner")
  h.eq(lipc.C.lipc_shm_addr(hnum, nil, ffi.new("int64_t[1]")), E.EBADHANDLE, "raw closed handle")
end

function T.shm_file_view_reads_and_writes_in_place()
  local s = new_shm(64)
  local f = s:file()
  h.eq(f:write("line one\n", 2, "\n"), f, "write returns the view")
  h.eq(s:read_at(0, 11), "line one\n2\n", "in place")
  h.eq(f:seek("set"), 0, "seek")
  h.eq(f:read("l"), "line one", "read l")
  h.eq(f:read("L"), "2\n", "read L")
  h.eq(f:size(), 64, "size of the view")
  h.ok(f:addr() == s:addr(), "same address")
  -- close_owner: the view owns the object
  local g = s:file({ close_owner = true })
  h.eq(g:close(), true, "close the view")
  h.eq(s.handle, nil, "closing it closed the shm")
  h.eq(f:isclosed(), true, "and the shm's other views")
end

---- mapped files ----

function T.mmap_bad_input()
  local empty = tmpfile("")
  local msg = h.fails(E.EINVAL, nil, mmap.open(empty))
  h.ok(msg:find("empty", 1, true), "says empty: " .. msg)
  local path = tmpfile(string.rep("x", 2 * PS))
  h.fails(E.EINVAL, nil, mmap.open(path, { offset = 1 }))         -- unaligned
  h.fails(E.EINVAL, nil, mmap.open(path, { offset = -PS }))       -- negative
  h.fails(E.EINVAL, nil, mmap.open(path, { offset = 4 * PS }))    -- past the end
  h.fails(E.EINVAL, nil, mmap.open(path, { offset = 2 * PS }))    -- at the end
  h.fails(E.EINVAL, nil, mmap.open(path, { length = 3 * PS }))    -- length past the end
  h.fails(E.ENOENT, nil, mmap.open(h.tmpdir() .. "/missing"))
  h.fails(E.EINVAL, nil, mmap.open(h.tmpdir()))                   -- a directory
  h.raises("bad argument #2 to 'open' (invalid access 'x'", mmap.open, path, "x")
  h.raises("bad argument #2 to 'open (offset)'", mmap.open, path, { offset = 0.5 })
  h.raises("bad argument #1 to 'open' (path", mmap.open, nil)
  local m = assert(mmap.open(path))
  h.fails(E.EINVAL, nil, m:advise(77))
  h.raises("bad argument #1 to 'advise'", m.advise, m, "fast")
  h.fails(E.EINVAL, nil, m:flush(0, 3 * PS))
  h.raises("read-only", m.write_at, m, 0, "x")
  m:close()
  h.raises("attempt to use closed mapped file", m.ptr, m)
  h.raises("attempt to use closed mapped file", m.flush, m)
  h.eq(m:close(), true, "close again")
end

function T.mmap_writes_reach_other_processes_and_the_file()
  local path = tmpfile("")
  local m = assert(mmap.open(path, { access = "w", extend = true, length = 2 * PS }))
  h.eq(lipc.handle_kind(m.handle), lipc.KIND_MMAP, "kind")
  h.eq(m:size(), 2 * PS, "extended and mapped")
  h.eq(m.access, "w", "access")
  ffi.copy(m:ptr(), "parent")
  local p, line = h.role("mmap-write", path)
  h.eq(line(), "written", "C wrote through its own mapping")
  h.eq(p:wait(5), 0, "exit")
  h.eq(m:read_at(0, 6), "CHILDt", "C's write visible in place")
  m:write_at(PS, "luajit was here")
  h.eq(m:flush(), true, "flush")
  h.eq(m:flush(10, 100, true), true, "async flush of a range")
  local data = h.read_file(path)
  h.eq(#data, 2 * PS, "file size")
  h.eq(data:sub(1, 6), "CHILDt", "in the file")
  h.eq(data:sub(PS + 1, PS + 15), "luajit was here", "our write in the file")
  local py, pline = h.spawn_python(([[
import mmap
with open(%q, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    print(m[%d:%d].decode(), flush=True)
]]):format(path, PS, PS + 15))
  h.eq(pline(), "luajit was here", "python's mapping sees it")
  h.eq(py:wait(10), 0, "python exit")
  m:close()
end

function T.mmap_copy_on_write_stays_private()
  local path = tmpfile(string.rep("f", PS))
  local shared = assert(mmap.open(path, "w"))
  local cow = assert(mmap.open(path, { access = "c" }))
  h.eq(cow.access, "c", "access")
  cow:write_at(0, "PRIVATE")
  h.eq(cow:read_at(0, 7), "PRIVATE", "the copy sees its write")
  h.eq(cow:flush(), true, "flush of a copy: nothing to do")
  h.eq(shared:read_at(0, 7), "fffffff", "the shared mapping does not")
  h.eq(h.read_file(path):sub(1, 7), "fffffff", "nor the file")
  local f = cow:file()
  f:write("view")
  h.eq(h.read_file(path):sub(1, 4), "ffff", "a copy's view writes stay private too")
  if h.windows then
    -- Windows (lipc.h): private pages cannot be dropped in place
    h.fails(E.ENOTSUP, nil, cow:advise("dontneed"))
    h.eq(cow:read_at(0, 7), "viewATE", "the copy keeps its changes (its view wrote \"view\")")
  else
    h.eq(cow:advise("dontneed"), true, "dontneed")
    h.eq(cow:read_at(0, 7), "fffffff", "dontneed dropped the copy's changes")
  end
  cow:close(); shared:close()
end

function T.mmap_offsets_lengths_create_and_luaipc_arguments()
  local path = tmpfile(string.rep("a", PS) .. string.rep("b", PS))
  local m = assert(mmap.open(path, { offset = PS }))
  h.eq(m:size(), PS, "offset to the end")
  h.eq(m.offset, PS, "offset field")
  h.eq(m:read_at(0, 3), "bbb", "mapped from the offset")
  h.eq(m:advise("sequential"), true, "advise")
  h.eq(m:advise("willneed", 0, 100), true, "advise a range")
  m:close()
  m = assert(mmap.open(path, "r", 0, 100)) -- LuaIPC's order: access, offset, size
  h.eq(m:size(), 100, "length")
  m:close()
  local created = h.tmpdir() .. "/created-map"
  m = assert(mmap.open(created, { access = "w", create = true, extend = true, length = 100,
                                  mode = tonumber("600", 8) }))
  h.eq(m:size(), 100, "created size")
  m:close()
  h.eq(#h.read_file(created), 100, "file extended to 100 bytes")
  if not h.windows then h.eq(file_mode(created), "600", "mode of the created file") end -- (Windows: mode unused)
  h.eq(mmap.pagesize, PS, "mmap.pagesize")
  h.ok(PS >= 4096 and PS % 4096 == 0, "page size " .. PS)
end

function T.mmap_file_views()
  local path = tmpfile(string.rep(".", 32))
  local m = assert(mmap.open(path, "w"))
  local f = m:file()
  h.eq(f:write("hello"), f, "write")
  h.eq(f:flush(), true, "flush the view")
  h.eq(h.read_file(path):sub(1, 6), "hello.", "in the file")
  f:seek("set", 0)
  h.eq(f:read(5), "hello", "read back")
  m:close()
  h.raises("attempt to use closed in-memory file", f.read, f, 1)
  local r = assert(mmap.open(path))
  local rf = r:file()
  h.fails(E.EPERM, nil, rf:write("x"))
  h.eq(rf:read("a"), "hello" .. string.rep(".", 27), "read-only view reads")
  local own = r:file({ close_owner = true })
  own:close()
  h.eq(r.handle, nil, "close_owner closed the mapping")
end

---- file locks ----

function T.flock_two_handles_exclude_each_other()
  local path = tmpfile("")
  local a, b = assert(flock.open(path)), assert(flock.open(path, "rw"))
  h.eq(lipc.handle_kind(a.handle), lipc.KIND_FLOCK, "kind")
  h.eq(select("#", a:lock()), 1, "a locks the whole file: true alone")
  h.fails(E.EAGAIN, false, b:trylock("w", 0, 10))
  h.fails(E.EAGAIN, false, b:trylock("r"))
  for _, t in ipairs({ 0.02, 0.1 }) do
    local el
    for _ = 1, 3 do -- never early; late by under 30 ms at least once in three
      local t0 = h.now()
      h.fails(E.ETIMEDOUT, false, b:lock("w", 0, 10, t))
      el = h.now() - t0
      h.ok(el >= t - 0.0005, ("lock timeout %.3f s returned early: %.4f s"):format(t, el))
      if el < t + 0.03 then break end
    end
    h.ok(el < t + 0.03, ("lock timeout %.3f s late: %.4f s"):format(t, el))
  end
  io.open(path, "rb"):close() -- another fd of the file closing drops nothing
  h.fails(E.EAGAIN, false, b:trylock())
  h.eq(a:unlock(), true, "unlock")
  h.eq(a:lock("w", 100, 10, 0), true, "disjoint ranges")
  h.eq(b:lock("w", 200, 10, 0), true, "disjoint ranges")
  a:unlock(); b:unlock(0, 0)
  h.eq(a:lock("r"), true, "shared")
  h.eq(b:lock("shared", 0, 50, 0), true, "shared + shared")
  h.fails(E.EAGAIN, false, b:lock("w", 0, 50, 0))
  h.fails(E.EINVAL, nil, a:lock("w", -1, 0, 0))
  if h.windows then
    -- Windows (lipc.h): an unlock that would cut a held range (a's whole
    -- file) in two is EINVAL and changes nothing
    h.fails(E.EINVAL, nil, a:unlock(500, 10))
    h.fails(E.EAGAIN, false, b:lock("w", 0, 50, 0))
    h.eq(a:unlock(), true, "unlock all")
  end
  h.eq(a:unlock(500, 10), true, "unlocking what is not locked")
  a:close(); b:close()
end

-- kind = "flock": whole-file flock(2) locks meet flock(1) and Python's
-- filelock package, never fcntl locks; no range.
function T.flock_kind_meets_flock1_and_filelock()
  h.posix_only("flock(2) whole-file locks and flock(1)")
  local path = tmpfile("")
  local a, b = assert(flock.open(path, { kind = "flock" })), assert(flock.open(path, { kind = "flock", access = "r" }))
  h.eq(a.kind, "flock", "kind")
  h.ok(tostring(a):find("flock", 1, true), "tostring names the kind")
  h.eq(a:lock("w", nil, nil, 0), true, "exclusive (on any access)")
  h.fails(E.EAGAIN, false, b:trylock("r"))
  local o = assert(flock.open(path))
  h.eq(o:trylock(), true, "fcntl locks are apart from flock locks")
  o:close()
  h.fails(E.EINVAL, nil, a:lock("w", 0, 10, 0))
  h.fails(E.EINVAL, nil, a:unlock(1))
  local has_flock1 = h.sh("command -v flock >/dev/null")
  if has_flock1 then
    h.eq(h.sh("flock -n " .. h.q(path) .. " true"), false, "flock(1) -n fails while lipc holds it")
  end
  h.eq(a:unlock(), true, "unlock")
  if has_flock1 then
    h.eq(h.sh("flock -n " .. h.q(path) .. " true"), true, "flock(1) gets it after")
    local p, line = h.spawn({ "flock", path, "sh", "-c", "echo held; sleep 0.3" })
    h.eq(line(), "held", "flock(1) holds it")
    h.fails(E.EAGAIN, false, a:trylock())
    h.eq(a:lock("w", 0, 0, 20), true, "got it when flock(1) let go")
    p:wait()
    a:unlock()
  end
  -- Python's filelock package (a flock(2) lock) in another process.
  local argv, opts = h.python_argv(([[
import sys
try:
    import filelock
except ImportError:
    print("NOFILELOCK"); sys.exit(0)
l = filelock.FileLock(%q)
try:
    l.acquire(timeout=0.05)
    print("GOT")
except filelock.Timeout:
    print("TIMEOUT")
]]):format(path))
  h.eq(a:lock("w", 0, 0, 0), true, "lipc holds")
  local p, line = h.spawn(argv, opts)
  local got = line()
  p:wait()
  if got ~= "NOFILELOCK" then h.eq(got, "TIMEOUT", "filelock is kept out") end
  a:unlock()
  p, line = h.spawn(argv, opts)
  got = line()
  p:wait()
  if got ~= "NOFILELOCK" then h.eq(got, "GOT", "filelock gets it after") end
  -- from_file: a lock of its own; bad kinds.
  local f = assert(io.open(path, "rb"))
  local w = assert(flock.from_file(f, { kind = "flock" }))
  h.eq(w:lock("w", nil, nil, 0), true, "from_file flock")
  h.fails(E.EAGAIN, false, a:trylock("r"))
  w:close()
  h.eq(a:trylock(), true, "close released")
  h.raises("invalid kind", flock.open, path, { kind = "lockf" })
  h.raises("classic is a kind of fcntl lock", flock.from_file, f, { kind = "flock", classic = true })
  f:close()
  a:close(); b:close()
end

function T.flock_between_processes_and_released_by_death()
  local path = tmpfile("")
  local a = assert(flock.open(path))
  local p, line = h.role("hold-lock", path)
  h.eq(line(), "L", "C holds the lock")
  h.fails(E.EAGAIN, false, a:trylock())
  h.fails(E.EAGAIN, false, a:trylock("r", 10, 1))
  assert(p:kill("KILL"))
  h.eq(a:lock("w", 0, 0, 2), true, "released by the holder's death")
  a:close()
end

function T.flock_waiter_gets_a_released_lock_promptly()
  local path = tmpfile("")
  local a = assert(flock.open(path))
  local worst = 0
  for _ = 1, 3 do -- a noisy machine may delay one wake-up
    local p, line = h.role("lock-release-after", path, "150")
    h.eq(line(), "L", "C holds the lock")
    h.eq(a:lock("w", 0, 0, 5), true, "got it after the release")
    local got = h.now()
    local released = tonumber(line():match("^R (%S+)"))
    a:unlock()
    p:kill("KILL"); p:wait(5)
    worst = got - released
    if worst < 0.02 then break end
  end
  h.ok(worst >= 0 and worst < 0.02, ("waiter got the lock %.1f ms after the release"):format(worst * 1000))
  a:close()
end

function T.flock_classic_locks_on_a_lua_file()
  local path = tmpfile("")
  local f = assert(io.open(path, "r+b"))
  local c1 = assert(flock.from_file(f, { classic = true }))
  local c2 = assert(flock.from_file(f, { classic = true }))
  h.eq(c1.classic, true, "classic")
  h.eq(c1:lock(), true, "classic lock")
  if h.windows then
    -- Windows (lipc.h, lipc_flock_from_fd): classic locks are the Lua
    -- file's HANDLE's; Windows' locks do not stack, closing the object
    -- keeps them, closing the file (its HANDLE) releases them
    h.fails(E.EAGAIN, false, c2:lock("w", 0, 0, 0))
    c1:close()
    local o = assert(flock.open(path))
    h.fails(E.EAGAIN, false, o:trylock())
    io.open(path, "rb"):close() -- another handle's close drops nothing
    h.fails(E.EAGAIN, false, o:trylock())
    c2:close()
    f:close()
    h.eq(o:trylock(), true, "classic locks dropped with the file's HANDLE")
    o:close()
    f = assert(io.open(path, "r+b"))
  else
    h.eq(c2:lock("w", 0, 0, 0), true, "a second lock of the same process succeeds")
    c1:close() -- classic: closing the object keeps the process's locks
    local o = assert(flock.open(path))
    h.fails(E.EAGAIN, false, o:trylock())
    io.open(path, "rb"):close() -- closing ANY fd of the file drops them
    h.eq(o:trylock(), true, "classic locks dropped by closing another fd")
    o:close(); c2:close()
  end
  -- handle-owned from a Lua file: its own open file description
  local h1 = assert(flock.from_file(f))
  h.eq(h1.classic, false, "not classic")
  h.eq(h1:lock(), true, "lock")
  local h2 = assert(flock.from_file(f))
  h.fails(E.EAGAIN, false, h2:trylock())
  h1:close(); h2:close()
  f:close()
  h.raises("attempt to use closed file", flock.from_file, f)
end

function T.flock_lock_file_is_luaipc_style_and_seen_by_python()
  local path = tmpfile("")
  local f = assert(io.open(path, "r+b"))
  f:write("buffered")
  h.eq(select("#", flock.lock_file(f, "w")), 1, "lock_file: true alone")
  if h.windows then
    -- Windows: locks are mandatory (another handle cannot read the locked
    -- file) and a range overlapping a held one without being it is EINVAL
    -- (lipc.h)
    h.fails(E.EINVAL, nil, flock.lock_file(f, "r", 0, 4))
    h.eq(flock.unlock_file(f), true, "unlock_file")
    h.eq(h.read_file(path), "buffered", "flushed before locking")
    h.posix_only("the peers are Python's fcntl.lockf and a C program built with cc")
  end
  h.eq(h.read_file(path), "buffered", "flushed before locking")
  h.eq(flock.lock_file(f, "r", 0, 4), true, "again, same process: fine (classic)")
  local code = ([[
import fcntl
with open(%q, "r+b") as f:
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("locked", flush=True)
    except OSError:
        print("busy", flush=True)
]]):format(path)
  local p, line = h.spawn_python(code)
  h.eq(line(), "busy", "python's lockf sees our lock")
  p:wait(10)
  h.eq(flock.unlock_file(f), true, "unlock_file")
  p, line = h.spawn_python(code)
  h.eq(line(), "locked", "python gets it after unlock_file")
  p:wait(10)
  -- held by another process: trylock_file says false
  local q, qline = h.role("hold-lock", path)
  h.eq(qline(), "L", "C holds it")
  h.fails(E.EAGAIN, false, flock.trylock_file(f))
  h.fails(E.ETIMEDOUT, false, flock.lock_file(f, "w", 0, 0, 0.05))
  q:kill("KILL"); q:wait(5)
  h.eq(flock.lock_file(f, "w", 0, 0, 2), true, "after the holder died")
  flock.unlock_file(f)
  h.raises("FILE*", flock.lock_file, {}, "w")
  h.raises("bad argument #2 to 'lock_file' (invalid mode", flock.lock_file, f, "q")
  h.raises("bad argument #3 to 'lock_file'", flock.lock_file, f, "w", 0.5)
  f:close()
  h.raises("attempt to use closed file", flock.lock_file, f, "w")
end

function T.flock_bad_input_and_closed()
  h.fails(E.ENOENT, nil, flock.open(h.tmpdir() .. "/no/such/file"))
  local path = tmpfile("")
  local ro = assert(flock.open(path, "r"))
  if h.windows then -- (lipc.h: either access allows both kinds of lock)
    h.eq(ro:lock("w", 0, 0, 0), true, "exclusive lock on a read-only handle (Windows)")
    ro:unlock()
  else
    local msg = h.fails(E.EINVAL, nil, ro:lock("w", 0, 0, 0))
    h.ok(#msg > 0, "message: " .. msg)
  end
  h.eq(ro:lock("r", 0, 0, 0), true, "shared lock on a read-only handle")
  ro:close()
  local created = h.tmpdir() .. "/created-lock"
  local c = assert(flock.open(created, { create = true, mode = tonumber("600", 8) }))
  if not h.windows then h.eq(file_mode(created), "600", "created with mode") end -- (Windows: mode unused)
  h.raises("bad argument #1 to 'lock' (invalid mode", c.lock, c, "exclusive-ish")
  h.raises("bad argument #2 to 'lock'", c.lock, c, "w", 0.5)
  h.raises("bad argument #4 to 'lock'", c.lock, c, "w", 0, 0, "soon")
  h.raises("bad argument #2 to 'open' (invalid access", flock.open, path, "x")
  c:close()
  h.raises("attempt to use closed file lock", c.lock, c)
  h.raises("attempt to use closed file lock", c.unlock, c)
  h.fails(E.EINVAL, nil, flock.from_file(-1))
  local _, _, code, e = flock.from_file(999)
  -- (Windows: not a HANDLE, ERROR_INVALID_HANDLE)
  local bad = h.windows and 6 or 9
  h.eq(code, E.EOS_BASE - bad, "fd 999: EBADF"); h.eq(e, bad, "errno")
  h.raises("bad argument #1 to 'from_file'", flock.from_file, "path")
end

function T.flock_wait_interrupted_by_signal()
  local path = tmpfile("")
  local _, line = h.role("hold-lock", path)
  h.eq(line(), "L", "holder")
  local a = assert(flock.open(path))
  local sh = h.sighelper()
  h.eq(sh.sh_install(), 0, "install handler")
  local ok, err = pcall(function()
    h.eq(sh.sh_signal_me_every(100, 40), 0, "signaller")
    local t0 = h.now()
    local r, msg, code = a:lock()
    sh.sh_stop()
    h.fails(E.EINTR, nil, r, msg, code)
    h.ok(h.now() - t0 < 2.5, "promptly")
  end)
  sh.sh_stop(); sh.sh_restore()
  a:close()
  if not ok then error(err, 0) end
end

-- A FIFO would make open() wait for its other end; lipc refuses anything but
-- a regular file without waiting (a regression would hang this test, so
-- it runs in a child luajit under a time limit).
function T.special_files_are_refused_at_once()
  h.posix_only("FIFOs and /dev files")
  local dir = h.tmpdir()
  local fifo = dir .. "/fifo-" .. counter
  counter = counter + 1
  assert(os.execute("mkfifo " .. h.q(fifo)) == 0)
  local script = ([[
    local lipc = require "lipc"
    local E = lipc.errors
    local fifo = %q
    local checks = {
      { lipc.mmap.open(fifo) }, { lipc.mmap.open(fifo, { access = "w", length = 4096 }) },
      { lipc.flock.open(fifo) }, { lipc.mmap.open("/dev/null") }, { lipc.flock.open(%q) },
      { lipc.proc.spawn { "cat", stdin = { path = fifo } } },
      { lipc.proc.spawn { "echo", "x", stdout = { path = fifo, mode = "w" } } },
    }
    for i, r in ipairs(checks) do
      if r[1] ~= nil or r[3] ~= E.EINVAL then
        io.stderr:write(("check %%d: %%s %%s %%s\n"):format(i, tostring(r[1]), tostring(r[2]), tostring(r[3])))
        os.exit(1)
      end
    end
    print("refused")
  ]]):format(fifo, dir)
  local p = io.popen("timeout 30 luajit -e " .. h.q(script) .. " 2>&1")
  local out = p:read("*a")
  p:close()
  os.remove(fifo)
  h.eq(out, "refused\n", "every special file refused at once (timeout's 124 = a wait)")
end

return T
