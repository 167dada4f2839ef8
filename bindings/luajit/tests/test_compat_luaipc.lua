-- The LuaIPC compatibility modules (ipc.shm, ipc.sem, ipc.mmap,
-- ipc.filelock, ipc.proc, ipc.strfile), written from LuaIPC's README and
-- /work/shared/design/peer-apis.md: return conventions (true / values,
-- nil + strerror text + positive errno, Lua errors for misuse with LuaIPC's
-- messages), name rules and errno choices, the file-like handles, and
-- producers and consumers in separate LuaJIT processes as LuaIPC's own
-- tests do (a child produces through the compat modules, this test
-- consumes).
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"

local shm = require "ipc.shm"
local sem = require "ipc.sem"
local mmap = require "ipc.mmap"
local filelock = require "ipc.filelock"
local iproc = require "ipc.proc"
local strfile = require "ipc.strfile"

pcall(ffi.cdef, "void (*signal(int sig, void (*handler)(int)))(int);")

local T = {}

-- A LuaIPC failure: nil, the C library's text for errno, errno. On Windows
-- (README, "LuaIPC layer on Windows") the code is the Windows error code of
-- the same failure and the message lipc's own: any non-empty text.
local WINDOWS_CODE = { [2] = 2, [9] = 6, [13] = 5, [17] = 183, [22] = 87, [36] = 206 }
local function fails(errno, text, r, msg, e, extra)
  if h.windows then
    errno = WINDOWS_CODE[errno] or errno
    if type(msg) == "string" and msg ~= "" then text = msg end
  end
  if r ~= nil or msg ~= text or e ~= errno or extra ~= nil then
    error(("expected nil, %q, %d; got %s, %s, %s%s"):format(text, errno, tostring(r), tostring(msg),
      tostring(e), extra ~= nil and (", " .. tostring(extra)) or ""), 2)
  end
end

local counter = 0
local function tmpfile(content)
  counter = counter + 1
  local path = ("%s/luaipc-%d"):format(h.tmpdir(), counter)
  local f = assert(io.open(path, "wb"))
  f:write(content or "")
  f:close()
  return path
end

-- A child LuaJIT running `code` (with this binding on LUA_PATH) through
-- ipc.proc itself, its stdout collected by the callback.
local function luajit_child(code, opts)
  local out = {}
  local o = { stdout = true, callback = function(stream, data) out[#out + 1] = data end }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p = assert(iproc.spawn(h.exec_luajit_cmd(code), o))
  return p, function() return table.concat(out) end
end

---- ipc.shm ----

function T.shm_names_and_errno_choices()
  h.posix_only("POSIX errno numbers; on Windows the codes are Windows ones (test_windows.lua)")
  fails(36, "File name too long", shm.create("", 100))
  fails(22, "Invalid argument", shm.create("a/b", 100))
  fails(36, "File name too long", shm.create(("x"):rep(254), 100))
  fails(36, "File name too long", shm.attach(""))
  fails(22, "Invalid argument", shm.attach("/lead"))
  local name = h.obj_name("shm")
  fails(2, "No such file or directory", shm.attach(name))
  fails(22, "Invalid argument", shm.create(name, 0))
  local s = assert(shm.create(name, 100))
  fails(17, "File exists", shm.create(name, 100))
  h.eq(s:close(), true, "close")
  h.raises("bad argument #1 to 'create' (string expected", shm.create, nil, 1)
  h.raises("bad argument #2 to 'create' (number expected", shm.create, name, "big")
  -- lipc's portable rule on top of LuaIPC's: refused with EINVAL, not a crash
  fails(22, "Invalid argument", shm.create("bad name!", 100))
end

function T.shm_owner_close_unlinks_attachers_only_unmap()
  local name = h.obj_name("shm")
  local owner = assert(shm.create(name, 64))
  h.eq(owner:size(), 64, "size")
  if not h.windows then h.ok(io.open("/dev/shm/" .. name, "rb"), "POSIX shm /name") end
  local a = assert(shm.attach(name))
  -- (Windows, lipc.h: an existing object's size is rounded up to the page size)
  h.eq(a:size(), h.windows and lipc.page_size() or 64, "attach takes the size from the segment")
  h.eq(owner:write("shared"), owner, "write returns the handle")
  h.eq(a:read(6), "shared", "seen through the other handle")
  local b = assert(shm.attach(name))
  h.eq(b:close(), true, "an attacher's close")
  if not h.windows then h.ok(io.open("/dev/shm/" .. name, "rb"), "an attacher's close keeps the name") end
  h.eq(owner:close(), true, "the owner's close")
  if h.windows then
    -- Windows: the segment lives while a handle (a) holds it (LuaIPC:
    -- "unspecified"); the owner's close only drops its own handle
    local c = assert(shm.attach(name))
    h.eq(c:read(6), "shared", "still there while a is attached (Windows)")
    c:close()
  else
    fails(2, "No such file or directory", shm.attach(name))
  end
  a:seek("set", 0)
  h.eq(a:read(6), "shared", "handles still attached keep working")
  a:close()
  if h.windows then fails(2, "No such file or directory", shm.attach(name)) end -- the last handle closed
  h.raises("attempt to use closed in-memory file", a.read, a)
  h.raises("attempt to use closed in-memory file", a.close, a)
  -- a collected owner handle also removes the name
  local name2 = h.obj_name("shm")
  assert(shm.create(name2, 10))
  collectgarbage(); collectgarbage()
  fails(2, "No such file or directory", shm.attach(name2))
end

-- The producer (a child LuaJIT) attaches the consumer's segment and
-- semaphores and sends five records through a ring of two slots: "space"
-- counts free slots, "full" filled ones.
function T.shm_and_sem_producer_child_consumer_here()
  local nshm, nfull, nspace = h.obj_name("shm"), h.sem_name(), h.sem_name()
  local m = assert(shm.create(nshm, 2 * 64))
  local full = assert(sem.open(nfull, 1))
  h.eq(full:dec(0), true, "a semaphore is created with n >= 1: take it to 0")
  local space = assert(sem.open(nspace, 2))
  local code = ([[
    local shm, sem = require "ipc.shm", require "ipc.sem"
    pcall(require("ffi").cdef, "int getpid(void);")
    pcall(require("ffi").cdef, "unsigned long GetCurrentProcessId(void);")
    local C = require("ffi").C
    local getpid = require("ffi").os == "Windows" and C.GetCurrentProcessId or C.getpid
    local m = assert(shm.attach(%q))
    local full, space = assert(sem.open(%q)), assert(sem.open(%q))
    for i = 1, 5 do
      assert(space:dec(10), "space")
      local slot = (i - 1) %% 2
      assert(m:seek("set", slot * 64))
      assert(m:write(("record %%d from pid %%d\n"):format(i, tonumber(getpid()))))
      assert(full:inc())
    end
    print("produced 5")
  ]]):format(nshm, nfull, nspace)
  local p, output = luajit_child(code)
  local got = {}
  for i = 1, 5 do
    h.eq(full:dec(10), true, "record " .. i .. " in time")
    m:seek("set", ((i - 1) % 2) * 64)
    got[i] = m:read("l")
    h.eq(space:inc(), true, "slot free again")
  end
  h.eq(full:dec(0), false, "nothing more")
  local ok, what, st = p:wait()
  h.eq(ok, true, "producer exit: " .. tostring(what) .. " " .. tostring(st))
  h.eq((output():gsub("\r\n", "\n")), "produced 5\n", "producer output") -- cmd.exe child: \r\n
  for i = 1, 5 do
    h.ok(got[i]:match("^record " .. i .. " from pid %d+$"), "record " .. i .. ": " .. tostring(got[i]))
  end
  h.ok(not got[1]:find("pid " .. h.pid, 1, true), "written by another process")
  m:close(); full:close(); space:close()
end

---- the file-like handles (memfile) ----

function T.handles_read_formats_write_seek_truncate()
  local m = assert(shm.create(h.obj_name("shm"), 32))
  h.eq(m:write("one\r\ntwo\n", 3, "x", 4.5), m, "strings and numbers")
  h.eq(m:seek(), 14, "seek() is seek('cur', 0)")
  h.eq(m:seek("set"), 0, "rewind")
  h.eq(m:read(), "one", "l strips \\r\\n")
  h.eq(m:read("*L"), "two\n", "*L keeps the newline")
  local a, b = m:read(1, "l")
  h.eq(a, "3", "a count")
  h.eq(b, "x4.5" .. ("\0"):rep(18), "the rest up to the end, no newline")
  h.eq(m:read("l"), nil, "l at the end")
  h.eq(m:read("a"), "", "a at the end")
  h.eq(select("#", m:read("l", "l")), 1, "reading stops at the first nil")
  h.raises("invalid format", m.read, m, "*n")
  h.raises("invalid format", m.read, m, "n")
  local r, msg, e = m:seek("end", 1)
  h.eq(r, nil, "seek past the end"); h.eq(msg, "invalid offset", "message"); h.eq(e, nil, "two values")
  h.eq(m:seek("end", -1), 31, "seek from the end")
  h.eq(m:seek("cur", -31), 0, "relative")
  h.eq(select("#", m:seek("set", -1)), 2, "nil, 'invalid offset'")
  h.raises("invalid option 'top'", m.seek, m, "top")
  m:seek("set", 28)
  r, msg, e = m:write("123456")
  h.eq(r, nil, "write past the end"); h.eq(msg, "not enough space", "message"); h.eq(e, nil, "two values")
  m:seek("set", 28)
  h.eq(m:read("a"), "1234", "the part that fits was written")
  h.eq(m:setvbuf("full", 1024), true, "setvbuf")
  h.raises("invalid option 'some'", m.setvbuf, m, "some")
  h.eq(m:flush(), true, "flush")
  h.eq(m:truncate(8), true, "truncate the view")
  h.eq(m:size(), 8, "smaller view")
  h.eq(m:seek("cur"), 8, "position clamped")
  r, msg = m:truncate(9)
  h.eq(r, nil, "grow refused"); h.eq(msg, "new size too large", "message")
  h.ok(ffi.cast("uint8_t *", m:addr())[0] == string.byte("o"), "addr() is the start of the memory")
  local got = {}
  m:seek("set")
  for l in m:lines() do got[#got + 1] = l end
  h.eq(table.concat(got, "|"), "one|two", "lines()")
  m:seek("set")
  got = {}
  for x, y in m:lines(2, "L") do got[#got + 1] = x .. "+" .. tostring(y) end
  h.eq(table.concat(got, "|"), "on+e\r\n|tw+o", "lines with formats")
  h.eq(io.type(m), nil, "not a Lua file")
  h.eq(m:close(), true, "close")
  for _, meth in ipairs({ "read", "lines", "write", "seek", "setvbuf", "flush", "size", "addr", "truncate", "close" }) do
    h.raises("attempt to use closed in-memory file", m[meth], m, meth == "truncate" and 1 or nil)
  end
end

function T.strfile_is_read_only()
  local f = strfile.open("alpha\nbeta\r\ngamma")
  h.eq(f:size(), 17, "size")
  h.eq(f:read("l", "l"), "alpha", "first line")
  local got = {}
  for l in f:lines() do got[#got + 1] = l end
  h.eq(table.concat(got, ","), "gamma", "lines from the position")
  f:seek("set", 6)
  h.eq(f:read("L"), "beta\r\n", "L")
  local r, msg, e = f:write("x")
  h.eq(r, nil, "write refused"); h.eq(msg, "permission denied", "message"); h.eq(e, nil, "two values")
  r, msg = f:flush()
  h.eq(r, nil, "flush refused"); h.eq(msg, "permission denied", "flush message")
  h.eq(strfile.open(42):read("a"), "42", "a number is a string")
  h.raises("bad argument #1 to 'open' (string expected", strfile.open, {})
  h.eq(f:close(), true, "close")
  h.raises("attempt to use closed in-memory file", f.close, f)
end

---- ipc.sem ----

function T.sem_open_create_and_errors()
  local name = h.sem_name()
  fails(2, "No such file or directory", sem.open(name))
  fails(2, "No such file or directory", sem.open(name, 0))
  local s = assert(sem.open(name, 2))
  fails(17, "File exists", sem.open(name, 1))
  if not h.windows then h.ok(io.open("/dev/shm/sem." .. name, "rb"), "POSIX named semaphore /name") end
  fails(36, "File name too long", sem.open("", 1))
  fails(22, "Invalid argument", sem.open("a/b", 1))
  fails(22, "Invalid argument", sem.open(h.sem_name(), -1))
  h.raises("bad argument #2 to 'open' (number expected", sem.open, name, "two")
  h.raises("bad argument #1 to 'open' (string expected", sem.open, {})
  h.eq(s:inc(), true, "inc")
  h.eq(s:dec(), true, "dec")
  h.eq(s:dec(0), true, "dec(0) when positive")
  h.eq(s:dec(0), true, "again")
  h.eq(s:dec(0), false, "dec(0) at zero: false")
  local t0 = h.now()
  h.eq(s:dec(0.15), false, "timed dec: false")
  h.ok(h.now() - t0 >= 0.149, "waited the fractional timeout")
  h.raises("bad argument #1 to 'dec' (number expected", s.dec, s, "1")
  h.eq(s:close(), true, "close")
  h.raises("attempt to use invalid semaphore object", s.close, s)
  h.raises("attempt to use invalid semaphore object", s.inc, s)
  h.raises("attempt to use invalid semaphore object", s.dec, s, 0)
end

function T.sem_creator_close_unlinks_but_openers_keep_working()
  local name = h.sem_name()
  local owner = assert(sem.open(name, 1))
  local other = assert(sem.open(name))
  h.eq(other:dec(0), true, "shared value")
  h.eq(owner:close(), true, "the creator closes")
  if h.windows then
    -- Windows: the semaphore lives while `other` holds it (LuaIPC: unspecified)
    assert(sem.open(name)):close()
  else
    fails(2, "No such file or directory", sem.open(name))
  end
  h.eq(other:inc(), true, "an opener keeps working")
  h.eq(other:dec(0), true, "and sees its own post")
  other:close()
  -- an opener's close keeps the name
  owner = assert(sem.open(name, 1))
  assert(sem.open(name)):close()
  h.ok(sem.open(name), "still there after an opener closed")
  owner:close()
end

function T.sem_incremented_by_a_child_process()
  local name = h.sem_name()
  local s = assert(sem.open(name, 1))
  assert(s:dec(0))
  local p = luajit_child(([[
    local sem = require "ipc.sem"
    local s = assert(sem.open(%q))
    for i = 1, 3 do
      require("lipc").wait_fds({}, 0.05)
      assert(s:inc())
    end
  ]]):format(name))
  for i = 1, 3 do h.eq(s:dec(10), true, "post " .. i .. " from the child") end
  h.eq(p:wait(), true, "child")
  -- blocking dec (no timeout) woken by the child
  p = luajit_child(([[
    require("lipc").wait_fds({}, 0.2)
    assert(require("ipc.sem").open(%q)):inc()
  ]]):format(name))
  local t0 = h.now()
  h.eq(s:dec(), true, "a dec without timeout returns once the child posts")
  h.ok(h.now() - t0 >= 0.1, "it waited")
  h.eq(p:wait(), true, "child")
  s:close()
end

---- ipc.mmap ----

function T.mmap_modes_offsets_and_errors()
  local PS = mmap.pagesize
  h.eq(PS, lipc.page_size(), "pagesize")
  local path = tmpfile(("a"):rep(PS) .. "page two\n" .. ("b"):rep(100))
  local m = assert(mmap.open(path))
  h.eq(m:size(), PS + 109, "default: the whole file, read-only")
  h.eq(m:read(3), "aaa", "read")
  local r, msg = m:write("x")
  h.eq(r, nil, "r: write refused"); h.eq(msg, "permission denied", "message")
  r, msg = m:flush()
  h.eq(r, nil, "r: flush refused"); h.eq(msg, "permission denied", "flush message")
  m:close()
  m = assert(mmap.open(path, "r", PS))
  h.eq(m:size(), 109, "from an offset: the rest of the file")
  h.eq(m:read("l"), "page two", "read at the offset")
  m:close()
  m = assert(mmap.open(path, "r", PS, 4))
  h.eq(m:read("a"), "page", "offset and size")
  m:close()
  fails(22, "Invalid argument", mmap.open(path, "r", 100))
  fails(22, "Invalid argument", mmap.open(path, "r", 4 * PS))
  -- an empty file: Windows' own code (ERROR_FILE_INVALID), as LuaIPC there
  fails(h.windows and 1006 or 22, "Invalid argument", mmap.open(tmpfile("")))
  fails(2, "No such file or directory", mmap.open(path .. ".missing"))
  h.raises("bad argument #2 to 'open' (invalid option 'x')", mmap.open, path, "x")
  h.raises("bad argument #3 to 'open' (number expected", mmap.open, path, "r", "zero")
  -- "w": writable, shared, not readable
  local w = assert(mmap.open(path, "w"))
  r, msg = w:read(1)
  h.eq(r, nil, "w: read refused"); h.eq(msg, "permission denied", "message")
  h.raises("permission denied", w.lines, w)
  h.eq(w:write("WRITE"), w, "w: write")
  h.eq(w:flush(), true, "flush")
  h.eq(h.read_file(path):sub(1, 6), "WRITEa", "writes reach the file")
  w:close()
  -- "rw": both
  local rw = assert(mmap.open(path, "rw", PS))
  h.eq(rw:read(4), "page", "rw: read")
  rw:write("!")
  rw:close()
  h.eq(h.read_file(path):sub(PS + 1, PS + 9), "page!two\n", "rw: written")
end

function T.mmap_writes_seen_by_a_child_mapping_the_file()
  local path = tmpfile(("."):rep(64))
  local m = assert(mmap.open(path, "rw"))
  local code = ([[
    local mmap = require "ipc.mmap"
    local m = assert(mmap.open(%q))
    io.write(m:read("l"))
  ]]):format(path)
  m:write("from the parent\n")
  m:flush()
  local p, output = luajit_child(code)
  h.eq(p:wait(), true, "child")
  h.eq(output(), "from the parent", "the child's mapping shows the parent's write")
  -- and the other way: the child writes through its own "w" mapping
  p, output = luajit_child(([[
    local m = assert(require("ipc.mmap").open(%q, "w"))
    assert(m:seek("set", 20))
    assert(m:write("child wrote here"))
    assert(m:flush())
    m:close()
  ]]):format(path))
  h.eq(p:wait(), true, "child")
  m:seek("set", 20)
  h.eq(m:read(16), "child wrote here", "seen in this process's mapping")
  m:close()
end

---- ipc.filelock ----

function T.filelock_classic_locks_between_processes()
  local path = tmpfile("0")
  local f = assert(io.open(path, "r+"))
  h.eq(filelock.lock(f, "w"), true, "lock")
  h.eq(filelock.trylock(f, "r"), true, "a second lock of the same process succeeds (classic)")
  local code = ([[
    local filelock = require "ipc.filelock"
    local f = assert(io.open(%q, "r+"))
    print(filelock.trylock(f, "rw"))
    io.stdout:flush()
    assert(filelock.lock(f, "w"))
    local n = tonumber(f:read("a"))
    f:seek("set"); f:write(tostring(n + 1))
    assert(filelock.unlock(f))
    print("incremented")
  ]]):format(path)
  local p, line = h.spawn_luajit(code)
  h.eq(line(), "false", "the child's trylock fails while this process holds it")
  f:seek("set"); f:write("41")
  lipc.wait_fds({}, 0.1)
  h.eq(h.alive(p), true, "the child waits in lock()")
  h.eq(filelock.unlock(f), true, "unlock (flushes first)")
  h.eq(line(), "incremented", "the child got the lock and saw the write")
  h.eq(p:wait(10), 0, "child exit")
  h.eq(filelock.lock(f, "r", 0, 1), true, "shared lock of a range")
  f:seek("set")
  h.eq(f:read("a"), "42", "this process sees the child's write after locking")
  h.eq(filelock.unlock(f, 0, 1), true, "unlock the range")
  h.eq(filelock.trylock(f), true, "default mode rw")
  filelock.unlock(f)
  f:close()
end

function T.filelock_errors()
  local path = tmpfile("x")
  local ro = assert(io.open(path, "r"))
  if h.windows then
    -- Windows (lipc.h, lipc_flock_open): either access allows both kinds of lock
    h.eq(filelock.lock(ro, "w"), true, "an exclusive lock on a read-only file (Windows)")
    filelock.unlock(ro)
  else
    fails(9, "Bad file descriptor", filelock.lock(ro, "w"))
  end
  h.eq(filelock.lock(ro, "r"), true, "a shared lock on a read-only file")
  filelock.unlock(ro)
  h.raises("bad argument #1 to 'lock' (FILE* expected, got table)", filelock.lock, {}, "w")
  h.raises("bad argument #1 to 'trylock' (FILE* expected, got number)", filelock.trylock, 3, "w")
  h.raises("bad argument #2 to 'lock' (invalid option 'x')", filelock.lock, ro, "x")
  h.raises("bad argument #3 to 'lock' (number expected", filelock.lock, ro, "r", "start")
  ro:close()
  h.raises("attempt to use closed file", filelock.lock, ro, "r")
  h.raises("attempt to use closed file", filelock.unlock, ro)
end

---- ipc.proc ----

function T.proc_callbacks_stdin_and_exit_statuses()
  h.posix_only("the commands are sh ones; ipc.proc under cmd.exe is tested in test_windows.lua")
  local got = {}
  local opts = {
    stdin = true, stdout = true, stderr = true,
    callback = function(stream, data) got[#got + 1] = stream .. "=" .. data end,
  }
  local p = assert(iproc.spawn("read a; read b; echo \"out $a\"; echo \"err $b\" >&2; exit 3", opts))
  h.eq(p:write("one\n", "two", "\n", iproc.EOF), true, "write with EOF")
  local ok, what, code = p:wait()
  h.eq(ok, nil, "nil for a failure exit")
  h.eq(what, "exit", "exit")
  h.eq(code, 3, "code")
  table.sort(got)
  h.eq(table.concat(got, "|"), "stderr=err two\n|stdout=out one\n", "both streams through the callback")
  h.raises("attempt to use invalid process object", p.wait, p)
  h.raises("attempt to use invalid process object", p.kill, p, "kill")
  h.raises("attempt to use invalid process object", p.write, p, "x")
  h.raises("attempt to use invalid process object", p.nowait, p)
  p = assert(iproc.spawn("exit 0", {}))
  ok, what, code = p:wait()
  h.eq(ok, true, "true for exit 0"); h.eq(what, "exit", "exit"); h.eq(code, 0, "0")
  p = assert(iproc.spawn("lipc-no-such-command-x 2>/dev/null", {}))
  ok, what, code = p:wait()
  h.eq(ok, nil, "not found"); h.eq(what, "exit", "exit"); h.eq(code, 127, "the shell's 127")
  p = assert(iproc.spawn("exec sleep 10", {}))
  h.eq(p:kill("term"), true, "kill term")
  ok, what, code = p:wait()
  h.eq(ok, nil, "killed"); h.eq(what, "signal", "signal"); h.eq(code, 15, "SIGTERM")
  p = assert(iproc.spawn("exec sleep 10", {}))
  h.eq(p:kill("kill"), true, "kill kill")
  h.eq(select(3, p:wait()), 9, "SIGKILL")
  p = assert(iproc.spawn("exit 5", {}))
  lipc.wait_fds({}, 0.2)
  h.eq(p:kill("term"), true, "kill after it exited: still true")
  h.eq(select(3, p:wait()), 5, "its own exit status")
end

function T.proc_misuse_raises()
  h.posix_only("the commands are sh ones; ipc.proc under cmd.exe is tested in test_windows.lua")
  h.raises("'callback' field required", iproc.spawn, "true", { stdout = true })
  h.raises("'callback' field required", iproc.spawn, "true", { stderr = true })
  h.raises("bad argument #2 to 'spawn' (table expected", iproc.spawn, "true")
  h.raises("bad argument #1 to 'spawn' (string expected", iproc.spawn, nil, {})
  local p = assert(iproc.spawn("true", {}))
  h.raises("process stdin is not connected to a pipe", p.write, p, "x")
  h.raises("bad argument #1 to 'kill' (invalid option 'int')", p.kill, p, "int")
  p:wait()
  p = assert(iproc.spawn("cat >/dev/null", { stdin = true }))
  h.raises("bad argument #2 to 'write' (string expected, got table)", p.write, p, "a", {})
  h.eq(p:write(iproc.EOF), true, "EOF")
  h.raises("pipe to stdin is already closed", p.write, p, "late")
  h.raises("pipe to stdin is already closed", p.write, p, iproc.EOF)
  h.eq(p:wait(), true, "cat saw EOF")
  h.eq(tostring(iproc.EOF), "ipc.proc.EOF", "EOF is a unique value")
end

function T.proc_drains_everything_after_exit_and_feeds_big_input()
  h.posix_only("the commands are sh ones; ipc.proc under cmd.exe is tested in test_windows.lua")
  local n, chunks, max = 0, 0, 0
  local p = assert(iproc.spawn("head -c 3000000 /dev/zero; printf end", {
    stdout = true,
    callback = function(stream, data)
      n, chunks = n + #data, chunks + 1
      if #data > max then max = #data end
    end,
  }))
  h.eq(p:wait(), true, "exit")
  h.eq(n, 3000003, "every byte handed over")
  h.ok(max <= 1024, "chunks of at most 1024 bytes: " .. max)
  -- a child that writes a lot just before exiting: nothing lost
  local out = {}
  p = assert(iproc.spawn(h.exec_luajit_cmd("io.write(('y'):rep(500000)) os.exit(0)"), {
    stdout = true, callback = function(_, d) out[#out + 1] = d end,
  }))
  h.eq(p:wait(), true, "exit")
  h.eq(#table.concat(out), 500000, "drained after the exit")
  -- stdin and stdout together, more than a pipe buffer each way
  local big = ("0123456789abcdef\n"):rep(40000)
  out = {}
  p = assert(iproc.spawn("exec cat", { stdin = true, stdout = true, callback = function(_, d) out[#out + 1] = d end }))
  p:write(big)
  p:write(iproc.EOF)
  h.eq(p:wait(), true, "cat")
  h.eq(table.concat(out) == big, true, "all of it came back in order")
  -- a child that stops reading: the rest of the input is dropped, no SIGPIPE here
  p = assert(iproc.spawn("exit 0", { stdin = true }))
  lipc.wait_fds({}, 0.1)
  h.eq(p:write(("z"):rep(200000), iproc.EOF), true, "queued")
  h.eq(p:wait(), true, "wait does not fail")
end

function T.proc_nowait_and_files_as_streams()
  h.posix_only("the commands are sh ones; ipc.proc under cmd.exe is tested in test_windows.lua")
  local seen = {}
  local p = assert(iproc.spawn("sleep 0.2; echo late", { stdout = true, callback = function(_, d) seen[#seen + 1] = d end }))
  h.eq(p:nowait(), false, "still running")
  local ok, what, code
  local t0 = h.now()
  repeat
    ok, what, code = p:nowait()
    if ok == false then lipc.wait_fds({}, 0.01) end
  until ok ~= false or h.now() - t0 > 20
  h.eq(ok, true, "nowait reports the exit")
  h.eq(what, "exit", "exit"); h.eq(code, 0, "0")
  h.eq(table.concat(seen), "late\n", "output handed over by nowait")
  -- Lua files as streams: the child gets its own copy, ours may be closed at once
  local inpath, outpath = tmpfile("from a file\n"), tmpfile("")
  local fin, fout = assert(io.open(inpath, "r")), assert(io.open(outpath, "w"))
  p = assert(iproc.spawn("tr a-z A-Z; echo to-stderr >&2", { stdin = fin, stdout = fout, stderr = fout }))
  fin:close(); fout:close()
  h.eq(p:wait(), true, "exit")
  h.eq(h.read_file(outpath), "FROM A FILE\nto-stderr\n", "redirected to the files")
  h.raises("attempt to use closed file", iproc.spawn, "true", { stdin = fin })
  -- the environment and working directory are inherited
  lipc.env.set("LIPC_LUAIPC_T", "inherited")
  local out = {}
  p = assert(iproc.spawn("echo $LIPC_LUAIPC_T; pwd", { stdout = true, callback = function(_, d) out[#out + 1] = d end }))
  p:wait()
  lipc.env.unset("LIPC_LUAIPC_T")
  local cwd = io.popen("pwd"):read("l")
  h.eq(table.concat(out), "inherited\n" .. cwd .. "\n", "environment and directory")
end

function T.proc_sets_sigpipe_ignored_in_the_parent_and_default_in_children()
  h.posix_only("SIGPIPE (Windows has none)")
  -- loading ipc.proc set SIGPIPE to SIG_IGN: signal() returns the old disposition
  local old = ffi.C.signal(13, ffi.cast("void (*)(int)", 1))
  h.eq(tonumber(ffi.cast("intptr_t", old)), 1, "SIGPIPE ignored in this process")
  local out = {}
  local p = assert(iproc.spawn("grep SigIgn /proc/self/status", { stdout = true, callback = function(_, d) out[#out + 1] = d end }))
  p:wait()
  local mask = tonumber(table.concat(out):match("SigIgn:%s*(%x+)"), 16)
  h.ok(mask and math.floor(mask / 4096) % 2 == 0, "SIGPIPE (bit 13) not ignored in the child: " .. table.concat(out))
end

function T.proc_collected_handle_kills_the_child()
  h.posix_only("the commands are sh ones; ipc.proc under cmd.exe is tested in test_windows.lua")
  local p = assert(iproc.spawn("exec sleep 30", {}))
  local pid = p._p:pid()
  p = nil
  collectgarbage(); collectgarbage()
  local dead = h.wait_dead(pid, 10)
  h.ok(dead, "the child of a collected handle was killed")
end

---- the demo ----

function T.demo_runs_unchanged_luaipc_program()
  h.posix_only("the demo runs through sh")
  local b = h.binding_dir
  local cmd = ("cd %s && env LUA_PATH=%s LIPC_LIBRARY=%s %s %s 2>&1"):format(
    h.q(h.tmpdir()), h.q(b .. "/?.lua;" .. b .. "/?/init.lua;;"), h.q(h.abs(lipc.library_path)),
    os.getenv("LUAJIT") or "luajit", h.q(b .. "/examples/compat_luaipc.lua"))
  local f = assert(io.popen(cmd .. "; echo \"exit=$?\""))
  local out = f:read("*a")
  f:close()
  h.ok(out:find("exit=0\n", 1, true), "demo exit status 0:\n" .. out)
  h.ok(out:find("consumer got 5 messages through shm", 1, true), "shm/sem exchange:\n" .. out)
  h.ok(out:find("producer finished: true exit 0", 1, true), "producer status:\n" .. out)
  h.ok(out:find("counter after 2 processes x 20 locked increments: 40", 1, true), "file locks:\n" .. out)
end

return T
