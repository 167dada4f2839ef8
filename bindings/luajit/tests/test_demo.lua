-- The examples that cross languages run and say what they exchanged:
-- examples/ring_demo.lua (a C and a Python producer, this binding consuming
-- through lipc shared memory, semaphores and a mutex).
local lipc = require "lipc"
local h = require "helpers"

local T = {}

function T.ring_demo_exchanges_records_with_c_and_python()
  local b = h.binding_dir
  local cmd = ("env LUA_PATH=%s LIPC_LIBRARY=%s %s %s 2>&1"):format(
    h.q(b .. "/?.lua;" .. b .. "/?/init.lua;;"), h.q(h.abs(lipc.library_path)),
    os.getenv("LUAJIT") or "luajit", h.q(b .. "/examples/ring_demo.lua"))
  local p = assert(io.popen(cmd .. "; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  h.ok(out:find("exit=0\n", 1, true), "demo exit status 0:\n" .. out)
  h.ok(out:find("12 records from C through a ring of 4 slots (head 12, tail 12), sum 117.0, producer exit 0, order kept",
                1, true), "C exchange:\n" .. out)
  h.ok(out:find('record 12 from C pid %d+: value  18.0 "C says hello #12" %(last%)'), "last C record")
  local py = out:find("12 records from Python through a ring", 1, true)
  local skipped = out:find("Python producer skipped", 1, true)
  h.ok(py or skipped, "Python exchange or a reason it was skipped:\n" .. out)
  if py then h.ok(out:find("sum 195.0, producer exit 0, order kept", 1, true), "Python exchange:\n" .. out) end
end

return h.posix_only_file(T, "the ring demo runs with its C (cc) and Python peers through sh")
