-- Handles: plain Lua numbers (the boxed-int64 pitfall), bad handles of every
-- sort rejected with EBADHANDLE (never a crash), idempotent close, and the
-- ffi.gc finalizer as a backstop that close() disarms.
local ffi = require "ffi"
local bit = require "bit"
local lipc = require "lipc"
local h = require "helpers"
local E = lipc.errors
local C = lipc.C

local function new_sem()
  return assert(lipc.sem.open(h.sem_name(), { create = true, exclusive = true }))
end

-- Every lipc entry that takes a handle must say EBADHANDLE for bad.
local function all_reject(bad, what)
  h.fails(E.EBADHANDLE, nil, lipc.close(bad))
  h.fails(E.EBADHANDLE, nil, lipc.handle_kind(bad))
  local out = ffi.new("int[1]")
  h.eq(C.lipc_sem_post(bad), E.EBADHANDLE, what .. ": sem_post")
  h.eq(C.lipc_sem_wait(bad, 0), E.EBADHANDLE, what .. ": sem_wait")
  h.eq(C.lipc_sem_value(bad, out), E.EBADHANDLE, what .. ": sem_value")
end

local T = {}

function T.handles_are_distinct_exact_numbers()
  local name = h.sem_name()
  local a = assert(lipc.sem.open(name, { create = true, exclusive = true }))
  local b = assert(lipc.sem.open(name))
  h.eq(type(a.handle), "number", "type of a handle")
  h.ok(a.handle >= 2^52 and a.handle < 2^53 and a.handle % 1 == 0, "handle in [2^52, 2^53)")
  h.ok(a.handle ~= b.handle, "two opens give two handles")
  local t = {}
  t[a.handle], t[b.handle] = "a", "b"
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  h.eq(n, 2, "distinct table keys")
  -- The same value computed another way finds the same key (cdata would not).
  h.eq(t[tonumber(ffi.new("int64_t", a.handle))], "a", "key lookup by an equal number")
  h.eq(lipc.handle_kind(a.handle), lipc.KIND_SEM, "kind")
  a:close()
  b:close()
end

function T.random_and_small_handles_are_rejected()
  for _, bad in ipairs({ 0, 1, -1, 2, 2^53, -2^53, 2^52, 2^52 + 12345, 2^52 + 2^28 + 2^20 + 77,
                         2^53 - 1, 4503599627370497 * 1.5 }) do
    all_reject(bad, "handle " .. bad)
  end
end

function T.closed_handle_is_rejected()
  local s = new_sem()
  local hnum = s.handle
  h.eq(s:close(), true, "first close")
  h.eq(s:close(), true, "second close is harmless")
  all_reject(hnum, "closed handle")
  -- Raw handles: lipc.close twice, as the header describes.
  local buf = ffi.new("lipc_handle_t[1]")
  h.eq(C.lipc_sem_open(h.sem_name(), 1, 0, 0, buf), 0, "raw open")
  local raw = tonumber(buf[0])
  h.eq(lipc.close(raw), true, "raw close")
  h.fails(E.EBADHANDLE, nil, lipc.close(raw))
end

function T.wrong_kind_handle_is_rejected()
  local s = new_sem()
  local hnum = s.handle
  h.eq(lipc.handle_kind(hnum), lipc.KIND_SEM, "kind")
  -- every bit of the generation changed: all forgeries (a slot bit changed
  -- may name another live handle)
  for b = 20, 52 do
    all_reject(tonumber(bit.bxor(ffi.new("int64_t", hnum), bit.lshift(1LL, b))), "bit " .. b)
  end
  h.eq(s:post(), true, "the real handle still works")
  h.eq(s:value(), 1, "value")
  s:close()
end

function T.use_after_close_raises()
  local s = new_sem()
  s:close()
  for _, m in ipairs({ "post", "wait", "trywait", "value" }) do
    local ok, err = pcall(function() local r = s[m](s); return r end) -- not a tail call: keeps the frame
    h.ok(not ok, m .. " after close raises")
    h.ok(err:find("attempt to use closed semaphore", 1, true), m .. ": " .. err)
    h.ok(err:find("test_handles.lua:%d+:"), m .. ": error at the caller: " .. err)
  end
  h.eq(s.handle, nil, "closed object has no handle")
  h.raises("call it as obj:method()", s.post)
  h.raises("call it as obj:close()", s.close)
  h.ok(tostring(s):find("closed", 1, true), "tostring says closed")
end

function T.raw_functions_want_numbers()
  h.raises("bad argument #1 to 'close'", lipc.close, "1")
  -- Boxed int64 is refused: it is how handles get silently wrong (F13).
  h.raises("bad argument #1 to 'handle_kind'", lipc.handle_kind, ffi.new("int64_t", 2^52))
end

function T.finalizer_closes_a_forgotten_object()
  collectgarbage("collect")
  collectgarbage("collect")
  local before = lipc.diag("live_handles")
  do
    new_sem()
    new_sem()
  end
  h.eq(lipc.diag("live_handles"), before + 2, "two open")
  collectgarbage("collect")
  collectgarbage("collect")
  h.eq(lipc.diag("live_handles"), before, "the finalizers closed them")
end

function T.close_disarms_the_finalizer()
  -- twice, as below: what earlier tests left (a finalized object can hold
  -- others that only the next cycle collects) must be gone before counting
  collectgarbage("collect")
  collectgarbage("collect")
  local before = lipc.diag("live_handles")
  do
    local s = new_sem()
    s:close()
  end
  -- Set a known last error; a second close by a still-armed finalizer would
  -- replace it with a different handle's message.
  lipc.close(1)
  local msg = ffi.string(C.lipc_last_error())
  collectgarbage("collect")
  collectgarbage("collect")
  h.eq(ffi.string(C.lipc_last_error()), msg, "no close from a disarmed finalizer")
  h.eq(lipc.diag("live_handles"), before, "live handles")
end

-- Each process draws where its handle values start (lipc.h), so a handle
-- number from another process (kept in a file, sent down a pipe) is refused
-- here instead of reaching this process's object: two fresh LuaJITs open
-- one semaphore each, first thing, and neither number is a handle here.
function T.a_handle_from_another_process_is_not_valid_here()
  local name = h.sem_name()
  local code = ([[
    local lipc = require "lipc"
    local s = assert(lipc.sem.open(%q, { create = true }))
    io.write(("%%.0f\n"):format(s.handle)) io.flush()
    s:close()
  ]]):format(name)
  local theirs = {}
  for i = 1, 2 do
    local p, line = h.spawn_luajit(code)
    theirs[i] = tonumber(line())
    p:wait(10)
  end
  local mine = assert(lipc.sem.open(name, { create = true })) -- (Windows: gone with the children's)
  h.ok(theirs[1] ~= theirs[2], "two processes' first handles differ")
  h.ok(mine.handle ~= theirs[1] and mine.handle ~= theirs[2], "this process's handle is neither")
  for i = 1, 2 do all_reject(theirs[i], "another process's handle " .. i) end
  mine:close()
  lipc.sem.unlink(name) -- (Windows: nothing to unlink)
end

return T
