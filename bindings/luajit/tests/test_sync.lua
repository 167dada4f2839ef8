-- Mutexes and events (and semaphores across languages): open/create/
-- exclusive/missing, lock/unlock/try/relock, owner death of a holder killed
-- with -9 (a C and a LuaJIT holder), mutual exclusion with C processes,
-- timeouts neither early nor late, EINTR, manual- vs auto-reset wake counts
-- with child processes, events set from C, semaphores created in Python and
-- waited on here and the other way round, bad input.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E, mutex, event, sem = lipc.errors, lipc.mutex, lipc.event, lipc.sem

local ENOTRECOVERABLE = 131 -- Linux
local LATE = 0.03 -- how late a timed wait may return on a noisy machine

local function new_mutex(extra)
  local name = h.obj_name("mutex")
  local opts = { create = true, exclusive = true }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(mutex.open(name, opts)), name
end

local function new_event(extra)
  local name = h.obj_name("event")
  local opts = { create = true, exclusive = true }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(event.open(name, opts)), name
end

-- Runs attempt() -> elapsed, want up to 3 times: elapsed must never be
-- below want (minus clock granularity), and at least one try must end
-- within LATE of it (a noisy machine may delay a wake-up, not a deadline).
local function check_timing(what, attempt)
  local worst
  for _ = 1, 3 do
    local el, want = attempt()
    h.ok(el >= want - 0.0005, ("%s: returned early: %.4f s for %.3f s"):format(what, el, want))
    if el < want + LATE then return end
    worst = ("%.4f s for %.3f s"):format(el, want)
  end
  error(what .. ": late three times, last " .. worst, 2)
end

local T = {}

---- mutexes ----

function T.mutex_create_exclusive_open_existing_missing()
  local name = h.obj_name("mutex")
  h.fails(E.ENOENT, nil, mutex.open(name))
  h.fails(E.EINVAL, nil, mutex.open(name, { exclusive = true })) -- exclusive without create
  local a = assert(mutex.open(name, { create = true, exclusive = true }))
  h.eq(a.name, name, "name field")
  h.eq(lipc.handle_kind(a.handle), lipc.KIND_MUTEX, "kind")
  h.ok(tostring(a):find(name, 1, true), "tostring names it")
  h.fails(E.EEXIST, nil, mutex.open(name, { create = true, exclusive = true }))
  local b = assert(mutex.open("/" .. name))
  h.eq(a:lock(), true, "a locks")
  -- same thread, same mutex through another handle: a try fails as any try
  -- on a held mutex (as threading.Lock's); a wait fails at once (EBUSY)
  h.fails(E.EAGAIN, false, b:lock(0))
  h.fails(E.EAGAIN, false, b:trylock())
  h.fails(E.EBUSY, nil, b:lock())
  h.eq(b:locked(), true, "locked() sees it held")
  h.eq(a:unlock(), true, "unlock")
  h.eq(b:locked(), false, "locked() after the unlock")
  -- Windows (lipc.h): unlink is LIPC_OK while the mutex exists, which is
  -- while a handle holds it
  if h.windows then h.eq(mutex.unlink(name), true, "unlink (Windows: while open)") end
  a:close(); b:close()
  h.raises("attempt to use closed mutex", b.locked, b)
  if not h.windows then h.eq(mutex.unlink(name), true, "unlink") end
  h.fails(E.ENOENT, nil, mutex.unlink(name))
  h.fails(E.ENOENT, nil, mutex.open(name))
end

function T.mutex_lock_unlock_relock_consistent()
  local m = new_mutex()
  h.eq(select("#", m:lock()), 1, "a plain lock returns true alone")
  h.eq(m.owner_died, false, "owner_died flag")
  local msg = h.fails(E.EBUSY, nil, m:lock(1))
  h.ok(msg:find("already holds", 1, true), "message: " .. msg)
  h.eq(m:unlock(), true, "unlock")
  h.fails(E.EPERM, nil, m:unlock())
  h.eq(m:trylock(), true, "trylock when free")
  h.eq(m:unlock(), true, "unlock")
  h.fails(E.EINVAL, nil, m:consistent())
  m:close()
end

function T.mutex_with_lock_unlocks_on_error()
  local m = new_mutex()
  local a, b = m:with_lock(function(x, y) return x + y, "held" end, 2, 3)
  h.eq(a, 5, "result"); h.eq(b, "held", "second result")
  h.eq(m:trylock(), true, "unlocked after fn")
  m:unlock()
  h.raises("boom", m.with_lock, m, function() error("boom") end)
  h.eq(m:trylock(), true, "unlocked after fn raised")
  m:unlock()
  h.raises("bad argument #1 to 'with_lock'", m.with_lock, m, 42)
  m:close()
end

-- kill -9 a process holding the mutex: the next locker gets it with
-- owner_died within 100 ms of the kill.
local function owner_died_after_kill(p, m)
  h.fails(E.EAGAIN, false, m:trylock())
  local t0 = h.now()
  assert(p:kill("KILL"))
  local ok, why = m:lock(5)
  local dt = h.now() - t0
  h.eq(ok, true, "locked after the holder died: " .. tostring(why))
  h.eq(why, "owner_died", "owner died reported")
  h.eq(m.owner_died, true, "m.owner_died")
  h.ok(dt < 0.1, ("owner death seen %.1f ms after the kill"):format(dt * 1000))
  p:wait(5)
end

function T.mutex_c_holder_killed_gives_owner_died()
  local m, name = new_mutex()
  local p, line = h.role("hold-mutex", name)
  h.eq(line(), "L", "C holder locked")
  owner_died_after_kill(p, m)
  h.eq(m:consistent(), true, "consistent")
  h.eq(m.owner_died, false, "flag cleared")
  h.eq(m:unlock(), true, "unlock")
  local ok, why = m:lock(1)
  h.eq(ok, true, "usable again"); h.eq(why, nil, "no owner death this time")
  m:unlock()
  -- Not marked consistent: the mutex becomes unusable, with a clear error.
  p, line = h.role("hold-mutex", name)
  h.eq(line(), "L", "second holder")
  owner_died_after_kill(p, m)
  h.eq(m:unlock(), true, "unlock without consistent")
  local r, msg, code, e = m:lock(0.1)
  h.eq(r, nil, "lock of an unrecoverable mutex")
  h.eq(code, E.EOS_BASE - ENOTRECOVERABLE, "code")
  h.eq(lipc.os_errno(code), ENOTRECOVERABLE, "os errno"); h.eq(e, ENOTRECOVERABLE, "errno")
  h.ok(msg:find("recoverable", 1, true), "message: " .. tostring(msg))
  m:close()
end

function T.mutex_luajit_holder_killed_gives_owner_died()
  local m, name = new_mutex()
  local p, line = h.spawn_luajit(([[
    local lipc = require "lipc"
    local m = assert(lipc.mutex.open(%q))
    assert(m:lock())
    io.write("L\n"); io.flush()
    lipc.wait_fds({}, 60)
  ]]):format(name))
  h.eq(line(), "L", "LuaJIT holder locked")
  owner_died_after_kill(p, m)
  h.eq(m:consistent(), true, "consistent")
  h.eq(m:unlock(), true, "unlock")
  m:close()
end

function T.mutex_excludes_c_processes()
  local m, name = new_mutex()
  local sname = h.obj_name("shm")
  local s = assert(lipc.shm.open(sname, { create = true, exclusive = true, size = 4096 }))
  local go = new_event()
  local counter = ffi.cast("volatile uint32_t *", s:ptr())
  local N = 100000
  local kids = {}
  for i = 1, 2 do kids[i] = { h.role("mutex-count", name, sname, tostring(N), go.name) } end
  for i = 1, 2 do h.eq(kids[i][2](), "ready", "C worker " .. i .. " ready") end
  go:set() -- all three count at once
  for _ = 1, N do
    assert(m:lock())
    local v = counter[0]
    for _ = 1, 100 do end
    counter[0] = v + 1
    m:unlock()
  end
  for i = 1, 2 do
    h.eq(kids[i][2](30), "done", "C worker " .. i)
    h.eq(kids[i][1]:wait(10), 0, "C worker exit")
  end
  h.eq(counter[0], 3 * N, "increments under the mutex, none lost")
  s:close(); m:close(); go:close()
end

function T.mutex_timeouts_neither_early_nor_late()
  local m, name = new_mutex()
  local _, line = h.role("hold-mutex", name)
  h.eq(line(), "L", "holder")
  for _, t in ipairs({ 0.02, 0.1, 0.25 }) do
    check_timing("mutex lock " .. t, function()
      local t0 = h.now()
      local r, msg, code = m:lock(t)
      local el = h.now() - t0
      h.fails(E.ETIMEDOUT, false, r, msg, code)
      return el, t
    end)
  end
  m:close()
end

function T.mutex_wait_interrupted_by_signal()
  local m, name = new_mutex()
  local _, line = h.role("hold-mutex", name)
  h.eq(line(), "L", "holder")
  local sh = h.sighelper()
  h.eq(sh.sh_install(), 0, "install handler")
  local ok, err = pcall(function()
    h.eq(sh.sh_signal_me_every(100, 40), 0, "signaller")
    local t0 = h.now()
    local r, msg, code = m:lock()
    sh.sh_stop()
    h.fails(E.EINTR, nil, r, msg, code)
    h.ok(h.now() - t0 < 2.5, "promptly")
    h.fails(E.EPERM, nil, m:unlock()) -- not held
  end)
  sh.sh_stop(); sh.sh_restore()
  m:close()
  if not ok then error(err, 0) end
end

function T.mutex_bad_input_and_closed()
  for _, c in ipairs({ { "", E.EINVAL }, { "a/b", E.EINVAL }, { "bad name!", E.EINVAL }, { ".x", E.EINVAL },
                       { string.rep("m", 201), E.ENAMETOOLONG } }) do
    local msg = h.fails(c[2], nil, mutex.open(c[1], { create = true }))
    h.ok(#msg > 0, "a message for " .. c[1])
    h.fails(c[2], nil, mutex.unlink(c[1]))
    h.fails(c[2], nil, event.open(c[1], { create = true }))
    h.fails(c[2], nil, event.unlink(c[1]))
  end
  h.raises("bad argument #1 to 'open' (name without NUL bytes", mutex.open, "a\0b")
  h.raises("bad argument #2 to 'open'", mutex.open, "x", "create")
  h.raises("bad argument #2 to 'open (opts.mode)'", mutex.open, "x", { mode = -1 })
  local m, name = new_mutex({ mode = tonumber("640", 8) })
  local st = io.popen("stat -c %a /dev/shm/lipc.mutex." .. name .. " 2>/dev/null"):read("*l")
  if st then h.eq(st, "640", "mode of the mutex file") end
  h.raises("bad argument #1 to 'lock'", m.lock, m, "1")
  local hnum = m.handle
  h.eq(m:close(), true, "close"); h.eq(m:close(), true, "close again")
  h.raises("attempt to use closed mutex", m.lock, m)
  h.raises("attempt to use closed mutex", m.unlock, m)
  h.raises("attempt to use closed mutex", m.consistent, m)
  h.eq(lipc.C.lipc_mutex_lock(hnum, 0, nil), E.EBADHANDLE, "raw closed handle")
  -- wrong kinds: a semaphore handle is not a mutex, a mutex not an event
  local s = assert(sem.open(h.sem_name(), { create = true }))
  h.eq(lipc.C.lipc_mutex_lock(s.handle, 0, nil), E.EBADHANDLE, "sem as mutex")
  local m2 = new_mutex()
  h.eq(lipc.C.lipc_event_set(m2.handle), E.EBADHANDLE, "mutex as event")
  s:close(); m2:close()
end

---- events ----

function T.event_manual_and_auto_reset_states()
  local e, name = new_event({ manual_reset = true, initially_set = true })
  h.eq(lipc.handle_kind(e.handle), lipc.KIND_EVENT, "kind")
  h.fails(E.EEXIST, nil, event.open(name, { create = true, exclusive = true }))
  -- An existing event keeps what it was made with.
  local e2 = assert(event.open(name, { manual_reset = false, initially_set = false }))
  h.eq(e2:is_set(), true, "initially set, seen by the opener")
  h.eq(e2:wait(0), true, "wait(0) on a set manual event")
  h.eq(e2:wait(0), true, "manual: stays set")
  h.eq(e:reset(), true, "reset")
  h.eq(e2:is_set(), false, "reset seen")
  h.fails(E.EAGAIN, false, e2:wait(0))
  h.eq(e:set(), true, "set"); h.eq(e:clear(), true, "clear is reset")
  h.eq(e:is_set(), false, "cleared")
  -- Windows (lipc.h): unlink is LIPC_OK while the event exists, that is
  -- while a handle holds it
  if h.windows then h.eq(event.unlink(name), true, "unlink (Windows: while open)") end
  e:close(); e2:close()
  local a = new_event({ manual_reset = false })
  h.eq(a:is_set(), false, "not initially set")
  a:set()
  h.eq(a:is_set(), true, "set")
  h.eq(a:wait(0), true, "auto: one wait passes")
  h.fails(E.EAGAIN, false, a:wait(0))
  h.eq(a:is_set(), false, "auto: clear after the wait")
  a:close()
  if not h.windows then h.eq(event.unlink(name), true, "unlink") end
  h.fails(E.ENOENT, nil, event.unlink(name))
end

-- Five LuaJIT children wait on an event (each posts `ready` just before
-- its wait and prints "woke" when the wait returns). Returns the event and
-- the children ({p, line, pipe}), once all of them are in their waits.
local function waiting_children(manual)
  local e = new_event({ manual_reset = manual })
  local ready = assert(sem.open(h.sem_name(), { create = true }))
  local code = ([[
    local lipc = require "lipc"
    local e = assert(lipc.event.open(%q))
    local ready = assert(lipc.sem.open(%q))
    ready:post()
    io.write(e:wait(30) and "woke\n" or "timeout\n")
  ]]):format(e.name, ready.name)
  local kids = {}
  for i = 1, 5 do
    local p, line = h.spawn_luajit(code)
    kids[i] = { p = p, line = line, out = p:stdout() }
  end
  for i = 1, 5 do h.eq(ready:wait(20), true, "child " .. i .. " ready") end
  ready:close()
  -- Each posted `ready` just before its wait: once its main thread sleeps
  -- (state S), it is in the wait. A loaded machine can take a while.
  -- Windows has no /proc to see that: the callers' checks hold whenever
  -- the children get into their waits (see event_manual_reset_...).
  local t0 = h.now()
  for i = 1, 5 do
    local pid = kids[i].p:pid()
    while not h.windows and h.proc_state(pid) ~= "S" and h.now() - t0 < 10 do lipc.wait_fds({}, 0.005) end
  end
  lipc.wait_fds({}, 0.05)
  return e, kids
end

-- How many of kids said "woke" since the last call: waits up to 10 s for
-- the first, then 0.2 s more for any other.
local function newly_woken(kids)
  local n, t0, deadline = 0, h.now(), nil
  repeat
    for _, k in ipairs(kids) do
      if not k.woke then
        local l = k.out:read("l", 0)
        if l and h.windows then l = l:gsub("\r$", "") end
        if l then
          h.eq(l, "woke", "child output")
          k.woke = true
          n = n + 1
          deadline = deadline or h.now() + 0.2
        end
      end
    end
    lipc.wait_fds({}, 0.005)
  until (deadline and h.now() > deadline) or h.now() - t0 > 10
  return n
end

function T.event_manual_reset_wakes_all_waiters()
  local e, kids = waiting_children(true)
  e:set()
  -- waiters already waiting still go (Linux: they are, /proc says so;
  -- Windows, where that cannot be seen, resets once all woke)
  if not h.windows then e:reset() end
  local woke = 0
  for i = 1, 5 do
    if kids[i].line(10) == "woke" then woke = woke + 1 end
    h.eq(kids[i].p:wait(10), 0, "child exit")
  end
  h.eq(woke, 5, "manual-reset: set woke")
  if h.windows then h.eq(e:reset(), true, "reset") end
  e:close()
end

function T.event_auto_reset_lets_one_waiter_through_per_set()
  local e, kids = waiting_children(false)
  for round = 1, 5 do
    e:set()
    h.eq(newly_woken(kids), 1, "auto-reset: waiters through set #" .. round)
    h.eq(e:is_set(), false, "clear again after the wait took it")
  end
  for i = 1, 5 do h.eq(kids[i].p:wait(10), 0, "child exit") end
  e:close()
end

function T.event_timeouts_neither_early_nor_late()
  local e = new_event()
  for _, t in ipairs({ 0.02, 0.1, 0.25 }) do
    check_timing("event wait " .. t, function()
      local t0 = h.now()
      local r, msg, code = e:wait(t)
      local el = h.now() - t0
      h.fails(E.ETIMEDOUT, false, r, msg, code)
      return el, t
    end)
  end
  e:close()
end

function T.event_set_by_a_c_process()
  local e, name = new_event({ manual_reset = false })
  local p, line = h.role("event-set", name, "150")
  local t0 = h.now()
  local ok, msg = e:wait(10)
  local dt = h.now() - t0
  h.eq(ok, true, "woken by C: " .. tostring(msg))
  h.ok(dt > 0.1, ("waited for the set (%.3f s)"):format(dt))
  h.eq(line(), "set", "C said")
  h.eq(p:wait(5), 0, "exit")
  e:close()
end

function T.event_wait_interrupted_by_signal()
  local e = new_event()
  local sh = h.sighelper()
  h.eq(sh.sh_install(), 0, "install handler")
  local ok, err = pcall(function()
    h.eq(sh.sh_signal_me_every(100, 40), 0, "signaller")
    local t0 = h.now()
    local r, msg, code = e:wait()
    sh.sh_stop()
    h.fails(E.EINTR, nil, r, msg, code)
    h.ok(h.now() - t0 < 2.5, "promptly")
  end)
  sh.sh_stop(); sh.sh_restore()
  e:close()
  if not ok then error(err, 0) end
end

function T.event_bad_input_and_closed()
  -- a file under the event's name that is not an event
  local name = h.obj_name("event")
  if h.windows then
    -- Windows (lipc.h): kernel objects of all kinds share one namespace; a
    -- name another kind holds is EEXIST, with a message saying so
    local s = assert(lipc.sem.open(name, { create = true }))
    h.ok(#h.fails(E.EEXIST, nil, event.open(name, { create = true })) > 0, "message")
    h.fails(E.EEXIST, nil, event.open(name))
    s:close()
  else
    local path = "/dev/shm/lipc.event." .. name
    local f = assert(io.open(path, "wb"))
    f:write(string.rep("\0", 64)); f:close()
    local msg = h.fails(E.EINVAL, nil, event.open(name))
    h.ok(#msg > 0, "message")
    os.remove(path)
  end
  h.raises("bad argument #2 to 'open'", event.open, "x", 1)
  local e = new_event()
  h.raises("bad argument #1 to 'wait'", e.wait, e, {})
  e:close()
  h.raises("attempt to use closed event", e.set, e)
  h.raises("attempt to use closed event", e.wait, e, 0)
  h.raises("attempt to use closed event", e.is_set, e)
end

---- semaphores across languages ----

function T.sem_created_in_python_waited_on_in_luajit()
  local name = h.obj_name("sem")
  local p, line = h.spawn_python(([[
import sys, time, lipc
s = lipc.Semaphore(%q, create=True, exclusive=True, initial=0)
print("created", flush=True)
time.sleep(0.2)
s.release()
print("released", flush=True)
s.close()
]]):format(name))
  h.eq(line(), "created", "python created it")
  local s = assert(sem.open(name))
  local t0 = h.now()
  local ok, msg = s:wait(10)
  local dt = h.now() - t0
  h.eq(ok, true, "woken by python's release: " .. tostring(msg))
  h.ok(dt > 0.1, ("waited for python (%.3f s)"):format(dt))
  h.eq(line(), "released", "python said")
  h.eq(p:wait(10), 0, "python exit")
  s:close()
end

function T.sem_created_in_luajit_acquired_in_python()
  local s = assert(sem.open(h.obj_name("sem"), { create = true, exclusive = true }))
  local p, line = h.spawn_python(([[
import lipc
s = lipc.Semaphore(%q)
print("waiting", flush=True)
print("acquired" if s.acquire(timeout=10) else "timeout", s.value, flush=True)
]]):format(s.name))
  h.eq(line(), "waiting", "python opened it")
  lipc.wait_fds({}, 0.1)
  s:post()
  h.eq(line(), "acquired 0", "python acquired the post")
  h.eq(p:wait(10), 0, "python exit")
  h.eq(s:value(), 0, "value")
  s:close()
end

function T.sem_posted_by_a_c_process()
  local s = assert(sem.open(h.obj_name("sem"), { create = true, exclusive = true }))
  local p, line = h.role("sem-post", s.name, "100")
  h.eq(s:wait(10), true, "woken by C")
  h.eq(line(), "posted", "C said")
  h.eq(p:wait(5), 0, "exit")
  s:close()
end

return T
