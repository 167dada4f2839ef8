-- Shared by the test files: assertions, libc through ffi, unique semaphore
-- names (pid + counter, unlinked after each test), a temp dir, run-time
-- compiled C helpers and child LuaJIT processes.
local ffi = require "ffi"

-- Each declaration on its own: a clash with a declaration made elsewhere in
-- the process must not stop the others.
for decl in ([[
int pipe(int fds[2]);
long write(int fd, const void *buf, size_t n);
long read(int fd, void *buf, size_t n);
int close(int fd);
int getpid(void);
unsigned geteuid(void);
char *getcwd(char *buf, size_t size);
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct timespec *tp);
void *sem_open(const char *name, int oflag, ...);
int sem_post(void *sem);
int sem_getvalue(void *sem, int *sval);
int sem_close(void *sem);
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);
int waitpid(int pid, int *status, int options);
int fcntl(int fd, int cmd, ...);
int kill(int pid, int sig);
]]):gmatch("[^\n]+") do pcall(ffi.cdef, decl) end

local C = ffi.C
local h = {}
local spawned -- children of h.spawn (below)

---- Windows ----
-- The suite runs under luajit.exe too (scripts/windows/test-luajit.sh, under
-- Wine). A test that needs what only POSIX has (sh, fork, signals, /proc,
-- /dev/shm, a C compiler, libc) calls h.posix_only(why) first; a file of
-- such tests ends with h.posix_only_file(T, why). A test Wine cannot pass
-- (shared/design/windows-wine.md, gaps 1-6) calls h.wine_gap(n, why): it is
-- skipped only under Wine (LIPC_UNDER_WINE=1), never on Windows itself.
h.windows = ffi.os == "Windows"
h.under_wine = os.getenv("LIPC_UNDER_WINE") == "1"
function h.posix_only(why)
  if h.windows then error({ skip = "POSIX only: " .. why }, 0) end
end
function h.wine_gap(n, why)
  if h.windows and h.under_wine then error({ skip = ("Wine gap %d: %s"):format(n, why) }, 0) end
end
-- keep: names of the file's tests that run on Windows too.
function h.posix_only_file(T, why, keep)
  if not h.windows then return T end
  for name in pairs(T) do
    if not (keep and keep[name]) then T[name] = function() h.posix_only(why) end end
  end
  return T
end
if h.windows then
  for decl in ([[
uint32_t GetCurrentProcessId(void);
int QueryPerformanceCounter(int64_t *count);
int QueryPerformanceFrequency(int64_t *freq);
char *_getcwd(char *buf, int size);
]]):gmatch("[^\n]+") do pcall(ffi.cdef, decl) end
end

---- paths ----
local function abs(p)
  if p:sub(1, 1) == "/" then return p end
  if h.windows and (p:match("^%a:[/\\]") or p:match("^[/\\]")) then return p end
  local buf = ffi.new("char[4096]")
  if h.windows then return ffi.string(C._getcwd(buf, 4096)) .. "\\" .. p end
  return ffi.string(C.getcwd(buf, 4096)) .. "/" .. p
end
h.abs = abs
h.tests_dir = abs(debug.getinfo(1, "S").source:sub(2):match(h.windows and "^(.*)[/\\][^/\\]*$" or "^(.*)/[^/]*$") or ".")
h.binding_dir = h.tests_dir .. "/.."            -- bindings/luajit
h.repo_dir = h.tests_dir .. "/../../.."          -- the lipc repository
h.header = h.repo_dir .. "/include/lipc.h"

-- os.execute returns 0 in LuaJIT's default build, true with 5.2 compat.
function h.sh(cmd)
  local r = os.execute(cmd)
  return r == 0 or r == true
end

function h.q(s)
  if h.windows then return '"' .. tostring(s) .. '"' end -- cmd.exe; the suite's paths have no '"'
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function h.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

---- time ----
if h.windows then
  local cnt = ffi.new("int64_t[1]")
  C.QueryPerformanceFrequency(cnt)
  local freq = tonumber(cnt[0])
  function h.now()
    C.QueryPerformanceCounter(cnt)
    return tonumber(cnt[0]) / freq
  end
else
  local ts = ffi.new("struct timespec")
  function h.now() -- CLOCK_MONOTONIC, the clock lipc's deadlines use
    C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
end

---- assertions: error(msg, 2) so a failure points at the test's line ----
local function fmt(v) return type(v) == "string" and ("%q"):format(v) or tostring(v) end

function h.eq(got, want, what)
  if got ~= want then
    error(("%s: got %s, want %s"):format(what or "value", fmt(got), fmt(want)), 2)
  end
end

function h.ok(cond, what)
  if not cond then error((what or "assertion") .. " failed", 2) end
  return cond
end

-- A failure return: nil (or `first`), a non-empty message and the code.
function h.fails(code, first, r, msg, c, ...)
  if r ~= first or type(msg) ~= "string" or msg == "" or c ~= code then
    error(("expected %s, msg, %s; got %s, %s, %s"):format(fmt(first), fmt(code), fmt(r), fmt(msg), fmt(c)), 2)
  end
  return msg, ...
end

-- f(...) must raise an error whose message contains `pattern` (plain).
function h.raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error containing " .. fmt(pattern), 2) end
  if not tostring(err):find(pattern, 1, true) then
    error(("error %s does not contain %s"):format(fmt(err), fmt(pattern)), 2)
  end
  return err
end

function h.skip(reason) error({ skip = reason }, 0) end

---- names of named objects, unique per run, unlinked after each test ----
local pid = h.windows and tonumber(C.GetCurrentProcessId()) or C.getpid()
h.pid = pid
local counter, made = 0, {}
function h.sem_name()
  counter = counter + 1
  local name = ("lipc-lua-%d-%d"):format(pid, counter)
  made[#made + 1] = { "sem", name }
  return name
end

-- kind: "sem", "mutex", "event" or "shm" (the lipc module whose unlink
-- removes it after the test).
function h.obj_name(kind)
  counter = counter + 1
  local name = ("lipc-lua-%d-%s-%d"):format(pid, kind, counter)
  made[#made + 1] = { kind, name }
  return name
end

---- temp dir, removed at the end of the run ----
local tmp
function h.tmpdir()
  if not tmp and h.windows then
    tmp = (os.getenv("TEMP") or os.getenv("TMP") or "C:\\windows\\temp") .. "\\lipc-lua-test-" .. pid
    h.sh("rmdir /s /q " .. h.q(tmp) .. " >nul 2>nul")
    assert(h.sh("mkdir " .. h.q(tmp)), "mkdir " .. tmp)
  elseif not tmp then
    tmp = (os.getenv("TMPDIR") or "/tmp") .. "/lipc-lua-test-" .. pid
    assert(h.sh("rm -rf " .. h.q(tmp) .. " && mkdir -p " .. h.q(tmp)), "mkdir " .. tmp)
  end
  return tmp
end

-- Compiles tests/<name>.c into <tmp>/<name>.so and loads it (once);
-- skips the test when there is no C compiler.
local compiled = {}
local function compile(name)
  h.posix_only("the C helper " .. name .. ".c (signals, pthreads) is built with cc as a .so")
  if compiled[name] then return compiled[name] end
  local so = h.tmpdir() .. "/" .. name .. ".so"
  local cc = os.getenv("CC") or "cc"
  local cmd = ("%s -shared -fPIC -O2 -o %s %s -lpthread 2>&1"):format(
    cc, h.q(so), h.q(h.tests_dir .. "/" .. name .. ".c"))
  if not h.sh(cmd) then h.skip("cannot compile a C helper with " .. cc) end
  compiled[name] = ffi.load(so)
  return compiled[name]
end

-- tests/sighelper.c: a SIGUSR1 handler, a thread that signals this thread
-- repeatedly until sh_stop(), and one that writes to a fd later.
function h.sighelper()
  pcall(ffi.cdef, [[
int sh_install(void);
int sh_restore(void);
int sh_hits(void);
int sh_signal_me_every(int ms, int max);
int sh_stop(void);
int sh_write_after(int fd, int ms);
]])
  return compile("sighelper")
end

-- Compiles tests/<name>.c into the program <tmp>/<name>, against
-- include/lipc.h and linked with the build tree's liblipc (found at run
-- time through an rpath); skips the test when that cannot be done.
local programs = {}
function h.c_program(name)
  h.posix_only("the C peer " .. name .. ".c is built with cc against liblipc.so (tests/windows/c has the C peers on Windows)")
  if programs[name] then return programs[name] end
  local exe = h.tmpdir() .. "/" .. name
  local build = h.repo_dir .. "/build"
  local cmd = ("%s -O2 -o %s %s -I%s -L%s -llipc -Wl,-rpath,%s 2>&1"):format(
    os.getenv("CC") or "cc", h.q(exe), h.q(h.tests_dir .. "/" .. name .. ".c"),
    h.q(h.repo_dir .. "/include"), h.q(build), h.q(build))
  local p = io.popen(cmd)
  local out = p:read("*a")
  local ok = p:close()
  if not (ok == true or ok == 0) or not io.open(exe, "r") then
    h.skip("cannot compile " .. name .. ".c against liblipc: " .. out)
  end
  programs[name] = exe
  return exe
end

-- Children started with h.spawn are killed after the test if still running.
spawned = {}

-- Starts argv (a list) with stdout piped; returns the process and a
-- function line(timeout) reading its next stdout line (raises on timeout).
function h.spawn(argv, opts)
  local lipc = require "lipc"
  local o = { stdout = true, autokill = true }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p = assert(lipc.proc.spawn(argv, o))
  spawned[#spawned + 1] = p
  local out = p:stdout()
  local function line(timeout)
    local l, msg = out:read("l", timeout or 10)
    if not l then error(("child %s: no line (%s)"):format(tostring(argv[2] or argv[1]), tostring(msg or "EOF")), 2) end
    if h.windows then l = l:gsub("\r$", "") end -- a Windows child's text mode ends lines in \r\n
    return l
  end
  return p, line
end

-- A role of tests/xhelper.c: h.role("hold-mutex", name) -> p, line
function h.role(...)
  return h.spawn({ h.c_program("xhelper"), ... })
end

-- A LuaJIT child running `code` with this binding and library.
function h.spawn_luajit(code, opts)
  local lipc = require "lipc"
  local b = h.binding_dir
  local o = { env_add = { LUA_PATH = b .. "/?.lua;" .. b .. "/?/init.lua;;",
                          LIPC_LIBRARY = abs(lipc.library_path) } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return h.spawn({ h.luajit_exe(), "-e", code }, o)
end

-- python3 with the Python binding importable, or a skip.
local python_ok
function h.python_argv(code)
  h.posix_only("the Python peer runs as python3 (scripts/windows/test-python.sh tests the Python binding on Windows)")
  local py = os.getenv("PYTHON") or "python3"
  local pypath = h.repo_dir .. "/bindings/python"
  if python_ok == nil then
    python_ok = h.sh(("PYTHONPATH=%s %s -c 'import lipc' >/dev/null 2>&1"):format(h.q(pypath), py))
  end
  if not python_ok then h.skip("no python3 that can import the Python binding") end
  local lipc = require "lipc"
  return { py, "-c", code }, { env_add = { PYTHONPATH = pypath, LIPC_LIBRARY = abs(lipc.library_path) } }
end

function h.spawn_python(code)
  local argv, o = h.python_argv(code)
  return h.spawn(argv, o)
end

---- child LuaJIT processes ----
-- The LuaJIT to run children with: $LUAJIT, else (Windows, where no
-- luajit is on the PATH) the interpreter running this suite, else "luajit".
function h.luajit_exe()
  local e = os.getenv("LUAJIT")
  if e and e ~= "" then return e end
  if h.windows and arg then
    local i = 0
    while arg[i - 1] do i = i - 1 end
    return arg[i]
  end
  return "luajit"
end

-- argv of a child that sleeps `seconds` and exits 0: sleep(1) on POSIX, a
-- luajit.exe child on Windows (which has no sleep program).
function h.sleep_argv(seconds)
  if not h.windows then return { "sleep", tostring(seconds) } end
  return { h.luajit_exe(), "-e",
           ("local f = require('ffi') f.cdef('void Sleep(uint32_t)') f.C.Sleep(%d)"):format(seconds * 1000) }
end

-- A shell command running `luajit -e code` with this binding on LUA_PATH and
-- the same library as this process.
function h.luajit_cmd(code, env)
  local lipc = require "lipc"
  local b = h.binding_dir
  local vars = {
    "LUA_PATH=" .. h.q(b .. "/?.lua;" .. b .. "/?/init.lua;;"),
    "LIPC_LIBRARY=" .. h.q(abs(lipc.library_path)),
  }
  for k, v in pairs(env or {}) do vars[#vars + 1] = k .. "=" .. h.q(v) end
  local exe = os.getenv("LUAJIT") or "luajit"
  if h.windows then
    -- cmd.exe: one line, no env prefix; the code goes into a file (it has
    -- newlines and quotes) and each variable is a `set "NAME=value"`.
    counter = counter + 1
    local file = ("%s\\child-%d.lua"):format(h.tmpdir(), counter)
    local f = assert(io.open(file, "wb"))
    f:write(code)
    f:close()
    local sets = {}
    for _, v in ipairs(vars) do
      local k, val = v:match("^([^=]+)=(.*)$")
      sets[#sets + 1] = ('set "%s=%s"&& '):format(k, val:gsub('^"(.*)"$', "%1"))
    end
    return table.concat(sets) .. h.q(h.luajit_exe()) .. " " .. h.q(file)
  end
  return "env " .. table.concat(vars, " ") .. " " .. exe .. " -e " .. h.q(code)
end

-- h.luajit_cmd for a command user nobody runs (as root, through setpriv):
-- the binding and the library are copied into a directory of their own
-- that anyone can read, since this checkout may be out of nobody's reach
-- (one under /root, mode 0700). Returns the command and that directory,
-- which the caller removes (h.sh("rm -rf " .. h.q(dir))).
function h.luajit_cmd_for_nobody(code)
  local lipc = require "lipc"
  local p = assert(io.popen("mktemp -d /tmp/lipc-lua-nobody.XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d")
  if not h.sh(("chmod 755 %s && cp -R %s %s/ && cp %s %s/liblipc.so"):format(
    h.q(dir), h.q(h.binding_dir .. "/lipc"), h.q(dir), h.q(abs(lipc.library_path)), h.q(dir))) then
    h.sh("rm -rf " .. h.q(dir)) -- the caller never gets it to remove
    error("cannot copy the binding and the library for nobody into " .. dir, 2)
  end
  return h.luajit_cmd(code, { LUA_PATH = dir .. "/?.lua;" .. dir .. "/?/init.lua;;",
                              LIPC_LIBRARY = dir .. "/liblipc.so" }), dir
end

-- h.luajit_cmd(code, env) as the shell's last command: `exec` on POSIX
-- (the child is the process), as it is under cmd.exe.
function h.exec_luajit_cmd(code, env)
  return (h.windows and "" or "exec ") .. h.luajit_cmd(code, env)
end

---- pipes ----
function h.pipe()
  local fds = ffi.new("int[2]")
  assert(C.pipe(fds) == 0, "pipe")
  return fds[0], fds[1]
end
function h.close_fd(fd) C.close(fd) end
function h.write_fd(fd, s) return tonumber(C.write(fd, s, #s)) end

---- processes and fds (Linux /proc) ----
-- The state letter of a process ("R", "S", "Z", ...), or nil if it is gone.
function h.proc_state(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return nil end
  local s = f:read("*a") or ""
  f:close()
  return s:match("%)%s+(%a)")
end

-- Whether the lipc process p still runs (Linux: /proc, a zombie counts as
-- ended; Windows: p:status()).
function h.alive(p)
  if h.windows then return p:status() == "running" end
  local st = h.proc_state(p:pid())
  return st ~= nil and st ~= "Z" and st ~= "X"
end

-- Waits up to `timeout` seconds for pid to be gone or a zombie; returns
-- true and the time it took, or false.
function h.wait_dead(pid, timeout)
  local t0 = h.now()
  repeat
    local st = h.proc_state(pid)
    if st == nil or st == "Z" or st == "X" then return true, h.now() - t0 end
    require("lipc").wait_fds({}, 0.02)
  until h.now() - t0 > timeout
  return false, h.now() - t0
end

-- The open fds of this process, as a sorted list of numbers. Probed in
-- place with fcntl(F_GETFD), which opens nothing: a listing of
-- /proc/self/fd needs a directory handle, and one done by a child through
-- io.popen races with popen closing its end of the pipe (on a loaded
-- machine the child could see that end too). Up to the host's soft
-- RLIMIT_NOFILE (no fd can be above it), at most 65536.
function h.fds()
  local lipc = require "lipc"
  local limit = math.min(lipc.diag("host_nofile") or 65536, 65536)
  local t = {}
  for fd = 0, limit - 1 do
    if C.fcntl(fd, 1) >= 0 then t[#t + 1] = fd end -- F_GETFD
  end
  return t
end

-- Children of this process in state Z.
function h.zombies()
  local p = assert(io.popen("cat /proc/[0-9]*/stat 2>/dev/null"))
  local n = 0
  for l in p:lines() do
    local st, ppid = l:match("%)%s+(%a)%s+(%d+)")
    if st == "Z" and tonumber(ppid) == pid then n = n + 1 end
  end
  p:close()
  return n
end

-- Whether fd is open in this process.
function h.fd_open(fd) return C.fcntl(fd, 1) >= 0 end -- F_GETFD

---- fork children (POSIX) ----
-- h.fork(fn) runs fn() in a child of fork() (this LuaJIT state copied, one
-- thread) and returns the child; child.result(timeout) waits at most
-- timeout seconds (default 20) for it to end and returns what fn returned
-- (tostring'ed, sent back through a pipe). It raises when fn raised (with
-- fn's traceback), the child died or did not end in time (then it is
-- killed). The child never returns into the runner: it ends with _exit,
-- so nothing of this process's (stdio buffers, atexit) runs twice.
local forked = {}
function h.fork(fn)
  h.posix_only("fork")
  for decl in ("int fork(void);\nvoid _exit(int status);"):gmatch("[^\n]+") do pcall(ffi.cdef, decl) end
  local r, w = h.pipe()
  io.stdout:flush()
  io.stderr:flush()
  local child = C.fork()
  if child < 0 then C.close(r) C.close(w) error("fork failed", 2) end
  if child == 0 then
    C.close(r)
    local ok, res = xpcall(fn, debug.traceback)
    local out = tostring(res)
    local off = 0
    while off < #out do
      local n = tonumber(C.write(w, ffi.cast("const char *", out) + off, #out - off))
      if n <= 0 then break end
      off = off + n
    end
    C._exit(ok and 0 or 1)
  end
  C.close(w)
  local c = { pid = child }
  forked[#forked + 1] = c
  local status = ffi.new("int[1]")
  local buf = ffi.new("char[4096]")
  function c.result(timeout)
    local deadline, parts = h.now() + (timeout or 20), {}
    local entry = { fd = r, read = true }
    while r do
      local left = deadline - h.now()
      local ready, _, code = false, nil, nil
      if left > 0 then ready, _, code = require("lipc").wait_fds({ entry }, left) end
      if not ready and code == -7 then -- EINTR: a signal handler ran; wait on
      elseif not ready then
        C.kill(child, 9)
        C.waitpid(child, status, 0)
        C.close(r)
        r, c.pid = nil, nil
        error(("fork child %d did not end in %ss; it sent: %s"):format(child, timeout or 20, table.concat(parts)), 2)
      end
      local n = ready and tonumber(C.read(r, buf, 4096)) or -1
      if n > 0 then parts[#parts + 1] = ffi.string(buf, n) elseif n == 0 then C.close(r) r = nil end
    end
    C.waitpid(child, status, 0)
    c.pid = nil
    local out, st = table.concat(parts), status[0]
    if st ~= 0 then
      error(("fork child %s (status 0x%x): %s"):format(st % 128 == 0 and "failed" or "died", st, out), 2)
    end
    return out
  end
  return c
end

-- Called by the runner after each test and at the end.
function h.cleanup()
  local lipc = package.loaded.lipc
  for i = #made, 1, -1 do
    if lipc then lipc[made[i][1]].unlink(made[i][2]) end
    made[i] = nil
  end
  for i = #forked, 1, -1 do -- fork children a failed test left running
    local c = forked[i]
    forked[i] = nil
    if c.pid then pcall(c.result, 0) end
  end
  for i = #spawned, 1, -1 do -- children a failed test left running
    local p = spawned[i]
    spawned[i] = nil
    if p.handle then
      p:kill("KILL")
      p:wait(5)
      p:close()
    end
  end
end
function h.finish()
  h.cleanup()
  if tmp and h.windows then os.execute("rmdir /s /q " .. h.q(tmp) .. " >nul 2>nul")
  elseif tmp then os.execute("rm -rf " .. h.q(tmp)) end
end

return h
