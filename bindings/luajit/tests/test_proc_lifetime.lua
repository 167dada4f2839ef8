-- lipc.proc: what a finished process keeps. A reaped child holds no fd:
-- its status and figures are cached, its pidfd closed unless it was asked
-- for. (Closing while another thread waits needs threads: tests/c and the
-- Python binding cover it.)
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E, P = lipc.errors, lipc.proc

ffi.cdef "long readlink(const char *path, char *buf, size_t size);"
local link = ffi.new("char[64]")

-- The pidfds this process holds. Only those: the Go runtime inside lipc
-- opens an epoll fd and an eventfd of its own the first time it needs a
-- timer (its garbage collector may, at any moment), which would make a
-- count of all fds flaky.
local function pidfds()
  local t = {}
  for _, fd in ipairs(h.fds()) do
    local n = ffi.C.readlink("/proc/self/fd/" .. fd, link, 64)
    if n > 0 and ffi.string(link, n) == "anon_inode:[pidfd]" then t[#t + 1] = fd end
  end
  return t
end

local T = {}

function T.finished_processes_hold_no_fds()
  collectgarbage()
  local n0 = #pidfds()
  local ps = {}
  for i = 1, 1000 do
    local p = assert(P.spawn { "/bin/true" })
    h.eq(p:wait(5), 0, "exit " .. i)
    ps[i] = p
  end
  local held = #pidfds() - n0
  h.eq(held, 0, "pidfds held by 1000 finished processes")
  local p = ps[1]
  h.eq(p:wait(0), 0, "the status again")
  local info = p:info()
  h.eq(info.running, false, "not running")
  h.eq(info.exit_code, 0, "exit code")
  h.ok(info.maxrss_kb > 0 and info.utime, "figures kept")
  h.fails(E.ENOENT, nil, p:kill("TERM"))
  h.fails(E.ENOENT, nil, p:pidfd())
  for i = 1, #ps do ps[i]:close() end
  h.eq(#pidfds(), n0, "all closed")
end

function T.a_pidfd_asked_for_stays_until_close()
  local p = assert(P.spawn { "/bin/true" })
  local fd = assert(p:pidfd())
  h.eq(p:wait(5), 0, "exited")
  h.eq(p:pidfd(), fd, "the same pidfd after the reap")
  local ready = assert(lipc.wait_fds({ { fd = fd, read = true } }, 0))
  h.eq(#ready, 1, "readable")
  p:close()
  local open = false
  for _, f in ipairs(pidfds()) do open = open or f == fd end
  h.eq(open, false, "closed with the process")
end

function T.wait_any_with_a_reaped_process()
  local p = assert(P.spawn { "/bin/true" })
  h.eq(p:wait(5), 0, "reaped before its pidfd was asked for")
  local ready = assert(P.wait_any({ p }, 5))
  h.eq(ready[1], p, "ready at once")
  p:close()
end

return h.posix_only_file(T, "POSIX programs (sh, printf, sort, true), fds, signals and /proc; their Windows counterparts are in test_windows.lua")
