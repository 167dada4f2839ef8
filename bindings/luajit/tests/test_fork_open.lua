-- Prefork workers open named objects by name: in the child of a plain
-- fork() (an nginx/OpenResty-style master forking its workers), a worker
-- handed a name opens the semaphore, shared memory, mutex or event itself.
-- Go cannot run in a fork child; lipc opens there in C with the same checks
-- and errors as anywhere (the C suite's test_fork_open compares the two case
-- by case); lock files open there too (test_fork_flock.lua). What still
-- needs Go (spawning, opening files to map, growing shared memory) fails at
-- once with EFORKED and a message naming the way out. Every wait has a deadline, so a hang fails the test.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E = lipc.errors

pcall(ffi.cdef, "int chown(const char *path, unsigned owner, unsigned group);")
local C = ffi.C

local LIMIT = 10 -- seconds for any one step of the other side

-- A Lua list of strings and numbers as Lua source, and back: how a child's
-- findings cross the pipe.
local function dump(list)
  local t = {}
  for i, v in ipairs(list) do t[i] = type(v) == "string" and ("%q"):format(v) or tostring(v) end
  return "return {" .. table.concat(t, ",") .. "}"
end
local function undump(s) return assert(loadstring(s))() end

-- The objects a test shares with its child, created in the parent.
local function make(tag)
  local o = { name = h.obj_name("sem") }
  o.s1 = assert(lipc.sem.open(o.name, { create = true, exclusive = true }))
  o.name2 = h.obj_name("sem")
  o.s2 = assert(lipc.sem.open(o.name2, { create = true, exclusive = true }))
  o.shm_name = h.obj_name("shm")
  o.shm = assert(lipc.shm.open(o.shm_name, { create = true, exclusive = true, size = 4096 }))
  o.mutex_name = h.obj_name("mutex")
  o.mutex = assert(lipc.mutex.open(o.mutex_name, { create = true, exclusive = true }))
  o.event_name = h.obj_name("event")
  o.event = assert(lipc.event.open(o.event_name, { create = true, exclusive = true }))
  o.tag = tag
  return o
end
local function close_all(o)
  for _, k in ipairs({ "s1", "s2", "shm", "mutex", "event" }) do o[k]:close() end
end

-- The parent waits for the child's signal on sem (a lipc.sem, or an ipc.sem
-- with dec); if it does not come, the child's own report (its error) is the
-- failure.
local function await(sem, child, what)
  if (sem.wait or sem.dec)(sem, LIMIT) == true then return end
  local ok, err = pcall(child.result, 1)
  error(("no %s from the child: %s"):format(what, ok and "it ended: " .. tostring(err) or tostring(err)), 2)
end

local T = {}

function T.child_opens_the_parents_objects_and_uses_them_with_it()
  local o = make("use")
  local ok, err = pcall(function()
    o.shm:write_at(0, "papa")
    local child = h.fork(function()
      local s1 = assert(lipc.sem.open(o.name))
      local s2 = assert(lipc.sem.open(o.name2))
      local shm = assert(lipc.shm.open(o.shm_name))
      local m = assert(lipc.mutex.open(o.mutex_name))
      local ev = assert(lipc.event.open(o.event_name))
      assert(shm:size() == 4096, "size " .. shm:size())
      assert(shm:read_at(0, 4) == "papa", "the parent's bytes: " .. shm:read_at(0, 4))
      assert(m:lock(LIMIT))
      shm:write_at(8, "child")
      assert(ev:set())
      assert(s1:post())                        -- 1: locked, written, set
      assert(s2:wait(LIMIT), "no go-ahead 1")
      assert(m:unlock())
      assert(s1:post())                        -- 2: unlocked
      assert(s2:wait(LIMIT), "no go-ahead 2")  -- the parent holds the mutex now
      local got = m:trylock()
      assert(got == false, "trylock of the parent's mutex: " .. tostring(got))
      assert(ev:wait(0) == false, "the parent's reset was not seen")
      assert(shm:read_at(16, 6) == "parent", "the parent's later bytes")
      assert(s2:value() == 0 and s1:value() == 0)
      for _, x in ipairs({ s1, s2, shm, m, ev }) do assert(x:close()) end
      return "done"
    end)
    await(o.s1, child, "signal 1")
    h.eq(o.event:is_set(), true, "event set in the child")
    h.eq(o.shm:read_at(8, 5), "child", "bytes written in the child")
    h.eq(o.mutex:locked(), true, "the child holds the mutex")
    h.eq((o.mutex:trylock()), false, "parent's trylock while the child holds it")
    o.shm:write_at(16, "parent")
    o.event:reset()
    assert(o.s2:post())
    await(o.s1, child, "signal 2")
    h.eq((o.mutex:lock(LIMIT)), true, "the parent locks once the child unlocked")
    assert(o.s2:post())
    h.eq(child.result(LIMIT), "done", "the child's report")
    assert(o.mutex:unlock())
    h.eq(lipc.diag("fp_selftest"), 1, "the parent's Go runtime is unharmed")
  end)
  close_all(o)
  if not ok then error(err, 0) end
end

function T.child_creates_and_unlinks_for_the_parent()
  local made = { sem = h.obj_name("sem"), shm = h.obj_name("shm"), mutex = h.obj_name("mutex"),
                 event = h.obj_name("event") }
  local doomed = { sem = h.obj_name("sem"), shm = h.obj_name("shm"), mutex = h.obj_name("mutex"),
                   event = h.obj_name("event") }
  local own = h.obj_name("sem") -- created and removed by the child (unlink_on_close)
  local keep = {
    assert(lipc.sem.open(doomed.sem, { create = true, exclusive = true })),
    assert(lipc.shm.open(doomed.shm, { create = true, exclusive = true, size = 64 })),
    assert(lipc.mutex.open(doomed.mutex, { create = true, exclusive = true })),
    assert(lipc.event.open(doomed.event, { create = true, exclusive = true })),
  }
  local ok, err = pcall(function()
    local child = h.fork(function()
      local s = assert(lipc.sem.open(made.sem, { create = true, exclusive = true, value = 5 }))
      local m = assert(lipc.shm.open(made.shm, { create = true, exclusive = true, size = 8192 }))
      m:write_at(0, "made in the child")
      local x = assert(lipc.mutex.open(made.mutex, { create = true, exclusive = true }))
      local e = assert(lipc.event.open(made.event, { create = true, exclusive = true, initially_set = true }))
      for _, o in ipairs({ s, m, x, e }) do assert(o:close()) end
      for _, kind in ipairs({ "sem", "shm", "mutex", "event" }) do
        assert(lipc[kind].unlink(doomed[kind]))
        local none, _, code = lipc[kind].unlink(doomed[kind])
        assert(none == nil and code == E.ENOENT, kind .. ": unlinked twice")
      end
      local o = assert(lipc.sem.open(own, { create = true, exclusive = true, unlink_on_close = true }))
      assert(o:close())
      return "done"
    end)
    h.eq(child.result(LIMIT), "done", "the child's report")
    local s = assert(lipc.sem.open(made.sem))
    h.eq(s:value(), 5, "value of the child's semaphore")
    s:close()
    local m = assert(lipc.shm.open(made.shm))
    h.eq(m:size(), 8192, "size of the child's shared memory")
    h.eq(m:read_at(0, 17), "made in the child", "its bytes")
    m:close()
    assert(lipc.mutex.open(made.mutex)):close()
    local e = assert(lipc.event.open(made.event))
    h.eq(e:is_set(), true, "the child's event, created set")
    e:close()
    for _, kind in ipairs({ "sem", "shm", "mutex", "event" }) do
      h.fails(E.ENOENT, nil, lipc[kind].open(doomed[kind]))
    end
    h.fails(E.ENOENT, nil, lipc.sem.open(own))
    h.ok(keep[1]:post() and keep[1]:value() == 1, "the unlinked semaphore the parent holds works on")
  end)
  for _, o in ipairs(keep) do o:close() end
  if not ok then error(err, 0) end
end

-- Every refusal as (code, message), in the order tried.
local function refusals(base, foreign)
  local attempts = {
    function() return lipc.sem.open(base .. "-missing") end,
    function() return lipc.shm.open(base, { create = true, exclusive = true, size = 4096 }) end,
    function() return lipc.mutex.open("bad/name", { create = true }) end,
    function() return lipc.event.open("." .. base) end,
    function() return lipc.sem.open(("n"):rep(201)) end,
    function() return lipc.sem.open(base .. "-short", { create = true }) end, -- 4 bytes: not a semaphore
    function() return lipc.mutex.unlink(base .. "-missing") end,
    function() return lipc.shm.open(base .. "-missing", { create = true, size = 0 }) end,
  }
  if foreign then attempts[#attempts + 1] = function() return lipc.sem.open(foreign) end end
  local out = {}
  for _, attempt in ipairs(attempts) do
    local r, msg, code = attempt()
    if r then
      if type(r) == "table" then r:close() end
      out[#out + 1], out[#out + 2] = 0, "no error"
    else
      out[#out + 1], out[#out + 2] = code, msg
    end
  end
  return out
end

function T.child_refuses_as_the_parent_does()
  local base = h.obj_name("shm")
  local shm = assert(lipc.shm.open(base, { create = true, exclusive = true, size = 4096 }))
  local short = "/dev/shm/sem." .. base .. "-short"
  local f = assert(io.open(short, "wb"))
  f:write("\255\255\255\255")
  f:close()
  local foreign
  if C.geteuid() == 0 then -- a valid semaphore that user nobody owns
    foreign = h.obj_name("sem")
    assert(lipc.sem.open(foreign, { create = true, exclusive = true })):close()
    assert(C.chown("/dev/shm/sem." .. foreign, 65534, 65534) == 0)
  end
  local ok, err = pcall(function()
    local here = refusals(base, foreign)
    local child = h.fork(function() return dump(refusals(base, foreign)) end)
    local there = undump(child.result(LIMIT))
    h.eq(#there, #here, "number of results")
    local count = {}
    for i = 1, #here, 2 do
      h.eq(there[i], here[i], "code of attempt " .. (i + 1) / 2)
      h.eq(there[i + 1], here[i + 1], "message of attempt " .. (i + 1) / 2)
      count[here[i]] = (count[here[i]] or 0) + 1
    end
    h.eq(count[0], nil, "an attempt that did not fail")
    h.eq(count[E.ENOENT], 2, "ENOENT refusals")
    h.eq(count[E.EEXIST], 1, "EEXIST refusals")
    h.eq(count[E.EINVAL], 4, "EINVAL refusals")
    h.eq(count[E.ENAMETOOLONG], 1, "ENAMETOOLONG refusals")
    h.eq(count[E.EPERM], foreign and 1 or nil, "EPERM refusals")
  end)
  shm:close()
  os.remove(short)
  if not ok then error(err, 0) end
end

function T.what_needs_go_fails_in_the_child_with_eforked_at_once()
  local shm_name = h.obj_name("shm")
  local shm = assert(lipc.shm.open(shm_name, { create = true, exclusive = true, size = 4096 }))
  local file = h.tmpdir() .. "/fork-open-file"
  local f = assert(io.open(file, "wb"))
  f:write(("x"):rep(4096))
  f:close()
  local ok, err = pcall(function()
    local child = h.fork(function()
      local mine = assert(lipc.shm.open(shm_name))
      local out, t0 = {}, h.now()
      local function try(what, r, msg, code)
        if r then error(what .. " worked in a fork child") end
        out[#out + 1], out[#out + 2], out[#out + 3] = what, code, msg
      end
      try("spawn", lipc.proc.spawn({ "true" }))
      try("mmap.open", lipc.mmap.open(file))
      try("grow (inherited)", shm:grow(8192))
      try("grow (opened here)", mine:grow(8192))
      try("refresh", mine:refresh())
      mine:close()
      out[#out + 1] = h.now() - t0
      return dump(out)
    end)
    local got = undump(child.result(LIMIT))
    h.ok(got[#got] < 2, ("the refusals took %.2fs"):format(got[#got]))
    h.eq(#got, 3 * 5 + 1, "results")
    for i = 1, #got - 1, 3 do
      local what, code, msg = got[i], got[i + 1], got[i + 2]
      h.eq(code, E.EFORKED, what .. ": code")
      h.ok(msg:find("child of a fork()", 1, true), what .. ": message says why: " .. msg)
      h.ok(msg:find("named objects", 1, true) and msg:find("exec", 1, true),
           what .. ": message names what works and the way out: " .. msg)
    end
    h.eq(shm:size(), 4096, "the parent's view")
    h.ok(shm:grow(8192), "the parent still grows")
    local p = assert(lipc.proc.spawn({ "true" }))
    h.eq(p:wait(LIMIT), 0, "the parent still spawns")
    p:close()
  end)
  shm:close()
  os.remove(file)
  if not ok then error(err, 0) end
end

-- LuaIPC's ipc.sem and ipc.shm (the drop-in layer) in a fork child: a
-- LuaIPC program's worker opens by name as it did under LuaIPC (and locks
-- files: test_fork_flock.lua).
function T.luaipc_layer_opens_by_name_in_a_fork_child()
  local ipc_sem, ipc_shm, ipc_mmap = require "ipc.sem", require "ipc.shm", require "ipc.mmap"
  local ipc_proc = require "ipc.proc"
  local sname, mname, cname = h.obj_name("sem"), h.obj_name("shm"), h.obj_name("shm")
  local go = h.obj_name("sem")
  local s = assert(ipc_sem.open(sname, 1))     -- the owner: close() removes the name
  local back = assert(ipc_sem.open(go, 1))
  assert(back:dec(0))
  local m = assert(ipc_shm.create(mname, 64))
  local file = h.tmpdir() .. "/fork-open-ipc"
  local f = assert(io.open(file, "wb"))
  f:write(("x"):rep(64))
  f:close()
  local ok, err = pcall(function()
    m:write("papa")
    local child = h.fork(function()
      local cs = assert(ipc_sem.open(sname))
      assert(cs:dec(LIMIT) == true, "dec of the parent's semaphore")
      local cm = assert(ipc_shm.attach(mname))
      assert(cm:read(4) == "papa", "the parent's bytes")
      assert(cm:write("child"))
      local mine = assert(ipc_shm.create(cname, 32))
      assert(mine:write("made here"))
      local cb = assert(ipc_sem.open(go))
      assert(cb:inc())                        -- made: the parent attaches now
      assert(cs:dec(LIMIT) == true, "no go-ahead")
      assert(mine:close())                    -- the child is its owner: the name goes
      local _, msg1, errno1 = ipc_sem.open(sname .. "-missing")
      local out = { msg1, errno1 }
      local function need_go(r, msg, errno)
        assert(r == nil, "worked in a fork child")
        out[#out + 1], out[#out + 2] = msg, errno
      end
      need_go(ipc_mmap.open(file))
      need_go(ipc_proc.spawn("true", {}))
      for _, x in ipairs({ cs, cm, cb }) do assert(x:close()) end
      return dump(out)
    end)
    await(back, child, "signal")
    h.eq(s:dec(0), false, "the child's dec of the parent's semaphore")
    local theirs = assert(ipc_shm.attach(cname))
    h.eq(theirs:read(9), "made here", "bytes of the child's segment")
    assert(theirs:close())
    m:seek("set", 4)
    h.eq(m:read(5), "child", "bytes the child wrote")
    assert(s:inc())
    local got = undump(child.result(LIMIT))
    local none = { ipc_shm.attach(cname) }
    h.eq(none[1], nil, "the child's segment after its owner closed it")
    h.eq(none[3], 2, "errno")
    local here = { ipc_sem.open(sname .. "-missing") }
    h.eq(got[1], here[2], "missing: the parent's message")
    h.eq(got[2], here[3], "missing: the parent's errno")
    -- mapping and spawning need Go: LuaIPC's triple for EFORKED, EOPNOTSUPP (95)
    h.eq(#got, 2 + 2 * 2, "results")
    for i, what in ipairs({ "ipc.mmap.open", "ipc.proc.spawn" }) do
      h.eq(got[1 + 2 * i], lipc.strerror(E.EOS_BASE - 95), what .. ": message")
      h.eq(got[2 + 2 * i], 95, what .. ": errno")
    end
  end)
  s:close()
  back:close()
  m:close()
  os.remove(file)
  if not ok then error(err, 0) end
end

return h.posix_only_file(T, "fork")
