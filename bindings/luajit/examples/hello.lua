-- hello.lua - lipc loaded from LuaJIT: the version, how calls reach the Go
-- runtime, and the library's diagnostic figures.
--   LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' luajit bindings/luajit/examples/hello.lua
local lipc = require "lipc"

local modes = { [lipc.CALL_DIRECT] = "direct", [lipc.CALL_HANDOFF] = "handoff" }
print(("LuaJIT: lipc %s from %s"):format(lipc.version(), lipc.library_path))
print(("LuaJIT: call mode %s; host RLIMIT_NOFILE %d; FP self-test %d; Go work on a lipc thread: %s")
  :format(modes[lipc.diag("call_mode")] or "?", lipc.diag("host_nofile"), lipc.diag("fp_selftest"),
          lipc.diag("go_thread") == 1 and "yes" or "no"))
print(("LuaJIT: threads wrapped %d, stack lookups %d, live handles %d")
  :format(lipc.diag("threads_wrapped"), lipc.diag("stack_lookups"), lipc.diag("live_handles")))
