-- Windows only (luajit.exe; under Wine in scripts/windows/test-luajit.sh):
-- finding lipc.dll (LIPC_LIBRARY strict, beside the binding, a rock's
-- layout read from lipc-scm-1.rockspec itself), HANDLE pipes, and the
-- compatibility layers' Windows semantics (luapower proc: command lines,
-- int32 exit codes, kill -> 'killed', autokill; LuaIPC: cmd.exe commands,
-- Windows error codes). Child LuaJITs run through io.popen (cmd.exe), so
-- the loader tests need no lipc module; the others need the modules they
-- use (proc, fds, sync, mem) and fail until those are built for Windows.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"

local T = {}
local repo = h.repo_dir

---- files and child LuaJITs (no lipc module needed) ----
local function copy(from, to)
  local i = assert(io.open(from, "rb"))
  local data = i:read("*a")
  i:close()
  local o = assert(io.open(to, "wb"))
  o:write(data)
  o:close()
end

local function mkdir(p) h.sh('mkdir "' .. p .. '" >nul 2>nul') end

-- Runs code in a child luajit.exe with env (name -> value, false: unset)
-- on top of this process's; returns its stdout. The child code flushes
-- what it writes: under Wine, stdout a child wrote without a flush was lost
-- at exit once it had loaded lipc.dll (not when the load failed): a
-- finding left to the lead (reported), not hidden here by accident.
local nscript = 0
local function child(code, env)
  nscript = nscript + 1
  local script = h.tmpdir() .. "\\child" .. nscript .. ".lua"
  local f = assert(io.open(script, "wb"))
  f:write(code)
  f:close()
  local sets = {}
  for k, v in pairs(env or {}) do
    sets[#sets + 1] = ('set "%s=%s"&& '):format(k, v or "")
  end
  local p = assert(io.popen(table.concat(sets) .. '"' .. h.luajit_exe() .. '" "' .. script .. '" 2>&1'))
  local out = p:read("*a")
  p:close()
  return out
end

local probe = [[
local ok, l = pcall(require, "lipc")
io.write(ok and ("loaded " .. l.library_path .. " " .. l.version()) or ("error " .. tostring(l)))
io.stdout:flush() -- (see child() below)
]]

function T.library_is_lipc_dll()
  h.ok(lipc.library_path:lower():match("lipc%.dll$"), "library_path " .. lipc.library_path)
  h.eq(lipc.version(), "0.1.0", "version")
end

function T.explicit_library_is_strict()
  local missing = h.tmpdir() .. "\\nowhere\\lipc.dll"
  local out = child(probe, { LIPC_LIBRARY = missing })
  h.ok(out:find("error lipc: cannot load LIPC_LIBRARY=" .. missing, 1, true), "strict error: " .. out)
  h.ok(out:find("no other place was tried", 1, true), "says nothing else was tried: " .. out)
end

-- A copy of the binding in tmp/<name>: lipc/*.lua (and lipc.dll beside it
-- when with_dll); returns its directory.
local function binding_copy(name, with_dll)
  local dir = h.tmpdir() .. "\\" .. name
  mkdir(dir)
  mkdir(dir .. "\\lipc")
  local ls = assert(io.popen('dir /b "' .. h.binding_dir .. '\\lipc"'))
  for f in ls:lines() do
    f = f:gsub("\r$", "")
    if f:match("%.lua$") then copy(h.binding_dir .. "\\lipc\\" .. f, dir .. "\\lipc\\" .. f) end
  end
  ls:close()
  if with_dll then copy(lipc.library_path, dir .. "\\lipc.dll") end
  return dir
end

function T.copy_beside_the_binding_is_found()
  local dir = binding_copy("beside", true)
  local out = child(probe, { LIPC_LIBRARY = false, LUA_PATH = dir .. "\\?.lua;" .. dir .. "\\?\\init.lua" })
  h.eq(out, "loaded " .. dir .. "\\lipc/../lipc.dll 0.1.0", "child")
end

function T.error_names_every_place_tried()
  local dir = binding_copy("nowhere", false)
  local out = child(probe, { LIPC_LIBRARY = false, LUA_PATH = dir .. "\\?.lua;" .. dir .. "\\?\\init.lua",
                             LUA_CPATH = dir .. "\\?.dll", PATH = "C:\\windows\\system32" })
  h.ok(out:find("error lipc: cannot load liblipc; tried", 1, true), "error: " .. out)
  for _, place in ipairs({ "lipc/../lipc.dll", "package.cpath (lipc/lipc.dll): not found",
                           "build/windows/lipc.dll", "  lipc.dll:" }) do
    h.ok(out:find(place, 1, true), "names " .. place .. ": " .. out)
  end
end

-- The rock as luarocks installs it on Windows, from the rockspec's own
-- lists (build.install.lua, build.platforms.windows.install.lib): modules
-- under share\lua\5.1, lipc.dll under lib\lua\5.1\lipc. luarocks itself does
-- not run under Wine here, so this lays the tree out by its rules (a
-- module "a.b" from x.lua goes to a\b.lua; from init.lua, to a\b\init.lua).
function T.rock_layout_finds_lipc_dll_through_cpath()
  local spec = {}
  assert(setfenv(assert(loadfile(repo .. "\\lipc-scm-1.rockspec")), spec))()
  local win = spec.build.platforms and spec.build.platforms.windows
  h.ok(win and win.install and win.install.lib, "rockspec: build.platforms.windows.install.lib")
  local tree = h.tmpdir() .. "\\rocktree"
  local share, lib = tree .. "\\share\\lua\\5.1", tree .. "\\lib\\lua\\5.1"
  mkdir(share)
  mkdir(lib)
  local function place(root, mod, file, ext)
    local parts = {}
    for p in mod:gmatch("[^.]+") do parts[#parts + 1] = p end
    if file:match("[/\\]init%.lua$") then parts[#parts + 1] = "init" end
    local d = root
    for i = 1, #parts - 1 do
      d = d .. "\\" .. parts[i]
      mkdir(d)
    end
    local dest = d .. "\\" .. parts[#parts] .. ext
    copy(repo .. "\\" .. file:gsub("/", "\\"), dest)
    return dest
  end
  for mod, file in pairs(spec.build.install.lua) do place(share, mod, file, ".lua") end
  local dll
  for mod, file in pairs(win.install.lib) do
    if file:match("%.dll$") then dll = place(lib, mod, file, ".dll") end
  end
  h.eq(dll, lib .. "\\lipc\\lipc.dll", "where lipc.dll goes")
  local out = child(probe .. [[
local s = require "ipc.strfile"; local p = require "proc"
io.write(" ipc.strfile " .. s.open("x\n"):read("l") .. " proc " .. type(p.exec))
io.stdout:flush()
]], { LIPC_LIBRARY = false, LUA_PATH = share .. "\\?.lua;" .. share .. "\\?\\init.lua",
      LUA_CPATH = lib .. "\\?.dll", PATH = "C:\\windows\\system32" })
  h.eq(out, "loaded " .. dll .. " 0.1.0 ipc.strfile x proc function", "child")
end

---- HANDLE pipes ----
function T.pipe_ends_are_handles_with_timeouts()
  local r, w = assert(lipc.pipe.new())
  h.ok(r.fd > 0 and w.fd > 0, "handle values")
  h.eq(assert(w:write("line\n", 5)), true, "write")
  h.eq(r:read("l", 5), "line", "read")
  h.fails(lipc.errors.ETIMEDOUT, false, r:read(1, 0.05))
  w:close()
  h.eq(r:read("a", 5), "", "end of file once the writer closed")
  r:close()
end

---- luapower proc: its Windows semantics ----
local lproc
local function lp() lproc = lproc or require "proc"; return lproc end

function T.luapower_command_line_split_as_the_crt_does()
  local split = lp()._split_win
  local function same(s, want)
    local got = split(s)
    h.eq(table.concat(got, "|"), table.concat(want, "|"), s)
  end
  same([[prog a  b]], { "prog", "a", "b" })
  same([["C:\Program Files\x.exe" "a b" c]], { [[C:\Program Files\x.exe]], "a b", "c" })
  same([[p a\\"b c" d]], { "p", [[a\b c]], "d" })
  same([[p a\"b \\\"c]], { "p", [[a"b]], [[\"c]] })
  same([[p "x""y" z]], { "p", [[x"y]], "z" })
  same([[p C:\dir\ end]], { "p", [[C:\dir\]], "end" })
end

function T.luapower_quote_arg_defaults_to_win()
  h.eq(lp().quote_arg("a b"), '"a b"', "quote_arg default platform on Windows")
  h.eq(lp().quote_arg("a b", "unix"), "'a b'", "unix on request")
end

function T.luapower_exit_codes_are_int32_and_kill_is_killed()
  local P = lp()
  local p = assert(P.exec("cmd /c exit 7"))
  h.eq(p:wait(P.clock() + 30), 7, "exit 7")
  p:forget()
  p = assert(P.exec({ "cmd", "/c", "exit 1000" }))
  h.eq(p:wait(P.clock() + 30), 1000, "exit codes beyond 255 (Windows: int32)")
  p:forget()
  p = assert(P.exec({ h.luajit_exe(), "-e", "while true do end" }))
  h.eq(p:status(), "active", "running")
  h.eq(p:kill(), true, "kill")
  h.eq(select(2, p:wait(P.clock() + 30)), "killed", "killed by kill()")
  h.eq(p:status(), "killed", "status")
  p:forget()
  h.eq(p:status(), "killed", "known after forget")
end

-- p:info() asks lipc_proc_info_many for every figure at once: running,
-- then killed (Windows: exit code 1, signal 9, as lipc_proc_wait says).
function T.proc_info_running_and_killed()
  local P = lipc.proc
  local p = assert(P.spawn({ h.luajit_exe(), "-e", "while true do end" }))
  local live = p:info()
  h.eq(live.running, true, "running")
  h.eq(live.exit_code, nil, "no exit code while running")
  h.ok(live.rss_kb and live.rss_kb > 0, "working set " .. tostring(live.rss_kb))
  h.eq(live.pid, p:pid(), "pid")
  p:kill(9)
  p:wait(30)
  local done = p:info()
  h.eq(done.running, false, "not running")
  h.eq(done.exit_code .. " " .. done.signal, "1 9", "killed")
  h.eq(done.core_dumped, false, "no core on Windows")
  h.eq(done.rss_kb, nil, "no working set after exit")
  p:close()
  h.raises("closed", p.info, p)
end

function T.luapower_not_found_and_pipes()
  local P = lp()
  h.eq(select(2, P.exec({ "Z:\\no\\such\\program.exe" })), "not_found", "missing program")
  local p = assert(P.exec({ cmd = "cmd /c echo hello", stdout = true }))
  local buf = ffi.new("char[64]")
  local got = {}
  while true do
    local n = assert(p.stdout:read(buf, 64, P.clock() + 30))
    if n == 0 then break end
    got[#got + 1] = ffi.string(buf, n)
  end
  h.eq(table.concat(got), "hello\r\n", "stdout through a pipe")
  h.eq(p:wait(P.clock() + 30), 0, "exit")
  p:forget()
end

-- luapower's note: on Windows autokill is inherited by the children of the
-- child (a job object); lipc's is too. A middle LuaJIT starts a grandchild
-- with autokill and prints its pid; killing the middle one must end both.
function T.luapower_autokill_reaches_the_grandchild()
  local P = lp()
  local code = ([[
local P = require "proc"
local g = assert(P.exec({ %q, "-e", "while true do end" }, nil, nil, nil, nil, nil, true))
io.write(g.id, "\n"); io.stdout:flush()
while true do end
]]):format(h.luajit_exe())
  local m = assert(P.exec({ cmd = { h.luajit_exe(), "-e", code }, stdout = true, autokill = true }))
  local buf = ffi.new("char[32]")
  local n = assert(m.stdout:read(buf, 32, P.clock() + 30))
  local gpid = tonumber(ffi.string(buf, n):match("%d+"))
  h.ok(gpid, "grandchild pid")
  h.eq(m:kill(), true, "kill the middle process")
  m:wait(P.clock() + 30)
  m:forget()
  -- the grandchild's job was closed with the middle process: it ends too
  pcall(ffi.cdef, [[
void *OpenProcess(uint32_t access, int inherit, uint32_t pid);
uint32_t WaitForSingleObject(void *h, uint32_t ms);
int CloseHandle(void *h);
]])
  local hp = ffi.C.OpenProcess(0x00100000, 0, gpid) -- SYNCHRONIZE
  if hp ~= nil then
    local r = ffi.C.WaitForSingleObject(hp, 30000)
    ffi.C.CloseHandle(hp)
    h.eq(r, 0, "the grandchild ended with its autokilled parent")
  end
end

function T.luapower_env_is_case_insensitive()
  local P = lp()
  P.env("LIPC_WIN_CASE", "v1")
  h.eq(P.env("lipc_win_case"), "v1", "any case finds it")
  P.env("lipc_win_case", false)
  h.eq(P.env("LIPC_WIN_CASE"), nil, "and deletes it")
end

---- LuaIPC: its Windows semantics ----
function T.luaipc_proc_runs_cmd_exe_commands()
  local ipc = require "ipc.proc"
  local out = {}
  local p = assert(ipc.spawn("echo hi& exit 3", { stdout = true, callback = function(_, d) out[#out + 1] = d end }))
  local ok, how, code = p:wait()
  h.eq(ok, nil, "non-zero exit")
  h.eq(how, "exit", "exit")
  h.eq(code, 3, "code")
  h.eq(table.concat(out), "hi\r\n", "stdout through cmd.exe")
end

function T.luaipc_errors_are_windows_codes()
  local shm, sem = require "ipc.shm", require "ipc.sem"
  local _, msg, code = shm.create("a/b", 10)
  h.eq(code, 87, "a name with a separator: ERROR_INVALID_PARAMETER (" .. tostring(msg) .. ")")
  _, msg, code = sem.open(h.sem_name())
  h.eq(code, 2, "no such semaphore: ERROR_FILE_NOT_FOUND (" .. tostring(msg) .. ")")
  h.ok(type(msg) == "string" and msg ~= "", "a message")
end

function T.luaipc_shm_and_sem_between_processes()
  local shm, sem = require "ipc.shm", require "ipc.sem"
  local name, sname = h.obj_name("shm"), h.sem_name()
  local m = assert(shm.create(name, 64))
  local s = assert(sem.open(sname, 1))
  assert(s:dec(5))
  local out = child(([[
local shm, sem = require "ipc.shm", require "ipc.sem"
local m = assert(shm.attach(%q)); assert(m:write("from child"))
local s = assert(sem.open(%q)); assert(s:inc()); io.write("done"); io.stdout:flush()
]]):format(name, sname), { LIPC_LIBRARY = lipc.library_path })
  h.eq(out, "done", "child")
  h.eq(s:dec(5), true, "the child's inc")
  m:seek("set", 0)
  h.eq(m:read(10), "from child", "the child's bytes")
  s:close()
  m:close()
end

if not h.windows then
  for name in pairs(T) do T[name] = function() h.skip("Windows only") end end
end
return T
