-- Version, error table, declarations, call modes and diagnostics, checked
-- against include/lipc.h where the header says what they must be.
local lipc = require "lipc"
local h = require "helpers"
local E = lipc.errors

local header = h.read_file(h.header)

-- #define LIPC_<name> <integer> lines of the header.
local function defines()
  local t = {}
  for name, v in header:gmatch("#define%s+LIPC_([%w_]+)%s+(%-?%d+)") do t[name] = tonumber(v) end
  return t
end

-- The header's prototypes, comments removed and whitespace collapsed, by name.
local function prototypes()
  local body = header:gsub("/%*.-%*/", " "):gsub("#[^\n]*", " ")
  local t = {}
  for decl in body:gmatch("[^;{}]+;") do
    decl = decl:gsub("%s+", " "):gsub("^ ", ""):gsub("%( ", "("):gsub("^LIPC_API ", "")
    local name = decl:match("(lipc_[%w_]+)%(")
    if name then t[name] = decl end
  end
  return t
end

local T = {}

function T.version_matches_header()
  local d = defines()
  local want = ("%d.%d.%d"):format(d.VERSION_MAJOR, d.VERSION_MINOR, d.VERSION_PATCH)
  h.eq(lipc.version(), want, "lipc.version()")
  h.eq(want, header:match('#define LIPC_VERSION_STRING "([^"]+)"'), "LIPC_VERSION_STRING")
end

function T.error_codes_match_header()
  local d, n = defines(), 0
  for name, v in pairs(d) do
    if (name:match("^E") and v < 0) or name == "OK" then
      h.eq(E[name], v, "lipc.errors." .. name)
      n = n + 1
    end
  end
  h.ok(n >= 18, "found the codes in the header")
  for name, v in pairs(E) do
    h.eq(type(v), "number", "lipc.errors holds codes only: " .. name)
    h.eq(d[name], v, "header value of LIPC_" .. name)
  end
end

function T.strerror_and_error_name()
  for name, code in pairs(E) do
    if type(code) == "number" and code ~= E.EOS_BASE then
      h.eq(lipc.error_name(code), "LIPC_" .. name, "error_name(" .. code .. ")")
      local s = lipc.strerror(code)
      h.ok(type(s) == "string" and s ~= "" and s ~= "unknown error", "strerror(" .. code .. ")")
    end
  end
  h.eq(lipc.strerror(E.ETIMEDOUT), "timed out", "strerror(ETIMEDOUT)")
  h.eq(lipc.error_name(-1000 - 2), "LIPC_EOS", "OS family name")
  h.eq(lipc.strerror(-1000 - 2), h.windows and "The system cannot find the file specified." or "No such file or directory",
       "OS family text (Windows: of the Windows code)")
  h.eq(lipc.os_errno(-1000 - 2), 2, "os_errno")
  h.eq(lipc.os_errno(E.EINVAL), nil, "os_errno of a lipc code")
  h.eq(lipc.error_name(-999), "LIPC_UNKNOWN", "unknown code")
  h.eq(lipc.strerror(12345), "unknown error", "unknown text")
end

function T.cdef_matches_header_prototypes()
  local want = prototypes()
  local got, lines = {}, 0
  for line in require("lipc.cdef"):gmatch("[^\n]+") do
    lines = lines + 1
    local name = line:match("(lipc_[%w_]+)%(")
    if name then
      h.eq(got[name], nil, "duplicate declaration of " .. name)
      got[name] = line
      h.eq(line, want[name], "declaration of " .. name)
    else
      h.eq(line, "typedef int64_t lipc_handle_t;", "the one non-prototype line")
    end
  end
  for name in pairs(want) do h.ok(got[name], "cdef.lua declares " .. name) end
  h.ok(lines >= 17, "cdef has the declarations")
end

function T.library_path_follows_lookup_order()
  local env = os.getenv("LIPC_LIBRARY")
  if env and env ~= "" then
    h.eq(lipc.library_path, env, "LIPC_LIBRARY wins")
  else
    h.ok(lipc.library_path:match("liblipc%.so"), "a liblipc path: " .. lipc.library_path)
  end
  h.eq(require("lipc.lib").C, lipc.C, "one namespace")
end

function T.call_modes_and_diag()
  local mode = lipc.diag("call_mode")
  h.eq(mode, os.getenv("LIPC_CALL_MODE") == "handoff" and lipc.CALL_HANDOFF or lipc.CALL_DIRECT,
       "default call mode for LuaJIT")
  h.eq(lipc.diag("fp_selftest"), 1, "fp_selftest")
  h.eq(lipc.set_call_mode("handoff"), true, "set handoff")
  local ok, err = pcall(function()
    h.eq(lipc.diag("call_mode"), lipc.CALL_HANDOFF, "mode after set")
    -- Windows: every call runs on the caller's thread, handoff included
    h.eq(lipc.diag("go_thread"), h.windows and 0 or 1, "handoff: Go work on a lipc thread")
    local s = assert(lipc.sem.open(h.sem_name(), { create = true, exclusive = true }))
    h.eq(s:close(), true, "open/close under handoff")
  end)
  h.eq(lipc.set_call_mode("direct"), true, "set direct")
  if not ok then error(err, 0) end
  h.eq(lipc.diag("go_thread"), 0, "direct: Go work on the caller's thread")
  h.eq(lipc.diag(7), lipc.diag("live_handles"), "a figure by number")
  if h.windows then
    -- Windows has no RLIMIT_NOFILE and no signals (lipc.h: -1 and 0)
    h.eq(lipc.diag("host_nofile"), -1, "host_nofile: no such limit on Windows")
    h.eq(lipc.diag("go_signals_blocked"), 0, "no signals to block on Windows")
  else
    h.ok(lipc.diag("host_nofile") > 0, "host_nofile")
    h.eq(lipc.diag("go_signals_blocked"), 1, "lipc's Go threads keep SIGCHLD and SIGPROF blocked")
  end
  h.fails(E.EINVAL, nil, lipc.set_call_mode(99))
  h.fails(E.EINVAL, nil, lipc.diag(999))
  h.raises("bad argument #1 to 'set_call_mode'", lipc.set_call_mode, "fast")
  h.raises("bad argument #1 to 'diag'", lipc.diag, "nonsense")
end

-- The fds a daemon must spare: the runtime's poller (lipc.h).
function T.runtime_fds_name_the_poller()
  local fds = lipc.runtime_fds()
  h.eq(type(fds), "table", "a table")
  if h.windows then
    h.eq(#fds, 0, "none on Windows: the runtime holds handles")
    return
  end
  local kinds = {}
  for _, fd in ipairs(fds) do
    h.eq(type(fd), "number", "fd " .. tostring(fd) .. " is a number")
    h.ok(fd > 2, "fd " .. fd .. " is not a standard stream")
    local p = assert(io.popen("readlink /proc/" .. h.pid .. "/fd/" .. fd))
    local link = p:read("*l") or ""
    p:close()
    kinds[link] = (kinds[link] or 0) + 1
    -- and the reaper's pidfds, if an earlier test left a child running
    h.ok(link:find("anon_inode:[event", 1, true) or link:find("cgroup", 1, true) or link:find("pidfd", 1, true),
      "fd " .. fd .. " is " .. link)
  end
  h.eq(kinds["anon_inode:[eventpoll]"], 1, "the poller's epoll fd")
  h.eq(kinds["anon_inode:[eventfd]"], 1, "the poller's eventfd")
end

function T.timeouts_are_seconds_rounded_up_to_ms()
  local ms = require("lipc.errors").timeout_ms
  for _, c in ipairs({ { nil, -1 }, { -0.5, -1 }, { math.huge, -1 }, { 0, 0 }, { 1e-9, 1 },
                       { 0.29, 290 }, { 0.2, 200 }, { 1.0001, 1001 }, { 5, 5000 } }) do
    h.eq(ms(c[1]), c[2], "timeout_ms(" .. tostring(c[1]) .. ")")
  end
end

function T.failure_carries_errno()
  -- EBADHANDLE is backed by EBADF (9 on Linux); the 4th value is lipc_errno().
  local r, msg, code, errno = lipc.close(1)
  h.eq(r, nil, "result")
  h.eq(code, E.EBADHANDLE, "code")
  h.eq(errno, 9, "errno")
  h.ok(msg:find("not an open handle", 1, true), "message: " .. msg)
end

function T.misuse_raises_at_the_caller()
  local err = h.raises("bad argument #1 to 'open' (string expected, got number)", lipc.sem.open, 5)
  local ok, e2 = pcall(function() lipc.sem.open({}) end)
  h.ok(not ok and e2:find("test_basics.lua:%d+:"), "error points at the caller: " .. tostring(e2))
  h.ok(err, "raised")
end

-- The errno numbers errno-based APIs (the LuaIPC compatibility layer) report.
function T.posix_errno_and_clock()
  h.eq(lipc.posix_errno(E.EINVAL, 0), 22, "EINVAL without errno")
  h.eq(lipc.posix_errno(E.ENOENT), 2, "ENOENT")
  h.eq(lipc.posix_errno(E.EPERM, 0), 13, "EPERM is EACCES")
  h.eq(lipc.posix_errno(E.ENAMETOOLONG, 0), 36, "ENAMETOOLONG")
  h.eq(lipc.posix_errno(E.ECLOSED, 0), 32, "ECLOSED is EPIPE")
  h.eq(lipc.posix_errno(E.EOS_BASE - 8), 8, "an OS code: its errno")
  h.eq(lipc.posix_errno(E.EINVAL, 9), 9, "a reported errno wins")
  h.eq(lipc.posix_errno(0), 0, "OK")
  -- from a real failure: the name rule is lipc's, its errno is EINVAL
  local _, _, code, errno = lipc.sem.open("bad name!")
  -- (Windows: the Windows code lipc reported, ERROR_INVALID_NAME)
  h.eq(lipc.posix_errno(code, errno), h.windows and 123 or 22, "bad name")
  h.eq(lipc.strerror(E.EOS_BASE - 2), h.windows and "The system cannot find the file specified." or "No such file or directory",
       "strerror text of an errno (Windows: of the Windows code)")
  -- lipc.clock is the monotonic clock of the deadlines
  local t0 = lipc.clock()
  lipc.wait_fds({}, 0.05)
  local dt = lipc.clock() - t0
  h.ok(dt >= 0.049 and dt < 5, "clock advanced by the sleep: " .. dt)
  h.ok(math.abs(lipc.clock() - h.now()) < 0.5, "CLOCK_MONOTONIC")
end

-- A signal disposition the host sets right after loading lipc stays: loading
-- returns only once Go's start-up (which restores the host's handlers) is
-- over, so nothing reverts a later change. A regression test: it once
-- failed in about a quarter of fresh processes.
function T.signal_disposition_set_after_load_is_kept()
  h.posix_only("signal dispositions (Windows has no signals)")
  local code = [[
    local ffi = require "ffi"
    pcall(ffi.cdef, "void (*signal(int sig, void (*handler)(int)))(int);")
    local lipc = require "lipc"
    local IGN = ffi.cast("void (*)(int)", 1)
    ffi.C.signal(13, IGN)
    lipc.diag("go_thread")
    io.write(tonumber(ffi.cast("intptr_t", ffi.C.signal(13, IGN))) == 1 and "kept" or "reset")
  ]]
  local reset, runs = 0, 0
  while runs < 64 and reset == 0 do -- stops at the first reset seen
    runs = runs + 1
    local r = assert(lipc.proc.run(h.exec_luajit_cmd(code), { timeout = 30 }))
    h.eq(r.code, 0, "child: " .. r.stderr)
    if r.stdout == "reset" then reset = reset + 1 end
  end
  if reset > 0 then
    error(("LIBRARY BUG: in %d of %d fresh processes, SIGPIPE set to SIG_IGN after loading lipc was "
      .. "reverted to SIG_DFL at the first call into Go (lipc__host_restore runs in Go's async init)")
      :format(reset, runs), 0)
  end
end

return T
