-- Loads the smoke DLL (arg[1]) with LuaJIT's FFI, as the LuaJIT binding loads
-- lipc.dll, and calls both exports.
local ffi = require("ffi")
ffi.cdef[[
int smoke_go_add(int a, int b);
int smoke_c_twice(int a);
]]
local lib = ffi.load(assert(arg[1], "usage: smoke.lua DLL"))
local sum, dbl = lib.smoke_go_add(2, 3), lib.smoke_c_twice(21)
assert(sum == 5 and dbl == 42, ("luajit: wrong answers: %d %d"):format(sum, dbl))
print("luajit: ok (" .. jit.version .. " " .. jit.os .. "/" .. jit.arch .. ")")
