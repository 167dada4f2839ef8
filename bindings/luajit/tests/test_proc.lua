-- lipc.proc: spawning, exit codes and signals, start failures with their
-- errno, fd maps and pipes, pipelines, communicate, waits, limits,
-- autokill, leaks, figures, multi-waits; and lipc.env / lipc.quote.
-- Everything in /tmp/lipc-proc-brief.md's list, the LuaJIT way.
local ffi = require "ffi"
local bit = require "bit"
local lipc = require "lipc"
local h = require "helpers"
local E, P = lipc.errors, lipc.proc

local ENOENT_ERRNO, EACCES_ERRNO, ENOEXEC_ERRNO = 2, 13, 8

-- Runs argv/shell command with stdout piped; returns stdout (asserting success).
local function capture(cmd, opts)
  opts = opts or {}
  opts.stdout = opts.stdout or true
  local p = assert(P.spawn(cmd, opts))
  local out, err = p:communicate(nil, 20)
  local code, sig = p:wait(10)
  p:close()
  assert(out, err)
  return out, code, sig
end

local function lines_of(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local T = {}

function T.basic_spawn_wait_path_pid()
  local r = assert(P.run { "echo", "hello", "world" })
  h.eq(r.stdout, "hello world\n", "stdout")
  h.eq(r.stderr, "", "stderr")
  h.eq(r.code, 0, "code")
  h.eq(r.signal, 0, "signal")
  local p = assert(P.spawn({ "echo", "x" }, { stdout = "null" }))
  h.eq(type(p.handle), "number", "handle is a Lua number")
  h.eq(lipc.handle_kind(p.handle), lipc.KIND_PROC, "kind")
  h.ok(type(p:pid()) == "number" and p:pid() > 1, "pid")
  h.ok(p:path():match("/echo$"), "path after PATH search: " .. p:path())
  local code, sig = p:wait(5)
  h.eq(code, 0, "wait code")
  h.eq(sig, 0, "wait sig")
  h.eq(p:wait(0), 0, "a second wait returns the same at once")
  h.eq(p:close(), true, "close")
  h.eq(p:close(), true, "second close")
  -- the table form with options in it, and the shell form
  h.eq(capture { "printf", "%s-%s", "a b", "c" }, "a b-c", "argv passes spaces untouched")
  h.eq(capture("printf '%s' \"$0\""), "/bin/sh", "a string runs under /bin/sh -c")
  p = assert(P.spawn { cmd = { "printf", "cmd" }, stdout = true })
  h.eq(p:communicate(nil, 5), "cmd", "opts.cmd")
  p:close()
  h.eq(capture({ "x-not-run", "arg" }, { program = "/bin/echo" }), "arg\n", "program apart from argv[0]")
end

function T.exit_code_versus_signal()
  local p = assert(P.spawn("exit 42"))
  local code, sig = p:wait(5)
  h.eq(code, 42, "exit code")
  h.eq(sig, 0, "no signal")
  h.eq(p:status(), "exited", "status")
  h.eq(p:exit_code(), 42, "exit_code()")
  p:close()
  p = assert(P.spawn("kill -KILL $$"))
  code, sig = p:wait(5)
  h.eq(code, -1, "code of a killed child")
  h.eq(sig, 9, "SIGKILL")
  local st, c2, s2 = p:status()
  h.eq(st, "killed", "status")
  h.eq(c2, -1, "status code")
  h.eq(s2, 9, "status signal")
  p:close()
  -- kill by name, status while running, kill after exit
  p = assert(P.spawn { "sleep", "10" })
  h.eq(p:status(), "running", "running")
  local n, what = p:exit_code()
  h.eq(n, nil, "no exit code yet")
  h.eq(what, "running", "exit_code says running")
  h.eq(p:kill(0), true, "signal 0: alive")
  h.fails(E.EINVAL, nil, p:kill("TERM", true)) -- not a group leader
  h.eq(p:kill("sigterm"), true, "kill by name")
  code, sig = p:wait(5)
  h.eq(sig, 15, "TERM")
  h.fails(E.ENOENT, nil, p:kill("KILL"))
  p:close()
  h.eq(P.signum("SIGXCPU"), 24, "signum")
  h.eq(P.signame(9), "KILL", "signame")
  h.eq(P.signals.TERM, 15, "signals table")
end

function T.stop_escalates_to_kill_after_the_grace()
  local p = assert(P.spawn("trap '' TERM; echo ready; exec sleep 10", { stdout = true }))
  h.eq(p:stdout():read("l", 10), "ready", "TERM is ignored now")
  local t0 = h.now()
  local code, sig = p:stop(0.3)
  local dt = h.now() - t0
  h.eq(code, -1, "code")
  h.eq(sig, 9, "KILLed after the grace")
  h.ok(dt >= 0.29, ("not before the grace (%.3fs)"):format(dt))
  h.ok(dt < 5, ("soon after it (%.3fs)"):format(dt))
  p:close()
  -- a child that obeys TERM stops with it, at once
  p = assert(P.spawn { "sleep", "10" })
  t0 = h.now()
  code, sig = p:stop(10)
  h.eq(sig, 15, "TERM was enough")
  h.ok(h.now() - t0 < 5, "did not wait for the grace")
  p:close()
  -- a group: the child leads it (setsid), both its children get the signal
  p = assert(P.spawn("sleep 10 & sleep 10 & echo $!; wait", { setsid = true, stdout = true }))
  local grandchild = tonumber(p:stdout():read("l", 10))
  code, sig = p:stop(5, true)
  h.eq(sig, 15, "the shell got TERM")
  h.ok(h.wait_dead(grandchild, 3), "the group's other member got it too")
  p:close()
end

function T.start_failures_carry_code_and_errno()
  local live = lipc.diag("live_handles")
  local noexec = h.tmpdir() .. "/noexec"
  local f = assert(io.open(noexec, "wb"))
  f:write("\1\2garbage")
  f:close()
  h.ok(h.sh("chmod 755 " .. h.q(noexec)), "chmod")
  local cases = {
    { "missing program", { "no-such-program-lipc-lua" }, E.ENOENT, ENOENT_ERRNO, "not found" },
    { "missing path", { "/nonexistent/prog" }, E.ENOENT, ENOENT_ERRNO },
    { "not executable", { "/etc/passwd" }, E.EPERM, EACCES_ERRNO, "/etc/passwd" },
    { "a directory", { "/tmp" }, E.EPERM, EACCES_ERRNO },
    { "bad cwd", { "/bin/true", cwd = "/nonexistent-dir" }, E.ENOENT, ENOENT_ERRNO, "/nonexistent-dir" },
    { "no search", { "true", search = false }, E.ENOENT, ENOENT_ERRNO },
    { "bad parent fd", { "/bin/true", fds = { [3] = 987 } }, E.EINVAL, 22, "bad fd map" },
    { "missing file", { "/bin/true", fds = { [3] = { path = "/nonexistent/file" } } }, E.ENOENT, ENOENT_ERRNO,
      "/nonexistent/file" },
    { "not a program", { noexec }, E.EOS_BASE - ENOEXEC_ERRNO, ENOEXEC_ERRNO },
    { "refused limit", { "/bin/true", rlimits = { nofile = { 1, 2^40 } } }, E.EPERM, 1 },
  }
  for _, c in ipairs(cases) do
    local r, msg, code, errno = P.spawn(c[2])
    h.eq(r, nil, c[1])
    h.eq(code, c[3], c[1] .. ": code (" .. tostring(msg) .. ")")
    h.eq(errno, c[4], c[1] .. ": errno (" .. tostring(msg) .. ")")
    if c[5] then h.ok(msg:find(c[5], 1, true), c[1] .. ": message names it: " .. msg) end
  end
  collectgarbage()
  h.eq(lipc.diag("live_handles"), live, "failed spawns leave no handle")
end

function T.bad_input_gives_clear_errors()
  local r, msg, code = P.spawn {}
  h.eq(r, nil, "empty argv fails")
  h.eq(code, E.EINVAL, "EINVAL")
  h.ok(msg:find("empty argv", 1, true), msg)
  h.raises("argv[2] without NUL bytes", P.spawn, { "echo", "a\0b" })
  h.raises("shell command without NUL bytes", P.spawn, "echo a\0b")
  h.raises("env.K without NUL bytes", P.spawn, { "true", env = { K = "a\0" } })
  h.raises("bad argument #1 to 'spawn'", P.spawn, 42)
  h.raises("unknown option 'stdot'", P.spawn, { "true", stdot = true })
  h.raises("'pipe', 'null'", P.spawn, { "true", stdout = "bogus" })
  h.raises("fds keys: integers", P.spawn, { "true", fds = { [1.5] = "null" } })
  h.raises("stdout or fds[1], not both", P.spawn, { "true", stdout = true, fds = { [1] = true } })
  h.raises("file mode", P.spawn, { "true", stdout = { path = "/tmp/x", mode = "q" } })
  h.raises("rlimits: cpu", P.spawn, { "true", rlimits = { bogus = 1 } })
  h.raises("signal number or name", P.spawn, { "true", autokill = "NOPE" })
  h.raises("on_close 'leave' or 'stop'", P.spawn, { "true", on_close = "later" })
  -- numbers the C side checks come back as failures
  h.fails(E.EINVAL, nil, P.spawn { "true", fds = { [-1] = "null" } })
  local msg2 = h.fails(E.EINVAL, nil, P.spawn { "true", fds = { [5000] = "null" } })
  h.ok(msg2:find("5000", 1, true), "names the fd: " .. msg2)
  h.fails(E.EINVAL, nil, P.spawn { "true", rlimits = { cpu = { 5, 2 } } })
  h.fails(E.EINVAL, nil, P.spawn { "true", env_add = { ["A=B"] = "x" } })
  h.fails(E.EINVAL, nil, P.spawn { "true", umask = 512 })
  h.fails(E.EINVAL, nil, P.spawn { "true", stderr = { child = 2 } })
  -- closed objects raise, never reach C with a dead handle
  local p = assert(P.spawn { "true", stdout = true })
  local out = p:stdout()
  p:wait(5)
  p:close()
  h.raises("attempt to use closed process", p.wait, p)
  h.raises("attempt to use closed process", p.kill, p)
  h.raises("attempt to use closed process", p.communicate, p)
  h.raises("attempt to use closed process", p.pid, p)
  out:close()
  h.raises("attempt to use closed pipe", out.read, out, 1)
  h.raises("attempt to use closed pipe", out.fileno, out)
  h.eq(out:close(), true, "pipe close is idempotent")
  local a = assert(P.prepare { "true" })
  a:close()
  h.raises("attempt to use closed spawn attributes", a.spawn, a)
  -- raw C calls with bad handles: EBADHANDLE, not a crash
  local C, code64 = lipc.C, ffi.new("int64_t[1]")
  for _, bad in ipairs({ 0, 1, -1, 2^53, p.handle or 2^52 + 12345 }) do
    h.eq(C.lipc_proc_pid(bad, code64), E.EBADHANDLE, "proc_pid(" .. tostring(bad) .. ")")
    h.eq(C.lipc_proc_wait(bad, 0, nil, nil), E.EBADHANDLE, "proc_wait")
  end
  h.raises("bad argument #1 to 'kill'", function()
    local q = assert(P.spawn { "true" })
    local ok, err = pcall(q.kill, q, "NOPE")
    q:wait(5)
    q:close()
    error(err, 0)
  end)
end

function T.env_unset_replace_and_host_setenv_reach_the_child()
  -- set in the host at run time through the C environ (as a C library would)
  h.eq(ffi.C.setenv("LIPC_LUA_T_HOST", "seen", 1), 0, "setenv")
  local ok, err = pcall(function()
    h.eq(lipc.env.set("LIPC_LUA_T_LIPC", "via lipc"), true, "lipc.env.set")
    local out = capture({ "/usr/bin/env" }, { env_unset = { "HOME" }, env_add = { LIPC_LUA_T_NEW = "a b" } })
    h.ok(out:find("\nLIPC_LUA_T_HOST=seen\n", 1, true) or out:find("^LIPC_LUA_T_HOST=seen\n"), "host setenv reached it")
    h.ok(out:find("LIPC_LUA_T_LIPC=via lipc\n", 1, true), "lipc.env.set reached it")
    h.ok(out:find("LIPC_LUA_T_NEW=a b\n", 1, true), "env_add")
    h.ok(not out:find("\nHOME=", 1, true) and not out:find("^HOME="), "HOME unset")
    h.eq(capture({ "/usr/bin/env" }, { env = { ONLY = "1" } }), "ONLY=1\n", "env replaces")
    h.eq(capture({ "/usr/bin/env" }, { env = {}, env_add = { B = "2", A = "1" } }), "A=1\nB=2\n", "empty + added")
    -- the child's PATH is the one searched
    h.fails(E.ENOENT, nil, P.spawn { "env", env = { PATH = "/nonexistent" } })
  end)
  ffi.C.unsetenv("LIPC_LUA_T_HOST")
  lipc.env.unset("LIPC_LUA_T_LIPC")
  if not ok then error(err, 0) end
end

function T.env_helpers()
  local env = lipc.env
  h.eq(env.set("LIPC_LUA_T_ENV", "v1"), true, "set")
  h.eq(env.get("LIPC_LUA_T_ENV"), "v1", "get")
  h.eq(os.getenv("LIPC_LUA_T_ENV"), "v1", "the host's getenv sees it")
  local long = string.rep("x", 5000)
  env.set("LIPC_LUA_T_ENV", long)
  h.eq(env.get("LIPC_LUA_T_ENV"), long, "a value longer than the first buffer")
  env.set("LIPC_LUA_T_ENV", 12)
  h.eq(env("LIPC_LUA_T_ENV"), "12", "env(name), numbers as strings")
  local all = env.list()
  h.eq(all.LIPC_LUA_T_ENV, "12", "list")
  h.eq(all.PATH, os.getenv("PATH"), "list has PATH")
  h.eq(env("LIPC_LUA_T_ENV", false), true, "env(name, false) unsets")
  h.fails(E.ENOENT, nil, env.get("LIPC_LUA_T_ENV"))
  h.eq(os.getenv("LIPC_LUA_T_ENV"), nil, "gone for getenv too")
  h.eq(env.unset("LIPC_LUA_T_ENV"), true, "unset of an unset name is fine")
  h.eq(env("LIPC_LUA_T_ENV", "x"), true, "env(name, value)")
  h.eq(env().LIPC_LUA_T_ENV, "x", "env() lists")
  env.unset("LIPC_LUA_T_ENV")
  h.fails(E.EINVAL, nil, env.set("", "x"))
  h.fails(E.EINVAL, nil, env.set("A=B", "x"))
  h.raises("bad argument #2 to 'set'", env.set, "A", {})
  h.raises("without NUL bytes", env.set, "A", "x\0y")
  h.raises("without NUL bytes", env.get, "A\0B")
end

function T.quoting_helpers()
  local Q = lipc.quote
  local cases = {
    { Q.sh, "plain", "plain" }, { Q.sh, "", "''" }, { Q.sh, "it's $x", "'it'\\''s $x'" },
    { Q.win, "plain", "plain" }, { Q.win, "", '""' }, { Q.win, "a b", '"a b"' },
    { Q.win, 'a"b', '"a\\"b"' }, { Q.win, "a\\\\b c\\", '"a\\\\b c\\\\"' },
    { Q.win, 'x\\"y z', '"x\\\\\\"y z"' },
    { Q.cmd, "a&b", "a^&b" }, { Q.cmd, '"&calc.exe', '^"\\^"^&calc.exe^"' },
    { Q.cmd, "%PATH%", "%%cd:~,%PATH%%cd:~,%" },
  }
  for i, c in ipairs(cases) do h.eq(c[1](c[2]), c[3], "case " .. i .. " " .. c[2]) end
  h.fails(E.EINVAL, nil, Q.cmd("a\nb"))
  local long = string.rep("it's ", 200)
  h.eq(Q.sh(long), "'" .. long:gsub("'", "'\\''") .. "'", "longer than the first buffer")
  h.eq(Q.arg("a b", "win"), '"a b"', "arg with a style")
  h.eq(P.quote_arg("a b"), "'a b'", "proc.quote_arg defaults to sh")
  h.eq(Q.join({ "ls", "a b", "it's" }), "ls 'a b' 'it'\\''s'", "join")
  h.raises("without NUL bytes", Q.sh, "a\0b")
  h.raises("'sh', 'win' or 'cmd'", Q.arg, "x", "zsh")
  -- the POSIX quoting survives a real shell
  local nasty = "a 'b' \"c\" $d `e` \\f\n! *"
  h.eq(capture("printf %s " .. Q.sh(nasty)), nasty, "round trip through sh")
  h.eq(capture(Q.join({ "printf", "%s|", "x y", "$HOME", "'" })), "x y|$HOME|'|", "join round trip")
end

function T.host_file_without_cloexec_is_not_inherited()
  -- io.open uses fopen without "e": the fd is inheritable by exec
  local f = assert(io.open("/etc/hostname", "r") or io.open("/etc/passwd", "r"))
  local fd = require("lipc.util").file_fd(f)
  h.ok(fd and fd >= 3, "an fd above stdio")
  h.eq(bit.band(ffi.C.fcntl(fd, 1), 1), 0, "FD_CLOEXEC is off, so a plain exec would pass it on")
  local out = capture({ "ls", "/proc/self/fd" }, { stdin = "null", stderr = "null" })
  f:close()
  -- 0, 1, 2 and ls's own directory handle: nothing of ours
  h.eq(table.concat(lines_of(out), ","), "0,1,2,3", "the child's fds")
end

function T.fd_map_files_children_parent_fds()
  local tmp = h.tmpdir() .. "/fdmap.txt"
  local r, w = h.pipe()
  h.write_fd(w, "from-parent\n")
  h.close_fd(w)
  local out = capture("echo out; echo err >&2; echo five >&5; cat <&7", {
    stdin = "null", stderr = "stdout",
    fds = { [5] = { path = tmp, mode = "w" }, [7] = { fd = r, close = true } },
  })
  h.eq(out, "out\nerr\nfrom-parent\n", "2>&1 and a parent fd at 7")
  h.ok(not h.fd_open(r), "the parent's fd was closed after the spawn")
  h.eq(h.read_file(tmp), "five\n", "a file at fd 5")
  -- append mode, a Lua io file as stdout, a kept parent fd (number)
  out = capture("echo more >&5", { fds = { [5] = { path = tmp, mode = "a" } } })
  h.eq(h.read_file(tmp), "five\nmore\n", "append")
  local f = assert(io.open(tmp, "w"))
  f:write("lua-first\n") -- buffered in Lua; flushed before the child writes
  local p = assert(P.spawn("echo child", { stdout = f }))
  p:wait(5)
  p:close()
  f:write("lua-last\n")
  f:close()
  h.eq(h.read_file(tmp), "lua-first\nchild\nlua-last\n", "io file as stdout, in order")
  local r2, w2 = h.pipe()
  p = assert(P.spawn("printf kept", { stdout = w2 }))
  p:wait(5)
  p:close()
  h.ok(h.fd_open(w2), "a number fd stays open here")
  h.close_fd(w2)
  local buf = ffi.new("char[16]")
  local n = ffi.C.read(r2, buf, 16)
  h.eq(ffi.string(buf, n), "kept", "the child wrote to our fd")
  h.close_fd(r2)
  -- /dev/null and a closed fd
  h.eq(capture("cat; echo done", { stdin = "null" }), "done\n", "null stdin")
  h.eq(capture("echo x >&2 && echo wrote || echo failed", { stderr = "close" }), "failed\n", "closed stderr")
end

function T.two_stage_pipeline_child_to_child()
  -- lipc.proc.pipe(): the ends are handed over, never read here
  local r, w = assert(P.pipe())
  local p1 = assert(P.spawn({ "printf", "b\\na\\nc\\n" }, { stdout = w }))
  local p2 = assert(P.spawn({ "sort" }, { stdin = r, stdout = true }))
  h.eq(w.fd, nil, "write end handed over")
  h.eq(r.fd, nil, "read end handed over")
  h.eq(p2:communicate(nil, 10), "a\nb\nc\n", "sorted")
  h.eq(p1:wait(5), 0, "producer")
  h.eq(p2:wait(5), 0, "consumer")
  p1:close(); p2:close()
  -- the same with the language's own pipe(2) and LIPC_FD_PARENT + CLOSE_PARENT
  local fr, fw = h.pipe()
  p1 = assert(P.spawn({ "printf", "y\\nx\\n" }, { stdout = { fd = fw, close = true } }))
  h.ok(not h.fd_open(fw), "the write end was closed here after the spawn")
  p2 = assert(P.spawn({ "sort" }, { stdin = { fd = fr, close = true }, stdout = true }))
  h.ok(not h.fd_open(fr), "the read end too")
  h.eq(p2:communicate(nil, 10), "x\ny\n", "sorted (raw pipe)")
  p1:wait(5); p1:close(); p2:close()
  -- one child's taken stdout straight into another's stdin
  p1 = assert(P.spawn({ "printf", "2\\n1\\n" }, { stdout = true }))
  p2 = assert(P.spawn({ "sort" }, { stdin = p1:stdout(), stdout = true }))
  h.eq(p2:communicate(nil, 10), "1\n2\n", "sorted (taken pipe handed on)")
  p1:wait(5); p1:close(); p2:close()
end

function T.communicate_10mb_on_both_streams_without_deadlock()
  local p = assert(P.spawn(
    "head -c 10000000 /dev/zero >&2 & head -c 10000000 /dev/zero; wc -c >/dev/null; wait",
    { stdin = true, stdout = true, stderr = true }))
  local t0 = h.now()
  local out, err = p:communicate(string.rep("i", 2^20), 60)
  h.ok(out, "communicate: " .. tostring(err))
  h.eq(#out, 10000000, "stdout bytes")
  h.eq(#err, 10000000, "stderr bytes")
  h.ok(not out:find("[^%z]"), "stdout content")
  h.eq(p:wait(0), 0, "exited already")
  h.ok(h.now() - t0 < 30, "in time")
  p:close()
end

-- A later call with a smaller cap than an earlier one (that timed out) had
-- collected: that stream is past the cap, and no more than the cap comes back.
function T.communicate_smaller_cap_after_a_timeout()
  local p = assert(P.spawn("head -c 3000 /dev/zero; exec sleep 30", { stdout = true }))
  local got, t0 = "", h.now()
  while #got < 3000 and h.now() - t0 < 10 do
    local r, _, code, _, out = p:communicate(nil, 0.1)
    h.eq(r, false, "timed out")
    h.eq(code, E.ETIMEDOUT, "ETIMEDOUT")
    got = out
  end
  h.eq(#got, 3000, "collected")
  p:kill()
  local r, msg, code, _, out = p:communicate(nil, 5, 1000)
  h.eq(r, nil, "past the cap: " .. tostring(msg))
  h.eq(code, E.ERANGE, "ERANGE")
  h.eq(#out, 1000, "no more than the cap")
  p:close()
end

function T.communicate_cap_and_timeout_keep_the_output()
  local p = assert(P.spawn("head -c 100000 /dev/zero", { stdout = true }))
  local r, msg, code, errno, out, err = p:communicate(nil, 5, 1000)
  h.eq(r, nil, "cap passed")
  h.eq(code, E.ERANGE, "ERANGE: " .. tostring(msg))
  h.eq(#out, 1000, "kept up to the cap")
  h.eq(err, "", "stderr is not a pipe")
  h.ok(errno ~= nil, "errno")
  p:kill()
  p:close()
  p = assert(P.spawn("echo early; exec sleep 10", { stdout = true }))
  local t0 = h.now()
  r, msg, code, errno, out = p:communicate(nil, 0.3)
  h.eq(r, false, "a timeout is false")
  h.eq(code, E.ETIMEDOUT, "ETIMEDOUT")
  h.ok(h.now() - t0 >= 0.29, "waited the timeout")
  h.eq(out, "early\n", "partial output")
  h.eq(p:kill(), true, "stop it")
  local full = p:communicate(nil, 5)
  h.eq(full, "early\n", "a second call returns everything since the first")
  h.eq(select(2, p:wait(5)), 9, "killed")
  p:close()
  -- run(): the same as one call
  t0 = h.now()
  local res
  r, msg, code, errno, res = P.run { "sh", "-c", "echo early; exec sleep 10", timeout = 0.3 }
  h.eq(r, nil, "run timed out")
  h.eq(code, E.ETIMEDOUT, "run: ETIMEDOUT")
  h.eq(res.stdout, "early\n", "run: output collected")
  h.eq(res.signal, 9, "run: the child was killed")
  h.ok(h.now() - t0 < 5, "run returned soon")
  res = assert(P.run { "sh", "-c", "cat; echo e >&2; exit 3", input = "in" })
  h.eq(res.stdout, "in", "run: input")
  h.eq(res.stderr, "e\n", "run: stderr")
  h.eq(res.code, 3, "run: code")
end

function T.wait_tracks_the_process_not_its_pipes()
  -- a grandchild keeps stdout open for 5 s; wait must not care
  local p = assert(P.spawn("sleep 5 & echo $!; exit 0", { stdout = true }))
  local t0 = h.now()
  local code = p:wait(3)
  local dt = h.now() - t0
  h.eq(code, 0, "exited")
  h.ok(dt < 1.5, ("wait returned in %.3fs"):format(dt))
  local grandchild = tonumber(p:stdout():read("l", 5))
  h.ok(grandchild, "the grandchild's pid")
  ffi.C.kill(grandchild, 9)
  p:close()
  -- a timeout
  p = assert(P.spawn { "sleep", "5" })
  t0 = h.now()
  local r, msg, c = p:wait(0.15)
  h.eq(r, false, "timeout is false, as semaphore waits")
  h.eq(c, E.ETIMEDOUT, "ETIMEDOUT: " .. tostring(msg))
  h.ok(h.now() - t0 >= 0.149, "waited the timeout")
  h.fails(E.ETIMEDOUT, false, p:wait(0))
  p:kill()
  p:close()
end

function T.wait_interrupted_by_a_signal_returns_eintr()
  local sh = h.sighelper()
  local p = assert(P.spawn { "sleep", "10" })
  h.eq(sh.sh_install(), 0, "install SIGUSR1 handler")
  local ok, err = pcall(function()
    h.eq(sh.sh_signal_me_every(100, 40), 0, "start signaller")
    local t0 = h.now()
    local r, msg, code = p:wait(5)
    sh.sh_stop()
    h.fails(E.EINTR, nil, r, msg, code)
    h.ok(h.now() - t0 < 2.5, "promptly")
    h.eq(p:status(), "running", "nothing lost: still running, still ours")
  end)
  sh.sh_stop()
  sh.sh_restore()
  p:kill()
  p:wait(5)
  p:close()
  if not ok then error(err, 0) end
end

function T.status_lost_when_the_host_reaps()
  local p = assert(P.spawn("exit 3"))
  lipc.wait_fds({}, 0.2)
  local st = ffi.new("int[1]")
  while ffi.C.waitpid(-1, st, 1) > 0 do end -- WNOHANG: reap every child
  local r, msg, code = p:wait(5)
  h.fails(E.ESTATUSLOST, nil, r, msg, code)
  h.ok(msg:find("someone else", 1, true), msg)
  h.fails(E.ESTATUSLOST, nil, p:status())
  local info = p:info() -- no figures of a pid that may be another process's now
  h.eq(info.running, false, "not running")
  h.eq(info.exit_code, nil, "no exit code")
  h.eq(info.maxrss_kb, nil, "no peak RSS")
  p:close()
end

-- The raw call p:info() makes: each figure's code and value as
-- lipc_proc_info's, running and once killed; a failing figure writes
-- nothing and leaves the last error alone; bad arrays and handles refused.
function T.info_many_gives_what_proc_info_gives()
  local C = lipc.C
  local figs = { 1, 2, 3, 4, 5, 6, 7, 8, 99 }
  local n = #figs
  local what = ffi.new("int[?]", n, figs)
  local values, rcs, one = ffi.new("int64_t[?]", n), ffi.new("int[?]", n), ffi.new("int64_t[1]")
  local p = assert(P.spawn({ "sleep", "30" }))
  local hd = p.handle
  for _, state in ipairs({ "running", "killed" }) do
    for i = 0, n - 1 do values[i], rcs[i] = -7, -999 end
    local before = ffi.string(C.lipc_last_error())
    h.eq(C.lipc_proc_info_many(hd, what, values, rcs, n), 0, state)
    h.eq(ffi.string(C.lipc_last_error()), before, state .. ": last error untouched")
    for i = 0, n - 1 do
      one[0] = -7
      local rc = C.lipc_proc_info(hd, figs[i + 1], one)
      h.eq(rcs[i], rc, state .. ": code of figure " .. figs[i + 1])
      local moves = state == "running" and figs[i + 1] >= 5 and figs[i + 1] <= 8
      if rc ~= 0 then
        h.eq(tonumber(values[i]), -7, state .. ": nothing written for figure " .. figs[i + 1])
      elseif not moves then
        h.eq(tonumber(values[i]), tonumber(one[0]), state .. ": figure " .. figs[i + 1])
      end
    end
    h.eq(rcs[n - 1], E.EINVAL, "unknown figure")
    if state == "running" then
      h.eq(tonumber(values[0]), 1, "running")
      p:kill("KILL")
      p:wait(10)
    else
      h.eq(tonumber(values[1]) .. " " .. tonumber(values[2]), "-1 9", "killed")
    end
  end
  h.eq(C.lipc_proc_info_many(hd, what, nil, rcs, 1), E.EINVAL, "values NULL")
  h.eq(C.lipc_proc_info_many(hd, what, values, rcs, -1), E.EINVAL, "n below 0")
  h.eq(C.lipc_proc_info_many(hd, nil, nil, nil, 0), 0, "n 0")
  p:close()
  h.eq(C.lipc_proc_info_many(hd, what, values, rcs, n), E.EBADHANDLE, "closed")
  h.raises("closed", p.info, p)
end

function T.rlimit_nofile_read_by_the_child()
  local out = capture({ "cat", "/proc/self/limits" }, { rlimits = { nofile = { 77, 88 } } })
  local soft, hard = out:match("Max open files%s+(%d+)%s+(%d+)")
  h.eq(tonumber(soft), 77, "soft")
  h.eq(tonumber(hard), 88, "hard")
  out = capture({ "cat", "/proc/self/limits" }, { rlimits = { nofile = 50, core = 0 } })
  soft, hard = out:match("Max open files%s+(%d+)%s+(%d+)")
  h.eq(soft .. "/" .. hard, "50/50", "one number: soft = hard")
  -- without a limit, children get the host's soft limit from before lipc
  h.eq(tonumber((capture "ulimit -n")), lipc.diag("host_nofile"), "inherited")
end

function T.rlimit_cpu_ends_in_sigxcpu()
  local p = assert(P.spawn("while :; do :; done", { rlimits = { cpu = { 1, 2 } } }))
  local code, sig = p:wait(30)
  h.eq(code, -1, "killed")
  h.eq(sig, P.signals.XCPU, "SIGXCPU")
  h.eq(P.signame(sig), "XCPU", "signame")
  local info = p:info()
  h.ok(info.utime > 0.5, "user CPU " .. tostring(info.utime))
  h.eq(info.signal, 24, "info.signal")
  h.eq(info.exit_code, -1, "info.exit_code")
  p:close()
end

function T.rlimit_as_makes_a_big_allocation_fail()
  if not h.sh("command -v python3 >/dev/null 2>&1") then h.skip("no python3") end
  local p = assert(P.spawn({ "python3", "-c", "bytearray(500*1024*1024)" },
    { rlimits = { as = 200 * 2^20 }, stderr = "null" }))
  local code, sig = p:wait(30)
  h.eq(code, 1, "MemoryError exit (signal " .. tostring(sig) .. ")")
  p:close()
end

function T.autokill_child_survives_the_spawning_coroutine()
  -- LuaJIT has no threads: a coroutine is the short-lived spawner here (the
  -- C tests spawn from a pthread). The child is tied to the process.
  local co = coroutine.create(function()
    return assert(P.spawn({ "sleep", "3" }, { autokill = true }))
  end)
  local ok, p = coroutine.resume(co)
  h.ok(ok, "resume")
  h.eq(coroutine.status(co), "dead", "the spawner is gone")
  co = nil
  collectgarbage()
  collectgarbage()
  lipc.wait_fds({}, 0.3)
  h.eq(p:kill(0), true, "the child is alive")
  h.eq(p:status(), "running", "running")
  p:kill()
  p:wait(5)
  p:close()
end

function T.autokill_after_kill9_of_the_parent()
  local code = [[
    local lipc = require "lipc"
    local p = assert(lipc.proc.spawn({ "sleep", "30" }, { autokill = "KILL" }))
    io.write(p:pid(), "\n")
    io.stdout:flush()
    lipc.wait_fds({}, 60)
  ]]
  local parent = assert(P.spawn("exec " .. h.luajit_cmd(code), { stdout = true, stderr = "null" }))
  local line, msg = parent:stdout():read("l", 20)
  h.ok(line, "the parent reported its child: " .. tostring(msg))
  local child = tonumber(line)
  h.ok(h.proc_state(child), "the grandchild runs")
  h.eq(parent:kill("KILL"), true, "kill -9 the parent")
  h.eq(select(2, parent:wait(5)), 9, "parent died of SIGKILL")
  parent:close()
  local dead, dt = h.wait_dead(child, 3)
  if not dead then ffi.C.kill(child, 9) end
  h.ok(dead, ("the autokilled child %d outlived its parent (%.2fs)"):format(child, dt))
  h.ok(dt < 2.5, ("died within ~2 s (%.2fs)"):format(dt))
  -- the control: without autokill the orphan lives on
  code = code:gsub('autokill = "KILL"', "autokill = false")
  parent = assert(P.spawn("exec " .. h.luajit_cmd(code), { stdout = true, stderr = "null" }))
  child = tonumber(parent:stdout():read("l", 20))
  parent:kill("KILL")
  parent:wait(5)
  parent:close()
  h.ok(child and not h.wait_dead(child, 0.3), "without autokill the child outlives its parent")
  if child then ffi.C.kill(child, 9) end
end

function T.thousand_spawn_wait_cycles_leave_no_zombie_or_fd()
  collectgarbage()
  local fds0 = table.concat(h.fds(), ",")
  local live0 = lipc.diag("live_handles")
  local ok = 0
  for _ = 1, 1000 do
    local p = P.spawn({ "/bin/true" }, { stdout = true })
    if not p then break end
    if p:wait(5) == 0 then ok = ok + 1 end
    p:close()
  end
  h.eq(ok, 1000, "cycles")
  -- left running when closed (reaped later by lipc), stopped on close, and
  -- dropped without close (the finalizer closes them)
  for _ = 1, 20 do assert(P.spawn { "sleep", "0.2" }):close() end
  for _ = 1, 5 do assert(P.spawn({ "sleep", "30" }, { on_close = "stop", grace = 0.1 })):close() end
  for _ = 1, 30 do P.spawn({ "/bin/true" }, { stdout = true, stderr = true }) end
  collectgarbage()
  collectgarbage()
  lipc.wait_fds({}, 0.8)
  h.eq(h.zombies(), 0, "zombies")
  h.eq(table.concat(h.fds(), ","), fds0, "fds")
  h.eq(lipc.diag("live_handles"), live0, "handles")
end

function T.pipes_read_write_lines_eof_and_closed_reader()
  local p = assert(P.spawn({ "cat" }, { stdin = true, stdout = true }))
  local i, o = p:stdin(), p:stdout()
  h.eq(p:stdin(), i, "the same object each time")
  h.eq(i.mode, "w", "stdin end is for writing")
  h.eq(o.mode, "r", "stdout end is for reading")
  h.ok(type(o:fileno()) == "number", "fileno")
  local t0 = h.now()
  h.fails(E.ETIMEDOUT, false, o:read(16, 0.1))
  h.ok(h.now() - t0 >= 0.099, "read waited the timeout")
  h.eq(i:write("one\ntwo\nthr", 5), true, "write")
  h.eq(o:read("l", 5), "one", "a line")
  h.eq(o:read("L", 5), "two\n", "a line with its newline")
  h.fails(E.ETIMEDOUT, false, o:read("l", 0.1)) -- "thr" is kept
  h.eq(i:write("ee\nfour\n"), true, "more")
  h.eq(o:read(3, 5), "thr", "count read after a timed-out line read: nothing lost")
  local got = {}
  i:write("five\n")
  i:close() -- EOF for cat
  for l in o:lines(nil, 5) do got[#got + 1] = l end
  h.eq(table.concat(got, ","), "ee,four,five", "lines to EOF")
  h.eq(o:read(1, 5), nil, "EOF is nil")
  h.eq(o:read("a", 5), "", "read('a') at EOF is ''")
  h.eq(p:wait(5), 0, "cat exited")
  p:close()
  -- read('a') and the taken pipe is not seen by communicate
  p = assert(P.spawn("printf abc; printf err >&2", { stdout = true, stderr = true }))
  h.eq(p:stdout():read("a", 5), "abc", "read all")
  local out, err = p:communicate(nil, 5)
  h.eq(out, "", "stdout was taken")
  h.eq(err, "err", "stderr still collected")
  h.fails(E.ENOENT, nil, p:pipe(5))
  p:close()
  -- writing to a child that does not read: ECLOSED, not SIGPIPE
  p = assert(P.spawn({ "true" }, { stdin = true }))
  local w = p:stdin()
  p:wait(5)
  local r, msg, code, errno, n = w:write(string.rep("x", 100000), 2)
  h.eq(r, nil, "write failed")
  h.eq(code, E.ECLOSED, "ECLOSED: " .. tostring(msg))
  h.eq(n, 0, "nothing written")
  h.eq(errno, 32, "EPIPE")
  w:close()
  p:close()
  -- close_fd sends EOF without taking the pipe
  p = assert(P.spawn("cat; echo end", { stdin = true, stdout = true }))
  h.eq(p:close_fd(0), true, "close stdin")
  h.eq(p:communicate(nil, 5), "end\n", "cat saw EOF")
  h.fails(E.ENOENT, nil, p:close_fd(0))
  p:close()
  -- a write that cannot finish in time reports how much went
  p = assert(P.spawn("sleep 5", { stdin = true }))
  w = p:stdin()
  t0 = h.now()
  r, msg, code, errno, n = w:write(string.rep("x", 1000000), 0.2)
  h.eq(r, false, "write timed out")
  h.eq(code, E.ETIMEDOUT, "ETIMEDOUT")
  h.ok(n > 0 and n < 1000000, "partly written: " .. tostring(n))
  h.ok(h.now() - t0 < 3, "kept its timeout")
  p:kill()
  w:close()
  p:close()
end

function T.standalone_pipes_keep_their_timeouts()
  -- new pipes are blocking for children; reading them here must still time out
  local r, w = assert(lipc.pipe.new())
  local t0 = h.now()
  h.fails(E.ETIMEDOUT, false, r:read(10, 0.1))
  h.ok(h.now() - t0 < 2, "read kept its timeout on a pipe made blocking")
  h.eq(w:write("hi"), true, "write")
  h.eq(r:read(10, 1), "hi", "read")
  w:close()
  h.eq(r:read(10, 1), nil, "EOF")
  r:close()
end

-- lipc_fd_read and lipc_fd_write keep their deadlines on BLOCKING fds too
-- (a regression test: they once read before polling and wrote the whole
-- rest after one POLLOUT). Called in a child with a time limit, so a
-- regression fails instead of hanging the suite.
function T.fd_read_write_keep_timeouts_on_blocking_fds()
  local code = [[
    local ffi = require "ffi"
    local lipc = require "lipc"
    pcall(ffi.cdef, "int pipe(int fds[2]);")
    local fds, n = ffi.new("int[2]"), ffi.new("size_t[1]")
    assert(ffi.C.pipe(fds) == 0)
    local what = ...
    if what == "read" then
      local buf = ffi.new("char[16]")
      io.write("rc ", lipc.C.lipc_fd_read(fds[0], buf, 16, 200, n), "\n")
    else
      local s = string.rep("x", 100000)
      io.write("rc ", lipc.C.lipc_fd_write(fds[1], s, #s, 200, n), " wrote ", tonumber(n[0]), "\n")
    end
  ]]
  local bad, procs = {}, {}
  for i, what in ipairs({ "read", "write" }) do
    local c = "local f = assert(loadstring(" .. ("%q"):format(code) .. ")); f(" .. ("%q"):format(what) .. ")"
    procs[i] = assert(P.spawn("exec " .. h.luajit_cmd(c), { stdout = true }))
  end
  local t0 = h.now()
  for i, what in ipairs({ "read", "write" }) do
    local p = procs[i]
    local out, _, rc = p:communicate(nil, math.max(0.1, 2 - (h.now() - t0)))
    if rc == E.ETIMEDOUT then
      p:kill()
      bad[#bad + 1] = ("lipc_fd_%s(blocking pipe fd, timeout 200 ms) still blocked after 2 s"):format(what)
    else
      h.ok(out and out:find("rc " .. E.ETIMEDOUT, 1, true) == 1, what .. ": " .. tostring(out))
    end
    p:wait(5)
    p:close()
  end
  if #bad > 0 then error(table.concat(bad, "; "), 0) end
end

function T.cpu_and_rss_figures()
  local p = assert(P.spawn({ "cat" }, { stdin = true, stdout = true }))
  local info = p:info()
  h.eq(info.running, true, "running")
  h.ok(info.rss_kb and info.rss_kb > 0, "rss " .. tostring(info.rss_kb))
  h.eq(info.exit_code, nil, "no exit code while running")
  h.eq(info.pid, p:pid(), "pid")
  h.eq(info.pidfd, nil, "the table leaves the pidfd out (asking keeps it open)")
  h.ok(p:pidfd() >= 0, "pidfd()")
  h.eq(p:info("pidfd"), p:pidfd(), "pidfd by name")
  h.fails(E.EAGAIN, nil, p:info("exit_code"))
  h.raises("bad argument #1 to 'info'", p.info, p, "bogus")
  p:close_fd(0)
  h.eq(p:wait(5), 0, "exited")
  info = p:info()
  h.eq(info.running, false, "not running")
  h.eq(info.exit_code, 0, "exit code")
  h.eq(info.signal, 0, "signal")
  h.eq(info.core_dumped, false, "no core")
  h.ok(info.maxrss_kb > 0, "max rss " .. tostring(info.maxrss_kb))
  h.ok(info.utime and info.stime, "cpu times")
  h.eq(info.rss_kb, nil, "no current rss after exit")
  h.eq(p:info("maxrss_kb"), info.maxrss_kb, "one figure")
  p:close()
end

function T.wait_any_over_pipes_and_pidfds()
  local cat = assert(P.spawn({ "cat" }, { stdin = true, stdout = true }))
  local sleeper = assert(P.spawn { "sleep", "0.3" })
  local out = cat:stdout()
  local t0 = h.now()
  local r, msg, code = P.wait_any({ out, sleeper }, 0.1)
  h.fails(E.ETIMEDOUT, false, r, msg, code)
  h.ok(h.now() - t0 >= 0.099, "waited")
  cat:stdin():write("x\n")
  local ready = assert(P.wait_any({ out, sleeper }, 5))
  h.eq(#ready, 1, "one ready")
  h.eq(ready[1], out, "the pipe")
  h.eq(out:read(1, 0), "x", "read a byte; the newline stays buffered")
  ready = assert(P.wait_any({ sleeper, out }, 5))
  h.eq(ready[#ready], out, "buffered data counts as ready at once")
  out:read("l", 1)
  t0 = h.now()
  ready = assert(P.wait_any({ out, sleeper }, 5))
  h.eq(ready[1], sleeper, "the exited child")
  h.ok(h.now() - t0 < 3, "in time")
  h.eq(sleeper:wait(0), 0, "it has exited")
  -- a write end is ready for room; a raw entry works too
  local rr, ww = h.pipe()
  ready = assert(P.wait_any({ cat:stdin(), { fd = rr, read = true } }, 1))
  h.eq(ready[1], cat:stdin(), "write end has room")
  h.close_fd(rr); h.close_fd(ww)
  cat:stdin():close()
  h.eq(cat:wait(5), 0, "cat")
  cat:close(); sleeper:close()
  h.raises("attempt to use closed process", P.wait_any, { sleeper })
end

function T.prepared_attributes_are_reusable()
  local a = assert(P.prepare({ "sh", "-c", "echo $0-$X" }, { env_add = { X = "y" }, stdout = true }))
  h.eq(lipc.handle_kind(a.handle), lipc.KIND_SPAWNATTR, "kind")
  for k = 1, 3 do
    local p = assert(a:spawn())
    h.eq(p:communicate(nil, 5), "sh-y\n", "spawn " .. k)
    p:close()
  end
  a:close()
  -- a pipe object is handed over once
  local r, w = assert(P.pipe())
  a = assert(P.prepare({ "true" }, { stdout = w }))
  local p = assert(a:spawn())
  p:wait(5); p:close()
  h.raises("handed their pipes to a child already", a.spawn, a)
  a:close()
  r:close()
end

function T.pipe_read_into_and_write_from_buffers()
  local ffi = require "ffi"
  local r, w = assert(lipc.pipe.new())
  local buf = ffi.new("char[16]")
  local t0 = h.now()
  h.fails(E.ETIMEDOUT, false, r:read_into(buf, 16, 0.1))
  h.ok(h.now() - t0 >= 0.099, "waited the timeout")
  local src = ffi.new("char[6]", "ab\ncd")
  h.eq(w:write_from(src, 5), true, "write_from a pointer")
  h.eq(w:write_from("efXX", 2, 1), true, "write_from the start of a string")
  h.eq(r:read("l", 1), "ab", "a line read keeps what follows")
  h.eq(r:read_into(buf, 1, 1), 1, "kept bytes first")
  h.eq(ffi.string(buf, 1), "c", "kept byte")
  h.eq(r:read_into(buf, 16, 1), 3, "the rest of the kept bytes")
  h.eq(ffi.string(buf, 3), "def", "kept bytes in order")
  h.eq(w:write("gh"), true, "more")
  h.eq(r:read_into(buf, 16, 1), 2, "then from the pipe")
  h.eq(ffi.string(buf, 2), "gh", "pipe bytes")
  h.eq(r:read_into(buf, 0, 1), 0, "size 0")
  h.raises("bad argument #1 to 'read_into'", r.read_into, r, "x", 1)
  h.raises("bad argument #2 to 'read_into'", r.read_into, r, buf, -1)
  h.raises("bad argument #2 to 'write_from'", w.write_from, w, "ab", 3)
  h.raises("bad argument #1 to 'write_from'", w.write_from, w, {}, 1)
  w:close()
  h.eq(r:read_into(buf, 16, 1), 0, "0 at end of file")
  r:close()
  h.raises("attempt to use closed pipe", r.read_into, r, buf, 1)
  -- no reader: ECLOSED with the count written
  r, w = assert(lipc.pipe.new())
  r:close()
  local ok, _, code, _, n = w:write_from("abc", 3, 1)
  h.eq(ok, nil, "failed")
  h.eq(code, E.ECLOSED, "ECLOSED")
  h.eq(n, 0, "nothing written")
  w:close()
end

function T.quote_esc_for_inside_double_quotes()
  local Q = lipc.quote
  local tricky = [[a $HOME `id` "q" back\slash \" ! 'single' end\]]
  local e = Q.esc(tricky)
  h.eq(Q.esc(tricky, "unix"), e, "unix is sh")
  h.eq(capture({ "sh", "-c", 'printf %s "' .. e .. '"' }), tricky, "sh gives back the string from inside \"...\"")
  h.eq(Q.esc("plain-text_1.0"), "plain-text_1.0", "nothing to escape")
  h.eq(Q.esc([[a\"b]], "win"), [[a\\\"b]], "win: backslashes before a quote doubled, the quote escaped")
  h.eq(Q.esc([[dir\]], "win"), [[dir\\]], "win: trailing backslashes doubled")
  h.eq(Q.esc([[a\b]], "win"), [[a\b]], "win: other backslashes kept")
  h.eq(Q.esc(12, "win"), "12", "numbers as strings")
  h.raises("bad argument #2 to 'esc'", Q.esc, "x", "cmd")
  h.raises("bad argument #1 to 'esc'", Q.esc, {})
  h.eq(P.esc, Q.esc, "lipc.proc.esc is luapower's esc: escape, not quote")
  h.eq(P.quote_arg, Q.arg, "lipc.proc.quote_arg")
end

return h.posix_only_file(T, "POSIX programs (sh, printf, sort, true), fds, signals and /proc; their Windows counterparts are in test_windows.lua")
