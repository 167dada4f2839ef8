-- Every public function that passes a number to C checks it first (issue 9,
-- item 9). LuaJIT converts a Lua number to a C integer by truncating it
-- (2^32 + 9 as an int is 9, 1.5 is 1, NaN anything), and numbers are
-- doubles: above 2^53 they have lost their units. So a number bound for C
-- must be an integer (no fraction, not NaN or +-inf), within +-2^53 and in
-- the C type's range; a 64-bit integer cdata is taken too, compared exactly
-- (how to pass an int64_t beyond 2^53). Anything else is misuse: error(msg,
-- 2), with nothing done (no handle left open, no signal sent).
-- Timeouts: nil, negative, math.huge or any time longer than the library
-- waits are forever; NaN and non-numbers raise. Grace times: >= 0, huge is
-- as long as the library waits.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E, P = lipc.errors, lipc.proc

local T = {}

local nan, inf = 0 / 0, math.huge

-- Bad values by C type; each must raise.
local BAD = {
  int = { 2 ^ 31, -2 ^ 31 - 1, 2 ^ 32 + 9, 2 ^ 64, 2 ^ 53 + 2, 1.5, nan, inf, -inf, "1", {},
          2LL ^ 31, -2LL ^ 31 - 1, 2ULL ^ 63 },
  uint32 = { 2 ^ 32, 2 ^ 32 + 18, -1, 2 ^ 64, 1.5, nan, inf, "1", 2ULL ^ 40, -1LL },
  int64 = { 2 ^ 53 + 2, 2 ^ 63, 2 ^ 64 + 4096, -2 ^ 63, 1.5, nan, inf, -inf, "1", {}, 2ULL ^ 63, 2ULL ^ 64 - 1 },
  fd = { 2 ^ 31, 2 ^ 32 + 5, 2 ^ 53 + 2, 1.5, nan, inf, 2LL ^ 32 },
  child_fd = { 2 ^ 32, 1024, -1, 2 ^ 53 + 2, 1.5, nan, inf, 2LL ^ 32 },
  sig = { 2 ^ 32 + 9, 65, -1, 2 ^ 53 + 2, 1.5, nan, inf, "NOPE", 2ULL ^ 32 + 9 },
  size = { 2 ^ 53 + 2, 2 ^ 64, -1, 1.5, nan, inf, "1" },
  luaipc_int = { 2 ^ 53 + 2, 2 ^ 64, 1.5, nan, inf, -inf, {} },
}

-- Programs the rows start: POSIX ones, luajit.exe children on Windows.
local TRUE = h.windows and h.sleep_argv(0) or { "true" }
local ECHO_HI = h.windows and { h.luajit_exe(), "-e", "io.stdout:setvbuf('no') io.write('hi\\n')" } or { "echo", "hi" }

local function show(v)
  if type(v) == "number" then return ("%.17g"):format(v) end
  return tostring(v)
end

local function setup()
  local dir = h.tmpdir()
  local c = { path = dir .. "/numbers.data" }
  local f = assert(io.open(c.path, "wb"))
  f:write(("x"):rep(3 * lipc.page_size()))
  f:close()
  c.file = assert(io.open(c.path, "r+b"))
  c.sleeper = assert(P.spawn(h.sleep_argv(300), { autokill = true }))
  c.shm = assert(lipc.shm.open(h.obj_name("shm"), { create = true, size = 4096 }))
  c.map = assert(lipc.mmap.open(c.path, "w"))
  c.lock = assert(lipc.flock.open(c.path))
  c.r, c.w = lipc.pipe.new()
  c.buf = ffi.new("char[16]")
  assert(lipc.flock.unlock_file(c.file)) -- makes the file's classic lock object once
  return c
end

local function teardown(c)
  c.sleeper:kill("KILL"); c.sleeper:wait(10); c.sleeper:close()
  c.shm:close(); c.map:close(); c.lock:close(); c.r:close(); c.w:close(); c.file:close()
  c.file = nil
  -- The file's classic lock object lives in a weak-keyed cache until the
  -- file is collected, and the rows that raised left objects to their
  -- finalizers: collect them now, not in a later test that counts handles.
  for _ = 1, 3 do collectgarbage() end
end

-- { id, kind of BAD, call(c, v) [, a value not to try: it means something there] }
local function rows()
  local ipc = { sem = require "ipc.sem", shm = require "ipc.shm", mmap = require "ipc.mmap",
                filelock = require "ipc.filelock" }
  local lproc = require "proc"
  return {
    { "strerror", "int", function(_, v) return lipc.strerror(v) end },
    { "error_name", "int", function(_, v) return lipc.error_name(v) end },
    { "set_call_mode", "int", function(_, v) return lipc.set_call_mode(v) end },
    { "diag", "int", function(_, v) return lipc.diag(v) end },
    { "close", "int64", function(_, v) return lipc.close(v) end },
    { "handle_kind", "int64", function(_, v) return lipc.handle_kind(v) end },
    { "wait_fds fd", "int", function(_, v) return lipc.wait_fds({ { fd = v, read = true } }, 0) end },
    { "sem.open value", "uint32", function(_, v) return lipc.sem.open(h.sem_name(), { create = true, value = v }) end },
    { "sem.open mode", "uint32", function(_, v) return lipc.sem.open(h.sem_name(), { create = true, mode = v }) end },
    { "mutex.open mode", "uint32",
      function(_, v) return lipc.mutex.open(h.obj_name("mutex"), { create = true, mode = v }) end },
    { "event.open mode", "uint32",
      function(_, v) return lipc.event.open(h.obj_name("event"), { create = true, mode = v }) end },
    { "shm.open size", "int64", function(_, v) return lipc.shm.open(h.obj_name("shm"), { create = true, size = v }) end },
    { "shm.open mode", "uint32",
      function(_, v) return lipc.shm.open(h.obj_name("shm"), { create = true, size = 64, mode = v }) end },
    { "shm:grow", "int64", function(c, v) return c.shm:grow(v) end },
    { "mmap.open offset", "int64", function(c, v) return lipc.mmap.open(c.path, { offset = v }) end },
    { "mmap.open length", "int64", function(c, v) return lipc.mmap.open(c.path, { length = v }) end },
    { "mmap.open (LuaIPC order) offset", "int64", function(c, v) return lipc.mmap.open(c.path, "r", v) end },
    { "mmap.open mode", "uint32", function(c, v) return lipc.mmap.open(c.path, { mode = v }) end },
    { "mmap:flush offset", "int64", function(c, v) return c.map:flush(v, 1) end },
    { "mmap:flush length", "int64", function(c, v) return c.map:flush(0, v) end },
    { "mmap:advise advice", "int", function(c, v) return c.map:advise(v) end },
    { "mmap:advise offset", "int64", function(c, v) return c.map:advise("normal", v, 1) end },
    { "mmap:advise length", "int64", function(c, v) return c.map:advise("normal", 0, v) end },
    { "flock.open mode", "uint32", function(c, v) return lipc.flock.open(c.path, { mode = v }) end },
    { "flock.from_file fd", "fd", function(_, v) return lipc.flock.from_file(v) end },
    { "flock:lock offset", "int64", function(c, v) return c.lock:lock("w", v, 1, 0) end },
    { "flock:lock length", "int64", function(c, v) return c.lock:lock("w", 0, v, 0) end },
    { "flock:unlock offset", "int64", function(c, v) return c.lock:unlock(v, 1) end },
    { "flock.lock_file offset", "int64", function(c, v) return lipc.flock.lock_file(c.file, "w", v, 1, 0) end },
    { "flock.unlock_file length", "int64", function(c, v) return lipc.flock.unlock_file(c.file, 0, v) end },
    { "spawn umask", "int", function(_, v) return P.spawn(TRUE, { umask = v }) end },
    { "spawn pgroup", "int64", function(_, v) return P.spawn(TRUE, { pgroup = v }) end },
    { "spawn stdout fd", "fd", function(_, v) return P.spawn(TRUE, { stdout = v }) end },
    { "spawn fds[5].fd", "fd", function(_, v) return P.spawn(TRUE, { fds = { [5] = { fd = v } } }) end },
    { "spawn stderr.child", "int", function(_, v) return P.spawn(TRUE, { stderr = { child = v } }) end },
    { "spawn stdout.perm", "uint32",
      function(c, v) return P.spawn(TRUE, { stdout = { path = c.path .. ".out", perm = v } }) end },
    { "spawn rlimits", "int64", function(_, v) return P.spawn(TRUE, { rlimits = { core = v } }) end, inf },
    { "spawn autokill", "sig", function(_, v) return P.spawn(TRUE, { autokill = v }) end },
    { "prepare rlimits pair", "int64",
      function(_, v) return P.prepare(TRUE, { rlimits = { core = { 0, v } } }) end, inf },
    { "p:kill", "sig", function(c, v) return c.sleeper:kill(v) end },
    { "p:kill group", "sig", function(c, v) return c.sleeper:kill(v, true) end },
    { "p:info", "int", function(c, v) return c.sleeper:info(v) end },
    { "p:pipe", "child_fd", function(c, v) return c.sleeper:pipe(v) end },
    { "p:close_fd", "child_fd", function(c, v) return c.sleeper:close_fd(v) end },
    { "p:communicate max_output", "size", function(c, v) return c.sleeper:communicate(nil, 0, v) end },
    { "pipe.wrap fd", "fd", function(_, v) return lipc.pipe.wrap(v, "r") end },
    { "pipe:read count", "size", function(c, v) return c.r:read(v, 0) end },
    { "pipe:read_into size", "size", function(c, v) return c.r:read_into(c.buf, v, 0) end },
    { "pipe:write_from size", "size", function(c, v) return c.w:write_from(c.buf, v, 0) end },
    { "ipc.sem.open value", "luaipc_int", function(_, v) return ipc.sem.open(h.sem_name(), v) end },
    { "ipc.shm.create size", "luaipc_int", function(_, v) return ipc.shm.create(h.obj_name("shm"), v) end },
    { "ipc.mmap.open offset", "luaipc_int", function(c, v) return ipc.mmap.open(c.path, "r", v) end },
    { "ipc.mmap.open size", "luaipc_int", function(c, v) return ipc.mmap.open(c.path, "r", 0, v) end },
    { "ipc.filelock.lock offset", "luaipc_int", function(c, v) return ipc.filelock.lock(c.file, "w", v, 1) end },
    { "ipc.filelock.trylock nbytes", "luaipc_int", function(c, v) return ipc.filelock.trylock(c.file, "w", 0, v) end },
    { "ipc.filelock.unlock offset", "luaipc_int", function(c, v) return ipc.filelock.unlock(c.file, v) end },
    { "luapower proc.exec autokill", "sig",
      function(_, v) return lproc.exec { cmd = TRUE, autokill = v } end },
    { "luapower proc.exec ram_limit", "int64",
      function(_, v) return lproc.exec { cmd = TRUE, ram_limit = v } end, inf },
  }
end

local function live() return lipc.diag("live_handles") end

function T.numbers_are_checked_against_their_c_type()
  local c = setup()
  local n = 0
  for _, row in ipairs(rows()) do
    local id, kind, call, skip = row[1], row[2], row[3], row[4]
    for _, v in ipairs(BAD[kind]) do if v ~= skip then
      collectgarbage("collect")
      collectgarbage("stop") -- a finalizer closing a handle now would hide one left open
      local before = live()
      local ok, err = pcall(call, c, v)
      local after = live()
      collectgarbage("restart")
      local what = ("%s(%s)"):format(id, show(v))
      h.ok(not ok, what .. " raises; it returned " .. tostring(err))
      h.ok(tostring(err):find("bad argument", 1, true), what .. ": " .. tostring(err))
      h.eq(after, before, what .. ": handles left open")
      h.eq(c.sleeper:status(), "running", what .. ": the sleeping child got a signal")
      n = n + 1
    end end
  end
  h.ok(n > 400, "rows walked: " .. n)
  teardown(c)
end

-- Values the C type holds: accepted (a 64-bit cdata exactly), or refused
-- by the library as a failure (nil, msg, code), never truncated.
function T.edge_values_reach_c_exactly()
  local c = setup()
  h.eq(type(lipc.strerror(2 ^ 31 - 1)), "string", "strerror of INT_MAX")
  h.eq(lipc.error_name(-2 ^ 31), "LIPC_EOS", "INT_MIN is an OS-family code")
  h.eq(lipc.error_name(-1LL), "LIPC_EINVAL", "int64 cdata in range")
  h.raises("bad argument #1 to 'error_name'", lipc.error_name, 1 - 2ULL) -- 2^64 - 1, not -1
  h.fails(E.EINVAL, nil, lipc.diag(2 ^ 31 - 1))
  h.fails(E.EBADHANDLE, nil, lipc.close(2 ^ 53))
  h.fails(E.EINVAL, nil, lipc.sem.open(h.sem_name(), { create = true, value = 2 ^ 31 }))
  h.fails(E.EINVAL, nil, lipc.sem.open(h.sem_name(), { create = true, mode = 2 ^ 32 - 1 }))
  -- beyond 2^53 as cdata: reaches C exactly (too large: ERANGE, not a
  -- truncated size)
  h.fails(E.ERANGE, nil, lipc.shm.open(h.obj_name("shm"), { create = true, size = 2LL ^ 62 + 1 }))
  h.fails(E.EINVAL, nil, lipc.shm.open(h.obj_name("shm"), { create = true, size = -2LL ^ 63 }))
  h.fails(E.EINVAL, nil, lipc.mmap.open(c.path, { offset = 2LL ^ 62 }))
  h.fails(E.EINVAL, nil, lipc.mmap.open(c.path, { offset = -4096 }))
  local m = assert(lipc.mmap.open(c.path, { offset = 4096LL, length = 4096ULL }))
  h.eq(m:size(), 4096, "cdata offset and length")
  m:close()
  h.eq(c.lock:lock("w", 2LL ^ 62, 1, 0), true, "a lock at 2^62 (cdata)")
  h.eq(c.lock:unlock(2LL ^ 62, 1), true, "unlock at 2^62")
  h.fails(E.EINVAL, nil, c.lock:lock("w", -1, 1, 0))
  h.fails(E.EINVAL, nil, P.spawn(TRUE, { umask = 2 ^ 31 - 1 }))
  h.fails(E.EINVAL, nil, P.spawn(TRUE, { pgroup = 2 ^ 31 }))
  h.fails(E.EINVAL, nil, P.spawn(TRUE, { fds = { [2 ^ 31 - 1] = "null" } }))
  h.fails(E.EINVAL, nil, c.sleeper:info(2 ^ 31 - 1))
  -- (Windows: a job's memory limit; core has no Windows counterpart, lipc.h)
  local p = assert(P.spawn(TRUE,
                           { rlimits = h.windows and { as = 2LL ^ 62 } or { core = 2LL ^ 62 } }))
  h.eq(p:wait(10), 0, "a limit of 2^62 (cdata)")
  p:close()
  teardown(c)
end

-- The cases of the issue that LuaJIT could reach, with what used to happen.
function T.the_issues_cases()
  local c = setup()
  -- an fd beyond a C int waited on, or locked, fd 1 / fd 5 instead
  h.raises("bad argument #1 to 'wait_fds'", lipc.wait_fds, { { fd = 2 ^ 32 + 1, read = true } }, 0)
  h.raises("bad argument #1 to 'from_file'", lipc.flock.from_file, 2 ^ 32 + 5)
  -- advice and figure numbers beyond a C int were advice 1 / figure 1
  h.raises("bad argument #1 to 'advise'", c.map.advise, c.map, 2 ^ 32 + 1)
  h.raises("bad argument #1 to 'info'", c.sleeper.info, c.sleeper, 2 ^ 32 + 1)
  -- a child fd key beyond a C int mapped child fd 0
  h.raises("fds keys: integers", P.spawn, TRUE, { fds = { [2 ^ 32] = "null" } })
  -- an offset beyond 2^53 was a different offset
  h.raises("bad argument #2 to 'lock'", c.lock.lock, c.lock, "w", 2 ^ 53 + 2, 1, 0)
  h.raises("bad argument #1 to 'strerror'", lipc.strerror, 2 ^ 70)
  h.eq(c.sleeper:status(), "running", "no signal sent")
  teardown(c)
end

-- A huge grace went to C as that many milliseconds (math.huge as 2^53), and
-- the library's close-policy timer (nanoseconds in an int64) overflowed for
-- more than about 9.2e12 ms: SIGKILL at once instead of never. Graces are
-- now capped at the longest time the library waits.
function T.huge_grace_on_close_never_kills()
  h.posix_only("sh's TERM trap; on Windows the graceful stop is a console control event (windows-wine.md, gap 6)")
  for _, grace in ipairs({ 1e10, 2 ^ 40, math.huge }) do
    local marker = h.tmpdir() .. "/termed"
    os.remove(marker)
    local p = assert(P.spawn({ "sh", "-c", ('trap "echo term > %s; exit 7" TERM; echo ready; while :; do sleep 0.05; done')
                                :format(marker) }, { stdout = true, on_close = "stop", grace = grace, autokill = true }))
    h.eq(p:stdout():read("l", 10), "ready", "started")
    local pid = p:pid()
    p:close() -- TERM now, KILL after the grace (never)
    h.ok(h.wait_dead(pid, 10), "the child ended")
    local f = io.open(marker)
    h.ok(f, ("grace %s: the child ran its TERM trap (it was not SIGKILLed at once)"):format(show(grace)))
    if f then f:close() end
  end
end

local function ready_waits(c)
  return {
    { "sem:wait", function(t)
        local s = assert(lipc.sem.open(h.sem_name(), { create = true, value = 1 }))
        local r = s:wait(t); s:close(); return r
      end },
    { "mutex:lock", function(t)
        local m = assert(lipc.mutex.open(h.obj_name("mutex"), { create = true }))
        local r = m:lock(t); if r then m:unlock() end; m:close(); return r
      end },
    { "event:wait", function(t)
        local e = assert(lipc.event.open(h.obj_name("event"), { create = true, initially_set = true }))
        local r = e:wait(t); e:close(); return r
      end },
    { "flock:lock", function(t)
        local r = c.lock:lock("w", 100, 1, t); if r then c.lock:unlock(100, 1) end; return r
      end },
    { "p:wait", function(t)
        local p = assert(P.spawn(TRUE)); local r = p:wait(t); p:close(); return r == 0
      end },
    { "p:communicate", function(t)
        local p = assert(P.spawn(ECHO_HI, { stdout = true }))
        local r = p:communicate(nil, t); p:wait(10); p:close()
        return r ~= nil and (r:gsub("\r\n", "\n")) == "hi\n" -- (a Windows child's text mode: \r\n)
      end },
    { "wait_fds", function(t) return #assert(lipc.wait_fds({ { fd = c.w.fd, write = true } }, t)) == 1 end },
    { "wait_any", function(t)
        local p = assert(P.spawn(TRUE)); local r = P.wait_any({ p }, t); p:wait(10); p:close()
        return r and r[1] == p
      end },
    { "pipe:read", function(t)
        assert(c.w:write("x")); return c.r:read(1, t) == "x"
      end },
    { "ipc.sem:dec", function(t)
        local s = assert(require("ipc.sem").open(h.sem_name(), 1)); local r = s:dec(t); s:close(); return r
      end },
  }
end

function T.huge_timeouts_wait_forever_and_bad_ones_raise()
  local c = setup()
  for _, w in ipairs(ready_waits(c)) do
    for _, t in ipairs({ inf, 1e300, 2 ^ 31, 2 ^ 63, -1, -inf }) do
      h.eq(w[2](t), true, ("%s(%s) returns at once"):format(w[1], show(t)))
    end
    for _, t in ipairs({ nan, "1", {} }) do
      local ok, err = pcall(w[2], t)
      h.ok(not ok and tostring(err):find("bad argument", 1, true), ("%s(%s) raises: %s"):format(w[1], show(t), tostring(err)))
    end
  end
  for _, g in ipairs({ nan, -1, -inf, "1" }) do
    h.raises("grace", P.spawn, TRUE, { on_close = "stop", grace = g })
    h.raises("grace", c.sleeper.stop, c.sleeper, g)
  end
  teardown(c)
end

-- The same checks once LuaJIT has compiled them: its compiled code once
-- called 2ULL^64 - 1 equal to math.huge (and so "unlimited") where the
-- interpreter refused it, so a caller in a loop got no error. 300 calls
-- make the checks hot; each must still raise, and -1LL and math.huge must
-- still mean unlimited.
function T.rlimit_checks_hold_in_compiled_code()
  for _, v in ipairs({ 2ULL ^ 64 - 1, 2ULL ^ 63, -2LL, -2 }) do
    local raised = 0
    for _ = 1, 300 do
      local ok, err = pcall(P.prepare, TRUE, { rlimits = { core = { 0, v } } })
      if not ok and tostring(err):find("bad argument", 1, true) then raised = raised + 1
      elseif ok and err then err:close() end
    end
    h.eq(raised, 300, ("rlimit %s refused in each of 300 calls"):format(show(v)))
  end
  -- (Windows: a job's memory limit; core has no Windows counterpart, lipc.h)
  local res = h.windows and "as" or "core"
  for _, v in ipairs({ -1LL, inf, -1, "unlimited" }) do
    local made, err = 0, nil
    for _ = 1, 300 do
      local pr, msg = P.prepare(TRUE, { rlimits = { [res] = { 2 ^ 30, v } } })
      if pr then made = made + 1; pr:close() else err = msg end
    end
    h.eq(made, 300, ("rlimit %s is unlimited in each of 300 calls (%s)"):format(show(v), tostring(err)))
  end
end

-- An int64_t cdata just beyond 2^53 reaches C as itself: check_int64 once
-- turned it into a double first (tonumber) and kept that double whenever it
-- was within +-2^53, so 2^53 + 1 became 2^53 (and -(2^53 + 1) -2^53): a
-- lock one byte off. Two lock objects (two open file descriptions): one
-- locks the byte at 2^53 + 1; the byte at 2^53 must still be free.
function T.int64_cdata_beyond_2_53_is_not_rounded()
  local c = setup()
  local other = assert(lipc.flock.open(c.path))
  for _, v in ipairs({ 2LL ^ 53 + 1, 2ULL ^ 53 + 1 }) do
    h.eq(c.lock:lock("w", v, 1, 0), true, "lock at " .. show(v))
    h.eq(other:lock("w", 2 ^ 53, 1, 0), true, "the byte at 2^53 is free beside " .. show(v))
    h.eq(other:unlock(2 ^ 53, 1), true, "unlock at 2^53")
    h.eq(other:lock("w", v, 1, 0), false, "the byte at " .. show(v) .. " is taken")
    h.eq(c.lock:unlock(v, 1), true, "unlock at " .. show(v))
  end
  other:close()
  teardown(c)
  -- the same check once compiled: 300 calls, each exact
  local check_int64, exact = require("lipc.errors").check_int64, 0
  for i = 1, 300 do
    local v = i % 2 == 0 and 2LL ^ 53 + 1 or -2LL ^ 53 - 1
    local x = check_int64(v, 1, "f")
    if type(x) == "cdata" and x == v then exact = exact + 1 end
  end
  h.eq(exact, 300, "+-(2^53 + 1) kept exactly in each of 300 calls")
end

return T
