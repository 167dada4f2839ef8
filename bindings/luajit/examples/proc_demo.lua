-- proc_demo.lua - a two-stage pipeline whose pipe goes from child to child
-- (never through this process), and a child under a memory limit that fails
-- and is reported with its exit status, CPU time and peak memory.
--   LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' luajit bindings/luajit/examples/proc_demo.lua
local lipc = require "lipc"
local proc = lipc.proc

-- printf 'pear\napple\nfig\n' | sort
local r, w = assert(proc.pipe())
local producer = assert(proc.spawn({ "printf", "pear\\napple\\nfig\\n" }, { stdout = w }))
local sorter = assert(proc.spawn({ "sort" }, { stdin = r, stdout = true }))
local sorted = assert(sorter:communicate(nil, 5))
assert(producer:wait(5) == 0 and sorter:wait(5) == 0)
print(("LuaJIT: pipeline printf (pid %d) | sort (pid %d) gave: %s")
  :format(producer:pid(), sorter:pid(), (sorted:gsub("\n", " "))))
producer:close()
sorter:close()

-- a child that wants 300 MB under a 100 MiB address-space limit
local p = assert(proc.spawn("x=$(head -c 300000000 /dev/zero | tr '\\0' x); echo got ${#x}", {
  rlimits = { as = 100 * 2^20 }, stdout = true, stderr = "null",
}))
local out = assert(p:communicate(nil, 30))
local code, sig = p:wait(0)
local info = p:info()
print(("LuaJIT: memory-limited child (RLIMIT_AS 100 MiB): %s, cpu %.3f s, max RSS %d KiB%s")
  :format(sig ~= 0 and ("killed by SIG" .. (proc.signame(sig) or sig)) or ("exit code " .. code),
          info.utime + info.stime, info.maxrss_kb, out ~= "" and (", said: " .. out:gsub("\n", "")) or ""))
p:close()

-- input in, output and status out, with a deadline
local res = assert(proc.run { "tr", "a-z", "A-Z", input = "lipc from luajit\n", timeout = 5 })
print(("LuaJIT: run tr a-z A-Z -> %q, exit code %d"):format((res.stdout:gsub("\n$", "")), res.code))
local _, msg, errcode, _, partial = proc.run { "sh", "-c", "echo started; exec sleep 10", timeout = 0.2 }
print(("LuaJIT: run with a 0.2 s timeout -> %s (%s); kept output %q, then SIG%s")
  :format(msg, lipc.error_name(errcode), (partial.stdout:gsub("\n$", "")), proc.signame(partial.signal) or "?"))

os.exit((code ~= 0 or sig ~= 0) and 0 or 1) -- the limit must have stopped it
