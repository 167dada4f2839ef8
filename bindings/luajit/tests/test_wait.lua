-- lipc.wait_fds: readiness from another process and another thread, write
-- readiness, hang-up, timeouts, and a signal interrupting the wait (EINTR is
-- returned to the caller, not retried).
local lipc = require "lipc"
local h = require "helpers"
local E = lipc.errors

-- Runs f(r, w) with a fresh pipe, closing both ends afterwards.
local function with_pipe(f)
  local r, w = h.pipe()
  local ok, err = pcall(f, r, w)
  h.close_fd(r)
  h.close_fd(w)
  if not ok then error(err, 0) end
end

local T = {}

function T.readable_when_another_process_writes()
  with_pipe(function(r, w)
    -- The pipe from ffi pipe() has no CLOEXEC, so the shell inherits it.
    h.ok(h.sh(("(sleep 0.3; printf x > /dev/fd/%d) >/dev/null 2>&1 &"):format(w)), "spawn writer")
    local t0 = h.now()
    local ready, msg, code = lipc.wait_fds({ { fd = r, read = true } }, 5)
    local dt = h.now() - t0
    h.ok(ready, "ready: " .. tostring(msg) .. " " .. tostring(code))
    h.eq(#ready, 1, "one ready")
    h.eq(ready[1].fd, r, "the read end")
    h.eq(ready[1].readable, true, "readable")
    h.ok(dt > 0.1 and dt < 4, ("it waited for the writer (%.3fs)"):format(dt))
  end)
end

function T.readable_when_another_thread_writes()
  local sh = h.sighelper()
  with_pipe(function(r, w)
    h.eq(sh.sh_write_after(w, 150), 0, "start writer thread")
    local t0 = h.now()
    local ready = assert(lipc.wait_fds({ { fd = -1, read = true }, { fd = r, read = true } }, 5))
    local dt = h.now() - t0
    h.eq(#ready, 1, "only the real fd")
    h.eq(ready[1].fd, r, "read end ready")
    h.ok(dt >= 0.14 and dt < 4, ("waited for the thread (%.3fs)"):format(dt))
  end)
end

function T.writable_and_results_on_every_entry()
  with_pipe(function(r, w)
    local er, ew = { fd = r, read = true }, { fd = w, write = true, tag = "mine" }
    local ready = assert(lipc.wait_fds({ er, ew }, 1))
    h.eq(#ready, 1, "only the write end")
    h.eq(ready[1], ew, "the caller's own entry table comes back")
    h.eq(ew.tag, "mine", "caller's fields kept")
    h.eq(ew.writable, true, "writable")
    h.eq(ew.readable, false, "not readable")
    h.eq(ew.revents, lipc.WAIT_WRITE, "revents bits")
    h.eq(er.revents, 0, "the non-ready entry is reset")
    h.eq(er.readable, false, "not readable yet")
  end)
end

function T.hangup_is_reported()
  local r, w = h.pipe()
  h.close_fd(w)
  local ready = assert(lipc.wait_fds({ { fd = r, read = true } }, 1))
  h.close_fd(r)
  h.eq(ready[1].hup, true, "hup")
  h.eq(ready[1].readable, true, "hup counts as readable (end of file)")
end

function T.timeout_returns_etimedout_after_the_time()
  with_pipe(function(r)
    local t0 = h.now()
    local msg = h.fails(E.ETIMEDOUT, nil, lipc.wait_fds({ { fd = r, read = true } }, 0.2))
    local dt = h.now() - t0
    h.ok(dt >= 0.2, ("elapsed %.4fs >= 0.2s"):format(dt))
    h.ok(dt < 3, ("elapsed %.4fs is not far beyond"):format(dt))
    h.ok(msg:find("timed out", 1, true), "message: " .. msg)
    -- 0 polls once; a tiny positive time still waits (rounded up to 1 ms).
    h.fails(E.ETIMEDOUT, nil, lipc.wait_fds({ { fd = r, read = true } }, 0))
    h.fails(E.ETIMEDOUT, nil, lipc.wait_fds({ { fd = r, read = true } }, 1e-6))
  end)
end

function T.empty_list_is_a_sleep()
  local t0 = h.now()
  h.fails(E.ETIMEDOUT, nil, lipc.wait_fds({}, 0.05))
  h.ok(h.now() - t0 >= 0.05, "slept")
end

function T.signal_interrupts_with_eintr()
  local sh = h.sighelper()
  h.eq(sh.sh_install(), 0, "install SIGUSR1 handler")
  local ok, err = pcall(with_pipe, function(r)
    local hits = sh.sh_hits()
    h.eq(sh.sh_signal_me_every(100, 40), 0, "start signaller")
    local t0 = h.now()
    local msg = h.fails(E.EINTR, nil, lipc.wait_fds({ { fd = r, read = true } }, 5))
    local dt = h.now() - t0
    sh.sh_stop()
    h.ok(dt < 2.5, ("returned promptly (%.3fs), not at the timeout"):format(dt))
    h.ok(sh.sh_hits() > hits, "our handler ran")
    h.ok(msg:find("interrupted", 1, true), "message: " .. msg)
  end)
  sh.sh_stop() -- joins the signaller, so nothing arrives after the restore
  sh.sh_restore()
  if not ok then error(err, 0) end
end

function T.misuse_raises()
  h.raises("bad argument #1 to 'wait_fds'", lipc.wait_fds, "x")
  h.raises("bad argument #1 to 'wait_fds'", lipc.wait_fds, { { fd = "0" } })
  h.raises("bad argument #1 to 'wait_fds'", lipc.wait_fds, { 3 })
  h.raises("bad argument #2 to 'wait_fds'", lipc.wait_fds, {}, "1")
  h.raises("bad argument #2 to 'wait_fds'", lipc.wait_fds, {}, 0 / 0)
end

return h.posix_only_file(T, "pipes made with libc pipe(), signals and threads from a C helper", { misuse_raises = true, empty_list_is_a_sleep = true })
