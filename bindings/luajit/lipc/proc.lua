-- Child processes (lipc_spawnattr_*, lipc_proc_*): start, signal, wait,
-- talk to. Every failure to start (program not found, not executable, bad
-- cwd, bad fd map, a file that cannot be opened, a refused limit) is a
-- failure of spawn with its code and errno, never a child exiting 127.
--
-- Starting
--   proc.spawn(cmd [, opts]) / proc.spawn(opts)  -> p | nil, msg, code, errno
--     cmd: {"prog", "arg", ...} (argv, run directly) or "a shell command"
--       (/bin/sh -c). As one table, the array part is argv and the named
--       fields are opts: proc.spawn{"ls", "-l", stdout = true}; or opts.cmd.
--     opts:
--       program = path    the program to run when it is not argv[0]
--       search = false    no PATH search for a name without '/' (default on;
--                         the child's PATH is used, as subprocess does)
--       env = {K = "v"}   the child's whole environment (replaces the host's)
--       env_add = {K = "v" | false}  set (false: remove) on top of it
--       env_unset = {"K", ...}       remove these
--       cwd = dir, umask = 0..0777, setsid = true,
--       pgroup = true (a new group led by the child) | pgid to join
--       user = uid | "name", group = gid | "name",
--       extra_groups = {gid | "name", ...} (the supplementary groups; {}
--                         for none): set in the child before exec (needs
--                         the privilege; refused: EPERM from spawn)
--       pipesize = bytes  the capacity of each pipe of the fd map
--       close_fds = false fds of this process that are not in the map and
--                         lack close-on-exec (io.open's) stay open in the
--                         child (default true: only the map)
--       restore_signals = true (default): a signal this process ignores
--                         stays ignored in the child (nohup), except what
--                         runtimes ignore for themselves (SIGPIPE, SIGXFSZ:
--                         reset, as Python's subprocess does); false: every
--                         ignored one stays; "all": every signal default.
--                         Caught signals always start at the default.
--       stdin / stdout / stderr / fds = {[n] = ...}: what child fd n is:
--         nil, false, "inherit"  the parent's same fd (default for 0-2;
--                                other fds are closed in the child)
--         true, "pipe"           a new pipe (the child reads fd 0, writes the
--                                others); take the parent's end with p:pipe(n)
--                                or p:stdin()/p:stdout()/p:stderr(), or leave
--                                it to p:communicate()
--         "pipe_in", "pipe_out"  a pipe of that direction (seen from the child)
--         "null"                 /dev/null
--         "close"                closed in the child
--         "stdout", "stderr"     the same file as the child's fd 1 / 2
--                                (stderr = "stdout" is 2>&1)
--         a number               that parent fd (kept open here)
--         a Lua io file          its fd (kept open here; flushed first)
--         a pipe object          (lipc.proc.pipe(), another child's pipe)
--                                handed over: closed here once the child has
--                                started, and the object is closed
--         {fd = n | file | pipe, close = bool}  a parent fd; close = true
--                                closes it here once the child started
--                                (default: true for pipe objects only)
--         {path = "f", mode = "r"|"w"|"a"|"r+"|"w+"|"a+" (+"x": exclusive),
--          perm = 0644}          a file opened for the child (mode defaults
--                                to "r" for fd 0, "w" for others)
--         {child = m}            the same file as child fd m
--         {null = true, mode = "r"|"w"|"r+"} /dev/null opened so
--       rlimits = {cpu = 1, nofile = {77, 88}, as = 200 * 2^20, ...}
--                         soft = hard = n, or {soft, hard} / {soft = , hard = };
--                         "unlimited" (or math.huge, -1) for infinity.
--                         cpu fsize data stack core nofile as nproc memlock
--       autokill = true ("KILL") | "TERM" | signal number: the child gets it
--                         when this process dies, however it dies
--       on_close = "leave" (default: runs on, still reaped) | "stop" (TERM,
--                         KILL after the grace): what p:close() does to a
--                         running child
--       grace = seconds   for on_close "stop" and p:stop() (default 5)
--   proc.prepare(cmd [, opts]) -> attrs | nil, msg, code, errno
--     the same options, checked once; attrs:spawn() starts a child each time
--     (cheaper in a loop); attrs:close(). Pipe objects in it are handed over
--     at the first spawn, after which attrs:spawn() raises.
--   proc.run(cmd [, opts]) -> result | nil, msg, code, errno, result
--     spawn with stdout and stderr piped (unless given) and stdin piped when
--     opts.input is given, communicate(opts.input, opts.timeout,
--     opts.max_output), wait, close. result = {code =, signal =, stdout =,
--     stderr =, pid =, utime =, stime =, maxrss_kb =}. On a timeout (or any
--     failure of communicate) the child is killed and its output collected
--     (as Python's subprocess.run): nil, msg, code, errno, result.
--
-- A process p (p.handle: the handle number; nil once closed)
--   p:pid() -> number          p:path() -> the program run, after PATH search
--   p:wait([timeout])  -> code, sig  (code -1 when a signal killed it, sig 0
--                        when it exited) | false, msg, ETIMEDOUT, errno
--                        (still running) | nil, msg, code, errno (EINTR,
--                        ESTATUSLOST when the host reaped it, ...)
--                        Waits for the process, not its pipes.
--   p:status() -> "running" | "exited", code, 0 | "killed", -1, sig
--                | nil, msg, code, errno            (polls; reaps if done)
--   p:exit_code() -> code, sig (code -1 if killed) | nil, "running"
--                | nil, msg, code, errno
--   p:kill([sig [, group]]) -> true | nil, msg, code, errno
--                        sig: number or name ("TERM", "SIGKILL", "kill"),
--                        default "KILL"; 0 checks it is alive; group = true
--                        signals its process group (it must lead one).
--                        ENOENT once it has exited.
--   p:terminate() -> p:kill("TERM")
--   p:stop([grace [, group]]) -> code, sig | nil, msg, code, errno
--                        TERM, then KILL after grace seconds (default
--                        opts.grace or 5), and reap
--   p:info() -> {running =, exit_code =, signal =, core_dumped =, utime =,
--                stime = (seconds), utime_us =, stime_us =, maxrss_kb =,
--                rss_kb =, pid =}  (figures not available now, such as the
--                exit code of a running child, are absent; the pidfd is
--                p:pidfd(), as asking for it keeps it open until close)
--   p:info(name) -> that figure | nil, msg, code, errno (EAGAIN: not now)
--   p:communicate([input [, timeout [, max_output]]])
--             -> out, err   (strings; "" for a stream that is not a pipe)
--              | false, msg, ETIMEDOUT, errno, out_so_far, err_so_far
--              | nil, msg, code, errno, out_so_far, err_so_far
--                (ERANGE: a stream passed max_output bytes; EINTR)
--     feeds input to stdin and closes it, collects stdout and stderr till
--     both end, waits for the exit; never deadlocks. After a timeout nothing
--     is lost: call again (e.g. after p:kill()) to get everything from the
--     start. Pipes taken with p:pipe() are not touched. Each output is one
--     copy (ffi.string) of the buffer lipc collected into; a Lua string of
--     128 KiB or more is memory LuaJIT usually maps afresh: touching it is
--     most of a large capture's cost (bench/bench_proc.lua). To keep the
--     bytes in an ffi buffer instead: p:stdout():read_into(buf, size).
--   p:pipe(n) -> the parent's end of the pipe at child fd n, as a pipe object
--             (lipc/pipe.lua), taken once and cached | nil, msg, code, errno
--   p:stdin(), p:stdout(), p:stderr()  -> p:pipe(0), p:pipe(1), p:pipe(2)
--   p:close_fd(n) -> true | nil, ...  closes our end of the pipe at child fd n
--             (closing stdin sends EOF)
--   p:pidfd() -> the pidfd (owned by p; readable once the child exited;
--             open until p:close() once asked for) | nil, msg, ENOENT when
--             the child was reaped before it was asked for (a reaped child
--             keeps no fd)
--   p:close() -> true   closes the handle (idempotent); a running child is
--             left or stopped as opts.on_close says, and never left a zombie.
--             Pipes taken with p:pipe() stay open: they are their own objects.
-- Any method but close() on a closed process raises
-- "attempt to use closed process".
--
-- Waiting for several things
--   proc.wait_any(items [, timeout]) -> ready | false, msg, ETIMEDOUT, errno
--                                          | nil, msg, code, errno
--     items: processes (ready once exited), pipe objects (read ends: data or
--     EOF; write ends: room), raw {fd =, read =, write =} entries. ready:
--     the items that are ready, in the order given.
--
-- Helpers
--   proc.pipe() -> r, w           a new pipe (lipc.pipe.new)
--   proc.signals                  {HUP = 1, INT = 2, ..., TERM = 15, ...} (Linux)
--   proc.signum(name_or_number)   -> number;  proc.signame(n) -> "TERM" | nil
--   proc.quote_arg(s [, style]) -> lipc.quote.arg, proc.esc(s [, style]) ->
--                                 lipc.quote.esc (luapower's names)
--   proc.env                      -> lipc.env
--
-- Failures are nil, msg, code, errno (lipc.errors codes); waits that merely
-- timed out return false, msg, ETIMEDOUT, errno, as semaphore waits do;
-- EINTR is returned, not retried. Misuse (bad option types, unknown options,
-- NUL bytes in strings, closed objects) raises.
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local handle = require "lipc.handle"
local pipe = require "lipc.pipe"
local util = require "lipc.util"
local wait = require "lipc.wait"

local fail, check, argerror = errors.fail, errors.check, errors.argerror
local check_cstring, check_int, timeout_ms = errors.check_cstring, errors.check_int, errors.timeout_ms
local get = handle.get
local codes = errors.codes
local ETIMEDOUT = codes.ETIMEDOUT
local type, pairs, ipairs, error, tostring, tonumber, unpack = type, pairs, ipairs, error, tostring, tonumber, unpack
local lipc_free = C.lipc_free
local istype, int64_t = ffi.istype, ffi.typeof("int64_t")

local A = {
  new = C.lipc_spawnattr_new, arg = C.lipc_spawnattr_arg, shell = C.lipc_spawnattr_shell,
  program = C.lipc_spawnattr_set_program, search = C.lipc_spawnattr_set_search,
  env_clear = C.lipc_spawnattr_env_clear, env_set = C.lipc_spawnattr_env_set,
  env_unset = C.lipc_spawnattr_env_unset, cwd = C.lipc_spawnattr_set_cwd,
  umask = C.lipc_spawnattr_set_umask, pgroup = C.lipc_spawnattr_set_pgroup,
  setsid = C.lipc_spawnattr_set_setsid, fd = C.lipc_spawnattr_set_fd,
  rlimit = C.lipc_spawnattr_set_rlimit, autokill = C.lipc_spawnattr_set_autokill,
  on_close = C.lipc_spawnattr_set_on_close, user = C.lipc_spawnattr_set_user,
  group = C.lipc_spawnattr_set_group, groups_clear = C.lipc_spawnattr_groups_clear,
  groups_add = C.lipc_spawnattr_groups_add, pipesize = C.lipc_spawnattr_set_pipesize,
  keep_fds = C.lipc_spawnattr_set_keep_fds, sigreset = C.lipc_spawnattr_set_sigreset,
  sigdefault = C.lipc_spawnattr_set_sigdefault,
}
local SIGRESET_ALL = 1
local MAX_ID = 2^32 - 2 -- (uid_t)-1 means "no change" to the kernel

-- Private names (as lipc.util's libc calls), so a program's own cdef of
-- getpwnam or struct passwd never clashes with these.
ffi.cdef [[
struct lipc_passwd_head { char *pw_name; char *pw_passwd; uint32_t pw_uid; uint32_t pw_gid; };
struct lipc_group_head { char *gr_name; char *gr_passwd; uint32_t gr_gid; };
void *lipc__getpwnam(const char *name) __asm__("getpwnam");
void *lipc__getgrnam(const char *name) __asm__("getgrnam");
]]
local proc_spawn, proc_pid, proc_path = C.lipc_proc_spawn, C.lipc_proc_pid, C.lipc_proc_path
local take_fd, close_fd, proc_kill = C.lipc_proc_take_fd, C.lipc_proc_close_fd, C.lipc_proc_kill
local proc_wait, proc_stop, proc_info = C.lipc_proc_wait, C.lipc_proc_stop, C.lipc_proc_info
local proc_info_many = C.lipc_proc_info_many
local proc_comm = C.lipc_proc_communicate

-- Constants of include/lipc.h.
local FD = { INHERIT = 0, CLOSE = 1, NULL = 2, PIPE_IN = 3, PIPE_OUT = 4, PARENT = 5, FILE = 6, CHILD = 7 }
local FD_CLOSE_PARENT = 1
local FILE = { READ = 1, WRITE = 2, APPEND = 4, CREATE = 8, TRUNC = 16, EXCL = 32 }
local RLIMIT = { cpu = 0, fsize = 1, data = 2, stack = 3, core = 4, nofile = 5, as = 6, nproc = 7, memlock = 8 }
local INFO = { running = 1, exit_code = 2, signal = 3, core_dumped = 4, utime_us = 5, stime_us = 6,
               maxrss_kb = 7, rss_kb = 8, pidfd = 9 }
-- The order info() reads them in: the current size before the peak, so a
-- growing child never shows a peak below its current size.
local INFO_ORDER = { "running", "exit_code", "signal", "core_dumped", "utime_us", "stime_us", "rss_kb",
                     "maxrss_kb" }
local ON_CLOSE = { leave = 0, stop = 1 }
local DEFAULT_GRACE = 5

-- Linux signal numbers (x86, arm, riscv and the other "generic" ABIs).
local signals = {
  HUP = 1, INT = 2, QUIT = 3, ILL = 4, TRAP = 5, ABRT = 6, IOT = 6, BUS = 7, FPE = 8, KILL = 9,
  USR1 = 10, SEGV = 11, USR2 = 12, PIPE = 13, ALRM = 14, TERM = 15, STKFLT = 16, CHLD = 17,
  CONT = 18, STOP = 19, TSTP = 20, TTIN = 21, TTOU = 22, URG = 23, XCPU = 24, XFSZ = 25,
  VTALRM = 26, PROF = 27, WINCH = 28, IO = 29, POLL = 29, PWR = 30, SYS = 31,
}
local signames = {}
for name, n in pairs(signals) do
  if not signames[n] or #name > #signames[n] or name == "ABRT" or name == "IO" then signames[n] = name end
end
signames[6], signames[29] = "ABRT", "IO"

-- Out-parameters, allocated once (one LuaJIT state runs one thread at a time).
local hbuf = ffi.new("lipc_handle_t[1]")
local i64 = ffi.new("int64_t[1]")
local ibuf, ibuf2 = ffi.new("int[1]"), ffi.new("int[1]")
local outp, errp = ffi.new("char *[1]"), ffi.new("char *[1]")
local olen, elen = ffi.new("size_t[1]"), ffi.new("size_t[1]")
-- info()'s figures, asked in one lipc_proc_info_many call (issue 12).
local INFO_N = #INFO_ORDER
local info_what = ffi.new("int[?]", INFO_N)
for i, k in ipairs(INFO_ORDER) do info_what[i - 1] = INFO[k] end
local info_values, info_rcs = ffi.new("int64_t[?]", INFO_N), ffi.new("int[?]", INFO_N)

local proc = { signals = signals, FD = FD, FILE = FILE, RLIMIT = RLIMIT }

-- level: of the public function, counted from the caller of signum_of.
local function signum_of(sig, n, fname, level)
  if type(sig) == "number" or type(sig) == "cdata" then
    return check_int(sig, n, fname, 0, 64, "signal number", (level or 1) + 1)
  end
  if type(sig) == "string" then
    local s = sig:upper():gsub("^SIG", "")
    local v = signals[s]
    if v then return v end
  end
  argerror(n, fname, "signal number or name ('TERM', 'KILL', ...)", tostring(sig), (level or 1) + 1)
end

function proc.signum(sig) return signum_of(sig, 1, "signum") end
function proc.signame(n) return signames[n] end

-- Seconds -> milliseconds for a grace time (>= 0; math.huge and anything
-- longer than the library waits: as long as it waits, never an overflow).
local function grace_ms(t, n, fname, level)
  if t == nil then t = DEFAULT_GRACE end
  local ms = errors.grace_ms(t, n, fname, level) -- (not a tail call: the level counts this frame)
  return ms
end

---------------------------------------------------------------------------
-- Options -> a plan: the list of spawnattr setter calls, checked in Lua so
-- misuse raises before any C object exists.
---------------------------------------------------------------------------

local KNOWN = {
  cmd = true, program = true, search = true, env = true, env_add = true, env_unset = true,
  cwd = true, umask = true, setsid = true, pgroup = true, stdin = true, stdout = true,
  stderr = true, fds = true, rlimits = true, autokill = true, on_close = true, grace = true,
  user = true, group = true, extra_groups = true, pipesize = true, close_fds = true,
  restore_signals = true,
}
local RUN_ONLY = { input = true, timeout = true, max_output = true }

local FD_WORDS = {
  inherit = { FD.INHERIT }, null = { FD.NULL }, close = { FD.CLOSE },
  pipe_in = { FD.PIPE_IN }, pipe_out = { FD.PIPE_OUT },
  stdout = { FD.CHILD, 1 }, stderr = { FD.CHILD, 2 },
}

-- fopen-style mode -> LIPC_FILE_* flags.
local function file_flags(mode, fname)
  local m = mode:gsub("b", "")
  local base, plus, excl = m:sub(1, 1), m:find("+", 2, true) ~= nil, m:find("x", 2, true) ~= nil
  if m:find("[^rwax+]") or m:find("[rwa]", 2) or #m > 3 then base = nil end
  local f
  if base == "r" then
    f = plus and FILE.READ + FILE.WRITE or FILE.READ
    if excl then f = nil end
  elseif base == "w" then
    f = FILE.WRITE + FILE.CREATE + FILE.TRUNC + (plus and FILE.READ or 0)
  elseif base == "a" then
    f = FILE.APPEND + FILE.CREATE + (plus and FILE.READ or 0)
  end
  if not f then argerror(1, fname, "file mode 'r', 'w', 'a', 'r+', 'w+', 'a+' (+'x')", mode, 4) end
  return f + (excl and FILE.EXCL or 0)
end

local function add(plan, ...)
  local op = { n = select("#", ...), ... }
  plan.ops[#plan.ops + 1] = op
end

-- A parent fd source: number, io file or pipe object -> fd, pipe-or-nil, file-or-nil
local function parent_source(v, what, fname)
  if type(v) == "number" or type(v) == "cdata" then
    return check_int(v, 1, fname, 0, 2147483647, what .. ".fd", 4)
  end
  if io.type(v) then
    local fd = util.file_fd(v)
    if not fd then argerror(1, fname, what .. ": an open file", "a closed file", 4) end
    return fd, nil, v
  end
  if pipe.is(v) then
    if not v.fd then argerror(1, fname, what .. ": an open pipe", "a closed pipe", 4) end
    return v.fd, v
  end
  argerror(1, fname, what .. ": fd number, io file or pipe", type(v), 4)
end

local function plan_fd(plan, n, spec, fname)
  local what = ("fd %s"):format(tostring(n))
  if n == 0 then what = "stdin" elseif n == 1 then what = "stdout" elseif n == 2 then what = "stderr" end
  local t = type(spec)
  local kind, arg, path, flags, mode = nil, 0, nil, 0, 0
  if spec == nil then return end
  if spec == false then
    kind = FD.INHERIT
  elseif spec == true or spec == "pipe" then
    kind = n == 0 and FD.PIPE_IN or FD.PIPE_OUT
  elseif t == "string" then
    local w = FD_WORDS[spec]
    if not w then
      argerror(1, fname, what .. ": 'pipe', 'null', 'inherit', 'close', 'stdout', 'stderr', ...", spec, 3)
    end
    kind, arg = w[1], w[2] or 0
  elseif t == "number" or t == "cdata" or io.type(spec) or pipe.is(spec) then
    local fd, p, f = parent_source(spec, what, fname)
    kind, arg = FD.PARENT, fd
    if p then
      flags = FD_CLOSE_PARENT
      plan.handover[#plan.handover + 1] = p
    end
    if f then plan.files[#plan.files + 1] = f end
  elseif t == "table" then
    if spec.path ~= nil then
      kind = FD.FILE
      path = check_cstring(spec.path, 1, fname, what .. ".path", 3)
      flags = file_flags(spec.mode or (n == 0 and "r" or "w"), fname)
      mode = check_int(spec.perm or 0, 1, fname, 0, 4095, what .. ".perm", 3)
    elseif spec.child ~= nil then
      kind = FD.CHILD
      arg = check_int(spec.child, 1, fname, -2147483648, 2147483647, what .. ".child", 3)
    elseif spec.fd ~= nil then
      local fd, p, f = parent_source(spec.fd, what, fname)
      kind, arg = FD.PARENT, fd
      local close = spec.close
      if close == nil then close = p ~= nil end
      if close then
        flags = FD_CLOSE_PARENT
        if p then plan.handover[#plan.handover + 1] = p
        else plan.closed_fds[#plan.closed_fds + 1] = fd end
      end
      if f then plan.files[#plan.files + 1] = f end
    elseif spec.null ~= nil then
      kind = FD.NULL
      local m = spec.mode
      flags = m == nil and 0 or m == "r" and FILE.READ or m == "w" and FILE.WRITE
              or (m == "r+" or m == "rw" or m == "w+") and FILE.READ + FILE.WRITE or nil
      if not flags then argerror(1, fname, what .. ".mode 'r', 'w' or 'r+'", tostring(m), 3) end
    elseif spec.pipe ~= nil then
      local d = spec.pipe
      kind = (d == "in" and FD.PIPE_IN) or (d == "out" and FD.PIPE_OUT) or nil
      if not kind then argerror(1, fname, what .. ".pipe 'in' or 'out'", tostring(d), 3) end
    else
      argerror(1, fname, what .. ": a table with path, child, fd, null or pipe", "another table", 3)
    end
  else
    argerror(1, fname, what .. ": fd spec", t, 3)
  end
  if kind == FD.PIPE_IN then plan.pipes[n] = "w" elseif kind == FD.PIPE_OUT then plan.pipes[n] = "r" end
  add(plan, A.fd, n, kind, arg, path, flags, mode)
end

-- A 64-bit cdata is never compared with math.huge or -1 here: LuaJIT
-- converts the number to the cdata's type, and C leaves converting
-- math.huge (or -1, for uint64_t) undefined; its compiled code said
-- 2ULL^64 - 1 == math.huge where its interpreter said no, so a hot caller
-- got "unlimited" for a value it must refuse. Only int64_t's -1LL is -1.
local function rlimit_value(v, fname, name)
  local t = type(v)
  if (t == "string" and (v == "unlimited" or v == "infinity"))
     or (t == "number" and (v == math.huge or v == -1))
     or (t == "cdata" and istype(int64_t, v) and v == int64_t(-1)) then
    return -1
  end
  local x = (type(v) == "number" or type(v) == "cdata") and v >= 0
            and errors.check_int64(v, 1, fname, "rlimits." .. name, 3)
  if not x then
    argerror(1, fname, "rlimits." .. name .. ": integer >= 0 or 'unlimited'", errors.what_of(v), 3)
  end
  return x
end

-- Sorted keys: a table's order would change the setter order from run to run.
local function sorted_keys(t, fname, what)
  local ks = {}
  for k in pairs(t) do
    if type(k) ~= "string" then argerror(1, fname, what .. " keys: strings", type(k), 3) end
    ks[#ks + 1] = k
  end
  table.sort(ks)
  return ks
end

local function check_table(v, fname, what)
  if type(v) ~= "table" then argerror(1, fname, what .. ": table", type(v), 3) end
  return v
end

-- (cmd, opts) as the public functions take them -> cmd, opts.
local function normalize(a1, a2, fname, extra)
  local cmd, opts
  if type(a1) == "string" then
    cmd, opts = a1, a2 or {}
  elseif type(a1) == "table" and a2 ~= nil then
    cmd, opts = a1, a2
  elseif type(a1) == "table" then
    opts = a1
    if a1.cmd ~= nil then
      if #a1 > 0 then argerror(1, fname, "argv in the array part or in cmd, not both", "both", 2) end
      cmd = a1.cmd
    else
      cmd = a1
    end
  else
    argerror(1, fname, "command (table or string) or options table", type(a1), 2)
  end
  if type(opts) ~= "table" then argerror(2, fname, "options table", type(opts), 2) end
  for k in pairs(opts) do
    if type(k) == "string" and not KNOWN[k] and not (extra and extra[k]) then
      argerror(opts == a1 and 1 or 2, fname, "known option", "unknown option '" .. k .. "'", 2)
    elseif type(k) ~= "string" and (opts ~= a1 or type(k) ~= "number") then
      argerror(opts == a1 and 1 or 2, fname, "option names", type(k) .. " key", 2)
    end
  end
  if type(cmd) ~= "string" and type(cmd) ~= "table" then
    argerror(1, fname, "cmd: argv table or shell command string", type(cmd), 2)
  end
  return cmd, opts
end

-- A uid or gid from a number or a name (getpwnam / getgrnam).
local function id_of(v, fname, what, level)
  if type(v) == "string" then
    local ent
    if what == "user" then
      ent = ffi.C.lipc__getpwnam(v)
      if ent ~= nil then return tonumber(ffi.cast("struct lipc_passwd_head *", ent).pw_uid) end
    else
      ent = ffi.C.lipc__getgrnam(v)
      if ent ~= nil then return tonumber(ffi.cast("struct lipc_group_head *", ent).gr_gid) end
    end
    argerror(1, fname, what .. ": a known name or an id", ("unknown %s '%s'"):format(what, v), level + 1)
  end
  return check_int(v, 1, fname, 0, MAX_ID, what .. " id (0 to 2^32-2) or name", level + 1)
end

-- What runtimes ignore for themselves and subprocess resets (restore_signals).
local RUNTIME_IGNORED = { signals.PIPE, signals.XFSZ }
local STD_NAMES = { [0] = "stdin", "stdout", "stderr" }

local function make_plan(cmd, opts, fname)
  local plan = { ops = {}, handover = {}, files = {}, closed_fds = {}, pipes = {} }
  if type(cmd) == "string" then
    add(plan, A.shell, check_cstring(cmd, 1, fname, "shell command", 2))
  else
    for i = 1, #cmd do
      local v = cmd[i]
      -- the label is formatted only for an argument that needs it (a
      -- number to convert, or an error): a string per argv element cost
      -- every spawn its time (issue 12)
      if type(v) ~= "string" or v:find("\0", 1, true) then
        v = check_cstring(v, 1, fname, ("argv[%d]"):format(i), 2)
      end
      add(plan, A.arg, v)
    end
  end
  if opts.program ~= nil then add(plan, A.program, check_cstring(opts.program, 1, fname, "program", 2)) end
  if opts.search ~= nil then add(plan, A.search, opts.search and 1 or 0) end
  if opts.env ~= nil then
    local env = check_table(opts.env, fname, "env")
    add(plan, A.env_clear)
    for _, k in ipairs(sorted_keys(env, fname, "env")) do
      add(plan, A.env_set, check_cstring(k, 1, fname, "env name", 2),
          check_cstring(env[k], 1, fname, "env." .. k, 2))
    end
  end
  if opts.env_add ~= nil then
    local env = check_table(opts.env_add, fname, "env_add")
    for _, k in ipairs(sorted_keys(env, fname, "env_add")) do
      check_cstring(k, 1, fname, "env_add name", 2)
      if env[k] == false then add(plan, A.env_unset, k)
      else add(plan, A.env_set, k, check_cstring(env[k], 1, fname, "env_add." .. k, 2)) end
    end
  end
  if opts.env_unset ~= nil then
    local list = check_table(opts.env_unset, fname, "env_unset")
    for i = 1, #list do add(plan, A.env_unset, check_cstring(list[i], 1, fname, "env_unset name", 2)) end
  end
  if opts.cwd ~= nil then add(plan, A.cwd, check_cstring(opts.cwd, 1, fname, "cwd", 2)) end
  if opts.umask ~= nil then
    add(plan, A.umask, check_int(opts.umask, 1, fname, -2147483648, 2147483647, "umask", 2))
  end
  if opts.pgroup ~= nil and opts.pgroup ~= false then
    add(plan, A.pgroup, opts.pgroup == true and 0 or check_int(opts.pgroup, 1, fname, -1, 2^53, "pgroup", 2))
  end
  if opts.setsid ~= nil then add(plan, A.setsid, opts.setsid and 1 or 0) end
  local fds = opts.fds
  if fds ~= nil then check_table(fds, fname, "fds") end
  for n = 0, 2 do
    local key = STD_NAMES[n]
    if opts[key] ~= nil and fds and fds[n] ~= nil then
      argerror(1, fname, key .. " or fds[" .. n .. "], not both", "both", 2)
    end
  end
  plan_fd(plan, 0, opts.stdin, fname)
  plan_fd(plan, 1, opts.stdout, fname)
  plan_fd(plan, 2, opts.stderr, fname)
  if fds then
    local ns = {}
    for n in pairs(fds) do
      if type(n) ~= "number" then argerror(1, fname, "fds keys: integers", type(n), 2) end
      -- a C int: lipc_spawnattr_set_fd refuses those outside 0..1023
      check_int(n, 1, fname, -2147483648, 2147483647, "fds keys: integers", 2)
      ns[#ns + 1] = n
    end
    table.sort(ns)
    for _, n in ipairs(ns) do plan_fd(plan, n, fds[n], fname) end
  end
  if opts.rlimits ~= nil then
    local rl = check_table(opts.rlimits, fname, "rlimits")
    for _, name in ipairs(sorted_keys(rl, fname, "rlimits")) do
      local res = RLIMIT[name]
      if not res then argerror(1, fname, "rlimits: cpu, fsize, data, stack, core, nofile, as, nproc, memlock", name, 2) end
      local v, soft, hard = rl[name], nil, nil
      if type(v) == "table" then
        soft, hard = v.soft or v[1], v.hard or v[2]
        if hard == nil then hard = soft end
      else
        soft, hard = v, v
      end
      add(plan, A.rlimit, res, rlimit_value(soft, fname, name), rlimit_value(hard, fname, name))
    end
  end
  if opts.extra_groups ~= nil then
    local list = check_table(opts.extra_groups, fname, "extra_groups")
    add(plan, A.groups_clear)
    for i = 1, #list do add(plan, A.groups_add, id_of(list[i], fname, "extra group", 2)) end
  end
  if opts.group ~= nil then add(plan, A.group, id_of(opts.group, fname, "group", 2)) end
  if opts.user ~= nil then add(plan, A.user, id_of(opts.user, fname, "user", 2)) end
  if opts.pipesize ~= nil then
    add(plan, A.pipesize, check_int(opts.pipesize, 1, fname, -1, 2147483647, "pipesize (bytes)", 2))
  end
  if opts.close_fds ~= nil and not opts.close_fds then add(plan, A.keep_fds, 1) end
  local rs = opts.restore_signals
  if rs == "all" then
    add(plan, A.sigreset, SIGRESET_ALL)
  elseif rs == nil or rs == true then
    for _, sig in ipairs(RUNTIME_IGNORED) do add(plan, A.sigdefault, sig, 1) end
  elseif rs ~= false then
    argerror(1, fname, "restore_signals true, false or 'all'", tostring(rs), 2)
  end
  local ak = opts.autokill
  if ak ~= nil and ak ~= false then
    add(plan, A.autokill, ak == true and signals.KILL or signum_of(ak, 1, fname .. " (autokill)", 2))
  end
  plan.grace = opts.grace
  local g = grace_ms(opts.grace, 1, fname, 3)
  if opts.on_close ~= nil then
    local pol = ON_CLOSE[opts.on_close]
    if not pol then argerror(1, fname, "on_close 'leave' or 'stop'", tostring(opts.on_close), 2) end
    add(plan, A.on_close, pol, g)
  end
  return plan
end

-- Runs the plan's setters on attr. true | failure values.
local function apply(attr, plan)
  local ops = plan.ops
  for i = 1, #ops do
    local op = ops[i]
    local f, n, rc = op[1], op.n
    -- by arity: unpack with a variable count is a call the JIT does not
    -- compile, and an interpreted FFI call costs many times a compiled one
    if n == 2 then rc = f(attr, op[2])
    elseif n == 3 then rc = f(attr, op[2], op[3])
    elseif n == 1 then rc = f(attr)
    else rc = f(attr, unpack(op, 2, n)) end
    if rc < 0 then return fail(rc) end
  end
  return true
end

---------------------------------------------------------------------------
-- Process objects
---------------------------------------------------------------------------

local methods = {}
local mt = { __index = methods }
proc.mt = mt

function mt.__tostring(p)
  return ("lipc.proc pid %s (%s)"):format(tostring(p._pid), p.handle and ("handle %.0f"):format(p.handle) or "closed")
end

function proc.is(v) return getmetatable(v) == mt end

-- Starts a child from an open attr handle. The plan's handed-over pipes are
-- closed by lipc after a successful start, so their objects are released.
local function start(attr, plan)
  for _, p in ipairs(plan.handover) do pipe._handover_fd(p) end
  for _, f in ipairs(plan.files) do pcall(f.flush, f) end
  local rc = proc_spawn(attr, hbuf)
  if rc < 0 then return fail(rc) end
  local pobj = handle.wrap(mt, hbuf[0], { _pipes = plan.pipes, _taken = {}, grace = plan.grace })
  for _, p in ipairs(plan.handover) do pipe._release(p) end
  if proc_pid(pobj.handle, i64) == 0 then pobj._pid = tonumber(i64[0]) end
  return pobj
end

local attr_methods = {}
local attr_mt = { __index = attr_methods }
function attr_mt.__tostring(a)
  return ("lipc.proc attrs (%s)"):format(a.handle and ("handle %.0f"):format(a.handle) or "closed")
end

-- A new attr handle with the plan applied, wrapped (so a failure part-way
-- still gets it closed). attrs object | failure values.
local function new_attrs(plan)
  local rc = A.new(hbuf)
  if rc < 0 then return fail(rc) end
  local a = handle.wrap(attr_mt, hbuf[0], { plan = plan })
  local ok, msg, code, e = apply(a.handle, plan)
  if not ok then
    handle.close(a)
    return nil, msg, code, e
  end
  return a
end

function proc.prepare(a1, a2)
  local cmd, opts = normalize(a1, a2, "prepare")
  return new_attrs(make_plan(cmd, opts, "prepare"))
end

function attr_methods:spawn()
  local h = get(self, "spawn attributes")
  local plan = self.plan
  if plan.used then error("these spawn attributes handed their pipes to a child already", 2) end
  for _, p in ipairs(plan.handover) do
    if not p.fd then error("a pipe in these spawn attributes was closed", 2) end
  end
  local p, msg, code, e = start(h, plan)
  if p and (#plan.handover > 0 or #plan.closed_fds > 0) then plan.used = true end
  return p, msg, code, e
end

attr_methods.close = handle.close

function proc.spawn(a1, a2)
  local cmd, opts = normalize(a1, a2, "spawn")
  local plan = make_plan(cmd, opts, "spawn")
  local a, msg, code, e = new_attrs(plan)
  if not a then return nil, msg, code, e end
  local p
  p, msg, code, e = start(a.handle, plan)
  handle.close(a) -- a success: last_error is left alone
  return p, msg, code, e
end

function methods:pid()
  get(self, "process")
  return self._pid
end

function methods:path()
  return util.out_string(proc_path, get(self, "process"))
end

local function wait_result(rc)
  if rc == 0 then return ibuf[0], ibuf2[0] end
  local _, msg, code, e = fail(rc)
  if code == ETIMEDOUT then return false, msg, code, e end
  return nil, msg, code, e
end

function methods:wait(timeout)
  local h = get(self, "process")
  return wait_result(proc_wait(h, timeout_ms(timeout, 1, "wait"), ibuf, ibuf2))
end

function methods:status()
  local h = get(self, "process")
  local rc = proc_wait(h, 0, ibuf, ibuf2)
  if rc == 0 then
    local code, sig = ibuf[0], ibuf2[0]
    return sig ~= 0 and "killed" or "exited", code, sig
  end
  if rc == ETIMEDOUT then return "running" end
  return fail(rc)
end

function methods:exit_code()
  local h = get(self, "process")
  local rc = proc_wait(h, 0, ibuf, ibuf2)
  if rc == 0 then return ibuf[0], ibuf2[0] end
  if rc == ETIMEDOUT then return nil, "running" end
  return fail(rc)
end

function methods:kill(sig, group)
  local h = get(self, "process")
  local s = sig == nil and signals.KILL or signum_of(sig, 1, "kill")
  return check(proc_kill(h, s, group and 1 or 0))
end

function methods:terminate()
  local h = get(self, "process")
  return check(proc_kill(h, signals.TERM, 0))
end

function methods:stop(grace, group)
  local h = get(self, "process")
  if grace == nil then grace = self.grace end
  return wait_result(proc_stop(h, grace_ms(grace, 1, "stop", 2), group and 1 or 0, ibuf, ibuf2))
end

local function figure(h, what)
  local rc = proc_info(h, what, i64)
  if rc < 0 then return fail(rc) end
  local v = tonumber(i64[0])
  if what == INFO.running or what == INFO.core_dumped then return v ~= 0 end
  return v
end

function methods:info(name)
  local h = get(self, "process")
  if name ~= nil then
    local what = INFO[name] or ((type(name) == "number" or type(name) == "cdata")
                                and check_int(name, 1, "info", -2147483648, 2147483647, "figure"))
    if not what then argerror(1, "info", "figure name (running, exit_code, ..., pidfd)", tostring(name)) end
    return figure(h, what)
  end
  local rc = proc_info_many(h, info_what, info_values, info_rcs, INFO_N)
  if rc < 0 then return fail(rc) end
  -- A figure lipc cannot give (not yet, not any more) is left out.
  local t = { pid = self._pid }
  for i = 0, INFO_N - 1 do
    if info_rcs[i] == 0 then t[INFO_ORDER[i + 1]] = tonumber(info_values[i]) end
  end
  if t.running ~= nil then t.running = t.running ~= 0 end
  if t.core_dumped ~= nil then t.core_dumped = t.core_dumped ~= 0 end
  if t.utime_us then t.utime = t.utime_us / 1e6 end
  if t.stime_us then t.stime = t.stime_us / 1e6 end
  return t
end

function methods:pidfd()
  return figure(get(self, "process"), INFO.pidfd)
end

-- Copies and frees a communicate output.
local function take_output(pp, lenp)
  local ptr = pp[0]
  if ptr == nil then return "" end
  local s = ffi.string(ptr, lenp[0])
  lipc_free(ptr)
  pp[0] = nil
  return s
end

function methods:communicate(input, timeout, max_output)
  local h = get(self, "process")
  if type(input) == "number" then input = tostring(input) end
  if input ~= nil and type(input) ~= "string" then argerror(1, "communicate", "string or nil", type(input)) end
  local ms = timeout_ms(timeout, 2, "communicate")
  local cap = check_int(max_output or 0, 3, "communicate", 0, 2^53, "max_output")
  outp[0], errp[0], olen[0], elen[0] = nil, nil, 0, 0
  local rc = proc_comm(h, input, input and #input or 0, cap, ms, outp, olen, errp, elen)
  local msg, code, e
  if rc < 0 then _, msg, code, e = fail(rc) end
  local out, err = take_output(outp, olen), take_output(errp, elen)
  if rc == 0 then return out, err end
  if code == ETIMEDOUT then return false, msg, code, e, out, err end
  return nil, msg, code, e, out, err
end

local fdnames = { [0] = "stdin", "stdout", "stderr" }

function methods:pipe(n)
  local h = get(self, "process")
  n = check_int(n, 1, "pipe", 0, 1023, "child fd")
  local p = self._taken[n]
  if p then return p end
  local rc = take_fd(h, n, ibuf)
  if rc < 0 then return fail(rc) end
  p = pipe._wrap(ibuf[0], self._pipes[n] or "r",
                 ("%s of pid %s"):format(fdnames[n] or ("fd " .. n), tostring(self._pid)), true)
  self._taken[n] = p
  return p
end

function methods:stdin() get(self, "process"); return self:pipe(0) end
function methods:stdout() get(self, "process"); return self:pipe(1) end
function methods:stderr() get(self, "process"); return self:pipe(2) end

function methods:close_fd(n)
  local h = get(self, "process")
  n = check_int(n, 1, "close_fd", 0, 1023, "child fd")
  local p = self._taken[n]
  if p then return p:close() end
  return check(close_fd(h, n))
end

methods.close = handle.close

---------------------------------------------------------------------------
-- Several at once
---------------------------------------------------------------------------

function proc.wait_any(items, timeout)
  if type(items) ~= "table" then argerror(1, "wait_any", "table", type(items)) end
  local entries, now_ready = {}, false
  for i = 1, #items do
    local it = items[i]
    local e
    if pipe.is(it) then
      if not it.fd then error("wait_any: item #" .. i .. ": attempt to use closed pipe", 2) end
      e = { fd = it.fd, read = it.mode == "r", write = it.mode == "w" }
      if it.mode == "r" and pipe._buffered(it) then e.buffered, now_ready = true, true end
    elseif proc.is(it) then
      if not it.handle then error("wait_any: item #" .. i .. ": attempt to use closed process", 2) end
      local fd, msg, code, errno = figure(it.handle, INFO.pidfd)
      if fd then
        e = { fd = fd, read = true }
      elseif code == codes.ENOENT then -- reaped before its pidfd was asked for: it has exited
        e, now_ready = { fd = -1, done = true }, true
      else
        return nil, msg, code, errno
      end
    elseif type(it) == "table" and type(it.fd) == "number" then
      e = { fd = it.fd, read = it.read, write = it.write }
    else
      argerror(1, "wait_any", "list of processes, pipes or {fd=...} entries", "a bad item #" .. i)
    end
    entries[i] = e
  end
  timeout_ms(timeout, 2, "wait_any") -- checked here, before anything waits
  local ready, msg, code, errno = wait.wait_fds(entries, now_ready and 0 or timeout)
  if not ready then
    if not (now_ready and code == ETIMEDOUT) then
      if code == ETIMEDOUT then return false, msg, code, errno end
      return nil, msg, code, errno
    end
  end
  local out = {}
  for i = 1, #items do
    local e = entries[i]
    if e.buffered or e.done or (e.revents or 0) ~= 0 then
      out[#out + 1] = items[i]
      local it = items[i]
      if type(it) == "table" and not pipe.is(it) and not proc.is(it) then
        it.revents, it.readable, it.writable, it.hup, it.err = e.revents, e.readable, e.writable, e.hup, e.err
      end
    end
  end
  return out
end

---------------------------------------------------------------------------
-- run: spawn, communicate, wait, close
---------------------------------------------------------------------------

function proc.run(a1, a2)
  local cmd, opts = normalize(a1, a2, "run", RUN_ONLY)
  local input, timeout, max_output = opts.input, opts.timeout, opts.max_output
  local sopts = {}
  for k, v in pairs(opts) do
    if not RUN_ONLY[k] and (type(k) == "string") then sopts[k] = v end
  end
  if sopts.stdout == nil and not (sopts.fds and sopts.fds[1] ~= nil) then sopts.stdout = "pipe" end
  if sopts.stderr == nil and not (sopts.fds and sopts.fds[2] ~= nil) then sopts.stderr = "pipe" end
  if input ~= nil and sopts.stdin == nil and not (sopts.fds and sopts.fds[0] ~= nil) then sopts.stdin = "pipe" end
  if input ~= nil and type(input) ~= "string" then argerror(1, "run", "input: string", type(input)) end
  timeout_ms(timeout, 1, "run (timeout)")
  local p, msg, code, e = proc.spawn(cmd, sopts)
  if not p then return nil, msg, code, e end
  local out, err, c2, e2, pout, perr = p:communicate(input, timeout, max_output)
  local res = { pid = p._pid }
  if not out then
    msg, code, e = err, c2, e2
    p:kill(signals.KILL)
    -- The kill ends the child; its pipes end too unless a grandchild holds
    -- them, so collect for a short while only.
    local o2, r2 = p:communicate(input, 1, max_output)
    if o2 then out, err = o2, r2 else out, err = pout, perr end
  end
  res.stdout, res.stderr = out, err
  local wc, ws = p:wait(msg == nil and -1 or 5)
  if wc then res.code, res.signal = wc, ws end
  local info = p:info()
  res.utime, res.stime, res.maxrss_kb = info.utime, info.stime, info.maxrss_kb
  p:close()
  if msg ~= nil then return nil, msg, code, e, res end
  return res
end

---------------------------------------------------------------------------

proc.pipe = pipe.new
proc.env = require "lipc.env"
local quote = require "lipc.quote"
proc.quote_arg = quote.arg
proc.esc = quote.esc

return proc
