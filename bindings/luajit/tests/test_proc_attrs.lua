-- lipc.proc options that mirror subprocess's: user, group, extra_groups,
-- pipesize, close_fds = false, restore_signals (and pgroup, which is
-- process_group). Each sets a spawn attribute applied before exec.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local P = lipc.proc

ffi.cdef [[
typedef void (*lipc_test_sighandler_t)(int);
lipc_test_sighandler_t signal(int sig, lipc_test_sighandler_t handler);
unsigned int geteuid(void);
int fcntl(int fd, int cmd, ...);
]]
local SIG_IGN = ffi.cast("lipc_test_sighandler_t", 1)
local SIGUSR1, SIGPIPE, SIGXFSZ, SIGHUP = 10, 13, 25, 1
local F_GETPIPE_SZ = 1032

local function out_of(cmd, opts)
  opts = opts or {}
  opts.stdout = true
  local r = assert(P.run(cmd, opts))
  h.eq(r.code, 0, "exit code of " .. tostring(cmd) .. ": " .. tostring(r.stderr))
  return r.stdout
end

local function sigign(opts)
  local out = out_of("grep ^SigIgn /proc/self/status", opts)
  return tonumber(out:match("SigIgn:%s*(%x+)"), 16)
end

local function has(mask, sig) return math.floor(mask / 2 ^ (sig - 1)) % 2 == 1 end

local T = {}

function T.restore_signals_keeps_what_the_host_ignores_on_purpose()
  local old_usr1 = ffi.C.signal(SIGUSR1, SIG_IGN)
  local old_pipe = ffi.C.signal(SIGPIPE, SIG_IGN) -- as a runtime (OpenResty, LuaIPC) does for itself
  local ok, err = pcall(function()
    local m = sigign()
    h.ok(has(m, SIGUSR1), "an ignored signal stays ignored (nohup relies on it)")
    h.ok(not has(m, SIGPIPE) and not has(m, SIGXFSZ), "SIGPIPE and SIGXFSZ reset by default")
    m = sigign { restore_signals = false }
    h.ok(has(m, SIGUSR1) and has(m, SIGPIPE), "restore_signals = false keeps them all")
    h.eq(sigign { restore_signals = "all" }, 0, "restore_signals = 'all': every signal default")
    h.raises("restore_signals", P.spawn, "true", { restore_signals = "some" })
  end)
  ffi.C.signal(SIGUSR1, old_usr1)
  ffi.C.signal(SIGPIPE, old_pipe)
  assert(ok, err)
end

function T.children_of_a_host_run_under_nohup_keep_sighup_ignored()
  -- nohup ignores SIGHUP and execs this host (luajit); its children must
  -- keep it ignored
  local code = [[local P = require("lipc").proc
local r = assert(P.run("grep ^SigIgn /proc/self/status", { stdout = true }))
io.write(r.stdout)]]
  local out = out_of({ "nohup", "luajit", "-e", code }, { stderr = "null" })
  h.ok(has(tonumber(out:match("SigIgn:%s*(%x+)"), 16), SIGHUP), "SIGHUP ignored in the grandchild: " .. out)
end

function T.close_fds_false_keeps_fds_without_cloexec()
  local f = assert(io.open("/dev/null", "r")) -- io.open: no close-on-exec
  local fd = require("lipc.util").file_fd(f)
  local probe = ("test -e /proc/self/fd/%d && echo yes || echo no"):format(fd)
  h.eq(out_of(probe), "no\n", "default: only the fd map")
  h.eq(out_of(probe, { close_fds = false }), "yes\n", "close_fds = false: inherited")
  h.eq(out_of(probe, { close_fds = true }), "no\n", "close_fds = true")
  f:close()
end

function T.pipesize_sets_each_pipe()
  local p = assert(P.spawn({ "cat" }, { stdin = true, stdout = true, pipesize = 256 * 1024 }))
  h.eq(ffi.C.fcntl(p:stdin():fileno(), F_GETPIPE_SZ), 256 * 1024, "stdin pipe size")
  h.eq(ffi.C.fcntl(p:stdout():fileno(), F_GETPIPE_SZ), 256 * 1024, "stdout pipe size")
  p:stdin():close()
  p:wait(5)
  p:close()
  h.raises("pipesize", P.spawn, "true", { pipesize = "big" })
end

function T.user_group_extra_groups()
  h.raises("user", P.spawn, "true", { user = -1 })
  h.raises("group", P.spawn, "true", { group = 2 ^ 32 })
  h.raises("unknown user", P.spawn, "true", { user = "no-such-user-lipc" })
  h.raises("extra_groups", P.spawn, "true", { extra_groups = 5 })
  if ffi.C.geteuid() ~= 0 then
    local p, msg, code = P.spawn("true", { user = 0 })
    h.eq(p, nil, "unprivileged: refused")
    h.eq(code, lipc.errors.EPERM, "EPERM: " .. tostring(msg))
    h.skip("not root: only the refusal was checked")
  end
  local out = out_of("id -u; id -g; id -G", { user = "nobody", group = 65534, extra_groups = { 65533, 7 } })
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  h.eq(lines[2], "65534", "group")
  h.ok(lines[1] ~= "0", "user nobody, not root: " .. lines[1])
  local gs = {}
  for g in lines[3]:gmatch("%d+") do gs[#gs + 1] = tonumber(g) end
  table.sort(gs)
  h.eq(table.concat(gs, " "), "7 65533 65534", "supplementary groups")
  h.eq(out_of("id -G", { group = 65534, extra_groups = {} }), "65534\n", "extra_groups = {}: none")
end

function T.pgroup_is_process_group()
  local p = assert(P.spawn({ "sleep", "5" }, { pgroup = true }))
  local pgid = out_of("ps -o pgid= -p " .. p:pid()):match("%d+")
  h.eq(tonumber(pgid), p:pid(), "a new group led by the child")
  p:kill()
  p:wait(5)
  p:close()
end

-- The CPU affinity of the thread that spawns is the child's, as for
-- io.popen's (glibc's) child; lipc's own spawn thread used to give its own.
ffi.cdef [[
int sched_getaffinity(int pid, size_t size, void *mask);
int sched_setaffinity(int pid, size_t size, const void *mask);
]]
local function allowed(cmd_out) return cmd_out:match("Cpus_allowed_list:%s*(%S+)") end

function T.child_gets_the_spawning_threads_cpu_affinity()
  if ffi.os ~= "Linux" then return end
  local mask = ffi.new("uint8_t[128]")
  assert(ffi.C.sched_getaffinity(0, 128, mask) == 0, "sched_getaffinity")
  local cpus = {}
  for i = 0, 1023 do
    if bit.band(mask[math.floor(i / 8)], bit.lshift(1, i % 8)) ~= 0 then cpus[#cpus + 1] = i end
  end
  if #cpus < 2 then return end -- one CPU: nothing to tell apart
  local one = ffi.new("uint8_t[128]")
  local last = cpus[#cpus]
  one[math.floor(last / 8)] = bit.lshift(1, last % 8)
  assert(ffi.C.sched_setaffinity(0, 128, one) == 0, "sched_setaffinity")
  local ok, err = pcall(function()
    local f = assert(io.popen("cat /proc/self/status"))
    local reference = allowed(f:read("*a"))
    f:close()
    h.eq(reference, tostring(last), "io.popen's child (the reference)")
    h.eq(allowed(out_of({ "cat", "/proc/self/status" })), reference, "lipc's child")
  end)
  ffi.C.sched_setaffinity(0, 128, mask)
  assert(ok, err)
end

return h.posix_only_file(T, "POSIX programs (sh, printf, sort, true), fds, signals and /proc; their Windows counterparts are in test_windows.lua")
