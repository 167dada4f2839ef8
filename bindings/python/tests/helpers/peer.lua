-- The LuaJIT side of test_cross_language.py (run with LUA_PATH set to the
-- LuaJIT binding). One role per run; prints one line per step.
--   peer.lua sem-wait NAME SECONDS     print "WAITING", then "GOT" or "NO <msg>"
--   peer.lua shm-read NAME OFFSET LEN  print the bytes as hex
--   peer.lua shm-write NAME OFFSET TEXT
--   peer.lua mutex-try NAME SECONDS    print "GOT" (then unlock) or "BUSY"
--   peer.lua event-set NAME
local lipc = require "lipc"
local role, name = arg[1], arg[2]

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

if role == "sem-wait" then
  local s = assert(lipc.sem.open(name))
  print("WAITING")
  io.stdout:flush()
  local ok, msg = s:wait(tonumber(arg[3]))
  print(ok and "GOT" or ("NO " .. tostring(msg)))
  s:close()
elseif role == "shm-read" then
  local s = assert(lipc.shm.open(name))
  print(hex(s:read_at(tonumber(arg[3]), tonumber(arg[4]))))
  s:close()
elseif role == "shm-write" then
  local s = assert(lipc.shm.open(name))
  s:write_at(tonumber(arg[3]), arg[4])
  print("WROTE")
  s:close()
elseif role == "mutex-try" then
  local m = assert(lipc.mutex.open(name))
  local ok, msg = m:lock(tonumber(arg[3]))
  if ok then
    print("GOT")
    m:unlock()
  else
    print("BUSY " .. tostring(msg))
  end
  m:close()
elseif role == "event-set" then
  local e = assert(lipc.event.open(name))
  assert(e:set())
  print("SET")
  e:close()
else
  io.stderr:write("unknown role ", tostring(role), "\n")
  os.exit(2)
end
