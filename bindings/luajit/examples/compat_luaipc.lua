-- compat_luaipc.lua - a program written for LuaIPC (siffiejoe's lua-luaipc),
-- unchanged, running on lipc through the ipc.* compatibility modules.
--
-- It starts itself as a producer process (with ipc.proc, the way LuaIPC's
-- own tests run their worker scripts), which sends five messages through a
-- shared memory segment guarded by two semaphores; then two processes
-- increment a counter file under ipc.filelock; ipc.strfile parses the
-- producer's report.
--   LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' luajit bindings/luajit/examples/compat_luaipc.lua
local shm = require( "ipc.shm" )
local sem = require( "ipc.sem" )
local proc = require( "ipc.proc" )
local filelock = require( "ipc.filelock" )
local strfile = require( "ipc.strfile" )

-- the Lua interpreter running this script, as LuaIPC's proctest.lua finds it
local lua_command, i = arg[ -1 ], -2
while arg[ i ] ~= nil do
  lua_command, i = arg[ i ], i - 1
end
local script = arg[ 0 ]
local role = arg[ 1 ]
local tag = tostring( os.time() ) .. tostring( {} ):match( "0x(%x+)" )
local SLOT = 64

if role == "producer" then
  local name = arg[ 2 ]
  local mem = assert( shm.attach( name ) )
  local full = assert( sem.open( name .. "-full" ) )
  local free = assert( sem.open( name .. "-free" ) )
  for n = 1, 5 do
    assert( free:dec( 10 ), "consumer too slow" )
    assert( mem:seek( "set", ((n - 1) % 2) * SLOT ) )
    assert( mem:write( ("message %d of 5\n"):format( n ) ) )
    assert( full:inc() )
  end
  io.write( "sent=5\nslots=2\n" )
  return
elseif role == "counter" then
  local f = assert( io.open( arg[ 2 ], "r+" ) )
  for _ = 1, 20 do
    assert( filelock.lock( f, "w" ) )
    f:seek( "set" )
    local n = tonumber( f:read( "*a" ) ) or 0
    f:seek( "set" )
    f:write( tostring( n + 1 ) )
    assert( filelock.unlock( f ) )
  end
  f:close()
  return
end

-- consumer: a segment of two slots, "free" counts empty slots, "full" filled ones
local name = "compat-luaipc-" .. tag
local mem = assert( shm.create( name, 2 * SLOT ) )
local full = assert( sem.open( name .. "-full", 1 ) )
assert( full:dec( 0 ) ) -- semaphores are created with n >= 1
local free = assert( sem.open( name .. "-free", 2 ) )

local report = {}
local h = assert( proc.spawn( lua_command .. " " .. script .. " producer " .. name, {
  stdout = true,
  callback = function( stream, data, msg, errno )
    if data then report[ #report + 1 ] = data
    else io.stderr:write( "ERROR ", tostring( msg ), " ", tostring( errno ), "\n" ) end
  end,
} ) )

local got = {}
for n = 1, 5 do
  assert( full:dec( 10 ), "producer too slow" )
  mem:seek( "set", ((n - 1) % 2) * SLOT )
  got[ n ] = mem:read( "*l" )
  assert( free:inc() )
end
local ok, what, code = h:wait()
print( ("consumer got %d messages through shm %q: %s ... %s"):format( #got, name, got[ 1 ], got[ #got ] ) )
print( ("producer finished: %s %s %s"):format( tostring( ok ), what, tostring( code ) ) )

-- the producer's report, read back with the file methods of ipc.strfile
local rf = strfile.open( table.concat( report ) )
for line in rf:lines() do
  local k, v = line:match( "^(%w+)=(%w+)$" )
  print( ("  producer report: %s = %s"):format( k, v ) )
end
rf:close()
full:close()
free:close()
mem:close()
print( ("after the owner closed it, attach says: %s"):format( select( 2, shm.attach( name ) ) ) )

-- two processes add 20 each to a counter file, under an exclusive lock
local path = os.tmpname()
local f = assert( io.open( path, "w" ) )
f:write( "0" )
f:close()
local workers = {}
for w = 1, 2 do
  workers[ w ] = assert( proc.spawn( lua_command .. " " .. script .. " counter " .. path, {} ) )
end
for w = 1, 2 do assert( workers[ w ]:wait() ) end
f = assert( io.open( path, "r" ) )
print( ("counter after 2 processes x 20 locked increments: %s"):format( f:read( "*a" ) ) )
f:close()
os.remove( path )
