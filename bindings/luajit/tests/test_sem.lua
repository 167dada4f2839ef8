-- Semaphores: open/create/exclusive/missing, post/wait/try/timeout/value,
-- unlink and unlink-on-close, bad names, limits, EINTR, a second LuaJIT
-- process posting, and a plain C sem_open sharing the same semaphore.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E, sem = lipc.errors, lipc.sem

local function create(value, extra)
  local name = h.sem_name()
  local opts = { create = true, exclusive = true, value = value or 0 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(sem.open(name, opts)), name
end

local T = {}

function T.create_exclusive_open_existing_missing()
  local name = h.sem_name()
  h.fails(E.ENOENT, nil, sem.open(name))
  local a = assert(sem.open(name, { create = true, exclusive = true, value = 3 }))
  h.eq(a.name, name, "name field")
  h.fails(E.EEXIST, nil, sem.open(name, { create = true, exclusive = true }))
  local b = assert(sem.open(name, { create = true, value = 9 }))
  h.eq(b:value(), 3, "create without exclusive opens the existing one, value ignored")
  local c = assert(sem.open("/" .. name))
  h.eq(c:value(), 3, '"/x" and "x" name the same semaphore')
  a:close(); b:close(); c:close()
end

function T.post_wait_try_value()
  local s = create(2)
  h.eq(s:value(), 2, "initial value")
  h.eq(s:wait(), true, "wait forever when positive")
  h.eq(s:wait(1), true, "timed wait when positive")
  h.eq(s:value(), 0, "value after two waits")
  h.fails(E.EAGAIN, false, s:wait(0))
  h.fails(E.EAGAIN, false, s:trywait())
  h.eq(s:post(), true, "post")
  h.eq(s:post(), true, "post")
  h.eq(s:value(), 2, "value after two posts")
  h.eq(s:trywait(), true, "trywait when positive")
  s:close()
end

function T.timed_wait_returns_false_after_the_time()
  local s = create(0)
  local t0 = h.now()
  local msg = h.fails(E.ETIMEDOUT, false, s:wait(0.2))
  local dt = h.now() - t0
  h.ok(dt >= 0.2 and dt < 3, ("elapsed %.4fs"):format(dt))
  h.ok(msg:find("timed out", 1, true), "message: " .. msg)
  s:close()
end

function T.mode_of_a_new_semaphore()
  h.posix_only("file modes of /dev/shm/sem.NAME")
  local s, name = create(0)
  local function mode_of(n)
    local p = io.popen("stat -c %a /dev/shm/sem." .. n .. " 2>/dev/null")
    local m = p:read("*l")
    p:close()
    return m
  end
  if not mode_of(name) then h.skip("no /dev/shm/sem.* files on this system") end
  h.eq(mode_of(name), "600", "mode 0 means 0600")
  local s2, name2 = create(0, { mode = tonumber("640", 8) })
  h.eq(mode_of(name2), "640", "explicit mode")
  s:close(); s2:close()
end

function T.permission_denied()
  h.posix_only("file modes of /dev/shm/sem.NAME")
  local s, name = create(0) -- mode 0600: owner only
  if ffi.C.geteuid() ~= 0 then
    s:close()
    s, name = create(0, { mode = tonumber("400", 8) }) -- read-only for us too
    h.fails(E.EPERM, nil, sem.open(name))
    s:close()
    return
  end
  -- Root bypasses permission bits, so ask as another user (nobody).
  if not h.sh("command -v setpriv >/dev/null 2>&1") then h.skip("root, and no setpriv") end
  local code = ([[
    local _, msg, c = require("lipc").sem.open(%q)
    io.write(tostring(c), " ", tostring(msg))
  ]]):format(name)
  local cmd, dir = h.luajit_cmd_for_nobody(code)
  local p = io.popen("setpriv --reuid=65534 --regid=65534 --clear-groups " .. cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  h.sh("rm -rf " .. h.q(dir))
  h.eq(out:match("^(%-?%d+) "), tostring(E.EPERM), "code seen by nobody (" .. out .. ")")
  s:close()
end

function T.value_limits()
  local s = create(2^31 - 1)
  h.fails(E.ERANGE, nil, s:post())
  h.eq(s:value(), 2^31 - 1, "value unchanged")
  s:close()
  h.fails(E.EINVAL, nil, sem.open(h.sem_name(), { create = true, value = 2^31 }))
  h.raises("bad argument #2 to 'open (opts.value)'", sem.open, "x", { create = true, value = -1 })
  h.raises("bad argument #2 to 'open (opts.value)'", sem.open, "x", { create = true, value = 1.5 })
  h.raises("bad argument #2 to 'open (opts.mode)'", sem.open, "x", { mode = "0600" })
  h.raises("bad argument #2 to 'open'", sem.open, "x", "create")
end

function T.bad_names()
  local cases = {
    { "", E.EINVAL }, { "/", E.EINVAL }, { "a/b", E.EINVAL }, { "bad name!", E.EINVAL },
    { ".hidden", E.EINVAL }, { "caf\195\169", E.EINVAL }, { string.rep("a", 201), E.ENAMETOOLONG },
    { "/" .. string.rep("a", 201), E.ENAMETOOLONG },
  }
  for _, c in ipairs(cases) do
    local r, msg, code = sem.open(c[1], { create = true })
    h.eq(r, nil, ("open %q"):format(c[1]))
    h.eq(code, c[2], ("code for %q (%s)"):format(c[1], tostring(msg)))
    h.ok(#msg > 0, "a message")
    h.fails(c[2], nil, sem.unlink(c[1]))
  end
  -- 200 bytes is the longest good name.
  local long = ("lipc-lua-%d-long-"):format(h.pid)
  long = long .. string.rep("x", 200 - #long)
  local s = assert(sem.open(long, { create = true }))
  if h.windows then -- the name lives only while a handle does (lipc.h)
    h.eq(sem.unlink(long), true, "unlink the 200-byte name")
    s:close()
    h.fails(E.ENOENT, nil, sem.unlink(long))
    return
  end
  s:close()
  h.eq(sem.unlink(long), true, "unlink the 200-byte name")
end

function T.unlink()
  local s, name = create(0)
  h.eq(sem.unlink(name), true, "unlink")
  if h.windows then
    -- Windows (lipc.h): no unlink; LIPC_OK while the object exists, which
    -- it does until its last handle closes, then ENOENT
    assert(sem.open(name)):close()
    h.eq(sem.unlink(name), true, "unlink again: still there")
    h.eq(s:post(), true, "the handle keeps working")
    h.eq(s:value(), 1, "value")
    s:close()
    h.fails(E.ENOENT, nil, sem.open(name))
    h.fails(E.ENOENT, nil, sem.unlink(name))
    h.raises("bad argument #1 to 'unlink'", sem.unlink, nil)
    return
  end
  h.fails(E.ENOENT, nil, sem.open(name))
  h.fails(E.ENOENT, nil, sem.unlink(name))
  h.eq(s:post(), true, "an open handle keeps working after unlink")
  h.eq(s:value(), 1, "value")
  s:close()
  h.raises("bad argument #1 to 'unlink'", sem.unlink, nil)
end

function T.unlink_on_close()
  local a, name = create(0, { unlink_on_close = true })
  local b = assert(sem.open(name))
  h.eq(a:close(), true, "creator closes")
  if h.windows then
    -- Windows (lipc.h): unlink_on_close changes nothing; the object lives
    -- while b holds it and vanishes with it
    assert(sem.open(name)):close()
    h.eq(b:post(), true, "other handle keeps working")
    b:close()
    h.fails(E.ENOENT, nil, sem.open(name))
    return
  end
  h.fails(E.ENOENT, nil, sem.open(name))
  h.eq(b:post(), true, "other handle keeps working")
  h.eq(b:value(), 1, "other handle's value")
  b:close()
  -- A handle that did not create the semaphore leaves the name alone.
  local c, name2 = create(0)
  local d = assert(sem.open(name2, { unlink_on_close = true }))
  d:close()
  local e = assert(sem.open(name2))
  e:close(); c:close()
end

function T.signal_interrupts_waits_with_eintr()
  local sh = h.sighelper()
  local s = create(0)
  h.eq(sh.sh_install(), 0, "install SIGUSR1 handler")
  local ok, err = pcall(function()
    for _, timeout in ipairs({ 5, false }) do -- timed, then forever (nil)
      -- Repeated signals: a wait that missed the first one cannot hang.
      h.eq(sh.sh_signal_me_every(100, 40), 0, "start signaller")
      local t0 = h.now()
      local r, msg, code = s:wait(timeout or nil)
      sh.sh_stop()
      h.fails(E.EINTR, nil, r, msg, code)
      h.ok(h.now() - t0 < 2.5, "returned promptly")
    end
    h.eq(s:value(), 0, "nothing taken by the interrupted waits")
  end)
  sh.sh_stop()
  sh.sh_restore()
  s:close()
  if not ok then error(err, 0) end
end

function T.another_process_posts()
  local s, name = create(0)
  local code = ([[
    local lipc = require "lipc"
    local s = assert(lipc.sem.open(%q))
    lipc.wait_fds({}, 0.2)
    assert(s:post())
    s:close()
    io.write("posted")
  ]]):format(name)
  local p = assert(io.popen(h.luajit_cmd(code) .. " 2>&1"))
  local t0 = h.now()
  local ok, msg, c = s:wait(10)
  local dt = h.now() - t0
  local out = p:read("*a")
  p:close()
  h.eq(out, "posted", "child output")
  h.eq(ok, true, "woken by the child: " .. tostring(msg) .. " " .. tostring(c))
  h.ok(dt > 0.1, ("waited for the child (%.3fs)"):format(dt))
  s:close()
end

function T.shared_with_plain_c_sem_open()
  h.posix_only("libc sem_open")
  local s, name = create(0)
  -- glibc before 2.34 keeps sem_* in libpthread, which LuaJIT itself does
  -- not link (the released library runs there too: make test-old-glibc).
  local libc = pcall(function() return ffi.C.sem_open end) and ffi.C or ffi.load("libpthread.so.0")
  local c = libc.sem_open("/" .. name, 0)
  h.ok(c ~= nil, "libc sem_open of the lipc name")
  h.eq(libc.sem_post(c), 0, "libc post")
  h.eq(s:value(), 1, "lipc sees the libc post")
  s:post()
  local v = ffi.new("int[1]")
  libc.sem_getvalue(c, v)
  h.eq(v[0], 2, "libc sees the lipc post")
  libc.sem_close(c)
  s:close()
end

function T.misuse_raises()
  local s = create(0)
  -- C would cut the name at the NUL and open another semaphore.
  h.raises("bad argument #1 to 'open' (name without NUL bytes", sem.open, s.name .. "\0x")
  h.raises("bad argument #1 to 'unlink' (name without NUL bytes", sem.unlink, s.name .. "\0x")
  h.raises("bad argument #1 to 'wait'", s.wait, s, "1")
  h.raises("bad argument #1 to 'open'", sem.open, nil)
  s:close()
end

return T
