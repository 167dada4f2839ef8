-- Semaphores, mutexes, shared memory and file locks from LuaJIT, each beside
-- the nearest plain equivalent done through the ffi in the same run:
--   sem post+wait pair (uncontended)   binding s:post()+s:wait(), raw
--       lipc_sem_post+lipc_sem_wait  |  glibc sem_post+sem_wait on a sem_t
--       in ffi.new memory (pshared = 1)
--   mutex lock+unlock pair             binding m:lock()+m:unlock(), raw
--       lipc_mutex_lock+unlock  |  a robust process-shared pthread mutex in
--       ffi.new memory (what lipc's mutex is)
--   event set+wait pair (auto-reset)   binding e:set()+e:wait(), raw
--       lipc_event_set+lipc_event_wait  |  the C bench's raw futex event
--       (tests/bench/raw_event.h) in ffi.new memory, called through the ffi
--       in build/bench/libbenchbase.so, as lipc's are in liblipc.so
--       (tests/bench/build.sh builds it; the row is left out without it)
--   copy 256 MiB into shm (MiB/s)      ffi.copy into s:ptr() of a new lipc
--       shm  |  ffi.copy into a plain shm_open+ftruncate+mmap mapping; both
--       "fresh" (the pages are faulted in by the copy, as the C bench
--       measures) and "warm" (a second copy into the same pages)
--   256 MiB in 1 MiB chunks (MiB/s)    mf:write(chunk) through s:file()
--       |  ffi.copy of the same chunk string at an advancing offset of the
--       plain mapping (warm pages both)
--   file lock+unlock pair              binding L:lock()+L:unlock(), raw
--       lipc_flock_lock+unlock  |  fcntl(F_OFD_SETLK) lock and unlock
-- Prints medians and ratios (lipc / baseline: > 1 means lipc is slower for
-- times, faster for MiB/s). Nothing here asserts a speed. Each round runs
-- at its own depth of the C stack, through base_shifted in
-- build/bench/libbenchbase.so when it is there (tests/bench/bench_sync_mem.c
-- says why: at a few stack placements a pair costs twice as much, and one
-- process has one placement).
--   cd /work/main && LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' \
--     luajit bindings/luajit/bench/bench_sync_mem.lua [rounds] [pairs]
local ffi = require "ffi"
local lipc = require "lipc"
local record = dofile((arg[0]:match("^(.*/)") or "./") .. "bench_record.lua")
local C = lipc.C

local ROUNDS = tonumber(arg and arg[1]) or tonumber(os.getenv("LIPC_BENCH_ROUNDS")) or 7
local PAIRS = tonumber(arg and arg[2]) or tonumber(os.getenv("LIPC_BENCH_PAIRS")) or 500000
local BIG = 256 * 1048576
local CHUNK = 1048576
local BIG_ROUNDS = math.min(ROUNDS, 3)

for decl in ([[
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct timespec *tp);
int getpid(void);
typedef union { char __size[32]; long __align; } sem_t;
int sem_init(sem_t *sem, int pshared, unsigned int value);
int sem_post(sem_t *sem);
int sem_wait(sem_t *sem);
int sem_destroy(sem_t *sem);
int pthread_mutexattr_init(void *attr);
int pthread_mutexattr_setpshared(void *attr, int pshared);
int pthread_mutexattr_setrobust(void *attr, int robust);
int pthread_mutex_init(void *m, const void *attr);
int pthread_mutex_lock(void *m);
int pthread_mutex_unlock(void *m);
int shm_open(const char *name, int oflag, unsigned mode);
int shm_unlink(const char *name);
int ftruncate(int fd, long length);
void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
int munmap(void *addr, size_t length);
int close(int fd);
int open(const char *path, int flags, ...);
int fcntl(int fd, int cmd, ...);
struct flock { short l_type; short l_whence; long l_start; long l_len; int l_pid; };
void *malloc(size_t n);
void free(void *p);
]]):gmatch("[^\n]+") do pcall(ffi.cdef, decl) end
local libc = ffi.C

local ts = ffi.new("struct timespec")
local function now()
  libc.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function median(t)
  table.sort(t)
  return t[math.floor(#t / 2) + 1]
end

local root = (arg[0]:match("^(.*/)") or "./") .. "../../../"
local okbase, base = pcall(ffi.load, root .. "build/bench/libbenchbase.so")
local shifted = okbase and pcall(ffi.cdef, "void base_shifted(int r, void (*f)(void));") and
  pcall(function() return base.base_shifted end)

-- ns per iteration of f(n): median of ROUNDS rounds after a warm-up round,
-- round r at stack placement r (base_shifted) when it can be moved.
local function per_op(f, n)
  f(n)
  local t = {}
  local cb = shifted and ffi.cast("void (*)(void)", function() f(n) end)
  for r = 1, ROUNDS do
    local t0 = now()
    if cb then base.base_shifted(r, cb) else f(n) end
    t[r] = (now() - t0) * 1e9 / n
  end
  if cb then cb:free() end
  return median(t)
end

local function line(label, a, b, bname, unit)
  print(("luajit  %-36s lipc %9.1f %-5s %-30s %9.1f %-5s ratio %5.2f"):format(label, a, unit, bname, b, unit, a / b))
  record(label, a, unit, bname, b)
end

local pid = libc.getpid()
print(("%d rounds, %d pairs a round (3 rounds for 256 MiB copies), medians; library %s")
  :format(ROUNDS, PAIRS, lipc.library_path))

---- semaphores ----
local s = assert(lipc.sem.open("lipc-bench-lua-sem-" .. pid, { create = true, exclusive = true, unlink_on_close = true }))
local sh = s.handle
local sem_post, sem_wait = C.lipc_sem_post, C.lipc_sem_wait
local gsem = ffi.new("sem_t")
assert(libc.sem_init(gsem, 1, 0) == 0)
local glibc_sem = per_op(function(n) for _ = 1, n do libc.sem_post(gsem); libc.sem_wait(gsem) end end, PAIRS)
line("sem post+wait pair (binding)", per_op(function(n) for _ = 1, n do s:post(); s:wait() end end, PAIRS),
  glibc_sem, "glibc sem_post+sem_wait", "ns")
line("sem post+wait pair (raw C calls)", per_op(function(n)
  for _ = 1, n do sem_post(sh); sem_wait(sh, -1) end
end, PAIRS), glibc_sem, "glibc sem_post+sem_wait", "ns")
s:close()

---- mutexes ----
local m = assert(lipc.mutex.open("lipc-bench-lua-mx-" .. pid, { create = true, exclusive = true, unlink_on_close = true }))
local mh = m.handle
local mutex_lock, mutex_unlock = C.lipc_mutex_lock, C.lipc_mutex_unlock
local pm = ffi.new("long[8]") -- pthread_mutex_t is 40 bytes on x86_64, 48 on aarch64
local pa = ffi.new("long[2]")
assert(libc.pthread_mutexattr_init(pa) == 0)
libc.pthread_mutexattr_setpshared(pa, 1)
libc.pthread_mutexattr_setrobust(pa, 1)
assert(libc.pthread_mutex_init(pm, pa) == 0)
local pthread = per_op(function(n) for _ = 1, n do libc.pthread_mutex_lock(pm); libc.pthread_mutex_unlock(pm) end end,
  PAIRS)
line("mutex lock+unlock pair (binding)", per_op(function(n)
  for _ = 1, n do m:lock(); m:unlock() end
end, PAIRS), pthread, "robust pshared pthread mutex", "ns")
line("mutex lock+unlock pair (raw C calls)", per_op(function(n)
  for _ = 1, n do mutex_lock(mh, -1, nil); mutex_unlock(mh) end
end, PAIRS), pthread, "robust pshared pthread mutex", "ns")
m:close()

---- events ----
if okbase then
  ffi.cdef [[
struct raw_event { unsigned state, waiters; };
void base_event_set(struct raw_event *e);
void base_event_wait(struct raw_event *e);
]]
  local ev = assert(lipc.event.open("lipc-bench-lua-ev-" .. pid,
    { create = true, exclusive = true, unlink_on_close = true, manual_reset = false }))
  local eh = ev.handle
  local event_set, event_wait = C.lipc_event_set, C.lipc_event_wait
  local raw = ffi.new("struct raw_event")
  local raw_pair = per_op(function(n) for _ = 1, n do base.base_event_set(raw); base.base_event_wait(raw) end end,
    PAIRS)
  line("event set+wait pair (binding)", per_op(function(n)
    for _ = 1, n do ev:set(); ev:wait() end
  end, PAIRS), raw_pair, "raw futex event behind a .so", "ns")
  line("event set+wait pair (raw C calls)", per_op(function(n)
    for _ = 1, n do event_set(eh); event_wait(eh, -1) end
  end, PAIRS), raw_pair, "raw futex event behind a .so", "ns")
  assert(ev:is_set() == false)
  ev:close()
else
  print("luajit  event set+wait pair: left out (no build/bench/libbenchbase.so: tests/bench/build.sh builds it)")
end

---- 256 MiB into shared memory ----
local src = ffi.cast("uint8_t *", libc.malloc(BIG))
assert(src ~= nil, "malloc")
ffi.fill(src, BIG, 7)
local chunk = string.rep("x", CHUNK)
local O_RDWR, O_CREAT, O_EXCL = 2, 64, 128
local PROT_RW, MAP_SHARED = 3, 1

local function plain_map(name)
  local fd = libc.shm_open("/" .. name, O_RDWR + O_CREAT + O_EXCL, 384)
  assert(fd >= 0 and libc.ftruncate(fd, BIG) == 0, "plain shm_open")
  local p = libc.mmap(nil, BIG, PROT_RW, MAP_SHARED, fd, 0)
  assert(ffi.cast("intptr_t", p) ~= -1, "mmap")
  return ffi.cast("uint8_t *", p), function()
    libc.munmap(p, BIG); libc.close(fd); libc.shm_unlink("/" .. name)
  end
end

local function mibs(t0) return BIG / (now() - t0) / 1048576 end

local res = { lf = {}, pf = {}, lw = {}, pw = {}, lm = {}, pm = {} }
for r = 1, BIG_ROUNDS do
  local sm = assert(lipc.shm.open(("lipc-bench-lua-shm-%d-%d"):format(pid, r),
    { create = true, exclusive = true, unlink_on_close = true, size = BIG }))
  local dst = sm:ptr()
  local t0 = now(); ffi.copy(dst, src, BIG); res.lf[r] = mibs(t0)
  t0 = now(); ffi.copy(dst, src, BIG); res.lw[r] = mibs(t0)
  local mf = sm:file()
  t0 = now()
  for _ = 1, BIG / CHUNK do mf:write(chunk) end
  res.lm[r] = mibs(t0)
  assert(mf:seek() == BIG)
  sm:close()

  local p, done = plain_map(("lipc-bench-lua-plain-%d-%d"):format(pid, r))
  t0 = now(); ffi.copy(p, src, BIG); res.pf[r] = mibs(t0)
  t0 = now(); ffi.copy(p, src, BIG); res.pw[r] = mibs(t0)
  t0 = now()
  local off = 0
  for _ = 1, BIG / CHUNK do ffi.copy(p + off, chunk, CHUNK); off = off + CHUNK end
  res.pm[r] = mibs(t0)
  done()
end
libc.free(src)
line("copy 256 MiB into shm, fresh (MiB/s)", median(res.lf), median(res.pf), "ffi.copy into shm_open+mmap", "MiB/s")
line("copy 256 MiB into shm, warm (MiB/s)", median(res.lw), median(res.pw), "ffi.copy into shm_open+mmap", "MiB/s")
line("mf:write 1 MiB chunks (MiB/s)", median(res.lm), median(res.pm), "ffi.copy 1 MiB chunks, mmap", "MiB/s")

---- file locks ----
local path = ("%s/lipc-bench-lua-lock-%d"):format(os.getenv("TMPDIR") or "/tmp", pid)
io.open(path, "w"):close()
local L = assert(lipc.flock.open(path))
local lh = L.handle
local flock_lock, flock_unlock = C.lipc_flock_lock, C.lipc_flock_unlock
local fd = libc.open(path, O_RDWR)
local F_OFD_SETLK, F_WRLCK, F_UNLCK = 37, 1, 2
local fl_lock = ffi.new("struct flock", { l_type = F_WRLCK })
local fl_unlock = ffi.new("struct flock", { l_type = F_UNLCK })
local LOCKS = math.max(1, math.floor(PAIRS / 5))
local fcntl_pair = per_op(function(n)
  for _ = 1, n do
    if libc.fcntl(fd, F_OFD_SETLK, fl_lock) ~= 0 then error("fcntl lock") end
    libc.fcntl(fd, F_OFD_SETLK, fl_unlock)
  end
end, LOCKS)
line("file lock+unlock pair (binding)", per_op(function(n)
  for _ = 1, n do L:lock(); L:unlock() end
end, LOCKS), fcntl_pair, "fcntl F_OFD_SETLK pair", "ns")
line("file lock+unlock pair (raw C calls)", per_op(function(n)
  for _ = 1, n do flock_lock(lh, 0, 0, 1, -1); flock_unlock(lh, 0, 0) end
end, LOCKS), fcntl_pair, "fcntl F_OFD_SETLK pair", "ns")
L:close()
libc.close(fd)
os.remove(path)
