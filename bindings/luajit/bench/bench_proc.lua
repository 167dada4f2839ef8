-- What spawning and reading a child cost through lipc from LuaJIT, beside
-- the same work done with libc through the ffi, in the same run:
--   spawn+wait of /bin/true (median microseconds): lipc.proc.spawn{...}
--     + wait + close (the binding, attributes built each time), a prepared
--     attrs:spawn(), and the raw C calls on one attributes handle; each beside
--     posix_spawn + waitpid, alternating so both see the same machine.
--   reading 64 MiB from `head -c 67108864 /dev/zero` in 1 MiB chunks (MB/s):
--     the binding's pipe:read(1 MiB) (Lua strings) beside io.popen +
--     f:read(1 MiB); raw lipc_fd_read into an ffi buffer beside a raw read(2)
--     loop on a posix_spawn'd pipe; and p:communicate() for the whole, beside
--     three baselines: the raw read(2) loop (one 1 MiB buffer, reused: it
--     keeps nothing), a read(2) loop keeping all 64 MiB in one buffer grown by
--     doubling (as tests/bench/bench_proc.c's: a capture must keep it all),
--     and that loop followed by ffi.string (the least a Lua program can do to
--     hold the output as a Lua string: one copy into memory LuaJIT usually
--     maps afresh for a string of 128 KiB or more, whose first touch costs a
--     page fault a page once the last byte is in; the keeping loop takes its
--     faults while it waits for the child, the reusing one none). Each
--     64 MiB run starts with a full collection, outside the clock, so that no
--     earlier run's output is alive: LuaJIT interns strings, and an equal
--     64 MiB string still alive would be found and returned after a memcmp
--     instead of a new one being made (real outputs differ from run to run;
--     /dev/zero's do not).
--   a line captured (median microseconds per child, LIPC_BENCH_LINES
--     children): p:communicate() of /bin/echo beside posix_spawn + pipe +
--     read(2) + waitpid through the ffi.
--   cd /work/main && LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' \
--     luajit bindings/luajit/bench/bench_proc.lua [spawns] [read rounds]
-- Environment: LIPC_BENCH_SPAWNS (default 300), LIPC_BENCH_READS (default 5).
local ffi = require "ffi"
local lipc = require "lipc"
local record = dofile((arg[0]:match("^(.*/)") or "./") .. "bench_record.lua")
local P = lipc.proc
local C = lipc.C

local SPAWNS = tonumber(arg and arg[1]) or tonumber(os.getenv("LIPC_BENCH_SPAWNS")) or 300
local READS = tonumber(arg and arg[2]) or tonumber(os.getenv("LIPC_BENCH_READS")) or 5
local BYTES = 64 * 1048576
local CHUNK = 1048576

for decl in ([[
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct timespec *tp);
int posix_spawn(int *pid, const char *path, const void *file_actions, const void *attrp, char *const argv[], char *const envp[]);
int posix_spawnp(int *pid, const char *file, const void *file_actions, const void *attrp, char *const argv[], char *const envp[]);
int posix_spawn_file_actions_init(void *fa);
int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd);
int posix_spawn_file_actions_addclose(void *fa, int fd);
int posix_spawn_file_actions_destroy(void *fa);
int waitpid(int pid, int *status, int options);
int pipe(int fds[2]);
int close(int fd);
long read(int fd, void *buf, size_t n);
void *malloc(size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
extern char **environ;
]]):gmatch("[^\n]+") do pcall(ffi.cdef, decl) end
local libc = ffi.C

local ts = ffi.new("struct timespec")
local function now_us()
  libc.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local function median(t)
  table.sort(t)
  return t[math.floor(#t / 2) + 1]
end

local function cstrings(list)
  local arr = ffi.new("char *[?]", #list + 1)
  local keep = {}
  for i, s in ipairs(list) do
    keep[i] = ffi.new("char[?]", #s + 1, s)
    arr[i - 1] = keep[i]
  end
  return arr, keep
end

---- spawn + wait ----
local true_argv, true_keep = cstrings({ "/bin/true" })
local pidbuf, status = ffi.new("int[1]"), ffi.new("int[1]")

local function posix_spawn_wait()
  local t0 = now_us()
  if libc.posix_spawn(pidbuf, "/bin/true", nil, nil, true_argv, libc.environ) ~= 0 then error("posix_spawn") end
  if libc.waitpid(pidbuf[0], status, 0) ~= pidbuf[0] then error("waitpid") end
  return now_us() - t0
end

local function binding_spawn_wait()
  local t0 = now_us()
  local p = assert(P.spawn({ "/bin/true" }, { search = false }))
  assert(p:wait() == 0)
  p:close()
  return now_us() - t0
end

local attrs = assert(P.prepare({ "/bin/true" }, { search = false }))
local function prepared_spawn_wait()
  local t0 = now_us()
  local p = assert(attrs:spawn())
  assert(p:wait() == 0)
  p:close()
  return now_us() - t0
end

local hbuf, code = ffi.new("lipc_handle_t[1]"), ffi.new("int[1]")
local function raw_spawn_wait()
  local t0 = now_us()
  if C.lipc_proc_spawn(attrs.handle, hbuf) ~= 0 then error("lipc_proc_spawn") end
  local h = hbuf[0]
  if C.lipc_proc_wait(h, -1, code, nil) ~= 0 or code[0] ~= 0 then error("lipc_proc_wait") end
  C.lipc_close(h)
  return now_us() - t0
end

local function spawn_line(label, f)
  for _ = 1, 20 do f(); posix_spawn_wait() end -- warm-up (and JIT)
  local a, b = {}, {}
  for i = 1, SPAWNS do
    a[i] = f()
    b[i] = posix_spawn_wait()
  end
  local ma, mb = median(a), median(b)
  print(("luajit  %-34s lipc %8.1f us  posix_spawn+waitpid %8.1f us  ratio %5.2f"):format(label, ma, mb, ma / mb))
  record(label, ma, "us", "posix_spawn+waitpid", mb)
end

---- reading 64 MiB ----
local head_argv = { "head", "-c", tostring(BYTES), "/dev/zero" }
local head_cmd = table.concat(head_argv, " ")
local cbuf = ffi.new("char[?]", CHUNK)
local nread = ffi.new("size_t[1]")

local function mbps(t0, total)
  if total ~= BYTES then error(("short read: %d bytes"):format(total)) end
  return BYTES / (now_us() - t0) -- bytes per microsecond = MB/s
end

local function read_binding()
  local t0 = now_us()
  local p = assert(P.spawn(head_argv, { stdout = true }))
  local out, total = p:stdout(), 0
  while true do
    local s = out:read(CHUNK)
    if not s then break end
    total = total + #s
  end
  out:close()
  p:wait()
  p:close()
  return mbps(t0, total)
end

local function read_popen()
  local t0 = now_us()
  local f = assert(io.popen(head_cmd, "r"))
  local total = 0
  while true do
    local s = f:read(CHUNK)
    if not s then break end
    total = total + #s
  end
  f:close()
  return mbps(t0, total)
end

local function read_raw_lipc()
  local t0 = now_us()
  local p = assert(P.spawn(head_argv, { stdout = true }))
  local fd = p:stdout():fileno()
  local total = 0
  while C.lipc_fd_read(fd, cbuf, CHUNK, -1, nread) == 0 and nread[0] > 0 do
    total = total + tonumber(nread[0])
  end
  p:stdout():close()
  p:wait()
  p:close()
  return mbps(t0, total)
end

local head_cargv, head_keep = cstrings(head_argv)
local fa = ffi.new("uint64_t[32]") -- posix_spawn_file_actions_t (80 bytes on glibc), opaque
local pfds = ffi.new("int[2]")
local function read_raw_posix()
  local t0 = now_us()
  assert(libc.pipe(pfds) == 0)
  libc.posix_spawn_file_actions_init(fa)
  libc.posix_spawn_file_actions_adddup2(fa, pfds[1], 1)
  libc.posix_spawn_file_actions_addclose(fa, pfds[0])
  if libc.posix_spawnp(pidbuf, "head", fa, nil, head_cargv, libc.environ) ~= 0 then error("posix_spawnp") end
  libc.posix_spawn_file_actions_destroy(fa)
  libc.close(pfds[1])
  local total = 0
  while true do
    local r = libc.read(pfds[0], cbuf, CHUNK)
    if r <= 0 then break end
    total = total + tonumber(r)
  end
  libc.close(pfds[0])
  libc.waitpid(pidbuf[0], status, 0)
  return mbps(t0, total)
end

-- A read(2) loop that keeps everything: one buffer grown by doubling (as
-- tests/bench/bench_proc.c's read_grow); with as_string, the output then
-- becomes a Lua string (ffi.string) before the buffer is freed.
local function read_raw_posix_keep(as_string)
  local t0 = now_us()
  assert(libc.pipe(pfds) == 0)
  libc.posix_spawn_file_actions_init(fa)
  libc.posix_spawn_file_actions_adddup2(fa, pfds[1], 1)
  libc.posix_spawn_file_actions_addclose(fa, pfds[0])
  if libc.posix_spawnp(pidbuf, "head", fa, nil, head_cargv, libc.environ) ~= 0 then error("posix_spawnp") end
  libc.posix_spawn_file_actions_destroy(fa)
  libc.close(pfds[1])
  local len, cap = 0, 2 * CHUNK
  local buf = ffi.cast("char *", libc.malloc(cap))
  while true do
    if cap - len < CHUNK then
      cap = cap * 2
      buf = ffi.cast("char *", libc.realloc(buf, cap))
    end
    if buf == nil then error("realloc") end
    local r = libc.read(pfds[0], buf + len, CHUNK)
    if r <= 0 then break end
    len = len + tonumber(r)
  end
  libc.close(pfds[0])
  libc.waitpid(pidbuf[0], status, 0)
  local s = as_string and ffi.string(buf, len)
  libc.free(buf)
  if s and #s ~= len then error("ffi.string") end
  return mbps(t0, len)
end
local function read_raw_posix_kept() return read_raw_posix_keep(false) end
local function read_raw_posix_kept_string() return read_raw_posix_keep(true) end

local function read_communicate()
  local t0 = now_us()
  local p = assert(P.spawn(head_argv, { stdout = true }))
  local out = assert(p:communicate())
  p:close()
  return mbps(t0, #out)
end

-- label's figure beside each baseline, one line each; bases is a list of
-- { printed label, recorded name (default: the printed one), function }.
-- Runs alternate (lipc, then each baseline) so all see the same machine.
local function read_line(label, f, bases)
  bases = bases or {}
  local a, b = {}, {}
  for j = 1, #bases do b[j] = {} end
  local function run(g)
    collectgarbage() -- no earlier output alive (see the header), off the clock
    return g()
  end
  for i = 1, READS do
    a[i] = run(f)
    for j, base in ipairs(bases) do b[j][i] = run(base[3]) end
  end
  local ma = median(a)
  if #bases == 0 then
    print(("luajit  %-34s lipc %8.0f MB/s"):format(label, ma))
    record(label, ma, "MB/s")
  end
  for j, base in ipairs(bases) do
    local mb = median(b[j])
    print(("luajit  %-34s lipc %8.0f MB/s  %-15s %8.0f MB/s  ratio %5.2f"):format(label, ma, base[1], mb, ma / mb))
    record(label, ma, "MB/s", base[2] or base[1], mb)
  end
end

---- many small outputs: a child printing a line, captured ----
local LINES = tonumber(os.getenv("LIPC_BENCH_LINES")) or 1000
local echo_argv, echo_keep = cstrings({ "/bin/echo", "a line of output" })
local line_attrs = assert(P.prepare({ "/bin/echo", "a line of output" }, { search = false, stdout = true }))
local function line_communicate()
  local t0 = now_us()
  local p = assert(line_attrs:spawn())
  local out = assert(p:communicate())
  p:close()
  if out ~= "a line of output\n" then error("echo's line: " .. tostring(out)) end
  return now_us() - t0
end

local function line_posix()
  local t0 = now_us()
  assert(libc.pipe(pfds) == 0)
  libc.posix_spawn_file_actions_init(fa)
  libc.posix_spawn_file_actions_adddup2(fa, pfds[1], 1)
  libc.posix_spawn_file_actions_addclose(fa, pfds[0])
  if libc.posix_spawn(pidbuf, "/bin/echo", fa, nil, echo_argv, libc.environ) ~= 0 then error("posix_spawn") end
  libc.posix_spawn_file_actions_destroy(fa)
  libc.close(pfds[1])
  local total = 0
  while true do
    local r = libc.read(pfds[0], cbuf, CHUNK)
    if r <= 0 then break end
    total = total + tonumber(r)
  end
  libc.close(pfds[0])
  libc.waitpid(pidbuf[0], status, 0)
  local s = ffi.string(cbuf, total) -- the line as a Lua string, as communicate gives it
  if #s ~= 17 then error("echo's line (posix)") end
  return now_us() - t0
end

local function lines_line(label)
  for _ = 1, 10 do line_communicate(); line_posix() end
  local a, b = {}, {}
  for i = 1, LINES do
    a[i] = line_communicate()
    b[i] = line_posix()
  end
  local ma, mb = median(a), median(b)
  print(("luajit  %-34s lipc %8.1f us  posix_spawn+read(2)  %8.1f us  ratio %5.2f"):format(label, ma, mb, ma / mb))
  record(label, ma, "us", "posix_spawn + read(2) + waitpid, ffi", mb)
end

print(("spawn+wait: median of %d; 64 MiB reads: median of %d; library %s"):format(SPAWNS, READS, lipc.library_path))
spawn_line("spawn+wait /bin/true (binding)", binding_spawn_wait)
spawn_line("spawn+wait /bin/true (prepared)", prepared_spawn_wait)
spawn_line("spawn+wait /bin/true (raw C calls)", raw_spawn_wait)
read_line("read 64 MiB, pipe:read(1 MiB)", read_binding, { { "io.popen read", nil, read_popen } })
read_line("read 64 MiB, lipc_fd_read into ffi", read_raw_lipc, { { "read(2) loop", nil, read_raw_posix } })
read_line("read 64 MiB, p:communicate()", read_communicate, {
  { "read(2) loop", nil, read_raw_posix },
  { "read(2), kept", "read(2) loop keeping all (realloc)", read_raw_posix_kept },
  { "kept+ffi.string", "read(2) loop keeping all (realloc) + ffi.string", read_raw_posix_kept_string },
})
lines_line("a line captured, p:communicate()")
attrs:close()
line_attrs:close()
local _ = { true_keep, head_keep, echo_keep } -- the argv strings must outlive their arrays
