-- Named objects another user made (or planted), objects that are not valid,
-- opts.trust_foreign, the umask, s:post(n), and auto-reset events releasing
-- one blocked waiter per set (issue 9).
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E = lipc.errors

for decl in ([[
int chown(const char *path, unsigned owner, unsigned group);
unsigned umask(unsigned mask);
int mkdir(const char *path, unsigned mode);
int rmdir(const char *path);
]]):gmatch("[^\n]+") do pcall(ffi.cdef, decl) end
local C = ffi.C
local NOBODY = 65534

local PATH = { sem = "/dev/shm/sem.", mutex = "/dev/shm/lipc.mutex.", event = "/dev/shm/lipc.event.",
               shm = "/dev/shm/" }
local KINDS = { "sem", "mutex", "event", "shm" }

local function open(kind, name, opts)
  opts = opts or {}
  if kind == "shm" and opts.create then opts.size = 64 end
  return lipc[kind].open(name, opts)
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function need_root()
  if C.geteuid() ~= 0 then h.skip("needs root: gives files to another user (nobody)") end
end

local T = {}

function T.planted_by_another_user_is_refused()
  h.posix_only("objects are files in /dev/shm that another user can plant")
  need_root()
  for _, kind in ipairs(KINDS) do
    local name = h.obj_name(kind)
    local path = PATH[kind] .. name
    write(path, ("\255"):rep(kind == "sem" and 32 or 64))
    assert(C.chown(path, NOBODY, NOBODY) == 0)
    local msg = h.fails(E.EPERM, nil, open(kind, name, { create = true }))
    h.ok(msg:find("uid 65534", 1, true), kind .. ": " .. msg)
    if kind == "shm" then
      local s = assert(open(kind, name, { trust_foreign = true }))
      h.eq(s:ptr()[0], 255, "trusted planted shm bytes")
      s:close()
    else
      msg = h.fails(E.EINVAL, nil, open(kind, name, { create = true, trust_foreign = true }))
      h.ok(msg:find("is not a valid", 1, true), kind .. ": " .. msg)
    end
    h.eq(h.read_file(path), ("\255"):rep(kind == "sem" and 32 or 64), kind .. " file unchanged")
  end
end

function T.trust_foreign_opens_a_valid_object_of_another_user()
  h.posix_only("objects are files in /dev/shm that another user can plant")
  need_root()
  for _, kind in ipairs(KINDS) do
    local name = h.obj_name(kind)
    assert(open(kind, name, { create = true, mode = tonumber("666", 8) })):close()
    assert(C.chown(PATH[kind] .. name, NOBODY, NOBODY) == 0)
    h.fails(E.EPERM, nil, open(kind, name))
    local o = assert(open(kind, name, { trust_foreign = true }))
    if kind == "sem" then
      h.eq(o:post(2), true, "post 2 on a trusted semaphore")
      h.eq(o:value(), 2, "value")
    elseif kind == "mutex" then
      h.eq(o:lock(1), true, "lock a trusted mutex")
      o:unlock()
    elseif kind == "event" then
      o:set()
      h.eq(o:wait(0), true, "wait on a trusted event")
    end
    o:close()
  end
end

function T.invalid_objects_are_refused()
  h.posix_only("objects are files in /dev/shm that another program can plant")
  for _, c in ipairs({
    { "sem", ("\255"):rep(32) }, { "sem", ("\0"):rep(32) }, { "sem", ("\0"):rep(10) },
    { "mutex", ("\0"):rep(64) }, { "event", ("\0"):rep(64) },
    { "event", ("\0"):rep(8) .. "1vel" .. ("\0"):rep(52) }, -- lipc 0.1.0's layout
  }) do
    local name = h.obj_name(c[1])
    write(PATH[c[1]] .. name, c[2])
    h.fails(E.EINVAL, nil, open(c[1], name, { create = true }))
  end
  for _, kind in ipairs(KINDS) do
    local name = h.obj_name(kind)
    C.mkdir(PATH[kind] .. name, tonumber("700", 8))
    local msg = h.fails(E.EINVAL, nil, open(kind, name, { create = true }))
    h.ok(msg:find("directory", 1, true), msg)
    C.rmdir(PATH[kind] .. name)
  end
end

function T.mode_goes_through_the_umask()
  h.posix_only("the umask and file modes of /dev/shm objects")
  local old = C.umask(tonumber("027", 8))
  for _, kind in ipairs(KINDS) do
    local name = h.obj_name(kind)
    local o = assert(open(kind, name, { create = true, mode = tonumber("666", 8) }))
    local p = io.popen("stat -c %a " .. PATH[kind] .. name)
    h.eq(p:read("*l"), "640", kind .. " mode 0666 under umask 027")
    p:close()
    o:close()
  end
  C.umask(old)
end

function T.post_n()
  local s = assert(lipc.sem.open(h.sem_name(), { create = true }))
  h.eq(s:post(5), true, "post(5)")
  h.eq(s:value(), 5, "value")
  -- 2^31-6 more in one step (a loop of posts would take minutes)
  local t0 = h.now()
  h.eq(s:post(2^31 - 6), true, "post up to 2^31-1")
  h.ok(h.now() - t0 < 5, "one step")
  h.eq(s:value(), 2^31 - 1, "value at the maximum")
  s:wait(0); s:wait(0)
  for _, n in ipairs({ 3, 2^31, 2^32 - 1 }) do
    h.fails(E.ERANGE, nil, s:post(n))
    h.eq(s:value(), 2^31 - 3, "a refused post(n) added nothing")
  end
  for _, bad in ipairs({ 0, -1, 1.5, 2^32, "2", true }) do
    h.raises("bad argument #1 to 'post'", s.post, s, bad)
  end
  s:close()
end

function T.post_n_wakes_n_waiting_processes()
  local name = h.sem_name()
  local s = assert(lipc.sem.open(name, { create = true }))
  local kids = {}
  for i = 1, 3 do
    kids[i] = { h.spawn_luajit(([[
      local s = assert(require("lipc").sem.open(%q))
      io.write(tostring(s:wait(20)), "\n") io.stdout:flush()
    ]]):format(name)) }
  end
  -- all three registered in the semaphore's waiter count (bytes 4..7)
  -- (Windows: no count to look at; a semaphore keeps posts, so the
  -- waiters take them whenever they get to their waits)
  for _ = 1, h.windows and 0 or 20000 do
    if h.read_file("/dev/shm/sem." .. name):byte(5) == 3 then break end
    lipc.wait_fds({}, 0.001)
  end
  h.eq(s:post(3), true, "post(3)")
  for i = 1, 3 do h.eq(kids[i][2](30), "true", "waiter " .. i) end
  h.eq(s:value(), 0, "all three taken")
  s:close()
end

-- Is process pid's main thread blocked in a shared futex wait
-- (FUTEX_WAIT_BITSET, what lipc's waits use) now?
local SYS_FUTEX = ({ x64 = 202, arm64 = 98 })[jit.arch]
local function asleep_in_futex(pid)
  local f = io.open("/proc/" .. pid .. "/syscall", "r")
  if not f then return false end
  local l = f:read("*l") or ""
  f:close()
  local nr, op = l:match("^(%d+) %S+ (%S+)")
  return tonumber(nr) == SYS_FUTEX and tonumber(op) == 9
end

-- Three processes blocked in wait, three back-to-back sets: all three wake.
function T.auto_reset_event_releases_one_blocked_waiter_per_set()
  h.posix_only("sees blocked waiters in /proc/PID/syscall (lipc's futex events); Windows' events are the kernel's")
  if not SYS_FUTEX then h.skip("futex syscall number unknown on " .. jit.arch) end
  local name = h.obj_name("event")
  local e = assert(lipc.event.open(name, { create = true, manual_reset = false }))
  for round = 1, 20 do
    local kids = {}
    for i = 1, 3 do
      kids[i] = { h.spawn_luajit(([[
        local e = assert(require("lipc").event.open(%q))
        io.write(tostring(e:wait(20)), "\n") io.stdout:flush()
      ]]):format(name)) }
    end
    local t0 = h.now()
    for i = 1, 3 do
      local pid = kids[i][1]:pid()
      while not asleep_in_futex(pid) do
        if h.now() - t0 > 20 then error("waiter " .. i .. " never blocked") end
        lipc.wait_fds({}, 0.0005)
      end
    end
    e:set(); e:set(); e:set()
    h.fails(E.ETIMEDOUT, false, e:wait(0.001)) -- a later wait takes none of their releases
    for i = 1, 3 do h.eq(kids[i][2](30), "true", ("round %d, waiter %d"):format(round, i)) end
    h.eq(e:is_set(), false, "nothing left over")
  end
  e:close()
end

return T
