-- The file-like view over memory (lipc/memfile.lua), which the LuaIPC
-- compatibility layer's shm/mmap/strfile handles are built on: LuaIPC's
-- read formats and their end-of-file rules, lines, partial writes at the
-- end, seek bounds, truncating the view, permissions, close semantics,
-- subclasses, and that nothing is ever read or written outside the view.
local ffi = require "ffi"
local lipc = require "lipc"
local h = require "helpers"
local E, memfile = lipc.errors, lipc.memfile

-- A view over a fresh buffer with a guard byte on each side.
local function buffer_view(size, opts)
  local buf = ffi.new("uint8_t[?]", size + 2)
  buf[0], buf[size + 1] = 0xAA, 0xBB
  local mf = memfile.new(buf + 1, size, opts)
  mf._test_buf = buf -- keep it alive
  return mf, buf
end

local function guards_ok(buf, size)
  return buf[0] == 0xAA and buf[size + 1] == 0xBB
end

local T = {}

function T.read_formats_and_end_of_file()
  local mf = memfile.from_string("one\r\ntwo\nthree\n\nlast")
  h.eq(mf:read(), "one", "default l strips \\r\\n")
  h.eq(mf:read("L"), "two\n", "L keeps the newline")
  h.eq(mf:read("*l"), "three", "*l")
  h.eq(mf:read("l"), "", "an empty line")
  h.eq(mf:read(2), "la", "a count")
  h.eq(mf:read(0), "", "read(0) before the end")
  h.eq(mf:read("a"), "st", "a: the rest")
  h.eq(mf:read("a"), "", "a at the end: empty string")
  h.eq(mf:read("l"), nil, "l at the end: nil")
  h.eq(mf:read(1), nil, "n at the end: nil")
  h.eq(mf:read(0), nil, "read(0) at the end: nil")
  h.eq(mf:seek("set", 0), 0, "rewind")
  h.eq(mf:read("*L"), "one\r\n", "*L keeps \\r\\n")
  local a, b, c, d = mf:read("l", 3, "a", "l")
  h.eq(a, "two"); h.eq(b, "thr"); h.eq(c, "ee\n\nlast"); h.eq(d, nil, "then nil at the end")
  mf:seek("set", 14)
  local n = select("#", mf:read("a", "l", "l"))
  h.eq(n, 2, "reading stops at the first nil")
  local lone = memfile.from_string("x\r")
  h.eq(lone:read("l"), "x\r", "a \\r without \\n is kept")
  h.eq(memfile.from_string(""):read("a"), "", "empty view: a")
  h.eq(memfile.from_string(""):read(), nil, "empty view: l")
end

function T.invalid_formats_raise()
  local mf = memfile.from_string("abc")
  h.raises("bad argument #1 to 'read' (invalid format)", mf.read, mf, "n")
  h.raises("bad argument #1 to 'read' (invalid format)", mf.read, mf, "*n")
  h.raises("bad argument #2 to 'read' (invalid format)", mf.read, mf, "l", "x")
  h.raises("bad argument #1 to 'read' (invalid format)", mf.read, mf, -1)
  h.raises("bad argument #1 to 'read' (invalid format)", mf.read, mf, 1.5)
  h.raises("bad argument #1 to 'read' (invalid format)", mf.read, mf, {})
  h.raises("bad argument #1 to 'lines' (invalid format)", mf.lines, mf, "z")
  h.eq(mf:read("a"), "abc", "nothing was consumed by the bad calls")
end

function T.lines_iterates_with_formats()
  local mf = memfile.from_string("a\nb\r\nc")
  local got = {}
  for l in mf:lines() do got[#got + 1] = l end
  h.eq(table.concat(got, "|"), "a|b|c", "lines")
  mf:seek("set")
  got = {}
  for l in mf:lines("L") do got[#got + 1] = l end
  h.eq(table.concat(got), "a\nb\r\nc", "lines L")
  mf:seek("set")
  got = {}
  for x, y in mf:lines(1, 1) do got[#got + 1] = x .. (y or "-") end
  h.eq(table.concat(got, " "), "a\n b\r \nc", "two formats per step")
end

function T.write_copies_in_place_and_partially_at_the_end()
  local mf, buf = buffer_view(10)
  h.eq(mf:write("hello", 12), mf, "write returns the view")
  h.eq(mf:seek(), 7, "position")
  local r, msg, code = mf:write("abcdef")
  h.eq(r, nil); h.eq(msg, "not enough space"); h.eq(code, E.ERANGE, "code")
  h.eq(mf:seek(), 10, "position at the end after an overflow")
  h.eq(ffi.string(buf + 1, 10), "hello12abc", "the part that fits was written")
  h.ok(guards_ok(buf, 10), "nothing written outside the view")
  h.fails(E.ERANGE, nil, mf:write("x"))
  h.eq(mf:write(""), mf, "an empty string fits at the end")
  mf:seek("set", 0)
  mf:write(1.5, " ", 1e15, " ", 3)
  h.eq(ffi.string(buf + 1, 10), "1.5 1e+15 ", "numbers as %.14g")
  h.raises("bad argument #2 to 'write' (string expected, got table)", mf.write, mf, "x", {})
  h.raises("bad argument #1 to 'write' (string expected, got nil)", mf.write, mf, nil)
end

function T.seek_bounds()
  local mf = memfile.from_string("0123456789")
  h.eq(mf:seek(), 0, "cur")
  h.eq(mf:seek("end"), 10, "end")
  h.eq(mf:seek("end", -1), 9, "end -1")
  h.eq(mf:read(1), "9", "read there")
  local r, msg, code = mf:seek("end", 1)
  h.eq(r, nil); h.eq(msg, "invalid offset"); h.eq(code, E.EINVAL, "code")
  h.fails(E.EINVAL, nil, mf:seek("set", -1))
  h.eq(mf:seek(), 10, "a failed seek does not move")
  h.eq(mf:seek("cur", -4), 6, "cur -4")
  h.eq(mf:seek("set", 3), 3, "set")
  h.raises("bad argument #1 to 'seek' (invalid option 'middle')", mf.seek, mf, "middle")
  h.raises("bad argument #2 to 'seek'", mf.seek, mf, "set", 0.5)
end

function T.truncate_shrinks_only_the_view()
  local mf, buf = buffer_view(10)
  mf:write("0123456789")
  h.eq(mf:truncate(4), true, "truncate")
  h.eq(mf:size(), 4, "size of the view")
  h.eq(mf:seek(), 4, "position clamped")
  h.fails(E.ERANGE, nil, mf:write("x"))
  mf:seek("set")
  h.eq(mf:read("a"), "0123", "reads stop at the new size")
  h.eq(ffi.string(buf + 1, 10), "0123456789", "the memory itself is untouched")
  local r, msg, code = mf:truncate(5)
  h.eq(r, nil); h.eq(msg, "new size too large"); h.eq(code, E.EINVAL, "code")
  mf:seek("set", 2)
  h.eq(mf:truncate(), true, "truncate at the position")
  h.eq(mf:size(), 2, "size")
  h.raises("bad argument #1 to 'truncate'", mf.truncate, mf, -1)
end

function T.permissions()
  local ro = memfile.from_string("data")
  local r, msg, code = ro:write("x")
  h.eq(r, nil); h.eq(msg, "permission denied"); h.eq(code, E.EPERM, "code")
  h.fails(E.EPERM, nil, ro:write_from("x", 1))
  local wo = buffer_view(4, { readable = false })
  h.fails(E.EPERM, nil, wo:read())
  h.fails(E.EPERM, nil, wo:read(1, "a"))
  h.fails(E.EPERM, nil, wo:read_into(ffi.new("char[4]"), 4))
  h.raises("permission denied", wo.lines, wo)
  h.eq(wo:write("abcd"), wo, "write-only view writes")
end

function T.read_into_and_write_from_copy_no_strings()
  local mf, buf = buffer_view(8)
  local src = ffi.new("char[5]", "wxyz")
  h.eq(mf:write_from(src, 4), mf, "write_from")
  h.eq(mf:write_from("123456", 6), nil, "overflow")
  h.eq(ffi.string(buf + 1, 8), "wxyz1234", "partial")
  h.ok(guards_ok(buf, 8), "guards")
  mf:seek("set", 2)
  local dst = ffi.new("char[16]")
  h.eq(mf:read_into(dst, 16), 6, "read_into stops at the end")
  h.eq(ffi.string(dst, 6), "yz1234", "bytes")
  h.eq(mf:read_into(dst, 16), 0, "0 at the end")
  h.raises("bad argument #2 to 'write_from'", mf.write_from, mf, "ab", 3)
end

function T.close_setvbuf_flush_and_tostring()
  local closed_with
  local flushed
  local owner = {}
  local mf = buffer_view(4, {
    owner = owner, name = "test",
    on_close = function(v, o) closed_with = o; return true, "custom" end,
    on_flush = function(v, pos) flushed = pos; return true end,
  })
  h.ok(tostring(mf):find("^in%-memory file %(test, 0x"), "tostring: " .. tostring(mf))
  h.eq(mf:setvbuf("no"), true, "setvbuf")
  h.raises("bad argument #1 to 'setvbuf' (invalid option 'huge')", mf.setvbuf, mf, "huge")
  mf:write("ab")
  h.eq(mf:flush(), true, "flush"); h.eq(flushed, 2, "on_flush got the position")
  local a, b = mf:close()
  h.eq(a, true); h.eq(b, "custom", "close returns on_close's results")
  h.eq(closed_with, owner, "on_close got the owner")
  h.eq(mf:close(), true, "second close: true, on_close not called again")
  h.eq(mf:isclosed(), true, "isclosed")
  h.eq(tostring(mf), "in-memory file (closed)", "tostring closed")
  for _, m in ipairs({ "read", "lines", "write", "seek", "truncate", "size", "addr", "ptr", "setvbuf", "flush" }) do
    h.raises("attempt to use closed in-memory file", mf[m], mf)
  end
  h.eq(io.type(mf), nil, "not a Lua file")
end

function T.classes_and_construction()
  local cls = memfile.class({ shout = function(self) return (self:read("a"):upper()) end })
  local mf = memfile.new(ffi.cast("const char *", "abc"), 3, { writable = false }, cls)
  h.eq(mf:shout(), "ABC", "extra method")
  h.eq(mf:seek("set"), 0, "inherited method")
  h.ok(memfile.is(mf) and memfile.is(memfile.from_string("")), "memfile.is")
  h.ok(not memfile.is({}) and not memfile.is(io.stdout), "not memfiles")
  h.raises("bad argument #1 to 'new'", memfile.new, nil, 10)
  h.raises("bad argument #2 to 'new'", memfile.new, ffi.new("char[1]"), -1)
  h.raises("bad argument #4 to 'new'", memfile.new, ffi.new("char[1]"), 1, nil, {})
  local empty = memfile.new(nil, 0)
  h.eq(empty:read("a"), "", "an empty view over nothing")
  h.fails(E.ERANGE, nil, empty:write("x"))
  -- invalidate: what an owner does when its memory goes away
  local v = memfile.from_string("abc")
  memfile.invalidate(v)
  h.raises("attempt to use closed in-memory file", v.read, v)
end

function T.from_string_takes_a_class()
  local cls = memfile.class({ kind = function() return "mine" end })
  local mf = memfile.from_string("a\nb", { name = "s" }, cls)
  h.eq(mf:kind(), "mine", "the class's method")
  h.eq(mf:read(), "a", "memfile methods")
  h.eq(mf.name, "s", "opts kept")
  h.fails(E.EPERM, nil, mf:write("x"))
  h.raises("bad argument #3 to 'from_string'", memfile.from_string, "x", nil, {})
  h.raises("bad argument #2 to 'from_string'", memfile.from_string, "x", 5)
end

return T
