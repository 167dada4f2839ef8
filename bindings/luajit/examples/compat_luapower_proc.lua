-- compat_luapower_proc.lua - a program written for luapower's proc module,
-- unchanged, running on lipc through bindings/luajit/proc.lua.
--
-- It sets an environment variable for a child, talks to it through pipes
-- (luapower fs-style reads into a buffer), reads its exit code, kills a
-- sleeper and follows its status, runs a Lua script with exec_luafile and
-- quotes arguments for a shell.
--   LUA_PATH='bindings/luajit/?.lua;bindings/luajit/?/init.lua;;' luajit bindings/luajit/examples/compat_luapower_proc.lua
local proc = require'proc'
local ffi = require'ffi'

local function readall(f)
	local buf = ffi.new('char[?]', 4096)
	local t = {}
	while true do
		local len = assert(f:read(buf, 4096))
		if len == 0 then break end --zero-length read: the child closed its end.
		t[#t+1] = ffi.string(buf, len)
	end
	return table.concat(t)
end

--env. vars: only read them back with proc.env(), uppercase names.
proc.env('DEMO_GREETING', 'hello from the parent')

local p = assert(proc.exec{
	cmd = {'/bin/sh', '-c', 'echo "$DEMO_GREETING"; read x; echo "child read: $x"; exit 7'},
	stdin = true,
	stdout = true,
	autokill = true,
})
assert(p.stdin:write'some input\n')
p.stdin:close() --signal end-of-input to the child.
local out = readall(p.stdout)
print('child said: '..out:gsub('\n$', ''):gsub('\n', ' / '))
print('exit code: '..p:wait(1/0))
p:forget() --always forget, even after the process ended.
proc.env('DEMO_GREETING', false)
print('DEMO_GREETING after delete: '..tostring(proc.env'DEMO_GREETING'))

--kill a process and follow its status.
local sleeper = assert(proc.exec'sleep 30')
local before = sleeper:status()
assert(sleeper:kill())
sleeper:wait(1/0)
print(('sleeper: %s -> %s (exit_code: %s, %s)'):format(before, sleeper:status(), sleeper:exit_code()))
sleeper:forget()

--a program that is not there.
print('missing program: '..select(2, proc.exec'/nonexistent/program'))

--a Lua script run with the same LuaJIT.
local script = os.tmpname()
local f = assert(io.open(script, 'w'))
f:write'io.write(("%d * %d = %d"):format(6, 7, 6 * 7)) os.exit(0)'
f:close()
local lp = assert(proc.exec_luafile{script = script, stdout = true})
print('lua script said: '..readall(lp.stdout)..' (exit code '..lp:wait(1/0)..')')
lp:forget()
os.remove(script)

--quoting for a command line.
local arg = [[it's $5 "quoted"]]
print('quote_arg unix: '..proc.quote_arg(arg, 'unix'))
print('quote_arg win:  '..proc.quote_arg(arg, 'win'))
local echo = assert(proc.exec{cmd = {'/bin/sh', '-c', 'printf %s '..proc.quote_arg(arg, 'unix')}, stdout = true})
print('round trip through sh: '..tostring(readall(echo.stdout) == arg))
echo:wait(1/0)
echo:forget()
