-- Windows only: a luajit.exe that ffi.load'ed lipc.dll and wrote to stdout
-- without flushing keeps its output at exit. lua_close frees every
-- ffi.load'ed library before the C runtime flushes stdout; lipc.dll pins
-- itself at load (include/lipc.h, Loading), so that FreeLibrary leaves it
-- mapped and its Go threads and callbacks cannot fault in a freed image
-- (they did: the process died, sometimes before its output was written).
-- The child runs through io.popen (cmd.exe), in a `&&` chain as reported.
local h = require "helpers"

local T = {}

local child_code = [[
local ffi = require "ffi"
ffi.cdef [=[
void *GetModuleHandleA(const char *name);
const char *lipc_version(void);
]=]
local lib = ffi.load(os.getenv("LIPC_LIBRARY"))
local ver = ffi.string(lib.lipc_version())
lib = nil
collectgarbage() -- the clib's finalizer: FreeLibrary
collectgarbage()
local pinned = ffi.C.GetModuleHandleA("lipc.dll") ~= nil
io.write("version=", ver, " pinned=", tostring(pinned), " done\n") -- no flush
]]

function T.unflushed_output_survives_unload_and_exit()
  local script = h.tmpdir() .. "\\unload_child.lua"
  local f = assert(io.open(script, "wb"))
  f:write(child_code)
  f:close()
  -- cmd /c drops the outer quotes of a line that starts with one
  local p = assert(io.popen('""' .. h.luajit_exe() .. '" "' .. script .. '" && echo chain-went-on"'))
  local out = p:read("*a")
  p:close()
  h.ok(out:match("version=%S+ pinned=true done"), "the child's unflushed output, lipc.dll still loaded: " .. out)
  h.ok(out:match("chain%-went%-on"), "the child exited 0 and the chain went on: " .. out)
end

if not h.windows then
  for name in pairs(T) do T[name] = function() h.skip("Windows only") end end
end
return T
