-- luapower's `proc` (processes) over lipc's LuaJIT binding: a drop-in
-- module with luapower's current API and its older popen_async API.
--
-- Current API (luapower proc, 2021-09 onwards)
--   proc.exec(opt | cmd, [env], [dir], [stdin], [stdout], [stderr], [autokill],
--             [async], [inherit_handles]) -> p | nil, err
--     opt: a table with the same names as fields: {cmd =, env =, dir =, ...}.
--     cmd: {"exe", "arg", ...} (run directly; nil/false entries skipped,
--       cmd.n honoured) or a string split on whitespace (no shell, no
--       quoting). A name without '/' is searched in PATH; a relative path
--       with a '/' is taken relative to this process's directory even when
--       dir is given.
--     env: a table of variables that REPLACES the environment (values
--       tostring'ed); absent: the environment is inherited (the live C
--       environ, so proc.env() changes are seen).
--     dir: the child's working directory.
--     stdin, stdout, stderr: true: a new pipe, whose parent end is p.stdin
--       (for writing) / p.stdout / p.stderr (for reading); or a pipe end
--       (from proc.pipe(), or any object with a numeric .fd, such as a
--       luapower fs pipe end) that the child gets and that is closed here
--       once the child started; or a Lua io file (kept open here).
--     autokill: the child is killed (SIGTERM; or autokill = "KILL" or a
--       signal number) when this process dies, however it dies and from
--       whichever thread it was started.
--     async, inherit_handles: accepted and ignored (pipes here wait with
--       expiry times instead of sock threads; children never inherit fds
--       they were not given).
--     Extra options (lipc; luapower's "missing features"):
--       cpu_limit = seconds   the child's CPU time limit (RLIMIT_CPU: SIGXCPU,
--                             then SIGKILL)
--       ram_limit = bytes     the child's address space limit (RLIMIT_AS:
--                             allocations beyond it fail)
--       rlimits = {...}       any of lipc.proc's limits (cpu, as, nofile, ...)
--     Failure to start: nil, 'not_found' (no such program or directory),
--     nil, 'access_denied' (not executable), or nil, the system's message.
--     The old positional form exec(cmd, args, env, dir, stdin, stdout,
--     stderr, autokill) (args a non-empty array) and {command =, args =}
--     tables are understood too.
--   proc.exec_luafile(opt | script, ...) -> p     runs a Lua script with this
--     LuaJIT executable; script: a path or {path, arg, ...}; in opt as
--     opt.script; the other arguments as exec's.
--   p.id, p.pid            the process id (false after forget)
--   p:kill() -> true | nil, err   SIGKILL; nil, 'forgotten' after forget;
--     nil, 'finished' / nil, 'killed' when it has ended already
--   p:wait([expires]) -> code | nil, 'killed' | 'active' | 'forgotten'
--     waits until it ends or until proc.clock() passes expires (an ABSOLUTE
--     time on proc.clock(), as luapower's time.clock(); nil or 1/0: no limit;
--     wait(0): just look)
--   p:status() -> 'active' | 'finished' | 'killed' | 'forgotten'
--   p:exit_code() -> code | nil, 'active' | 'killed' | 'forgotten'
--     (known results survive forget)
--   p:forget()             closes the pipes and lets go of the process
--                          (it is still reaped when it ends: no zombie)
--   Extra: p:cpu_usage() -> seconds (user + system), user, system
--          p:ram_usage() -> bytes resident now (nil once ended), peak bytes
--          p:info() -> lipc's figures table (see lipc/proc.lua)
--   proc.env(k) -> v | nil;  proc.env(k, v) and proc.env(k, false) set or
--     delete and return proc.env();  proc.env() -> {K = v, ...}
--   proc.esc(s, ['win'|'unix']) -> s escaped for use inside double quotes
--   proc.quote_arg(s, ['win'|'unix']) -> s quoted as one argument of a
--     command line (unix: a POSIX shell's; win: CommandLineToArgvW's)
--     (platform default: 'unix' here; another: error 'invalid platform')
--   proc.clock() -> seconds on the monotonic clock (for expires)
--   proc.pipe() -> rf, wf   a new pipe's ends (luapower's fs.pipe())
--
-- Pipe ends (p.stdin, p.stdout, p.stderr, proc.pipe()'s), luapower fs-like:
--   f:read(buf, sz, [expires]) -> n (0 at end of file) | nil, err
--   f:write(s | buf, [sz], [expires]) -> true | nil, err
--   f:close() -> true;  f:closed() -> bool;  f.fd
--   err: 'timeout' (expires passed; nothing is lost), 'broken_pipe' (no
--   reader left), or a message.
--
-- Older API (luapower proc 2021-09, popen_async; also proc.setenv)
--   proc.popen_async(cmd, [args], [env], [dir], [open_stdin], [open_stdout],
--                    [open_stderr], [autokill]) -> ap
--   proc.popen_async{command =, args =, env =, dir =, open_stdin =, ...}
--     exec with pipes for the streams asked for, and:
--   ap:read_stdout('*a' | buf, sz, [expires]) -> s | len | nil, err
--   ap:read_stderr(...)                          ('*a': all up to end of file)
--   ap:write_stdin(s | buf, [sz], [expires]) -> len | nil, err
--   ap:write_stdin(nil) -> true                  closes stdin (end of input)
--   proc.setenv(k, v) / proc.setenv(k)           set / delete a variable
local ffi = require "ffi"
local lipc = require "lipc"

local P, env, quote = lipc.proc, lipc.env, lipc.quote
local codes = lipc.errors
local ETIMEDOUT, EINTR, ENOENT, EPERM, ECLOSED = codes.ETIMEDOUT, codes.EINTR, codes.ENOENT, codes.EPERM,
  codes.ECLOSED
local clock = lipc.clock
local type, error, tostring, pairs, ipairs, setmetatable, select, unpack =
  type, error, tostring, pairs, ipairs, setmetatable, select, unpack
local huge = math.huge

local windows = ffi.os == "Windows"

-- Private names for two libc functions: lipc declares no libc name in
-- LuaJIT's shared C namespace (see lipc/util.lua). Windows: the C
-- runtime's _getcwd and kernel32's GetModuleFileNameA.
if windows then
  ffi.cdef [[
char *lipc__getcwd(char *buf, int size) __asm__("_getcwd");
uint32_t lipc__GetModuleFileNameA(void *module, char *buf, uint32_t size) __asm__("GetModuleFileNameA");
]]
else
  ffi.cdef [[
char *lipc__getcwd(char *buf, size_t size) __asm__("getcwd");
long lipc__readlink(const char *path, char *buf, size_t size) __asm__("readlink");
]]
end

local M = { clock = clock }

-- expires (absolute, on clock()) -> seconds for lipc (nil: no limit; 0: look)
local function timeout_of(expires)
  if expires == nil then return nil end
  -- The type first: a 64-bit cdata compared with math.huge is undefined
  -- (LuaJIT's compiled code may call it equal).
  if type(expires) ~= "number" or expires ~= expires then
    error("bad argument 'expires' (number expected, got " .. (expires ~= expires and "nan" or type(expires)) .. ")", 3)
  end
  if expires == huge then return nil end
  local t = expires - clock()
  return t > 0 and t or 0
end

-- A lipc failure -> luapower's error string (on Windows, where errno is a
-- Windows error code, lipc's message: luapower gives Windows' text there).
local function err_of(msg, code, errno)
  if code == ETIMEDOUT then return "timeout" end
  if code == ECLOSED then return "broken_pipe" end
  if code == ENOENT then return "not_found" end
  if code == EPERM then return "access_denied" end
  if windows then return msg end
  local e = lipc.posix_errno(code, errno)
  return e > 0 and lipc.strerror(codes.EOS_BASE - e) or msg
end

---------------------------------------------------------------------------
-- Pipe ends
---------------------------------------------------------------------------

local pe = {}
local pe_mt = {
  __index = function(t, k)
    if k == "fd" then
      local p = rawget(t, "_p")
      return p and p.fd or nil
    end
    return pe[k]
  end,
  __tostring = function(t) return "proc pipe end " .. tostring(t._p) end,
}

local function wrap(lp)
  if not lp then return nil end
  return setmetatable({ _p = lp, is_pipe_end = true, type = "pipe" }, pe_mt)
end

local function pipe_of(f, fname)
  local p = type(f) == "table" and rawget(f, "_p")
  if not p or not p.fd then error("attempt to use a closed pipe end (" .. fname .. ")", 3) end
  return p
end

function pe:read(buf, sz, expires)
  local p = pipe_of(self, "read")
  local n, msg, code, errno = p:read_into(buf, sz, timeout_of(expires))
  if n then return n end
  return nil, err_of(msg, code, errno)
end

function pe:write(buf, sz, expires)
  local p = pipe_of(self, "write")
  if type(buf) == "string" then
    sz = sz or #buf
    if sz > #buf then error("string too short", 2) end
  end
  local ok, msg, code, errno = p:write_from(buf, sz, timeout_of(expires))
  if ok then return true end
  return nil, err_of(msg, code, errno)
end

function pe:close()
  local p = rawget(self, "_p")
  if p then p:close() end
  return true
end

function pe:closed()
  local p = rawget(self, "_p")
  return not (p and p.fd)
end

function M.pipe()
  local r, w, code, errno = P.pipe()
  if not r then return nil, err_of(w, code, errno) end
  return wrap(r), wrap(w)
end

---------------------------------------------------------------------------
-- exec
---------------------------------------------------------------------------

local function getcwd()
  local buf = ffi.new("char[4096]")
  if ffi.C.lipc__getcwd(buf, 4096) == nil then return nil end
  return ffi.string(buf)
end

-- The LuaJIT executable running this script (luapower's package.exepath).
local function exepath()
  local buf = ffi.new("char[4096]")
  local n
  if windows then
    n = ffi.C.lipc__GetModuleFileNameA(nil, buf, 4096)
    n = n < 4096 and n or 0
  else
    n = ffi.C.lipc__readlink("/proc/self/exe", buf, 4096)
  end
  if n > 0 then return ffi.string(buf, n) end
  local i, a = 0, arg and arg[0]
  while arg and arg[i - 1] do i = i - 1; a = arg[i] end
  return a or "luajit"
end
M.exepath = exepath

-- A Windows command line -> argv, as the child's C runtime splits it
-- (CommandLineToArgvW's rules: the program name up to the first blank or
-- in double quotes; then 2n backslashes before a quote are n backslashes
-- and the quote toggles quoting, 2n+1 are n and a literal quote, "" inside
-- quotes is a literal quote). lipc quotes argv again by the same rules
-- (lipc_quote_win), so the child sees the arguments luapower's verbatim
-- command line would have given it.
local function split_win(s)
  local argv, i, n = {}, 1, #s
  -- the program name
  while i <= n and s:sub(i, i):match("[ \t]") do i = i + 1 end
  if i > n then return argv end
  if s:sub(i, i) == '"' then
    local j = s:find('"', i + 1, true) or n + 1
    argv[1] = s:sub(i + 1, j - 1)
    i = j + 1
  else
    local j = s:find("[ \t]", i) or n + 1
    argv[1] = s:sub(i, j - 1)
    i = j
  end
  while true do
    while i <= n and s:sub(i, i):match("[ \t]") do i = i + 1 end
    if i > n then break end
    local buf, inq = {}, false
    while i <= n do
      local c = s:sub(i, i)
      if c == "\\" then
        local j = i
        while j <= n and s:sub(j, j) == "\\" do j = j + 1 end
        local nb = j - i
        if s:sub(j, j) == '"' then
          buf[#buf + 1] = ("\\"):rep(math.floor(nb / 2))
          if nb % 2 == 1 then buf[#buf + 1] = '"'; j = j + 1 end
        else
          buf[#buf + 1] = ("\\"):rep(nb)
        end
        i = j
      elseif c == '"' then
        if inq and s:sub(i + 1, i + 1) == '"' then
          buf[#buf + 1] = '"'
          i = i + 2
        else
          inq = not inq
          i = i + 1
        end
      elseif (c == " " or c == "\t") and not inq then
        break
      else
        buf[#buf + 1] = c
        i = i + 1
      end
    end
    argv[#argv + 1] = table.concat(buf)
  end
  return argv
end
M._split_win = split_win

local function argv_of(cmd)
  local argv = {}
  if type(cmd) == "string" and windows then
    argv = split_win(cmd)
  elseif type(cmd) == "string" then
    for s in cmd:gmatch("%S+") do argv[#argv + 1] = s end
  elseif type(cmd) == "table" then
    for i = 1, cmd.n or #cmd do
      local v = cmd[i]
      if v ~= nil and v ~= false then argv[#argv + 1] = tostring(v) end
    end
  else
    error("bad argument #1 to 'exec' (cmd: table or string expected, got " .. type(cmd) .. ")", 4)
  end
  if #argv == 0 then error("bad argument #1 to 'exec' (empty command)", 4) end
  return argv
end

-- A stream option -> lipc's spec, plus a foreign object to close after spawn.
local function stream_of(v, name)
  if v == nil or v == false then return nil end
  if v == true then return "pipe" end
  if getmetatable(v) == pe_mt then
    return pipe_of(v, name) -- a lipc pipe: handed over, closed here by lipc
  end
  if lipc.pipe.is(v) or io.type(v) == "file" then return v end -- lipc's own: handed over / kept
  if type(v) == "table" and type(v.fd) == "number" then
    return { fd = v.fd, close = false }, v -- luapower fs pipe end: closed by us after spawn
  end
  error(("bad argument '%s' (true, a pipe end or a file expected, got %s)"):format(name, type(v)), 4)
end

local proc = {}
local proc_mt = { __index = proc }

function proc_mt.__tostring(p)
  return ("proc pid %s"):format(tostring(p.id))
end

local function exec(o)
  local argv = argv_of(o.cmd)
  local dir = o.dir
  if dir and not windows and argv[1]:find("/", 1, true) and argv[1]:sub(1, 1) ~= "/" then
    local cwd = getcwd()
    if cwd then argv[1] = cwd .. "/" .. argv[1] end
  elseif dir and windows and argv[1]:find("[/\\]") and not argv[1]:find("^%a:") and not argv[1]:find("^[/\\]") then
    local cwd = getcwd()
    if cwd then argv[1] = cwd .. "\\" .. argv[1] end
  end
  local lo = { cwd = dir }
  if o.env then
    local e = {}
    for k, v in pairs(o.env) do e[tostring(k)] = tostring(v) end
    lo.env = e
  end
  local foreign = {}
  local sin, fin = stream_of(o.stdin, "stdin")
  local sout, fout = stream_of(o.stdout, "stdout")
  local serr, ferr = stream_of(o.stderr, "stderr")
  lo.stdin, lo.stdout, lo.stderr = sin, sout, serr
  foreign[#foreign + 1] = fin
  foreign[#foreign + 1] = fout
  foreign[#foreign + 1] = ferr
  local ak = o.autokill
  -- Windows: a job object that kills the child (and, as in luapower, the
  -- children it starts: they are in the job too) when this process ends;
  -- there is nothing but a kill there, so "TERM" is not asked for.
  if ak then lo.autokill = ak == true and (windows and true or "TERM") or ak end
  local rl
  if o.rlimits then
    rl = {}
    for k, v in pairs(o.rlimits) do rl[k] = v end
  end
  if o.cpu_limit then
    rl = rl or {}
    rl.cpu = math.ceil(o.cpu_limit)
  end
  if o.ram_limit then
    rl = rl or {}
    rl.as = o.ram_limit
  end
  lo.rlimits = rl
  local lp, msg, code, errno = P.spawn(argv, lo)
  if not lp then return nil, err_of(msg, code, errno) end
  for _, f in ipairs(foreign) do
    if type(f.close) == "function" then f:close() end
  end
  local pid = lp:pid()
  local self = setmetatable({ _p = lp, id = pid, pid = pid }, proc_mt)
  if sin == "pipe" then self.stdin = wrap(lp:stdin()) end
  if sout == "pipe" then self.stdout = wrap(lp:stdout()) end
  if serr == "pipe" then self.stderr = wrap(lp:stderr()) end
  return self
end

-- Is t an options table (rather than an argv array)?
local function is_opts(t)
  return t.cmd ~= nil or t.command ~= nil or t[1] == nil
end

-- Options from an options table (current or old field names).
local function from_table(t)
  local o = {}
  for k, v in pairs(t) do
    if type(k) == "string" then o[k] = v end
  end
  if o.cmd == nil and t.command ~= nil then -- the old API: a path (not split) and args
    local argv = { tostring(t.command) }
    for i = 1, type(t.args) == "table" and #t.args or 0 do argv[#argv + 1] = t.args[i] end
    o.cmd = argv
  end
  if o.cmd == nil then error("bad argument #1 to 'exec' (cmd expected)", 3) end
  return o
end

-- A non-empty array (the old API's args), as opposed to an env table.
local function is_array(t)
  if type(t) ~= "table" or t[1] == nil then return false end
  for k in pairs(t) do
    if type(k) ~= "number" then return false end
  end
  return true
end

-- Positional arguments: the current order (cmd, env, dir, ...) or, when the
-- second is an array of arguments, the old one (cmd, args, env, dir, stdin,
-- stdout, stderr, autokill).
local function from_args(cmd, a2, ...)
  local o = {}
  if type(cmd) == "string" and is_array(a2) then
    local argv = { cmd }
    for i = 1, #a2 do argv[#argv + 1] = a2[i] end
    o.cmd = argv
    o.env, o.dir, o.stdin, o.stdout, o.stderr, o.autokill = ...
  else
    o.cmd = cmd
    o.env, o.dir, o.stdin, o.stdout, o.stderr, o.autokill, o.async, o.inherit_handles = a2, ...
  end
  return o
end

function M.exec(t, ...)
  if type(t) == "table" and is_opts(t) then return exec(from_table(t)) end
  return exec(from_args(t, ...))
end

function M.exec_luafile(arg, ...)
  local cmd = { exepath() }
  if type(arg) == "table" and arg.script ~= nil then -- {script = path | {path, args...}, ...options}
    local o = {}
    for k, v in pairs(arg) do
      if type(k) == "string" then o[k] = v end
    end
    local script = arg.script
    if type(script) == "table" then
      for i = 1, #script do cmd[#cmd + 1] = script[i] end
    else
      cmd[2] = script
    end
    if type(arg.args) == "table" then -- the old API's args
      for i = 1, #arg.args do cmd[#cmd + 1] = arg.args[i] end
    end
    o.cmd, o.script, o.args = cmd, nil, nil
    return exec(o)
  end
  if type(arg) == "table" then -- {path, args...}
    for i = 1, #arg do cmd[#cmd + 1] = arg[i] end
  else
    cmd[2] = arg
  end
  local a2 = ...
  if is_array(a2) then -- the old form: (path, args, env, dir, ...)
    for i = 1, #a2 do cmd[#cmd + 1] = a2[i] end
    return exec(from_args(cmd, select(2, ...)))
  end
  return exec(from_args(cmd, ...))
end

---------------------------------------------------------------------------
-- Process objects
---------------------------------------------------------------------------

function proc:exit_code()
  if self._exit_code then return self._exit_code end
  if self._killed then return nil, "killed" end
  local lp = self._p
  if not self.id or not lp then return nil, "forgotten" end
  local code, sig, c, errno = lp:exit_code()
  if code == nil then
    if sig == "running" then return nil, "active" end
    return nil, err_of(sig, c, errno)
  end
  if sig ~= 0 then
    self._killed = true
    return nil, "killed"
  end
  self._exit_code = code
  return code
end

function proc:status()
  local code, err = self:exit_code()
  return code and "finished" or err
end

function proc:wait(expires)
  if not self.id or not self._p then return nil, "forgotten" end
  while true do
    local ok, _, code = self._p:wait(timeout_of(expires))
    if code ~= EINTR then break end
  end
  return self:exit_code()
end

function proc:kill()
  if not self.id or not self._p then return nil, "forgotten" end
  local ok, msg, code, errno = self._p:kill("KILL")
  if ok then return true end
  if code == ENOENT then -- it has ended (and was reaped) already
    local _, err = self:exit_code()
    return nil, err or "finished"
  end
  return nil, err_of(msg, code, errno)
end

function proc:forget()
  for _, k in ipairs({ "stdin", "stdout", "stderr" }) do
    local f = rawget(self, k)
    if f then f:close() end
  end
  local lp = self._p
  self._p = nil
  self.id, self.pid = false, false
  if lp then lp:close() end -- lipc still reaps the child when it ends
end

function proc:info()
  local lp = self._p
  if not lp then return nil, "forgotten" end
  return lp:info()
end

function proc:cpu_usage()
  local info, err = self:info()
  if not info then return nil, err end
  local u, s = info.utime or 0, info.stime or 0
  return u + s, u, s
end

function proc:ram_usage()
  local info, err = self:info()
  if not info then return nil, err end
  return info.rss_kb and info.rss_kb * 1024 or nil, (info.maxrss_kb or 0) * 1024
end

---------------------------------------------------------------------------
-- Environment and quoting
---------------------------------------------------------------------------

function M.env(k, v)
  if k == nil then return env.list() end
  if v == nil then return (env.get(k)) end
  if v == false then env.unset(k) else env.set(k, tostring(v)) end
  return env.list()
end

function M.setenv(k, v)
  if v == nil or v == false then env.unset(k) else env.set(k, tostring(v)) end
end

local PLATFORMS = { unix = "sh", win = "win" }

local function style(platform)
  local s = PLATFORMS[platform or (windows and "win" or "unix")]
  if not s then error("invalid platform", 3) end
  return s
end

function M.esc(s, platform)
  return quote.esc(tostring(s), style(platform))
end

function M.quote_arg(s, platform)
  return quote.arg(tostring(s), style(platform))
end

---------------------------------------------------------------------------
-- popen_async (the older API)
---------------------------------------------------------------------------

local function read_func(key)
  return function(self, buf, sz, expires)
    local f = rawget(self, key)
    if buf == "*a" then
      if expires == nil and type(sz) == "number" then expires = sz end
      local p = pipe_of(f, "read")
      local s, msg, code, errno = p:read("a", timeout_of(expires))
      if s then
        f:close()
        return s
      end
      return nil, err_of(msg, code, errno)
    end
    return f:read(buf, sz, expires)
  end
end

local function write_stdin(self, buf, sz, expires)
  local f = rawget(self, "stdin")
  if buf == nil then
    f:close()
    return true
  end
  if type(buf) == "string" then sz = sz or #buf end
  local p = pipe_of(f, "write")
  local ok, msg, code, errno = p:write_from(buf, sz, timeout_of(expires))
  if ok then return sz end
  if code ~= ETIMEDOUT then f:close() end -- the reader is gone: end of input
  return nil, err_of(msg, code, errno)
end

function M.popen_async(cmd, args, env_t, dir, open_stdin, open_stdout, open_stderr, autokill)
  local o
  if type(cmd) == "table" and is_opts(cmd) then
    o = from_table(cmd)
  else
    -- the old API: cmd is the program's path (not split), args an array
    local argv = {}
    if type(cmd) == "table" then
      for i = 1, #cmd do argv[i] = cmd[i] end
    else
      argv[1] = cmd
    end
    if type(args) == "table" then
      for i = 1, #args do argv[#argv + 1] = args[i] end
    end
    o = { cmd = argv, env = env_t, dir = dir, open_stdin = open_stdin, open_stdout = open_stdout,
          open_stderr = open_stderr, autokill = autokill }
  end
  o.stdin = o.open_stdin and true or nil
  o.stdout = o.open_stdout and true or nil
  o.stderr = o.open_stderr and true or nil
  local p, err = exec(o)
  if not p then return nil, err end
  if p.stdout then p.read_stdout = read_func("stdout") end
  if p.stderr then p.read_stderr = read_func("stderr") end
  if p.stdin then p.write_stdin = write_stdin end
  return p
end

return M
