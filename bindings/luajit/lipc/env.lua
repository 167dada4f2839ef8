-- The process environment: the live C environ that this process's getenv
-- (os.getenv included), lipc's children and the host's other C code see.
-- Like setenv itself, not safe against another thread reading the
-- environment at the same moment.
--
--   env.get(name)          -> value | nil, msg, code, errno  (ENOENT: unset)
--   env.set(name, value)   -> true | nil, msg, code, errno   (value: string or number;
--                                                             false unsets)
--   env.unset(name)        -> true | nil, msg, code, errno   (no error if unset)
--   env.list()             -> { NAME = value, ... } | nil, msg, code, errno
--   env()                  -> env.list()        luapower proc.env style calls:
--   env(name)              -> env.get(name)
--   env(name, value)       -> env.set(name, value); env(name, false) unsets
-- A name that is empty or holds '=' fails with EINVAL (from C); a name or
-- value that is not a string, or holds a NUL byte, raises.
local ffi = require "ffi"
local C = require("lipc.lib").C
local errors = require "lipc.errors"
local util = require "lipc.util"

local env_get, env_set, env_unset, env_list = C.lipc_env_get, C.lipc_env_set, C.lipc_env_unset, C.lipc_env_list
local lipc_free = C.lipc_free
local check, fail, check_cstring = errors.check, errors.fail, errors.check_cstring

local env = {}

function env.get(name)
  return util.out_string(env_get, check_cstring(name, 1, "get", "name"))
end

function env.unset(name)
  return check(env_unset(check_cstring(name, 1, "unset", "name")))
end

function env.set(name, value)
  check_cstring(name, 1, "set", "name")
  if value == false then return check(env_unset(name)) end
  return check(env_set(name, check_cstring(value, 2, "set", "value")))
end

local blockp = ffi.new("char *[1]")
local lenp = ffi.new("size_t[1]")

function env.list()
  blockp[0] = nil
  local rc = env_list(blockp, lenp)
  if rc < 0 then return fail(rc) end
  local block = blockp[0]
  local s = ffi.string(block, lenp[0])
  lipc_free(block)
  local t = {}
  for entry in s:gmatch("([^%z]*)%z") do
    local k, v = entry:match("^([^=]*)=(.*)$")
    if k and k ~= "" then t[k] = v end
  end
  return t
end

return setmetatable(env, {
  __call = function(_, name, value)
    if name == nil then return env.list() end
    if value == nil then return env.get(name) end
    return env.set(name, value)
  end,
})
