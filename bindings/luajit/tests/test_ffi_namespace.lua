-- lipc shares LuaJIT's one C namespace with every other FFI library of the
-- process (issue 9, item 12). A struct declared twice is an error there
-- ("attempt to redefine 'timespec'"), and a function declared twice keeps
-- its first declaration whatever its parameters, so lipc must declare no
-- libc name and no C type of its own: luapower's fs, ljsyscall and the
-- like declare struct timespec, fcntl, ... their own way, before or after
-- lipc. Each case runs in a fresh luajit process: a module that declares
-- the common libc types and functions (some with other parameter lists, as
-- real bindings do) is loaded before lipc, or after it; both must work, and
-- every lipc module (the LuaIPC and luapower compat layers too) after both.
local h = require "helpers"

local T = {}

-- Another FFI library: the common libc types and functions, declared with
-- plain ffi.cdef (no pcall), as luapower's fs or ljsyscall do. fcntl takes
-- a long, not "...", as some bindings declare it; struct timespec uses
-- time_t.
local OTHER = [=[
local ffi = require "ffi"
ffi.cdef [[
typedef int pid_t;
typedef long time_t;
typedef long suseconds_t;
typedef unsigned int mode_t;
struct timespec { time_t tv_sec; long tv_nsec; };
struct timeval { time_t tv_sec; suseconds_t tv_usec; };
struct stat {
  unsigned long st_dev; unsigned long st_ino; unsigned long st_nlink;
  unsigned int st_mode; unsigned int st_uid; unsigned int st_gid; int __pad0;
  unsigned long st_rdev; long st_size; long st_blksize; long st_blocks;
  struct timespec st_atim; struct timespec st_mtim; struct timespec st_ctim;
  long __unused[3];
};
pid_t getpid(void);
int open(const char *path, int flags, ...);
int close(int fd);
long read(int fd, void *buf, size_t n);
long write(int fd, const void *buf, size_t n);
char *strerror(int errnum);
int kill(pid_t pid, int sig);
int nanosleep(const struct timespec *req, struct timespec *rem);
int clock_gettime(int clk, struct timespec *tp);
int gettimeofday(struct timeval *tv, void *tz);
int pipe(int fds[2]);
int pipe2(int fds[2], int flags);
int fcntl(int fd, int cmd, long arg);
int fileno(struct _IO_FILE *stream);
void *memchr(const void *s, int c, size_t n);
char *getcwd(char *buf, size_t size);
long readlink(const char *path, char *buf, size_t size);
void (*signal(int sig, void (*handler)(int)))(int);
]]
local C = ffi.C
local other = {}
function other.check() -- uses its own declarations
  local ts = ffi.new("struct timespec")
  assert(C.clock_gettime(1, ts) == 0 and ts.tv_sec > 0, "clock_gettime")
  ts.tv_sec, ts.tv_nsec = 0, 1000
  assert(C.nanosleep(ts, nil) == 0, "nanosleep")
  assert(C.gettimeofday(ffi.new("struct timeval"), nil) == 0, "gettimeofday")
  assert(ffi.sizeof("struct stat") == 144, "struct stat")
  local fds = ffi.new("int[2]")
  assert(C.pipe(fds) == 0, "pipe")
  assert(C.write(fds[1], "hi", 2) == 2, "write")
  local buf = ffi.new("char[4]")
  assert(C.read(fds[0], buf, 4) == 2, "read")
  assert(C.fcntl(fds[0], 1, 0) >= 0, "fcntl (F_GETFD) with three arguments")
  C.close(fds[0]); C.close(fds[1])
  assert(C.kill(C.getpid(), 0) == 0, "kill")
  assert(ffi.string(C.strerror(2)) ~= "", "strerror")
  local fd = C.open("/dev/null", 0)
  assert(fd >= 0, "open"); C.close(fd)
  assert(C.memchr("abc", 98, 3) ~= nil, "memchr")
  assert(C.getcwd(ffi.new("char[4096]"), 4096) ~= nil, "getcwd")
  return true
end
return other
]=]

-- Uses every lipc module, and each libc function lipc needs: the monotonic
-- clock, pipes with timeouts (fcntl), a child with a pipe, memchr (memfile
-- lines), fileno (a file lock on an io file), signal (ipc.proc), getcwd and
-- readlink (luapower's proc).
local USE_LIPC = [=[
local lipc = require "lipc"
local ipc = { sem = require "ipc.sem", shm = require "ipc.shm", mmap = require "ipc.mmap",
              filelock = require "ipc.filelock", proc = require "ipc.proc", strfile = require "ipc.strfile" }
local lproc = require "proc"
assert(lipc.clock() > 0, "lipc.clock")
local r, w = lipc.pipe.new()
assert(w:write("line\n"), "pipe write")
assert(r:read("l", 5) == "line", "pipe read")
assert(r:read(1, 0) == false, "pipe read with a timeout (fcntl)")
r:close(); w:close()
local p = assert(lipc.proc.spawn({ "echo", "child" }, { stdout = true }))
assert(p:stdout():read("l", 10) == "child", "child output")
assert(p:wait(10) == 0, "child exit"); p:close()
local mf = lipc.memfile.from_string("a\nb\n")
assert(mf:read("l") == "a" and mf:read("l") == "b", "memfile lines (memchr)")
local path = os.tmpname()
local f = assert(io.open(path, "w"))
assert(lipc.flock.lock_file(f, "w", 0, 1, 0) == true, "lock_file (fileno)")
assert(ipc.filelock.unlock(f) == true, "ipc.filelock")
f:close(); os.remove(path)
local out = {}
local ip = assert(ipc.proc.spawn("echo ipc", { stdout = true, callback = function(_, d) out[#out + 1] = d end }))
assert(ip:wait() == true and table.concat(out) == "ipc\n", "ipc.proc (signal)")
assert(ipc.strfile.open("x\n"):read("l") == "x", "ipc.strfile")
assert(type(lproc.exepath()) == "string", "luapower proc exepath (readlink)")
local lp = assert(lproc.exec { cmd = { "true" }, dir = "/" })
assert(lp:wait(lproc.clock() + 10) == 0, "luapower proc exec (getcwd)")
]=]

local function run(code)
  local f = assert(io.popen(h.luajit_cmd(code) .. " 2>&1; echo \"exit=$?\""))
  local out = f:read("*a")
  f:close()
  return out
end

local function other_module()
  local dir = h.tmpdir()
  local file = assert(io.open(dir .. "/otherffi.lua", "w"))
  file:write(OTHER)
  file:close()
  return ("package.path = %q .. package.path\n"):format(dir .. "/?.lua;")
end

function T.another_ffi_library_loaded_before_lipc()
  local out = run(other_module() .. [[
local other = require "otherffi"
assert(other.check())
]] .. USE_LIPC .. [[
assert(other.check())
print("both work")
]])
  h.ok(out:find("both work\nexit=0", 1, true), "other library first: " .. out)
end

function T.another_ffi_library_loaded_after_lipc()
  local out = run(other_module() .. USE_LIPC .. [[
local other = require "otherffi"
assert(other.check())
]] .. USE_LIPC .. [[
assert(other.check())
print("both work")
]])
  h.ok(out:find("both work\nexit=0", 1, true), "lipc first: " .. out)
end

return h.posix_only_file(T, "the children run through sh (env, echo, true); the Windows loader tests are in test_windows.lua")
