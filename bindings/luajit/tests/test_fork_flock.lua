-- Prefork workers open lock files themselves: in the child of a plain
-- fork() (an nginx/OpenResty-style master forking its workers, or a LuaIPC
-- program's worker), lipc.flock.open, flock.from_file and LuaIPC's
-- ipc.filelock on a file first locked in the child work, and the child's
-- locks exclude the parent's. Go cannot run in a fork child; lipc opens the
-- file there in C with the same checks and errors as anywhere (the C
-- suite's test_fork_flock compares the two case by case). Every wait has a
-- deadline, so a hang fails the test.
local lipc = require "lipc"
local h = require "helpers"
local E = lipc.errors

local LIMIT = 10 -- seconds for any one step of the other side

local function await(sem, child, what)
  if sem:wait(LIMIT) == true then return end
  local ok, err = pcall(child.result, 1)
  error(("no %s from the child: %s"):format(what, ok and "it ended: " .. tostring(err) or tostring(err)), 2)
end

-- Two semaphores for a conversation with a child, and a lock file.
local function setup(tag)
  local o = { locked = h.obj_name("sem"), go = h.obj_name("sem") }
  o.s_locked = assert(lipc.sem.open(o.locked, { create = true, exclusive = true }))
  o.s_go = assert(lipc.sem.open(o.go, { create = true, exclusive = true }))
  o.file = h.tmpdir() .. "/fork-flock-" .. tag
  local f = assert(io.open(o.file, "wb"))
  f:write("lock")
  f:close()
  return o
end

local function teardown(o)
  o.s_locked:close()
  o.s_go:close()
  os.remove(o.file)
end

-- The child locks with lock(file), tells the parent, waits for the
-- go-ahead, lets go with release() and reports; the parent, with its own
-- open_parent(file), checks with check(mine, child_holds, file).
local function converse(tag, open_parent, lock, release, check)
  local o = setup(tag)
  local mine = assert(open_parent(o.file))
  local ok, err = pcall(function()
    local child = h.fork(function()
      local locked, go = assert(lipc.sem.open(o.locked)), assert(lipc.sem.open(o.go))
      lock(o.file)
      assert(locked:post())
      assert(go:wait(LIMIT), "no go-ahead")
      release()
      assert(locked:post())
      assert(go:wait(LIMIT), "no go-ahead")
      locked:close()
      go:close()
      return "done"
    end)
    await(o.s_locked, child, "lock")
    check(mine, true, o.file)
    assert(o.s_go:post())
    await(o.s_locked, child, "release")
    check(mine, false, o.file)
    assert(o.s_go:post())
    h.eq(child.result(LIMIT), "done", "the child's report")
  end)
  mine:close()
  teardown(o)
  if not ok then error(err, 0) end
end

local T = {}

for _, kind in ipairs({ "fcntl", "flock" }) do
  T["child_opens_a_" .. kind .. "_lock_that_excludes_the_parent"] = function()
    local L
    converse(kind, function(file) return lipc.flock.open(file, { kind = kind }) end, function(file)
      L = assert(lipc.flock.open(file, { kind = kind }))
      assert(L:trylock("w") == true, "the child's lock")
    end, function()
      assert(L:close()) -- the close releases it
    end, function(mine, child_holds)
      local got, _, code = mine:trylock("w")
      if child_holds then
        h.eq(got, false, "the parent's try while the child holds it")
        h.eq(code, E.EAGAIN, "code")
      else
        h.eq(got, true, "the parent's try once the child closed its lock")
        assert(mine:unlock())
      end
    end)
  end
end

function T.child_from_file_classic_lock_excludes_the_parent()
  local fh, L
  converse("classic", lipc.flock.open, function(file)
    fh = assert(io.open(file, "r+b"))
    L = assert(lipc.flock.from_file(fh, { classic = true }))
    assert(L:lock("w", 0, 0, LIMIT) == true, "the child's lock")
  end, function()
    assert(L:unlock())
    assert(L:close())
    assert(fh:seek("set", 0), "the child's file stays open after the classic object's close")
    fh:close()
  end, function(mine, child_holds)
    local got = mine:trylock("w")
    h.eq(got, not child_holds, "the parent's try")
    if got then assert(mine:unlock()) end
  end)
end

-- LuaIPC's ipc.filelock: a worker locks a file it never locked before the
-- fork (it failed with EOPNOTSUPP, LuaIPC's errno for EFORKED). The parent
-- checks with a lipc lock: classic and handle-owned fcntl locks conflict
-- (ipc.filelock here would keep a lock object alive until its file is
-- collected, which later tests would count).
function T.luaipc_filelock_in_a_fork_child()
  local ipc_filelock = require "ipc.filelock"
  local fh
  converse("ipc", lipc.flock.open, function(file)
    fh = assert(io.open(file, "r+b"))
    local r, msg, errno = ipc_filelock.lock(fh, "w")
    assert(r == true, ("ipc.filelock.lock in a fork child: %s %s"):format(tostring(msg), tostring(errno)))
    assert(fh:write("kid!"))
  end, function()
    assert(ipc_filelock.unlock(fh) == true)
    fh:close()
  end, function(mine, child_holds, file)
    local got = mine:trylock("w")
    h.eq(got, not child_holds, "the parent's try")
    if got then
      local f = assert(io.open(file, "rb"))
      h.eq(f:read(4), "kid!", "what the child wrote under its lock")
      f:close()
      assert(mine:unlock())
    end
  end)
end

-- The child's refusals are the parent's, message for message.
function T.child_errors_are_the_parents()
  local dir = h.tmpdir()
  local attempts = {
    function() return lipc.flock.open(dir .. "/fork-flock-missing") end,
    function() return lipc.flock.open(dir) end,
    function() return lipc.flock.open("/dev/null", "r") end,
    function() return lipc.flock.from_file(9999) end,
  }
  local function run()
    local out = {}
    for _, f in ipairs(attempts) do
      local r, msg, code = f()
      out[#out + 1] = tostring(r) .. "|" .. tostring(msg) .. "|" .. tostring(code)
    end
    return table.concat(out, "\n")
  end
  local here = run()
  local child = h.fork(run)
  h.eq(child.result(LIMIT), here, "the child's results")
  h.ok(here:find("not a regular file: it is a directory", 1, true), here)
end

return h.posix_only_file(T, "fork")
