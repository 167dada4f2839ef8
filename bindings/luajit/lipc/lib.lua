-- Loads lipc once and returns { C = <ffi namespace>, path = <what loaded> }.
-- Lookup order (the same in every lipc binding): $LIPC_LIBRARY, a copy
-- beside the binding (bindings/luajit/liblipc.so), the copy a rock installed:
-- module "lipc.liblipc" on package.cpath (luarocks puts it in the tree's
-- lib/lua/5.1/lipc/liblipc.so), the build tree (<repo>/build/liblipc.so,
-- found relative to this file), then the system loader ("liblipc.so.0",
-- then "liblipc.so").
-- On Windows the library is lipc.dll and the same places are searched for
-- it: $LIPC_LIBRARY, bindings/luajit/lipc.dll, the rock's copy (module
-- "lipc.lipc" on package.cpath: <tree>/lib/lua/5.1/lipc/lipc.dll), the build
-- tree (<repo>/build/windows/lipc.dll), then LoadLibrary's own search
-- ("lipc.dll": the directory of the .exe, the system directories, the PATH).
-- $LIPC_LIBRARY is strict: when it is set (non-empty) and that file does not
-- load as lipc, loading fails with an error naming it; an explicit choice is
-- never silently replaced by another copy of the library. The library can never be
-- unloaded (its Go runtime marks it NODELETE; a Go DLL is never freed on
-- Windows either), and the namespace is kept in this module's upvalue so
-- LuaJIT never collects it either.
local ffi = require "ffi"

ffi.cdef(require "lipc.cdef")

local windows = ffi.os == "Windows"

-- Directory of this file: "@.../bindings/luajit/lipc/lib.lua" -> ".../bindings/luajit/lipc"
-- (on Windows the path may use either separator).
local function here()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) ~= "@" then return nil end
  local dir = src:sub(2):match(windows and "^(.*)[/\\][^/\\]*$" or "^(.*)/[^/]*$")
  return dir or "."
end

local tried = {}

local function candidates()
  local list = {}
  local env = os.getenv("LIPC_LIBRARY")
  if env and env ~= "" then return { env }, true end -- strict: nothing else
  local dir = here()
  local file = windows and "lipc.dll" or "liblipc.so"
  if dir then list[#list + 1] = dir .. "/../" .. file end -- shipped beside the binding
  -- What `luarocks make` / `luarocks install` put into the rocks tree.
  local mod = windows and "lipc.lipc" or "lipc.liblipc"
  local rock = package.searchpath(mod, package.cpath)
  if rock then
    list[#list + 1] = rock
  else
    tried[#tried + 1] = "  package.cpath (lipc/" .. file .. "): not found"
  end
  if dir then -- the repository's build tree
    list[#list + 1] = dir .. (windows and "/../../../build/windows/lipc.dll" or "/../../../build/liblipc.so")
  end
  if windows then
    list[#list + 1] = "lipc.dll" -- LoadLibrary's search: the .exe's directory, system, PATH
  else
    list[#list + 1] = "liblipc.so.0" -- the system loader
    list[#list + 1] = "liblipc.so"
  end
  return list, false
end

local C, path -- module-level upvalues: the namespace must outlive every caller
local list, explicit = candidates()
for _, p in ipairs(list) do
  local ok, lib = pcall(ffi.load, p)
  -- Probe a symbol (llvmlite style): a file named liblipc.so that is not
  -- lipc should be refused here, not crash at the first call.
  if ok and pcall(function() return lib.lipc_version end) then
    C, path = lib, p
    break
  end
  local why = ok and "no lipc_version symbol" or tostring(lib)
  if why:sub(1, #p + 2) == p .. ": " then why = why:sub(#p + 3) end -- dlerror repeats the path
  tried[#tried + 1] = "  " .. p .. ": " .. why
end
if not C and explicit then
  error("lipc: cannot load LIPC_LIBRARY=" .. list[1] .. ": " .. tried[1]:sub(#list[1] + 5)
    .. "\n  (an explicit choice: no other place was tried; unset LIPC_LIBRARY to search"
    .. " beside the binding, the build tree and the system loader)", 0)
elseif not C then
  error("lipc: cannot load liblipc; tried (set LIPC_LIBRARY to the library's path):\n"
    .. table.concat(tried, "\n"), 0)
end

return { C = C, path = path }
